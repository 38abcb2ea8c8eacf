"""kNN label ranking, MAP@3, caption recall and uniformity on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from soundseek.joint import evaluate as ev
from soundseek.joint.uniformity import (
    mixture_reference,
    point_sigma,
    uniform_reference,
    voxel_entropy,
)


def test_knn_vote_order_and_fill() -> None:
    # one query; similarities rank database items 0..5 in order
    sim = np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]])
    labels = ["b", "a", "a", "c", "b", "d"]
    # k = 3: votes a=2, b=1 -> [a, b]; then fill by first appearance after k: c, d
    assert ev.knn_label_ranking(sim, labels, k=3, depth=4) == [["a", "b", "c", "d"]]
    # k = 5: a=2, b=2 tie, b's nearest item ranks first -> [b, a, c]
    assert ev.knn_label_ranking(sim, labels, k=5, depth=3) == [["b", "a", "c"]]


def test_map_at_3_by_hand() -> None:
    rankings = [["x", "y", "z"], ["y", "x", "z"], ["z", "y", "x"], ["a", "b", "c"]]
    # true x: ranks 1, 2, 3, absent -> (1 + 1/2 + 1/3 + 0) / 4
    assert ev.map_at_k_of_rankings(rankings, ["x"] * 4) == pytest.approx((1 + 0.5 + 1 / 3) / 4)


def test_knn_map3_and_four_combinations() -> None:
    # two well separated classes in 2-d; text vectors = class axes
    rng = np.random.default_rng(0)
    train_audio = np.vstack([[1, 0] + 0.05 * rng.standard_normal((5, 2)), [0, 1] + 0.05 * rng.standard_normal((5, 2))])
    labels = ["p"] * 5 + ["q"] * 5
    text = np.array([[1.0, 0.0]] * 5 + [[0.0, 1.0]] * 5)
    out = ev.four_combinations(train_audio, text, train_audio[[0, 9]], text[[0, 9]], labels, ["p", "q"], k=3)
    assert out == {"audio->audio": 1.0, "text->audio": 1.0, "audio->text": 1.0, "text->text": 1.0}
    # different dimensions: cross-modal cells undefined
    out = ev.four_combinations(train_audio, np.hstack([text, text]), train_audio[:1], np.hstack([text, text])[:1], labels, ["p"], k=3)
    assert out["text->audio"] is None and out["audio->text"] is None


def test_caption_recall_by_hand() -> None:
    audio = np.eye(3)
    # captions 0,1 describe clip 0 (caption 1 points at clip 2), caption 2 describes clip 1
    captions = np.array([[1.0, 0.1, 0.0], [0.0, 0.1, 1.0], [0.0, 1.0, 0.2]])
    out = ev.caption_recall(audio, captions, [0, 0, 1], ks=(1, 2))
    # text->audio: caption 0 hit@1, caption 1 own clip 0 at rank 3 (sims 0, .1, 1 -> order 2,1,0), caption 2 hit@1
    assert out["text->audio"] == {"R@1": pytest.approx(2 / 3), "R@2": pytest.approx(2 / 3)}
    # audio->text: clip 0 -> caption 0 first (hit); clip 1 -> caption 2 first (hit); clip 2 -> no caption, miss
    assert out["audio->text"]["R@1"] == pytest.approx(2 / 3)


def test_mean_std() -> None:
    out = ev.mean_std([{"a": 1.0, "b": None}, {"a": 3.0, "b": None}])
    assert out == {"a": {"mean": 2.0, "std": 1.0}, "b": {"mean": None, "std": None}}


def test_uniformity_orders_references() -> None:
    # two antipodal points: one distance -> sigma 0
    assert point_sigma(np.array([[1.0, 0], [-1.0, 0]])) == 0.0
    uni, gmm = uniform_reference(400, 64), mixture_reference(400, 64, components=10)
    assert point_sigma(uni) < point_sigma(gmm)
    assert 0.0 <= voxel_entropy(gmm) <= 1.0
    assert voxel_entropy(np.zeros((10, 3)) + [1, 0, 0]) == pytest.approx(0.0)


def test_linear_probe_on_separable_data() -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (20, 3)) + [1, 0, 0], rng.normal(0, 0.1, (20, 3)) + [0, 1, 0]])
    y = ["a"] * 20 + ["b"] * 20
    assert ev.linear_probe_map3(x[::2], y[::2], x[1::2], y[1::2]) == pytest.approx(1.0)
