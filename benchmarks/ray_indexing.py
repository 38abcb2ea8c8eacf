"""Indexing on Ray vs the plain `soundseek index`: audio seconds per wall second, 1 and 2 workers.

Usage:
    python benchmarks/ray_indexing.py --audio ../shared/data/esc50/audio --yamnet-dir ../shared/models \
        --files 2000 --json benchmarks/results/ray_indexing.json

Runs back to back, in one process and on the same files (symlinked into one folder), each into a fresh
collection, after one read of every file (a warm page cache for all): the plain path (`index_paths`, one process, YAMNet on one thread), then `index_paths`
with `RayIndexer` and a local Ray instance of 1 worker, then of 2 workers. For the Ray runs the
wall time is given twice: with the local instance's start and stop (what `soundseek index --ray`
costs end to end) and without (the steady state a long-running cluster gives). Each Ray collection
is compared with the plain one (same sounds and segments; largest vector and class-score difference).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def link_library(audio: Path, n: int, folder: Path) -> Path:
    files = sorted(p for p in audio.rglob("*") if p.suffix.lower() in {".wav", ".flac"})
    folder.mkdir(parents=True)
    for path in files[:n] if n else files:
        os.symlink(path.resolve(), folder / path.name)
    return folder


def run(lib: Path, coll_dir: Path, cfg: dict, workers: int | None) -> dict:
    """Index `lib` into a fresh collection; workers None = the plain path."""
    from soundseek.distributed import RayIndexer, RayOptions, ray_session
    from soundseek.indexer import index_paths, open_for_indexing

    coll, enc = open_for_indexing(coll_dir, "yamnet", cfg, say=lambda m: None)
    if workers is None:
        report = index_paths(coll, [lib], enc, quiet=True)
        return _row("plain `soundseek index`", report, report.wall_seconds, 0.0)
    started = time.perf_counter()
    with ray_session(RayOptions(workers=workers)):  # started here so that its start-up can be told apart
        start_s = time.perf_counter() - started
        indexer = RayIndexer(RayOptions(workers=workers))
        report = index_paths(coll, [lib], enc, quiet=True, index_todo=indexer)
    total = time.perf_counter() - started
    row = _row(f"--ray, {workers} worker(s)", report, total, start_s)
    load_s = indexer.stats.load_seconds  # the driver: file hashes and SQLite commits, one shard at a time
    row.update(partitions=indexer.stats.partitions, driver_load_s=round(load_s, 2),
               driver_load_x_real_time=round(report.audio_seconds / load_s, 1))
    return row


def _row(name: str, report, total_s: float, start_s: float) -> dict:  # type: ignore[no-untyped-def]
    return {"run": name, "files": report.added, "failed": len(report.failed), "audio_s": round(report.audio_seconds, 1),
            "index_wall_s": round(report.wall_seconds, 2), "total_wall_s": round(total_s, 2),
            "ray_start_stop_s": round(total_s - report.wall_seconds, 2) if start_s else 0.0,
            "x_real_time_total": round(report.audio_seconds / total_s, 1),
            "x_real_time_steady": round(report.audio_seconds / report.wall_seconds, 1)}


def compare(plain_dir: Path, other_dir: Path) -> dict:
    """Same segments by (path, start, end)? Largest |difference| of vectors and class scores."""
    from soundseek.store import Collection

    def table(root: Path) -> tuple[dict, np.ndarray, np.ndarray]:
        coll = Collection.open(root)
        cols = coll.segment_columns()
        keys = {seg: (path, start, end) for seg, start, end, path in zip(cols[0], cols[2], cols[3], cols[7])}
        ids, vecs = coll.iter_vectors("yamnet")
        sid, scores = coll.class_score_matrix(521)
        order = sorted(range(len(ids)), key=lambda j: keys[ids[j]])  # the same segment, the same row
        sorder = sorted(range(len(sid)), key=lambda j: keys[sid[j]])
        return {keys[i] for i in ids}, vecs[order], scores.T[sorder].astype(np.float32)

    pk, pv, ps = table(plain_dir)
    ok, ov, os_ = table(other_dir)
    same = pk == ok
    return {"same_segments": same, "segments": len(pk),
            "max_abs_vector_diff": float(np.abs(pv - ov).max()) if same else None,
            "max_abs_class_score_diff": float(np.abs(ps - os_).max()) if same else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path, required=True)
    parser.add_argument("--yamnet-dir", type=Path, required=True)
    parser.add_argument("--files", type=int, default=0, help="the first N files by name (0: all)")
    parser.add_argument("--order", default="plain,ray1,ray2",
                        help="the runs, in this order (to check that order does not bias a noisy machine)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runs = {"plain": None, "ray1": 1, "ray2": 2}
    order = args.order.split(",")
    if sorted(order) != sorted(runs):
        parser.error(f"--order: a permutation of {','.join(runs)}")
    cfg = {"model_dir": str(args.yamnet_dir.resolve()), "num_threads": 1}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lib = link_library(args.audio, args.files, Path(tmp) / "lib")
        for path in lib.iterdir():  # the page cache warm for every run alike (the first one would pay alone)
            path.read_bytes()
        load_before = os.getloadavg()[0]
        for name in order:
            rows.append(run(lib, Path(tmp) / name, cfg, runs[name]))
            print(json.dumps(rows[-1]), flush=True)
        for name, row in zip(order, rows):
            if runs[name]:
                row.update(compare(Path(tmp) / "plain", Path(tmp) / name))
    rows = [rows[order.index(name)] for name in runs]  # plain first in the results
    plain = rows[0]["x_real_time_total"]
    for row in rows[1:]:
        row["overhead_vs_plain_total"] = round(plain / row["x_real_time_total"] - 1, 3)
        row["overhead_vs_plain_steady"] = round(plain / row["x_real_time_steady"] - 1, 3)
    result = {"machine": f"{platform.node()} {os.cpu_count()} CPUs", "date": time.strftime("%Y-%m-%d"), "order": order,
              "files": rows[0]["files"], "loadavg_before": round(load_before, 2),
              "loadavg_after": round(os.getloadavg()[0], 2), "rows": rows}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
