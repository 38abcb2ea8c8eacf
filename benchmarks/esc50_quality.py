"""Retrieval quality on the ESC-50 clips: zero-shot text -> audio and audio -> audio.

Usage:
    python benchmarks/esc50_quality.py --esc50 ../shared/data/esc50 --collection /tmp/esc_yam [--json OUT]

The collection must hold the ESC-50 audio folder indexed with `soundseek index` (one segment per
5 s clip). Text -> audio: each of the 50 category names (underscores as spaces) is a query over all
2,000 clips; relevant = same category; mAP over the full ranking and precision@8. Audio -> audio:
each clip queries all clips of *other* recordings (leave-one-source-out: clips sharing `src_file`
with the query are removed from the ranking); mAP and precision@8 over cosine similarity.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

import numpy as np

from soundseek.metrics import average_precision, precision_at_k
from soundseek.search import engine as search_mod
from soundseek.search.engine import SearchEngine
from soundseek.store import Collection


def load_meta(esc50: Path) -> dict[str, dict[str, str]]:
    with open(esc50 / "meta" / "esc50.csv", newline="") as handle:
        return {row["filename"]: row for row in csv.DictReader(handle)}


def clip_labels(engine: SearchEngine, meta: dict) -> tuple[np.ndarray, np.ndarray]:
    names = [os.path.basename(p) for p in engine.table.paths]
    cats = np.asarray([meta[n]["category"] for n in names], dtype=object)
    srcs = np.asarray([meta[n]["src_file"] for n in names], dtype=object)
    return cats, srcs


def text_to_audio(engine: SearchEngine, cats: np.ndarray) -> dict[str, float]:
    aps, p8 = [], []
    for cat in sorted(set(cats)):
        scores = engine.text_scores(cat.replace("_", " "))
        order = np.argsort(-scores, kind="stable")
        rel = cats[order] == cat
        aps.append(average_precision(rel))
        p8.append(precision_at_k(rel, 8))
    return {"mAP": float(np.mean(aps)), "P@8": float(np.mean(p8))}


def audio_to_audio(engine: SearchEngine, cats: np.ndarray, srcs: np.ndarray) -> dict[str, float]:
    vecs = engine.coll.iter_vectors(engine.space)[1]
    sims = vecs @ vecs.T
    aps, p8 = [], []
    for i in range(len(vecs)):
        keep = srcs != srcs[i]
        order = np.argsort(-sims[i][keep], kind="stable")
        rel = cats[keep][order] == cats[i]
        aps.append(average_precision(rel))
        p8.append(precision_at_k(rel, 8))
    return {"mAP": float(np.mean(aps)), "P@8": float(np.mean(p8))}


def ablations(engine: SearchEngine, cats: np.ndarray) -> dict[str, dict[str, float]]:
    """Text -> audio with parts of the fusion switched off (zero-shot only; + feedback)."""
    out = {}
    saved = search_mod.FEEDBACK_WEIGHT
    try:
        search_mod.FEEDBACK_WEIGHT = 0.0
        out["zero-shot class scores only"] = text_to_audio(engine, cats)
    finally:
        search_mod.FEEDBACK_WEIGHT = saved
    out["zero-shot + pseudo-relevance feedback (default)"] = text_to_audio(engine, cats)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--esc50", type=Path, default=Path("../shared/data/esc50"))
    parser.add_argument("--collection", type=Path, required=True)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    meta = load_meta(args.esc50)
    engine = SearchEngine(Collection.open(args.collection))
    cats, srcs = clip_labels(engine, meta)
    started = time.perf_counter()
    result = {"encoder": engine.space, "clips": len(cats),
              "text_to_audio": ablations(engine, cats) if engine.class_scores is not None else "n/a (no class scores)",
              "audio_to_audio_leave_one_source_out": audio_to_audio(engine, cats, srcs)}
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
