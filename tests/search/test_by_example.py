"""The index-side pieces of query by example (search/by_example.py)."""

from __future__ import annotations

import numpy as np

from soundseek.search.by_example import lookup


def test_lookup_gives_the_values_at_their_rows_and_minus_infinity_elsewhere() -> None:
    score_of = lookup(np.asarray([7, 2, 5]), np.asarray([0.7, 0.2, 0.5], dtype=np.float32))
    np.testing.assert_allclose(score_of(np.asarray([2, 3, 7, 9])), [0.2, -np.inf, 0.7, -np.inf])
    assert np.isneginf(lookup(np.zeros(0, np.int64), np.zeros(0, np.float32))(np.asarray([1, 2]))).all()
