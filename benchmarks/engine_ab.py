"""A/B of the text search engine from two source trees, in process, query by query on one core.

Runs of one tree after the other's moved by ~1 ms here between runs (other jobs share the machine);
alternating whole runs (serve_ab.py, text_candidates.py twice) needs many rounds. This starts one engine
per tree, each in its own process pinned to the same core (`taskset`), and hands every never-seen query
to both in turn (the order alternating), so what the machine does to one it does to the other. Each
process times its own `search_text` (wall and thread CPU); reported: the medians, and the median of
the per-query differences B - A of CPU milliseconds. An A/A run here gave +0.08 ms (the bias to expect).
The two engines evict each other's caches between queries: absolute times are a little above a lone
engine's (text_candidates.py --steady), the difference is what this measures.

    python benchmarks/engine_ab.py --collection /tmp/ss100k --a /tmp/before/src --b src --queries 500
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: Queries answered by both engines before timing counts (caches, the first ONNX runs).
WARM_UP = 50


def serve(collection: str) -> None:
    """Worker: answer one query per stdin line with "wall_ms cpu_ms"."""
    from soundseek.search.engine import SearchEngine
    from soundseek.store import Collection

    engine = SearchEngine(Collection.open(collection))
    engine.search_text("warm up")
    print("ready", flush=True)
    for line in sys.stdin:
        wall, cpu = time.perf_counter(), time.thread_time()
        engine.search_text(line.rstrip("\n"), top=10)
        print(f"{1000 * (time.perf_counter() - wall):.4f} {1000 * (time.thread_time() - cpu):.4f}", flush=True)


def start(collection: Path, src: Path, cpu: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(src.resolve()))
    proc = subprocess.Popen(["taskset", "-c", str(cpu), sys.executable, __file__, "--worker", str(collection)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if proc.stdout is None or not proc.stdout.readline().startswith("ready"):
        raise SystemExit(f"the engine of {src} did not start")
    return proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collection", type=Path)
    ap.add_argument("--a", type=Path, help="the first tree's src folder")
    ap.add_argument("--b", type=Path, help="the second tree's src folder")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--cpu", type=int, default=1, help="the core both engines run on (default 1)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return serve(args.worker)
    if not (args.collection and args.a and args.b):
        ap.error("--collection, --a and --b are required")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from synthetic_library import unique_query

    procs = {name: start(args.collection, src, args.cpu) for name, src in (("a", args.a), ("b", args.b))}
    rng = random.Random(args.seed)
    times: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}
    for i in range(args.queries + WARM_UP):
        query = unique_query(rng)
        for name in ("a", "b") if i % 2 == 0 else ("b", "a"):
            proc = procs[name]
            proc.stdin.write(query + "\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            wall, cpu = map(float, proc.stdout.readline().split())  # type: ignore[union-attr]
            times[name].append((wall, cpu))
    for proc in procs.values():
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait()
    out: dict = {"collection": str(args.collection), "queries": args.queries, "cpu": args.cpu}
    for name, src in (("a", args.a), ("b", args.b)):
        kept = times[name][WARM_UP:]
        out[name] = {"src": str(src), "wall_ms_p50": round(statistics.median(w for w, _ in kept), 3),
                     "cpu_ms_p50": round(statistics.median(c for _, c in kept), 3),
                     "cpu_ms_mean": round(statistics.fmean(c for _, c in kept), 3)}
    diffs = [b[1] - a[1] for a, b in zip(times["a"][WARM_UP:], times["b"][WARM_UP:])]
    out["b_minus_a_cpu_ms_median"] = round(statistics.median(diffs), 3)
    out["b_minus_a_cpu_ms_mean"] = round(statistics.fmean(diffs), 3)
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
