"""In-memory BM25 (search/keywords.py) against hand-computed scores and against FTS5's own bm25()."""

from __future__ import annotations

import math

import numpy as np
import pytest
from standins import add_sound, tiny_collection

from soundseek.search.engine import SearchEngine
from soundseek.search.keywords import KeywordIndex
from soundseek.search.query import fts_query, fts_words

TEXTS = ["dog bark", "dog dog growl", "cat meow", "rain", "wind howl"]


@pytest.fixture()
def coll(tmp_path):
    coll = tiny_collection(tmp_path / "c", ["Dog", "Rain"])
    for i, text in enumerate(TEXTS):
        add_sound(coll, f"/{i}.wav", [([1, i], [0.5, 0.1])], text=text)
    add_sound(coll, "/unnamed.wav", [([1, 1], [0.1, 0.1])])
    return coll


def _search(coll, query: str):
    return KeywordIndex(coll.keyword_postings()).search(coll.keyword_terms(fts_words(query)))


def test_scores_are_bm25_computed_by_hand(coll) -> None:
    # 6 sounds (one without words), 10 tokens: average length 10/6; "dog" in 2 sounds, "meow" in 1
    avg = 10 / 6

    def part(tf: int, length: int) -> float:
        return tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avg))

    idf_dog, idf_meow = math.log((6 - 2 + 0.5) / 2.5), math.log((6 - 1 + 0.5) / 1.5)
    ids = {text: i + 1 for i, text in enumerate(TEXTS)}
    hits = _search(coll, "dogs meowing")  # both stemmed by SQLite's Porter tokenizer
    assert [h[0] for h in hits] == [ids["cat meow"], ids["dog dog growl"], ids["dog bark"]]
    assert [h[1] for h in hits] == pytest.approx([idf_meow * part(1, 2), idf_dog * part(2, 3), idf_dog * part(1, 2)])


def test_same_results_as_fts5(coll) -> None:
    index = KeywordIndex(coll.keyword_postings())
    for query in ["dog", "dog growl", "howling winds", "rain dog meow", "nothing here", "", "DOG Bark"]:
        fts = coll.keyword_search(fts_query(query))
        mine = index.search(coll.keyword_terms(fts_words(query)))
        assert [h[0] for h in mine] == [h[0] for h in fts]
        assert [h[1] for h in mine] == pytest.approx([h[1] for h in fts], rel=1e-6)


def test_limit_and_ties_by_sound_id(coll) -> None:
    add_sound(coll, "/x.wav", [([1, 0], [0.5, 0.1])], text="rain")
    index = KeywordIndex(coll.keyword_postings())
    both = index.search([["rain"]])
    assert [h[0] for h in both] == sorted(h[0] for h in both) and len(both) == 2
    assert index.search([["rain"]], limit=1) == both[:1]


def test_a_word_the_tokenizer_splits_is_left_to_fts5(coll) -> None:
    assert coll.keyword_terms(["3.5", "café", "x"]) == [["3", "5"], ["cafe"], ["x"]]
    assert KeywordIndex(coll.keyword_postings()).search([["3", "5"]]) is None


def test_the_terms_of_words_seen_lately_are_not_asked_again(coll, monkeypatch) -> None:
    import soundseek.search.keywords as keywords

    index, asked = KeywordIndex(coll.keyword_postings()), []

    def tokenize(words: list[str]) -> list[list[str]]:
        asked.append(list(words))
        return coll.keyword_terms(words)

    assert index.terms_of(["Dogs", "barking", "Dogs"], tokenize) == [["dog"], ["bark"], ["dog"]]
    assert index.terms_of(["barking", "3.5"], tokenize) == [["bark"], ["3", "5"]]
    assert asked == [["Dogs", "barking"], ["3.5"]]  # each new word once, in one call
    monkeypatch.setattr(keywords, "CACHED_WORDS", 3)
    index.terms_of(["rain", "wind"], tokenize)  # 3 + 2 > 3: emptied, then the two kept
    index.terms_of(["rain", "Dogs"], tokenize)
    assert asked[2:] == [["rain", "wind"], ["Dogs"]]


def test_an_empty_collection_has_an_empty_index(tmp_path) -> None:
    coll = tiny_collection(tmp_path / "e", ["Dog"])
    index = KeywordIndex(coll.keyword_postings())
    assert len(index) == 0 and index.search([["dog"]]) == []


def test_large_collections_score_keywords_in_memory_with_the_same_scores(coll) -> None:
    exact = SearchEngine(coll, text_path="exact")
    cand = SearchEngine(coll, text_path="candidates")
    for query in ["dog", "growling dogs", "rain wind"]:
        np.testing.assert_allclose(cand._keyword_scores(query), exact._keyword_scores(query), rtol=1e-6)
    assert cand._keywords is not None and exact._keywords is None
    assert coll.generation == cand.keyword_index.generation


def test_per_sound_scores_scale_by_the_best_hit_and_skip_unknown_sounds() -> None:
    from soundseek.search.keywords import per_sound_scores

    out = per_sound_scores([(4, 2.0), (9, 1.0), (3, 0.5)], np.asarray([3, 4, 8]))
    np.testing.assert_allclose(out, [0.25, 1.0, 0.0])
    assert per_sound_scores([], np.asarray([1])).tolist() == [0.0]
