"""The candidate text path of this tree against another revision's: identical results, and time per query.

Usage:
    python benchmarks/candidate_compare.py --collection C --reference OTHER/src [--queries 300] [--json OUT]

`--reference` is the `src` folder of another checkout (say, main). Its search/inner.py,
search/class_codes.py and search/candidates.py are loaded beside this tree's (the rest of the package is
this tree's), and both answer the same queries on one engine, in alternation. Each query is encoded and
its keyword hits looked up once (both implementations read the same vectors), so the times are the
candidate code's own: `CandidateScores(...)` alone, and `search_text(q, top=10)` with each
implementation (the SQLite look-ups of the hits and the relevance features included, encoding not).

Checked for every query: the candidate rows and their scores are bit-identical, and so are the hits
(files, segments, times, scores, moments, relevance). Exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: Modules of the candidate path taken from the reference tree (dependencies first).
REFERENCE_MODULES = ("inner", "class_codes", "candidates")


def load_reference(src: Path) -> dict[str, ModuleType]:
    """The reference tree's candidate modules, under private names; while each is executed the earlier
    ones stand in for their soundseek names, so its imports bind the reference versions."""
    import soundseek.search.candidates  # noqa: F401  (this tree's modules first: they are put back after)

    loaded: dict[str, ModuleType] = {}
    saved = {name: sys.modules.get(f"soundseek.search.{name}") for name in REFERENCE_MODULES}
    try:
        for name in REFERENCE_MODULES:
            path = src / "soundseek" / "search" / f"{name}.py"
            spec = importlib.util.spec_from_file_location(f"reference_{name}", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # dataclasses look their module up
            spec.loader.exec_module(module)
            loaded[name] = sys.modules[f"soundseek.search.{name}"] = module
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(f"soundseek.search.{name}", None)
            else:
                sys.modules[f"soundseek.search.{name}"] = module
    return loaded


class MemoEngine:
    """The engine as candidate search reads it, with each query encoded and looked up once (shared by
    both implementations) and class scores of the implementation's own class_codes module."""

    def __init__(self, engine: Any, class_codes: Any, memo: dict[str, Any]) -> None:
        self._engine, self.class_codes, self._memo = engine, class_codes, memo
        self.coll, self.table = engine.coll, engine.table

    text_encoder = property(lambda self: self._engine.text_encoder)
    matcher = property(lambda self: self._engine.matcher)
    library = property(lambda self: self._engine.library)

    def query_vectors(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        if ("v", query) not in self._memo:
            self._memo["v", query] = self._engine.query_vectors(query)
        return self._memo["v", query]

    def _keyword_scores(self, query: str) -> np.ndarray:
        if ("k", query) not in self._memo:
            self._memo["k", query] = self._engine._keyword_scores(query)
        return self._memo["k", query].copy()


def hit_key(hits: list[Any]) -> list[tuple]:
    return [(h.sound_id, h.segment_id, h.start, h.end, h.score, h.relevance,
             tuple((m.start, m.end, m.score) for m in h.moments)) for h in hits]


def main() -> int:
    from load_test import TEXT_QUERIES, unique_query

    from soundseek.search import candidates as ours
    from soundseek.search import engine as engine_mod
    from soundseek.search.engine import SearchEngine
    from soundseek.search.query import blas_controller
    from soundseek.store import Collection

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collection", type=Path, required=True)
    ap.add_argument("--reference", type=Path, required=True, help="src folder of the other revision")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    ref = load_reference(args.reference)
    engine = SearchEngine(Collection.open(args.collection), text_path="candidates")
    started = time.perf_counter()
    engine.search_text("warm up")
    memo: dict[str, Any] = {}
    codes = engine.class_codes.codes if engine.class_codes is not None else None
    impls = {}
    for name, module, classes in (("reference", ref["candidates"], ref["class_codes"]), ("this tree", ours, None)):
        shim = MemoEngine(engine, None if codes is None else (classes.ClassScores(codes) if classes else engine.class_codes), memo)
        impls[name] = (module, shim, module.build_text_lists(shim))
    print(f"engine and lists ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    weights = {name: module.FusionWeights(engine_mod.KEYWORD_WEIGHT, engine_mod.TEXT_SIMILARITY_WEIGHT,
                                          engine_mod.TEXT_SIMILARITY_FLOOR, engine_mod.FEEDBACK_WEIGHT,
                                          engine_mod.FEEDBACK_TOP, engine_mod.FEEDBACK_POOL, engine_mod.LIBRARY_WEIGHT)
               for name, (module, _, _) in impls.items()}
    rng = random.Random(1)
    queries = (TEXT_QUERIES + [unique_query(rng) for _ in range(args.queries)])[: args.queries]
    build_ms: dict[str, list[float]] = {name: [] for name in impls}
    search_ms: dict[str, list[float]] = {name: [] for name in impls}
    differ: list[str] = []
    with blas_controller().limit(limits=1, user_api="blas"):  # as search_text runs
        for i, query in enumerate(queries):
            compare_one(query, i, impls, weights, engine, build_ms, search_ms, differ)
    result = summary(args, engine, queries, impls, weights, build_ms, search_ms, differ)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 1 if differ else 0


