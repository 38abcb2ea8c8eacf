"""A/B of `soundseek serve` from two source trees, servers in alternation: never-seen text queries.

On a shared machine one run of each tree says little (the same tree moved 138 -> 166 req/s between two
runs here); alternating the two trees round after round and comparing medians does. Each round starts
`serve --workers N` with PYTHONPATH set to one tree's `src` (e.g. a `git worktree add --detach` of the
commit before a change), warms every worker, runs load_test.py's text-unique phase (8 keep-alive
connections, every query a new word combination) and stops it.

    python benchmarks/serve_ab.py --collection /tmp/ss100k --a /tmp/before/src --b src --rounds 6 \
        --json benchmarks/results/serve_ab.json

Reported per round and as medians: requests per second, p99 latency, errors, and the workers' CPU
milliseconds per request (from /proc: steadier than req/s when other jobs share the cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
from pathlib import Path

from load_test import cpu_seconds, run_phase, start_server, warm_up


def one_round(collection: Path, src: Path, workers: int, seconds: float) -> dict:
    """Serve `collection` with the code in `src`, run the never-seen text phase, stop the server."""
    os.environ["PYTHONPATH"] = str(src.resolve())
    proc, url = start_server(collection, cache=True, workers=workers)
    try:
        pids = asyncio.run(warm_up(url, workers))
        before = [cpu_seconds(pid) for pid in pids]
        load = os.getloadavg()[0]
        text = asyncio.run(run_phase(url, "text-unique", seconds, 8, 0.0, True, workers=workers, even=True)).summary()["text"]
        cpu = sum(cpu_seconds(pid) - b for pid, b in zip(pids, before))
        return {"rps": text["rps"], "p99_ms": text["p99_ms"], "errors": text["errors"],
                "cpu_ms_per_request": round(1000 * cpu / max(text["requests"], 1), 2), "load_before": round(load, 2)}
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collection", type=Path, required=True)
    ap.add_argument("--a", type=Path, required=True, help="the first tree's src folder")
    ap.add_argument("--b", type=Path, required=True, help="the second tree's src folder")
    ap.add_argument("--rounds", type=int, default=4, help="rounds of each tree (default 4)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    trees = {"a": args.a, "b": args.b}
    rows: dict[str, list[dict]] = {"a": [], "b": []}
    for r in range(args.rounds):
        for name in ("a", "b") if r % 2 == 0 else ("b", "a"):
            rows[name].append(one_round(args.collection, trees[name], args.workers, args.seconds))
            print(name, rows[name][-1], flush=True)
    summary = {name: {"src": str(trees[name]), "median_rps": statistics.median(r["rps"] for r in rs),
                      "median_cpu_ms_per_request": statistics.median(r["cpu_ms_per_request"] for r in rs),
                      "max_p99_ms": max(r["p99_ms"] for r in rs), "errors": sum(r["errors"] for r in rs), "rounds": rs}
               for name, rs in rows.items()}
    print(json.dumps({k: {x: v for x, v in s.items() if x != "rounds"} for k, s in summary.items()}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
