"""The matching moments of a long recording, and an event's own start and end inside a segment.

A file's hit is its best segment; a long recording may match at several times. Its other moments are
its segments whose score is at least `MOMENT_SHARE` of its best, taken greedily best first, each one
suppressing the segments that overlap it, at most `MAX_MOMENTS`.

For text queries on a collection with frame-level evidence (YAMNet), each moment is then narrowed to
the event itself, found in the recording's frames around the moment's strongest frame of the query's
AudioSet classes (their weighted probability among each frame's best classes). A frame belongs to the
event when it holds at least `EVENT_SHARE` of that peak evidence, or when its class profile (its best
classes and their probabilities, as a unit vector) is nearer the peak frame's than the bed's (the mean
profile of the frames within `BED_SECONDS` of the peak), or when it is `ABOVE_BED_DB` louder than the
bed's median loudness. The event is the run of such frames around the peak (one missing frame is
bridged), at most `MAX_EXTEND` segment lengths beyond the moment; it spans from the centre of its first
frame minus half a hop to the centre of its last plus half a hop (frames are 0.96 s every 0.48 s; a
frame's evidence is best located at its centre). Moments that then overlap are merged into the better
one, and a moment other than the best with no frame of the query's classes at all is dropped: it
matched on nothing it can show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundseek.encoders.base import FrameEvidence

MOMENT_SHARE = 0.5
MAX_MOMENTS = 10
EVENT_SHARE = 0.5
ABOVE_BED_DB = 10.0
BED_SECONDS = 15.0
MAX_EXTEND = 1.0


@dataclass
class Moment:
    """A matching time range of a file, seconds, with its score."""

    start: float
    end: float
    score: float

    def to_dict(self) -> dict[str, float]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "score": round(float(self.score), 6)}


def pick_moments(positions: np.ndarray, starts: np.ndarray, ends: np.ndarray, scores: np.ndarray) -> list[int]:
    """The rows (of `positions`) of a file's moments, best first (see the module docstring).

    positions, starts, ends: the file's segments; scores: their scores (-inf = excluded).
    """
    order = np.argsort(-scores, kind="stable")
    if not len(order) or not np.isfinite(scores[order[0]]):
        return []
    best = scores[order[0]]
    floor = best * MOMENT_SHARE if best > 0 else best
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= MAX_MOMENTS or not np.isfinite(scores[i]) or scores[i] < floor:
            break
        if all(ends[i] <= starts[j] or starts[i] >= ends[j] for j in chosen):
            chosen.append(int(i))
    return chosen


def event_span(frames: FrameEvidence, start: float, end: float, classes: np.ndarray,
               weights: np.ndarray) -> tuple[float, float] | None:
    """The event of the query's classes around [start, end], or None when no frame there holds it."""
    centres = frames.times.mean(axis=1)
    inside = np.flatnonzero((centres >= start) & (centres < end))
    if not len(inside):
        return None
    track = frames.class_track(classes, weights)
    peak = int(inside[np.argmax(track[inside])])
    if track[peak] <= 0:
        return None
    reach = MAX_EXTEND * (end - start)
    member = (track >= EVENT_SHARE * track[peak]) | _like_the_peak(frames, centres, peak)
    member &= (centres >= start - reach) & (centres < end + reach)
    first, last = _run_around(member, peak)
    half_hop = float(frames.times[1, 0] - frames.times[0, 0]) / 2 if len(frames.times) > 1 else 0.24
    lo = max(0.0, float(centres[first]) - half_hop)
    hi = float(centres[last]) + half_hop
    return (lo, hi) if hi > lo else None


def _like_the_peak(frames: FrameEvidence, centres: np.ndarray, peak: int) -> np.ndarray:
    """Per frame, whether it is nearer the peak frame's class profile than the bed's, or ABOVE_BED_DB
    louder than the bed's median (only frames within BED_SECONDS of the peak can be)."""
    near = np.flatnonzero(np.abs(centres - centres[peak]) <= BED_SECONDS)
    profiles = frames.profiles(near, int(frames.classes.max()) + 1)
    bed = profiles.mean(axis=0)
    bed /= max(float(np.linalg.norm(bed)), 1e-9)
    nearer = profiles @ profiles[int(np.searchsorted(near, peak))] > profiles @ bed
    loud = frames.loudness[near].astype(np.float32)
    out = np.zeros(len(centres), dtype=bool)
    out[near] = nearer | (loud >= float(np.median(loud)) + ABOVE_BED_DB)
    return out


def _run_around(member: np.ndarray, peak: int) -> tuple[int, int]:
    """First and last index of the run of True around `peak`, a single False between two True bridged."""
    first = last = peak
    n = len(member)
    while True:
        if first > 0 and member[first - 1]:
            first -= 1
        elif first > 1 and member[first - 2]:
            first -= 2
        else:
            break
    while True:
        if last < n - 1 and member[last + 1]:
            last += 1
        elif last < n - 2 and member[last + 2]:
            last += 2
        else:
            break
    return first, last


def merge_overlapping(moments: list[Moment]) -> list[Moment]:
    """The moments, best first, without those that overlap a better one."""
    kept: list[Moment] = []
    for m in sorted(moments, key=lambda m: -m.score):
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    return kept
