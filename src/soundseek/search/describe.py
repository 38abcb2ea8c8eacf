"""Audio -> text: suggested tags for a sound, from AudioSet class scores and the collection's own words.

AudioSet tags are YAMNet's mean class probabilities over the file. Collection words come from the
sound's nearest neighbours in the collection: each neighbour votes for the words of its text with
weight 1/rank (the nearest counts most), and a word's score is its votes divided by the sum of weights.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundseek.audio import load_audio
from soundseek.audio.segments import Span
from soundseek.encoders.text import tokenize
from soundseek.search.engine import SearchEngine

NEIGHBOURS = 10
STOPWORDS = frozenset({"the", "and", "of", "a", "an", "in", "on", "with", "to", "at", "by", "for", "from", "audio", "sound", "sounds", "wav", "flac", "mp3", "take", "mono", "stereo"})


@dataclass(frozen=True)
class Suggestion:
    """A suggested word or tag for a sound. `source` is 'audioset', 'collection' or 'joint'."""

    text: str
    score: float
    source: str

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "score": round(self.score, 4), "source": self.source}


def describe(engine: SearchEngine, path: str | Path, *, top: int = 10,
             waveform: np.ndarray | None = None) -> list[Suggestion]:
    """Suggested tags for the sound at `path` (it need not be in the collection); `waveform`: its
    samples already decoded at the encoder's rate."""
    encoder = engine.audio_encoder
    wave = load_audio(path, sr=encoder.sample_rate) if waveform is None else waveform
    emb = encoder.encode_segments(wave, [Span(0.0, len(wave) / encoder.sample_rate)])
    out: list[Suggestion] = []
    names = encoder.class_names
    if emb.class_scores is not None and names:
        scores = emb.class_scores[0]
        out += [Suggestion(names[i], float(scores[i]), "audioset") for i in np.argsort(-scores)[:top]]
    if engine.joint_model is not None:
        from soundseek.search.joint import nearest_labels
        out += [Suggestion(t, s, "joint") for t, s in nearest_labels(engine.joint_model, emb.vectors[0], top=top)]
    out += collection_words(engine, emb.vectors[0], exclude=str(Path(path).absolute()), top=top)
    return out


def collection_words(engine: SearchEngine, vector: np.ndarray, *, exclude: str, top: int) -> list[Suggestion]:
    """Words voted for by the sound's nearest neighbours in the collection."""
    hits = engine.search_vector(vector, top=NEIGHBOURS, exclude=(exclude, 0.0, float("inf")))
    votes: dict[str, float] = defaultdict(float)
    total = 0.0
    for rank, hit in enumerate(hits, 1):
        weight = 1.0 / rank
        total += weight
        for word in set(tokenize(hit.text)):
            if len(word) > 2 and word not in STOPWORDS and not word.isdigit():
                votes[word] += weight
    if total <= 0:
        return []
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [Suggestion(word, score / total, "collection") for word, score in ranked]
