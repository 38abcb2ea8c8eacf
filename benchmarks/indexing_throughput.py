"""Indexing throughput (seconds of audio per wall-clock second) for each audio encoder, one core.

Usage:
    python benchmarks/indexing_throughput.py --audio ../shared/data/esc50/audio --files 300 \
        --yamnet-dir ../shared/models

Runs, in one process and on the same files: decoding only (the floor), then a full `index_paths` into a
fresh collection with each encoder (YAMNet with one interpreter thread; torch limited to one thread).
Without --audio it uses the synthetic demo library. Ratios between rows are robust to a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def files_from(audio: Path | None, n: int, tmp: Path) -> list[Path]:
    if audio is None:
        from soundseek.commands.demo import write_library

        return write_library(tmp / "lib", takes=4)[:n]
    return sorted(p for p in audio.rglob("*") if p.suffix.lower() in {".wav", ".flac", ".mp3", ".ogg"})[:n]


def link_library(files: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i, path in enumerate(files):
        os.symlink(path.resolve(), folder / f"{i:05d}{path.suffix}")
    return folder


def decode_only(files: list[Path]) -> float:
    from soundseek.audio import load_audio

    started = time.perf_counter()
    seconds = sum(len(load_audio(p)) / 16000 for p in files)
    return seconds / (time.perf_counter() - started)


def index_speed(lib: Path, coll_dir: Path, encoder: str, cfg: dict | None) -> dict:
    from soundseek.indexer import index_paths, open_for_indexing

    coll, enc = open_for_indexing(coll_dir, encoder, cfg)
    report = index_paths(coll, [lib], enc, quiet=True)
    return {"encoder": encoder, "files": report.added, "audio_s": round(report.audio_seconds),
            "wall_s": round(report.wall_seconds, 2), "x_real_time": round(report.audio_seconds / report.wall_seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--yamnet-dir", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        files = files_from(args.audio, args.files, Path(tmp))
        lib = link_library(files, Path(tmp) / "linked")
        rows = [{"encoder": "(decode + resample only)", "x_real_time": round(decode_only(files))}]
        rows.append(index_speed(lib, Path(tmp) / "c_mfcc", "mfcc", None))
        if args.yamnet_dir:
            rows.append(index_speed(lib, Path(tmp) / "c_yamnet", "yamnet", {"model_dir": str(args.yamnet_dir), "num_threads": 1}))
    for row in rows:
        print(json.dumps(row))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
