"""Losses on tiny hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from soundseek.joint import losses

A = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
T = torch.tensor([[1.0, 0.0], [1.0, 0.0]])


def test_pair_distances_by_hand() -> None:
    # pair 0 identical, pair 1 orthogonal unit vectors: L2 = sqrt(2), L1 = 2 / sqrt(2) = sqrt(2)
    assert losses.pair_distance(A, T, "l2").tolist() == pytest.approx([0.0, math.sqrt(2)], abs=1e-5)
    assert losses.pair_distance(A, T, "l1").tolist() == pytest.approx([0.0, math.sqrt(2)], abs=1e-5)
    assert losses.pair_distance(A, T, "exp_l2").tolist() == pytest.approx([0.0, 1 - math.exp(-math.sqrt(2))], abs=1e-5)


def test_bce_by_hand() -> None:
    y = torch.tensor([1.0, 0.0])
    # d = exp(-L2): pair 0 -> 1 (clamped to 1 - 1e-6), pair 1 -> exp(-sqrt 2)
    expected = 0.5 * (-math.log(1 - 1e-6) - math.log(1 - math.exp(-math.sqrt(2))))
    assert float(losses.bce_loss(A, T, y)) == pytest.approx(expected, rel=1e-4)


def test_contrastive_by_hand() -> None:
    y = torch.tensor([1.0, 0.0])
    # positive at distance 0 costs 0; negative at sqrt(2) > margin 1 costs 0
    assert float(losses.contrastive_loss(A, T, y, kind="l2")) == pytest.approx(0.0, abs=1e-6)
    # margin 2: 0.5 * mean(0, (2 - sqrt 2)^2)
    expected = 0.5 * 0.5 * (2 - math.sqrt(2)) ** 2
    assert float(losses.contrastive_loss(A, T, y, kind="l2", margin=2.0)) == pytest.approx(expected, rel=1e-4)
    # swapped labels: positive at sqrt(2) costs 2, negative at 0 costs 1 (margin 1)
    assert float(losses.contrastive_loss(A, T, 1 - y, kind="l2")) == pytest.approx(0.5 * 0.5 * (2 + 1), rel=1e-4)


def test_nt_xent_by_hand() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1])
    tau = 0.5
    # logits = I / tau; each row: -log(e^2 / (e^2 + e^0))
    expected = -math.log(math.exp(2) / (math.exp(2) + 1))
    assert float(losses.nt_xent_loss(a, a, labels, temperature=tau)) == pytest.approx(expected, rel=1e-5)
    # shared labels: targets spread evenly over both columns -> -(0.5 log p1 + 0.5 log p2), p = softmax
    same = torch.tensor([0, 0])
    p_hi, p_lo = math.exp(2) / (math.exp(2) + 1), 1 / (math.exp(2) + 1)
    assert float(losses.nt_xent_loss(a, a, same, temperature=tau)) == pytest.approx(-0.5 * (math.log(p_hi) + math.log(p_lo)), rel=1e-5)


def test_semi_hard_negative_choice() -> None:
    dist = torch.tensor([[0.5, 0.4, 0.7, 0.9], [0.5, 0.1, 0.2, 0.3]])
    positive = torch.tensor([0.5, 0.5])
    mask = torch.tensor([[False, True, True, True], [False, True, True, True]])
    # row 0: negatives farther than 0.5 are 0.7, 0.9 -> 0.7; row 1: none farther -> the farthest, 0.3
    assert losses.semi_hard_negatives(dist, positive, mask).tolist() == pytest.approx([0.7, 0.3])


def test_triplet_by_hand() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1])
    # positive distance 0, only negative at sqrt 2: relu(0 - sqrt2 + 0.2) = 0
    assert float(losses.triplet_loss(a, a, labels, margin=0.2)) == pytest.approx(0.0)
    assert float(losses.triplet_loss(a, a, labels, margin=2.0)) == pytest.approx(2 - math.sqrt(2), rel=1e-5)


def test_uniformity_by_hand() -> None:
    x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    # one pair at squared distance 4: log exp(-2 * 4) = -8
    assert float(losses.uniformity_loss(x)) == pytest.approx(-8.0)


def test_semi_hard_picks_the_closest_negative_beyond_the_positive() -> None:
    d_ap = torch.tensor([0.5, 0.5, 0.5])
    d_an = torch.tensor([[0.2, 0.6, 0.9, 0.55],   # semi-hard: 0.55 beats 0.6 and 0.9
                         [0.1, 0.3, 0.4, 0.45],   # none farther than 0.5: the farthest, 0.45
                         [0.7, 0.52, 0.8, 0.9]])  # 0.52 is not allowed: next is 0.7
    valid = torch.tensor([[True, True, True, True], [True, True, True, True], [True, False, True, True]])
    assert losses.semi_hard_negatives(d_an, d_ap, valid).tolist() == pytest.approx([0.55, 0.45, 0.7])
    per_anchor = losses.semi_hard_triplet_losses(d_an, d_ap, valid, margin=0.1)
    assert per_anchor.tolist() == pytest.approx([0.05, 0.15, 0.0])

