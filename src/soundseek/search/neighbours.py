"""The k acoustically nearest named examples of every segment, for the library model (search/library.py).

Exact search costs queries x examples x dimensions: 2,000 clips is 4 million pairs (a second), but a
library of 100k named segments is 10 billion pairs of 1,545-d vectors, hours of CPU and gigabytes of
similarity rows. Below `EXACT_PAIRS` pairs FAISS scans them all (blocked, a heap per query). Above it the
examples go into an HNSW graph built on their projection onto the main singular directions; each query
takes `CANDIDATES` candidates from the graph and re-scores them with the full features, so the returned
similarities are exact cosines and only the choice of neighbours is approximate (recall@10 >= 0.9 in the
tests, on synthetic data harder than audio features).
"""

from __future__ import annotations

import numpy as np

#: Query x example pairs scanned exactly; above it the approximate search (same answers for any
#: library up to ~14k named segments against all of its segments).
EXACT_PAIRS = 200_000_000
#: Dimensions of the projection the graph is built on, and candidates re-scored per query.
PROJECTED_DIM = 128
CANDIDATES = 128
#: Elements of one block of gathered candidate features (100 MB of float32).
RESCORE_ELEMENTS = 25_000_000
#: Rows used to fit the projection (a seeded sample of the examples).
PCA_SAMPLE = 20_000


def nearest_examples(queries: np.ndarray, examples: np.ndarray, *, k: int = 10, exact_pairs: int = EXACT_PAIRS,
                     rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar examples (cosine; rows are unit vectors) of each query row. `rows`: the
    examples are `examples[rows]` (the approximate search reads them in place: no copy of a
    million-row matrix).

    Returns: (m, k) int32 positions among the examples, and (m, k) float16 cosines to them.
    """
    rows = np.arange(len(examples)) if rows is None else np.asarray(rows, dtype=np.int64)
    k = min(k, len(rows))
    if k == 0 or len(queries) == 0:
        return np.zeros((len(queries), k), np.int32), np.zeros((len(queries), k), np.float16)
    if len(queries) * len(rows) <= exact_pairs or len(rows) <= CANDIDATES:
        return _exact(queries, examples[rows], k)
    return _approximate(queries, examples, rows, k)


def _exact(queries: np.ndarray, examples: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A full scan (FAISS's blocked inner products with a heap per query: no n x e matrix in memory)."""
    from soundseek.vindex.hnsw import _faiss

    faiss = _faiss()
    sims, idx = faiss.knn(np.ascontiguousarray(queries, dtype=np.float32),
                          np.ascontiguousarray(examples, dtype=np.float32), k, metric=faiss.METRIC_INNER_PRODUCT)
    return idx.astype(np.int32), sims.astype(np.float16)


def _approximate(queries: np.ndarray, examples: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    from soundseek.vindex.hnsw import _faiss

    faiss = _faiss()
    basis = _projection(examples, rows)
    graph = faiss.IndexHNSWFlat(basis.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = 64
    step = max(1, RESCORE_ELEMENTS // examples.shape[1])
    graph.add(np.concatenate([_project(examples[rows[lo : lo + step]], basis) for lo in range(0, len(rows), step)]))
    graph.hnsw.efSearch = CANDIDATES
    idx = np.zeros((len(queries), k), dtype=np.int32)
    sims = np.zeros((len(queries), k), dtype=np.float16)
    block_rows = max(1, RESCORE_ELEMENTS // (CANDIDATES * examples.shape[1]))
    for start in range(0, len(queries), block_rows):
        block = queries[start : start + block_rows]
        _, candidates = graph.search(_project(block, basis), CANDIDATES)
        candidates = np.maximum(candidates, 0)  # -1 (fewer reachable than asked) repeats example 0
        exact = np.matmul(examples[rows[candidates]], block[:, :, None])[:, :, 0]  # (block, CANDIDATES) cosines
        best = np.argpartition(-exact, k - 1, axis=1)[:, :k]
        idx[start : start + block_rows] = np.take_along_axis(candidates, best, axis=1)
        sims[start : start + block_rows] = np.take_along_axis(exact, best, axis=1)
    return idx, sims


def _projection(examples: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The main directions of a seeded sample of the examples (eigenvectors of its uncentred Gram
    matrix: for unit rows, x P P^T y approximates the cosine x y). Returns a (D, PROJECTED_DIM) basis."""
    rng = np.random.default_rng(0)
    sample = examples[rows[rng.choice(len(rows), min(PCA_SAMPLE, len(rows)), replace=False)]].astype(np.float64)
    _, vectors = np.linalg.eigh(sample.T @ sample)  # ascending eigenvalues
    return np.ascontiguousarray(vectors[:, ::-1][:, :PROJECTED_DIM], dtype=np.float32)


def _project(rows: np.ndarray, basis: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rows @ basis, dtype=np.float32)
