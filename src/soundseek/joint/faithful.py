"""Elizalde et al.'s Table 1 in their own setting, to explain why our loss ranking differs from theirs.

The paper's recipe, as printed: features PCA-reduced to 300 and L2-normalized at the input (no
whitening), a twin MLP 300 -> 1024 -> 512 -> 512 -> 1024 with ReLU and dropout 0.5 shared by both
modalities, **un-normalized outputs inside the similarity**, 100 epochs of Adam (no early stopping),
about 500 training pairs, y = 1 when audio and text are of the same class and 0 otherwise. Where the
paper is silent we choose and say so (`FaithfulConfig`): half the pairs positive (a clip with its own
label) and half negative (a clip with another class's label), drawn once; batch 32 (Keras' default);
Adam at 1e-3; margins 1 (l1, l2) and 0.5 (exp kinds, where D = 1 - exp(-distance) < 1); BCE on the
plain distances reads P(match) = 1 / (1 + distance) (the paper does not say how it bounds them).

Distances on raw outputs a, t (n, D): l1 = sum |a - t|, l2 = ||a - t||_2 (unscaled, unlike
`losses.pair_distance`, which works on unit vectors); s = exp(-l1) or exp(-l2) for the exp kinds.
Evaluation as in the paper: joint embeddings L2-normalized, kNN (k = 25) MAP@3, four combinations.

Diagnostics per run (the evidence the report prints): output norms and the share of near-zero
output components (the paper: "very sparse and with similar non-zero values"), distances of test
positive vs negative (clip, label) pairs with the AUC separating them, and the training curve.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from soundseek.encoders.base import l2_normalize
from soundseek.joint.evaluate import four_combinations
from soundseek.joint.features import Reducer
from soundseek.joint.model import NetworkConfig, mlp

KINDS = ("l1", "l2", "exp_l1", "exp_l2")
LOSSES = ("contrastive", "bce")
NEAR_ZERO = 1e-2


@dataclass(frozen=True)
class FaithfulConfig:
    """The paper's setting (see the module docstring for what is ours where it is silent).

    Attributes:
        pairs: training pairs drawn once from the training split. positive_share: share with y = 1.
        output_relu: a ReLU after the output layer too (one reading of "sparse" outputs; off = linear).
        normalize_output: L2-normalize outputs before the similarity (ours; off = the paper's).
        whiten: our whitened PCA instead of plain PCA at the input.
    """

    loss: str = "bce"
    kind: str = "exp_l2"
    pairs: int = 500
    positive_share: float = 0.5
    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    dropout: float = 0.5
    dim: int = 1024
    output_relu: bool = False
    normalize_output: bool = False
    whiten: bool = False
    margin: float | None = None
    eval_every: int = 10
    seed: int = 0

    def check(self) -> None:
        if self.loss not in LOSSES or self.kind not in KINDS:
            raise ValueError(f"faithful setting knows losses {LOSSES} and similarities {KINDS}")


def plain_pca(x: np.ndarray, out_dim: int = 300) -> Reducer:
    """PCA to `out_dim` directions without whitening (then `Reducer.transform` L2-normalizes)."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    k = min(out_dim, vt.shape[0])
    proj = np.zeros((x.shape[1], out_dim))
    proj[:, :k] = vt[:k].T
    return Reducer(mean.astype(np.float32), proj.astype(np.float32), k)


def raw_distance(a: torch.Tensor, t: torch.Tensor, kind: str) -> torch.Tensor:
    """Unscaled l1 / l2 distance of paired rows (the exp kinds use the same base distance). Returns: (n,)."""
    diff = a - t
    if kind.endswith("l1"):
        return diff.abs().sum(dim=-1)
    return torch.sqrt((diff * diff).sum(dim=-1) + 1e-12)


def match_probability(dist: torch.Tensor, kind: str) -> torch.Tensor:
    """P(match) for BCE: exp(-distance) for the exp kinds, 1 / (1 + distance) for the plain ones."""
    return torch.exp(-dist) if kind.startswith("exp") else 1.0 / (1.0 + dist)


def pair_loss(a: torch.Tensor, t: torch.Tensor, y: torch.Tensor, cfg: FaithfulConfig) -> torch.Tensor:
    """BCE on P(match), or the contrastive margin loss 0.5 mean(y D^2 + (1-y) max(0, m - D)^2)."""
    dist = raw_distance(a, t, cfg.kind)
    if cfg.loss == "bce":
        p = match_probability(dist, cfg.kind).clamp(1e-6, 1 - 1e-6)
        return nn.functional.binary_cross_entropy(p, y)
    d = 1.0 - torch.exp(-dist) if cfg.kind.startswith("exp") else dist
    m = cfg.margin if cfg.margin is not None else (0.5 if cfg.kind.startswith("exp") else 1.0)
    return 0.5 * torch.mean(y * d**2 + (1 - y) * torch.relu(m - d) ** 2)


def tower(cfg: FaithfulConfig) -> nn.Sequential:
    """The paper's base network; a trailing ReLU when `output_relu`."""
    net = mlp(NetworkConfig(dim=cfg.dim, dropout=cfg.dropout))
    return nn.Sequential(*net, nn.ReLU()) if cfg.output_relu else net


def sample_pairs(labels: np.ndarray, cfg: FaithfulConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`cfg.pairs` (audio item, text label, y) triples from items with integer `labels`, drawn once:
    a positive pairs a clip with its own label, a negative with a uniformly drawn other label."""
    rng = np.random.default_rng(cfg.seed)
    classes = np.unique(labels)
    items = rng.integers(0, len(labels), size=cfg.pairs)
    y = (rng.random(cfg.pairs) < cfg.positive_share).astype(np.float32)
    text = labels[items].copy()
    for i in np.flatnonzero(y == 0):
        others = classes[classes != labels[items[i]]]
        text[i] = others[rng.integers(0, len(others))]
    return items, text, y


@dataclass
class FaithfulData:
    """One split's inputs. audio_*: (n, 300) reduced audio; *_labels: int class ids 0..n_labels-1
    (`train.label_ids`), which index label_text: (n_labels, 300) reduced text and names (label texts)."""

    audio_train: np.ndarray
    audio_test: np.ndarray
    train_labels: np.ndarray
    test_labels: np.ndarray
    label_text: np.ndarray
    names: list[str]


def make_data(audio: np.ndarray, text: np.ndarray, labels: np.ndarray, names: list[str], train: np.ndarray,
              test: np.ndarray, *, extra_text: np.ndarray | None = None, whiten: bool = False) -> FaithfulData:
    """Reduce raw audio vectors and per-item text features (fitted on the training split; the text
    PCA also on `extra_text`, as in `train.fit_joint`)."""
    from soundseek.joint.features import fit_reducer

    uniq, first = np.unique(labels, return_index=True)
    if not np.array_equal(uniq, np.arange(len(uniq))):
        raise ValueError("class ids must be 0..n_labels-1 (train.label_ids makes them)")
    text_rows = np.asarray(text[first], np.float64)
    fit_rows = text_rows if extra_text is None or not len(extra_text) else np.concatenate([text_rows, extra_text])
    a_red = fit_reducer(audio[train], out_dim=300) if whiten else plain_pca(audio[train])
    t_red = fit_reducer(fit_rows, out_dim=300, seed=1) if whiten else plain_pca(fit_rows)
    return FaithfulData(a_red.transform(audio[train]), a_red.transform(audio[test]), labels[train], labels[test],
                        t_red.transform(text_rows), [names[i] for i in uniq])


def train_faithful(data: FaithfulData, cfg: FaithfulConfig) -> dict[str, Any]:
    """Train in the paper's setting and evaluate. Returns: a JSON-ready dict (see `run_record`)."""
    cfg.check()
    torch.manual_seed(cfg.seed)
    net = tower(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    items, text_ids, y = sample_pairs(data.train_labels, cfg)
    a_in, t_in = torch.from_numpy(data.audio_train[items]), torch.from_numpy(data.label_text[text_ids])
    y_t = torch.from_numpy(y)
    rng = np.random.default_rng(cfg.seed + 1)
    curve: list[dict[str, float]] = []
    start = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        loss = _epoch(net, opt, a_in, t_in, y_t, cfg, rng)
        point: dict[str, float] = {"epoch": epoch, "loss": loss}
        if epoch % cfg.eval_every == 0 or epoch == 1:
            point.update(evaluate(net, data, cfg)["joint"])
        curve.append(point)
    return run_record(net, data, cfg, curve, time.perf_counter() - start)


def init_distances(data: FaithfulData, cfg: FaithfulConfig, *, n: int = 200) -> dict[str, float]:
    """Mean unscaled L1 and L2 distance between the untrained network's outputs (eval mode, seed
    `cfg.seed`) for `n` training clips and the labels of `n` random pairs: the scale every loss starts at."""
    torch.manual_seed(cfg.seed)
    net = tower(cfg)
    items, text_ids, _ = sample_pairs(data.train_labels, dataclasses.replace(cfg, pairs=n))
    a = torch.from_numpy(embed(net, data.audio_train[items], cfg))
    t = torch.from_numpy(embed(net, data.label_text[text_ids], cfg))
    return {"l1": float(raw_distance(a, t, "l1").mean()), "l2": float(raw_distance(a, t, "l2").mean())}


def _forward(net: nn.Module, x: torch.Tensor, cfg: FaithfulConfig) -> torch.Tensor:
    out = net(x)
    return nn.functional.normalize(out, dim=-1) if cfg.normalize_output else out


def _epoch(net: nn.Module, opt: torch.optim.Optimizer, a: torch.Tensor, t: torch.Tensor, y: torch.Tensor,
           cfg: FaithfulConfig, rng: np.random.Generator) -> float:
    net.train()
    order = rng.permutation(len(y))
    total = 0.0
    for start in range(0, len(order), cfg.batch_size):
        b = torch.from_numpy(order[start:start + cfg.batch_size])
        loss = pair_loss(_forward(net, a[b], cfg), _forward(net, t[b], cfg), y[b], cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(b)
    return total / len(order)


@torch.no_grad()
def embed(net: nn.Module, x: np.ndarray, cfg: FaithfulConfig) -> np.ndarray:
    """Outputs in eval mode, as the similarity sees them (raw unless `normalize_output`). Returns: (n, D)."""
    net.eval()
    return _forward(net, torch.from_numpy(np.asarray(x, np.float32)), cfg).numpy()


def evaluate(net: nn.Module, data: FaithfulData, cfg: FaithfulConfig) -> dict[str, Any]:
    """kNN (k = 25) MAP@3 of the L2-normalized joint embeddings, four combinations."""
    names = np.asarray(data.names, dtype=object)
    a_tr, a_te = embed(net, data.audio_train, cfg), embed(net, data.audio_test, cfg)
    labels_joint = embed(net, data.label_text, cfg)
    tr, te = data.train_labels, data.test_labels
    joint = four_combinations(l2_normalize(a_tr), l2_normalize(labels_joint[tr]), l2_normalize(a_te),
                              l2_normalize(labels_joint[te]), names[tr], names[te])
    return {"joint": joint, "audio_test": a_te, "labels_joint": labels_joint, "test_pos": te}


def output_stats(x: np.ndarray) -> dict[str, float]:
    """Norms and sparsity of raw outputs (n, D): mean L2 norm, share of |x| < NEAR_ZERO, share of exact
    zeros, and the mean cosine between rows (near 1 = all outputs point the same way)."""
    x = np.asarray(x, np.float64)
    u = l2_normalize(x.astype(np.float32)).astype(np.float64)
    cos = u @ u.T
    n = len(x)
    mean_cos = float((cos.sum() - np.trace(cos)) / max(1, n * (n - 1)))
    return {"mean_norm": float(np.linalg.norm(x, axis=1).mean()), "near_zero": float(np.mean(np.abs(x) < NEAR_ZERO)),
            "exact_zero": float(np.mean(x == 0.0)), "mean_cosine": mean_cos}


def pair_distance_stats(audio: np.ndarray, labels_joint: np.ndarray, test_pos: np.ndarray, kind: str) -> dict[str, float]:
    """Distances (the run's kind, on raw outputs) of each test clip to its own label (positive) and to
    every other label (negatives): means, stds, d = exp(-distance) means, and the AUC = P(positive
    distance < negative distance) over all (positive, negative) pairs of a clip, averaged over clips."""
    dist = _all_distances(audio, labels_joint, kind)
    own = dist[np.arange(len(dist)), test_pos]
    mask = np.ones_like(dist, dtype=bool)
    mask[np.arange(len(dist)), test_pos] = False
    neg = dist[mask].reshape(len(dist), -1)
    auc = float(np.mean((neg > own[:, None]).mean(axis=1) + 0.5 * (neg == own[:, None]).mean(axis=1)))
    return {"pos_mean": float(own.mean()), "pos_std": float(own.std()), "neg_mean": float(neg.mean()),
            "neg_std": float(neg.std()), "pos_exp": float(np.exp(-own).mean()), "neg_exp": float(np.exp(-neg).mean()),
            "auc": auc}


def _all_distances(a: np.ndarray, b: np.ndarray, kind: str) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if kind.endswith("l1"):
        return np.abs(a[:, None, :] - b[None, :, :]).sum(axis=-1)
    sq = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)
    return np.sqrt(sq)


def run_record(net: nn.Module, data: FaithfulData, cfg: FaithfulConfig, curve: list[dict[str, float]],
               seconds: float) -> dict[str, Any]:
    """The final evaluation, output statistics, distance statistics and training curve of one run."""
    final = evaluate(net, data, cfg)
    return {"config": dataclasses.asdict(cfg), "joint": final["joint"],
            "outputs_audio": output_stats(final["audio_test"]), "outputs_text": output_stats(final["labels_joint"]),
            "distances": pair_distance_stats(final["audio_test"], final["labels_joint"], final["test_pos"], cfg.kind),
            "curve": curve, "seconds": seconds}
