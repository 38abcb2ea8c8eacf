"""One experiment run = train on a split, score on its held-out part; cross-validation over folds.

Shared by `soundseek evaluate`, `soundseek experiments` and the tests, so every number in the report
comes from the same code path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from soundseek.joint.data import LabelledSet, fold_splits, reference_phrases
from soundseek.joint.evaluate import (
    KNN_K,
    four_combinations,
    label_search_metrics,
    mean_std,
)
from soundseek.joint.model import NetworkConfig
from soundseek.joint.saved import JointModel, from_trained
from soundseek.joint.train import (
    TrainConfig,
    TrainedJoint,
    fit_joint,
    label_ids,
    text_matrix,
)


@dataclass
class Prepared:
    """A labelled set with its text features.

    Attributes:
        text: (n, d_text) raw text-encoder vector of each item's text.
        labels: (n,) int label ids (equal texts, equal ids).
        extra: (m, d_text) reference phrases' vectors the text PCA is fitted on besides the labels.
        encoder: the built text encoder (shared with the models trained here, so it loads once).
    """

    data: LabelledSet
    text: np.ndarray
    labels: np.ndarray
    extra: np.ndarray
    text_encoder: str
    text_encoder_config: dict
    encoder: Any

    def encode(self, texts: list[str]) -> np.ndarray:
        """Raw text features. Returns: (len(texts), d_text)."""
        return self.encoder.encode_text(texts)

    @property
    def names(self) -> np.ndarray:
        return np.asarray(self.data.texts, dtype=object)


def prepare(data: LabelledSet, *, text_encoder: str = "minilm", text_encoder_config: dict | None = None,
            class_map: str | None = None, encoder: Any = None) -> Prepared:
    """Encode the texts of `data` (each distinct text once) and the reference phrases.

    `encoder` reuses an already built text encoder (it must be the one named `text_encoder`).
    """
    from soundseek.encoders import build_text_encoder

    enc = encoder or build_text_encoder(text_encoder, text_encoder_config or {})
    phrases = reference_phrases(class_map)
    extra = enc.encode_text(phrases) if phrases else np.zeros((0, enc.dim), np.float32)
    return Prepared(data, text_matrix(enc.encode_text, data.texts), label_ids(data.texts), extra,
                    text_encoder, dict(text_encoder_config or {}), enc)


def train_model(prep: Prepared, idx: np.ndarray, *, cfg: TrainConfig, net_cfg: NetworkConfig,
                progress: bool = False) -> tuple[JointModel, TrainedJoint]:
    """Train on the items `idx`; the model's vocabulary is their distinct texts."""
    groups = [prep.data.groups[i] for i in idx]
    trained = fit_joint(prep.data.audio[idx], prep.text[idx], prep.labels[idx], groups, cfg=cfg, net_cfg=net_cfg,
                        text_fit_extra=prep.extra, progress=progress)
    first: dict[str, int] = {}
    for i in idx:
        first.setdefault(prep.data.texts[i], int(i))
    vocab = list(first)
    model = from_trained(trained, audio_encoder=prep.data.audio_encoder, text_encoder=prep.text_encoder,
                         labels=vocab, label_features=prep.text[[first[t] for t in vocab]],
                         text_encoder_config=prep.text_encoder_config, text_encoder_obj=prep.encoder,
                         config={"train": cfg.to_dict(), "best_epoch": trained.best_epoch,
                                 "best_val_map3": trained.best_val, "train_seconds": trained.seconds})
    return model, trained


def noisy(text: np.ndarray, labels: np.ndarray, level: float, *, seed: int) -> np.ndarray:
    """Text features plus Gaussian noise of `level` x the per-dimension std of the distinct texts."""
    if level <= 0:
        return text
    _, first = np.unique(labels, return_index=True)
    std = text[first].std(axis=0)
    return (text + np.random.default_rng(seed).standard_normal(text.shape) * level * std).astype(np.float32)


def score_split(prep: Prepared, model: JointModel, train: np.ndarray, test: np.ndarray, *,
                text_noise: float = 0.0, seed: int = 0, k: int = KNN_K) -> dict[str, Any]:
    """Table-2 MAP@3 (baseline and joint) and search metrics for one train/test split."""
    names, audio = prep.names, prep.data.audio
    text = noisy(prep.text, prep.labels, text_noise, seed=seed + 7)
    baseline = four_combinations(audio[train], text[train], audio[test], text[test], names[train], names[test], k=k)
    ja_tr, ja_te = model.embed_audio(audio[train]), model.embed_audio(audio[test])
    jt_tr, jt_te = model.embed_text_features(text[train]), model.embed_text_features(text[test])
    joint = four_combinations(ja_tr, jt_tr, ja_te, jt_te, names[train], names[test], k=k)
    search = label_search_metrics(ja_te, names[test], model.label_vectors, model.labels)
    return {"baseline": baseline, "joint": joint, "search": search}


def cross_validate(prep: Prepared, *, cfg: TrainConfig, net_cfg: NetworkConfig, folds: Sequence[int] | None = None,
                   text_noise: float = 0.0, progress: bool = False, k: int = KNN_K,
                   on_model: Callable[[int, JointModel], dict] | None = None) -> dict[str, Any]:
    """Leave-one-fold-out over the folds present (or `folds`): per-fold results and mean/std.

    `on_model(fold, model)` may add more results per fold (e.g. caption recall on other data).
    """
    if prep.data.folds is None:
        raise ValueError("cross-validation needs folds (data.group_folds makes them by recording)")
    runs = []
    for fold, train, test in fold_splits(prep.data.folds):
        if folds is not None and fold not in set(folds):
            continue
        t0 = time.perf_counter()
        model, trained = train_model(prep, train, cfg=cfg, net_cfg=net_cfg, progress=progress)
        result = score_split(prep, model, train, test, text_noise=text_noise, seed=cfg.seed + fold, k=k)
        result.update(fold=fold, best_epoch=trained.best_epoch, epochs_run=len(trained.history),
                      seconds=time.perf_counter() - t0)
        if on_model is not None:
            result.update(on_model(fold, model))
        runs.append(result)
    return {"folds": runs, "baseline": mean_std([r["baseline"] for r in runs]),
            "joint": mean_std([r["joint"] for r in runs]),
            "search_text_audio": mean_std([r["search"]["text->audio"] for r in runs]),
            "search_audio_text": mean_std([r["search"]["audio->text"] for r in runs]),
            "seconds": float(sum(r["seconds"] for r in runs))}
