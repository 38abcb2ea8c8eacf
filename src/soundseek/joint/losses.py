"""Training objectives for the twin network, on L2-normalized audio embeddings `a` and text
embeddings `t` (rows paired: a[i] with t[i]).

Distances and similarities (`kind`):
    l2      D = ||a - t||_2                          (in [0, 2] on the unit sphere)
    l1      D = ||a - t||_1 / sqrt(dim)              (scaled to the L2's range; unscaled L1 grows with dim)
    exp_l2  s = exp(-||a - t||_2),  D = 1 - s
    exp_l1  s = exp(-||a - t||_1 / sqrt(dim)),  D = 1 - s

Losses (y = 1 for a matching pair, 0 for a non-matching one):
    bce          the paper's: d = exp(-||a - t||_2) read as P(match); -[y log d + (1-y) log(1-d)]
    contrastive  Hadsell et al. margin loss: y D^2 + (1-y) max(0, m - D)^2, halved
    nt_xent      InfoNCE with temperature tau over a batch, both directions; items sharing a label
                 are all positives (targets spread evenly over them)
    triplet      audio-anchored and text-anchored, semi-hard negatives (FaceNet): the closest
                 negative farther than the positive; when none is, the farthest negative
    uniformity   Wang and Isola: log mean_{i<j} exp(-2 ||x_i - x_j||^2), a penalty added to any loss
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SIMILARITIES = ("l1", "l2", "exp_l1", "exp_l2")
LOSSES = ("bce", "contrastive", "nt_xent", "triplet")


def pair_distance(a: torch.Tensor, t: torch.Tensor, kind: str = "l2") -> torch.Tensor:
    """Distance D of paired rows under `kind` (see the module docstring). Returns: (n,)."""
    if kind not in SIMILARITIES:
        raise ValueError(f"unknown similarity {kind!r} (known: {', '.join(SIMILARITIES)})")
    diff = a - t
    if kind.endswith("l1"):
        dist = diff.abs().sum(dim=-1) / math.sqrt(a.shape[-1])
    else:
        dist = torch.sqrt((diff * diff).sum(dim=-1) + 1e-12)
    return 1.0 - torch.exp(-dist) if kind.startswith("exp") else dist


def default_margin(kind: str) -> float:
    """A margin on the scale of each distance: 1.0 for l1/l2, 0.5 for the exp kinds (D < 1)."""
    return 0.5 if kind.startswith("exp") else 1.0


def bce_loss(a: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on d = exp(-||a - t||_2) with targets y in {0, 1}. Returns: scalar."""
    d = torch.exp(-pair_distance(a, t, "l2")).clamp(1e-6, 1 - 1e-6)
    return F.binary_cross_entropy(d, y.float())


def contrastive_loss(a: torch.Tensor, t: torch.Tensor, y: torch.Tensor, *, kind: str = "l2",
                     margin: float | None = None) -> torch.Tensor:
    """0.5 * mean(y D^2 + (1 - y) max(0, m - D)^2). Returns: scalar."""
    m = default_margin(kind) if margin is None else margin
    dist = pair_distance(a, t, kind)
    y = y.float()
    return 0.5 * torch.mean(y * dist**2 + (1 - y) * F.relu(m - dist) ** 2)


def label_match(labels: torch.Tensor) -> torch.Tensor:
    """(n, n) float: 1 where labels[i] == labels[j]."""
    return (labels[:, None] == labels[None, :]).float()


def nt_xent_loss(a: torch.Tensor, t: torch.Tensor, labels: torch.Tensor, *, temperature: float = 0.07) -> torch.Tensor:
    """Symmetric InfoNCE on logits a @ t.T / tau with label-aware soft targets. Returns: scalar."""
    logits = a @ t.T / temperature
    target = label_match(labels)
    target = target / target.sum(dim=1, keepdim=True)
    a2t = -(target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    t2a = -(target * F.log_softmax(logits.T, dim=1)).sum(dim=1).mean()
    return 0.5 * (a2t + t2a)


def semi_hard_negatives(dist: torch.Tensor, positive: torch.Tensor, negative_mask: torch.Tensor) -> torch.Tensor:
    """Per row, the smallest negative distance above `positive`; the largest negative where none is.

    dist: (n, m) distances, positive: (n,), negative_mask: (n, m) bool. Returns: (n,).
    Rows without any negative get +inf (they contribute no loss).
    """
    inf = torch.full_like(dist, float("inf"))
    farther = negative_mask & (dist > positive[:, None])
    semi = torch.where(farther, dist, inf).min(dim=1).values
    hardest_fallback = torch.where(negative_mask, dist, -inf).max(dim=1).values
    out = torch.where(torch.isfinite(semi), semi, hardest_fallback)
    return torch.where(negative_mask.any(dim=1), out, torch.full_like(out, float("inf")))


def semi_hard_triplet_losses(dist: torch.Tensor, positive: torch.Tensor, negative_mask: torch.Tensor, *,
                              margin: float) -> torch.Tensor:
    """max(0, positive - semi-hard negative + margin) of each anchor (row) that has a negative.

    dist: (n, m) anchor-candidate distances, positive: (n,) anchor-positive distances, negative_mask:
    (n, m) bool. Returns: (k,), k = the rows with at least one negative (shared by the joint and the
    self-supervised trainers).
    """
    neg = semi_hard_negatives(dist, positive, negative_mask)
    valid = torch.isfinite(neg)
    return F.relu(positive[valid] - neg[valid] + margin)


def triplet_loss(a: torch.Tensor, t: torch.Tensor, labels: torch.Tensor, *, margin: float = 0.2) -> torch.Tensor:
    """mean max(0, D(anchor, pos) - D(anchor, semi-hard neg) + margin), anchors = audio and text."""
    dist = torch.cdist(a, t)
    positive = dist.diagonal()
    negative_mask = label_match(labels) == 0
    losses = [per.mean() for d in (dist, dist.T)
              if len(per := semi_hard_triplet_losses(d, positive, negative_mask, margin=margin))]
    return torch.stack(losses).mean() if losses else dist.sum() * 0.0


def uniformity_loss(x: torch.Tensor, *, t: float = 2.0) -> torch.Tensor:
    """log of the mean over pairs i < j of exp(-t ||x_i - x_j||^2). Returns: scalar."""
    n = x.shape[0]
    if n < 2:
        return x.sum() * 0.0
    sq = torch.pdist(x, p=2) ** 2
    return torch.log(torch.exp(-t * sq).mean())
