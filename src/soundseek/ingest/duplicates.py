"""Duplicate recordings in a collection: exact (the same decoded audio, whatever the container or tags)
and near (the same recording re-encoded, trimmed, at another level or sample rate).

Near duplicates in two steps:
1. candidates: pairs of sounds with two segments whose embeddings (the collection's audio space, cosine)
   are at least CANDIDATE_COSINE alike, found with the collection's vector index (k nearest per segment);
2. verification: their band fingerprints (see `audio.fingerprint`) must agree at some time offset with a
   correlation of at least MATCH_THRESHOLD: two takes of one kind of sound (two dog barks) embed alike
   but do not line up in time, frame by frame.
Both thresholds were chosen on ESC-50 fold 1 and checked on the other folds and on sfx-dev (BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from soundseek.audio import decode_file
from soundseek.audio.fingerprint import BandFingerprint, audio_sha256, band_fingerprint, match_fingerprints
from soundseek.errors import AudioError
from soundseek.store import Collection
from soundseek.store.ingest import fingerprints, set_fingerprint

CANDIDATE_COSINE = 0.8
MATCH_THRESHOLD = 0.6
NEIGHBOURS = 10
FINGERPRINT_RATE = 16000


@dataclass
class DuplicateGroup:
    """Sounds holding one recording. `kind`: 'exact' when all share the decoded audio, else 'near'.
    `scores`: the verification correlation of each near pair that joined the group."""

    kind: str
    sound_ids: list[int]
    paths: list[str]
    scores: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "sounds": [{"sound_id": i, "path": p} for i, p in zip(self.sound_ids, self.paths)],
                "scores": [round(s, 3) for s in self.scores]}


class FingerprintCache:
    """Band fingerprints of indexed sounds, decoded on first use (None when the file is unreadable now)."""

    def __init__(self, coll: Collection) -> None:
        self.coll = coll
        self._items: dict[int, BandFingerprint | None] = {}

    def get(self, sound_id: int) -> BandFingerprint | None:
        if sound_id not in self._items:
            record = self.coll.sound(sound_id)
            try:
                wave = decode_file(record.path, sr=FINGERPRINT_RATE)[0] if record else None
            except AudioError:
                wave = None
            self._items[sound_id] = None if wave is None else band_fingerprint(wave, FINGERPRINT_RATE)
        return self._items[sound_id]

    def put(self, sound_id: int, fingerprint: BandFingerprint) -> None:
        self._items[sound_id] = fingerprint


def exact_pairs(coll: Collection, *, say: Callable[[str], None] = lambda m: None) -> list[tuple[int, int]]:
    """Pairs (first sound, other sound) with the same decoded audio; sounds indexed before fingerprints
    existed are fingerprinted now (decoded once)."""
    known = fingerprints(coll)
    missing = [s for s in coll.sound_texts() if s not in known]
    if missing:
        say(f"fingerprinting {len(missing)} sounds indexed before fingerprints were kept")
    for sid in missing:
        record = coll.sound(sid)
        try:
            wave = decode_file(record.path, sr=16000)[0]
            from soundseek.audio.fingerprint import file_sha256
            set_fingerprint(coll, sid, file_sha256(record.path), audio_sha256(wave))
        except (AudioError, OSError):
            continue
    by_audio: dict[str, list[int]] = {}
    for sid, (_, audio) in sorted(fingerprints(coll).items()):
        by_audio.setdefault(audio, []).append(sid)
    return [(ids[0], other) for ids in by_audio.values() for other in ids[1:]]


def candidate_pairs(coll: Collection, *, cosine: float = CANDIDATE_COSINE, k: int = NEIGHBOURS) -> dict[tuple[int, int], float]:
    """Sound pairs (low id first) with a segment pair at least `cosine` alike -> their best cosine."""
    from soundseek.search.state import load_segment_table, load_vector_index

    table = load_segment_table(coll)
    if not len(table):
        return {}
    index = load_vector_index(coll, coll.audio_encoder)
    ids, vectors = coll.iter_vectors(coll.audio_encoder)
    sound_of = dict(zip(table.ids.tolist(), table.sound_ids.tolist()))
    out: dict[tuple[int, int], float] = {}
    for start in range(0, len(ids), 4096):
        scores, found = index.search(_unit(vectors[start : start + 4096]), min(k + 1, len(ids)))
        for row, seg in enumerate(ids[start : start + 4096]):
            a = sound_of.get(int(seg))
            for score, other in zip(scores[row], found[row]):
                b = sound_of.get(int(other))
                if b is None or a is None or a == b or score < cosine:
                    continue
                key = (min(a, b), max(a, b))
                out[key] = max(out.get(key, -1.0), float(score))
    return out


def verified(pairs: dict[tuple[int, int], float], cache: FingerprintCache, *,
             threshold: float = MATCH_THRESHOLD) -> list[tuple[int, int, float]]:
    """The candidate pairs whose band fingerprints agree: (a, b, correlation)."""
    out = []
    for a, b in sorted(pairs):
        fa, fb = cache.get(a), cache.get(b)
        if fa is None or fb is None:
            continue
        score = match_fingerprints(fa, fb)
        if score >= threshold:
            out.append((a, b, score))
    return out


def find_duplicates(coll: Collection, *, near: bool = False, say: Callable[[str], None] = lambda m: None,
                    cosine: float = CANDIDATE_COSINE, threshold: float = MATCH_THRESHOLD) -> list[DuplicateGroup]:
    """Exact duplicate groups, and with `near` near-duplicates too, largest group first."""
    union = _UnionFind()
    for a, b in exact_pairs(coll, say=say):
        union.join(a, b, None)
    if near:
        candidates = {p: s for p, s in candidate_pairs(coll, cosine=cosine).items() if union.find(p[0]) != union.find(p[1])}
        say(f"verifying {len(candidates)} candidate pairs")
        for a, b, score in verified(candidates, FingerprintCache(coll), threshold=threshold):
            union.join(a, b, score)
    groups = []
    for members, scores in union.groups():
        records = [coll.sound(i) for i in members]
        groups.append(DuplicateGroup("near" if scores else "exact", members, [r.path if r else "" for r in records], scores))
    groups.sort(key=lambda g: (-len(g.sound_ids), g.paths))
    return groups


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.scores: dict[int, list[float]] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: int, b: int, score: float | None) -> None:
        ra, rb = self.find(a), self.find(b)
        merged = self.scores.pop(ra, []) + self.scores.pop(rb, []) + ([] if score is None else [score])
        self.parent[rb] = ra
        self.scores[ra] = merged

    def groups(self) -> list[tuple[list[int], list[float]]]:
        members: dict[int, list[int]] = {}
        for x in self.parent:
            members.setdefault(self.find(x), []).append(x)
        return [(sorted(m), self.scores.get(root, [])) for root, m in members.items() if len(m) > 1]


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def duplicate_of_new(coll: Collection, waveform: np.ndarray, sr: int, vectors: np.ndarray, index, table_sound_of: dict[int, int],  # type: ignore[no-untyped-def]
                     cache: FingerprintCache) -> tuple[str, int, float] | None:
    """Whether a sound not yet indexed (its samples at `sr` and segment vectors) duplicates an indexed one:
    ('exact' | 'near', that sound's id, score), else None. `index` holds the collection's vectors."""
    from soundseek.store.ingest import sounds_with_audio_hash

    same = sounds_with_audio_hash(coll, audio_sha256(waveform))
    if same:
        return ("exact", same[0][0], 1.0)
    if index is None or len(index) == 0:
        return None
    scores, found = index.search(_unit(np.asarray(vectors, dtype=np.float32)), min(NEIGHBOURS, len(index)))
    candidates = {table_sound_of[int(f)] for s_row, f_row in zip(scores, found) for s, f in zip(s_row, f_row)
                  if s >= CANDIDATE_COSINE and int(f) in table_sound_of}
    if not candidates:
        return None
    mine = band_fingerprint(waveform, sr)
    best = max(((match_fingerprints(mine, fp), sid) for sid in candidates if (fp := cache.get(sid)) is not None),
               default=(-1.0, -1))
    return ("near", best[1], best[0]) if best[0] >= MATCH_THRESHOLD else None

