"""Tables of continuous ingestion (watch, crawl, duplicates); created in every collection, old ones included.

- `fingerprints`: per sound, the SHA-256 of its file's bytes and of its decoded audio (renames, exact duplicates).
- `provenance`: per downloaded file (by path), where it came from: source, URL, page, title, licence, date.
- `crawl_sources`: every source given to `soundseek crawl`, its kind and last run.
- `crawl_queue`: every URL the crawler found, its state (pending, fetching, done, refused, failed,
  duplicate) and why; the resumable queue (a 'fetching' row left by a killed run is retried).
- `duplicate_groups`: the groups found by the last `soundseek duplicates` (for the web page).
"""

from __future__ import annotations

INGEST_SCHEMA = """
CREATE TABLE IF NOT EXISTS fingerprints (
    sound_id INTEGER PRIMARY KEY REFERENCES sounds(id) ON DELETE CASCADE,
    file_sha256 TEXT NOT NULL, audio_sha256 TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS fingerprints_file ON fingerprints(file_sha256);
CREATE INDEX IF NOT EXISTS fingerprints_audio ON fingerprints(audio_sha256);
CREATE TABLE IF NOT EXISTS provenance (
    path TEXT PRIMARY KEY, source TEXT NOT NULL, url TEXT NOT NULL, page TEXT, title TEXT,
    licence TEXT, published TEXT, fetched_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS crawl_sources (
    source TEXT PRIMARY KEY, kind TEXT NOT NULL, added_at REAL NOT NULL, last_run REAL, last_error TEXT);
CREATE TABLE IF NOT EXISTS crawl_queue (
    url TEXT PRIMARY KEY, source TEXT NOT NULL, kind TEXT NOT NULL, depth INTEGER NOT NULL,
    state TEXT NOT NULL, reason TEXT, attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0,
    info TEXT NOT NULL DEFAULT '{}', path TEXT, added_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS crawl_queue_state ON crawl_queue(state, next_try);
CREATE TABLE IF NOT EXISTS duplicate_groups (
    sound_id INTEGER PRIMARY KEY REFERENCES sounds(id) ON DELETE CASCADE, group_id INTEGER NOT NULL,
    kind TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS duplicate_groups_group ON duplicate_groups(group_id);
"""
