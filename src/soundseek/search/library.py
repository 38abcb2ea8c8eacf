"""What a library teaches: a text-audio model fitted on the collection's own words.

Most libraries are partly named: the sounds with words (file names, folders, sidecars, `--metadata`)
are labelled examples of what the unnamed ones (field recordings, bounces, long takes) may hold. This is
the joint lexico-acoustic idea of Elizalde et al. applied to the user's own vocabulary, with two scorers
for the segments of sounds that have no words of their own:

* a ridge map from each segment's acoustic features (the encoder's vector, and for YAMNet its
  L2-normalized log class scores, concatenated and L2-normalized) to the text space of the words
  (MiniLM), so any query, seen in the library or not, scores a segment by cos(query, predicted words);
* semantic kNN: the query weights every named example by how close its words are to the query (cosine
  above `WORD_FLOOR`, scaled to [0, 1]); a wordless segment scores the weighted mean over its
  `NEIGHBOURS` acoustically nearest examples.

The ridge strength is chosen on the library itself by grouped validation (a quarter of the folders held
out, so that takes of one recording do not teach each other), and that validation mAP is reported.
The model is fitted at the end of `soundseek index`, cached as `index/library_model.npz` with the
collection generation it was fitted on, and refitted when the collection changed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from soundseek.encoders import TextEncoder
from soundseek.encoders.base import l2_normalize
from soundseek.encoders.text import tokenize
from soundseek.errors import CollectionError
from soundseek.search.neighbours import nearest_examples
from soundseek.search.state import SegmentTable, load_class_scores
from soundseek.store import Collection
from soundseek.vindex.base import atomic_write_bytes

#: Fewer sounds with words than this: nothing worth learning (said in the index report and `info`).
MIN_NAMED_SOUNDS = 10
NEIGHBOURS = 10
#: Cosine between the query and an example's words below which the example does not count.
WORD_FLOOR = 0.5
RIDGE_ALPHAS = (0.1, 1.0, 10.0)
#: At most this many words are used to validate (the most frequent ones).
VALIDATION_WORDS = 200
FILE_NAME = "library_model.npz"


@dataclass
class LibrarySummary:
    """What was learnt, for `soundseek info` and the index report."""

    examples: int            # named sounds the model learnt from
    scored: int              # segments of sounds without informative words (the model's main use)
    vocabulary: int          # distinct words shared by at least two named sounds
    validation_map: float    # grouped-validation mAP of those words over held-out sounds
    alpha: float             # the ridge strength the validation chose
    text_encoder: str


@dataclass
class LibraryModel:
    """The fitted model, ready to score queries. Arrays are aligned with `segment_ids`."""

    generation: int
    summary: LibrarySummary
    segment_ids: np.ndarray      # (m,) int64: the segments it scores (all of the collection's)
    predicted: np.ndarray | None  # (m, T) float32 (float16 on disk), unit rows: ridge-predicted text vectors;
    #                               None: not read yet from `source` (see predicted_vectors)
    neighbours: np.ndarray       # (m, K) int32: rows of `example_text`
    neighbour_sims: np.ndarray   # (m, K) float16: cosine to those examples
    example_text: np.ndarray     # (e, T) float32, unit rows: the examples' words, embedded
    source: Path | None = None   # the saved model it was loaded from

    def __post_init__(self) -> None:
        # float16 halves the file, but NumPy has no BLAS for it: a 100k x 384 product took 250 ms per query
        if self.predicted is not None:
            self.predicted = np.ascontiguousarray(self.predicted, dtype=np.float32)

    def predicted_vectors(self) -> np.ndarray:
        """The predicted words of every scored segment, read from the saved model on first use (candidate
        search on a large collection reads its own lists instead, search/candidates.py). Returns (m, T) float32."""
        if self.predicted is None:
            with np.load(self.source, allow_pickle=False) as z:
                if int(z["generation"]) != self.generation:
                    raise CollectionError("the collection was re-indexed while searching: search again")
                self.predicted = np.ascontiguousarray(z["predicted"], dtype=np.float32)
        return self.predicted

    def release_predicted(self) -> None:
        """Forget the predicted words when they can be read again from the saved model."""
        if self.source is not None:
            self.predicted = None

    def scores(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ridge and semantic-kNN scores of the wordless segments for a unit query vector (T,).

        Returns: two (m,) float32 arrays, each >= 0.
        """
        ridge = np.maximum(self.predicted_vectors() @ query.astype(np.float32), 0)
        return ridge, knn_scores(self.example_text @ query, self.neighbours, self.neighbour_sims)


