"""The lists candidate text search reads (search/candidates.py), built once per engine: the best segments
of each AudioSet class, the distinct words of the sounds and the inverted lists from them to their sounds,
and the library model's inner-product lists over its predicted words and examples with the inverted lists
of its neighbour slots. Each is cached in the collection's `index/` folder with a key of what it was built
from (see inner.py), so a new process loads them instead of building them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from soundseek.search.inner import InnerProductSearch, cached_inner_search, fingerprint
from soundseek.search.knn_slots import neighbour_slots

if TYPE_CHECKING:
    from soundseek.encoders import TextEncoder
    from soundseek.search.class_codes import ClassScores
    from soundseek.search.library import LibraryModel
    from soundseek.search.state import SegmentTable
    from soundseek.search.zeroshot import ClassNameMatcher
    from soundseek.store import Collection


class SearchEngine(Protocol):
    """What candidate search reads of search/engine.py's SearchEngine (which builds it: no import back)."""

    coll: Collection
    table: SegmentTable
    class_codes: ClassScores | None

    @property
    def text_encoder(self) -> TextEncoder: ...
    @property
    def matcher(self) -> ClassNameMatcher | None: ...
    @property
    def library(self) -> LibraryModel | None: ...
    def query_vector(self, query: str) -> np.ndarray: ...
    def _keyword_scores(self, query: str) -> np.ndarray: ...

#: Segments kept per AudioSet class, best first: at least CLASS_LIST, else one in CLASS_SHARE of the
#: collection, at most 4 x CLASS_LIST. (At 1M segments 1,024 per class agreed with the exact top 10 at
#: 86%, 4,096 at 98.5%: the feedback pool is the best 1,000 of the weighted sum of five classes, which
#: the five lists' heads hold only when they are deep enough.)
CLASS_LIST = 1024
CLASS_SHARE = 250


@dataclass
class LibraryLists:
    """The library model's structures for candidate search, aligned with the model's rows."""

    model: LibraryModel
    row_of: np.ndarray          # (m,) int32 table row of each model row, -1 where unknown
    model_row: np.ndarray       # (n,) int32 model row of each table row, -1 where it is not scored
    ridge: InnerProductSearch   # over the model's predicted words
    examples: InnerProductSearch  # over model.example_text
    slots_start: np.ndarray     # (e + 1,) int64: the neighbour slots (model row * K + j) that hold
    slots: np.ndarray           # example e are slots[slots_start[e]:slots_start[e + 1]], ascending
    neighbour_sims: np.ndarray  # (m * K,) model.neighbour_sims flat (a view): the sim of slot s is [s]

    @property
    def k(self) -> int:
        """Neighbours per model row."""
        return int(self.model.neighbours.shape[1])


@dataclass
class TextLists:
    """Everything candidate search needs beyond the engine's arrays; built once per engine."""

    class_lists: np.ndarray | None   # (C, L) int32 table rows, best first per class
    texts: InnerProductSearch | None  # over the distinct words of the sounds
    sounds_start: np.ndarray        # (t + 1,): sound rows of distinct text t are sounds[sounds_start[t]:...]
    sounds: np.ndarray
    library: LibraryLists | None


def build_text_lists(engine: SearchEngine) -> TextLists:
    """Build (or load from the collection's caches) the lists of `engine`'s collection."""
    folder = engine.coll.root / "index"
    generation = engine.coll.generation
    depth = int(np.clip(len(engine.table) // CLASS_SHARE, CLASS_LIST, 4 * CLASS_LIST))
    class_lists = None if engine.class_codes is None else cached_class_lists(engine, depth)
    from soundseek.search.state import load_sound_text_vectors

    vectors = load_sound_text_vectors(engine.coll, engine.table, engine.text_encoder)  # not kept: see distinct
    named = np.flatnonzero(vectors.any(axis=1))
    texts, starts, sounds = None, np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    if len(named):
        distinct, of_sound = _distinct_rows(vectors[named])
        del vectors
        key = fingerprint(generation, engine.text_encoder.name, sample=of_sound)
        texts = cached_inner_search(folder, "sound_texts", key, len(distinct), lambda: distinct)
        starts, sounds = _inverted(of_sound, len(distinct), named)
    library = engine.library
    return TextLists(class_lists, texts, starts, sounds, None if library is None else _library_lists(engine, library))


def _library_lists(engine: SearchEngine, model: LibraryModel) -> LibraryLists:
    table = engine.table
    rows = np.minimum(table.positions(model.segment_ids), len(table) - 1)
    row_of = np.where(table.ids[rows] == model.segment_ids, rows, -1).astype(np.int32)
    model_row = np.full(len(table), -1, dtype=np.int32)
    model_row[row_of[row_of >= 0]] = np.flatnonzero(row_of >= 0)
    folder = engine.coll.root / "index"
    key = fingerprint(model.generation, model.summary.text_encoder, sample=model.segment_ids)
    ridge = cached_inner_search(folder, "library_predicted", key, len(model.segment_ids),
                                model.predicted_vectors)
    examples = cached_inner_search(folder, "library_examples", key, len(model.example_text), lambda: model.example_text)
    model.release_predicted()  # the lists (or the exact matrix) are what candidate search reads
    # one contiguous block, so that the flat view below is a view (a fitted model's may be strided)
    model.neighbour_sims = np.ascontiguousarray(model.neighbour_sims)
    starts, slots = neighbour_slots(model.neighbours, len(model.example_text))
    return LibraryLists(model, row_of, model_row, ridge, examples, starts, slots, model.neighbour_sims.reshape(-1))


def cached_class_lists(engine: SearchEngine, length: int) -> np.ndarray:
    """The `length` best table rows of each class, best first (class_codes.best_rows), cached per
    generation as index/class_lists_u8.npz. Returns (C, L) int32."""
    import io

    from soundseek.vindex.base import atomic_write_bytes

    codes = engine.class_codes
    length = min(length, len(codes))
    path = engine.coll.root / "index" / "class_lists_u8.npz"
    try:
        with np.load(path) as cached:
            if int(cached["generation"]) == engine.coll.generation and cached["rows"].shape == (codes.n_classes, length):
                return cached["rows"].astype(np.int32)
    except (OSError, ValueError, KeyError):
        pass
    rows = codes.best_rows(length).astype(np.int32)
    try:
        buf = io.BytesIO()
        np.savez(buf, generation=np.int64(engine.coll.generation), rows=rows)
        atomic_write_bytes(path, buf.getvalue())
    except OSError:
        pass
    return rows


def _distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of `matrix`, and the index of each row among them."""
    flat = np.ascontiguousarray(matrix).view(np.dtype((np.void, matrix.dtype.itemsize * matrix.shape[1])))[:, 0]
    _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    return matrix[first], inverse.ravel()


def _inverted(keys: np.ndarray, n_keys: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverted lists: values[i] listed under keys[i]. Returns starts (n_keys + 1,) and the grouped values."""
    order = np.argsort(keys, kind="stable")
    starts = np.searchsorted(keys[order], np.arange(n_keys + 1)).astype(np.int64)
    return starts, np.asarray(values)[order].astype(np.int32)
