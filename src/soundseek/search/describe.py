"""Audio -> text: suggested tags for a sound, from AudioSet class scores and the collection's own words.

AudioSet tags are YAMNet's mean class probabilities over the file. Collection words come from the
sound's nearest neighbours in the collection: each neighbour votes for the words of its text with
weight 1/rank (the nearest counts most), and a word's score is its votes divided by the sum of weights.
Words that say where a sound is stored rather than what it is are left out: those held by more than
`COMMON_SHARE` of the collection's sounds, the names of the indexed root folders, and the names of
container folders (a folder with at least `CONTAINER_KINDS` sub-folders of sounds, e.g. "esc" over 50
category folders, "recordings" over one folder per session).
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
COMMON_SHARE = 0.5
CONTAINER_KINDS = 2
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
    storage = storage_words(engine) if hits else set()
    for rank, hit in enumerate(hits, 1):
        weight = 1.0 / rank
        total += weight
        for word in set(tokenize(hit.text)):
            if len(word) > 2 and word not in STOPWORDS and not word.isdigit() and word not in storage:
                votes[word] += weight
    if total <= 0:
        return []
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [Suggestion(word, score / total, "collection") for word, score in ranked]


def storage_words(engine: SearchEngine) -> set[str]:
    """Words that say where the collection's sounds are stored, not what they are (module docstring)."""
    texts = engine.coll.sound_texts()
    counts: dict[str, int] = defaultdict(int)
    for text in texts.values():
        for word in set(tokenize(text)):
            counts[word] += 1
    out = {w for w, n in counts.items() if n > COMMON_SHARE * max(len(texts), 1)}
    roots = [Path(r) for r in engine.coll.roots()]
    for root in roots:
        out.update(tokenize(root.name))
    return out | container_words([str(p) for p in np.unique(engine.table.paths)], roots)


def container_words(paths: list[str], roots: list[Path]) -> set[str]:
    """Words of the folders (below their root) that hold at least CONTAINER_KINDS sub-folders of sounds."""
    children: dict[Path, set[str]] = defaultdict(set)
    for path in map(Path, paths):
        root = next((r for r in roots if path.is_relative_to(r)), None)
        if root is None:
            continue
        parts = path.parent.relative_to(root).parts
        for depth in range(len(parts) - 1):
            children[root.joinpath(*parts[: depth + 1])].add(parts[depth + 1])
    return {w for folder, subs in children.items() if len(subs) >= CONTAINER_KINDS for w in tokenize(folder.name)}
