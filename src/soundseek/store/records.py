"""What the store hands out and takes in: typed records of sounds and segments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SoundRecord:
    """One indexed file."""

    id: int
    path: str
    size: int
    mtime_ns: int
    duration: float
    sample_rate: int
    channels: int
    format: str | None
    text: str


@dataclass(frozen=True)
class SegmentRecord:
    """One segment of an indexed file, with its file's metadata."""

    id: int
    sound: SoundRecord
    start: float
    end: float


@dataclass(frozen=True)
class NewSegment:
    """What the indexer hands over for one segment."""

    start: float
    end: float
    vector: np.ndarray
    class_scores: np.ndarray | None
    tags: list[tuple[str, float]]
