"""Search filters: what every search can be restricted to (the engine applies them, search/pushdown.py
writes them as a Milvus expression)."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    from soundseek.search.state import SegmentTable


@dataclass(frozen=True)
class Filters:
    """Restrictions applied to every search. `None` means no restriction."""

    min_duration: float | None = None
    max_duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    tag: str | None = None
    path_glob: str | None = None

    def active(self) -> bool:
        return any(v is not None for v in asdict(self).values())


def filter_mask(t: SegmentTable, f: Filters, segments_with_tag: Callable[[str], np.ndarray]) -> np.ndarray:
    """Which segments of `t` pass `f` (`segments_with_tag` gives the segment ids of a tag). Returns (n,) bool."""
    mask = np.ones(len(t), dtype=bool)
    if f.min_duration is not None:
        mask &= t.durations >= f.min_duration
    if f.max_duration is not None:
        mask &= t.durations <= f.max_duration
    if f.sample_rate is not None:
        mask &= t.sample_rates == f.sample_rate
    if f.channels is not None:
        mask &= t.channels == f.channels
    if f.path_glob is not None:
        pattern = f.path_glob
        mask &= np.asarray([fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(os.path.basename(p), pattern) for p in t.paths], dtype=bool)
    if f.tag is not None:
        tagged = np.zeros(len(t), dtype=bool)
        ids = segments_with_tag(f.tag)
        tagged[t.positions(ids[np.isin(ids, t.ids)])] = True
        mask &= tagged
    return mask
