"""The collection's ingestion tables (see `ingest_schema`): fingerprints, moves, provenance, the crawl
queue and duplicate groups. Functions take an open `Collection`; all their SQL lives here."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from soundseek.store.collection import Collection
from soundseek.store.schema import rows_where_in

#: Crawl queue states. A URL in a final state is never fetched again.
PENDING, FETCHING = "pending", "fetching"
FINAL_STATES = ("done", "refused", "failed", "duplicate")


# -- fingerprints and moves ------------------------------------------------------------------------
def set_fingerprint(coll: Collection, sound_id: int, file_sha256: str, audio_sha256: str) -> None:
    with coll.conn:
        coll.conn.execute("INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?)", (sound_id, file_sha256, audio_sha256))


def fingerprints(coll: Collection) -> dict[int, tuple[str, str]]:
    """sound id -> (file sha256, audio sha256) for every sound that has them."""
    rows = coll.conn.execute("SELECT sound_id, file_sha256, audio_sha256 FROM fingerprints")
    return {int(i): (f, a) for i, f, a in rows}


def sounds_with_file_hash(coll: Collection, sha: str) -> list[tuple[int, str]]:
    """(sound id, path) of the sounds whose file bytes hash to `sha`."""
    return [(int(i), p) for i, p in coll.conn.execute(
        "SELECT s.id, s.path FROM fingerprints f JOIN sounds s ON s.id = f.sound_id WHERE f.file_sha256 = ?", (sha,))]


def sounds_with_audio_hash(coll: Collection, sha: str) -> list[tuple[int, str]]:
    """(sound id, path) of the sounds whose decoded audio hashes to `sha`."""
    return [(int(i), p) for i, p in coll.conn.execute(
        "SELECT s.id, s.path FROM fingerprints f JOIN sounds s ON s.id = f.sound_id WHERE f.audio_sha256 = ?", (sha,))]


def move_sound(coll: Collection, old_path: str, new_path: str, *, size: int, mtime_ns: int, text: str) -> bool:
    """Give an indexed sound a new path (a rename or move: same content, nothing re-embedded), with the
    words of its new name. Its provenance follows it. False when `old_path` is not indexed."""
    with coll.conn:
        row = coll.conn.execute("SELECT id FROM sounds WHERE path = ?", (old_path,)).fetchone()
        if row is None:
            return False
        coll.conn.execute("DELETE FROM sounds WHERE path = ?", (new_path,))  # a stale entry at the target
        coll.conn.execute("UPDATE sounds SET path = ?, size = ?, mtime_ns = ?, text = ? WHERE id = ?",
                          (new_path, size, mtime_ns, text, row[0]))
        coll.conn.execute("DELETE FROM sound_text WHERE rowid = ?", (row[0],))
        coll.conn.execute("INSERT INTO sound_text (rowid, words) VALUES (?, ?)", (row[0], text))
        coll.conn.execute("UPDATE OR REPLACE provenance SET path = ? WHERE path = ?", (new_path, old_path))
        coll.conn.execute("DELETE FROM failures WHERE path = ?", (old_path,))
        coll.conn.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'")
    if coll.segment_store is not None:
        from soundseek.store.sync import refresh_sound_fields
        refresh_sound_fields(coll, int(row[0]))
    return True


def paths_under(coll: Collection, folder: str) -> list[str]:
    """Indexed paths inside `folder` (at any depth)."""
    prefix = folder.rstrip("/") + "/"
    rows = coll.conn.execute("SELECT path FROM sounds WHERE substr(path, 1, ?) = ?", (len(prefix), prefix))
    return [r[0] for r in rows]


# -- provenance ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Provenance:
    """Where a downloaded file came from. `licence` is the source's own words, None when it gives none."""

    path: str
    source: str
    url: str
    page: str | None = None
    title: str | None = None
    licence: str | None = None
    published: str | None = None
    fetched_at: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if k != "path" and v is not None}


