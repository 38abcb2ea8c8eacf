"""In-memory search state of a collection: the segment table, vector indexes, the class-score matrix.

Vector indexes are cached under `<collection>/index/<space>/` together with the database generation
they were built from; a stale or unreadable cache is rebuilt from the database (the source of truth).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np

from soundseek.encoders import TextEncoder
from soundseek.errors import CollectionError
from soundseek.memory import release_free_memory
from soundseek.search.class_codes import ClassScores, codes_from_probabilities
from soundseek.search.inner import mapped
from soundseek.store import Collection
from soundseek.vindex import VectorIndex, load_index, make_index
from soundseek.vindex.base import atomic_write_bytes


@dataclass
class SegmentTable:
    """Every segment, sorted by id, with its sound's filterable fields (parallel arrays)."""

    ids: np.ndarray          # (n,) int64 segment ids
    sound_ids: np.ndarray    # (n,) int64
    starts: np.ndarray       # (n,) float64 seconds
    ends: np.ndarray         # (n,) float64
    durations: np.ndarray    # (n,) float32, the whole sound's duration
    sample_rates: np.ndarray  # (n,) int32
    channels: np.ndarray     # (n,) int16
    paths: np.ndarray        # (n,) object, the sound's path

    def __post_init__(self) -> None:
        #: Sorted distinct sound ids, and each segment's row in that array (int32: 4 bytes a segment).
        self.sounds, rows = np.unique(self.sound_ids, return_inverse=True)
        self.sound_rows = rows.ravel().astype(_row_type(len(self.sounds)))

    def __len__(self) -> int:
        return len(self.ids)

    def rows_of_sound(self, sound_row: int) -> np.ndarray:
        """Table rows of the segments of one distinct sound (its row in `sounds`), in id order."""
        if not hasattr(self, "_by_sound"):
            self._by_sound = np.argsort(self.sound_rows, kind="stable").astype(_row_type(len(self)))
            self._sound_bounds = np.searchsorted(self.sound_rows[self._by_sound], np.arange(len(self.sounds) + 1))
        return self._by_sound[self._sound_bounds[sound_row] : self._sound_bounds[sound_row + 1]]

    def rows_of_sounds(self, sound_rows: np.ndarray) -> np.ndarray:
        """Table rows of the segments of several distinct sounds, sound after sound."""
        if not len(self.sounds):
            return np.zeros(0, dtype=np.int64)
        self.rows_of_sound(0)  # builds the per-sound order once
        return gather_lists(self._sound_bounds, self._by_sound, sound_rows)

    def per_sound_to_segments(self, values: np.ndarray) -> np.ndarray:
        """Broadcast one value per distinct sound (aligned with `sounds`) to every segment."""
        return values[self.sound_rows]

    def positions(self, segment_ids: np.ndarray) -> np.ndarray:
        """Row of each segment id (ids must exist). Returns: (k,) int64."""
        return np.searchsorted(self.ids, segment_ids)


def _row_type(n: int) -> type:
    """The narrowest of int32 and int64 that indexes `n` rows."""
    return np.int32 if n < 2**31 else np.int64


