"""Joint-space subcommands: train, evaluate, experiments."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from soundseek.commands.core import parse_settings
from soundseek.errors import QueryError


HELP_FORMAT = argparse.RawDescriptionHelpFormatter
TRAIN_DESCRIPTION = """\
Train a joint audio-text space (Elizalde et al., ICASSP 2019) on labelled sounds, so that words and
sounds can be compared directly: attach the model to a collection with `soundseek index --model DIR`.

Labelled sounds come from one of:
  --esc50 DIR        the ESC-50 folder (meta/esc50.csv + audio/); text = the category
  --csv FILE         a CSV, one row per sound. Columns:
                       path (or audio, file, filename, file_name)   audio file, relative to the CSV
                       label (or caption, text, category)          its words; '_' reads as a space
                       group  (optional)  the recording it comes from: sounds of one group are never
                                          split between training and validation
                       fold   (optional)  integer fold for --folds / cross-validation
                     e.g.  path,label,group
                           dogs/bark1.wav,dog barking,walk-2024-05
  --collection DIR   a collection: each sound's own words (file and folder names, sidecars) label it

Aim for at least 5 sounds of every label (20+ is better); with fewer the model memorises them and
`train` says so."""
EVALUATE_DESCRIPTION = "Cross-validated kNN MAP@3 (the paper's Table 2) and search metrics; same data options as train."
EXAMPLES = """\
examples:
  soundseek train --esc50 ../shared/data/esc50 --audio-encoder-config model_dir=../shared/models --out my-model
  soundseek train --csv labels.csv --epochs 60 --out my-model
  soundseek train --collection ~/coll --out my-model"""


#: The subcommands of this module; their training options need torch (imported only when one of them runs).
COMMANDS = ("train", "evaluate", "experiments")


def register(sub: argparse._SubParsersAction, *, training_options: bool = True) -> None:
    """Add train, evaluate and experiments; without `training_options` (another command runs), the
    options that need torch to list their defaults are left out, so other commands start faster."""
    p = sub.add_parser("train", help="train a joint audio-text space on labelled sounds",
                       description=TRAIN_DESCRIPTION, epilog=EXAMPLES, formatter_class=HELP_FORMAT)
    _data_args(p)
    if training_options:
        _train_args(p)
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="kNN MAP@3 (the paper's Table 2) and search metrics, by cross-validation",
                       description=EVALUATE_DESCRIPTION + "\n\n" + TRAIN_DESCRIPTION.split("\n\n", 1)[1],
                       formatter_class=HELP_FORMAT)
    _data_args(p)
    if training_options:
        _train_args(p)
    p.add_argument("--model", type=Path, help="score this trained model on --test-folds instead of cross-validating")
    p.add_argument("--test-folds", default=None, help="folds to hold out, e.g. 1,2 (default: each fold in turn)")
    p.add_argument("--clotho", type=Path, help="Clotho folder (captions.csv + audio/) for caption R@1/5/10")
    p.add_argument("--knn-k", type=int, default=25, help="neighbours voting in the kNN classifier (paper: 25)")
    p.add_argument("--json-out", type=Path, help="write all results as JSON here")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("experiments", help="re-run the published experiments on ESC-50 and write a report")
    p.add_argument("--esc50", type=Path, required=True, help="ESC-50 folder (meta/esc50.csv + audio/)")
    p.add_argument("--clotho", type=Path, help="Clotho folder for caption retrieval")
    p.add_argument("--yamnet-dir", type=Path, help="folder with yamnet.tflite + class map (default: installed)")
    p.add_argument("--out", type=Path, default=Path("reports/joint"), help="report folder")
    p.add_argument("--cache", type=Path, help="feature cache folder (default: $SOUNDSEEK_CACHE or user cache)")
    p.add_argument("--folds", default=None, help="folds to cross-validate over (default: all)")
    p.add_argument("--quick", action="store_true", help="a small smoke run (few clips, few epochs)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_experiments)


def _data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training data (one of)")
    g.add_argument("--esc50", type=Path, help="ESC-50 folder: text = category")
    g.add_argument("--csv", type=Path, help="CSV of audio path + label or caption, optional group and fold "
                                            "columns (see above)")
    g.add_argument("--collection", type=Path,
                   help="a collection: its sounds' own words are the labels, its stored vectors the audio")
    p.add_argument("--folds", default=None, help="only these folds of the data, e.g. 2,3,4,5 (default: all)")
    p.add_argument("--audio-encoder", default="yamnet", choices=["yamnet", "mfcc"],
                   help="audio features to learn from (default: yamnet)")
    p.add_argument("--audio-encoder-config", action="append", default=[], metavar="KEY=VALUE",
                   help="audio encoder setting, repeatable, e.g. model_dir=../shared/models (default: none)")
    p.add_argument("--text-encoder", default="minilm", choices=["minilm", "glove"],
                   help="text features of the labels (default: minilm)")
    p.add_argument("--class-map", type=Path, help="AudioSet class map CSV (extra phrases for the text PCA; "
                                                  "default: the one beside model_dir's YAMNet)")
    p.add_argument("--cache", type=Path, help="feature cache folder (default: $SOUNDSEEK_CACHE or user cache)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _train_args(p: argparse.ArgumentParser) -> None:
    from soundseek.joint.losses import LOSSES, SIMILARITIES
    from soundseek.joint.model import NetworkConfig
    from soundseek.joint.train import TrainConfig

    t, n = TrainConfig(), NetworkConfig()
    g = p.add_argument_group("training")
    g.add_argument("--loss", default=t.loss, choices=LOSSES, help=f"training loss (default: {t.loss})")
    g.add_argument("--similarity", default=t.similarity, choices=SIMILARITIES,
                   help=f"distance of the contrastive loss (default: {t.similarity})")
    g.add_argument("--margin", type=float, default=t.margin,
                   help="contrastive/triplet margin (default: the loss's own, 0.2 for triplet)")
    g.add_argument("--temperature", type=float, default=t.temperature, help=f"nt_xent temperature (default: {t.temperature})")
    g.add_argument("--epochs", type=int, default=t.epochs, help=f"most passes over the data (default: {t.epochs})")
    g.add_argument("--batch-size", type=int, default=t.batch_size, help=f"pairs per step (default: {t.batch_size})")
    g.add_argument("--lr", type=float, default=t.lr, help=f"Adam learning rate (default: {t.lr:g})")
    g.add_argument("--negatives", type=int, default=t.negatives,
                   help=f"negative pairs per positive pair, bce/contrastive (default: {t.negatives})")
    g.add_argument("--patience", type=int, default=t.patience,
                   help=f"stop after this many epochs without a better validation score (default: {t.patience})")
    g.add_argument("--val-fraction", type=float, default=t.val_fraction,
                   help=f"share of groups held out for early stopping (default: {t.val_fraction})")
    g.add_argument("--text-noise", type=float, default=t.text_noise,
                   help=f"Gaussian noise on text features, in stds (default: {t.text_noise})")
    g.add_argument("--uniformity", type=float, default=t.uniformity,
                   help=f"weight of the uniformity penalty, 0 = off (default: {t.uniformity})")
    g.add_argument("--seed", type=int, default=t.seed, help=f"random seed (default: {t.seed})")
    g.add_argument("--threads", type=int, default=t.threads, help=f"torch CPU threads (default: {t.threads})")
    g.add_argument("--dim", type=int, default=n.dim, help=f"joint space dimension D (default: {n.dim})")
    g.add_argument("--dropout", type=float, default=n.dropout, help=f"dropout in the towers (default: {n.dropout})")
    g.add_argument("--separate-towers", action="store_true", help="one tower per modality (default: shared twin)")


def _configs(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from soundseek.joint.model import NetworkConfig
    from soundseek.joint.train import TrainConfig

    cfg = TrainConfig(loss=args.loss, similarity=args.similarity, margin=args.margin, temperature=args.temperature,
                      epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, negatives=args.negatives,
                      patience=args.patience, val_fraction=args.val_fraction, text_noise=args.text_noise,
                      uniformity=args.uniformity, seed=args.seed, threads=args.threads)
    cfg.check()
    return cfg, NetworkConfig(dim=args.dim, dropout=args.dropout, shared=not args.separate_towers)


def _folds(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise QueryError(f"folds must be comma-separated integers, got {text!r}") from exc


def load_data(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The LabelledSet named by --esc50 / --csv / --collection (features cached)."""
    from soundseek.joint import data

    sources = [s for s in (args.esc50, args.csv, args.collection) if s is not None]
    if len(sources) != 1:
        raise QueryError("give exactly one of --esc50, --csv, --collection")
    if args.collection is not None:
        from soundseek.store import Collection
        return _with_folds(data.collection_set(Collection.open(args.collection)))
    folds = _folds(args.folds)
    items = data.esc50_items(args.esc50) if args.esc50 else data.csv_items(args.csv)
    config = parse_settings(args.audio_encoder_config)
    # features of the whole data set (one cache entry), then the folds asked for
    labelled = data.labelled_set(items, args.audio_encoder, config=config, cache=args.cache, progress=not args.quiet)
    if folds is not None and labelled.folds is not None:
        labelled = labelled.subset([i for i, f in enumerate(labelled.folds) if f in set(folds)])
    return labelled if labelled.folds is not None else _with_folds(labelled)


