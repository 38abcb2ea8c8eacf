"""Approximate search with FAISS HNSW over inner product.

FAISS HNSW cannot delete, so the index keeps its own table of internal position -> external id and a
tombstone per position; searches over-fetch by the number of tombstones (capped) and drop them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from soundseek.errors import MissingExtraError
from soundseek.vindex.base import IdPositions, atomic_write_bytes, check_queries, write_meta


def _faiss():  # type: ignore[no-untyped-def]
    try:
        import faiss
    except ImportError as exc:
        raise MissingExtraError("scale", "faiss") from exc
    return faiss


class HnswIndex:
    """FAISS IndexHNSWFlat (M=32, efConstruction=80, efSearch=64) over inner product."""

    kind = "hnsw"

    def __init__(self, dim: int, *, m: int = 32, ef_construction: int = 80, ef_search: int = 64) -> None:
        faiss = _faiss()
        self.dim = dim
        self.ef_search = ef_search
        self._index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        self._index.hnsw.efConstruction = ef_construction
        self._labels = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._positions = IdPositions()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if len(np.unique(ids)) != len(ids):  # the last vector of a repeated id wins
            last = np.sort(len(ids) - 1 - np.unique(ids[::-1], return_index=True)[1])
            ids, vectors = ids[last], vectors[last]
        self.remove(ids)
        self._index.add(vectors)
        self._labels = np.concatenate([self._labels, ids])
        self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
        self._positions.appended(self._labels, ids)
        self._count += len(ids)

    def remove(self, ids: np.ndarray) -> None:
        found, positions = self._positions.find(self._labels, self._alive, np.unique(np.asarray(ids, dtype=np.int64)))
        if len(positions):
            self._alive[positions] = False
            self._positions.changed()
            self._count -= len(positions)

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        """Stored vectors of `ids` in order (KeyError for an unknown id). Returns: (n, dim)."""
        ids = np.asarray(ids, dtype=np.int64)
        found, positions = self._positions.find(self._labels, self._alive, ids)
        if not found.all():
            raise KeyError(int(ids[~found][0]))
        if not len(positions):
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._index.reconstruct_batch(positions)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = check_queries(np.ascontiguousarray(queries, dtype=np.float32), self.dim)
        dead = len(self._labels) - len(self)
        fetch = min(len(self._labels), k + min(dead, 10 * k))
        out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(queries), k), -1, dtype=np.int64)
        if fetch == 0 or k <= 0:
            return out_s, out_i
        self._index.hnsw.efSearch = max(self.ef_search, fetch)
        scores, pos = self._index.search(queries, fetch)
        for row in range(len(queries)):
            ok = (pos[row] >= 0)
            ok[ok] &= self._alive[pos[row][ok]]
            s, p = scores[row][ok][:k], pos[row][ok][:k]
            out_s[row, : len(s)], out_i[row, : len(p)] = s, self._labels[p]
        return out_s, out_i

    def save(self, path: Path) -> None:
        faiss = _faiss()
        atomic_write_bytes(Path(path) / "hnsw.faiss", faiss.serialize_index(self._index).tobytes())
        buf = io.BytesIO()
        np.savez(buf, labels=self._labels, alive=self._alive)
        atomic_write_bytes(Path(path) / "hnsw_ids.npz", buf.getvalue())
        write_meta(Path(path), {"kind": self.kind, "dim": self.dim, "count": len(self), "ef_search": self.ef_search})

    @classmethod
    def load(cls, path: Path) -> "HnswIndex":
        faiss = _faiss()
        index = cls.__new__(cls)
        raw = np.frombuffer((Path(path) / "hnsw.faiss").read_bytes(), dtype=np.uint8)
        index._index = faiss.deserialize_index(raw)
        meta = json.loads((Path(path) / "meta.json").read_text())
        index.dim, index.ef_search = index._index.d, int(meta.get("ef_search", 64))
        with np.load(Path(path) / "hnsw_ids.npz") as data:
            index._labels, index._alive = data["labels"], data["alive"].copy()
        index._positions, index._count = IdPositions(), int(index._alive.sum())
        return index