def compare_one(query: str, i: int, impls: dict, weights: dict, engine: Any, build_ms: dict, search_ms: dict,
                differ: list[str]) -> None:
    """Answer `query` with both implementations (in alternating order), time them, compare the answers."""
    memo_shim = impls["this tree"][1]
    memo_shim.query_vectors(query), memo_shim._keyword_scores(query)  # encoded once, before any timing
    names = list(impls) if i % 2 == 0 else list(impls)[::-1]
    scored, hits = {}, {}
    for name in names:
        module, shim, lists = impls[name]
        t = time.perf_counter()
        scored[name] = module.CandidateScores(shim, lists, query, weights[name])
        build_ms[name].append(1000 * (time.perf_counter() - t))
        engine.text_candidates = lambda q, m=module, s=shim, li=lists, w=weights[name]: m.CandidateScores(s, li, q, w)
        t = time.perf_counter()
        hits[name] = engine._search_candidates(query, 10, 0, None)
        search_ms[name].append(1000 * (time.perf_counter() - t))
    a, b = scored["reference"], scored["this tree"]
    same = (np.array_equal(a.rows, b.rows) and np.array_equal(a.scores, b.scores)
            and (hits["reference"] is None) == (hits["this tree"] is None)
            and hit_key(hits["reference"] or []) == hit_key(hits["this tree"] or []))
    if not same:
        differ.append(query)
        print(f"DIFFERENT: {query!r}", file=sys.stderr)


def summary(args: argparse.Namespace, engine: Any, queries: list[str], impls: dict, weights: dict,
            build_ms: dict, search_ms: dict, differ: list[str]) -> dict:
    pct = lambda v, p: round(float(np.percentile(v, p)), 2)  # noqa: E731
    return {
        "collection": str(args.collection), "segments": len(engine.table), "queries": len(queries),
        "reference": str(args.reference), "identical": len(queries) - len(differ), "different": differ[:20],
        "candidate_scores_ms_p50": {k: pct(v, 50) for k, v in build_ms.items()},
        "candidate_scores_ms_p95": {k: pct(v, 95) for k, v in build_ms.items()},
        "search_text_ms_p50_no_encoding": {k: pct(v, 50) for k, v in search_ms.items()},
        "search_text_ms_p95_no_encoding": {k: pct(v, 95) for k, v in search_ms.items()},
        "mean_candidates": round(float(np.mean([len(impls["this tree"][0].CandidateScores(
            impls["this tree"][1], impls["this tree"][2], q, weights["this tree"]).rows) for q in queries[:20]])), 1),
    }


if __name__ == "__main__":
    raise SystemExit(main())
