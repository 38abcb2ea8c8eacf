"""Query by example over the acoustic index: the pieces of SearchEngine.search_vector that read only the
index and the segment table (the engine keeps the ranking, filters and joint-space fusion)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from soundseek.search.state import SegmentTable

#: Segments whose vectors are read from the index at once by a filtered query by example.
FILTER_BLOCK = 32_768
#: (path, start, end): the part of a file a query came from, left out of its hits.
Exclude = tuple[str, float, float]


def overlapping(table: SegmentTable, rows: np.ndarray | slice, exclude: Exclude) -> np.ndarray:
    """Which of the segments at `rows` belong to `exclude`'s file and overlap its span. Returns a bool mask."""
    path, start, end = exclude
    return (table.paths[rows] == path) & (table.starts[rows] < end) & (table.ends[rows] > start)


def leave_out(table: SegmentTable, scores: np.ndarray, exclude: Exclude | None) -> None:
    """Set to -inf the scores of the segments of `exclude`'s file that overlap its span."""
    if exclude is not None:
        scores[overlapping(table, slice(None), exclude)] = -np.inf


def nearest_rows(index: Any, table: SegmentTable, vector: np.ndarray, files: int,
                 exclude: Exclude | None) -> tuple[np.ndarray, np.ndarray]:
    """The index's nearest segments (table rows and cosines), asked deep enough to hold `files`
    distinct files once `exclude` and segments removed since the table was read are left out."""
    n = len(table)
    k = min(n, max(50, files * 20))
    while True:
        sims, ids = index.search(vector[None, :], k)
        ok = ids[0] >= 0
        ids, sims = ids[0][ok], sims[0][ok].astype(np.float32)
        rows = np.minimum(table.positions(ids), n - 1)
        keep = table.ids[rows] == ids  # a segment removed since the engine was built is no hit
        if exclude is not None:
            keep &= ~overlapping(table, rows, exclude)
        rows, sims = rows[keep], sims[keep]
        if len(np.unique(table.sound_rows[rows])) >= files or k >= n:
            return rows, sims
        k = min(n, k * 4)


def lookup(rows: np.ndarray, values: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A scorer of any table rows: `values` at `rows`, -inf elsewhere."""
    order = np.argsort(rows, kind="stable")
    rows, values = rows[order], values[order]

    def score_of(wanted: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.full(len(wanted), -np.inf, dtype=np.float32)
        at = np.minimum(np.searchsorted(rows, wanted), len(rows) - 1)
        return np.where(rows[at] == wanted, values[at], -np.inf).astype(np.float32)

    return score_of


def filtered_scores(index: Any, table: SegmentTable, vector: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """The exact cosine of the segments that pass a filter (`mask`; -inf elsewhere), their vectors read
    from the index in blocks. None when the index cannot give them back (a segment being re-indexed)."""
    scores = np.full(len(table), -np.inf, dtype=np.float32)
    rows = np.flatnonzero(mask)
    try:
        for start in range(0, len(rows), FILTER_BLOCK):
            block = rows[start : start + FILTER_BLOCK]
            ids = table.ids[block]
            # an index that scores from its own codes (compact) is 10-40x faster than rebuilding vectors
            scores[block] = index.scores_of(ids, vector) if hasattr(index, "scores_of") else index.vectors_of(ids) @ vector
    except KeyError:
        return None
    return scores
