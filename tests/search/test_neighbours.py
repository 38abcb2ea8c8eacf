"""Nearest named examples: the exact scan and the graph path for large libraries."""

from __future__ import annotations

import numpy as np

from soundseek.search.neighbours import nearest_examples


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dim))
    x = centres[rng.integers(0, 40, n)] + 0.5 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_scan_returns_the_true_neighbours():
    examples = np.eye(4, dtype=np.float32)
    queries = np.asarray([[0.8, 0.6, 0, 0], [0, 0, 0.6, 0.8]], np.float32)
    idx, sims = nearest_examples(queries, examples, k=2)
    assert [sorted(r) for r in idx.tolist()] == [[0, 1], [2, 3]]
    by_row = [dict(zip(i.tolist(), s.astype(float).tolist())) for i, s in zip(idx, sims)]
    assert by_row[0][0] == np.float16(0.8) and by_row[1][3] == np.float16(0.8)


def test_graph_path_finds_nearly_all_true_neighbours_with_exact_cosines():
    examples = _clustered(3000, 300, seed=1)
    queries = _clustered(500, 300, seed=2)
    truth, _ = nearest_examples(queries, examples, k=10)
    idx, sims = nearest_examples(queries, examples, k=10, exact_pairs=0)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth.tolist(), idx.tolist())])
    assert recall >= 0.9
    cosines = np.einsum("md,mkd->mk", queries, examples[idx])
    np.testing.assert_allclose(sims.astype(np.float32), cosines, atol=2e-3)  # float16 storage
    assert all(len(set(r)) == 10 for r in idx.tolist())


def test_fewer_examples_than_k():
    idx, sims = nearest_examples(np.ones((3, 2), np.float32) / np.sqrt(2), np.eye(2, dtype=np.float32), k=10)
    assert idx.shape == (3, 2) and sims.shape == (3, 2)
