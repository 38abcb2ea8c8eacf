"""`soundseek evaluate` as a library call: cross-validation (or a saved model on held-out folds), as the
paper's Table 2 plus search metrics, and caption recall on Clotho."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from soundseek.joint.data import LabelledSet
from soundseek.joint.evaluate import COMBINATIONS, caption_recall
from soundseek.joint.saved import JointModel


@dataclass(frozen=True)
class EvaluationRequest:
    """What to evaluate: a saved model (`model_dir`) on `test_folds`, else cross-validation of a new one."""

    text_encoder: str = "minilm"
    class_map: str | None = None
    model_dir: Path | None = None
    test_folds: Sequence[int] | None = None
    clotho_dir: Path | None = None
    audio_encoder_config: dict[str, Any] = field(default_factory=dict)
    cache: Path | None = None
    knn_k: int = 25
    progress: bool = True


def run(request: EvaluationRequest, labelled: LabelledSet, configs: tuple) -> dict[str, Any]:
    """Evaluate as `request` asks. Returns: a JSON-ready dict."""
    from soundseek.joint.runs import cross_validate, prepare, score_split

    cfg, net_cfg = configs
    prep = prepare(labelled, text_encoder=request.text_encoder, class_map=request.class_map)
    clotho = clotho_features(request.clotho_dir, labelled.audio_encoder, request) if request.clotho_dir else None
    extra = (lambda fold, model: {"clotho": caption_recall_for(model, clotho)}) if clotho else None
    if request.model_dir is None:
        out = cross_validate(prep, cfg=cfg, net_cfg=net_cfg, folds=request.test_folds, progress=request.progress,
                             on_model=extra, k=request.knn_k)
        out.update(mode="cross-validation", k=request.knn_k)
        return out
    from soundseek.joint.saved import load_joint_model

    model = load_joint_model(request.model_dir)
    folds = list(request.test_folds or [int(np.max(labelled.folds))])
    test = np.flatnonzero(np.isin(labelled.folds, folds))
    train = np.flatnonzero(~np.isin(labelled.folds, folds))
    res = score_split(prep, model, train, test, k=request.knn_k)
    if clotho:
        res["clotho"] = caption_recall_for(model, clotho)
    res.update(mode="saved model", test_folds=folds)
    return {"folds": [res], "baseline": _plain(res["baseline"]), "joint": _plain(res["joint"]), "mode": "saved model",
            "k": request.knn_k, "search_text_audio": _plain(res["search"]["text->audio"]),
            "search_audio_text": _plain(res["search"]["audio->text"])}


def _plain(row: dict) -> dict:
    return {k: {"mean": v, "std": 0.0} for k, v in row.items()}


def clotho_features(root: Path, encoder: str, request: EvaluationRequest) -> dict[str, Any]:
    """Clip-level audio vectors and captions of the Clotho sample."""
    from soundseek.joint.data import clotho_items, extract_features

    paths, captions = clotho_items(root)
    vectors, _ = extract_features(paths, encoder, config=request.audio_encoder_config, mode="clip",
                                  cache=request.cache)
    return {"audio": vectors, "captions": [c for caps in captions for c in caps],
            "owner": [i for i, caps in enumerate(captions) for _ in caps]}


def caption_recall_for(model: JointModel, clotho: dict[str, Any]) -> dict[str, dict[str, float]]:
    return caption_recall(model.embed_audio(clotho["audio"]), model.embed_text(clotho["captions"]), clotho["owner"])


def format_table2(results: dict[str, Any], *, title: str = "") -> str:
    """The paper's Table 2 layout: rows = combinations, columns = baseline / joint MAP@3 (mean +- std)."""
    lines = [title] if title else []
    lines += ["| combination | baseline MAP@3 | joint MAP@3 |", "|---|---|---|"]
    for combo in COMBINATIONS:
        lines.append(f"| {combo} | {_cell(results['baseline'][combo])} | {_cell(results['joint'][combo])} |")
    return "\n".join(lines)


def _cell(stat: dict[str, float | None]) -> str:
    if stat["mean"] is None:
        return "n/a (no shared space)"
    return f"{stat['mean']:.3f} ± {stat['std']:.3f}" if stat.get("std") else f"{stat['mean']:.3f}"


def format_results(results: dict[str, Any]) -> str:
    out = [format_table2(results, title=f"kNN (k={results.get('k', 25)}) MAP@3, {results['mode']}, "
                                       f"{len(results['folds'])} fold(s)")]
    for key, name in (("search_text_audio", "text->audio search (labels over held-out clips)"),
                      ("search_audio_text", "audio->text (held-out clips ranking the vocabulary)")):
        if key in results:
            out.append(f"\n{name}\n" + "  ".join(f"{k} {v['mean']:.3f}" for k, v in results[key].items()))
    clotho = [f["clotho"] for f in results["folds"] if "clotho" in f]
    if clotho:
        for way in ("text->audio", "audio->text"):
            vals = {k: float(np.mean([c[way][k] for c in clotho])) for k in clotho[0][way]}
            out.append(f"\nClotho captions {way}: " + "  ".join(f"{k} {v:.3f}" for k, v in vals.items()))
    return "\n".join(out)
