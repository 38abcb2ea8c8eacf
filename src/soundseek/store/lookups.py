"""What a search reads of a collection per query: segment and sound records, frame evidence, tags,
keyword search. A mixin of store.collection.Collection (over its SQLite connection `conn`), kept apart
so the collection module holds opening, writing and the bulk reads."""

from __future__ import annotations

import sqlite3
from typing import Sequence

import numpy as np

import soundseek.store.keywords as keywords
from soundseek.encoders.base import FrameEvidence
from soundseek.store.records import SegmentRecord, SoundRecord
from soundseek.store.schema import rows_where_in

_SOUND_COLS = "s.id, s.path, s.size, s.mtime_ns, s.duration, s.sample_rate, s.channels, s.format, s.text"


class Lookups:
    """Per-query reads by id (see module doc)."""

    conn: sqlite3.Connection

    def segments(self, segment_ids: list[int]) -> list[SegmentRecord]:
        """Segment records (with their sound) for these ids, in the given order; unknown ids skipped."""
        rows = rows_where_in(self.conn, f"SELECT g.id, g.start, g.end, {_SOUND_COLS} FROM segments g JOIN sounds s"
                             " ON s.id = g.sound_id WHERE g.id IN ({marks})", [int(i) for i in segment_ids])
        by_id = {r[0]: SegmentRecord(r[0], SoundRecord(*r[3:]), r[1], r[2]) for r in rows}
        return [by_id[i] for i in segment_ids if i in by_id]

    def frame_evidence(self, sound_id: int) -> FrameEvidence | None:
        """The frame-level evidence of a sound, None when its encoder kept none."""
        return self.frame_evidence_of([sound_id]).get(sound_id)

    def frame_evidence_of(self, sound_ids: Sequence[int]) -> dict[int, FrameEvidence]:
        """The frame-level evidence of each of these sounds that has some, in one query."""
        rows = rows_where_in(self.conn, "SELECT sound_id, k, times, classes, scores, loudness FROM frames"
                             " WHERE sound_id IN ({marks})", sorted({int(i) for i in sound_ids}))
        return {int(r[0]): _frame_evidence(*r[1:]) for r in rows}

    def sound_by_path(self, path: str) -> SoundRecord | None:
        row = self.conn.execute(f"SELECT {_SOUND_COLS} FROM sounds s WHERE s.path = ?", (path,)).fetchone()
        return SoundRecord(*row) if row else None

    def sound(self, sound_id: int) -> SoundRecord | None:
        row = self.conn.execute(f"SELECT {_SOUND_COLS} FROM sounds s WHERE s.id = ?", (sound_id,)).fetchone()
        return SoundRecord(*row) if row else None

    def sounds(self, *, limit: int = 100, offset: int = 0) -> list[SoundRecord]:
        rows = self.conn.execute(f"SELECT {_SOUND_COLS} FROM sounds s ORDER BY s.path LIMIT ? OFFSET ?", (limit, offset))
        return [SoundRecord(*r) for r in rows]

    def segment_ids_of_sound(self, sound_id: int) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT id FROM segments WHERE sound_id = ? ORDER BY start", (sound_id,))]

    def tags_of(self, segment_ids: list[int]) -> dict[int, list[tuple[str, float]]]:
        out: dict[int, list[tuple[str, float]]] = {i: [] for i in segment_ids}
        for seg_id, tag, score in rows_where_in(
            self.conn, "SELECT segment_id, tag, score FROM tags WHERE segment_id IN ({marks}) ORDER BY score DESC", segment_ids
        ):
            out[seg_id].append((tag, score))
        return out

    def tag_counts(self, *, limit: int = 30) -> list[tuple[str, int]]:
        """Most frequent tags: the number of sounds with at least one segment carrying the tag."""
        return list(self.conn.execute(
            "SELECT t.tag, COUNT(DISTINCT g.sound_id) AS n FROM tags t JOIN segments g ON g.id = t.segment_id"
            " GROUP BY t.tag ORDER BY n DESC, t.tag LIMIT ?", (limit,)
        ))

    def keyword_search(self, query: str, *, limit: int = 200) -> list[tuple[int, float]]:
        """BM25 keyword search over the sounds' words (store/keywords.py). Returns (sound_id, score >= 0)."""
        return keywords.keyword_search(self.conn, query, limit=limit)

    def keyword_postings(self) -> keywords.Postings:
        """The keyword index's postings (store/keywords.py), for search/keywords.py."""
        return keywords.read_postings(self.conn)

    def keyword_terms(self, words: list[str]) -> list[list[str]]:
        """The keyword index's terms of each of `words` (SQLite's tokenizer, store/keywords.py)."""
        return keywords.fts_tokens(self.conn, words)


def _frame_evidence(k: int, times: bytes, classes: bytes, scores: bytes, loudness: bytes) -> FrameEvidence:
    """A FrameEvidence from its row of the frames table."""
    k = int(k)
    return FrameEvidence(np.frombuffer(times, dtype=np.float32).reshape(-1, 2),
                         np.frombuffer(classes, dtype=np.uint16).reshape(-1, k),
                         np.frombuffer(scores, dtype=np.uint8).reshape(-1, k), np.frombuffer(loudness, dtype=np.uint8))
