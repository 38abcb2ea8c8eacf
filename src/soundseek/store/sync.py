"""Keeping SQLite and Milvus in line for a collection stored in Milvus.

Sources of truth (docs/scale.md says the same for users):

- SQLite says **which** files and segments exist (sounds, segments, words, tags, class scores,
  failures) and, per sound, the collection `generation` that wrote it (table `store_sync`).
- Milvus holds the **vectors** (and copies of the fields a filter or grouping reads). A vector is not
  kept anywhere else: when Milvus lacks it, the sound is re-embedded from its audio file.

A sound is written SQLite first (one transaction: its rows and its generation), then Milvus (its old
rows deleted, its new rows upserted with the same generation). A crash can leave them disagreeing;
`reconcile` (run by `soundseek index` before it scans) settles every disagreement the same way:

- a Milvus row whose segment id SQLite does not have, or whose sound or generation differs from what
  SQLite recorded, is stale: it is deleted;
- a sound SQLite has but whose segments are not all in Milvus at its generation is forgotten in
  SQLite (and its partial rows deleted), so the scan that follows indexes its file again.

So nothing indexed is lost (a file is either complete in both or indexed again) and nothing is
duplicated (segment ids are Milvus primary keys, and the generation tells a reused id's old row apart).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from soundseek.store.collection import Collection
from soundseek.store.generations import record_generation
from soundseek.store.milvus import SegmentRows

@dataclass
class RepairReport:
    """What `reconcile` found and did."""

    stale_rows: int = 0
    forgotten_sounds: int = 0
    forgotten_paths: list[str] | None = None

    def __bool__(self) -> bool:
        return bool(self.stale_rows or self.forgotten_sounds)


def refresh_sound_fields(coll: Collection, sound_id: int) -> None:
    """Rewrite a sound's Milvus rows with its current path and file fields (after a move), keeping
    vectors and tags; its generation is recorded anew."""
    store = coll.segment_store
    seg_ids = coll.segment_ids_of_sound(sound_id)
    sound = coll.sound(sound_id)
    if store is None or sound is None or not seg_ids:
        return
    with coll.conn:
        gen = record_generation(coll.conn, sound_id)
    rows = sorted(store.rows(seg_ids), key=lambda r: r["id"])
    if len(rows) != len(seg_ids):
        return  # incomplete: the next reconcile forgets the sound and it is indexed again
    store.upsert(SegmentRows(
        np.asarray([r["id"] for r in rows], dtype=np.int64), np.full(len(rows), sound_id, dtype=np.int64),
        np.asarray([r["start"] for r in rows]), np.asarray([r["end"] for r in rows]),
        np.full(len(rows), sound.duration), np.full(len(rows), sound.sample_rate, dtype=np.int64),
        np.full(len(rows), sound.channels, dtype=np.int64), [sound.path] * len(rows), [list(r["tags"]) for r in rows],
        np.full(len(rows), gen, dtype=np.int64), np.stack([np.asarray(r["vector"], np.float32) for r in rows])))


def expected_rows(conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What SQLite says Milvus should hold: (segment id, sound id, generation), sorted by segment id.
    A sound without a recorded generation gets -1 (it never matches a row)."""
    rows = conn.execute(
        "SELECT g.id, g.sound_id, COALESCE(y.generation, -1) FROM segments g"
        " LEFT JOIN store_sync y ON y.sound_id = g.sound_id ORDER BY g.id").fetchall()
    cols = list(zip(*rows)) if rows else [(), (), ()]
    return tuple(np.asarray(c, dtype=np.int64) for c in cols)  # type: ignore[return-value]


def reconcile(coll: Collection) -> RepairReport:
    """Bring SQLite and Milvus back in line (see the module docstring). Run under the writer lock."""
    store = coll.segment_store
    report = RepairReport(forgotten_paths=[])
    if store is None:
        return report
    want_ids, want_sounds, want_gens = expected_rows(coll.conn)
    have_ids, have_sounds, have_gens = store.states()
    match = _matching(have_ids, have_sounds, have_gens, want_ids, want_sounds, want_gens)
    store.delete_ids(have_ids[~match])
    report.stale_rows = int((~match).sum())
    ok = np.isin(want_ids, have_ids[match])
    broken = sorted({int(s) for s in want_sounds[~ok]})
    if broken:
        paths = [r.path for r in (coll.sound(s) for s in broken) if r is not None]
        coll.delete_paths(paths)  # also deletes their partial Milvus rows
        report.forgotten_sounds, report.forgotten_paths = len(paths), paths
    return report


def _matching(have_ids: np.ndarray, have_sounds: np.ndarray, have_gens: np.ndarray, want_ids: np.ndarray,
              want_sounds: np.ndarray, want_gens: np.ndarray) -> np.ndarray:
    """Mask over the Milvus rows that are exactly what SQLite expects (same id, sound and generation)."""
    if not len(want_ids):
        return np.zeros(len(have_ids), dtype=bool)
    pos = np.searchsorted(want_ids, have_ids)
    pos_ok = np.minimum(pos, len(want_ids) - 1)
    return ((pos < len(want_ids)) & (want_ids[pos_ok] == have_ids) & (want_sounds[pos_ok] == have_sounds)
            & (want_gens[pos_ok] == have_gens))

