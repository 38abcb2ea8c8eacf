"""Zero-shot class matching with a keyword text encoder: weights and scores computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from standins import KeywordTextEncoder

from soundseek.search.zeroshot import (
    ClassNameMatcher,
    ZeroShotConfig,
    log_scores,
    score_segments,
)

CLASSES = ["Dog", "Cat, kitten", "Rain on surface"]
VOCAB = ["dog", "cat", "kitten", "rain", "surface"]


def matcher(**config) -> ClassNameMatcher:
    return ClassNameMatcher(CLASSES, KeywordTextEncoder(VOCAB), ZeroShotConfig(**config))


def test_a_class_is_matched_by_its_best_alternative() -> None:
    sims = matcher().similarities("kitten")
    # "Cat, kitten" as a whole: 1/sqrt(2); its alternative "kitten": 1 (the best counts)
    assert sims.tolist() == pytest.approx([0.0, 1.0, 0.0])
    assert matcher().similarities("rain").tolist() == pytest.approx([0.0, 0.0, 1 / math.sqrt(2)])


def test_weights_are_a_softmax_over_the_best_classes() -> None:
    classes, weights = matcher(n_classes=2, temperature=0.5).weights("rain kitten")
    # query = (kitten + rain)/sqrt 2: "kitten" -> 1/sqrt2 = 0.7071; "Rain on surface" -> 1/2; "Dog" -> 0
    assert classes.tolist() == [1, 2]
    w2 = math.exp((0.5 - 1 / math.sqrt(2)) / 0.5)
    assert weights.tolist() == pytest.approx([1 / (1 + w2), w2 / (1 + w2)], rel=1e-5)


def test_segment_scores_are_the_weighted_log_scores() -> None:
    probs = np.array([[0.9, 0.0], [0.0, 0.5]], dtype=np.float32)  # class-major: 2 classes x 2 segments
    logs = log_scores(probs)
    assert logs[0, 0] == pytest.approx(math.log(1 + 0.9 / 1e-3), rel=1e-5)
    out = score_segments(logs, np.array([0, 1]), np.array([0.25, 0.75], dtype=np.float32))
    assert out.tolist() == pytest.approx([0.25 * math.log(901), 0.75 * math.log(501)], rel=1e-5)
