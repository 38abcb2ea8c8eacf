"""The paper's-setting Table 1 pieces (`joint.faithful`) on tiny hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from soundseek.joint import faithful as f


def test_raw_distances_are_unscaled() -> None:
    a, t = torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]])
    assert float(f.raw_distance(a, t, "l2")[0]) == pytest.approx(5.0, abs=1e-5)
    assert float(f.raw_distance(a, t, "l1")[0]) == pytest.approx(7.0)
    assert float(f.match_probability(torch.tensor([0.0]), "exp_l2")[0]) == pytest.approx(1.0)
    assert float(f.match_probability(torch.tensor([1.0]), "l2")[0]) == pytest.approx(0.5)


def test_contrastive_pair_loss_by_hand() -> None:
    # pair 0: negative at distance 0.5 (margin 1): 0.5^2; pair 1: positive at distance 5: 25; halved mean
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    t = torch.tensor([[0.5, 0.0], [3.0, 4.0]])
    cfg = f.FaithfulConfig(loss="contrastive", kind="l2")
    assert float(f.pair_loss(a, t, torch.tensor([0.0, 1.0]), cfg)) == pytest.approx(0.5 * (0.25 + 25.0) / 2, rel=1e-5)


def test_bce_pair_loss_by_hand() -> None:
    # exp(-L2): a positive at distance 1 has d = e^-1, loss -log(e^-1) = 1; a negative at distance 1: -log(1 - e^-1)
    a, t = torch.tensor([[0.0, 0.0], [0.0, 0.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    cfg = f.FaithfulConfig(loss="bce", kind="exp_l2")
    expected = 0.5 * (1.0 - math.log(1 - math.exp(-1)))
    assert float(f.pair_loss(a, t, torch.tensor([1.0, 0.0]), cfg)) == pytest.approx(expected, rel=1e-5)


def test_pairs_are_drawn_by_class() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    items, text, y = f.sample_pairs(labels, f.FaithfulConfig(pairs=200, seed=3))
    assert len(items) == len(text) == len(y) == 200
    assert np.all(text[y == 1] == labels[items[y == 1]]) and np.all(text[y == 0] != labels[items[y == 0]])
    assert 60 < int(y.sum()) < 140  # half positive on average


def test_output_stats_by_hand() -> None:
    x = np.array([[1.0, 0.0], [0.0, 0.001]])
    stats = f.output_stats(x)
    assert stats["near_zero"] == pytest.approx(0.75) and stats["exact_zero"] == pytest.approx(0.5)
    assert stats["mean_norm"] == pytest.approx(0.5005) and stats["mean_cosine"] == pytest.approx(0.0, abs=1e-6)


def test_pair_distance_stats_by_hand() -> None:
    audio = np.array([[0.0, 0.0], [10.0, 0.0]])
    labels = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 1.0]])
    d = f.pair_distance_stats(audio, labels, np.array([0, 1]), "l2")
    assert d["pos_mean"] == pytest.approx(0.0) and d["auc"] == pytest.approx(1.0)
    assert d["neg_mean"] == pytest.approx((10 + 1 + 10 + math.sqrt(101)) / 4)
    assert d["pos_exp"] == pytest.approx(1.0)


def test_plain_pca_keeps_directions_unwhitened() -> None:
    x = np.random.default_rng(0).standard_normal((50, 6)) * np.array([10, 5, 1, 1, 1, 1])
    red = f.plain_pca(x, out_dim=8)
    assert red.proj.shape == (6, 8) and np.allclose(np.linalg.norm(red.proj[:, :6], axis=0), 1.0)
    assert np.allclose(red.proj[:, 6:], 0.0)


def test_train_faithful_end_to_end_on_separable_classes() -> None:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 40))
    labels = np.repeat(np.arange(3), 12)
    audio = centres[labels] + 0.1 * rng.standard_normal((36, 40))
    text = centres[labels] + 0.0
    train, test = np.flatnonzero(np.arange(36) % 4 != 0), np.flatnonzero(np.arange(36) % 4 == 0)
    data = f.make_data(audio, text, labels, ["a", "b", "c"], train, test)
    assert data.audio_train.shape == (27, 300) and data.label_text.shape == (3, 300)
    run = f.train_faithful(data, f.FaithfulConfig(epochs=2, pairs=40, dim=16, eval_every=1, batch_size=8))
    assert [p["epoch"] for p in run["curve"]] == [1, 2] and "audio->audio" in run["curve"][1]
    assert 0.0 <= run["joint"]["audio->audio"] <= 1.0 and set(run["distances"]) >= {"auc", "pos_mean", "neg_mean"}
    with pytest.raises(ValueError):
        f.make_data(audio, text, labels + 1, ["a", "b", "c", "d"], train, test)
