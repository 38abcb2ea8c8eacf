"""The vector index of a collection stored in Milvus: the `VectorIndex` interface over its Milvus rows,
plus the grouped, filtered search that query by example pushes down (see search/pushdown.py).

Nothing is cached on disk: Milvus is the index. `add` and `remove` write through to Milvus, on segments
the collection already has rows for (new segments are written by `Collection.put_sound`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from soundseek.errors import CollectionError
from soundseek.vindex.base import check_queries, write_meta

if TYPE_CHECKING:
    from soundseek.store.milvus import MilvusSegments

#: The most results one Milvus search returns (Milvus' own cap on limit + offset).
MAX_LIMIT = 16384


class MilvusIndex:
    """Inner-product search in the collection's Milvus rows (HNSW, see store/milvus.py)."""

    kind = "milvus"

    def __init__(self, segments: MilvusSegments, *, known: np.ndarray | None = None) -> None:
        """known: sorted ids of the segments SQLite has; `search` leaves out rows of others (left by a
        crash between the two writes until `soundseek index` repairs it)."""
        self.segments = segments
        self.dim = segments.dim or 0
        self.known = known

    def __len__(self) -> int:
        return self.segments.count()

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace the vectors of segments that already have rows (CollectionError for others)."""
        from soundseek.store.milvus import SegmentRows

        ids = np.asarray(ids, dtype=np.int64)
        rows = {r["id"]: r for r in self.segments.rows([int(i) for i in ids])}
        if len(rows) != len(ids):
            raise CollectionError("a Milvus-stored collection gets new segments through indexing, not the index")
        ordered = [rows[int(i)] for i in ids]
        col = lambda key, dtype=np.float64: np.asarray([r[key] for r in ordered], dtype=dtype)  # noqa: E731
        self.segments.upsert(SegmentRows(
            ids, col("sound_id", np.int64), col("start"), col("end"), col("duration"), col("sample_rate", np.int64),
            col("channels", np.int64), [r["path"] for r in ordered], [list(r["tags"]) for r in ordered],
            col("generation", np.int64), np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1)))

    def remove(self, ids: np.ndarray) -> None:
        self.segments.delete_ids(np.asarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product (k capped at MAX_LIMIT). Returns scores (q, k) float32, ids (q, k) int64."""
        queries = check_queries(np.asarray(queries, dtype=np.float32), self.dim)
        out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(queries), k), -1, dtype=np.int64)
        for row, hits in enumerate(self.segments.search(queries, min(k, MAX_LIMIT))):
            hits = self._known_only(hits)
            out_s[row, : len(hits)] = [s for _, s in hits]
            out_i[row, : len(hits)] = [i for i, _ in hits]
        return out_s, out_i

    def _known_only(self, hits: list[tuple[int, float]]) -> list[tuple[int, float]]:
        if self.known is None or not hits:
            return hits
        if not len(self.known):
            return []
        ids = np.asarray([i for i, _ in hits], dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.known, ids), len(self.known) - 1)
        return [hit for hit, ok in zip(hits, self.known[pos] == ids) if ok]

    def search_grouped(self, query: np.ndarray, *, top: int, offset: int = 0, expr: str = "") -> list[tuple[int, float]]:
        """The best segment of each of the `top` nearest sounds after skipping `offset` sounds, among the
        segments matching the Milvus filter `expr`. Returns (segment id, score) pairs, best first."""
        query = check_queries(np.asarray(query, dtype=np.float32), self.dim)
        if top + offset > MAX_LIMIT:
            raise CollectionError(f"a Milvus search pages through at most {MAX_LIMIT} sounds (asked {top + offset})")
        return self.segments.search(query, top, expr=expr, group_by_sound=True, offset=offset)[0]

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        """Stored vectors of `ids` in order (KeyError for an unknown id). Returns: (n, dim)."""
        found = self.segments.vectors([int(i) for i in ids])
        return np.stack([found[int(i)] for i in ids]) if len(ids) else np.zeros((0, self.dim), np.float32)

    def save(self, path: Path) -> None:
        """Milvus holds the index: only meta.json (kind, dim, store) is written."""
        write_meta(Path(path), {"kind": self.kind, "dim": self.dim, "store": self.segments.spec.to_dict()})
