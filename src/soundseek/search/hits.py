"""Search results: the hit a search returns (its JSON schema), and how a ranking becomes hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from soundseek.search.moments import Moment
    from soundseek.store import Collection


@dataclass
class Hit:
    """One search result: a file with its best-matching segment. `to_dict` is the stable JSON schema."""

    path: str
    start: float
    end: float
    score: float
    tags: list[str] = field(default_factory=list)
    text: str = ""
    sound_id: int = 0
    segment_id: int = 0
    duration: float = 0.0
    #: Calibrated probability that the hit is relevant (text queries), None where not computed.
    relevance: float | None = None
    #: The file's matching moments, best first (the first is the hit's own start and end).
    moments: list[Moment] = field(default_factory=list)
    #: Where a crawled sound came from (source, url, page, title, licence, published), None otherwise.
    source: dict[str, Any] | None = None
    #: The sound's duplicate group from `soundseek duplicates`: {"kind", "sound_ids" (the others)}, or None.
    duplicates: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "path": self.path, "start": round(self.start, 3), "end": round(self.end, 3),
            "score": round(float(self.score), 6), "tags": self.tags, "text": self.text,
            "sound_id": self.sound_id, "segment_id": self.segment_id, "duration": round(self.duration, 3),
        }
        if self.relevance is not None:
            out["relevance"] = round(self.relevance, 3)
        out["moments"] = [m.to_dict() for m in self.moments]
        if self.source:
            out["source"] = self.source
        if self.duplicates:
            out["duplicates"] = self.duplicates
        return out


def annotate_ingest(coll: Collection, hits: list[Hit]) -> None:
    """Add provenance (crawled sounds) and duplicate groups (`soundseek duplicates`) to hits."""
    from soundseek.store.ingest import duplicates_of, provenance_of

    sources = provenance_of(coll, [h.path for h in hits])
    groups = duplicates_of(coll, [h.sound_id for h in hits])
    for hit in hits:
        if hit.path in sources:
            hit.source = sources[hit.path].to_dict()
        if hit.sound_id in groups:
            kind, others = groups[hit.sound_id]
            hit.duplicates = {"kind": kind, "sound_ids": others}


def top_order(scores: np.ndarray, pool: int) -> np.ndarray:
    """Positions of the `pool` highest scores, best first (argpartition, then sort of the pool only)."""
    if pool < len(scores):
        part = np.argpartition(scores, len(scores) - pool)[len(scores) - pool:]
    else:
        part = np.arange(len(scores))
    return part[np.argsort(-scores[part], kind="stable")]


def best_per_sound(order: np.ndarray, scores: np.ndarray, sound_ids: np.ndarray, want: int) -> list[int]:
    """The first `want` positions in `order` that belong to distinct sounds and have finite scores."""
    chosen: list[int] = []
    seen: set[int] = set()
    for pos in order:
        if not np.isfinite(scores[pos]) or len(chosen) >= want:
            break
        sound = int(sound_ids[pos])
        if sound not in seen:
            seen.add(sound)
            chosen.append(int(pos))
    return chosen


def best_sounds(scores: np.ndarray, sound_ids: np.ndarray, want: int) -> list[int]:
    """best_per_sound over the highest scores: the best `want` positions of distinct sounds, looking at
    a pool of the highest scores (8 per wanted hit, at least 64) that grows until it holds them."""
    pool = min(len(scores), max(64, want * 8))
    while True:
        order = top_order(scores, pool)
        chosen = best_per_sound(order, scores, sound_ids, want)
        if len(chosen) >= want or pool >= len(scores) or not np.isfinite(scores[order[-1]]):
            return chosen
        pool = min(len(scores), pool * 4)
