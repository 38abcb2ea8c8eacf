"""Training the twin network: pair sampling, Adam, epochs, early stopping on a grouped validation split.

`fit_joint(audio, text, labels, groups, ...)` takes per-item audio-encoder vectors, per-item raw text
features and integer labels (items with the same text share a label), fits the reducers on the
fitting part only, and returns the network with the best validation score. The validation split is
drawn by group (recording), so no recording is on both sides.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from soundseek.errors import SoundseekError
from soundseek.joint import losses
from soundseek.joint.data import grouped_split
from soundseek.joint.features import Reducer, fit_reducer
from soundseek.joint.model import NetworkConfig, TwinNetwork


@dataclass
class TrainConfig:
    """How to train (recorded with the model).

    Attributes:
        loss: bce | contrastive | nt_xent | triplet (see `losses`).
        similarity: l1 | l2 | exp_l1 | exp_l2 (contrastive loss only).
        margin: contrastive / triplet margin (None: `losses.default_margin` / 0.2).
        temperature: NT-Xent temperature.
        negatives: negative pairs per positive pair (bce, contrastive).
        text_noise: std of Gaussian noise added to raw text features, in units of their per-dimension
            std, drawn afresh for every batch (the paper's Fig. 4 condition).
        uniformity: weight of the uniformity penalty (0 = off).
        val_fraction: share of recordings held out for early stopping.
        patience: epochs without a better validation score before stopping.
    """

    loss: str = "nt_xent"
    similarity: str = "l2"
    margin: float | None = None
    temperature: float = 0.1
    epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    negatives: int = 1
    text_noise: float = 0.0
    uniformity: float = 0.0
    val_fraction: float = 0.1
    patience: int = 6
    seed: int = 0
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def check(self) -> None:
        if self.loss not in losses.LOSSES:
            raise SoundseekError(f"unknown loss {self.loss!r} (known: {', '.join(losses.LOSSES)})")
        if self.similarity not in losses.SIMILARITIES:
            raise SoundseekError(f"unknown similarity {self.similarity!r} (known: {', '.join(losses.SIMILARITIES)})")


@dataclass
class TrainedJoint:
    """A trained network with the reducers it expects and its training history."""

    net: TwinNetwork
    audio_reducer: Reducer
    text_reducer: Reducer
    history: list[dict[str, float]]
    best_epoch: int
    best_val: float
    seconds: float


@dataclass
class _Tensors:
    audio: torch.Tensor  # (n, 300) reduced audio
    text_raw: torch.Tensor  # (n, d_text) raw text features
    labels: torch.Tensor  # (n,) int64


class _TextReduce:
    """The text reducer in torch, with optional per-batch Gaussian noise on the raw features."""

    def __init__(self, reducer: Reducer, noise_std: np.ndarray | None) -> None:
        self.mean = torch.from_numpy(reducer.mean)
        self.proj = torch.from_numpy(reducer.proj)
        self.noise = None if noise_std is None else torch.from_numpy(noise_std.astype(np.float32))

    def __call__(self, raw: torch.Tensor, *, noisy: bool) -> torch.Tensor:
        if noisy and self.noise is not None:
            raw = raw + torch.randn_like(raw) * self.noise
        return torch.nn.functional.normalize((raw - self.mean) @ self.proj, dim=-1)


def fit_joint(audio: np.ndarray, text: np.ndarray, labels: np.ndarray, groups: Sequence[str], *,
              cfg: TrainConfig | None = None, net_cfg: NetworkConfig | None = None,
              text_fit_extra: np.ndarray | None = None, progress: bool = False) -> TrainedJoint:
    """Train a joint model.

    Args:
        audio: (n, d_audio) audio-encoder vectors. text: (n, d_text) raw text features of each item.
        labels: (n,) int, equal for items sharing a text. groups: recording of each item.
        text_fit_extra: (m, d_text) more text vectors to fit the text PCA on (e.g. AudioSet names).
    """
    cfg, net_cfg = cfg or TrainConfig(), net_cfg or NetworkConfig()
    cfg.check()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(max(1, cfg.threads))
    fit_idx, val_idx = grouped_split(groups, cfg.val_fraction, seed=cfg.seed)
    audio_red = fit_reducer(audio[fit_idx], out_dim=net_cfg.in_dim, seed=cfg.seed)
    text_red = fit_reducer(_text_fit_rows(text, labels, fit_idx, text_fit_extra), out_dim=net_cfg.in_dim, seed=cfg.seed + 1)
    noise = cfg.text_noise * _unique_rows(text, labels).std(axis=0) if cfg.text_noise > 0 else None
    reduce_text = _TextReduce(text_red, noise)
    fit = _tensors(audio, audio_red, text, labels, fit_idx)
    val = _tensors(audio, audio_red, text, labels, val_idx) if len(val_idx) else None
    net = TwinNetwork(net_cfg)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    return _loop(net, opt, fit, val, reduce_text, cfg, rng, progress, audio_red, text_red)


def _loop(net: TwinNetwork, opt: torch.optim.Optimizer, fit: _Tensors, val: _Tensors | None, reduce_text: _TextReduce,
          cfg: TrainConfig, rng: np.random.Generator, progress: bool, audio_red: Reducer, text_red: Reducer) -> TrainedJoint:
    from tqdm import tqdm

    start = time.perf_counter()
    history: list[dict[str, float]] = []
    best, best_epoch, best_state, waited = -1.0, 0, copy.deepcopy(net.state_dict()), 0
    bar = tqdm(range(1, cfg.epochs + 1), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        loss = run_epoch(net, opt, fit, reduce_text, cfg, rng)
        score = validation_score(net, val, fit, reduce_text) if val is not None else -loss
        history.append({"epoch": epoch, "loss": loss, "val_map3": score})
        bar.set_postfix(loss=f"{loss:.4f}", val=f"{score:.3f}")
        if score >= best - 1e-6:  # a tie keeps the later, longer-trained model
            best, best_epoch, best_state, waited = max(score, best), epoch, copy.deepcopy(net.state_dict()), 0
        else:
            waited += 1
            if waited >= cfg.patience:
                break
    net.load_state_dict(best_state)
    net.eval()
    return TrainedJoint(net, audio_red, text_red, history, best_epoch, best, time.perf_counter() - start)


def _tensors(audio: np.ndarray, audio_red: Reducer, text: np.ndarray, labels: np.ndarray, idx: np.ndarray) -> _Tensors:
    return _Tensors(torch.from_numpy(audio_red.transform(audio[idx])), torch.from_numpy(np.asarray(text[idx], np.float32)),
                    torch.from_numpy(np.asarray(labels)[idx].astype(np.int64)))


def _unique_rows(text: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One text row per label. Returns: (n_labels, d_text)."""
    _, first = np.unique(labels, return_index=True)
    return np.asarray(text[first], dtype=np.float64)


def _text_fit_rows(text: np.ndarray, labels: np.ndarray, idx: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
    rows = _unique_rows(text[idx], np.asarray(labels)[idx])
    return rows if extra is None or not len(extra) else np.concatenate([rows, np.asarray(extra, np.float64)])


def run_epoch(net: TwinNetwork, opt: torch.optim.Optimizer, data: _Tensors, reduce_text: _TextReduce,
              cfg: TrainConfig, rng: np.random.Generator) -> float:
    """One pass over the fitting data. Returns: mean batch loss."""
    net.train()
    batches = pair_batches(data.labels.numpy(), cfg, rng) if cfg.loss in ("bce", "contrastive") else item_batches(len(data.labels), cfg.batch_size, rng)
    total = 0.0
    for batch in batches:
        loss = batch_loss(net, data, batch, reduce_text, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += float(loss.detach())
    return total / max(1, len(batches))


def item_batches(n: int, batch_size: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Shuffled batches of items, each its own (audio, text) pair: (audio idx, text idx, y=1)."""
    order = rng.permutation(n)
    return [(b, b, np.ones(len(b), np.float32)) for b in np.array_split(order, max(1, int(np.ceil(n / batch_size))))]


def pair_batches(labels: np.ndarray, cfg: TrainConfig, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each item's positive pair (its own text) and `cfg.negatives` negatives (the text of a random
    item with another label), shuffled into batches of (audio idx, text idx, y)."""
    n = len(labels)
    audio_idx = [np.arange(n)]
    text_idx = [np.arange(n)]
    ys = [np.ones(n, np.float32)]
    for _ in range(cfg.negatives):
        audio_idx.append(np.arange(n))
        text_idx.append(sample_negatives(labels, rng))
        ys.append(np.zeros(n, np.float32))
    a, t, y = np.concatenate(audio_idx), np.concatenate(text_idx), np.concatenate(ys)
    order = rng.permutation(len(a))
    parts = np.array_split(order, max(1, int(np.ceil(len(a) / cfg.batch_size))))
    return [(a[p], t[p], y[p]) for p in parts]


def sample_negatives(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each item, a random item with a different label (the item itself when all share one)."""
    n = len(labels)
    out = rng.integers(0, n, size=n)
    for _ in range(20):
        clash = labels[out] == labels
        if not clash.any():
            break
        out[clash] = rng.integers(0, n, size=int(clash.sum()))
    return out


def batch_loss(net: TwinNetwork, data: _Tensors, batch: tuple[np.ndarray, np.ndarray, np.ndarray],
               reduce_text: _TextReduce, cfg: TrainConfig) -> torch.Tensor:
    a_idx, t_idx, y = (torch.from_numpy(b) for b in batch)
    a = net.embed_audio(data.audio[a_idx])
    t = _embed_batch_text(net, data, t_idx, reduce_text)
    labels = data.labels[a_idx]
    if cfg.loss == "bce":
        loss = losses.bce_loss(a, t, y)
    elif cfg.loss == "contrastive":
        loss = losses.contrastive_loss(a, t, y, kind=cfg.similarity, margin=cfg.margin)
    elif cfg.loss == "nt_xent":
        loss = losses.nt_xent_loss(a, t, labels, temperature=cfg.temperature)
    else:
        loss = losses.triplet_loss(a, t, labels, margin=0.2 if cfg.margin is None else cfg.margin)
    if cfg.uniformity > 0:
        loss = loss + cfg.uniformity * 0.5 * (losses.uniformity_loss(a) + losses.uniformity_loss(t))
    return loss


def _embed_batch_text(net: TwinNetwork, data: _Tensors, t_idx: torch.Tensor, reduce_text: _TextReduce) -> torch.Tensor:
    """Text embeddings of a batch; without noise each distinct label (identical input) is embedded once,
    which halves the cost of a step (its copies then share one dropout mask)."""
    if reduce_text.noise is not None:
        return net.embed_text(reduce_text(data.text_raw[t_idx], noisy=True))
    uniq, inverse = torch.unique(data.labels[t_idx], return_inverse=True)
    rows = t_idx[_first_positions(inverse, len(uniq))]
    return net.embed_text(reduce_text(data.text_raw[rows], noisy=False))[inverse]


def _first_positions(inverse: torch.Tensor, n: int) -> torch.Tensor:
    """For each of n groups numbered in `inverse`, the position of its first member."""
    pos = torch.full((n,), len(inverse), dtype=torch.long)
    return pos.scatter_reduce(0, inverse, torch.arange(len(inverse)), reduce="amin")


@torch.no_grad()
def validation_score(net: TwinNetwork, val: _Tensors, fit: _Tensors, reduce_text: _TextReduce) -> float:
    """MAP@3 of ranking the distinct texts (of fitting and validation items) for each validation
    audio item by cosine in the joint space; the relevant text is the item's own (1/rank if rank <= 3)."""
    net.eval()
    labels = torch.cat([fit.labels, val.labels])
    raw = torch.cat([fit.text_raw, val.text_raw])
    uniq, first = np.unique(labels.numpy(), return_index=True)
    cand = net.embed_text(reduce_text(raw[torch.from_numpy(first)], noisy=False))
    sim = net.embed_audio(val.audio) @ cand.T
    own = torch.from_numpy(np.searchsorted(uniq, val.labels.numpy()))
    rank = 1 + (sim > sim.gather(1, own[:, None])).sum(dim=1)
    return float(torch.where(rank <= 3, 1.0 / rank.float(), torch.zeros_like(rank, dtype=torch.float)).mean())


def label_ids(texts: Sequence[str]) -> np.ndarray:
    """Integer label per item: equal texts get equal ids (first-seen order). Returns: (n,) int64."""
    ids: dict[str, int] = {}
    return np.asarray([ids.setdefault(t, len(ids)) for t in texts], dtype=np.int64)


def text_matrix(encode: Callable[[list[str]], np.ndarray], texts: Sequence[str]) -> np.ndarray:
    """Raw text features per item, encoding each distinct text once. Returns: (n, d_text) float32."""
    uniq = list(dict.fromkeys(texts))
    vecs = np.asarray(encode(uniq), dtype=np.float32)
    pos = {t: i for i, t in enumerate(uniq)}
    return vecs[[pos[t] for t in texts]]
