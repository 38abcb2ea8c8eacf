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


def test_ids_are_found_without_a_dict_after_removals_and_repeats(tmp_path):
    vectors = np.eye(6, 8, dtype=np.float32)
    index = HnswIndex(8)
    index.add(np.asarray([30, 10, 20]), vectors[:3])  # not in id order: a sorted copy of the ids is searched
    index.add(np.asarray([40, 40]), vectors[3:5])  # a repeated id: its last vector wins, counted once
    assert len(index) == 4
    np.testing.assert_array_equal(index.vectors_of(np.asarray([40, 10])), vectors[[4, 1]])
    index.remove(np.asarray([20, 20, 99]))  # repeated and unknown ids: removed once, ignored
    assert len(index) == 3
    index.add(np.asarray([20]), vectors[5:6])  # back again, with another vector
    np.testing.assert_array_equal(index.vectors_of(np.asarray([20])), vectors[5:6])
    scores, ids = index.search(vectors[5], 1)
    assert ids.tolist() == [[20]]
    index.save(tmp_path)
    loaded = HnswIndex.load(tmp_path)
    assert len(loaded) == 4
    np.testing.assert_array_equal(loaded.vectors_of(np.asarray([20, 30])), vectors[[5, 0]])
    with pytest.raises(KeyError):
        loaded.vectors_of(np.asarray([10, 55]))


def test_id_positions_in_order_need_no_copy():
    from soundseek.vindex.base import IdPositions

    labels = np.asarray([3, 5, 9], dtype=np.int64)
    lookup = IdPositions()
    found, positions = lookup.find(labels, np.ones(3, dtype=bool), np.asarray([9, 4, 3]))
    assert found.tolist() == [True, False, True] and positions.tolist() == [2, 0]
    assert lookup._sorted[0] is labels  # ids appended in order and none dead: the labels themselves
    alive = np.asarray([True, False, True])
    lookup.changed()
    found, positions = lookup.find(labels, alive, np.asarray([5, 9]))
    assert found.tolist() == [False, True] and positions.tolist() == [2]
    assert IdPositions().find(labels[:0], alive[:0], np.asarray([1]))[0].tolist() == [False]


def test_appending_new_ids_keeps_the_lookup_without_sorting_again():
    vectors = np.eye(8, 8, dtype=np.float32)
    index = HnswIndex(8)
    index.add(np.asarray([1, 2, 3]), vectors[:3])
    index.vectors_of(np.asarray([1]))
    index.add(np.asarray([4, 5]), vectors[3:5])  # a crawl's next sound: above every id
    assert index._positions._sorted[1] is None  # still the labels themselves
    index.remove(np.asarray([2]))
    index.vectors_of(np.asarray([1]))  # sorted again once, without the dead position
    index.add(np.asarray([6]), vectors[5:6])
    assert index._positions._sorted is not None  # extended, not dropped
    index.add(np.asarray([0]), vectors[6:7])  # below the others: sorted again on the next lookup
    assert index._positions._sorted is None
    np.testing.assert_array_equal(index.vectors_of(np.asarray([6, 0, 5, 1])), vectors[[5, 6, 4, 0]])
    with pytest.raises(KeyError):
        index.vectors_of(np.asarray([2]))
    assert len(index) == 6
