"""Indexing throughput (seconds of audio per wall-clock second): the floors, and end to end with --jobs.

Usage:
    python benchmarks/indexing_throughput.py --audio ../shared/data/esc50/audio --files 400 \
        --yamnet-dir ../shared/models [--rounds 3] [--jobs 1 2] [--long 2 --long-minutes 10] [--mfcc]

On the same files, in one process: the decode floor (decode + resample only), the raw YAMNet floor
(`Interpreter.invoke` on the pre-decoded waveforms, 1 thread, nothing else), the YAMNet encoder on the
pre-decoded waveforms (invoke + frame loudness + pooling + frame evidence), then, in `--rounds` rounds
whose order alternates (forward, then reversed, ...), a full `index_paths` into a fresh collection: in
this process (`index_found`, what `soundseek index` did before --jobs) and with each `--jobs N`
(`jobs.ProcessIndexer`, what `soundseek index --jobs N` does). Each row gives x real time, x real time
per core (divided by the cores the run may use: 1 in process, min(N, cores) with N jobs) and audio
seconds per CPU second (CPU time of this process and its worker processes together) and CPU seconds
per wall second (how many cores were kept busy), with the load average when it started. `--long K --long-minutes M` adds K WAVs of M minutes (48 kHz stereo, noise
and tones; written once into the temporary folder) to the library. `--mfcc` adds an in-process MFCC
row. `--frame-hops 0.48 0.96` repeats the YAMNet floors and runs with each frame hop (0.96: the
encoder's end-to-end windows, `--encoder-config frame_hop=0.96`). Without --audio it uses the synthetic demo library. The ratios within a round are the figures to
trust on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


#: YAMNet's own frame hop (the encoder's default).
HOP = 0.48


def files_from(audio: Path | None, n: int, tmp: Path) -> list[Path]:
    if audio is None:
        from soundseek.commands.demo import write_library

        return write_library(tmp / "lib", takes=4)[:n]
    return sorted(p for p in audio.rglob("*") if p.suffix.lower() in {".wav", ".flac", ".mp3", ".ogg"})[:n]


def long_files(folder: Path, count: int, minutes: float) -> list[Path]:
    """`count` WAVs of `minutes` each, 48 kHz stereo (decode_memory.py's signal)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from decode_memory import write_long_wav

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        path = folder / f"long_{i}_{minutes:g}min.wav"
        write_long_wav(path, minutes / 60, 48000, 2)
        out.append(path)
    return out


def link_library(files: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i, path in enumerate(files):
        os.symlink(path.resolve(), folder / f"{i:05d}{path.suffix}")
    return folder


def _cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _row(stage: str, audio_s: float, wall_s: float, cpu_s: float, cores: int, load: float, **extra) -> dict:
    return {"stage": stage, "audio_s": round(audio_s), "wall_s": round(wall_s, 2),
            "x_real_time": round(audio_s / wall_s), "x_per_core": round(audio_s / wall_s / cores),
            "audio_s_per_cpu_s": round(audio_s / max(cpu_s, 1e-9)), "cpu_s_per_wall_s": round(cpu_s / wall_s, 2),
            "cores": cores, "load_1min": round(load, 2),
            **extra}


def decode_floor(files: list[Path]) -> tuple[dict, list]:
    """Decode + resample to 16 kHz mono; also returns the waveforms (for the model floors)."""
    from soundseek.audio import load_audio

    load, cpu0, started = os.getloadavg()[0], _cpu_seconds(), time.perf_counter()
    waves = [load_audio(p) for p in files]
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu0
    return _row("decode + resample only (floor)", sum(len(w) for w in waves) / 16000, wall, cpu, 1, load), waves


def yamnet_floors(waves: list, yamnet_dir: Path, hop: float) -> list[dict]:
    """The raw interpreter on each pre-decoded waveform (padded to one frame; with `hop` 0.96, on its
    end-to-end windows), then the whole encoder."""
    import numpy as np

    from soundseek.audio.segments import cut_spans
    from soundseek.encoders import build_audio_encoder

    enc = build_audio_encoder("yamnet", {"model_dir": str(yamnet_dir), "num_threads": 1, "frame_hop": hop})
    raw = (lambda w: enc._run(w)) if hop == HOP else (lambda w: enc._run_windows(w, None))
    label = "" if hop == HOP else f", frame_hop {hop}"
    seconds = sum(len(w) for w in waves) / 16000
    padded = [np.pad(w, (0, max(0, 15360 - len(w)))) for w in waves]
    rows = []
    for stage, run in ((f"YAMNet interpreter only, 1 thread (raw floor{label})", raw),
                       (f"YAMNet encoder on decoded audio (invoke + pooling + frame evidence{label})",
                        lambda w: enc.encode_segments(w, cut_spans(len(w) / 16000)))):
        load, cpu0, started = os.getloadavg()[0], _cpu_seconds(), time.perf_counter()
        for w in padded:
            run(w)
        rows.append(_row(stage, seconds, time.perf_counter() - started, _cpu_seconds() - cpu0, 1, load))
    return rows


def index_run(lib: Path, coll_dir: Path, encoder: str, cfg: dict | None, jobs: int | None) -> dict:
    """A full `index_paths` into a fresh collection: in process (jobs None) or with `jobs` workers."""
    from soundseek.indexer import index_paths, open_for_indexing
    from soundseek.jobs import ProcessIndexer, available_cores

    coll, enc = open_for_indexing(coll_dir, encoder, cfg, say=lambda m: None)
    todo = None if jobs is None else ProcessIndexer(jobs)
    load, cpu0 = os.getloadavg()[0], _cpu_seconds()
    report = index_paths(coll, [lib], enc, quiet=True, index_todo=todo)
    cpu = _cpu_seconds() - cpu0
    coll.close()
    hop = (cfg or {}).get("frame_hop", HOP)
    stage = (f"index {encoder}" + ("" if hop == HOP else f" (frame_hop {hop})") + ", "
             + ("in process (before --jobs)" if jobs is None else f"--jobs {jobs}"))
    cores = 1 if jobs is None else min(jobs, available_cores())
    extra = {} if todo is None else {"first_file_back_s": round(todo.stats.first_result_seconds, 2)}
    return _row(stage, report.audio_seconds, report.wall_seconds, cpu, cores, load, files=report.added,
                failed=len(report.failed), **extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--yamnet-dir", type=Path)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--long", type=int, default=0, help="add this many long WAVs to the library")
    parser.add_argument("--long-minutes", type=float, default=10.0)
    parser.add_argument("--mfcc", action="store_true", help="also index with MFCC (in process)")
    parser.add_argument("--frame-hops", type=float, nargs="+", default=[HOP],
                        help="YAMNet frame hops to compare (0.48: the default; 0.96: end-to-end windows)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = files_from(args.audio, args.files, Path(tmp)) + long_files(Path(tmp) / "long", args.long, args.long_minutes)
        lib = link_library(files, Path(tmp) / "linked")
        floor, waves = decode_floor(files)
        rows.append(floor)
        for hop in args.frame_hops if args.yamnet_dir else []:
            rows += yamnet_floors(waves, args.yamnet_dir, hop)
        del waves
        if args.mfcc:
            rows.append(index_run(lib, Path(tmp) / "c_mfcc", "mfcc", None, None))
        settings = ([("yamnet", {"model_dir": str(args.yamnet_dir), "num_threads": 1, "frame_hop": hop})
                     for hop in args.frame_hops] if args.yamnet_dir else [("mfcc", None)])
        runs = [(jobs, setting) for setting in settings for jobs in [None, *args.jobs]]
        for r in range(args.rounds):
            for i, (jobs, (encoder, cfg)) in enumerate(runs if r % 2 == 0 else runs[::-1]):
                row = index_run(lib, Path(tmp) / f"c_{r}_{i}", encoder, cfg, jobs)
                rows.append({"round": r, **row})
                print(json.dumps(rows[-1]), flush=True)
    for row in rows:
        print(json.dumps(row))
    if args.json:
        args.json.write_text(json.dumps({"files": len(files), "long": args.long, "long_minutes": args.long_minutes,
                                         "cpu_count": os.cpu_count(), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