def _with_folds(labelled):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from soundseek.joint.data import group_folds
    return replace(labelled, folds=group_folds(labelled.groups, 5))


def cmd_train(args: argparse.Namespace) -> int:
    import numpy as np

    from soundseek.joint.runs import prepare, train_model
    from soundseek.joint.saved import save_joint_model

    cfg, net_cfg = _configs(args)
    labelled = load_data(args)
    warning = small_data_warning(labelled.texts)
    if warning:
        print(f"soundseek: warning: {warning}", file=sys.stderr)
    prep = prepare(labelled, text_encoder=args.text_encoder, class_map=class_map(args))
    model, trained = train_model(prep, np.arange(len(labelled)), cfg=cfg, net_cfg=net_cfg, progress=not args.quiet)
    model.config["data"] = {"source": str(args.esc50 or args.csv or args.collection), "items": len(labelled),
                            "labels": len(model.labels), "folds": _folds(args.folds)}
    model.config["audio_encoder_config"] = _neutral_config(args)
    save_joint_model(model, args.out)
    print(f"model: {args.out}  ({len(labelled)} items, {len(model.labels)} labels, best epoch {trained.best_epoch}, "
          f"validation MAP@3 {trained.best_val:.3f}, {trained.seconds:.0f} s)")
    return 0


