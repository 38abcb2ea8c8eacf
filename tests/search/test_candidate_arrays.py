"""The array steps of the candidate path against the plain NumPy they replace: equal to the bit."""

from __future__ import annotations

import numpy as np
import pytest

from soundseek.search.candidates import _unit_rows, best_first
from soundseek.search.class_codes import STEP, ClassScores
from soundseek.search.knn_slots import knn_of_users, neighbour_slots, row_means, sort_order, sorted_ints
from soundseek.search.library import WORD_FLOOR, knn_scores


@pytest.mark.parametrize("n, k", [(0, 3), (5, 0), (5, 10), (300, 1), (300, 7), (3000, 256), (3000, 5000),
                                  (70_000, 1), (70_000, 256), (200_000, 256)])
@pytest.mark.parametrize("spread", [6, 1_000_000])
def test_best_first_is_the_head_of_a_stable_argsort(n, k, spread) -> None:
    rng = np.random.default_rng(n + k)
    values = rng.integers(0, spread, n).astype(np.float32)  # spread 6: many ties, broken by position
    values[rng.random(n) < 0.1] = -0.0
    np.testing.assert_array_equal(best_first(values, k), np.argsort(-values, kind="stable")[:k])


@pytest.mark.parametrize("n", [5, 100_000])
def test_best_first_with_nans_takes_them_last_in_position_order(n) -> None:
    rng = np.random.default_rng(n)
    values = rng.random(n).astype(np.float32)
    values[rng.random(n) < 0.5] = np.nan
    values[-3:] = np.nan
    for k in [0, 1, 2, 4, 5, 300, n // 2, n]:
        np.testing.assert_array_equal(best_first(values, k), np.argsort(-values, kind="stable")[:k])
    mostly_nan = np.full(n, np.nan, dtype=np.float32)
    mostly_nan[::97] = 1.0  # the sample's floor is NaN: every value is ranked
    np.testing.assert_array_equal(best_first(mostly_nan, 3), np.argsort(-mostly_nan, kind="stable")[:3])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n", [0, 10, 5000])
def test_sort_order_is_a_stable_argsort(dtype, n) -> None:
    rng = np.random.default_rng(n)
    x = rng.integers(0, 2**31 - 1, n).astype(dtype)
    x[::7] = x[0] if n else 0  # repeated values
    np.testing.assert_array_equal(sort_order(x), np.argsort(x, kind="stable"))
    np.testing.assert_array_equal(sorted_ints(x), np.sort(x))
    runs = np.concatenate([np.sort(x[: n // 2]), np.sort(x[n // 2 :])])  # two ascending runs: merged
    np.testing.assert_array_equal(sort_order(runs), np.argsort(runs, kind="stable"))
    x[::3] = -x[::3]  # negatives take NumPy's own sort
    np.testing.assert_array_equal(sort_order(x), np.argsort(x, kind="stable"))
    np.testing.assert_array_equal(sorted_ints(x), np.sort(x))


@pytest.mark.parametrize("k", [1, 2, 7, 8, 9, 10, 15, 16, 17, 25, 64, 128, 129])
@pytest.mark.parametrize("n", [1, 3, 2000])
def test_row_means_are_numpys_to_the_bit(k, n) -> None:
    rng = np.random.default_rng(k * 1000 + n)
    rows = (rng.random((n, k), dtype=np.float32) - 0.3) * rng.choice([1e-3, 1.0, 1e3], (n, k)).astype(np.float32)
    rows[rng.random((n, k)) < 0.6] = 0
    got = row_means(np.ascontiguousarray(rows.T))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, rows.mean(axis=1))


@pytest.mark.parametrize("k", [1, 10, 12])
@pytest.mark.parametrize("matching_share", [0.01, 0.3])  # few slots and many (sorted by radix)
def test_knn_of_users_is_knn_scores_where_it_is_not_zero(k, matching_share) -> None:
    rng = np.random.default_rng(k)
    m, e = 4000, 300
    neighbours = rng.integers(0, e, (m, k)).astype(np.int32)
    sims = rng.uniform(-0.2, 1.0, (m, k)).astype(np.float16)
    example_similarity = np.where(rng.random(e) < matching_share, rng.uniform(0.5, 1.0, e), rng.uniform(-0.5, 0.5, e))
    example_similarity = example_similarity.astype(np.float32)
    want = knn_scores(example_similarity, neighbours, sims)
    starts, slots = neighbour_slots(neighbours, e)
    matching = np.flatnonzero(example_similarity > WORD_FLOOR)
    weights = np.zeros(e, dtype=np.float32)
    weights[matching] = np.clip((example_similarity[matching] - WORD_FLOOR) / (1 - WORD_FLOOR), 0, 1)
    users, knn = knn_of_users(starts, slots, sims.reshape(-1), k, matching, weights)
    np.testing.assert_array_equal(users, np.flatnonzero(np.isin(neighbours, matching).any(axis=1)))
    np.testing.assert_array_equal(knn, want[users])
    assert not want[np.setdiff1d(np.arange(m), users)].any()
    assert len(knn_of_users(starts, slots, sims.reshape(-1), k, matching[:0], weights)[0]) == 0


def test_neighbour_slots_list_each_example_in_row_order() -> None:
    neighbours = np.array([[2, 0], [0, 0], [1, 2]], dtype=np.int32)
    starts, slots = neighbour_slots(neighbours, 4)
    assert starts.tolist() == [0, 3, 4, 6, 6]
    assert slots.tolist() == [1, 2, 3, 4, 0, 5] and slots.dtype == np.int32


def test_class_scores_read_as_before() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, (500, 37)).astype(np.uint8)
    scores = ClassScores(codes)
    rows, classes = np.array([4, 4, 499, 0, 17]), np.array([36, 2, 5])
    want = codes[np.ix_(rows, classes)].T.astype(np.float32) * np.float32(STEP)
    for scored in (scores, ClassScores(np.asfortranarray(codes))):  # strided codes take the 2-d gather
        got = scored.at(classes, rows)
        np.testing.assert_array_equal(got, want)
        assert got.flags.f_contiguous  # the layout the weighted sum of the classes was always given
    np.testing.assert_array_equal(scores.rows(rows), codes[rows].astype(np.float32) * np.float32(STEP))


def test_weighted_class_sum_is_the_zero_shot_score() -> None:
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 256, (300, 21)).astype(np.uint8)
    rows, classes, weights = np.array([7, 299, 0, 7, 150]), np.array([20, 3, 11]), np.array([0.5, 0.3, 0.2])
    # by hand: each row's codes of the three classes, times the step, weighted
    want = [sum(w * int(codes[r, c]) * STEP for c, w in zip(classes, weights)) for r in rows]
    for scores in (ClassScores(codes), ClassScores(np.asfortranarray(codes))):
        got = scores.weighted_sum(classes, weights.astype(np.float32), rows)
        assert got.dtype == np.float32 and got.tolist() == pytest.approx(want, rel=1e-6)
    assert ClassScores(codes).weighted_sum(classes, weights, np.zeros(0, dtype=np.int64)).shape == (0,)


def test_unit_rows_are_l2_normalize() -> None:
    from soundseek.encoders.base import l2_normalize

    x = np.random.default_rng(4).random((50, 521), dtype=np.float32)
    x[3] = 0
    want = l2_normalize(x)
    np.testing.assert_array_equal(_unit_rows(x.copy()), want)
    np.testing.assert_array_equal(_unit_rows(x[:10].mean(axis=0)), l2_normalize(x[:10].mean(axis=0)))
