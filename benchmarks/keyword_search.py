"""Keyword (BM25) search: SQLite FTS5's bm25() against the same scores in memory (search/keywords.py).

Usage:
    python benchmarks/keyword_search.py --collection C [--queries 250] [--json OUT]

Answers the 50 phrases of load_test.py and never-seen combinations of their words both ways, in
alternation, and reports the time per query (for the in-memory path: SQLite's tokenizer on the query
words plus the lists), the time to read the postings once, and whether both return the same sounds in
the same order with the same scores.
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

    from soundseek.search.keywords import KeywordIndex
    from soundseek.search.query import fts_query, fts_words
    from soundseek.store import Collection

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collection", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=250)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    coll = Collection.open(args.collection)
    started = time.perf_counter()
    index = KeywordIndex(coll.keyword_postings())
    build_s = time.perf_counter() - started
    queries = query_set(args.queries)
    times: dict[str, list[float]] = {"fts5": [], "memory": []}
    same_order, worst = 0, 0.0
    for query in queries:
        t = time.perf_counter()
        fts = coll.keyword_search(fts_query(query))
        times["fts5"].append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        mine = index.search(coll.keyword_terms(fts_words(query)))
        times["memory"].append(1000 * (time.perf_counter() - t))
        if mine is None:
            continue
        same_order += [h[0] for h in fts] == [h[0] for h in mine]
        for (_, a), (_, b) in zip(fts, mine):
            worst = max(worst, abs(a - b) / max(abs(a), 1e-12))
    result = {
        "collection": str(args.collection), "sounds_with_words": len(np.unique(index.docs)), "terms": len(index),
        "postings": len(index.docs), "queries": len(queries), "postings_read_s": round(build_s, 2),
        "p50_ms": {k: round(float(np.percentile(v, 50)), 2) for k, v in times.items()},
        "p95_ms": {k: round(float(np.percentile(v, 95)), 2) for k, v in times.items()},
        "same_sounds_same_order": same_order, "largest_relative_score_difference": float(f"{worst:.2g}"),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
