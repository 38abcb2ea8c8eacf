"""Audio -> audio: query by example and "more like this", as a mixin of search/engine.py's SearchEngine
(which holds the collection, the segment table, the acoustic index and the ranking). The pieces that
read only the index and the table are in by_example.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from soundseek.audio.segments import Span
from soundseek.errors import QueryError
from soundseek.search.by_example import filtered_scores, leave_out, lookup, nearest_rows
from soundseek.search.query import blas_single_thread as _blas_single_thread
from soundseek.search.query import query_span as _query_span

if TYPE_CHECKING:
    from soundseek.encoders import AudioEncoder
    from soundseek.search.filters import Filters
    from soundseek.search.hits import Hit
    from soundseek.search.state import SegmentTable
    from soundseek.store import Collection


class AudioQueries:
    """Query by example (see module doc); the attributes and methods below are SearchEngine's."""

    coll: Collection
    space: str
    table: SegmentTable
    index: Any
    joint_index: Any
    joint_model: Any
    audio_encoder: AudioEncoder
    _rank: Callable[..., list[Hit]]
    _rank_rows: Callable[..., tuple[list[Hit], bool]]
    _filter_mask: Callable[[Filters], np.ndarray]

    def embed_query_audio(self, path: str | Path, *, start: float | None = None, end: float | None = None) -> np.ndarray:
        """One vector for a query file (or its [start, end] part) in the collection's space. Returns (dim,)."""
        return self._embed_query(path, start, end)[0]

    def embed_query_span(self, path: str | Path, *, start: float | None = None, end: float | None = None,
                         waveform: np.ndarray | None = None) -> tuple[np.ndarray, Span]:
        """The query's vector (dim,) and the time range of the file it covers (`waveform`: the file
        already decoded at the encoder's rate)."""
        return self._embed_query(path, start, end, waveform)

    def _embed_query(self, path: str | Path, start: float | None, end: float | None,
                     waveform: np.ndarray | None = None) -> tuple[np.ndarray, Span]:
        from soundseek.audio import load_audio

        wave = load_audio(path, sr=self.audio_encoder.sample_rate) if waveform is None else waveform
        span = _query_span(len(wave) / self.audio_encoder.sample_rate, start, end)
        return self.audio_encoder.encode_segments(wave, [span]).vectors[0], span

    def search_audio(self, path: str | Path, *, start: float | None = None, end: float | None = None,
                     top: int = 10, offset: int = 0, filters: Filters | None = None,
                     waveform: np.ndarray | None = None) -> list[Hit]:
        """Nearest files to an example sound (cosine). When the query is (part of) an indexed file, only
        the part it covers is left out: other moments of the same recording are valid hits.

        waveform: the file's samples already decoded at the encoder's rate (the server decodes uploads
        before taking its lock)."""
        vector, span = self._embed_query(path, start, end, waveform)
        return self.search_vector(vector, top=top, offset=offset, filters=filters,
                                  exclude=(os.path.abspath(path), span.start, span.end))

    @_blas_single_thread
    def search_vector(self, vector: np.ndarray, *, top: int = 10, offset: int = 0, filters: Filters | None = None,
                      exclude: tuple[str, float, float] | None = None) -> list[Hit]:
        """Nearest files to a vector of the collection's space. `exclude` = (path, start, end): the
        segments of that file overlapping that time range are left out."""
        if top < 1 or offset < 0:
            raise QueryError(f"the number of results must be >= 1 and the offset >= 0 (got {top}, {offset})")
        if self.index is None:
            return []
        if self.joint_index is None and hasattr(self.index, "search_grouped"):  # a Milvus store
            from soundseek.search.pushdown import pushed_down_scores
            scores = pushed_down_scores(self.index, self.table, np.asarray(vector, dtype=np.float32), top=top, offset=offset,
                                        filters=filters, exclude=exclude)
            return self._rank(scores, top=top, offset=0, filters=filters)
        n = len(self.table)
        vector = np.asarray(vector, dtype=np.float32)
        scores = self._filtered_vector_scores(vector, filters)
        if scores is not None:
            leave_out(self.table, scores, exclude)
            return self._rank(scores, top=top, offset=offset, filters=filters)
        if not (filters and filters.active()) and self.joint_index is None:
            # only the index's nearest segments are ranked, never an array of every segment
            rows, sims = nearest_rows(self.index, self.table, vector, top + offset, exclude)
            return self._rank_rows(rows, sims, top, offset, lookup(rows, sims))[0]
        k = n if (filters and filters.active()) else min(n, max(50, (top + offset) * 20))
        while True:
            scores = self._vector_scores(vector, k)
            leave_out(self.table, scores, exclude)
            # deep enough for `top + offset` distinct sounds (the nearest segments may share one recording)
            found = len(np.unique(self.table.sound_rows[np.isfinite(scores)]))
            if found >= top + offset or k >= n:
                break
            k = min(n, k * 4)
        return self._rank(scores, top=top, offset=offset, filters=filters)

    def _filtered_vector_scores(self, vector: np.ndarray, filters: Filters | None) -> np.ndarray | None:
        """With an active filter: the exact cosine of the segments that pass it (-inf elsewhere). None
        without a filter, with a joint model, or when the index cannot give its vectors back (then an ANN
        search over every segment is masked, which took 4-11 s a query at 100k segments: BENCHMARKS.md,
        issue 14)."""
        if not (filters and filters.active()) or self.joint_index is not None or not hasattr(self.index, "vectors_of"):
            return None
        return filtered_scores(self.index, self.table, vector, self._filter_mask(filters))

    def _vector_scores(self, vector: np.ndarray, k: int) -> np.ndarray:
        """Cosine of the k nearest segments (-inf elsewhere), fused with the joint space when attached."""
        sims, ids = self.index.search(vector[None, :], k)
        ok = ids[0] >= 0
        scores = np.full(len(self.table), -np.inf, dtype=np.float32)
        scores[self.table.positions(ids[0][ok])] = sims[0][ok]
        if self.joint_index is not None:
            from soundseek.search.joint import joint_audio_scores
            joint = joint_audio_scores(self.joint_model, self.joint_index, self.table, vector)
            scores = np.where(np.isfinite(scores), np.maximum(scores, 0), 0) + joint
            scores[scores <= 0] = -np.inf
        return scores

    def more_like_this(self, segment_id: int, *, top: int = 10, offset: int = 0, filters: Filters | None = None) -> list[Hit]:
        """Nearest files to an indexed segment, leaving out its own file."""
        pos = self.table.positions(np.asarray([segment_id]))[0]
        if pos >= len(self.table) or self.table.ids[pos] != segment_id:
            raise QueryError(f"unknown segment id {segment_id}")
        vector = self._vectors(np.asarray([segment_id]))[0]
        exclude = (self.table.paths[pos], float(self.table.starts[pos]), float(self.table.ends[pos]))
        return self.search_vector(vector, top=top, offset=offset, filters=filters, exclude=exclude)

    def _vectors(self, segment_ids: np.ndarray) -> np.ndarray:
        return self.coll.vectors_for(self.space, [int(i) for i in segment_ids])
