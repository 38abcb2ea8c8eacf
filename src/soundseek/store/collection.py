"""A collection on disk: SQLite for everything that must survive, plus derived vector-index caches.

Layout of a collection directory (README.md, "Collection layout", describes it for users):

    soundseek.sqlite     metadata and vectors, the source of truth (WAL mode; every indexed file is
                         committed in one transaction, so a killed run loses at most the file in flight)
    index/<space>/       vector index cache for one embedding space (meta.json + backend files),
                         rebuilt from the database whenever its `generation` is older than the database's

A collection indexed with `--store URI` keeps the vectors of its audio space in Milvus instead (meta
`store`; the `vectors` table then holds only extra spaces): see store/milvus.py and store/sync.py.

Tables: meta(key, value), roots(path), sounds(...), segments(...), vectors(segment_id, space, vector),
class_scores(segment_id, scores float16[521]), tags(segment_id, tag, score, source),
sound_text (FTS5 over the words of each sound), failures(path, reason, ...). The per-query look-ups by
id (records, frames, tags, keywords) are store/lookups.py's, a mixin of Collection.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
from platformdirs import user_data_dir

from soundseek.encoders.base import FrameEvidence
from soundseek.errors import CollectionError
from soundseek.store.milvus import MilvusSegments, StoreSpec
from soundseek.store.records import NewSegment, SoundRecord
from soundseek.store.schema import DB_NAME, SCHEMA, SCHEMA_VERSION, connect
from soundseek.store.generations import record_generation, sound_rows
from soundseek.store.lookups import Lookups


def default_collection_dir() -> Path:
    """`$SOUNDSEEK_HOME/collection`, else `<user data dir>/soundseek/collection`."""
    home = os.environ.get("SOUNDSEEK_HOME")
    base = Path(home).expanduser() if home else Path(user_data_dir("soundseek"))
    return base / "collection"


class Collection(Lookups):
    """An open collection. Use `Collection.open(dir)` (existing) or `Collection.create(dir, ...)`."""

    def __init__(self, root: Path, conn: sqlite3.Connection) -> None:
        self.root = root
        self.conn = conn
        self._segment_store: MilvusSegments | None = None

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path | str, *, audio_encoder: str, encoder_config: dict) -> "Collection":
        """Open `root`, creating it with this audio encoder when it does not exist yet."""
        root = Path(root)
        if (root / DB_NAME).exists():
            coll = cls.open(root)
            if coll.audio_encoder != audio_encoder:
                raise CollectionError(
                    f"collection {root} was built with the '{coll.audio_encoder}' encoder, not "
                    f"'{audio_encoder}': use another --collection, or delete it to rebuild"
                )
            return coll
        root.mkdir(parents=True, exist_ok=True)
        # Built under another name and renamed into place: a process killed while creating it leaves
        # no half-made collection behind (only a stray file the next attempt replaces).
        draft = root / (DB_NAME + ".creating")
        for leftover in (draft, Path(f"{draft}-wal"), Path(f"{draft}-shm")):
            leftover.unlink(missing_ok=True)
        building = cls(root, connect(draft))
        building.conn.executescript(SCHEMA)
        with building.conn:
            building._set_meta("schema_version", SCHEMA_VERSION)
            building._set_meta("audio_encoder", audio_encoder)
            building._set_meta("audio_encoder_config", encoder_config)
            building._set_meta("generation", 0)
            building._set_meta("created", time.time())
        building.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        building.close()
        os.replace(draft, root / DB_NAME)
        return cls.open(root)

    @classmethod
    def open(cls, root: Path | str) -> "Collection":
        """Open an existing collection, or raise CollectionError saying how to make one."""
        root = Path(root)
        if not (root / DB_NAME).is_file():
            raise CollectionError(
                f"no collection at {root}: build one with `soundseek index FOLDER --collection {root}`"
            )
        try:
            conn = connect(root / DB_NAME)
            conn.executescript(SCHEMA)
            coll = cls(root, conn)
            version = int(coll.meta("schema_version"))
        except (sqlite3.DatabaseError, TypeError, ValueError) as exc:
            raise CollectionError(f"collection database {root / DB_NAME} is unreadable: {exc}") from exc
        if version != SCHEMA_VERSION:
            raise CollectionError(f"collection schema {version} is not supported (want {SCHEMA_VERSION})")
        return coll

    def close(self) -> None:
        if self._segment_store is not None:
            self._segment_store.close()
            self._segment_store = None
        self.conn.close()

    # -- where the vectors live ----------------------------------------------------------------
    @property
    def store_spec(self) -> StoreSpec | None:
        """The Milvus store of the audio vectors, None for the embedded store (SQLite + FAISS cache)."""
        data = self.meta("store")
        return StoreSpec.from_dict(data) if isinstance(data, dict) else None

    @property
    def segment_store(self) -> MilvusSegments | None:
        """The collection's Milvus rows (connected on first use), None for the embedded store."""
        if self._segment_store is None and (spec := self.store_spec) is not None:
            self._segment_store = MilvusSegments(spec)
        return self._segment_store

    def set_store(self, spec: StoreSpec | None) -> None:
        """Record where the audio vectors live; only before anything is indexed (no migration)."""
        current = self.store_spec
        if current == spec:
            return
        if int(self.conn.execute("SELECT COUNT(*) FROM segments").fetchone()[0]):
            was = current.uri if current else "the embedded store"
            raise CollectionError(f"collection {self.root} already keeps its vectors in {was}: a store is chosen "
                                  "when a collection is created (index into a new --collection)")
        self.set_meta("store", spec.to_dict() if spec else None)
        self._segment_store = None

    def _store_for(self, space: str) -> MilvusSegments | None:
        return self.segment_store if space == self.audio_encoder else None

    # -- meta ----------------------------------------------------------------------------------
    def meta(self, key: str, default: object = None) -> object:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def _set_meta(self, key: str, value: object) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def set_meta(self, key: str, value: object) -> None:
        with self.conn:
            self._set_meta(key, value)

    @property
    def audio_encoder(self) -> str:
        return str(self.meta("audio_encoder"))

    @property
    def audio_encoder_config(self) -> dict:
        return dict(self.meta("audio_encoder_config") or {})

    @property
    def class_names(self) -> list[str] | None:
        """The audio encoder's class names (aligned with the stored class scores), None if it has none."""
        names = self.meta("class_names")
        return [str(n) for n in names] if isinstance(names, list) else None

    @property
    def index_kind(self) -> str | None:
        """The vector index backend chosen for this collection (None: by size, see vindex.make_index)."""
        kind = self.meta("index_kind")
        return str(kind) if kind else None

    @property
    def generation(self) -> int:
        """Bumped by every committed change to vectors; caches compare against it."""
        return int(self.meta("generation", 0))

    # -- writing -------------------------------------------------------------------------------
    def writer_lock(self, *, wait: bool = False):  # type: ignore[no-untyped-def]
        """The collection's writer lock (see store/lock.py): a context manager."""
        from soundseek.store.lock import writer_lock

        return writer_lock(self.root, wait=wait)

    def add_roots(self, paths: list[Path]) -> None:
        with self.conn:
            self.conn.executemany("INSERT OR IGNORE INTO roots VALUES (?)", [(str(p),) for p in paths])

    def roots(self) -> list[Path]:
        return [Path(r[0]) for r in self.conn.execute("SELECT path FROM roots ORDER BY path")]

    def put_sound(self, sound: SoundRecord, segments: list[NewSegment], *, space: str,
                  frames: FrameEvidence | None = None) -> int:
        """Replace everything known about `sound.path` (and its frame-level evidence, when the encoder
        has some) in one transaction. Returns the sound id.

        With a Milvus store, the segments' rows go to Milvus after the transaction (store/sync.py)."""
        store = self._store_for(space)
        old = self.conn.execute("SELECT id FROM sounds WHERE path = ?", (sound.path,)).fetchone()
        with self.conn:
            self._delete_paths([sound.path])
            cur = self.conn.execute(
                "INSERT INTO sounds (path, size, mtime_ns, duration, sample_rate, channels, format, text,"
                " indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sound.path, sound.size, sound.mtime_ns, sound.duration, sound.sample_rate,
                 sound.channels, sound.format, sound.text, time.time()),
            )
            sound_id = int(cur.lastrowid or 0)
            seg_ids = [self._insert_segment(sound_id, seg, space, vector=store is None) for seg in segments]
            self.conn.execute("INSERT INTO sound_text (rowid, words) VALUES (?, ?)", (sound_id, sound.text))
            if frames is not None:
                self.conn.execute("INSERT INTO frames VALUES (?, ?, ?, ?, ?, ?)", (
                    sound_id, frames.classes.shape[1], frames.times.astype(np.float32).tobytes(),
                    frames.classes.astype(np.uint16).tobytes(), frames.scores.astype(np.uint8).tobytes(),
                    frames.loudness.astype(np.uint8).tobytes()))
            self.conn.execute("DELETE FROM failures WHERE path = ?", (sound.path,))
            self._bump()
            generation = record_generation(self.conn, sound_id) if store is not None else 0
        if store is not None:
            store.delete_sounds([sound_id] + ([old[0]] if old else []))
            store.upsert(sound_rows(sound, sound_id, seg_ids, segments, generation))
        return sound_id

    def _insert_segment(self, sound_id: int, seg: NewSegment, space: str, *, vector: bool = True) -> int:
        cur = self.conn.execute(
            "INSERT INTO segments (sound_id, start, end) VALUES (?, ?, ?)", (sound_id, seg.start, seg.end)
        )
        seg_id = int(cur.lastrowid or 0)
        if vector:
            self.conn.execute(
                "INSERT INTO vectors VALUES (?, ?, ?)",
                (seg_id, space, np.asarray(seg.vector, dtype=np.float32).tobytes()),
            )
        if seg.class_scores is not None:
            blob = np.asarray(seg.class_scores, dtype=np.float16).tobytes()
            self.conn.execute("INSERT INTO class_scores VALUES (?, ?)", (seg_id, blob))
        self.conn.executemany(
            "INSERT INTO tags VALUES (?, ?, ?, 'audioset')", [(seg_id, t, float(s)) for t, s in seg.tags]
        )
        return seg_id

    def put_vectors(self, space: str, segment_ids: np.ndarray, vectors: np.ndarray) -> None:
        """Store (or replace) vectors of an extra embedding space (e.g. a trained model's)."""
        rows = [(int(i), space, np.asarray(v, dtype=np.float32).tobytes()) for i, v in zip(segment_ids, vectors)]
        with self.conn:
            self.conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            self._bump()

    def set_sound_texts(self, texts: dict[str, str]) -> int:
        """Replace the words of already indexed sounds (path -> words), e.g. after a metadata change,
        without re-embedding their audio. Returns how many sounds were known."""
        n = 0
        with self.conn:
            for path, text in texts.items():
                row = self.conn.execute("SELECT id FROM sounds WHERE path = ?", (path,)).fetchone()
                if row is None:
                    continue
                self.conn.execute("UPDATE sounds SET text = ? WHERE id = ?", (text, row[0]))
                self.conn.execute("DELETE FROM sound_text WHERE rowid = ?", (row[0],))
                self.conn.execute("INSERT INTO sound_text (rowid, words) VALUES (?, ?)", (row[0], text))
                n += 1
            if n:
                self._bump()
        return n

    def delete_paths(self, paths: list[str]) -> int:
        """Forget these files (segments, vectors, tags, text). Returns how many were known."""
        store = self.segment_store
        ids = [r[0] for p in paths for r in self.conn.execute("SELECT id FROM sounds WHERE path = ?", (p,))]
        with self.conn:
            n = self._delete_paths(paths)
            if n:
                self._bump()
        if store is not None:
            store.delete_sounds(ids)
        return n

    def _delete_paths(self, paths: list[str]) -> int:
        n = 0
        for path in paths:
            row = self.conn.execute("SELECT id FROM sounds WHERE path = ?", (path,)).fetchone()
            if row:
                self.conn.execute("DELETE FROM sound_text WHERE rowid = ?", (row[0],))
                self.conn.execute("DELETE FROM sounds WHERE id = ?", (row[0],))
                n += 1
        return n

    def record_failure(self, path: str, reason: str, *, size: int | None, mtime_ns: int | None) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?)", (path, reason, size, mtime_ns, time.time())
            )

    def clear_failure(self, path: str) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM failures WHERE path = ?", (path,))

    def _bump(self) -> None:
        self.conn.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'"
        )

    # -- reading -------------------------------------------------------------------------------
    def sound_signatures(self) -> dict[str, tuple[int, int]]:
        """path -> (size, mtime_ns) of every indexed file."""
        return {p: (s, m) for p, s, m in self.conn.execute("SELECT path, size, mtime_ns FROM sounds")}

    def failures(self) -> list[tuple[str, str]]:
        return list(self.conn.execute("SELECT path, reason FROM failures ORDER BY path"))

    def counts(self) -> dict[str, int]:
        one = lambda sql: int(self.conn.execute(sql).fetchone()[0])  # noqa: E731
        return {
            "sounds": one("SELECT COUNT(*) FROM sounds"),
            "segments": one("SELECT COUNT(*) FROM segments"),
            "failures": one("SELECT COUNT(*) FROM failures"),
            "seconds": int(one("SELECT COALESCE(SUM(duration), 0) FROM sounds")),
        }

    def spaces(self) -> list[str]:
        spaces = {r[0] for r in self.conn.execute("SELECT DISTINCT space FROM vectors")}
        if self.segment_store is not None and self.segment_store.dim is not None:
            spaces.add(self.audio_encoder)
        return sorted(spaces)

    def vector_dim(self, space: str) -> int:
        """Dimension of the vectors stored in `space` (CollectionError when it has none)."""
        if (store := self._store_for(space)) is not None:
            if store.dim is None:
                raise CollectionError(f"collection has no vectors in space '{space}'")
            return store.dim
        row = self.conn.execute("SELECT length(vector) FROM vectors WHERE space = ? LIMIT 1", (space,)).fetchone()
        if row is None:
            raise CollectionError(f"collection has no vectors in space '{space}'")
        return int(row[0]) // 4

    def iter_vectors(self, space: str) -> tuple[np.ndarray, np.ndarray]:
        """All vectors of a space. Returns: ids (n,) int64, vectors (n, dim) float32."""
        if (store := self._store_for(space)) is not None:
            return check_complete(self, *store.all_vectors())
        dim = self.vector_dim(space)
        rows = self.conn.execute("SELECT segment_id, vector FROM vectors WHERE space = ? ORDER BY segment_id", (space,))
        ids, blobs = [], []
        for seg_id, blob in rows:
            ids.append(seg_id)
            blobs.append(blob)
        vecs = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), dim) if ids else np.zeros((0, dim), np.float32)
        return np.asarray(ids, dtype=np.int64), vecs

    def segment_ids(self) -> np.ndarray:
        """Ids of every segment. Returns: (n,) int64, sorted."""
        return np.asarray([r[0] for r in self.conn.execute("SELECT id FROM segments ORDER BY id")], dtype=np.int64)

    def segment_ids_in_space(self, space: str) -> np.ndarray:
        """Ids of the segments that have a vector in `space`. Returns: (n,) int64, sorted."""
        if (store := self._store_for(space)) is not None:
            return store.states()[0]
        rows = self.conn.execute("SELECT segment_id FROM vectors WHERE space = ? ORDER BY segment_id", (space,))
        return np.asarray([r[0] for r in rows], dtype=np.int64)

    def segment_columns(self) -> list[list]:
        """Every segment sorted by id, as 8 parallel columns: id, sound id, start, end, and its sound's
        duration, sample rate, channels and path (the search engine's segment table)."""
        rows = self.conn.execute(
            "SELECT g.id, g.sound_id, g.start, g.end, s.duration, s.sample_rate, s.channels, s.path"
            " FROM segments g JOIN sounds s ON s.id = g.sound_id ORDER BY g.id"
        ).fetchall()
        return [list(c) for c in zip(*rows)] if rows else [[] for _ in range(8)]

    def sound_texts(self) -> dict[int, str]:
        """sound id -> its words (empty string when it has none)."""
        return dict(self.conn.execute("SELECT id, text FROM sounds").fetchall())

    def segments_with_tag(self, tag: str) -> np.ndarray:
        """Ids of the segments carrying `tag` (case-insensitive). Returns: (n,) int64."""
        rows = self.conn.execute("SELECT DISTINCT segment_id FROM tags WHERE lower(tag) = lower(?)", (tag,))
        return np.asarray([r[0] for r in rows], dtype=np.int64)

    def vectors_for(self, space: str, segment_ids: list[int]) -> np.ndarray:
        """Vectors of the given segments, in order. Returns: (n, dim) float32."""
        if (store := self._store_for(space)) is not None:
            found = store.vectors(segment_ids)
            missing = [i for i in segment_ids if int(i) not in found]
            if missing:
                raise CollectionError(f"segment {missing[0]} has no vector in the Milvus store: run "
                                      "`soundseek index` to repair the collection")
            return np.stack([found[int(i)] for i in segment_ids]) if segment_ids else np.zeros((0, store.dim or 0), np.float32)
        out = []
        for seg_id in segment_ids:
            row = self.conn.execute("SELECT vector FROM vectors WHERE space = ? AND segment_id = ?", (space, seg_id)).fetchone()
            if row is None:
                raise CollectionError(f"segment {seg_id} has no vector in space '{space}'")
            out.append(np.frombuffer(row[0], dtype=np.float32))
        return np.stack(out)

    def class_score_matrix(self, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
        """Class scores of every segment, class-major for fast column sums.

        Returns: ids (n,) int64, scores (n_classes, n) float16.
        """
        rows = self.conn.execute("SELECT segment_id, scores FROM class_scores ORDER BY segment_id").fetchall()
        ids = np.asarray([r[0] for r in rows], dtype=np.int64)
        if not rows:
            return ids, np.zeros((n_classes, 0), dtype=np.float16)
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).reshape(len(rows), n_classes)
        return ids, np.ascontiguousarray(mat.T)


def check_complete(coll: Collection, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Milvus vectors restricted to the segments SQLite knows; a known segment without a vector (a crash
    between the two writes) is a CollectionError naming the repair."""
    known = coll.segment_ids()
    keep = np.isin(ids, known)
    if keep.sum() != len(known):
        raise CollectionError(f"the Milvus store lacks {len(known) - int(keep.sum())} segment vector(s): run "
                              "`soundseek index` to repair the collection")
    return ids[keep], vectors[keep]

