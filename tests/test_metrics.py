from __future__ import annotations

import itertools

import numpy as np
import pytest

from soundseek.metrics import (
    average_precision,
    average_precision_at_k,
    hit_rate_at_k,
    precision_at_k,
    recall_at_k,
    retrieval_report,
)


def test_average_precision_hand_computed():
    # relevant at ranks 1, 3, 6 -> (1/1 + 2/3 + 3/6) / 3
    rel = [1, 0, 1, 0, 0, 1]
    assert average_precision(rel) == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    # one relevant item missing from the list: divide by 4
    assert average_precision(rel, n_relevant=4) == pytest.approx((1 + 2 / 3 + 0.5) / 4)
    assert average_precision([0, 0]) == 0.0


def test_map_at_3_single_label_is_reciprocal_rank():
    assert average_precision_at_k([0, 1, 0], 3) == pytest.approx(0.5)
    assert average_precision_at_k([0, 0, 1], 3) == pytest.approx(1 / 3)
    assert average_precision_at_k([0, 0, 0, 1], 3, n_relevant=1) == 0.0


def test_precision_recall_hit_rate():
    rel = [0, 1, 1, 0, 1]
    assert precision_at_k(rel, 2) == 0.5
    assert precision_at_k(rel, 10) == pytest.approx(0.3)  # missing ranks are not relevant
    assert recall_at_k(rel, 3, n_relevant=4) == 0.5
    assert hit_rate_at_k(rel, 1) == 0.0 and hit_rate_at_k(rel, 2) == 1.0


def _naive_ap(rel):
    hits, total = 0, 0.0
    for i, r in enumerate(rel, 1):
        if r:
            hits += 1
            total += hits / i
    return total / hits if hits else 0.0


def test_average_precision_matches_naive_reference_on_all_short_rankings():
    for rel in itertools.product([0, 1], repeat=7):
        assert average_precision(rel) == pytest.approx(_naive_ap(rel))


def test_retrieval_report_one_hot():
    sims = np.array([[0.9, 0.1, 0.8], [0.1, 0.9, 0.2]])
    report = retrieval_report(sims, ["a", "b"], ["a", "b", "a"], ks=(1, 2))
    assert report["mAP"] == pytest.approx(1.0)
    assert report["P@2"] == pytest.approx((1.0 + 0.5) / 2)
    assert report["recall@1"] == pytest.approx((0.5 + 1.0) / 2)
