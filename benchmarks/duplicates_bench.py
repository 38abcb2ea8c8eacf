"""Duplicate detection, precision and recall on ESC-50 and sfx-dev side by side.

Usage:
    python benchmarks/duplicates_bench.py --shared ../shared --encoder yamnet [--per-set 50] [--json OUT]

For each data set, `--per-set` originals are drawn (seeded; ESC-50: one clip per class from folds 2-5 for
the test set, from fold 1 for the dev set; sfx-dev: files of distinct first tokens) and each gets 7 copies:
WAV re-encoding of the same samples (exact), MP3 at high and low quality, Ogg Vorbis at low quality,
trimmed (0.5 s off the start, 0.3 s off the end), 10 dB quieter, and resampled to 8 kHz (stored at 8 kHz).
Distractors: as many other clips of the same classes (ESC-50: same category, another source recording, any fold;
sfx-dev: same first token), which are NOT duplicates. Everything is indexed into a fresh collection.

Pairwise metrics: a pair of files is a true duplicate when both come from one original. Predicted pairs
are the pairs inside each group of `find_duplicates`. Precision = correct predicted pairs / predicted
pairs; recall = correct predicted pairs / true pairs; also recall per kind of copy (pairs original-copy).
The dev set (ESC-50 fold 1) reports a sweep of the verification threshold: the chosen constants are
taken from it, not from the test sets.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from soundseek.indexer import index_paths, open_for_indexing
from soundseek.ingest import duplicates as dup

VARIANTS = ("wav_copy", "mp3_hq", "mp3_lq", "ogg_lq", "trimmed", "quieter", "resampled_8k")


def write_variants(x: np.ndarray, out: Path, stem: str) -> dict[str, Path]:
    """The original (FLAC, 16-bit) and its copies. Returns variant name -> path."""
    q = np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)
    paths = {"original": out / f"{stem}.flac"}
    sf.write(paths["original"], q, 16000)
    specs = {
        "wav_copy": (lambda p: sf.write(p, q, 16000), ".wav"),
        "mp3_hq": (lambda p: sf.write(p, x, 16000, format="MP3", compression_level=0.1), ".mp3"),
        "mp3_lq": (lambda p: sf.write(p, x, 16000, format="MP3", compression_level=0.95), ".mp3"),
        "ogg_lq": (lambda p: sf.write(p, x, 16000, format="OGG", subtype="VORBIS", compression_level=0.9), ".ogg"),
        "trimmed": (lambda p: sf.write(p, x[8000:-4800], 16000), ".wav"),
        "quieter": (lambda p: sf.write(p, x * 10 ** (-10 / 20), 16000), ".wav"),
        "resampled_8k": (lambda p: sf.write(p, soxr.resample(x, 16000, 8000), 8000), ".wav"),
    }
    for name, (write, ext) in specs.items():
        paths[name] = out / f"{stem}__{name}{ext}"
        write(paths[name])
    return paths


def esc50_items(root: Path, folds: set[int], n: int, rng: np.random.Generator) -> tuple[list[Path], list[Path]]:
    rows = list(csv.DictReader(open(root / "meta" / "esc50.csv")))
    by_cat: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_cat[r["category"]].append(r)
    originals, distractors = [], []
    for cat in sorted(by_cat)[:n]:
        items = [r for r in by_cat[cat] if int(r["fold"]) in folds]
        pick = items[int(rng.integers(len(items)))]
        others = [r for r in by_cat[cat] if r["src_file"] != pick["src_file"]]  # any fold: another recording
        originals.append(root / "audio" / pick["filename"])
        distractors.append(root / "audio" / others[int(rng.integers(len(others)))]["filename"])
    return originals, distractors


def sfx_items(root: Path, n: int, rng: np.random.Generator) -> tuple[list[Path], list[Path]]:
    rows = list(csv.DictReader(open(root / "library.csv")))
    by_word: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        by_word[r["tokens"].split()[0] if r["tokens"] else ""].append(r["file"])
    words = [w for w in sorted(by_word) if w and len(by_word[w]) >= 2]
    rng.shuffle(words)
    originals, distractors = [], []
    for w in words[:n]:
        a, b = rng.choice(len(by_word[w]), size=2, replace=False)
        originals.append(root / "audio" / by_word[w][a])
        distractors.append(root / "audio" / by_word[w][b])
    return originals, distractors


def build(originals: list[Path], distractors: list[Path], lib: Path) -> tuple[dict[str, int], dict[str, str]]:
    """Write the library. Returns path -> original number (-1 for distractors), path -> variant name."""
    lib.mkdir(parents=True)
    group, kind = {}, {}
    for i, src in enumerate(originals):
        x, sr = sf.read(src, dtype="float32")
        x = soxr.resample(x, sr, 16000) if sr != 16000 else x
        for name, path in write_variants(x, lib, f"o{i:03d}").items():
            group[str(path)], kind[str(path)] = i, name
    for j, src in enumerate(distractors):
        x, sr = sf.read(src, dtype="float32")
        path = lib / f"d{j:03d}.flac"
        sf.write(path, np.round(np.clip(x, -1, 1) * 32767).astype(np.int16), sr)
        group[str(path)], kind[str(path)] = -1 - j, "distractor"
    return group, kind


def score(groups: list[list[str]], group: dict[str, int], kind: dict[str, str]) -> dict[str, object]:
    predicted = {tuple(sorted(p)) for g in groups for p in combinations(g, 2)}
    true = {tuple(sorted(p)) for p in combinations(group, 2) if group[p[0]] == group[p[1]]}
    correct = predicted & true
    per_kind = {}
    for v in VARIANTS:
        pairs = {tuple(sorted((a, b))) for a in group for b in group
                 if kind[a] == "original" and kind[b] == v and group[a] == group[b]}
        per_kind[v] = round(len(pairs & predicted) / len(pairs), 3) if pairs else None
    return {"precision": round(len(correct) / len(predicted), 3) if predicted else None,
            "recall": round(len(correct) / len(true), 3), "predicted_pairs": len(predicted),
            "true_pairs": len(true), "recall_by_copy": per_kind}


def run_set(name: str, originals: list[Path], distractors: list[Path], work: Path, encoder: str,
            encoder_config: dict | None, sweep: bool) -> dict[str, object]:
    group, kind = build(originals, distractors, work / name / "lib")
    coll, enc = open_for_indexing(work / name / "coll", encoder, encoder_config, say=lambda m: None)
    t0 = time.perf_counter()
    index_paths(coll, [work / name / "lib"], enc, quiet=True)
    t_index = time.perf_counter() - t0
    t0 = time.perf_counter()
    groups = dup.find_duplicates(coll, near=True)
    t_dup = time.perf_counter() - t0
    exact = dup.find_duplicates(coll, near=False)
    out = {"files": len(group), "originals": len(originals), "distractors": len(distractors),
           "index_seconds": round(t_index, 1), "duplicates_seconds": round(t_dup, 1),
           "exact_only": score([g.paths for g in exact], group, kind),
           "exact_and_near": score([g.paths for g in groups], group, kind)}
    if sweep:
        out["sweep"] = threshold_sweep(coll, group, kind)
    return out


def threshold_sweep(coll, group: dict[str, int], kind: dict[str, str]) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Precision/recall for candidate cosine x verification threshold (the dev set only)."""
    rows = []
    cache = dup.FingerprintCache(coll)
    exact = dup.exact_pairs(coll)
    for cosine in (0.7, 0.8, 0.9):
        candidates = dup.candidate_pairs(coll, cosine=cosine)
        scored = dup.verified(candidates, cache, threshold=-1.0)
        for threshold in (0.4, 0.5, 0.6, 0.7, 0.8):
            pairs = [(a, b) for a, b, s in scored if s >= threshold] + exact
            paths = [[coll.sound(a).path, coll.sound(b).path] for a, b in pairs]
            rows.append({"cosine": cosine, "threshold": threshold, **{k: v for k, v in score(paths, group, kind).items()
                                                                    if k in ("precision", "recall")}})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--encoder", default="yamnet")
    ap.add_argument("--per-set", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    config = {"model_dir": str(args.shared / "models")} if args.encoder == "yamnet" else None
    rng = np.random.default_rng(args.seed)
    esc, sfx = args.shared / "data" / "esc50", args.shared / "data" / "sfx-dev"
    results = {"encoder": args.encoder, "per_set": args.per_set, "machine": platform.platform(),
               "date": time.strftime("%Y-%m-%d"), "candidate_cosine": dup.CANDIDATE_COSINE,
               "match_threshold": dup.MATCH_THRESHOLD}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results["esc50_dev_fold1"] = run_set("dev", *esc50_items(esc, {1}, args.per_set, rng), work, args.encoder, config, True)
        results["esc50_test_folds2-5"] = run_set("esc", *esc50_items(esc, {2, 3, 4, 5}, args.per_set, rng), work, args.encoder, config, False)
        results["sfx_dev"] = run_set("sfx", *sfx_items(sfx, args.per_set, rng), work, args.encoder, config, False)
    text = json.dumps(results, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
