"""`soundseek experiments`: every experiment of the two seed papers, re-run on ESC-50.

Elizalde et al. (2019): Table 1 (loss x similarity), Table 2 (baselines vs joint, YAMNet and MFCC,
cross-validated), Fig. 4 (Gaussian noise on the text features), qualitative neighbours (in- and
out-of-vocabulary text and audio queries). CS224N: joint dimension sweep with R@1/5/10, uniformity of
text and audio embeddings, and the uniformity-penalty variant. Seeds are fixed; everything is
returned as one JSON-ready dict that `report.write_report` lays out.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundseek.joint import data as jdata
from soundseek.joint.evaluate import (
    caption_recall,
    label_search_metrics,
    linear_probe_map3,
)
from soundseek.joint.model import NetworkConfig
from soundseek.joint.qualitative import qualitative
from soundseek.joint.runs import (
    Prepared,
    cross_validate,
    prepare,
    score_split,
    train_model,
)
from soundseek.joint.train import TrainConfig
from soundseek.joint import published
from soundseek.joint.faithful import (
    KINDS,
    LOSSES,
    FaithfulConfig,
    init_distances,
    make_data,
    train_faithful,
)
from soundseek.joint.uniformity import (
    cs224n_mixture_reference,
    cs224n_summary,
    cs224n_uniform_reference,
    mixture_reference,
    uniform_reference,
    uniformity_summary,
)

#: Table 1 grid: the paper's contrastive loss with each similarity, its BCE, and the two later losses.
TABLE1 = (("contrastive", "l1"), ("contrastive", "l2"), ("contrastive", "exp_l1"), ("contrastive", "exp_l2"),
          ("bce", "l2"), ("nt_xent", "l2"), ("triplet", "l2"))
DIMS = (128, 256, 512, 1024, 2048)
NOISE_LEVELS = (1.0, 2.0)
#: Table 1 in the paper's setting: one change at a time on the two disputed cells.
FAITHFUL_CELLS = (("bce", "exp_l2"), ("contrastive", "l2"))
FAITHFUL_ABLATIONS = (("ReLU on the output layer", {"output_relu": True}),
                      ("L2-normalized outputs (ours)", {"normalize_output": True}),
                      ("2,000 pairs", {"pairs": 2000}))
#: Point counts for the CS224N h of the uniform reference (h of softmax(counts) depends on n).
H_SIZES = (50, 100, 200, 400, 957)


@dataclass
class ExperimentSettings:
    """What to run on. `quick` = 2 folds, 4 clips per class and fold, 2 epochs (a smoke test)."""

    esc50: Path
    clotho: Path | None = None
    yamnet_dir: Path | None = None
    cache: Path | None = None
    folds: list[int] | None = None
    quick: bool = False
    progress: bool = True
    seed: int = 0


def default_train_config(settings: ExperimentSettings) -> TrainConfig:
    """Our default recipe (NT-Xent); quick runs train for 2 epochs."""
    return TrainConfig(loss="nt_xent", epochs=2 if settings.quick else 40, patience=8, seed=settings.seed)


def default_net_config() -> NetworkConfig:
    return NetworkConfig()


def run_all(settings: ExperimentSettings) -> dict[str, Any]:
    """Run every experiment. Returns: a JSON-ready dict (see the module docstring)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    say = print if settings.progress else (lambda *a, **k: None)
    preps = load_preps(settings)
    yam = preps["yamnet"]
    cfg, net = default_train_config(settings), default_net_config()
    folds = settings.folds or sorted({int(f) for f in yam.data.folds})
    first = folds[0]
    clotho = clotho_set(settings)
    models: dict[int, Any] = {}
    out: dict[str, Any] = {"settings": _settings_dict(settings, cfg, net), "published": published_numbers()}

    def keep(fold: int, model: Any) -> dict:
        models[fold] = model
        return {"clotho": clotho_recall(model, clotho)} if clotho else {}

    say("Table 2: YAMNet, cross-validated")
    out["table2"] = {"yamnet": cross_validate(yam, cfg=cfg, net_cfg=net, folds=folds, on_model=keep)}
    out["table2"]["yamnet"]["linear_probe_map3"] = linear_probe(yam, folds)
    say("Table 2: MFCC, cross-validated")
    out["table2"]["mfcc"] = cross_validate(preps["mfcc"], cfg=cfg, net_cfg=net, folds=folds)
    split = _split(yam, first)
    say("Table 1: loss x similarity")
    out["table1"] = table1(yam, split, cfg, net, reuse=(out["table2"]["yamnet"]["folds"][0], models[first]))
    say("Table 1 in the paper's setting")
    out["table1_faithful"] = faithful_experiment(yam, split, settings)
    say("Fig. 4: noise on text features")
    out["fig4"] = noise_experiment(yam, split, cfg, net, out["table2"]["yamnet"]["folds"][0])
    say("Qualitative")
    out["qualitative"] = qualitative(models[first], yam, split[0], settings)
    say("CS224N: dimension sweep and uniformity")
    out["dims"] = dim_sweep(yam, split, cfg, net, clotho, reuse=models[first])
    out["uniformity"] = uniformity_experiment(yam, split, cfg, net, clotho, base=models[first])
    out["runtime_seconds"] = time.perf_counter() - start
    out["cpu_seconds"] = time.process_time() - cpu_start
    out["machine"] = {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())}
    return out


