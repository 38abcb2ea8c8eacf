"""The hostile-user audit of issue 10, re-runnable: bad inputs, kill -9 trials, server probes.

Usage:
    python benchmarks/robustness_audit.py --work /tmp/audit [--kills 20] [--json OUT]

1. Bad inputs: the regression corpus of tests/robustness/corpus.py (implausible headers, random bytes,
   a PNG named .flac, truncated WAV/FLAC/MP3/OGG, NaN, silent, empty, a pipe, a broken link; with
   ffmpeg: a Matroska header declaring 11.6 days, random bytes named .m4a) plus a non-UTF-8 name, a
   1,000-level-deep folder, a deeply nested JSON sidecar and a sidecar linked to a file outside the
   tree, mixed with 50 good clips and the corpus's odd but good files (8/24/32-bit PCM, 96 kHz 6
   channels, unicode names, files cut after their first frames, M4A named like options or URLs);
   `soundseek index` once. Counts: inputs tried, runs aborted, good files lost, odd good files
   indexed, and whether the outside file's text leaked.
2. kill -9: `soundseek index` of 50 clips killed with SIGKILL after a random delay, then run again to the
   end; a trial is clean when the collection then holds exactly the 50 sounds, each once, with all
   their segments and vectors.
3. Server probes: `soundseek serve` on 127.0.0.1; requests with foreign Host headers, traversal paths,
   odd queries and ids, hostile uploads, HEAD and ranges; counted by status class (any 5xx is a bug).
The MFCC encoder is used throughout (no model needed; decoding and storage are what is audited).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from robustness.corpus import write_ffmpeg_cases, write_hostile, write_must_index  # noqa: E402

GOOD = 50
CLI = [sys.executable, "-m", "soundseek.cli"]


def good_clips(folder: Path) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(GOOD):
        t = np.arange(int(16000 * rng.uniform(1, 6))) / 16000
        clip = 0.3 * np.sin(2 * np.pi * (200 + 20 * i) * t) + 0.02 * rng.standard_normal(len(t))
        sf.write(str(folder / f"clip_{i:02d}.wav"), clip.astype(np.float32), 16000)


def bad_inputs(work: Path) -> dict:
    lib = work / "bad_lib"
    good_clips(lib / "good")
    expect = write_hostile(lib / "odd")
    must = write_must_index(lib / "odd_good")
    ffmpeg_fails, ffmpeg_good = write_ffmpeg_cases(lib / "ffmpeg")
    expect.update(ffmpeg_fails)
    must.update(ffmpeg_good)
    sf.write(os.fsencode(lib / "odd") + b"/\xe9t\xe9.wav", np.full(8000, 0.1, dtype=np.float32), 16000)
    deep = lib / "deep"
    deep.mkdir()
    for _ in range(1000):
        deep = deep / "d"
        deep.mkdir()
    (deep / "x.json").write_text("[" * 100_000 + "]" * 100_000)
    (work / "outside.txt").write_text("SECRET-OUTSIDE-TEXT")
    os.symlink(work / "outside.txt", lib / "good" / "clip_00.txt")
    tried = len(expect) + 4
    coll = work / "bad_coll"
    proc = subprocess.run(CLI + ["index", str(lib), "--collection", str(coll), "--encoder", "mfcc", "--quiet", "--no-learn"],
                          capture_output=True, text=True)
    db = sqlite3.connect(coll / "soundseek.sqlite")
    sounds = db.execute("SELECT COUNT(*) FROM sounds WHERE path LIKE '%/good/%'").fetchone()[0]
    leaked = db.execute("SELECT COUNT(*) FROM sounds WHERE text LIKE '%SECRET-OUTSIDE%'").fetchone()[0]
    failures = db.execute("SELECT COUNT(*) FROM failures").fetchone()[0]
    odd_good = db.execute("SELECT COUNT(*) FROM sounds WHERE path LIKE '%/odd_good/%' OR path LIKE '%/ffmpeg/%'").fetchone()[0]
    return {"bad inputs tried": tried, "runs aborted": int(proc.returncode != 0), "good files lost": GOOD - sounds,
            "failures reported": failures, "odd good files": len(must), "odd good files indexed": odd_good,
            "outside text leaked": bool(leaked)}


def kill_trials(work: Path, trials: int, seed: int = 0) -> dict:
    lib = work / "kill_lib"
    good_clips(lib)
    rng = random.Random(seed)
    clean = 0
    for trial in range(trials):
        coll = work / f"kill_coll_{trial}"
        child = subprocess.Popen(CLI + ["index", str(lib), "--collection", str(coll), "--encoder", "mfcc", "--quiet",
                                        "--no-learn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 4.0))
        child.send_signal(signal.SIGKILL)
        child.wait()
        subprocess.run(CLI + ["index", str(lib), "--collection", str(coll), "--quiet", "--no-learn"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        db = sqlite3.connect(coll / "soundseek.sqlite")
        n, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM sounds").fetchone()
        orphans = db.execute("SELECT COUNT(*) FROM segments s LEFT JOIN vectors v ON v.segment_id = s.id "
                             "WHERE v.segment_id IS NULL").fetchone()[0]
        empty = db.execute("SELECT COUNT(*) FROM sounds WHERE id NOT IN (SELECT sound_id FROM segments)").fetchone()[0]
        clean += int(n == distinct == GOOD and orphans == 0 and empty == 0)
    return {"kill -9 trials": trials, "clean": clean}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, *, method: str = "GET", headers: dict | None = None, data: bytes | None = None) -> int:
    """The response status; 0 when the server closed the connection before answering (a refused body)."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, ConnectionError) as exc:
        if data is None:
            raise
        del exc
        return 0


