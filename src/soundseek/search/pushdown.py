"""Query by example on a collection stored in Milvus: filters and the best segment per sound pushed down.

Milvus finds the page of sounds (`group_by` on `sound_id`, `offset` and `limit` in sounds) among the
segments that pass the filters, written as a Milvus filter expression; the engine then scores every
segment of those few sounds exactly (their vectors fetched by id) so that hits and their moments are
ranked by the same code as on the embedded store.

Filters become: `duration >= a`, `duration <= b`, `sample_rate == r`, `channels == c`,
`ARRAY_CONTAINS(tags, "tag")` (tags are stored in lower case), and a path glob becomes `sound_id in
[...]` (a glob matched against the full path or the file name has no exact Milvus form; the segment
table in memory already holds every path). The query's own span is left out with
`not (sound_id in [...] and start < end_q and end > start_q)`.
"""

from __future__ import annotations

import fnmatch
import json
import os
from typing import TYPE_CHECKING

import numpy as np

from soundseek.search.filters import Filters
from soundseek.search.state import SegmentTable

if TYPE_CHECKING:
    from soundseek.vindex.milvus import MilvusIndex


def milvus_expression(filters: Filters | None, table: SegmentTable,
                      exclude: tuple[str, float, float] | None) -> str | None:
    """The Milvus filter expression for these filters and exclusion ("" = none; None = nothing can match)."""
    parts: list[str] = []
    if filters is not None:
        if filters.min_duration is not None:
            parts.append(f"duration >= {_number(filters.min_duration)}")
        if filters.max_duration is not None:
            parts.append(f"duration <= {_number(filters.max_duration)}")
        if filters.sample_rate is not None:
            parts.append(f"sample_rate == {int(filters.sample_rate)}")
        if filters.channels is not None:
            parts.append(f"channels == {int(filters.channels)}")
        if filters.tag is not None:
            parts.append(f"ARRAY_CONTAINS(tags, {json.dumps(filters.tag.lower())})")
        if filters.path_glob is not None:
            sounds = _sounds_matching_glob(table, filters.path_glob)
            if not sounds:
                return None
            parts.append(f"sound_id in {sounds}")
    if exclude is not None:
        path, start, end = exclude
        sounds = sorted({int(s) for s in table.sound_ids[table.paths == path]})
        if sounds:
            parts.append(f"not (sound_id in {sounds} and start < {_number(end)} and end > {_number(start)})")
    return " and ".join(f"({p})" for p in parts)


def _number(value: float) -> str:
    """A float as a Milvus literal (infinities, which Milvus has no word for, become +-1e300)."""
    return repr(float(np.clip(float(value), -1e300, 1e300)))


def _sounds_matching_glob(table: SegmentTable, pattern: str) -> list[int]:
    """Sound ids whose path (or file name) matches the glob, as the embedded filter matches them."""
    rows = np.unique(table.sound_rows, return_index=True)[1]  # one row of each sound
    return [int(table.sound_ids[r]) for r in rows
            if fnmatch.fnmatch(table.paths[r], pattern) or fnmatch.fnmatch(os.path.basename(table.paths[r]), pattern)]


def _page(index: MilvusIndex, table: SegmentTable, vector: np.ndarray, *, top: int, offset: int,
          expr: str) -> np.ndarray:
    """Table rows of the best segments of the page's sounds. A row of a segment the table does not have
    (left by a crash until `soundseek index` repairs it) is skipped, and the page asked again that much
    longer so that it stays full. Returns: (<= top,) int64."""
    limit = top
    for _ in range(4):
        ids = np.asarray([i for i, _ in index.search_grouped(vector, top=limit, offset=offset, expr=expr)], dtype=np.int64)
        pos = table.positions(ids)
        known = (pos < len(table)) & (table.ids[np.minimum(pos, max(len(table) - 1, 0))] == ids)
        if known.sum() >= top or len(ids) < limit:
            break
        limit = top + int((~known).sum())
    return pos[known][:top]


def pushed_down_scores(index: MilvusIndex, table: SegmentTable, vector: np.ndarray, *, top: int, offset: int,
                       filters: Filters | None, exclude: tuple[str, float, float] | None) -> np.ndarray:
    """Cosine of every segment of the sounds on the asked page (-inf elsewhere and in the excluded span).

    Returns: (n_segments,) float32 aligned with `table`.
    """
    scores = np.full(len(table), -np.inf, dtype=np.float32)
    expr = milvus_expression(filters, table, exclude)
    if expr is None:
        return scores
    pos = _page(index, table, vector, top=top, offset=offset, expr=expr)
    rows = np.concatenate([table.rows_of_sound(int(table.sound_rows[p])) for p in pos] or [np.zeros(0, np.int64)])
    if len(rows):
        scores[rows] = index.vectors_of(table.ids[rows]) @ np.asarray(vector, dtype=np.float32)
    if exclude is not None:
        path, start, end = exclude
        scores[(table.paths == path) & (table.starts < end) & (table.ends > start)] = -np.inf
    return scores