def published_numbers() -> dict[str, Any]:
    """Every published cell (`published`), JSON-ready, stored with the results."""
    return {"elizalde_setting": published.ELIZALDE_SETTING, "cs224n_setting": published.CS224N_SETTING,
            "elizalde_table1": published.ELIZALDE_TABLE1, "elizalde_table2": published.ELIZALDE_TABLE2,
            "elizalde_fig4": published.ELIZALDE_FIG4, "elizalde_qualitative": published.ELIZALDE_QUALITATIVE,
            "cs224n_table1": published.CS224N_TABLE1, "cs224n_table2": published.CS224N_TABLE2,
            "cs224n_table3": published.CS224N_TABLE3, "cs224n_table4": published.CS224N_TABLE4,
            "differences": published.DIFFERENCES}


def load_preps(settings: ExperimentSettings) -> dict[str, Prepared]:
    """ESC-50 with YAMNet and MFCC features (cached) and MiniLM text features."""
    from soundseek.encoders import build_text_encoder

    items = jdata.esc50_items(settings.esc50, folds=settings.folds or ([1, 2] if settings.quick else None),
                              per_class=4 if settings.quick else None)
    yam_cfg = {"model_dir": str(settings.yamnet_dir)} if settings.yamnet_dir else {}
    class_map = str(Path(settings.yamnet_dir) / "yamnet_class_map.csv") if settings.yamnet_dir else None
    text = build_text_encoder("minilm")
    out = {}
    for name, config in (("yamnet", yam_cfg), ("mfcc", {})):
        labelled = jdata.labelled_set(items, name, config=config, cache=settings.cache, progress=settings.progress)
        out[name] = prepare(labelled, class_map=class_map, encoder=text)
    return out


def clotho_set(settings: ExperimentSettings) -> dict[str, Any] | None:
    if settings.clotho is None:
        return None
    paths, captions = jdata.clotho_items(settings.clotho)
    config = {"model_dir": str(settings.yamnet_dir)} if settings.yamnet_dir else {}
    vectors, _ = jdata.extract_features(paths, "yamnet", config=config, mode="clip", cache=settings.cache)
    return {"audio": vectors, "captions": [c for caps in captions for c in caps],
            "owner": [i for i, caps in enumerate(captions) for _ in caps]}


def clotho_recall(model: Any, clotho: dict[str, Any] | None) -> dict[str, dict[str, float]] | None:
    if clotho is None:
        return None
    return caption_recall(model.embed_audio(clotho["audio"]), model.embed_text(clotho["captions"]), clotho["owner"])


def _split(prep: Prepared, fold: int) -> tuple[np.ndarray, np.ndarray]:
    return np.flatnonzero(prep.data.folds != fold), np.flatnonzero(prep.data.folds == fold)


