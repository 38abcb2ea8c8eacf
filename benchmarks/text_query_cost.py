"""In-process cost of never-seen text queries on an existing collection (engine time, no HTTP).

    python benchmarks/text_query_cost.py --collection /tmp/ss100k --queries 200 [--src OTHER/src] \
        [--json OUT]

The queries are `load_test.py`'s unique queries (two words and a random number: every one misses every
cache). The engine is opened and warmed (library model fitted or loaded, caches built) before timing.
`--src` runs the same measurement with another checkout's code in a child process, beside this one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(collection: Path, n: int) -> dict:
    import numpy as np

    sys.path.insert(0, str(HERE))
    from synthetic_library import unique_query
    from soundseek.search.engine import open_engine

    engine = open_engine(collection)
    engine.search_text("warm up")
    rng = random.Random(0)
    times = []
    for _ in range(n):
        query = unique_query(rng)
        started = time.perf_counter()
        engine.search_text(query)
        times.append(1000 * (time.perf_counter() - started))
    return {"segments": len(engine.table), "queries": n, "p50_ms": round(float(np.percentile(times, 50)), 1),
            "p95_ms": round(float(np.percentile(times, 95)), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collection", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--src", type=Path, help="another checkout's src/ to measure beside this one")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.collection, args.queries)))
        return
    rows = []
    for label, src in [("other", args.src), ("this", HERE.parent / "src")]:
        if src is None:
            continue
        out = subprocess.run([sys.executable, __file__, "--child", "--collection", str(args.collection),
                              "--queries", str(args.queries)], env=dict(os.environ, PYTHONPATH=str(src)),
                             capture_output=True, text=True, check=True)
        rows.append({"code": label, "src": str(src), **json.loads(out.stdout.strip().splitlines()[-1])})
        print(json.dumps(rows[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "load_average": os.getloadavg(),
                                         "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
