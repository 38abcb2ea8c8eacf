"""The rows of a matrix with the largest inner products with a query: exact scan when small, else an IVF.

Text search asks this of three matrices of unit rows (the library model's predicted words per segment,
the distinct words of its named examples, the distinct words of the sounds). Below `EXACT_ROWS` rows a
matrix-vector product is a fraction of a millisecond; above it, a FAISS inverted file (k-means lists,
`4 * sqrt(n)` of them, `PROBES` visited per query) scans 1-4% of the rows. Only the choice of rows is
approximate: their similarities are exact inner products. The trained lists are cached on disk with
the collection generation they were built from (training takes seconds at 100k rows).

The lists hold their rows as 8-bit scalar codes (per-dimension range, FAISS QT_8bit): 384 bytes for a
384-d row instead of 1,536, and the only copy kept in memory (`vectors(rows)` decodes them), so the
similarities of listed rows are those of the decoded rows (a step of 1/255 of each dimension's range).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from soundseek.vindex.base import atomic_write_bytes

#: Matrices with fewer rows than this are scanned exactly.
EXACT_ROWS = 40_000
#: Lists visited per query, and k-means training points per list.
PROBES = 48
TRAIN_PER_LIST = 32


class InnerProductSearch:
    """Top-k inner products of a query with the rows of a matrix: `matrix` (float32) scanned exactly,
    or `ivf` (FAISS inverted lists of 8-bit codes with a direct map) and no matrix."""

    def __init__(self, matrix: np.ndarray | None, ivf: Any = None) -> None:
        self.matrix = None if matrix is None else np.ascontiguousarray(matrix, dtype=np.float32)
        self.ivf = ivf

    def __len__(self) -> int:
        return int(self.ivf.ntotal) if self.matrix is None else len(self.matrix)

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The rows (decoded from their codes in the lists). Returns (k, dim) float32."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.matrix is not None:
            return self.matrix[rows]
        if not len(rows):
            return np.zeros((0, self.ivf.d), dtype=np.float32)
        return self.ivf.reconstruct_batch(rows)

    @property
    def exact(self) -> bool:
        return self.ivf is None

    def top(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The (at most) k rows with the largest inner product, best first, and those products.

        Returns: rows (j,) int64, similarities (j,) float32, j <= k."""
        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(query, dtype=np.float32)
        if self.matrix is not None:
            sims = self.matrix @ q
            part = np.argpartition(sims, len(sims) - k)[len(sims) - k:] if k < len(sims) else np.arange(len(sims))
            rows = part[np.argsort(-sims[part], kind="stable")]
            return rows.astype(np.int64), sims[rows]
        sims, rows = self.ivf.search(q[None, :], k)
        ok = rows[0] >= 0
        return rows[0][ok].astype(np.int64), sims[0][ok].astype(np.float32)


    def above(self, query: np.ndarray, floor: float, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows whose inner product with `query` exceeds `floor`, best first: all of them when the
        scan is exact, else those among the k best found by the lists."""
        if self.matrix is not None:
            sims = self.matrix @ np.asarray(query, dtype=np.float32)
            rows = np.flatnonzero(sims > floor)
            rows = rows[np.argsort(-sims[rows], kind="stable")]
            return rows.astype(np.int64), sims[rows]
        rows, sims = self.top(query, k)
        keep = sims > floor
        return rows[keep], sims[keep]


def build_inner_search(matrix: np.ndarray, *, exact_rows: int = EXACT_ROWS, seed: int = 0) -> InnerProductSearch:
    """An exact scan below `exact_rows` rows, else a trained IVF over the rows (inner-product metric)."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    if len(matrix) < max(exact_rows, 1):
        return InnerProductSearch(matrix)
    import faiss

    n_lists = max(16, int(4 * math.sqrt(len(matrix))))
    quantizer = faiss.IndexFlatIP(matrix.shape[1])
    ivf = faiss.IndexIVFScalarQuantizer(quantizer, matrix.shape[1], n_lists, faiss.ScalarQuantizer.QT_8bit,
                                        faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(seed).permutation(len(matrix))[: n_lists * TRAIN_PER_LIST]
    ivf.cp.min_points_per_centroid = 1  # a sample of 32 per list is enough to place the lists
    ivf.train(matrix[np.sort(sample)])
    ivf.add(matrix)
    ivf.make_direct_map()
    ivf.nprobe = min(PROBES, n_lists)
    return InnerProductSearch(None, ivf)


def cached_inner_search(folder: Path, name: str, key: str, rows: int, matrix_of: Callable[[], np.ndarray],
                        *, exact_rows: int = EXACT_ROWS) -> InnerProductSearch:
    """`build_inner_search(matrix_of())` for a matrix of `rows` rows, its lists cached as
    `folder/<name>.ivf` under `key` (what the matrix is computed from: the caller's generation and
    identity); with a valid cache the matrix is never computed. A stale or unreadable cache is rebuilt."""
    if rows < max(exact_rows, 1):
        return InnerProductSearch(matrix_of())
    import faiss

    path, stamp = folder / f"{name}.ivf", folder / f"{name}.ivf.json"
    try:
        if json.loads(stamp.read_text()) == {"key": key, "rows": rows}:
            ivf = faiss.deserialize_index(np.frombuffer(path.read_bytes(), dtype=np.uint8))
            if ivf.ntotal == rows:
                ivf.make_direct_map()
                ivf.nprobe = min(PROBES, ivf.nlist)
                return InnerProductSearch(None, ivf)
    except (OSError, ValueError, RuntimeError):
        pass
    built = build_inner_search(matrix_of(), exact_rows=exact_rows)
    try:
        atomic_write_bytes(path, faiss.serialize_index(built.ivf).tobytes())
        atomic_write_bytes(stamp, json.dumps({"key": key, "rows": rows}).encode())
    except OSError:
        pass  # a read-only collection still searches; it rebuilds the lists per process
    return built


def fingerprint(*parts: object, sample: np.ndarray | None = None) -> str:
    """A cache key from `parts` and a short hash of (a strided sample of) `sample`."""
    digest = ""
    if sample is not None:
        step = max(1, len(sample) // 256)
        digest = hashlib.sha1(np.ascontiguousarray(sample[::step]).tobytes()).hexdigest()[:16]
    return ":".join(str(p) for p in parts) + ":" + digest