def set_provenance(coll: Collection, prov: Provenance) -> None:
    with coll.conn:
        coll.conn.execute("INSERT OR REPLACE INTO provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (
            prov.path, prov.source, prov.url, prov.page, prov.title, prov.licence, prov.published,
            prov.fetched_at or time.time()))


def provenance_of(coll: Collection, paths: list[str]) -> dict[str, Provenance]:
    """path -> provenance, for the given paths that were downloaded."""
    out: dict[str, Provenance] = {}
    for row in rows_where_in(coll.conn, "SELECT * FROM provenance WHERE path IN ({marks})", paths):
        out[row[0]] = Provenance(*row)
    return out


# -- crawl sources and queue -----------------------------------------------------------------------
@dataclass
class QueueItem:
    """One URL of the crawl queue. `info`: what the page or feed said about it (title, description, ...)."""

    url: str
    source: str
    kind: str
    depth: int
    attempts: int = 0
    info: dict[str, str] = field(default_factory=dict)


def add_source(coll: Collection, source: str, kind: str) -> None:
    with coll.conn:
        coll.conn.execute("INSERT OR IGNORE INTO crawl_sources (source, kind, added_at) VALUES (?, ?, ?)",
                          (source, kind, time.time()))


def source_ran(coll: Collection, source: str, error: str | None) -> None:
    with coll.conn:
        coll.conn.execute("UPDATE crawl_sources SET last_run = ?, last_error = ? WHERE source = ?",
                          (time.time(), error, source))