def gather_lists(starts: np.ndarray, values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Inverted lists stored flat (list k is values[starts[k]:starts[k + 1]]): the lists of `keys`
    concatenated, in one vectorized gather."""
    keys = np.asarray(keys, dtype=np.int64)
    lo, hi = starts[keys], starts[keys + 1]
    lengths = hi - lo
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=values.dtype)
    offsets = np.repeat(lo - (np.cumsum(lengths) - lengths), lengths)
    return values[np.arange(total) + offsets]


@dataclass
class SearchState:
    """What a SearchEngine holds in memory: the segment table, the acoustic index, the class scores."""

    table: SegmentTable
    index: VectorIndex | None
    class_scores: ClassScores | None  # 8-bit log class scores aligned with table, or None


def load_search_state(coll: Collection, space: str, class_names: list[str] | None) -> SearchState:
    """Load (or rebuild from the database) everything a search needs."""
    table = load_segment_table(coll)
    index = load_vector_index(coll, space) if len(table) else None
    return SearchState(table, index, load_class_codes(coll, table, len(class_names)) if class_names else None)


def load_class_codes(coll: Collection, table: SegmentTable, n_classes: int) -> ClassScores | None:
    """The 8-bit log class scores aligned with `table` (see class_codes.py), or None without class
    scores; cached as index/class_codes-g<generation>.npy and memory-mapped (reading and transforming
    them from the database was ~0.6 s of a one-off search at 10k segments)."""
    folder = coll.root / "index"
    path = folder / f"class_codes-g{coll.generation}.npy"
    try:
        codes = mapped(path)
        if codes.shape == (len(table), n_classes) and codes.dtype == np.uint8:
            return ClassScores(codes)
    except (OSError, ValueError):
        pass
    raw = load_class_scores(coll, table, n_classes)
    if raw is None:
        return None
    codes = codes_from_probabilities(raw)
    del raw
    try:
        buffer = io.BytesIO()
        np.save(buffer, codes)
        atomic_write_bytes(path, buffer.getvalue())
        (folder / "log_class_scores.npz").unlink(missing_ok=True)  # the float16 cache of earlier versions
        for old in folder.glob("class_codes-g*.npy"):
            if old != path:
                old.unlink(missing_ok=True)  # a process still using it keeps its mapping
        return ClassScores(mapped(path))
    except OSError:
        return ClassScores(codes)  # a read-only collection still searches, just without the cache


def load_segment_table(coll: Collection) -> SegmentTable:
    """The segment table, read from the database (one row per segment). The millions of Python objects
    of the rows are all freed before it returns: one path string per sound is made afresh once they are
    gone (kept from the rows, the scattered strings pinned ~470 MiB of allocator memory at 1M segments)."""
    cols = coll.segment_columns()
    numeric = [np.asarray(c, dtype=t) for c, t in zip(cols, (np.int64, np.int64, np.float64, np.float64, np.float32,
                                                             np.int32, np.int16))]
    of_path: dict[str, int] = {}
    path_rows = np.fromiter((of_path.setdefault(p, len(of_path)) for p in cols[7]), dtype=np.int64, count=len(cols[7]))
    joined = "\0".join(of_path)  # one string (no path holds a NUL byte); the rows' strings go with the rows
    del cols, of_path
    distinct = np.asarray(joined.split("\0") if len(path_rows) else [], dtype=object)
    table = SegmentTable(*numeric, distinct[path_rows] if len(distinct) else np.zeros(0, dtype=object))
    del numeric, path_rows, joined, distinct
    release_free_memory()  # the rows' lists were freed into glibc's heap (see soundseek/memory.py)
    return table


def load_vector_index(coll: Collection, space: str, *, kind: str | None = None) -> VectorIndex:
    """The vector index of `space`, from cache when it matches the database generation.

    `kind` picks the backend; by default the one recorded with `soundseek index --index KIND`, else by size.
    """
    if coll.segment_store is not None and space == coll.audio_encoder and kind is None:
        from soundseek.vindex.milvus import MilvusIndex
        return MilvusIndex(coll.segment_store, known=coll.segment_ids())
    folder = coll.root / "index" / space.replace("/", "_").replace(":", "_")
    generation = coll.generation
    kind = kind or coll.index_kind
    stamp = folder / "generation.json"
    if stamp.is_file():
        try:
            if json.loads(stamp.read_text()) == {"generation": generation, "kind": kind}:
                return load_index(folder)
        except (OSError, ValueError, CollectionError):
            pass
    index = build_vector_index(coll, space, kind=kind)
    try:
        index.save(folder)
        atomic_write_bytes(stamp, json.dumps({"generation": generation, "kind": kind}).encode())
    except OSError:
        pass  # a read-only collection still searches, just without the cache
    return index


def build_vector_index(coll: Collection, space: str, *, kind: str | None = None) -> VectorIndex:
    ids, vectors = coll.iter_vectors(space)
    index = make_index(vectors.shape[1], expected_size=len(ids), kind=kind)
    if len(ids):
        index.add(ids, vectors)
    return index


def load_class_scores(coll: Collection, table: SegmentTable, n_classes: int) -> np.ndarray | None:
    """Class-major (n_classes, n_segments) float16 scores aligned with `table`, or None if absent."""
    ids, matrix = coll.class_score_matrix(n_classes)
    if len(ids) == 0:
        return None
    if len(ids) != len(table) or not np.array_equal(ids, table.ids):
        full = np.zeros((n_classes, len(table)), dtype=np.float16)
        full[:, table.positions(ids)] = matrix
        return full
    return matrix


def load_sound_text_vectors(coll: Collection, table: SegmentTable, encoder: TextEncoder) -> np.ndarray:
    """Text embedding of each distinct sound's words (rows aligned with `table.sounds`), cached per generation.

    Returns: (n_sounds, dim) float32; a sound with no words has a zero row.
    """
    path = coll.root / "index" / f"sound_text_{encoder.name}_v2.npz"
    generation = coll.generation
    try:
        with np.load(path) as cached:
            if int(cached["generation"]) == generation and len(cached["vectors"]) == len(table.sounds):
                return cached["vectors"]
    except (OSError, ValueError, KeyError):
        pass
    texts = coll.sound_texts()
    out = np.zeros((len(table.sounds), encoder.dim), dtype=np.float32)
    rows = [i for i, sid in enumerate(table.sounds) if texts.get(int(sid))]
    if rows:
        words = [" ".join(texts[int(table.sounds[i])].replace("|", " ").split()) for i in rows]
        out[rows] = encoder.encode_text(words)
    try:
        buf = io.BytesIO()
        np.savez(buf, generation=generation, vectors=out)
        atomic_write_bytes(path, buf.getvalue())
    except OSError:
        pass
    return out


def cached_text_vectors(coll: Collection, name: str, texts: list[str], encoder: TextEncoder) -> np.ndarray:
    """`encoder.encode_text(texts)`, cached as `index/<name>_<encoder>.npz` with a hash of the texts (the
    521 AudioSet class phrases take seconds to embed on a busy CPU; a server start should not redo it).

    Returns: (len(texts), dim) float32.
    """
    import hashlib

    key = hashlib.sha1("\n".join([encoder.name, str(encoder.dim), *texts]).encode()).hexdigest()
    path = coll.root / "index" / f"{name}_{encoder.name}.npz"
    try:
        with np.load(path) as cached:
            if str(cached["key"]) == key:
                return cached["vectors"]
    except (OSError, ValueError, KeyError):
        pass
    vectors = np.asarray(encoder.encode_text(texts), dtype=np.float32)
    try:
        buf = io.BytesIO()
        np.savez(buf, key=key, vectors=vectors)
        atomic_write_bytes(path, buf.getvalue())
    except OSError:
        pass
    return vectors
