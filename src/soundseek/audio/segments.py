"""Deterministic framing of recordings into overlapping segments.

A recording of duration D seconds is cut into windows of `SEGMENT_WINDOW` seconds every `SEGMENT_HOP`
seconds. Recordings no longer than 1.5 windows (7.5 s) are one segment covering the whole file. The last
window of a long file is aligned to the file's end, so every instant is covered and no window runs past
the end. The same duration always gives the same segments: there are no random crops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEGMENT_WINDOW = 5.0
SEGMENT_HOP = 2.5


@dataclass(frozen=True)
class Span:
    """A time range inside a recording, in seconds."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def cut_spans(
    duration: float, *, window: float = SEGMENT_WINDOW, hop: float = SEGMENT_HOP
) -> list[Span]:
    """Cut [0, duration] into overlapping windows (see the module docstring for the rule)."""
    if duration <= 0:
        return []
    if duration <= 1.5 * window:
        return [Span(0.0, round(duration, 3))]
    starts = np.arange(0.0, duration - window + 1e-9, hop)
    spans = [Span(round(float(s), 3), round(float(s) + window, 3)) for s in starts]
    if spans[-1].end < duration - 1e-6:
        spans.append(Span(round(duration - window, 3), round(duration, 3)))
    return spans


def frames_in_span(frame_times: np.ndarray, span: Span) -> np.ndarray:
    """Indices of frames whose centre lies in `span` (at least the frame nearest its centre).

    Args:
        frame_times: (n_frames, 2) start and end of each frame in seconds.
    Returns:
        int array of frame indices, never empty when there is at least one frame.
    """
    centres = frame_times.mean(axis=1)
    inside = np.flatnonzero((centres >= span.start) & (centres < span.end))
    if inside.size == 0 and centres.size:
        inside = np.array([int(np.argmin(np.abs(centres - (span.start + span.end) / 2)))])
    return inside
