"""The candidate text path of this tree against another revision's: identical results, and time per query.

Usage:
    python benchmarks/candidate_compare.py --collection C --reference OTHER/src [--queries 300] [--json OUT]

`--reference` is the `src` folder of another checkout (say, main). Its search/inner.py,
search/class_codes.py, search/knn_slots.py and search/candidates.py are loaded beside this tree's (the
rest of the package is this tree's), and both answer the same queries on one engine, in alternation.
Each query is encoded and its keyword hits looked up once (both implementations read the same vectors),
so the times are the candidate code's own: `CandidateScores(...)` alone, and `search_text(q, top=10)`
with each implementation (the SQLite look-ups of the hits and the relevance features included, encoding
not), as wall-clock percentiles and as mean CPU time of the process (steadier than wall time on a shared
machine: time spent waiting for a core is not counted).

Checked for every query: the candidate rows are identical, their scores equal to float32 rounding
(|difference| <= TOLERANCE, and -inf at the same rows), the hits the same files and segments in the
same order with the same times, and their scores, relevance and moment scores equal to TOLERANCE.
Counted apart: the queries whose candidate rows, scores and hits are bit-identical. Exits 1 when any
query differs beyond rounding.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import time
from pathlib import Path
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: Largest difference of two scores that counts as float32 rounding (scores lie in [0, ~5]).
TOLERANCE = 1e-5
#: Modules of the candidate path taken from the reference tree (dependencies first; those it lacks
#: are this tree's).
REFERENCE_MODULES = ("inner", "class_codes", "knn_slots", "candidate_lists", "candidates")


def load_reference(src: Path) -> dict[str, ModuleType]:
    """The reference tree's candidate modules, under private names; while each is executed the earlier
    ones stand in for their soundseek names, so its imports bind the reference versions."""
    import soundseek.search.candidates  # noqa: F401  (this tree's modules first: they are put back after)

    loaded: dict[str, ModuleType] = {}
    saved = {name: sys.modules.get(f"soundseek.search.{name}") for name in REFERENCE_MODULES}
    try:
        for name in REFERENCE_MODULES:
            path = src / "soundseek" / "search" / f"{name}.py"
            if not path.is_file():
                continue
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

    def query_vector(self, query: str) -> np.ndarray:
        if ("v", query) not in self._memo:
            self._memo["v", query] = self._engine.query_vector(query)
        return self._memo["v", query]

    def query_vectors(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """What trees before the one-text query ask for: the same vector in both roles (both trees then
        score the same inputs)."""
        v = self.query_vector(query)
        return v, v

    def _keyword_scores(self, query: str) -> np.ndarray:
        if ("k", query) not in self._memo:
            self._memo["k", query] = self._engine._keyword_scores(query)
        return self._memo["k", query].copy()


@dataclass
class Tally:
    """Times and differences over the queries, per implementation."""

    build_ms: dict[str, list[float]] = field(default_factory=lambda: {"reference": [], "this tree": []})
    build_cpu_ms: dict[str, list[float]] = field(default_factory=lambda: {"reference": [], "this tree": []})
    search_ms: dict[str, list[float]] = field(default_factory=lambda: {"reference": [], "this tree": []})
    search_cpu_ms: dict[str, list[float]] = field(default_factory=lambda: {"reference": [], "this tree": []})
    differ: list[str] = field(default_factory=list)
    identical: int = 0
    max_score_difference: float = 0.0
    max_hit_difference: float = 0.0


def main() -> int:
    from soundseek.search.query import blas_controller

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collection", type=Path, required=True)
    ap.add_argument("--reference", type=Path, required=True, help="src folder of the other revision")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    engine, impls = open_both(args.collection, args.reference)
    queries = _queries(args.queries)
    tally = Tally()
    with blas_controller().limit(limits=1, user_api="blas"):  # as search_text runs
        for i, query in enumerate(queries):
            compare_one(query, i, impls, engine, tally)
    result = summary(args, engine, queries, impls, tally)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 1 if tally.differ else 0


def _queries(n: int) -> list[str]:
    from synthetic_library import TEXT_QUERIES, unique_query

    rng = random.Random(1)
    return (TEXT_QUERIES + [unique_query(rng) for _ in range(n)])[:n]


def open_both(collection: Path, reference: Path) -> tuple[Any, dict[str, tuple]]:
    """The engine, and for each implementation (module, engine as it reads it, lists, fusion weights)."""
    from soundseek.search import candidates as ours
    from soundseek.search import engine as engine_mod
    from soundseek.search.engine import SearchEngine
    from soundseek.store import Collection

    ref = load_reference(reference)
    engine = SearchEngine(Collection.open(collection), text_path="candidates")
    started = time.perf_counter()
    engine.search_text("warm up")
    memo: dict[str, Any] = {}
    codes = engine.class_codes.codes if engine.class_codes is not None else None
    impls = {}
    from soundseek.search import candidate_lists

    # the lists were built by candidates.py before they moved to candidate_lists.py
    lists_of = {"reference": getattr(ref["candidates"], "build_text_lists", None)
                or getattr(ref.get("candidate_lists"), "build_text_lists", candidate_lists.build_text_lists),
                "this tree": candidate_lists.build_text_lists}
    for name, module, classes in (("reference", ref["candidates"], ref["class_codes"]), ("this tree", ours, None)):
        scores = None if codes is None else (classes.ClassScores(codes) if classes else engine.class_codes)
        shim = MemoEngine(engine, scores, memo)
        weights = module.FusionWeights(engine_mod.KEYWORD_WEIGHT, engine_mod.TEXT_SIMILARITY_WEIGHT,
                                       engine_mod.TEXT_SIMILARITY_FLOOR, engine_mod.FEEDBACK_WEIGHT,
                                       engine_mod.FEEDBACK_TOP, engine_mod.FEEDBACK_POOL, engine_mod.LIBRARY_WEIGHT)
        impls[name] = (module, shim, lists_of[name](shim), weights)
    print(f"engine and lists ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return engine, impls


def compare_one(query: str, i: int, impls: dict, engine: Any, tally: Tally) -> None:
    """Answer `query` with both implementations (in alternating order), time them, compare the answers."""
    memo_shim = impls["this tree"][1]
    memo_shim.query_vector(query), memo_shim._keyword_scores(query)  # encoded once, before any timing
    scored, hits = {}, {}
    for name in (list(impls) if i % 2 == 0 else list(impls)[::-1]):
        module, shim, lists, weights = impls[name]
        t, cpu = time.perf_counter(), time.process_time()
        scored[name] = module.CandidateScores(shim, lists, query, weights)
        tally.build_ms[name].append(1000 * (time.perf_counter() - t))
        tally.build_cpu_ms[name].append(1000 * (time.process_time() - cpu))
        engine.text_candidates = lambda q, m=module, s=shim, li=lists, w=weights: m.CandidateScores(s, li, q, w)
        t, cpu = time.perf_counter(), time.process_time()
        hits[name] = engine._search_candidates(query, 10, 0, None)
        tally.search_ms[name].append(1000 * (time.perf_counter() - t))
        tally.search_cpu_ms[name].append(1000 * (time.process_time() - cpu))
    a, b = scored["reference"], scored["this tree"]
    ha, hb = hit_key(hits["reference"]), hit_key(hits["this tree"])
    same_rows = np.array_equal(a.rows, b.rows) and np.array_equal(np.isfinite(a.scores), np.isfinite(b.scores))
    score_diff = float(np.max(np.abs(_finite(a.scores) - _finite(b.scores)), initial=0.0)) if same_rows else np.inf
    same_hits = ha is not None and hb is not None and [_places(k) for k in ha] == [_places(k) for k in hb]
    same_hits = same_hits or (ha is None and hb is None)
    hit_diff = max((abs(x - y) for p, q in zip(ha or [], hb or []) for x, y in zip(_numbers(p), _numbers(q))),
                   default=0.0)
    tally.identical += bool(same_rows and np.array_equal(a.scores, b.scores) and ha == hb)
    tally.max_score_difference = max(tally.max_score_difference, score_diff)
    tally.max_hit_difference = max(tally.max_hit_difference, hit_diff)
    if not (same_rows and score_diff <= TOLERANCE and same_hits and hit_diff <= TOLERANCE):
        tally.differ.append(query)
        print(f"DIFFERENT: {query!r}: same rows {same_rows}, score difference {score_diff}, same hits {same_hits}, "
              f"hit number difference {hit_diff}", file=sys.stderr)


def hit_key(hits: list[Any] | None) -> list[tuple] | None:
    """What is compared of each hit: sound, segment, times; score, relevance, moments."""
    if hits is None:
        return None
    return [(h.sound_id, h.segment_id, h.start, h.end, h.score, h.relevance,
             tuple((m.start, m.end, m.score) for m in h.moments)) for h in hits]


def _numbers(key: tuple) -> list[float]:
    """The numbers of a hit key that may differ by rounding: score, relevance, each moment's score."""
    return [key[4], key[5]] + [m[2] for m in key[6]]


