"""The search state: segment table, class-score matrix and the vector-index cache, on hand-made data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from standins import add_sound, tiny_collection

from soundseek.search.state import (
    load_class_scores,
    load_search_state,
    load_segment_table,
    load_vector_index,
)


@pytest.fixture()
def coll(tmp_path):
    coll = tiny_collection(tmp_path / "c", ["Dog", "Rain"])
    add_sound(coll, "/a.wav", [([1, 0], [0.9, 0.0]), ([0, 1], [0.0, 0.5])], text="dog park")
    add_sound(coll, "/b.wav", [([1, 1], [0.2, 0.2])])
    return coll


def test_segment_table_rows_and_sounds(coll) -> None:
    table = load_segment_table(coll)
    assert table.ids.tolist() == [1, 2, 3] and table.sound_ids.tolist() == [1, 1, 2]
    assert table.starts.tolist() == [0.0, 5.0, 0.0] and table.durations.tolist() == [10.0, 10.0, 5.0]
    assert table.paths.tolist() == ["/a.wav", "/a.wav", "/b.wav"]
    assert table.per_sound_to_segments(np.array([7.0, 9.0])).tolist() == [7.0, 7.0, 9.0]
    assert table.positions(np.array([3, 1])).tolist() == [2, 0]
    assert table.paths[0] is table.paths[1]  # one string per sound, not per segment
    assert table.sound_rows.dtype == np.int32 and table.sound_rows.tolist() == [0, 0, 1]
    assert table.rows_of_sounds(np.array([1, 0])).tolist() == [2, 0, 1]


def test_class_scores_are_class_major_and_aligned(coll) -> None:
    matrix = load_class_scores(coll, load_segment_table(coll), 2)
    assert matrix.shape == (2, 3)
    assert matrix[0].tolist() == pytest.approx([0.9, 0.0, 0.2], abs=1e-3)
    state = load_search_state(coll, "tiny", ["Dog", "Rain"])
    # one byte per class and segment: code = round(log(1 + p / 1e-3) / (log(1001) / 255)), segment-major
    step = np.log(1001) / 255
    assert state.class_scores.codes.tolist() == [[251, 0], [0, 229], [196, 196]]
    assert round(np.log1p(0.9 / 1e-3) / step) == 251 and round(np.log1p(0.5 / 1e-3) / step) == 229
    assert state.class_scores.at(np.array([1]), np.array([1, 2]))[0].tolist() == pytest.approx([229 * step, 196 * step])
    assert state.class_scores.class_major()[0].tolist() == pytest.approx([251 * step, 0.0, 196 * step])
    cached = list((coll.root / "index").glob("class_codes-g*.npy"))
    assert [p.name for p in cached] == [f"class_codes-g{coll.generation}.npy"]
    add_sound(coll, "/c.wav", [([0, 1], [0.0, 0.9])])  # a new generation: new codes, the old file removed
    assert load_search_state(coll, "tiny", ["Dog", "Rain"]).class_scores.codes.shape == (4, 2)
    assert [p.name for p in (coll.root / "index").glob("class_codes-g*.npy")] == [f"class_codes-g{coll.generation}.npy"]


def test_best_rows_of_each_class_across_blocks(monkeypatch) -> None:
    from soundseek.search import class_codes
    from soundseek.search.class_codes import ClassScores

    monkeypatch.setattr(class_codes, "BLOCK", 3)  # 7 rows in blocks of 3: the merge across blocks is exercised
    codes = np.array([[5, 0], [9, 1], [1, 7], [8, 7], [2, 3], [9, 0], [0, 6]], dtype=np.uint8)
    best = ClassScores(codes).best_rows(3)
    assert best[0].tolist()[:1] in ([1], [5]) and sorted(best[0].tolist()) == [1, 3, 5]
    assert best[1].tolist()[2] == 6 and sorted(best[1].tolist()[:2]) == [2, 3]


def test_the_index_cache_follows_the_generation_and_the_chosen_kind(coll) -> None:
    index = load_vector_index(coll, "tiny")
    stamp = coll.root / "index" / "tiny" / "generation.json"
    assert json.loads(stamp.read_text()) == {"generation": coll.generation, "kind": None}
    assert index.kind == "exact" and len(index) == 3
    scores, ids = index.search(np.array([1.0, 0.0], np.float32), 1)
    assert ids[0].tolist() == [1] and scores[0][0] == pytest.approx(1.0)
    add_sound(coll, "/c.wav", [([0, 1], [0.0, 0.9])])  # a new generation: the cache is rebuilt
    assert len(load_vector_index(coll, "tiny")) == 4
    coll.set_meta("index_kind", "lsh")  # a recorded backend choice is honoured and rebuilds the cache
    assert load_vector_index(coll, "tiny").kind == "lsh"


def test_gather_lists_and_rows_of_sounds(coll) -> None:
    from soundseek.search.state import gather_lists

    starts, values = np.array([0, 2, 2, 5]), np.array([7, 8, 1, 2, 3])
    assert gather_lists(starts, values, np.array([2, 0])).tolist() == [1, 2, 3, 7, 8]
    assert gather_lists(starts, values, np.array([1])).tolist() == []
    table = load_segment_table(coll)
    assert table.rows_of_sounds(np.array([1, 0])).tolist() == [2, 0, 1]
