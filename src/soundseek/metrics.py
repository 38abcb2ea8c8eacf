"""Ranking metrics: pure functions on rankings, each defined in its docstring.

A ranking is given as a boolean relevance list in ranked order (`relevance[i]` is True when the item
at rank i+1 is relevant). `n_relevant` is the number of relevant items in the whole database; when
omitted it is taken as the number of True entries in the list (i.e. the list is the full ranking).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def _rel(relevance: Sequence[bool] | np.ndarray) -> np.ndarray:
    return np.asarray(relevance, dtype=bool).ravel()


def average_precision(relevance: Sequence[bool] | np.ndarray, *, n_relevant: int | None = None) -> float:
    """AP = (1 / R) * sum over relevant ranks r of precision@r, R = n_relevant (0 when R = 0)."""
    rel = _rel(relevance)
    total = int(rel.sum()) if n_relevant is None else int(n_relevant)
    if total == 0:
        return 0.0
    hits = np.cumsum(rel)
    ranks = np.arange(1, len(rel) + 1)
    return float(np.sum((hits / ranks)[rel]) / total)


def average_precision_at_k(
    relevance: Sequence[bool] | np.ndarray, k: int, *, n_relevant: int | None = None
) -> float:
    """AP@k = (1 / min(k, R)) * sum over relevant ranks r <= k of precision@r.

    With one relevant item (a single correct label, as in DCASE 2018 task 2) this is 1/rank of that
    item when it is within the top k, else 0; MAP@k is its mean over queries.
    """
    rel = _rel(relevance)
    total = int(rel.sum()) if n_relevant is None else int(n_relevant)
    if total == 0:
        return 0.0
    top = rel[:k]
    hits = np.cumsum(top)
    ranks = np.arange(1, len(top) + 1)
    return float(np.sum((hits / ranks)[top]) / min(k, total))


def precision_at_k(relevance: Sequence[bool] | np.ndarray, k: int) -> float:
    """P@k = (relevant items among the first k) / k (missing ranks count as not relevant)."""
    return float(_rel(relevance)[:k].sum() / k)


def recall_at_k(relevance: Sequence[bool] | np.ndarray, k: int, *, n_relevant: int | None = None) -> float:
    """Recall@k = (relevant items among the first k) / R: the share of all relevant items found."""
    rel = _rel(relevance)
    total = int(rel.sum()) if n_relevant is None else int(n_relevant)
    return float(rel[:k].sum() / total) if total else 0.0


def hit_rate_at_k(relevance: Sequence[bool] | np.ndarray, k: int) -> float:
    """Hit rate@k = 1 if any of the first k items is relevant, else 0 (what CLAP papers call R@k)."""
    return float(_rel(relevance)[:k].any())


def mean_metric(values: Sequence[float]) -> float:
    """Arithmetic mean (0 for no values)."""
    return float(np.mean(values)) if len(values) else 0.0


def relevance_from_labels(ranked_labels: Sequence[object], query_label: object) -> np.ndarray:
    """Relevance list of a ranking: True where the ranked item's label equals the query's."""
    return np.asarray([lab == query_label for lab in ranked_labels], dtype=bool)


def rank_by_similarity(similarity: np.ndarray) -> np.ndarray:
    """Indices sorting each row of a (q, n) similarity matrix from most to least similar (stable)."""
    return np.argsort(-np.asarray(similarity), axis=-1, kind="stable")


def retrieval_report(
    similarity: np.ndarray, query_labels: Sequence[object], item_labels: Sequence[object], *, ks: Sequence[int] = (1, 5, 8, 10)
) -> dict[str, float]:
    """mAP over the whole database, and P@k, hit rate@k, recall@k, mAP@10 for a (q, n) similarity matrix.

    Item i is relevant to query j when item_labels[i] == query_labels[j].
    """
    order = rank_by_similarity(similarity)
    items = np.asarray(item_labels, dtype=object)
    out: dict[str, list[float]] = {"mAP": [], "mAP@10": []}
    for k in ks:
        out[f"P@{k}"], out[f"hit@{k}"], out[f"recall@{k}"] = [], [], []
    for row, label in zip(order, query_labels):
        rel = items[row] == label
        out["mAP"].append(average_precision(rel))
        out["mAP@10"].append(average_precision_at_k(rel, 10))
        for k in ks:
            out[f"P@{k}"].append(precision_at_k(rel, k))
            out[f"hit@{k}"].append(hit_rate_at_k(rel, k))
            out[f"recall@{k}"].append(recall_at_k(rel, k))
    return {name: mean_metric(vals) for name, vals in out.items()}