def _places(key: tuple) -> tuple:
    """What of a hit key must be equal: sound, segment, times, and the moments' times."""
    return key[:4] + tuple(m[:2] for m in key[6])


def _finite(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, 0)


def summary(args: argparse.Namespace, engine: Any, queries: list[str], impls: dict, tally: Tally) -> dict:
    pct = lambda v, p: round(float(np.percentile(v, p)), 2)  # noqa: E731
    module, shim, lists, weights = impls["this tree"]
    return {
        "collection": str(args.collection), "segments": len(engine.table), "queries": len(queries),
        "reference": str(args.reference), "same_to_rounding": len(queries) - len(tally.differ),
        "bit_identical": tally.identical, "different": tally.differ[:20],
        "max_score_difference": tally.max_score_difference, "max_hit_number_difference": tally.max_hit_difference,
        "candidate_scores_ms_p50": {k: pct(v, 50) for k, v in tally.build_ms.items()},
        "candidate_scores_ms_p95": {k: pct(v, 95) for k, v in tally.build_ms.items()},
        "candidate_scores_cpu_ms_mean": {k: round(float(np.mean(v)), 2) for k, v in tally.build_cpu_ms.items()},
        "search_text_ms_p50_no_encoding": {k: pct(v, 50) for k, v in tally.search_ms.items()},
        "search_text_ms_p95_no_encoding": {k: pct(v, 95) for k, v in tally.search_ms.items()},
        "search_text_cpu_ms_mean_no_encoding": {k: round(float(np.mean(v)), 2) for k, v in tally.search_cpu_ms.items()},
        "mean_candidates": round(float(np.mean([len(module.CandidateScores(shim, lists, q, weights).rows)
                                                for q in queries[:20]])), 1),
    }


if __name__ == "__main__":
    raise SystemExit(main())