def knn_scores(example_similarity: np.ndarray, neighbours: np.ndarray, neighbour_sims: np.ndarray) -> np.ndarray:
    """Mean over each segment's neighbours of (acoustic cosine x word weight). Returns (m,) float32."""
    weights = np.clip((example_similarity - WORD_FLOOR) / (1 - WORD_FLOOR), 0, 1).astype(np.float32)
    if not weights.any():
        return np.zeros(len(neighbours), dtype=np.float32)
    return (neighbour_sims.astype(np.float32) * weights[neighbours]).mean(axis=1)


# -- fitting -----------------------------------------------------------------------------------
#: Rows per block of the passes over every segment's features (64 MB of float64 at 1,024 dimensions):
#: a million-segment library is fitted without any full-size temporary.
BLOCK_ROWS = 8192


def segment_features(coll: Collection, table: SegmentTable, class_names: list[str] | None) -> np.ndarray:
    """Acoustic features of every segment of `table`: the vector, plus the L2-normalized log class
    scores when the encoder has them, concatenated and L2-normalized. Returns (n, D) float32."""
    from soundseek.search.zeroshot import log_scores

    ids, vectors = coll.iter_vectors(coll.audio_encoder)
    at = np.searchsorted(ids, table.ids)
    raw = load_class_scores(coll, table, len(class_names)) if class_names else None
    width = vectors.shape[1] + (0 if raw is None else raw.shape[0])
    out = np.empty((len(at), width), dtype=np.float32)
    for lo in range(0, len(at), BLOCK_ROWS):
        hi = min(lo + BLOCK_ROWS, len(at))
        parts = [vectors[at[lo:hi]]]
        if raw is not None:
            parts.append(l2_normalize(log_scores(raw[:, lo:hi]).T))
        out[lo:hi] = l2_normalize(np.hstack(parts))
    return out


def fit_library_model(coll: Collection, table: SegmentTable, text_encoder: TextEncoder) -> LibraryModel | str:
    """Fit the model on the collection's named sounds. Returns the model, or why there is none."""
    words = _object_array(informative_words(coll.sound_texts(), table.sound_ids))
    named = np.flatnonzero([bool(w) for w in words])
    n_named = len(np.unique(table.sound_ids[named]))
    if n_named < MIN_NAMED_SOUNDS:
        return (f"too little to learn from: {n_named} sounds have words that tell them apart "
                f"(at least {MIN_NAMED_SOUNDS} needed)")
    features = segment_features(coll, table, coll.class_names)
    phrases = [" ".join(w) for w in words[named]]
    text = text_encoder.encode_text(phrases)
    groups = _object_array([os.path.dirname(p) for p in table.paths[named]])
    alpha, val_map, vocabulary = choose_alpha(features, named, text, words[named], groups, text_encoder)
    projection, mean = solve_ridge(normal_equations(features, named, text), alpha)
    predicted = predict_words(features, np.arange(len(features)), projection, mean, dtype=np.float16)
    neighbours, sims = nearest_examples(features, features, k=NEIGHBOURS, rows=named)
    # the segments of one sound (and sounds named alike) share their words: keep each distinct phrase
    # once, so that a query weighs thousands of phrases rather than every named segment
    distinct, of_example = np.unique(np.asarray(phrases, dtype=object), return_inverse=True)
    example_text = _one_row_per_group(text, of_example, len(distinct))
    summary = LibrarySummary(n_named, len(table) - len(named), vocabulary, val_map, alpha, text_encoder.name)
    return LibraryModel(coll.generation, summary, table.ids, predicted, of_example[neighbours].astype(np.int32),
                        sims, example_text.astype(np.float32))


