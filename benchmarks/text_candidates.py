"""Text search on candidates vs the exact path: engine time per never-seen query, and agreement.

Usage:
    python benchmarks/text_candidates.py --collection C [--queries 150] [--steady 300] [--json OUT]

Two engines on the same collection (each with its own text encoder, so that both embed every query), `text_path="exact"` (every segment
scored) and `text_path="candidates"` (search/candidates.py), answer the same queries in alternation:
the 50 phrases of load_test.py and never-seen combinations of their words. Reported: p50/p95 engine
time of `search_text(q, top=10)` (query encoding included), its CPU time (all threads of the process;
steadier than wall time on a shared machine), and how far the candidate path's top 10
files agree with the exact path's (overlap of the sets; identical ordered lists; largest score
difference where the lists are identical). The exact path's passes over every segment evict the caches
between the candidate path's queries; `--steady N` then times N more never-seen queries on the
candidate engine alone, as a process serving only them runs (`steady_candidates`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    from synthetic_library import query_set

    from soundseek.search.engine import SearchEngine
    from soundseek.store import Collection

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collection", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=150)
    ap.add_argument("--steady", type=int, default=0, help="more queries timed on the candidate engine alone")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    exact = SearchEngine(Collection.open(args.collection), text_path="exact")
    started = time.perf_counter()
    exact.search_text("warm up")
    exact_warm = time.perf_counter() - started
    # its own text encoder: a shared one would hand the second engine each query's vectors from its cache
    cand = SearchEngine(Collection.open(args.collection), text_path="candidates")
    started = time.perf_counter()
    cand.search_text("warm up")
    cand_warm = time.perf_counter() - started
    queries = query_set(args.queries)
    times: dict[str, list[float]] = {"exact": [], "candidates": []}
    cpu: dict[str, list[float]] = {"exact": [], "candidates": []}
    overlap, identical, diffs = [], 0, []
    for i, query in enumerate(queries):
        order = [("exact", exact), ("candidates", cand)] if i % 2 == 0 else [("candidates", cand), ("exact", exact)]
        hits = {}
        for name, engine in order:
            t, c = time.perf_counter(), time.process_time()
            hits[name] = engine.search_text(query, top=10)
            times[name].append(1000 * (time.perf_counter() - t))
            cpu[name].append(1000 * (time.process_time() - c))
        a, b = [h.sound_id for h in hits["exact"]], [h.sound_id for h in hits["candidates"]]
        overlap.append(len(set(a) & set(b)) / max(1, len(a)))
        if a == b:
            identical += 1
            diffs.append(max((abs(x.score - y.score) for x, y in zip(hits["exact"], hits["candidates"])), default=0.0))
    result = {
        "collection": str(args.collection), "segments": len(exact.table), "queries": len(queries),
        "first_query_s": {"exact": round(exact_warm, 1), "candidates": round(cand_warm, 1)},
        "p50_ms": {k: round(float(np.percentile(v, 50)), 1) for k, v in times.items()},
        "p95_ms": {k: round(float(np.percentile(v, 95)), 1) for k, v in times.items()},
        "cpu_ms_mean": {k: round(float(np.mean(v)), 1) for k, v in cpu.items()},
        "cpu_ms_p50": {k: round(float(np.percentile(v, 50)), 1) for k, v in cpu.items()},
        "top10_overlap_mean": round(float(np.mean(overlap)), 4), "top10_overlap_min": round(float(np.min(overlap)), 2),
        "identical_top10_lists": identical,
        "max_score_difference_when_identical": round(float(max(diffs, default=0.0)), 4),
    }
    if args.steady:
        result["steady_candidates"] = steady(cand, query_set(args.queries + args.steady)[args.queries:])
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


def steady(engine, queries: list[str]) -> dict:  # type: ignore[no-untyped-def]
    """p50/p95 wall and CPU time (ms) of `queries` answered one after another by `engine` alone."""
    wall, cpu = [], []
    for query in queries:
        t, c = time.perf_counter(), time.process_time()
        engine.search_text(query, top=10)
        wall.append(1000 * (time.perf_counter() - t))
        cpu.append(1000 * (time.process_time() - c))
    return {"queries": len(queries), "p50_ms": round(float(np.percentile(wall, 50)), 2),
            "p95_ms": round(float(np.percentile(wall, 95)), 2), "cpu_ms_p50": round(float(np.percentile(cpu, 50)), 2)}


if __name__ == "__main__":
    raise SystemExit(main())