def _settings_dict(settings: ExperimentSettings, cfg: TrainConfig, net: NetworkConfig) -> dict[str, Any]:
    raw = dataclasses.asdict(settings)
    return {**{k: (str(v) if isinstance(v, Path) else v) for k, v in raw.items()},
            "train": cfg.to_dict(), "network": net.to_dict()}


def _one(prep: Prepared, split: tuple[np.ndarray, np.ndarray], cfg: TrainConfig, net: NetworkConfig,
         *, text_noise: float = 0.0) -> tuple[dict[str, Any], Any]:
    t0 = time.perf_counter()
    model, trained = train_model(prep, split[0], cfg=cfg, net_cfg=net)
    res = score_split(prep, model, split[0], split[1], text_noise=text_noise, seed=cfg.seed)
    res.update(best_epoch=trained.best_epoch, epochs_run=len(trained.history), seconds=time.perf_counter() - t0)
    return res, model


def linear_probe(prep: Prepared, folds: list[int]) -> dict[str, float]:
    """Mean and std over folds of a logistic regression's MAP@3 on the raw audio vectors."""
    scores = []
    for fold in folds:
        train, test = _split(prep, fold)
        scores.append(linear_probe_map3(prep.data.audio[train], prep.names[train], prep.data.audio[test], prep.names[test]))
    return {"mean": float(np.mean(scores)), "std": float(np.std(scores))}


def table1(prep: Prepared, split: tuple, cfg: TrainConfig, net: NetworkConfig, *, reuse: tuple) -> list[dict[str, Any]]:
    """Joint MAP@3 of each (loss, similarity) on one held-out fold."""
    rows = []
    for loss, sim in TABLE1:
        if (loss, sim) == (cfg.loss, cfg.similarity):
            res = reuse[0]
        else:
            res, _ = _one(prep, split, dataclasses.replace(cfg, loss=loss, similarity=sim), net)
        rows.append({"loss": loss, "similarity": sim, "dropout": net.dropout,
                     **{k: res[k] for k in ("joint", "best_epoch", "epochs_run", "seconds")}})
    res, _ = _one(prep, split, cfg, dataclasses.replace(net, dropout=0.5))
    rows.append({"loss": cfg.loss, "similarity": cfg.similarity, "dropout": 0.5,
                 **{k: res[k] for k in ("joint", "best_epoch", "epochs_run", "seconds")}})
    return rows


def noise_experiment(prep: Prepared, split: tuple, cfg: TrainConfig, net: NetworkConfig, clean: dict) -> list[dict[str, Any]]:
    """Fig. 4: train and evaluate with Gaussian noise of 1 and 2 stds on the text features."""
    rows = [{"noise": 0.0, "baseline": clean["baseline"], "joint": clean["joint"]}]
    for level in NOISE_LEVELS:
        res, _ = _one(prep, split, dataclasses.replace(cfg, text_noise=level), net, text_noise=level)
        rows.append({"noise": level, "baseline": res["baseline"], "joint": res["joint"], "seconds": res["seconds"]})
    return rows


def _recall_row(model: Any, prep: Prepared, split: tuple, clotho: dict | None) -> dict[str, Any]:
    test = split[1]
    search = label_search_metrics(model.embed_audio(prep.data.audio[test]), prep.names[test], model.label_vectors, model.labels)
    row = {"esc50_text->audio": {f"R@{k}": search["text->audio"][f"hit@{k}"] for k in (1, 5, 10)},
           "esc50_audio->text": {f"R@{k}": search["audio->text"][f"hit@{k}"] for k in (1, 5, 10)},
           "esc50_mAP": search["text->audio"]["mAP"]}
    if clotho:
        row["clotho"] = clotho_recall(model, clotho)
    return row


def dim_sweep(prep: Prepared, split: tuple, cfg: TrainConfig, net: NetworkConfig, clotho: dict | None, *,
              reuse: Any) -> list[dict[str, Any]]:
    """R@1/5/10 both ways (ESC-50 labels vs held-out clips; Clotho captions) per joint dimension."""
    rows = []
    for dim in DIMS:
        t0 = time.perf_counter()
        if dim == net.dim:
            model = reuse
        else:
            model, _ = train_model(prep, split[0], cfg=cfg, net_cfg=dataclasses.replace(net, dim=dim))
        rows.append({"dim": dim, **_recall_row(model, prep, split, clotho), "seconds": time.perf_counter() - t0})
    return rows


