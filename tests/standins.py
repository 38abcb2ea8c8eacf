"""Tiny stand-in encoders with the real interfaces, so that rankings can be computed by hand.

`KeywordTextEncoder` embeds a text as the normalized bag of its known words (one dimension per word of
a fixed vocabulary; unknown words are ignored, so templates like "the sound of {}" add nothing).
`add_sound` writes a sound with hand-chosen vectors and class scores straight into a collection,
without decoding audio.
"""

from __future__ import annotations

import numpy as np

from soundseek.encoders.text import tokenize
from soundseek.store import Collection, NewSegment, SoundRecord


class KeywordTextEncoder:
    """One-hot words: cos(a, b) is the overlap of two texts' known words, normalized."""

    name = "keywords"
    normalized = True

    def __init__(self, vocabulary: list[str]) -> None:
        self.vocabulary = {w: i for i, w in enumerate(vocabulary)}
        self.dim = len(vocabulary)

    def encode_text(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in tokenize(text):
                if word in self.vocabulary:
                    out[row, self.vocabulary[word]] = 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def add_sound(coll: Collection, path: str, segments: list[tuple[list[float], list[float]]], *, text: str = "",
              space: str = "tiny") -> int:
    """A sound of 5 s segments, each given as (vector, class probabilities). Returns the sound id."""
    news = [NewSegment(5.0 * i, 5.0 * (i + 1), np.asarray(vec, np.float32) / np.linalg.norm(vec),
                       np.asarray(probs, np.float32), []) for i, (vec, probs) in enumerate(segments)]
    record = SoundRecord(0, path, 1, 1, 5.0 * len(news), 16000, 1, "WAV", text)
    return coll.put_sound(record, news, space=space)


def tiny_collection(root, class_names: list[str]) -> Collection:
    coll = Collection.create(root, audio_encoder="tiny", encoder_config={})
    coll.set_meta("class_names", class_names)
    return coll
