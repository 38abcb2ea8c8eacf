"""HnswIndex gives its stored vectors back (the filtered query by example reads them)."""

from __future__ import annotations

import numpy as np
import pytest

from soundseek.vindex.hnsw import HnswIndex


def test_vectors_of_returns_the_added_vectors_in_the_asked_order():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((20, 8)).astype(np.float32)
    index = HnswIndex(8)
    index.add(np.arange(100, 120), vectors)
    np.testing.assert_array_equal(index.vectors_of(np.asarray([119, 100, 105])), vectors[[19, 0, 5]])
    index.add(np.asarray([105]), np.ones((1, 8), np.float32))  # replaced: the new vector
    np.testing.assert_array_equal(index.vectors_of(np.asarray([105])), np.ones((1, 8), np.float32))
    index.remove(np.asarray([101]))
    with pytest.raises(KeyError):
        index.vectors_of(np.asarray([101]))
    assert index.vectors_of(np.asarray([], dtype=np.int64)).shape == (0, 8)
