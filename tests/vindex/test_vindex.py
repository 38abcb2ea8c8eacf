from __future__ import annotations

import numpy as np
import pytest

from soundseek.vindex import ExactIndex, load_index, make_index
from soundseek.vindex.hnsw import HnswIndex


def _clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dim))
    x = centres[rng.integers(0, 50, n)] + 0.3 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_matches_brute_force_and_orders_scores():
    x = _clustered(500, 16)
    index = ExactIndex(16)
    index.add(np.arange(500) + 1000, x)
    scores, ids = index.search(x[:5], 10)
    brute = np.argsort(-(x[:5] @ x.T), axis=1)[:, :10] + 1000
    assert np.array_equal(ids, brute)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)


def test_k_larger_than_index_pads_with_minus_one():
    index = ExactIndex(4)
    index.add(np.array([7]), np.ones((1, 4), np.float32) / 2)
    scores, ids = index.search(np.ones((1, 4), np.float32), 3)
    assert ids.tolist() == [[7, -1, -1]] and np.isinf(scores[0, 1])


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_remove_replace_save_load(tmp_path, kind):
    x = _clustered(300, 8)
    index = make_index(8, kind=kind)
    index.add(np.arange(300), x)
    index.remove(np.array([0, 1, 2]))
    assert len(index) == 297
    _, ids = index.search(x[:1], 5)
    assert 0 not in ids
    index.add(np.array([5]), x[:1])  # replace id 5's vector with x[0]
    _, ids = index.search(x[:1], 1)
    assert ids[0, 0] == 5
    index.save(tmp_path / "idx")
    loaded = load_index(tmp_path / "idx")
    assert loaded.kind == kind and len(loaded) == 297
    assert np.array_equal(loaded.search(x[10:12], 5)[1], index.search(x[10:12], 5)[1])


def test_hnsw_recall_at_10_against_exact():
    data = _clustered(20200, 64, seed=1)
    x, q = data[:20000], data[20000:]  # held-out queries from the same mixture
    exact, hnsw = ExactIndex(64), HnswIndex(64)
    exact.add(np.arange(len(x)), x)
    hnsw.add(np.arange(len(x)), x)
    truth, got = exact.search(q, 10)[1], hnsw.search(q, 10)[1]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got)])
    assert recall >= 0.95


def test_make_index_picks_backend_by_size():
    assert make_index(8, expected_size=10).kind == "exact"
    assert make_index(8, expected_size=10**6).kind != "exact"


@pytest.mark.parametrize("kind", ["exact", "hnsw", "ivfpq", "lsh", "compact"])
def test_query_of_the_wrong_dimension_is_an_error(kind):
    from soundseek.errors import CollectionError

    index = make_index(8, kind=kind)
    index.add(np.arange(20), _clustered(20, 8))
    with pytest.raises(CollectionError, match="8-d"):
        index.search(np.ones(16, np.float32), 3)  # not silently read as two 8-d queries
