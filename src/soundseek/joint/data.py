"""Labelled data for the joint space: where (audio, text) pairs come from, and their cached features.

An item is one segment of a recording (cut by `segments.cut_spans`, as the indexer cuts them) with
the text of its recording: a class label (ESC-50's category) or a free-form caption. Items from one
recording share a `group` (ESC-50's `src_file`), and splits never put one group on both sides.

Recipes: `esc50_items` (meta/esc50.csv, text = category with `_` -> space), `csv_items` (a generic
CSV of audio path + label or caption), `collection_set` (a collection's own sounds, text = the words
of each sound from its file name, folders and sidecars, vectors as stored).

Features are computed once per (encoder, settings, file list) and cached as a .npz under the cache
dir (`--cache`, else `$SOUNDSEEK_CACHE`, else `<user cache dir>/soundseek/features`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from platformdirs import user_cache_dir

from soundseek.errors import SoundseekError

PATH_COLUMNS = ("path", "audio", "file", "filename", "file_name")
TEXT_COLUMNS = ("label", "caption", "text", "category")
#: Encoder settings that do not change the vectors (left out of the cache key).
_NEUTRAL_SETTINGS = ("model_dir", "num_threads", "batch_size")


@dataclass(frozen=True)
class AudioItems:
    """Recordings with their text, before feature extraction."""

    paths: list[Path]
    texts: list[str]
    groups: list[str]
    folds: list[int] | None = None


@dataclass(frozen=True)
class LabelledSet:
    """Segments with features and text.

    Attributes:
        audio: (n, d) float32 audio-encoder vectors (L2-normalized, as a collection stores them).
        texts: the text of each item (label or caption).
        groups: the recording each item comes from.
        folds: the fold of each item (None when the data has no folds).
        audio_encoder: the encoder that made `audio` ("yamnet", "mfcc").
    """

    audio: np.ndarray
    texts: list[str]
    groups: list[str]
    folds: np.ndarray | None
    audio_encoder: str

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: Sequence[int] | np.ndarray) -> "LabelledSet":
        idx = np.asarray(idx, dtype=np.int64)
        return replace(self, audio=self.audio[idx], texts=[self.texts[i] for i in idx],
                       groups=[self.groups[i] for i in idx],
                       folds=None if self.folds is None else self.folds[idx])

    @property
    def vocabulary(self) -> list[str]:
        """Distinct texts in first-seen order."""
        return list(dict.fromkeys(self.texts))


def esc50_items(root: Path | str, *, folds: Sequence[int] | None = None, per_class: int | None = None) -> AudioItems:
    """ESC-50 from `root/meta/esc50.csv` and `root/audio/`; text = category with `_` -> space.

    `folds` keeps only those folds; `per_class` keeps the first n clips of each class per fold (for tests).
    """
    root = Path(root)
    meta = root / "meta" / "esc50.csv"
    if not meta.is_file():
        raise SoundseekError(f"ESC-50 metadata not found: {meta}")
    with open(meta, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if folds is None or int(r["fold"]) in set(folds)]
    if per_class is not None:
        seen: dict[tuple[str, str], int] = {}
        rows = [r for r in rows if _take(seen, (r["fold"], r["category"]), per_class)]
    return AudioItems([root / "audio" / r["filename"] for r in rows], [r["category"].replace("_", " ") for r in rows],
                      [r["src_file"] for r in rows], [int(r["fold"]) for r in rows])


def _take(seen: dict, key: tuple[str, str], limit: int) -> bool:
    seen[key] = seen.get(key, 0) + 1
    return seen[key] <= limit


def csv_items(path: Path | str) -> AudioItems:
    """A CSV with an audio path column (path/audio/file/filename/file_name) and a text column
    (label/caption/text/category); optional `group` and `fold` columns. Paths are relative to the CSV."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise SoundseekError(f"{path}: no rows")
    pcol = next((c for c in PATH_COLUMNS if c in rows[0]), None)
    tcol = next((c for c in TEXT_COLUMNS if c in rows[0]), None)
    if pcol is None or tcol is None:
        raise SoundseekError(f"{path}: needs a path column ({'/'.join(PATH_COLUMNS)}) and a text column ({'/'.join(TEXT_COLUMNS)})")
    paths = [(path.parent / r[pcol]).resolve() for r in rows]
    groups = [r.get("group") or str(p) for r, p in zip(rows, paths)]
    folds = [int(r["fold"]) for r in rows] if "fold" in rows[0] else None
    return AudioItems(paths, [r[tcol].replace("_", " ").strip() for r in rows], groups, folds)


def collection_set(coll, *, space: str | None = None) -> LabelledSet:  # type: ignore[no-untyped-def]
    """A collection's own vocabulary: each stored segment vector with its sound's text (empty texts dropped)."""
    space = space or coll.audio_encoder
    ids, vecs = coll.iter_vectors(space)
    records = coll.segments([int(i) for i in ids])
    keep = [i for i, r in enumerate(records) if r.sound.text.strip()]
    if not keep:
        raise SoundseekError("no sound in the collection has words (file names, folders or sidecars)")
    return LabelledSet(vecs[keep], [records[i].sound.text.strip() for i in keep],
                       [records[i].sound.path for i in keep], None, space)


