"""Exact maximum-inner-product search with NumPy: the reference every other backend is tested against."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from soundseek.vindex.base import atomic_write_bytes, check_queries, write_meta


class ExactIndex:
    """Brute-force search over a dense (n, dim) float32 matrix."""

    kind = "exact"

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, dim), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        self.remove(ids)
        self._ids = np.concatenate([self._ids, ids])
        self._vectors = np.concatenate([self._vectors, vectors])

    def remove(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        if not keep.all():
            self._ids, self._vectors = self._ids[keep], self._vectors[keep]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = check_queries(np.asarray(queries, dtype=np.float32), self.dim)
        n = len(self._ids)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        if n == 0 or k <= 0:
            return scores, ids
        sims = queries @ self._vectors.T
        kk = min(k, n)
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk] if kk < n else np.tile(np.arange(n), (len(queries), 1))
        top_scores = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        scores[:, :kk] = np.take_along_axis(top_scores, order, axis=1)
        ids[:, :kk] = self._ids[np.take_along_axis(top, order, axis=1)]
        return scores, ids

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        """Stored vectors of `ids` in order (KeyError for an unknown id). Returns: (n, dim)."""
        pos = {int(i): p for p, i in enumerate(self._ids)}
        return self._vectors[[pos[int(i)] for i in ids]]

    def save(self, path: Path) -> None:
        buf = io.BytesIO()
        np.savez(buf, ids=self._ids, vectors=self._vectors)
        atomic_write_bytes(Path(path) / "exact.npz", buf.getvalue())
        write_meta(Path(path), {"kind": self.kind, "dim": self.dim, "count": len(self)})

    @classmethod
    def load(cls, path: Path) -> "ExactIndex":
        with np.load(Path(path) / "exact.npz") as data:
            index = cls(int(data["vectors"].shape[1]))
            index._ids, index._vectors = data["ids"], data["vectors"]
        return index
