"""How much of a never-seen text query runs without the GIL: one engine on one thread vs two engines on
two threads of one process (engine time, no HTTP).

    python benchmarks/engine_threads.py --collection /tmp/ss100k_serve --queries 100 [--json OUT]

The server serializes every engine call behind one lock per process (the engine's SQLite connection,
lazily built parts and encoders are not thread-safe). Narrowing that lock could only pay if the work of
a query runs in parallel on two threads, i.e. if NumPy, FAISS and ONNX Runtime hold the GIL for little
of it. Two engines over the same collection (so nothing is shared between the threads) give the upper
bound of what a thread-safe engine could reach: `speedup` = queries/s on two threads / on one thread
(2.0: the GIL costs nothing; 1.0: the query is GIL-bound). The queries are load_test.py's unique
queries; each engine is warmed up first; the modes alternate `--rounds` times.

Where other sessions load the machine, Linux's autogroup scheduler gives this whole process one
session's share of the CPU whatever its thread count (`cpu_per_wall` shows it): the speedup then says
nothing. `--profile` adds a machine-independent view: cProfile's own time per function over the same
queries on one thread (matrix products written `a @ b` count in the Python function that contains them).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_queries(engine, queries: list[str]) -> None:  # type: ignore[no-untyped-def]
    for query in queries:
        engine.search_text(query)


def timed(engines: list, queries: list[str]) -> dict:  # type: ignore[type-arg]
    """Split `queries` over one thread per engine; wall time, CPU time and queries/s."""
    parts = [queries[i :: len(engines)] for i in range(len(engines))]
    threads = [threading.Thread(target=run_queries, args=(e, p)) for e, p in zip(engines, parts)]
    cpu, wall = time.process_time(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"threads": len(engines), "queries": len(queries), "seconds": round(wall, 2),
            "qps": round(len(queries) / wall, 1), "cpu_per_wall": round(cpu / wall, 2)}


def profile(engine, queries: list[str], top: int = 15) -> dict:  # type: ignore[no-untyped-def]
    """Own time per function (cProfile) over `queries`: the `top` largest and the total."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    run_queries(engine, queries)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    rows = sorted(((v[2], f"{Path(k[0]).name}:{k[1]} {k[2]}") for k, v in stats.items()), reverse=True)
    total = sum(t for t, _ in rows)
    return {"queries": len(queries), "total_s": round(total, 2),
            "top": [{"function": name, "own_s": round(t, 3), "share": round(t / total, 3)} for t, name in rows[:top]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collection", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--profile", action="store_true", help="also profile --queries queries on one thread")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from synthetic_library import unique_query
    from soundseek.search.engine import open_engine

    engines = [open_engine(args.collection), open_engine(args.collection)]
    for engine in engines:
        engine.search_text("warm up")
    rng = random.Random(0)
    rows = []
    for rnd in range(args.rounds):
        for n in (1, 2):
            row = {"round": rnd + 1, "load_average_1min_before": round(os.getloadavg()[0], 2),
                   **timed(engines[:n], [unique_query(rng) for _ in range(args.queries)])}
            print(json.dumps(row), file=sys.stderr)
            rows.append(row)
    one = sum(r["qps"] for r in rows if r["threads"] == 1)
    two = sum(r["qps"] for r in rows if r["threads"] == 2)
    out = {"collection": str(args.collection), "segments": len(engines[0].table), "rows": rows,
           "speedup": round(two / one, 2), "command": " ".join(sys.argv)}
    if args.profile:
        out["profile"] = profile(engines[0], [unique_query(rng) for _ in range(args.queries)])
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
