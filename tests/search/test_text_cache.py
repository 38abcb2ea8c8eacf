"""The class phrases' embeddings are cached in the collection: a second engine (a server restart) does not
embed them again, and a different text invalidates the cache."""

from __future__ import annotations

import numpy as np
from standins import KeywordTextEncoder, tiny_collection

from soundseek.search.state import cached_text_vectors


class CountingEncoder(KeywordTextEncoder):
    def __init__(self, vocabulary: list[str]) -> None:
        super().__init__(vocabulary)
        self.calls = 0

    def encode_text(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return super().encode_text(texts)


def test_cached_text_vectors(tmp_path):
    coll = tiny_collection(tmp_path / "c", ["Dog", "Rain"])
    encoder = CountingEncoder(["dog", "rain"])
    first = cached_text_vectors(coll, "class_phrases", ["the sound of Dog", "the sound of Rain"], encoder)
    again = cached_text_vectors(coll, "class_phrases", ["the sound of Dog", "the sound of Rain"], encoder)
    assert encoder.calls == 1 and np.array_equal(first, again) and first.tolist() == [[1, 0], [0, 1]]
    other = cached_text_vectors(coll, "class_phrases", ["the sound of Rain"], encoder)
    assert encoder.calls == 2 and other.tolist() == [[0, 1]]
    assert (tmp_path / "c" / "index" / "class_phrases_keywords.npz").is_file()
