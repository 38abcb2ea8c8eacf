"""The rows of a matrix with the largest inner products with a query: exact scan when small, else lists.

Text search asks this of three matrices of unit rows (the library model's predicted words per segment,
the distinct words of its named examples, the distinct words of the sounds). Below `EXACT_ROWS` rows a
matrix-vector product is a fraction of a millisecond and the matrix is kept as it is. Above it:

* the rows are kept as 8-bit codes, one byte per dimension (each dimension's range in 255 steps): 384
  bytes for a 384-d row instead of 1,536; the similarity of any row is computed from its codes
  (`scores`: a product of the codes with the query scaled per dimension, no decoding);
* candidates come from a FAISS inverted file over the rows' `PROJECTED` main directions (uncentred
  PCA: q.x ~ (qP).(Px)), 8-bit codes too, k-means lists, `4 * sqrt(n)` of them, `PROBES` visited per
  query; its best `RETRIEVE` rows are re-scored with the full codes, so only the choice of candidates
  is approximate (the best rows lie in the projection's span to 95-98% of their variance).

Both are cached under `index/<name>/` with a key of what the matrix was computed from; the codes are
a memory-mapped .npy, shared by the processes that serve one collection.
"""

from __future__ import annotations

import hashlib
import io
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
#: Main directions the candidate lists search in, and rows they propose per query (at least).
PROJECTED = 64
RETRIEVE = 512


