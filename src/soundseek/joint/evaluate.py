"""Evaluation of a joint space (and of the single-modality baselines) on labelled data.

The paper's protocol (Elizalde et al. 2019, Table 2): database = the training split, queries = the
test split, a kNN (k = 25) classifier predicts a ranked list of labels for each query, scored by
MAP@3 against the query's true label (DCASE 2018 task 2: 1/rank of the true label if within the
top 3, else 0). The four combinations, all by cosine similarity of L2-normalized vectors:

    audio->audio  query: a test clip's audio vector      database: the training clips' audio vectors
    text->audio   query: a test clip's label text vector database: the training clips' audio vectors
    audio->text   query: a test clip's audio vector      database: one label text vector per training clip
    text->text    query: a test clip's label text vector database: one label text vector per training clip

A database item votes for its label. The ranked label list = labels by their number of votes among
the k nearest items, ties broken by the rank of each label's nearest item; labels without a vote
follow in the order their nearest item appears in the full ranking (this matters for text databases,
where a label's copies are identical and the k nearest are often all one label).
Baselines use the raw encoder vectors; audio and text baselines live in different spaces, so the
cross-modal baseline cells are undefined (None).

Search metrics (`label_search_metrics`): each distinct test label's text is a query over the test
clips (unseen recordings), scored with `metrics.retrieval_report` (mAP, P@k, hit@k, recall@k,
mAP@10); and audio->label hit@k ranking the vocabulary for each test clip. Caption retrieval
(`caption_recall`): R@k = hit rate@k both ways, as in the CS224N report.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from soundseek.encoders.base import l2_normalize
from soundseek.metrics import (
    average_precision_at_k,
    hit_rate_at_k,
    mean_metric,
    rank_by_similarity,
    relevance_from_labels,
    retrieval_report,
)

COMBINATIONS = ("audio->audio", "text->audio", "audio->text", "text->text")
KNN_K = 25


def knn_label_ranking(similarity: np.ndarray, db_labels: Sequence[object], *, k: int = KNN_K,
                      depth: int = 10) -> list[list[object]]:
    """Ranked labels per query from a (q, n) similarity matrix by a k-nearest-neighbour vote.

    Returns: for each query, up to `depth` distinct labels (see the module docstring for the order).
    """
    order = rank_by_similarity(similarity)
    labels = np.asarray(db_labels, dtype=object)
    return [_vote(labels[row], k, depth) for row in order]


def _vote(ranked: np.ndarray, k: int, depth: int) -> list[object]:
    votes: dict[object, int] = {}
    first: dict[object, int] = {}
    for pos, lab in enumerate(ranked[:k]):
        votes[lab] = votes.get(lab, 0) + 1
        first.setdefault(lab, pos)
    out = sorted(votes, key=lambda lab: (-votes[lab], first[lab]))
    if len(out) < depth:
        seen = set(out)
        for lab in ranked[k:]:
            if lab not in seen:
                seen.add(lab)
                out.append(lab)
                if len(out) >= depth:
                    break
    return out[:depth]


def map_at_k_of_rankings(rankings: Sequence[Sequence[object]], true_labels: Sequence[object], *, k: int = 3) -> float:
    """MAP@k of ranked label lists with one true label per query (AP@k = 1/rank if rank <= k else 0)."""
    return mean_metric([average_precision_at_k(relevance_from_labels(r, t), k, n_relevant=1)
                        for r, t in zip(rankings, true_labels)])


def knn_map3(queries: np.ndarray, database: np.ndarray, query_labels: Sequence[object], db_labels: Sequence[object],
             *, k: int = KNN_K) -> float:
    """MAP@3 of the kNN label ranking for queries (q, d) against a database (n, d), by cosine."""
    sim = l2_normalize(queries) @ l2_normalize(database).T
    return map_at_k_of_rankings(knn_label_ranking(sim, db_labels, k=k, depth=3), query_labels, k=3)


def four_combinations(train_audio: np.ndarray, train_text: np.ndarray, test_audio: np.ndarray, test_text: np.ndarray,
                      train_labels: Sequence[object], test_labels: Sequence[object], *, k: int = KNN_K) -> dict[str, float | None]:
    """MAP@3 of the four combinations (module docstring) for vectors already in one space or not.

    Cross-modal cells are None when audio and text vectors have different dimensions (no shared space).
    """
    cross = train_audio.shape[1] == train_text.shape[1]
    return {
        "audio->audio": knn_map3(test_audio, train_audio, test_labels, train_labels, k=k),
        "text->audio": knn_map3(test_text, train_audio, test_labels, train_labels, k=k) if cross else None,
        "audio->text": knn_map3(test_audio, train_text, test_labels, train_labels, k=k) if cross else None,
        "text->text": knn_map3(test_text, train_text, test_labels, train_labels, k=k),
    }


def label_search_metrics(audio: np.ndarray, audio_labels: Sequence[object], label_vectors: np.ndarray,
                         label_names: Sequence[object], *, ks: Sequence[int] = (1, 5, 10)) -> dict[str, dict[str, float]]:
    """Search metrics in one space: {"text->audio": retrieval_report over the clips for each label query,
    "audio->text": hit@k / MAP@3 of ranking `label_names` for each clip}."""
    present = [i for i, name in enumerate(label_names) if name in set(audio_labels)]
    sim = l2_normalize(label_vectors[present]) @ l2_normalize(audio).T
    t2a = retrieval_report(sim, [label_names[i] for i in present], audio_labels, ks=ks)
    order = rank_by_similarity(l2_normalize(audio) @ l2_normalize(label_vectors).T)
    names = np.asarray(label_names, dtype=object)
    rel = [relevance_from_labels(names[row], lab) for row, lab in zip(order, audio_labels)]
    a2t = {f"hit@{k}": mean_metric([hit_rate_at_k(r, k) for r in rel]) for k in ks}
    a2t["MAP@3"] = mean_metric([average_precision_at_k(r, 3, n_relevant=1) for r in rel])
    return {"text->audio": t2a, "audio->text": a2t}


def caption_recall(audio: np.ndarray, captions: np.ndarray, caption_clip: Sequence[int], *,
                   ks: Sequence[int] = (1, 5, 10)) -> dict[str, dict[str, float]]:
    """Caption retrieval R@k (= hit rate@k) both ways.

    audio: (c, D) one vector per clip; captions: (m, D); caption_clip[j] = the clip caption j describes.
    text->audio: each caption ranks the clips, a hit when its clip is in the top k.
    audio->text: each clip ranks the captions, a hit when any of its captions is in the top k.
    """
    owner = np.asarray(caption_clip)
    sim = l2_normalize(captions) @ l2_normalize(audio).T
    t2a_rel = [row == own for row, own in zip(rank_by_similarity(sim), owner)]
    a2t_rel = [owner[row] == c for c, row in enumerate(rank_by_similarity(sim.T))]
    return {"text->audio": {f"R@{k}": mean_metric([hit_rate_at_k(r, k) for r in t2a_rel]) for k in ks},
            "audio->text": {f"R@{k}": mean_metric([hit_rate_at_k(r, k) for r in a2t_rel]) for k in ks}}


def mean_std(values: Sequence[dict[str, float | None]]) -> dict[str, dict[str, float | None]]:
    """Per key, the mean and standard deviation over folds (None stays None)."""
    out: dict[str, dict[str, float | None]] = {}
    for key in values[0]:
        vals = [v[key] for v in values if v[key] is not None]
        out[key] = {"mean": float(np.mean(vals)) if vals else None, "std": float(np.std(vals)) if vals else None}
    return out


def linear_probe_map3(train_x: np.ndarray, train_labels: Sequence[object], test_x: np.ndarray,
                      test_labels: Sequence[object], *, c: float = 10.0) -> float:
    """MAP@3 of a logistic-regression classifier on raw vectors (a reference for what a supervised
    model can get out of the features; labels ranked by predicted probability)."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        from soundseek.errors import MissingExtraError
        raise MissingExtraError("train", "sklearn") from exc
    clf = LogisticRegression(C=c, max_iter=300).fit(train_x, np.asarray(train_labels, dtype=object))
    order = np.argsort(-clf.predict_proba(test_x), axis=1, kind="stable")[:, :3]
    return map_at_k_of_rankings([list(clf.classes_[row]) for row in order], test_labels, k=3)
