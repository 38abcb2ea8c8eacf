"""Choosing hits: the best segment of each of the best sounds, by hand."""

from __future__ import annotations

import numpy as np

from soundseek.search.hits import best_sounds


def test_best_segment_per_sound_best_first_and_no_hit_without_a_score() -> None:
    scores = np.asarray([0.9, 0.8, 0.95, 0.7, -np.inf, 0.85], dtype=np.float32)
    sounds = np.asarray([1, 1, 2, 3, 4, 1])
    assert best_sounds(scores, sounds, 2) == [2, 0]
    assert best_sounds(scores, sounds, 5) == [2, 0, 3]  # sound 4's only segment has no score
    assert best_sounds(scores[:0], sounds[:0], 3) == []


def test_the_pool_grows_until_it_holds_enough_sounds() -> None:
    # 300 segments of one sound outscore the single segment of another: a first pool of 64 holds one sound
    scores = np.concatenate([np.linspace(2.0, 1.0, 300), [0.5]]).astype(np.float32)
    sounds = np.concatenate([np.zeros(300, dtype=np.int64), [7]])
    assert best_sounds(scores, sounds, 2) == [0, 300]