def enqueue(coll: Collection, item: QueueItem) -> bool:
    """Add a URL unless the queue already has it (whatever its state). True when it was new."""
    now = time.time()
    with coll.conn:
        cur = coll.conn.execute(
            "INSERT OR IGNORE INTO crawl_queue (url, source, kind, depth, state, info, added_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (item.url, item.source, item.kind, item.depth, PENDING, json.dumps(item.info), now, now))
    return cur.rowcount > 0


def requeue(coll: Collection, url: str) -> None:
    """Put a feed or page back in the queue (it is read again on every round); audio is never re-fetched."""
    with coll.conn:
        coll.conn.execute("UPDATE crawl_queue SET state = ?, next_try = 0, updated_at = ? WHERE url = ?"
                          " AND kind IN ('feed', 'page')", (PENDING, time.time(), url))


def claim_next(coll: Collection, *, source: str | None = None, now: float | None = None) -> QueueItem | None:
    """The oldest pending URL due now (of `source` when given), marked 'fetching'; None when none is due."""
    now = time.time() if now is None else now
    where = "state = ? AND next_try <= ?" + (" AND source = ?" if source else "")
    args: list[object] = [PENDING, now] + ([source] if source else [])
    with coll.conn:
        row = coll.conn.execute(
            f"SELECT url, source, kind, depth, attempts, info FROM crawl_queue WHERE {where}"
            " ORDER BY (kind = 'audio'), added_at, url LIMIT 1", args).fetchone()
        if row is None:
            return None
        coll.conn.execute("UPDATE crawl_queue SET state = ?, updated_at = ? WHERE url = ?", (FETCHING, now, row[0]))
    return QueueItem(row[0], row[1], row[2], int(row[3]), int(row[4]), json.loads(row[5]))


def next_due(coll: Collection, *, source: str | None = None) -> float | None:
    """When the next pending URL (retries waiting for their backoff included) is due; None when none."""
    sql = "SELECT MIN(next_try) FROM crawl_queue WHERE state = ?" + (" AND source = ?" if source else "")
    row = coll.conn.execute(sql, [PENDING] + ([source] if source else [])).fetchone()
    return None if row[0] is None else float(row[0])


def finish(coll: Collection, url: str, state: str, reason: str | None = None, *, path: str | None = None) -> None:
    """Record the outcome of a URL: a final state (done, refused, failed, duplicate) and why."""
    with coll.conn:
        coll.conn.execute("UPDATE crawl_queue SET state = ?, reason = ?, path = ?, attempts = attempts + 1,"
                          " updated_at = ? WHERE url = ?", (state, reason, path, time.time(), url))


def retry_later(coll: Collection, url: str, reason: str, *, at: float) -> None:
    """Back to pending, tried again no earlier than `at`."""
    with coll.conn:
        coll.conn.execute("UPDATE crawl_queue SET state = ?, reason = ?, attempts = attempts + 1, next_try = ?,"
                          " updated_at = ? WHERE url = ?", (PENDING, reason, at, time.time(), url))


def reset_in_flight(coll: Collection) -> int:
    """URLs left 'fetching' by a killed run go back to pending. Returns how many."""
    with coll.conn:
        cur = coll.conn.execute("UPDATE crawl_queue SET state = ? WHERE state = ?", (PENDING, FETCHING))
    return cur.rowcount


def queue_rows(coll: Collection, *, source: str | None = None) -> list[dict[str, object]]:
    """Every queued URL with its state and reason (of one source when given), in the order found."""
    sql = "SELECT url, source, kind, depth, state, reason, attempts, path FROM crawl_queue"
    rows = coll.conn.execute(sql + (" WHERE source = ?" if source else "") + " ORDER BY added_at, url",
                             [source] if source else [])
    keys = ("url", "source", "kind", "depth", "state", "reason", "attempts", "path")
    return [dict(zip(keys, r)) for r in rows]


def source_status(coll: Collection) -> list[dict[str, object]]:
    """Per crawl source: kind, last run, last error, and how many URLs are in each state."""
    out = []
    for source, kind, last_run, error in coll.conn.execute(
            "SELECT source, kind, last_run, last_error FROM crawl_sources ORDER BY added_at, source").fetchall():
        counts = dict(coll.conn.execute(
            "SELECT state, COUNT(*) FROM crawl_queue WHERE source = ? AND kind = 'audio' GROUP BY state", (source,)))
        out.append({"source": source, "kind": kind, "last_run": last_run, "last_error": error, "audio": counts})
    return out


# -- duplicate groups ------------------------------------------------------------------------------
def save_duplicate_groups(coll: Collection, groups: list[tuple[str, list[int]]]) -> None:
    """Replace the stored duplicate groups: (kind 'exact' or 'near', sound ids) each."""
    with coll.conn:
        coll.conn.execute("DELETE FROM duplicate_groups")
        for gid, (kind, ids) in enumerate(groups, start=1):
            coll.conn.executemany("INSERT OR REPLACE INTO duplicate_groups VALUES (?, ?, ?)",
                                  [(int(i), gid, kind) for i in ids])


def duplicates_of(coll: Collection, sound_ids: list[int]) -> dict[int, tuple[str, list[int]]]:
    """sound id -> (kind, the other sounds of its duplicate group), for the given sounds that have one."""
    out: dict[int, tuple[str, list[int]]] = {}
    for sid, kind, other in rows_where_in(
        coll.conn, "SELECT d.sound_id, d.kind, o.sound_id FROM duplicate_groups d JOIN duplicate_groups o"
        " ON o.group_id = d.group_id AND o.sound_id != d.sound_id WHERE d.sound_id IN ({marks})"
        " ORDER BY d.sound_id, o.sound_id", list(dict.fromkeys(int(s) for s in sound_ids)),
    ):
        out.setdefault(int(sid), (kind, []))[1].append(int(other))
    return out


def set_source_kind(coll: Collection, source: str, kind: str) -> None:
    """What a source turned out to be once read ('feed', 'page', 'audio', 'video')."""
    with coll.conn:
        coll.conn.execute("UPDATE crawl_sources SET kind = ? WHERE source = ?", (kind, source))


def count_queued(coll: Collection, source: str, kind: str) -> int:
    row = coll.conn.execute("SELECT COUNT(*) FROM crawl_queue WHERE source = ? AND kind = ?", (source, kind)).fetchone()
    return int(row[0])
