"""Text search on hand-made data: the fused score of each evidence source, computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from standins import KeywordTextEncoder, add_sound, tiny_collection

from soundseek.search import engine as engine_mod
from soundseek.search.engine import SearchEngine

VOCAB = ["dog", "rain", "park"]


@pytest.fixture()
def engine(tmp_path) -> SearchEngine:
    coll = tiny_collection(tmp_path / "c", ["Dog", "Rain"])
    add_sound(coll, "/a.wav", [([1, 0], [0.9, 0.0]), ([0, 1], [0.0, 0.5])])
    add_sound(coll, "/b.wav", [([1, 1], [0.5, 0.1])])
    add_sound(coll, "/c.wav", [([0, 1], [0.0, 0.8])], text="park")
    return SearchEngine(coll, text_encoder=KeywordTextEncoder(VOCAB))


def test_zero_shot_ranks_by_the_matched_class_log_score(engine, monkeypatch) -> None:
    monkeypatch.setattr(engine_mod, "FEEDBACK_WEIGHT", 0.0)
    scores = engine.text_scores("dog")
    # "Dog" gets weight 1 - 1e-8 ("Rain" is 20 temperatures away): log(1 + p/1e-3), scaled by the best
    assert scores[:3].tolist() == pytest.approx([1.0, 0.0, math.log(501) / math.log(901)], abs=2e-3)
    hits = engine.search_text("dog", top=5)
    # /c.wav only has "Rain" evidence, which "dog" weights by exp(-20): last, with a vanishing score
    assert [h.path for h in hits] == ["/a.wav", "/b.wav", "/c.wav"] and 0 < hits[2].score < 1e-6
    assert (hits[0].start, hits[0].end) == (0.0, 5.0)


def test_words_of_a_sound_add_their_similarity_above_the_floor(engine, monkeypatch) -> None:
    monkeypatch.setattr(engine_mod, "FEEDBACK_WEIGHT", 0.0)
    monkeypatch.setattr(engine_mod, "KEYWORD_WEIGHT", 0.0)
    scores = engine.text_scores("dog park")
    # /c.wav's words "park" vs the query (dog + park)/sqrt2: cos 0.7071 -> (0.7071 - 0.3) / 0.7
    assert scores[3] == pytest.approx((1 / math.sqrt(2) - 0.3) / 0.7, abs=1e-3)
    np.testing.assert_allclose(scores[:3], engine.text_scores("dog")[:3], atol=1e-6)


def test_relevance_is_the_calibrated_logistic_of_absolute_evidence(engine) -> None:
    from soundseek.search.relevance import COEFFICIENTS, INTERCEPT, NO_MATCH_THRESHOLD, no_good_match

    hits = {h.path: h for h in engine.search_text("dog", top=3)}
    # "Dog" probability 0.9 (/a.wav) and 0.5 (/b.wav), weight ~1, match cosine 1; no words, no library model.
    # The probability is read back from its 8-bit log code: round(log(1 + p/1e-3) / (log(1001)/255)) steps
    step = math.log(1001) / 255
    for path, p in (("/a.wav", 0.9), ("/b.wav", 0.5)):
        stored = math.expm1(round(math.log1p(p / 1e-3) / step) * step) * 1e-3
        assert abs(stored - p) < 0.015 * p
        expected = 1 / (1 + math.exp(-(COEFFICIENTS[2] * stored + COEFFICIENTS[3] * 1.0 + INTERCEPT)))
        assert hits[path].relevance == pytest.approx(expected, abs=2e-3)
    assert hits["/a.wav"].to_dict()["relevance"] == round(hits["/a.wav"].relevance, 3)
    t = NO_MATCH_THRESHOLD  # a best hit below it is no good match; at it, a match
    assert no_good_match([t / 2, t - 0.01]) and not no_good_match([t / 2, t]) and not no_good_match([None])
