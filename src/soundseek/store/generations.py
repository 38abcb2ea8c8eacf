"""The write side of a collection stored in Milvus: which generation wrote a sound (SQLite table
`store_sync`), and the Milvus rows of a sound just committed. store/sync.py explains why."""

from __future__ import annotations

import sqlite3

import numpy as np

from soundseek.store.milvus import SegmentRows
from soundseek.store.records import NewSegment, SoundRecord


def record_generation(conn: sqlite3.Connection, sound_id: int) -> int:
    """Inside the put_sound transaction (after the generation bump): remember which generation wrote
    this sound. Returns it."""
    gen = int(conn.execute("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'").fetchone()[0])
    conn.execute("INSERT OR REPLACE INTO store_sync VALUES (?, ?)", (sound_id, gen))
    return gen


def sound_rows(sound: SoundRecord, sound_id: int, segment_ids: list[int], segments: list[NewSegment],
               generation: int) -> SegmentRows:
    """The Milvus rows of one sound just committed to SQLite."""
    n = len(segments)
    vectors = np.stack([np.asarray(s.vector, dtype=np.float32) for s in segments]) if n else np.zeros((0, 0), np.float32)
    return SegmentRows(
        np.asarray(segment_ids, dtype=np.int64), np.full(n, sound_id, dtype=np.int64),
        np.asarray([s.start for s in segments], dtype=np.float64), np.asarray([s.end for s in segments], dtype=np.float64),
        np.full(n, sound.duration, dtype=np.float64), np.full(n, sound.sample_rate, dtype=np.int64),
        np.full(n, sound.channels, dtype=np.int64), [sound.path] * n, [[t for t, _ in s.tags] for s in segments],
        np.full(n, generation, dtype=np.int64), vectors,
    )
