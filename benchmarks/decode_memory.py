"""Peak memory and time of indexing one long file, by length: decoding is streamed above 10 minutes.

Usage:
    python benchmarks/decode_memory.py --work /tmp/decmem --hours 0.5 1 4 [--rate 48000] [--channels 2]
        [--format wav|m4a] [--encoder yamnet --encoder-config model_dir=../shared/models] [--json OUT]
        [--jobs N] [--copies K]

For each length it writes a file (`--channels` at `--rate`; pink-ish noise with a tone every minute,
generated block by block): a PCM16 WAV, or with `--format m4a` AAC at 128 kb/s piped through ffmpeg
(a format only ffmpeg decodes), then runs `soundseek index FILE --collection C --no-learn --quiet` in
a child process and reports the child's peak RSS (getrusage ru_maxrss) and wall time. Run it with an
older checkout on PYTHONPATH to get the "before" figures (the child inherits the environment).

`--jobs N` passes `--jobs N` to `soundseek index` (which decodes and embeds in N worker processes), and
`--copies K` indexes K hard links of the file at once (K long recordings for the N workers). Then
`peak_rss_mb` is the largest single process (the writer or one worker: getrusage's maximum over the
children), and `peak_tree_rss_mb` the peak of the summed RSS of the `soundseek index` process and its
workers, sampled every 0.1 s from /proc (an upper bound: pages shared between them count once per
process).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

BLOCK_SECONDS = 60


def signal_blocks(hours: float, rate: int, channels: int) -> Iterator[np.ndarray]:
    """hours of noise + a 1 s tone every minute, one minute at a time. Yields: float32 (n, channels)."""
    rng = np.random.default_rng(0)
    total = int(hours * 3600)
    for start in range(0, total, BLOCK_SECONDS):
        n = min(BLOCK_SECONDS, total - start) * rate
        block = np.cumsum(rng.standard_normal(n)).astype(np.float32)
        block = 0.05 * (block - np.convolve(block, np.ones(64) / 64, mode="same")) / 8
        t = np.arange(rate) / rate
        block[:rate] += 0.3 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
        yield np.repeat(block[:, None], channels, axis=1)


def write_long_wav(path: Path, hours: float, rate: int, channels: int) -> None:
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=channels, subtype="PCM_16",
                      format="RF64" if hours * 3600 * rate * channels * 2 > 3.9e9 else "WAV") as out:
        for block in signal_blocks(hours, rate, channels):
            out.write(block)


def write_long_m4a(path: Path, hours: float, rate: int, channels: int) -> None:
    """The same signal as AAC in an M4A, encoded by ffmpeg from a pipe (no WAV on disk)."""
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "f32le", "-ar", str(rate), "-ac", str(channels), "-i", "pipe:0",
           "-c:a", "aac", "-b:a", "128k", str(path)]
    with subprocess.Popen(cmd, stdin=subprocess.PIPE) as proc:
        for block in signal_blocks(hours, rate, channels):
            proc.stdin.write(block.astype("<f4").tobytes())  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        raise SystemExit(f"ffmpeg failed to write {path}")


def index_once(paths: list[Path], collection: Path, encoder_args: list[str]) -> dict[str, float]:
    """Index `paths` in a child process; its peak RSS (MB: the largest process, and the process tree's
    sampled sum) and wall seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "soundseek.cli", "index", *map(str, paths), "--collection",
                              str(collection), "--quiet", *_no_learn(), *encoder_args], stdout=subprocess.DEVNULL)
    tree_peak = 0
    while child.poll() is None:
        tree_peak = max(tree_peak, _tree_rss_kb(child.pid))
        time.sleep(0.1)
    if child.returncode != 0:
        raise SystemExit(f"soundseek index failed ({child.returncode})")
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        raise SystemExit("peak RSS of this child is not above an earlier child's: run one length per process")
    return {"peak_rss_mb": round(peak / 1024, 1), "peak_tree_rss_mb": round(tree_peak / 1024, 1),
            "wall_s": round(wall, 1)}


def _tree_rss_kb(pid: int) -> int:
    """Summed VmRSS (kB) of `pid` and its descendants, now (0 for a process that has just ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, ValueError):
        return 0
    return rss + sum(_tree_rss_kb(int(c)) for c in children)


def _copies(path: Path, count: int) -> list[Path]:
    """`path` and count - 1 hard links to it (made once), each in a folder of its own."""
    out = [path]
    for i in range(1, count):
        link = path.parent / f"copy{i}" / path.name
        link.parent.mkdir(exist_ok=True)
        if not link.exists():
            os.link(path, link)
        out.append(link)
    return out


def _no_learn() -> list[str]:
    """`--no-learn` when the soundseek on the path has it (older checkouts, for "before" figures, do not)."""
    help_text = subprocess.run([sys.executable, "-m", "soundseek.cli", "index", "--help"], capture_output=True, text=True).stdout
    return ["--no-learn"] if "--no-learn" in help_text else []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--hours", type=float, nargs="+", default=[0.5, 1.0, 4.0])
    ap.add_argument("--rate", type=int, default=48000)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--format", choices=["wav", "m4a"], default="wav")
    ap.add_argument("--encoder", default="yamnet")
    ap.add_argument("--encoder-config", action="append", default=[])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--jobs", type=int, help="pass --jobs N to soundseek index (default: its own default)")
    ap.add_argument("--copies", type=int, default=1, help="index this many hard links of each file at once")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    encoder_args = ["--encoder", args.encoder] + [x for kv in args.encoder_config for x in ("--encoder-config", kv)]
    encoder_args += [] if args.jobs is None else ["--jobs", str(args.jobs)]
    results = {}
    for hours in sorted(args.hours):  # ascending: ru_maxrss of children is a running maximum
        path = args.work / f"long_{hours:g}h_{args.rate}_{args.channels}ch.{args.format}"
        if not path.exists():
            writer = write_long_m4a if args.format == "m4a" else write_long_wav
            writer(path, hours, args.rate, args.channels)
        coll = args.work / f"coll_{hours:g}h_{os.getpid()}"
        results[f"{hours:g} h"] = index_once(_copies(path, args.copies), coll, encoder_args)
        print(f"{hours:g} h: {results[f'{hours:g} h']}", file=sys.stderr, flush=True)
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"format": args.format, "rate": args.rate, "channels": args.channels,
                                         "jobs": args.jobs, "copies": args.copies, "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
