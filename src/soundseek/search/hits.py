"""Search results: the hit a search returns (its JSON schema), and how a ranking becomes hits (the
best segment of each of the best sounds, its file's record and tags, the file's matching moments)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from soundseek.search.moments import Moment, event_span, merge_overlapping, pick_moments

if TYPE_CHECKING:
    from soundseek.search.state import SegmentTable
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


def hits_at(coll: Collection, table: SegmentTable, positions: np.ndarray, values: np.ndarray) -> list[Hit]:
    """Hits for the segments at these table rows, with their scores `values` (a segment deleted since
    the table was read is left out), their tags and ingest annotations."""
    seg_ids = [int(table.ids[p]) for p in positions]
    records = {r.id: r for r in coll.segments(seg_ids)}
    tags = coll.tags_of(seg_ids)
    hits = []
    for value, seg_id in zip(values, seg_ids):
        rec = records.get(seg_id)
        if rec is None:
            continue
        hits.append(Hit(rec.sound.path, rec.start, rec.end, float(value), [t for t, _ in tags.get(seg_id, [])],
                        rec.sound.text, rec.sound.id, seg_id, rec.sound.duration))
    annotate_ingest(coll, hits)
    return hits


def with_moments(table: SegmentTable, hits: list[Hit], score_of: Callable[[np.ndarray], np.ndarray]) -> list[Hit]:
    """Give each hit the matching moments of its file (see search/moments.py); `score_of(rows)` is the
    score of the segments at those table rows."""
    if not hits:
        return hits
    positions = table.positions(np.asarray([h.segment_id for h in hits], dtype=np.int64))
    per_hit = [table.rows_of_sound(int(table.sound_rows[p])) for p in positions]
    all_values = score_of(np.concatenate(per_hit))  # one call: a candidate scorer is faster in bulk
    bounds = np.cumsum([0] + [len(r) for r in per_hit])
    for hit, rows, lo, hi in zip(hits, per_hit, bounds[:-1], bounds[1:]):
        values = all_values[lo:hi]
        chosen = pick_moments(rows, table.starts[rows], table.ends[rows], values)
        hit.moments = [Moment(float(table.starts[rows[i]]), float(table.ends[rows[i]]), float(values[i])) for i in chosen]
    return hits


def narrow_to_events(coll: Collection, hits: list[Hit], classes: np.ndarray, weights: np.ndarray) -> None:
    """Narrow each moment to the event of the query's classes around it, where the collection kept
    frame-level evidence (see search/moments.py); the hit's own start and end become its best moment's."""
    evidence = coll.frame_evidence_of([hit.sound_id for hit in hits if hit.moments])
    for hit in hits:
        frames = evidence.get(hit.sound_id)
        if frames is None or not hit.moments:
            continue
        narrowed = []
        for rank, moment in enumerate(hit.moments):
            span = event_span(frames, moment.start, moment.end, classes, weights)
            if span is not None:
                moment.start, moment.end = span
            if span is not None or rank == 0:
                narrowed.append(moment)
        hit.moments = merge_overlapping(narrowed)
        hit.start, hit.end = hit.moments[0].start, hit.moments[0].end
