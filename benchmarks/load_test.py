"""Load test of `soundseek serve`: mixed text and audio queries over loopback, bounded in time.

Collection: indexing 100k real segments takes hours on 2 cores, so `build` writes a synthetic collection
straight into the store with `Collection.put_sound`: N/4 sounds of 4 segments each under fake paths
(/synthetic/<class>/sound_N.wav; their audio is not playable), 120-d MFCC-space vectors drawn from a
Gaussian mixture on the unit sphere, sparse AudioSet class scores (3 strong classes per sound; the
class names of YAMNet's class map, so zero-shot text search does its full work), the top tags, and a
sound text made of its classes' names (2,000 distinct texts). Audio queries are real generated sounds
(soundseek.audio.synth), embedded by the real MFCC encoder.

    .venv/bin/python benchmarks/load_test.py build --collection /tmp/ss100k --segments 100000
    .venv/bin/python benchmarks/load_test.py all --collection /tmp/ss100k --seconds 20

`all` starts `soundseek serve` itself (127.0.0.1, a free port) twice, with and without the result
cache, and runs these phases against each (each for `--seconds`):
  text-repeat: 50 text queries cycled, after one warm-up round (cached server: every request is a cache hit)
  text-unique: every request a new word combination (misses every cache, including the query embedding)
  mixed:       90% repeated text queries, 10% audio uploads (3 s WAV)
`run --url URL` runs the phases against a server you started. Results: benchmarks/results/load_test.json|md.
The client is a minimal asyncio HTTP/1.1 keep-alive client (cheap per request, since the load generator
shares the 2 cores with the server). Only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import platform
import random
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLASS_MAP = ROOT.parent / "shared" / "models" / "yamnet_class_map.csv"
DIM, SEGMENTS_PER_SOUND, N_TEXTS, N_CENTRES = 120, 4, 2000, 300
TEXT_QUERIES = ["dog barking", "rain on a roof", "church bell", "police siren", "birds singing", "thunder",
                "footsteps on gravel", "applause", "engine idling", "wind", "telephone ringing", "water dripping",
                "glass breaking", "door slam", "crowd cheering", "baby crying", "car horn", "keyboard typing",
                "ocean waves", "fire crackling", "helicopter", "train passing", "clock ticking", "cat meowing",
                "music guitar", "speech", "laughter", "alarm", "typing", "snoring", "whistle", "hammer",
                "chainsaw", "frog", "rooster", "cow mooing", "sheep", "insects buzzing", "airplane", "siren",
                "drums", "piano", "violin", "bus", "motorcycle", "vacuum cleaner", "microwave", "toilet flush",
                "pouring water", "rustling leaves"]


# -- building the collection ------------------------------------------------------------------------
def class_names() -> list[str]:
    import csv

    if CLASS_MAP.is_file():
        with CLASS_MAP.open() as f:
            return [row["display_name"] for row in csv.DictReader(f)]
    return [f"Class {i}" for i in range(521)]


def build(collection: Path, n_segments: int, seed: int = 0) -> None:
    from soundseek.encoders.mfcc import MfccConfig
    from soundseek.store import Collection, NewSegment, SoundRecord

    if collection.exists():
        raise SystemExit(f"{collection} exists; remove it or pick another --collection")
    rng = np.random.default_rng(seed)
    names = class_names()
    coll = Collection.create(collection, audio_encoder="mfcc", encoder_config=asdict(MfccConfig()))
    coll.set_meta("class_names", names)
    centres = rng.standard_normal((N_CENTRES, DIM)).astype(np.float32)
    texts = [_text(rng, names) for _ in range(N_TEXTS)]
    started = time.perf_counter()
    for s in range(n_segments // SEGMENTS_PER_SOUND):
        classes = rng.choice(len(names), 3, replace=False)
        centre = centres[s % N_CENTRES]
        segs = [_segment(rng, centre, classes, names, i) for i in range(SEGMENTS_PER_SOUND)]
        path = f"/synthetic/{names[classes[0]].split(',')[0].replace(' ', '_').lower()}/sound_{s:06d}.wav"
        record = SoundRecord(0, path, 100_000, 0, 10.0, 16000, 1, "WAV", texts[s % N_TEXTS])
        coll.put_sound(record, [NewSegment(*seg) for seg in segs], space="mfcc")
        if s % 5000 == 0:
            print(f"  {s * SEGMENTS_PER_SOUND} segments ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    print(f"built {coll.counts()} in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def _text(rng: np.random.Generator, names: list[str]) -> str:
    picks = rng.choice(len(names), 2, replace=False)
    return " ".join(names[i].split(",")[0].lower() for i in picks) + f" take {rng.integers(1, 9)}"


def _segment(rng: np.random.Generator, centre: np.ndarray, classes: np.ndarray, names: list[str], i: int):  # type: ignore[no-untyped-def]
    vec = centre + 0.7 * rng.standard_normal(DIM).astype(np.float32)
    vec /= np.linalg.norm(vec)
    scores = (rng.random(len(names)) * 0.02).astype(np.float32)
    scores[classes] = rng.uniform(0.3, 0.95, len(classes))
    tags = [(names[c], float(scores[c])) for c in classes[np.argsort(-scores[classes])]]
    return 2.5 * i, 2.5 * i + 5.0, vec, scores, tags


# -- the load generator -----------------------------------------------------------------------------
@dataclass
class Sample:
    kind: str
    seconds: float
    status: int


@dataclass
class Phase:
    name: str
    seconds: float
    samples: list[Sample] = field(default_factory=list)

    def summary(self) -> dict:
        out: dict = {"phase": self.name, "seconds": round(self.seconds, 2)}
        for kind in sorted({s.kind for s in self.samples}) + ["all"]:
            chosen = [s for s in self.samples if kind == "all" or s.kind == kind]
            lat = np.asarray([s.seconds for s in chosen]) * 1000
            out[kind] = {"requests": len(chosen), "rps": round(len(chosen) / self.seconds, 1),
                         "p50_ms": round(float(np.percentile(lat, 50)), 2) if len(lat) else None,
                         "p99_ms": round(float(np.percentile(lat, 99)), 2) if len(lat) else None,
                         "errors": sum(1 for s in chosen if s.status != 200)}
        return out


class Connection:
    """One keep-alive HTTP/1.1 connection (requests in sequence)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, body: bytes = b"", content_type: str = "") -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        return await self._response()

    async def _response(self) -> int:
        assert self.reader is not None
        status_line = await self.reader.readline()
        if not status_line:
            self.writer = None
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.writer = None
        return status