def uniformity_experiment(prep: Prepared, split: tuple, cfg: TrainConfig, net: NetworkConfig, clotho: dict | None, *,
                          base: Any, weight: float = 0.5) -> dict[str, Any]:
    """sigma / h / U of text and audio embeddings, plain and with the uniformity penalty, and references."""
    test = split[1]
    penalized, _ = train_model(prep, split[0], cfg=dataclasses.replace(cfg, uniformity=weight), net_cfg=net)
    out: dict[str, Any] = {"weight": weight}
    for name, model in (("plain", base), ("penalty", penalized)):
        audio = model.embed_audio(prep.data.audio[test])
        out[name] = {"audio": uniformity_summary(audio), "text": uniformity_summary(model.label_vectors),
                     **_recall_row(model, prep, split, clotho)}
    n, dim = len(test), base.dim
    n_classes = len(set(prep.names[test]))
    out["reference"] = {"uniform": uniformity_summary(uniform_reference(n, dim, seed=cfg.seed)),
                        "gaussian_mixture": uniformity_summary(mixture_reference(n, dim, components=n_classes, seed=cfg.seed))}
    out["cs224n"] = cs224n_uniformity({f"{mod}, {name}": (model.embed_audio(prep.data.audio[test]) if mod == "audio"
                                                         else model.label_vectors)
                                       for name, model in (("no penalty", base), (f"penalty {weight:g}", penalized))
                                       for mod in ("text", "audio")}, seed=cfg.seed)
    return out



def faithful_experiment(prep: Prepared, split: tuple, settings: ExperimentSettings) -> dict[str, Any]:
    """Elizalde et al.'s Table 1 grid in their setting (`faithful`), then one change at a time on the
    two disputed cells. Quick runs: 3 epochs, 100 pairs."""
    names = [""] * (int(prep.labels.max()) + 1)
    for text, label in zip(prep.data.texts, prep.labels):
        names[int(label)] = text
    data = make_data(prep.data.audio, prep.text, prep.labels, names, split[0], split[1], extra_text=prep.extra)
    base = FaithfulConfig(seed=settings.seed, **({"epochs": 3, "pairs": 100, "eval_every": 1} if settings.quick else {}))
    grid = [train_faithful(data, dataclasses.replace(base, loss=loss, kind=kind)) for loss in LOSSES for kind in KINDS]
    ablations = []
    for name, change in FAITHFUL_ABLATIONS:
        if settings.quick and "pairs" in change:
            change = {"pairs": 200}
        for loss, kind in FAITHFUL_CELLS:
            ablations.append({"change": name, **train_faithful(data, dataclasses.replace(base, loss=loss, kind=kind, **change))})
    return {"grid": grid, "ablations": ablations, "init_distances": init_distances(data, base),
            "n_classes": len(data.names)}


def cs224n_uniformity(sets: dict[str, np.ndarray], *, seed: int) -> dict[str, Any]:
    """The CS224N report's sigma / h (exact definitions) for each named set, the report's uniform and
    10-Gaussian references with as many points and dimensions as each set, and the uniform
    reference's h at several point counts (h of softmax(counts) depends on n)."""
    out: dict[str, Any] = {}
    for name, x in sets.items():
        n, dim = x.shape
        out[name] = {"n": n, **cs224n_summary(x, seed=seed),
                     "uniform": cs224n_summary(cs224n_uniform_reference(n, dim, seed=seed), seed=seed),
                     "gaussians": cs224n_summary(cs224n_mixture_reference(n, dim, seed=seed), seed=seed)}
    dim = next(iter(sets.values())).shape[1]
    out["uniform_h_by_n"] = {str(n): cs224n_summary(cs224n_uniform_reference(n, dim, seed=seed), seed=seed)["h"]
                             for n in H_SIZES}
    return out