def _multipart(name: str, content: bytes) -> tuple[bytes, dict]:
    boundary = "auditboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode("utf-8", "surrogateescape") + content + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def server_probes(work: Path) -> dict:
    coll = work / "kill_coll_0"
    port = _free_port()
    server = subprocess.Popen(CLI + ["serve", "--collection", str(coll), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if _request(base + "/api/health") == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        statuses: Counter = Counter()
        probes = [("/api/health", {"Host": "attacker.example"}), ("/api/sounds/1/audio", {"Host": "rebind.example:80"}),
                  ("/api/search?q=%00", {}), ("/api/search?q=" + "a" * 5000, {}), ("/api/search?q=dog&top=-1", {}),
                  ("/api/search?q=dog&top=100000", {}), ("/api/search?q=dog&offset=99999999", {}),
                  ("/api/sounds/0", {}), ("/api/sounds/-1/audio", {}), ("/api/sounds/99999999/audio", {}),
                  ("/api/sounds/abc", {}), ("/../../etc/passwd", {}), ("/static/../../etc/passwd", {}),
                  ("/api/sounds/1/audio", {"Range": "bytes=999999999-"}), ("/api/sounds/1/audio", {"Range": "bytes=0-10"}),
                  ("/api/sounds/1/audio", {"Range": "garbage"}), ("/api/search?q=dog&path=%2A%2A%2A", {}),
                  ("/api/tags?limit=-5", {}), ("/api/sounds?limit=100000", {}), ("/api/segments/0/similar", {})]
        for path, headers in probes:
            statuses[_request(base + path, headers=headers)] += 1
        statuses[_request(base + "/api/sounds/1/audio", method="HEAD")] += 1
        hostile = [f for sub in ("odd", "ffmpeg") for f in sorted((work / "bad_lib" / sub).iterdir())]
        for f in hostile:
            if f.is_file() and not f.is_symlink():
                body, headers = _multipart(f.name, f.read_bytes())
                statuses[_request(base + "/api/search/audio", method="POST", headers=headers, data=body)] += 1
        body, headers = _multipart("huge.wav", b"RIFF" + b"\0" * (25 * 1024 * 1024))
        statuses[_request(base + "/api/search/audio", method="POST", headers=headers, data=body)] += 1
        by_class = Counter(f"{s // 100}xx" if s else "closed mid-upload" for s in statuses.elements())
        return {"probes": sum(statuses.values()), "by status class": dict(sorted(by_class.items())),
                "statuses": {str(k): v for k, v in sorted(statuses.items())}}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=False)
    started = time.perf_counter()
    result = {"bad inputs": bad_inputs(args.work)}
    print(result, file=sys.stderr, flush=True)
    result["kill -9"] = kill_trials(args.work, args.kills)
    print(result["kill -9"], file=sys.stderr, flush=True)
    result["server"] = server_probes(args.work)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