def _one_row_per_group(rows: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """A row of `rows` for each group id 0..n_groups-1 (the rows of one group are identical). Returns (n_groups, T)."""
    pick = np.zeros(n_groups, dtype=np.int64)
    pick[group] = np.arange(len(group))
    return rows[pick]


def informative_words(texts: dict[int, str], sound_ids: np.ndarray, *, max_share: float = 0.5) -> list[tuple[str, ...]]:
    """The content words of each segment's sound, without the words that label more than `max_share`
    of the sounds (a root folder's name, "recording", "take" in a library of takes): those tell the
    sounds apart no better than nothing. Returns one tuple per entry of `sound_ids`."""
    per_sound = {sid: _words(text) for sid, text in texts.items()}
    frequency: dict[str, int] = {}
    for ws in per_sound.values():
        for w in set(ws):
            frequency[w] = frequency.get(w, 0) + 1
    limit = max_share * max(len(per_sound), 1)
    kept = {sid: tuple(w for w in ws if frequency[w] <= limit) for sid, ws in per_sound.items()}
    return [kept.get(int(s), ()) for s in sound_ids]


@dataclass
class NormalEquations:
    """The centred ridge problem of some rows of x: gram = xc^T xc, cross = xc^T y (float64)."""

    gram: np.ndarray   # (D, D)
    cross: np.ndarray  # (D, T)
    mean: np.ndarray   # (D,) the rows' mean


def normal_equations(x: np.ndarray, rows: np.ndarray, y: np.ndarray) -> NormalEquations:
    """Accumulated over blocks of `x[rows]` (y aligned with `rows`), in float64, with no copy of x."""
    total = np.zeros(x.shape[1], dtype=np.float64)
    for lo in range(0, len(rows), BLOCK_ROWS):
        total += x[rows[lo : lo + BLOCK_ROWS]].sum(axis=0, dtype=np.float64)
    mean = total / max(len(rows), 1)
    gram = np.zeros((x.shape[1], x.shape[1]), dtype=np.float64)
    cross = np.zeros((x.shape[1], y.shape[1]), dtype=np.float64)
    for lo in range(0, len(rows), BLOCK_ROWS):
        xc = x[rows[lo : lo + BLOCK_ROWS]].astype(np.float64) - mean
        gram += xc.T @ xc
        cross += xc.T @ y[lo : lo + BLOCK_ROWS].astype(np.float64)
    return NormalEquations(gram, cross, mean)


def solve_ridge(eq: NormalEquations, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """W minimizing ||xc W - y||^2 + alpha ||W||^2. Returns W (D, T) float32, mean (D,) float32."""
    w = np.linalg.solve(eq.gram + alpha * np.eye(len(eq.gram)), eq.cross)
    return w.astype(np.float32), eq.mean.astype(np.float32)


def ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Least squares W minimizing ||(x - mean) W - y||^2 + alpha ||W||^2. Returns W (D, T), mean (D,)."""
    return solve_ridge(normal_equations(x, np.arange(len(x)), y), alpha)


def predict_words(x: np.ndarray, rows: np.ndarray, projection: np.ndarray, mean: np.ndarray, *,
                  dtype: type = np.float32) -> np.ndarray:
    """The unit predicted text vectors of `x[rows]`, block by block. Returns (len(rows), T) of `dtype`."""
    out = np.empty((len(rows), projection.shape[1]), dtype=dtype)
    for lo in range(0, len(rows), BLOCK_ROWS):
        out[lo : lo + BLOCK_ROWS] = l2_normalize((x[rows[lo : lo + BLOCK_ROWS]] - mean) @ projection)
    return out


def choose_alpha(features: np.ndarray, named: np.ndarray, text: np.ndarray, words: np.ndarray, groups: np.ndarray,
                 encoder: TextEncoder) -> tuple[float, float, int]:
    """Grouped validation over the named rows `named` of `features` (text, words, groups aligned with
    them): hold out the folders whose name hashes into the last quarter (by sound when there are fewer
    than 4 folders), and score each shared word over the held-out examples.

    Returns: the best ridge strength, its validation mAP, the size of the shared vocabulary.
    """
    held = _held_out(groups)
    counts: dict[str, int] = {}
    for ws in words:
        for w in set(ws):
            counts[w] = counts.get(w, 0) + 1
    vocab = [w for w, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c >= 2]
    testable = [w for w in vocab[:VALIDATION_WORDS]
                if any(w in ws for ws in words[held]) and any(w in ws for ws in words[~held])]
    if not testable or held.all() or not held.any():
        return RIDGE_ALPHAS[1], float("nan"), len(vocab)
    queries = encoder.encode_text(testable)
    relevant = np.asarray([[w in ws for ws in words[held]] for w in testable])
    held_rows, train_rows = named[held], named[~held]
    neighbours, sims = nearest_examples(features[held_rows], features, k=NEIGHBOURS, rows=train_rows)
    knn = [_unit(knn_scores(similarity, neighbours, sims)) for similarity in queries @ text[~held].T]
    system = normal_equations(features, train_rows, text[~held])  # one system for every alpha
    best = (RIDGE_ALPHAS[1], -1.0)
    for alpha in RIDGE_ALPHAS:
        projection, mean = solve_ridge(system, alpha)
        predicted = predict_words(features, held_rows, projection, mean)
        ridge_scores = np.maximum(queries @ predicted.T, 0)  # (words, held-out segments)
        ap = [_average_precision(_unit(r) + k, rel) for r, k, rel in zip(ridge_scores, knn, relevant)]
        if np.mean(ap) > best[1]:
            best = (alpha, float(np.mean(ap)))
    return best[0], best[1], len(vocab)


def _object_array(items: list) -> np.ndarray:
    """A 1-d object array of arbitrary items (np.asarray would build a 2-d array of equal-length tuples)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def _held_out(groups: np.ndarray) -> np.ndarray:
    keys = groups if len(set(groups)) >= 4 else np.arange(len(groups)).astype(str)
    return np.asarray([hashlib.sha1(str(k).encode()).digest()[0] >= 192 for k in keys])


def _words(text: str) -> tuple[str, ...]:
    """The content words of a sound's text (no digits, no one- or two-letter tokens)."""
    return tuple(w for w in tokenize(text.replace("|", " ")) if len(w) > 2 and not w.isdigit())


def _unit(x: np.ndarray) -> np.ndarray:
    top = float(x.max()) if x.size else 0.0
    return x / top if top > 0 else x


def _average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    from soundseek.metrics import average_precision
    return average_precision(relevant[np.argsort(-scores, kind="stable")])


# -- the cache ---------------------------------------------------------------------------------
def model_path(coll: Collection) -> Path:
    return coll.root / "index" / FILE_NAME


def save_library_model(coll: Collection, model: LibraryModel) -> None:
    buf = io.BytesIO()
    np.savez(buf, generation=model.generation, segment_ids=model.segment_ids,
             predicted=model.predicted_vectors().astype(np.float16),
             neighbours=model.neighbours, neighbour_sims=model.neighbour_sims, example_text=model.example_text,
             summary=np.asarray(json.dumps(asdict(model.summary))))
    atomic_write_bytes(model_path(coll), buf.getvalue())
    coll.set_meta("library_model", asdict(model.summary))


def load_library_model(coll: Collection) -> LibraryModel | None:
    """The cached model when it was fitted on the collection's current generation, else None."""
    try:
        with np.load(model_path(coll), allow_pickle=False) as z:
            if int(z["generation"]) != coll.generation:
                return None
            summary = LibrarySummary(**json.loads(str(z["summary"])))
            return LibraryModel(int(z["generation"]), summary, z["segment_ids"], None, z["neighbours"],
                                z["neighbour_sims"], z["example_text"], source=model_path(coll))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def learn_from_library(coll: Collection, *, text_encoder: TextEncoder | None = None) -> str:
    """Fit (or keep) the library model after indexing. Returns a one-line account for the user."""
    from soundseek.encoders import build_text_encoder
    from soundseek.search.state import load_segment_table

    table = load_segment_table(coll)
    if not len(table):
        return "library model: nothing indexed yet"
    result = refresh_library_model(coll, table, text_encoder or build_text_encoder("minilm"))
    if isinstance(result, str):
        return f"library model: skipped ({result})"
    return f"library model: {describe_summary(result.summary)}"


def describe_summary(summary: LibrarySummary) -> str:
    val = "n/a" if summary.validation_map != summary.validation_map else f"{summary.validation_map:.3f}"
    return (f"learnt from {summary.examples} named sounds (shared vocabulary {summary.vocabulary} words, "
            f"grouped-validation mAP {val}); scores {summary.scored} segments that have no words")


def refresh_library_model(coll: Collection, table: SegmentTable, text_encoder: TextEncoder) -> LibraryModel | str:
    """The cached model if current, else a freshly fitted (and saved) one, or why there is none."""
    cached = load_library_model(coll)
    if cached is not None:
        return cached
    model = fit_library_model(coll, table, text_encoder)
    _keep(coll, model)
    return model


def _keep(coll: Collection, model: LibraryModel | str) -> None:
    """Record the model (or why there is none) in the collection, under its writer lock: a search
    that refits must not write while `soundseek index` does. When another process is writing (its run
    refits at its end) or the collection is read-only, the model is only used, and refitted next time."""
    from soundseek.store.lock import CollectionBusy

    try:
        with coll.writer_lock():
            if isinstance(model, str):
                coll.set_meta("library_model", {"skipped": model, "generation": coll.generation})
            else:
                save_library_model(coll, model)
    except (CollectionBusy, OSError):
        pass