#: Fewer sounds than this for a typical label and the model can only memorise them.
MIN_PER_LABEL = 5
#: ... and for a set of captions (one text per sound), fewer sounds than this.
MIN_CAPTIONED = 200


def small_data_warning(texts: list[str]) -> str | None:
    """A warning when the training set is too small to learn from (median sounds per label below
    MIN_PER_LABEL), else None."""
    from collections import Counter

    counts = sorted(Counter(texts).values())
    if not counts:
        return None
    if len(counts) > 0.8 * len(texts):  # captions: one text per sound, judge the size of the set
        if len(texts) >= MIN_CAPTIONED:
            return None
        return (f"a tiny training set: {len(texts)} captioned sounds (at least {MIN_CAPTIONED} are needed to "
                "learn anything general); add sounds")
    median = counts[len(counts) // 2]
    if median >= MIN_PER_LABEL:
        return None
    return (f"a tiny training set: {len(texts)} sounds for {len(counts)} labels (median {median} per label, "
            f"fewest {counts[0]}); with fewer than {MIN_PER_LABEL} sounds per label the model memorises them "
            "rather than learning what a label sounds like; add sounds, or use a caption per sound")


def class_map(args: argparse.Namespace) -> str | None:
    """--class-map, else the class map beside a YAMNet given by --audio-encoder-config model_dir=..."""

    if args.class_map:
        return str(args.class_map)
    model_dir = parse_settings(args.audio_encoder_config).get("model_dir")
    return str(Path(model_dir) / "yamnet_class_map.csv") if model_dir else None


def _neutral_config(args: argparse.Namespace) -> dict:
    return {k: v for k, v in parse_settings(args.audio_encoder_config).items() if k not in ("model_dir", "num_threads")}


def cmd_evaluate(args: argparse.Namespace) -> int:
    from soundseek.joint.evaluate_run import EvaluationRequest, format_results, run

    request = EvaluationRequest(
        text_encoder=args.text_encoder, class_map=class_map(args), model_dir=args.model,
        test_folds=_folds(args.test_folds), clotho_dir=args.clotho,
        audio_encoder_config=parse_settings(args.audio_encoder_config), cache=args.cache, knn_k=args.knn_k,
        progress=not args.quiet)
    results = run(request, load_data(args), _configs(args))
    print(format_results(results))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json_out}", file=sys.stderr)
    return 0


def cmd_experiments(args: argparse.Namespace) -> int:
    from soundseek.joint.experiments import ExperimentSettings, run_all
    from soundseek.joint.report import published_summary, write_report

    settings = ExperimentSettings(esc50=args.esc50, clotho=args.clotho, yamnet_dir=args.yamnet_dir, cache=args.cache,
                                  folds=_folds(args.folds), quick=args.quick, progress=not args.quiet)
    results = run_all(settings)
    path = write_report(results, args.out)
    print(published_summary(results))
    print(f"report: {path}  ({results['runtime_seconds']:.0f} s)")
    return 0
