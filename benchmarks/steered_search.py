""""Like this, but <words>": an example sound steered by words, against audio-only and words-only.

Usage:
    python benchmarks/steered_search.py --esc50-collection C1 --sfx-collection C2 [--queries 300] [--json OUT]

Collections: ESC-50 and sfx-dev indexed with YAMNet (`soundseek index`); the sounds' names are hidden
in a copy (as in quality_ood.py), so the words act on the audio only.

Task (the answer is defined): a query is a clip of one kind A plus the words of another kind B (ESC-50:
B's category; sfx-dev: one of its query words that the clip's name does not contain). Relevant = the R
sounds labelled B (other recordings than the query's) that are acoustically nearest to the query clip
(cosine in the collection's YAMNet space, best segment per sound). Each method ranks every other sound;
mAP over the full ranking and precision@R, mean over queries (seeded sample of --queries per library).

    audio only    cosine to the query clip (what `search --audio` ranks by)
    words only    the engine's text score of B (what `search "B"` ranks by)
    steered       steer.steered_scores, product (the default of `search --audio x B`)
    steered (sum) the same scores added instead of multiplied (ablation)

Caveat, said plainly: "nearest among B" uses the same acoustic space as the `like` term, so the steered
product is favoured by construction on the acoustic half of the task; the words half (finding B at all
with the names hidden) is the engine's zero-shot text search.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from quality_ood import Library, copy_with_texts, load_esc50, load_sfx, per_sound_max

from soundseek.encoders.base import l2_normalize
from soundseek.metrics import average_precision, precision_at_k
from soundseek.search.engine import SearchEngine
from soundseek.search.steer import Steer, min_max, steered_scores, unit_scale


def sound_vectors(engine: SearchEngine, lib: Library) -> np.ndarray:
    """One unit vector per sound (mean of its segments), aligned with lib.paths. Returns (n, dim)."""
    ids, vecs = engine.coll.iter_vectors(engine.space)
    order = np.argsort(ids)
    vecs = vecs[order]
    rows = engine.table.positions(ids[order])
    by_path: dict[str, list[np.ndarray]] = {}
    for row, vec in zip(rows, vecs):
        by_path.setdefault(str(engine.table.paths[row]), []).append(vec)
    return l2_normalize(np.stack([np.mean(by_path[p], axis=0) for p in lib.paths]).astype(np.float32))


def pick_queries(lib: Library, n: int, r: int, seed: int = 0) -> list[tuple[int, str]]:
    """(query sound, words B) pairs: B is not among the query's words and labels > r other-group sounds."""
    rng = np.random.default_rng(seed)
    groups = np.asarray(lib.groups, dtype=object)
    pairs: list[tuple[int, str]] = []
    candidates = [i for i, w in enumerate(lib.words) if w & set(lib.queries)]
    while len(pairs) < n:
        i = int(rng.choice(candidates))
        b = str(rng.choice([q for q in lib.queries if q not in lib.words[i]]))
        if (lib.relevant(b) & (groups != groups[i])).sum() > r:
            pairs.append((i, b))
    return pairs


def evaluate(engine: SearchEngine, lib: Library, vectors: np.ndarray, pairs: list[tuple[int, str]],
             r: int) -> dict[str, dict[str, float]]:
    text = functools.lru_cache(maxsize=None)(engine.text_scores)
    engine.text_scores = text  # type: ignore[method-assign]  # each B is scored once
    groups = np.asarray(lib.groups, dtype=object)
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in ("audio only", "words only", "steered", "steered (sum)")}
    for i, b in pairs:
        keep = groups != groups[i]
        sims = vectors @ vectors[i]
        labelled = np.flatnonzero(lib.relevant(b) & keep)
        relevant = np.zeros(len(lib.paths), dtype=bool)
        relevant[labelled[np.argsort(-sims[labelled], kind="stable")[:r]]] = True
        like = _segment_cosines(engine, vectors[i])
        rankings = {
            "audio only": per_sound_max(engine, lib, like),
            "words only": per_sound_max(engine, lib, text(b)),
            "steered": per_sound_max(engine, lib, steered_scores(engine, like, Steer(b))),
            "steered (sum)": per_sound_max(engine, lib, min_max(like) + unit_scale(text(b))),
        }
        for name, scores in rankings.items():
            order = np.argsort(-scores[keep], kind="stable")
            rel = relevant[keep][order]
            results[name].append((average_precision(rel), precision_at_k(rel, r)))
    return {k: {"mAP": round(float(np.mean([a for a, _ in v])), 4), f"P@{r}": round(float(np.mean([p for _, p in v])), 4)}
            for k, v in results.items()}


def _segment_cosines(engine: SearchEngine, vector: np.ndarray) -> np.ndarray:
    ids, vecs = _all_vectors(engine)
    out = np.full(len(engine.table), -np.inf, dtype=np.float32)
    out[engine.table.positions(ids)] = vecs @ vector
    return out


@functools.lru_cache(maxsize=4)
def _all_vectors(engine: SearchEngine) -> tuple[np.ndarray, np.ndarray]:
    return engine.coll.iter_vectors(engine.space)


def run_library(lib: Library, work: Path, n: int, r: int) -> dict:
    engine = SearchEngine(copy_with_texts(lib, {}, work / f"{lib.name}-hidden"))
    pairs = pick_queries(lib, n, r)
    started = time.perf_counter()
    out = evaluate(engine, lib, sound_vectors(engine, lib), pairs, r)
    return {"queries": len(pairs), "relevant_per_query": r, "methods": out,
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--esc50-collection", type=Path, required=True)
    parser.add_argument("--sfx-collection", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--relevant", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    libs = [load_sfx(args.shared / "data" / "sfx-dev", args.sfx_collection),
            load_esc50(args.shared / "data" / "esc50", args.esc50_collection)]
    with tempfile.TemporaryDirectory() as tmp:
        result = {lib.name: run_library(lib, Path(tmp), args.queries, args.relevant) for lib in libs}
    result["machine"] = f"{platform.node()} {platform.processor() or platform.machine()}"
    result["date"] = time.strftime("%Y-%m-%d")
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
