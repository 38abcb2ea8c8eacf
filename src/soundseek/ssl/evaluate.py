"""Honest audio->audio evaluation of embeddings on ESC-50 (labels used only to score rankings).

Protocol (leave-one-source-out): every clip is a query against all other clips; clips cut from the
same source recording as the query (`src_file`, which includes the query itself) are removed from its
ranking, so a near-duplicate take cannot count as a hit. A result is relevant when it has the query's
`category`. Each clip is embedded as one span covering the clip (`encode_clip`). Reported:
- mAP: mean over queries of average precision over the whole remaining ranking;
- P@k: mean share of the first k results that are relevant (k = 1, 5, 10).

The SSL encoder is trained on the audio of the same clips with no labels (the product's setting: learn
from the collection itself); `ablation` retrains it with each deformation switched off in turn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from soundseek.encoders.base import AudioEncoder, encode_clip
from soundseek.metrics import average_precision, mean_metric, precision_at_k

KS = (1, 5, 10)


@dataclass(frozen=True)
class ClipSet:
    """Labelled clips. `waveforms[i]` is 16 kHz mono float32; labels only ever reach the metrics."""

    names: list[str]
    waveforms: list[np.ndarray]
    labels: list[str]
    sources: list[str]
    folds: list[int]


def load_esc50(esc50_dir: Path, *, folds: Sequence[int] | None = None, per_class: int | None = None) -> ClipSet:
    """ESC-50 clips (optionally some folds, and the first `per_class` clips of each category)."""
    from soundseek.audio import load_audio
    from soundseek.joint.data import esc50_items

    items = esc50_items(esc50_dir, folds=folds)
    keep = list(range(len(items.paths)))
    if per_class is not None:
        seen: dict[str, int] = {}
        keep = [i for i in keep if _count(seen, items.texts[i]) <= per_class]
    folds_of = items.folds or [0] * len(items.paths)
    return ClipSet([items.paths[i].name for i in keep], [load_audio(items.paths[i], sr=16000) for i in keep],
                   [items.texts[i] for i in keep], [items.groups[i] for i in keep], [folds_of[i] for i in keep])


def _count(seen: dict[str, int], key: str) -> int:
    seen[key] = seen.get(key, 0) + 1
    return seen[key]


def embed_clips(encoder: AudioEncoder, waveforms: Sequence[np.ndarray]) -> np.ndarray:
    """One L2-normalized vector per clip. Returns: (n, encoder.dim) float32."""
    return np.stack([encode_clip(encoder, w) for w in waveforms]).astype(np.float32)


def leave_source_out_report(vectors: np.ndarray, labels: Sequence[str], sources: Sequence[str],
                            *, ks: Sequence[int] = KS) -> dict[str, float]:
    """mAP and P@k of every clip as a query, other-source clips as the database (see module doc)."""
    labels_a, sources_a = np.asarray(labels, dtype=object), np.asarray(sources, dtype=object)
    sims = vectors @ vectors.T
    aps: list[float] = []
    pks: dict[int, list[float]] = {k: [] for k in ks}
    for q in range(len(vectors)):
        keep = np.flatnonzero(sources_a != sources_a[q])
        order = keep[np.argsort(-sims[q, keep], kind="stable")]
        rel = labels_a[order] == labels_a[q]
        aps.append(average_precision(rel))
        for k in ks:
            pks[k].append(precision_at_k(rel, k))
    return {"mAP": mean_metric(aps), **{f"P@{k}": mean_metric(v) for k, v in pks.items()}}


def train_ssl(clips: ClipSet, model_dir: Path, *, steps: int, deformations: tuple[str, ...],
              seed: int = 0, progress: bool = True) -> Path:
    """Train the SSL encoder on the clips' audio only (no labels). Returns: the model directory."""
    from soundseek.ssl.train import LearnConfig, train
    config = LearnConfig(steps=steps, deformations=tuple(deformations), seed=seed)
    train(clips.waveforms, model_dir, config, resume=True, progress=progress)
    return model_dir


def ssl_encoder(model_dir: Path) -> AudioEncoder:
    from soundseek.encoders import build_audio_encoder
    return build_audio_encoder("ssl", {"model_dir": str(model_dir), "num_threads": 1})


def ablation(clips: ClipSet, work_dir: Path, *, steps: int, deformations: tuple[str, ...],
             seed: int = 0, progress: bool = True) -> dict[str, dict[str, float]]:
    """Scores of the SSL encoder trained with all deformations, then with each one switched off."""
    runs = {"all": tuple(deformations)}
    runs.update({f"without {d}": tuple(x for x in deformations if x != d) for d in deformations})
    out = {}
    for name, kept in runs.items():
        model_dir = Path(work_dir) / name.replace(" ", "_")
        train_ssl(clips, model_dir, steps=steps, deformations=kept, seed=seed, progress=progress)
        vectors = embed_clips(ssl_encoder(model_dir), clips.waveforms)
        out[name] = leave_source_out_report(vectors, clips.labels, clips.sources)
    return out


def baseline_reports(clips: ClipSet, encoders: dict[str, Callable[[], AudioEncoder]]) -> dict[str, dict[str, float]]:
    """Scores of baseline encoders built lazily by name -> factory."""
    return {name: leave_source_out_report(embed_clips(make(), clips.waveforms), clips.labels, clips.sources)
            for name, make in encoders.items()}


def markdown_table(reports: dict[str, dict[str, float]], *, title: str = "encoder") -> str:
    """A markdown table, one row per report, columns mAP and P@k."""
    cols = ["mAP"] + [f"P@{k}" for k in KS]
    lines = [f"| {title} | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    lines += [f"| {name} | " + " | ".join(f"{r[c]:.3f}" for c in cols) + " |" for name, r in reports.items()]
    return "\n".join(lines) + "\n"


def subset(clips: ClipSet, keep: np.ndarray) -> ClipSet:
    """The clips at positions `keep`."""
    pick = [int(i) for i in keep]
    return replace(clips, names=[clips.names[i] for i in pick], waveforms=[clips.waveforms[i] for i in pick],
                   labels=[clips.labels[i] for i in pick], sources=[clips.sources[i] for i in pick],
                   folds=[clips.folds[i] for i in pick])