class InnerProductSearch:
    """Top-k inner products of a query with the rows of a matrix: `matrix` (float32) scanned exactly, or
    `codes` (n, d) uint8 with `low` + code * `step` per dimension, searched through `ivf` over `projection`."""

    def __init__(self, matrix: np.ndarray | None, *, codes: np.ndarray | None = None, low: np.ndarray | None = None,
                 step: np.ndarray | None = None, projection: np.ndarray | None = None, ivf: Any = None) -> None:
        self.matrix = None if matrix is None else np.ascontiguousarray(matrix, dtype=np.float32)
        self.codes, self.low, self.step, self.projection, self.ivf = codes, low, step, projection, ivf

    def __len__(self) -> int:
        return len(self.matrix) if self.matrix is not None else len(self.codes)

    @property
    def exact(self) -> bool:
        return self.matrix is not None

    def scores(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Inner products of `query` with the rows at `rows`. Returns (k,) float32."""
        rows = np.asarray(rows, dtype=np.int64)
        q = np.asarray(query, dtype=np.float32)
        if self.matrix is not None:
            return _rows(self.matrix, rows) @ q
        return _rows(self.codes, rows).astype(np.float32) @ (q * self.step) + np.float32(self.low @ q)

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The rows (decoded from their codes). Returns (k, dim) float32."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.matrix is not None:
            return _rows(self.matrix, rows)
        return _rows(self.codes, rows).astype(np.float32) * self.step + self.low

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
        else:
            _, found = self.ivf.search((q @ self.projection)[None, :], max(RETRIEVE, 2 * k))
            found = found[0][found[0] >= 0]
            scored = self.scores(found, q)
            best = np.argsort(-scored, kind="stable")[:k]
            return found[best].astype(np.int64), scored[best]
        rows = part[np.argsort(-sims[part], kind="stable")]
        return rows.astype(np.int64), sims[rows]

    def above(self, query: np.ndarray, floor: float, k: int, *, ordered: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The rows whose inner product with `query` exceeds `floor`, best first (`ordered`; else in
        any order, which spares an exact scan's sort): all of them when the scan is exact, else those
        among the k best found by the lists."""
        if self.matrix is not None:
            sims = self.matrix @ np.asarray(query, dtype=np.float32)
            rows = np.flatnonzero(sims > floor)
            if ordered:
                rows = rows[np.argsort(-sims[rows], kind="stable")]
            return rows.astype(np.int64), sims[rows]
        rows, sims = self.top(query, k)
        keep = sims > floor
        return rows[keep], sims[keep]


def _rows(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """matrix[rows] for int64 row indices: np.take copies whole rows, about twice as fast as fancy
    indexing on 2-d arrays (a few thousand rows of 384 bytes: 0.19 against 0.37 ms at 1M)."""
    return np.take(matrix, rows, axis=0)


def build_inner_search(matrix: np.ndarray, *, exact_rows: int = EXACT_ROWS, seed: int = 0) -> InnerProductSearch:
    """An exact scan below `exact_rows` rows, else 8-bit codes and inverted lists over the main directions."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    if len(matrix) < max(exact_rows, 1):
        return InnerProductSearch(matrix)
    import faiss

    rng = np.random.default_rng(seed)
    low = matrix.min(axis=0)
    step = np.maximum(matrix.max(axis=0) - low, 1e-12) / 255.0
    codes = np.empty(matrix.shape, dtype=np.uint8)
    for start in range(0, len(matrix), 65_536):
        block = matrix[start : start + 65_536]
        codes[start : start + len(block)] = np.clip(np.rint((block - low) / step), 0, 255)
    sample = matrix[np.sort(rng.permutation(len(matrix))[:20_000])]
    dims = min(PROJECTED, matrix.shape[1])
    projection = np.ascontiguousarray(np.linalg.svd(sample, full_matrices=False)[2][:dims].T, dtype=np.float32)
    n_lists = max(16, int(4 * math.sqrt(len(matrix))))
    ivf = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dims), dims, n_lists, faiss.ScalarQuantizer.QT_8bit,
                                        faiss.METRIC_INNER_PRODUCT)
    ivf.cp.min_points_per_centroid = 1  # a sample of 32 per list is enough to place the lists
    train = np.sort(rng.permutation(len(matrix))[: n_lists * TRAIN_PER_LIST])
    ivf.train(matrix[train] @ projection)
    for start in range(0, len(matrix), 65_536):
        ivf.add(matrix[start : start + 65_536] @ projection)
    ivf.nprobe = min(PROBES, n_lists)
    return InnerProductSearch(None, codes=codes, low=low.astype(np.float32), step=step.astype(np.float32),
                              projection=projection, ivf=ivf)


def cached_inner_search(folder: Path, name: str, key: str, rows: int, matrix_of: Callable[[], np.ndarray],
                        *, exact_rows: int = EXACT_ROWS) -> InnerProductSearch:
    """`build_inner_search(matrix_of())` for a matrix of `rows` rows, cached under `folder/<name>/` with
    `key` (what the matrix is computed from: the caller's generation and identity); with a valid cache
    the matrix is never computed. A stale or unreadable cache is rebuilt."""
    if rows < max(exact_rows, 1):
        return InnerProductSearch(matrix_of())
    import faiss

    where = folder / name
    stamp = {"key": key, "rows": rows, "projected": PROJECTED}
    try:
        if json.loads((where / "stamp.json").read_text()) == stamp:
            codes = mapped(where / "codes.npy")
            with np.load(where / "params.npz") as params:
                low, step, projection = params["low"], params["step"], params["projection"]
            ivf = faiss.deserialize_index(np.frombuffer((where / "lists.ivf").read_bytes(), dtype=np.uint8))
            if ivf.ntotal == rows and codes.shape[0] == rows:
                ivf.nprobe = min(PROBES, ivf.nlist)
                return InnerProductSearch(None, codes=codes, low=low, step=step, projection=projection, ivf=ivf)
    except (OSError, ValueError, KeyError, RuntimeError):
        pass
    built = build_inner_search(matrix_of(), exact_rows=exact_rows)
    try:
        where.mkdir(parents=True, exist_ok=True)
        (where / "stamp.json").unlink(missing_ok=True)  # invalid while the parts are replaced
        atomic_write_bytes(where / "codes.npy", _npy(built.codes))
        buf = io.BytesIO()
        np.savez(buf, low=built.low, step=built.step, projection=built.projection)
        atomic_write_bytes(where / "params.npz", buf.getvalue())
        atomic_write_bytes(where / "lists.ivf", faiss.serialize_index(built.ivf).tobytes())
        atomic_write_bytes(where / "stamp.json", json.dumps(stamp).encode())
        built.codes = mapped(where / "codes.npy")  # shared with other processes from now on
    except OSError:
        pass  # a read-only collection still searches; it rebuilds the lists per process
    return built


def mapped(path: Path) -> np.ndarray:
    """A .npy file memory-mapped read-only, as a plain ndarray (np.memmap's indexing adds Python
    overhead to every gather: ~1.5 ms a query here)."""
    return np.load(path, mmap_mode="r").view(np.ndarray)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def fingerprint(*parts: object, sample: np.ndarray | None = None) -> str:
    """A cache key from `parts` and a short hash of (a strided sample of) `sample`."""
    digest = ""
    if sample is not None:
        step = max(1, len(sample) // 256)
        digest = hashlib.sha1(np.ascontiguousarray(sample[::step]).tobytes()).hexdigest()[:16]
    return ":".join(str(p) for p in parts) + ":" + digest
