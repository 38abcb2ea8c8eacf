"""Fit and check the relevance calibration (search/relevance.py) on sfx-dev and ESC-50.

Usage (collections as for quality_ood.py):
    python benchmarks/calibrate_relevance.py --sfx ../shared/data/sfx-dev --sfx-collection /tmp/sfx_yam \
        --esc50 ../shared/data/esc50 --esc50-collection /tmp/esc_yam [--json OUT]

Data: for each library, setting (names hidden, half named) and query word, the product's top 30 sounds
(as a user sees them) with their features and whether they are relevant; plus NONSENSE queries, whose
hits are all irrelevant. A logistic regression (L2, fitted by Newton steps) on the pooled data gives the
coefficients; to show it transfers, it is also fitted on one library and scored on the other. The
"no good match" threshold is the smallest multiple of 0.05 above the best hit of every nonsense query.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import quality_ood as Q  # noqa: E402

from soundseek.search.engine import SearchEngine  # noqa: E402
from soundseek.search.relevance import FEATURES  # noqa: E402

NONSENSE = ["xyzzy qwerty", "tax return", "quantum chromodynamics", "seven", "blue", "spreadsheet",
            "philosophy", "invoice", "asdf", "the", "yesterday", "grammar"]
TOP = 30


def collect(engine: SearchEngine, lib: Q.Library, scope: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features and labels of the top TOP in-scope sounds of each query, and the query of each row."""
    xs, ys, qs = [], [], []
    in_scope = {p for p, s in zip(lib.paths, scope) if s}
    for query in lib.queries + NONSENSE:
        rel = dict(zip(lib.paths, lib.relevant(query))) if query in lib.queries else {}
        if query in lib.queries and not any(rel[p] for p in in_scope):
            continue
        ev = engine.text_evidence(query)
        order = np.argsort(-ev.total, kind="stable")
        chosen, seen = [], set()
        for pos in order:
            path = engine.table.paths[pos]
            if path in in_scope and path not in seen:
                seen.add(path)
                chosen.append(pos)
            if len(chosen) == TOP:
                break
        xs.append(ev.features(np.asarray(chosen), engine.table.sound_rows, engine.class_codes))
        ys.append(np.asarray([rel.get(engine.table.paths[p], False) for p in chosen], dtype=float))
        qs += [query] * len(chosen)
    return np.vstack(xs), np.concatenate(ys), qs


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method with an L2 penalty on the coefficients (not the intercept)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    penalty = np.eye(xb.shape[1]) * l2
    penalty[-1, -1] = 0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + penalty @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + penalty
        w -= np.linalg.solve(hess, grad)
    return w[:-1], float(w[-1])


def fit_nonnegative(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """`fit_logistic` with every coefficient >= 0 (more evidence never lowers relevance): features that
    get a negative weight are dropped and the rest refitted, until none is negative."""
    keep = np.ones(x.shape[1], dtype=bool)
    while True:
        coef, intercept = fit_logistic(x[:, keep], y)
        if (coef >= 0).all():
            full = np.zeros(x.shape[1])
            full[keep] = coef
            return full, intercept
        keep[np.flatnonzero(keep)[coef < 0]] = False


def report(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    bins = np.clip((p * 5).astype(int), 0, 4)
    table = {f"{b / 5:.1f}-{(b + 1) / 5:.1f}": (float(y[bins == b].mean()) if (bins == b).any() else None,
                                                  int((bins == b).sum())) for b in range(5)}
    brier = float(np.mean((p - y) ** 2))
    return {"brier": brier, "bins (observed rate, n)": table}


def threshold(p: np.ndarray, queries: list[str]) -> float:
    """The smallest multiple of 0.05 above the best hit of every nonsense query: gibberish never gets a
    confident-looking list, and as many real queries as possible are still answered as matches."""
    worst = max(pi for pi, q in zip(p, queries) if q.removeprefix("half:") in NONSENSE)
    return float(round((np.floor(worst / 0.05) + 1) * 0.05, 2))


def query_level(p: np.ndarray, y: np.ndarray, queries: list[str], t: float) -> dict[str, float]:
    """Per query: is the best hit above the threshold ("a match"), and is that best hit relevant?"""
    best: dict[str, tuple[float, float]] = {}
    for pi, yi, q in zip(p, y, queries):
        if q not in best or pi > best[q][0]:
            best[q] = (pi, yi)
    nonsense = [v for q, v in best.items() if q.removeprefix("half:") in NONSENSE]
    real = [v for q, v in best.items() if q.removeprefix("half:") not in NONSENSE]
    return {"nonsense queries answered with a match": float(np.mean([b[0] >= t for b in nonsense])),
            "real queries declared no good match": float(np.mean([b[0] < t for b in real])),
            "of those, best hit was in fact relevant": float(np.mean([b[1] for b in real if b[0] < t] or [0])),
            "precision of the best hit when a match is declared": float(np.mean([b[1] for b in real if b[0] >= t] or [0]))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("--sfx", "--sfx-collection", "--esc50", "--esc50-collection"):
        ap.add_argument(flag, type=Path, required=True)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    libs = [Q.load_sfx(args.sfx, args.sfx_collection), Q.load_esc50(args.esc50, args.esc50_collection)]
    data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    queries: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lib in libs:
            named = lib.named_half()
            hidden = SearchEngine(Q.copy_with_texts(lib, {}, Path(tmp) / f"{lib.name}-h"))
            texts = {p: t for p, t, n in zip(lib.paths, lib.texts, named) if n}
            half = SearchEngine(Q.copy_with_texts(lib, texts, Path(tmp) / f"{lib.name}-n"))
            everything = np.ones(len(lib.paths), dtype=bool)
            a = collect(hidden, lib, everything)
            b = collect(half, lib, everything)  # named sounds too: their words are evidence to calibrate
            data[lib.name] = (np.vstack([a[0], b[0]]), np.concatenate([a[1], b[1]]))
            queries[lib.name] = a[2] + [f"half:{q}" for q in b[2]]
    x = np.vstack([d[0] for d in data.values()])
    y = np.concatenate([d[1] for d in data.values()])
    coef, intercept = fit_nonnegative(x, y)
    all_queries = [q for name in data for q in queries[name]]
    p = 1 / (1 + np.exp(-(x @ coef + intercept)))
    out = {"features": FEATURES, "coefficients": [round(float(c), 3) for c in coef], "intercept": round(intercept, 3),
           "pooled": report(p, y), "threshold": threshold(p, all_queries)}
    t = out["threshold"]
    out["precision above threshold"] = float(y[p >= t].mean()) if (p >= t).any() else None
    out["share of relevant hits above threshold"] = float((p[y == 1] >= t).mean()) if (y == 1).any() else None
    out["queries"] = query_level(p, y, all_queries, t)
    names = list(data)
    for train, test in ((names[0], names[1]), (names[1], names[0])):
        c, i = fit_nonnegative(*data[train])
        q = 1 / (1 + np.exp(-(data[test][0] @ c + i)))
        out[f"fit on {train}, scored on {test}"] = report(q, data[test][1])
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