def cache_dir(explicit: Path | str | None = None) -> Path:
    """The feature cache folder: `explicit`, else $SOUNDSEEK_CACHE, else the user cache dir."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SOUNDSEEK_CACHE")
    return Path(env).expanduser() if env else Path(user_cache_dir("soundseek")) / "features"


def features_key(encoder: str, config: dict, paths: Sequence[Path], mode: str) -> str:
    """Hash of the encoder, its vector-changing settings, the mode and the file list (names + sizes)."""
    settings = {k: v for k, v in sorted(config.items()) if k not in _NEUTRAL_SETTINGS}
    files = [(str(p), p.stat().st_size if p.exists() else -1) for p in paths]
    blob = json.dumps([encoder, settings, mode, files]).encode()
    return f"{encoder}-{mode}-{hashlib.sha1(blob).hexdigest()[:16]}"


def extract_features(paths: Sequence[Path], encoder: str, *, config: dict | None = None, mode: str = "segments",
                     cache: Path | str | None = None, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Audio-encoder vectors of each file, computed once and cached.

    mode "segments": one vector per `cut_spans` segment (as the indexer stores them);
    mode "clip": one vector for the whole file.
    Returns: vectors (n_segments, d) float32, counts (n_files,) int64 segments per file.
    """
    config = dict(config or {})
    folder = cache_dir(cache)
    target = folder / f"{features_key(encoder, config, paths, mode)}.npz"
    if target.is_file():
        with np.load(target) as data:
            return data["vectors"], data["counts"]
    vectors, counts = _compute(paths, encoder, config, mode, progress)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.npz")
    np.savez(tmp, vectors=vectors, counts=counts)
    tmp.replace(target)
    return vectors, counts


def _compute(paths: Sequence[Path], encoder: str, config: dict, mode: str, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    from tqdm import tqdm

    from soundseek.audio import load_audio
    from soundseek.audio.segments import cut_spans
    from soundseek.encoders import build_audio_encoder
    from soundseek.encoders.base import encode_clip

    enc = build_audio_encoder(encoder, config)
    embed: Callable[[np.ndarray], np.ndarray] = (
        (lambda w: encode_clip(enc, w)[None, :]) if mode == "clip"
        else (lambda w: enc.encode_segments(w, cut_spans(len(w) / enc.sample_rate)).vectors))
    out, counts = [], []
    for path in tqdm(paths, desc=f"{encoder} features", unit="file", disable=not progress):
        vecs = embed(load_audio(path, sr=enc.sample_rate))
        out.append(vecs.astype(np.float32))
        counts.append(len(vecs))
    return np.concatenate(out), np.asarray(counts, dtype=np.int64)


def labelled_set(items: AudioItems, encoder: str, *, config: dict | None = None, cache: Path | str | None = None,
                 progress: bool = False) -> LabelledSet:
    """Extract (cached) segment features of `items`; every segment inherits its file's text, group, fold."""
    vectors, counts = extract_features(items.paths, encoder, config=config, cache=cache, progress=progress)
    rep = lambda values: [v for v, c in zip(values, counts) for _ in range(int(c))]  # noqa: E731
    folds = None if items.folds is None else np.asarray(rep(items.folds), dtype=np.int64)
    return LabelledSet(vectors, rep(items.texts), rep(items.groups), folds, encoder)


def grouped_split(groups: Sequence[str], fraction: float, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split item indices so that about `fraction` of the groups go to the second part, none to both.

    Returns: (first, second) int64 index arrays. The second part is empty only with a single group.
    """
    unique = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(unique))
    n_second = min(len(unique) - 1, max(1, int(round(fraction * len(unique))))) if len(unique) > 1 else 0
    second = {unique[i] for i in order[:n_second]}
    mask = np.asarray([g in second for g in groups], dtype=bool)
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def fold_splits(folds: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Leave-one-fold-out: [(fold, train indices, test indices)] for each fold present."""
    return [(int(f), np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in np.unique(folds)]


def group_folds(groups: Sequence[str], n_folds: int, *, seed: int = 0) -> np.ndarray:
    """Assign each item a fold 1..n_folds by its group (for data without given folds). Returns: (n,) int64."""
    unique = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[j]: 1 + (rank % n_folds) for rank, j in enumerate(order)}
    return np.asarray([fold_of[g] for g in groups], dtype=np.int64)


def reference_phrases(class_map: Path | str | None = None) -> list[str]:
    """Phrases to fit the text PCA on besides the training texts: the 521 AudioSet class names from
    YAMNet's class map (`class_map`, else the installed YAMNet's), or none when unavailable."""
    from soundseek.encoders.yamnet import load_class_names

    if class_map is None:
        from soundseek.encoders.models import require
        try:
            class_map = require("yamnet") / "yamnet_class_map.csv"
        except SoundseekError:
            return []
    path = Path(class_map)
    return load_class_names(path) if path.is_file() else []


def clotho_items(root: Path | str) -> tuple[list[Path], list[list[str]]]:
    """The Clotho sample: audio paths and their captions (`captions.csv`: file_name, caption_1..5)."""
    root = Path(root)
    with open(root / "captions.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    caps = [[r[k] for k in sorted(r) if k.startswith("caption") and r[k].strip()] for r in rows]
    return [root / "audio" / r["file_name"] for r in rows], caps