def audio_bodies(n: int = 8) -> list[tuple[bytes, str]]:
    """Multipart bodies with 3 s generated WAV queries."""
    import soundfile as sf

    from soundseek.audio.synth import KINDS, SR, make_sound

    out = []
    for i, kind in enumerate(list(KINDS)[:n]):
        buf = io.BytesIO()
        sf.write(buf, make_sound(kind, 500 + i)[: 3 * SR], SR, format="WAV", subtype="PCM_16")
        boundary = f"soundseekload{i}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"q{i}.wav\"\r\n"
                f"Content-Type: audio/wav\r\n\r\n").encode() + buf.getvalue() + f"\r\n--{boundary}--\r\n".encode()
        out.append((body, f"multipart/form-data; boundary={boundary}"))
    return out


def unique_query(rng: random.Random) -> str:
    words = " ".join(rng.choice(TEXT_QUERIES).split()[:1] + [rng.choice(TEXT_QUERIES).split()[-1]])
    return f"{words} {rng.randrange(10**9)}"


async def run_phase(url: str, name: str, seconds: float, concurrency: int, audio_share: float,
                    unique: bool, seed: int = 0) -> Phase:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    bodies = audio_bodies() if audio_share > 0 else []
    phase = Phase(name, seconds)
    deadline = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        rng = random.Random(seed * 1000 + w)
        conn = Connection(host, port)
        i = w
        while time.perf_counter() < deadline:
            i += 1
            is_audio = bodies and rng.random() < audio_share
            started = time.perf_counter()
            try:
                if is_audio:
                    body, ctype = bodies[i % len(bodies)]
                    status = await conn.request("POST", "/api/search/audio?top=10", body, ctype)
                else:
                    q = unique_query(rng) if unique else TEXT_QUERIES[i % len(TEXT_QUERIES)]
                    status = await conn.request("GET", "/api/search?" + urlencode({"q": q, "top": 10}))
            except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
                status, conn = 0, Connection(host, port)
            phase.samples.append(Sample("audio" if is_audio else "text", time.perf_counter() - started, status))

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    phase.seconds = time.perf_counter() - t0
    return phase


