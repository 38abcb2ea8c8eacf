"""The collection database's schema and how a connection to it is opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Iterator, Sequence

from soundseek.errors import CollectionError
from soundseek.store.ingest_schema import INGEST_SCHEMA

DB_NAME = "soundseek.sqlite"
SCHEMA_VERSION = 1

#: For a collection stored in Milvus: the collection generation that wrote each sound (store/sync.py).
SYNC_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_sync (
    sound_id INTEGER PRIMARY KEY REFERENCES sounds(id) ON DELETE CASCADE, generation INTEGER NOT NULL);
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS sounds (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    duration REAL NOT NULL, sample_rate INTEGER NOT NULL, channels INTEGER NOT NULL, format TEXT,
    text TEXT NOT NULL DEFAULT '', indexed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY, sound_id INTEGER NOT NULL REFERENCES sounds(id) ON DELETE CASCADE,
    start REAL NOT NULL, end REAL NOT NULL);
CREATE INDEX IF NOT EXISTS segments_sound ON segments(sound_id);
CREATE TABLE IF NOT EXISTS vectors (
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE, space TEXT NOT NULL,
    vector BLOB NOT NULL, PRIMARY KEY (space, segment_id));
CREATE TABLE IF NOT EXISTS class_scores (
    segment_id INTEGER PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE, scores BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tags (
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE, tag TEXT NOT NULL,
    score REAL NOT NULL, source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tags_segment ON tags(segment_id);
CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag);
CREATE VIRTUAL TABLE IF NOT EXISTS sound_text USING fts5(words, tokenize='porter unicode61');
CREATE TABLE IF NOT EXISTS frames (
    sound_id INTEGER PRIMARY KEY REFERENCES sounds(id) ON DELETE CASCADE, k INTEGER NOT NULL,
    times BLOB NOT NULL, classes BLOB NOT NULL, scores BLOB NOT NULL, loudness BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY, reason TEXT NOT NULL, size INTEGER, mtime_ns INTEGER, at REAL NOT NULL);
""" + INGEST_SCHEMA + SYNC_SCHEMA


#: Values bound in one `IN (...)` list (SQLite limits the parameters of a statement).
IN_CHUNK = 500


def rows_where_in(conn: sqlite3.Connection, sql: str, values: Sequence[Any]) -> Iterator[Any]:
    """The rows of `sql`, whose `{marks}` is the placeholder list of an `IN (...)`, for all `values`,
    bound IN_CHUNK at a time (an ORDER BY holds within each chunk)."""
    values = list(values)
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start : start + IN_CHUNK]
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


def connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as exc:
        raise CollectionError(f"cannot open collection database {path}: {exc}") from exc
    return conn