async def warm_up(url: str) -> None:
    """Ask each repeated text query once, so text-repeat measures the steady state (not the first round)."""
    parts = urlsplit(url)
    conn = Connection(parts.hostname or "127.0.0.1", parts.port or 80)
    for q in TEXT_QUERIES:
        await conn.request("GET", "/api/search?" + urlencode({"q": q, "top": 10}))


def run_all_phases(url: str, seconds: float, concurrency: int, label: str) -> list[dict]:
    _check_loopback(url)
    phases = [("text-repeat", 0.0, False), ("text-unique", 0.0, True), ("mixed", 0.1, False)]
    asyncio.run(warm_up(url))
    out = []
    for name, audio_share, unique in phases:
        phase = asyncio.run(run_phase(url, name, seconds, concurrency, audio_share, unique))
        summary = {"server": label, "concurrency": concurrency, **phase.summary()}
        print(json.dumps(summary), file=sys.stderr)
        out.append(summary)
    return out


def _check_loopback(url: str) -> None:
    import ipaddress

    host = urlsplit(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing to load-test {host}: loopback addresses only")


# -- starting servers -------------------------------------------------------------------------------
def start_server(collection: Path, *, cache: bool) -> tuple[subprocess.Popen, str]:
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "soundseek.cli", "serve", "--collection", str(collection), "--port", str(port)]
    proc = subprocess.Popen(cmd + ([] if cache else ["--no-cache"]))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=5) as res:
                if res.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)  # still starting: poll the health endpoint again
    proc.kill()
    raise SystemExit("server did not start")


def write_results(rows: list[dict], collection: Path, seconds: float) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    from soundseek.store import Collection

    counts = Collection.open(collection).counts()
    import os

    meta = {"collection": counts, "machine": f"{platform.machine()}, {_cores()} cores, {platform.python_version()}",
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "seconds_per_phase": seconds, "command": " ".join(sys.argv)}
    (RESULTS / "load_test.json").write_text(json.dumps({"meta": meta, "phases": rows}, indent=2))
    lines = [f"Collection: {counts['segments']:,} segments ({counts['sounds']:,} sounds, synthetic); "
             f"machine: {meta['machine']} (shared; load average {meta['load_average_at_end']} at the end); "
             f"{seconds:g} s per phase; client and server on the same 2 cores; command: `{meta['command']}`", "",
             "| server | phase | conc. | kind | requests | req/s | p50 ms | p99 ms | errors |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        for kind in ("text", "audio"):
            if kind in row:
                r = row[kind]
                lines.append(f"| {row['server']} | {row['phase']} | {row['concurrency']} | {kind} | {r['requests']} | "
                             f"{r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} |")
    (RESULTS / "load_test.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--collection", type=Path, required=True)
    b.add_argument("--segments", type=int, default=100_000)
    r = sub.add_parser("run")
    r.add_argument("--url", required=True)
    a = sub.add_parser("all")
    a.add_argument("--collection", type=Path, required=True)
    for p in (r, a):
        p.add_argument("--seconds", type=float, default=20.0)
        p.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if args.cmd == "build":
        build(args.collection, args.segments)
    elif args.cmd == "run":
        print(json.dumps(run_all_phases(args.url, args.seconds, args.concurrency, "external"), indent=2))
    else:
        rows = []
        for cache in (True, False):
            proc, url = start_server(args.collection, cache=cache)
            try:
                rows += run_all_phases(url, args.seconds, args.concurrency, "cache on" if cache else "cache off")
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        write_results(rows, args.collection, args.seconds)


if __name__ == "__main__":
    main()
