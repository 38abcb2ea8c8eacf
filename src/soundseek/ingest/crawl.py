"""`soundseek crawl`: bring sounds from feeds, web pages and (with yt-dlp) video sites into a collection.

A round: every source (a feed or page URL, a direct audio URL, or `ytdl:URL`) is read again; what it
points to joins the crawl queue (SQLite, in the collection); every pending URL is then handled once:
pages and feeds are parsed (links followed within `max_depth` and `max_pages`, same host only), audio is
downloaded into `<collection>/crawl/cache/` (see `fetch`), decoded, checked against what the collection
already has (exact and near duplicates are not kept), embedded and committed with its words (title,
description, link text, file name) and provenance. Transient failures are retried with exponential
backoff, up to `retries` attempts. A URL in a final state (done, refused, failed, duplicate) is never
fetched again; a run killed at any instant resumes where it stopped (a download in flight is restarted,
a file already downloaded or indexed is not fetched again).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import numpy as np

from soundseek.audio import decode_file
from soundseek.audio.fingerprint import audio_sha256
from soundseek.audio.segments import cut_spans
from soundseek.encoders import AudioEncoder
from soundseek.errors import AudioError
from soundseek.indexer import store_sound
from soundseek.ingest.duplicates import FingerprintCache, duplicate_of_new
from soundseek.ingest.fetch import Fetcher, FetchLimits, Refused, Transient, cache_path
from soundseek.ingest.pages import Found, is_audio_link, parse_document, strip_html
from soundseek.store import Collection, SoundRecord
from soundseek.store import ingest as q

YTDL_PREFIX = "ytdl:"


@dataclass(frozen=True)
class CrawlConfig:
    """How far and how hard the crawler goes (see docs/ingest.md)."""

    limits: FetchLimits = field(default_factory=FetchLimits)
    max_depth: int = 1          # links followed from a source page: 1 = the pages it links to, not theirs
    max_pages: int = 50         # pages read per source (the source included)
    retries: int = 3            # attempts per URL on transient errors
    backoff: float = 30.0       # seconds before the first retry, doubled at each attempt
    max_wait: float = 300.0     # a round waits at most this long for a retry to come due
    learn: bool = True          # refit the library model after a round that added sounds


@dataclass
class RoundReport:
    added: int = 0
    duplicates: int = 0
    refused: int = 0
    failed: int = 0
    retried: int = 0
    pages: int = 0
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (url, state, reason)


class Crawler:
    """Crawls into one collection. `run_round(sources)` reads the sources and works the queue empty."""

    def __init__(self, coll: Collection, encoder: AudioEncoder, config: CrawlConfig, *,
                 fetcher: Fetcher | None = None, say: Callable[[str], None] = print) -> None:
        self.coll, self.encoder, self.config, self.say = coll, encoder, config, say
        self.fetcher = fetcher or Fetcher(config.limits)
        self.cache = coll.root / "crawl" / "cache"
        self._index = None
        self._sound_of: dict[int, int] = {}
        self._fingerprints = FingerprintCache(coll)

    def close(self) -> None:
        self.fetcher.close()

    def add_sources(self, sources: list[str]) -> None:
        for source in sources:
            kind = "video" if source.startswith(YTDL_PREFIX) else ("audio" if is_audio_link(source) else "page")
            url = source[len(YTDL_PREFIX):] if kind == "video" else source
            if urlsplit(url).scheme not in ("http", "https"):
                raise Refused(f"a source must be an http(s) URL (or ytdl:URL), not {source!r}")
            q.add_source(self.coll, source, kind)
            q.enqueue(self.coll, q.QueueItem(url, source, kind, 0, info={"source": source}))
            q.requeue(self.coll, url)

    def run_round(self, sources: list[str]) -> RoundReport:
        """One pass: (re)read the sources, then handle every pending URL (waiting for due retries up to
        `max_wait`). Committed progress survives any interruption."""
        report = RoundReport()
        resumed = q.reset_in_flight(self.coll)
        if resumed:
            self.say(f"resuming: {resumed} URL(s) were in flight when the last run stopped")
        self.add_sources(sources)
        self._load_index()
        while (item := self._next()) is not None:
            self._handle(item, report)
        for source in sources:
            q.source_ran(self.coll, source, None)
        if report.added and self.config.learn:
            from soundseek.search.library import learn_from_library
            self.say(learn_from_library(self.coll))
        return report

    def _next(self) -> q.QueueItem | None:
        while True:
            item = q.claim_next(self.coll)
            if item is not None:
                return item
            due = q.next_due(self.coll)
            if due is None or due - time.time() > self.config.max_wait:
                return None
            time.sleep(max(0.0, due - time.time()))

    def _handle(self, item: q.QueueItem, report: RoundReport) -> None:
        try:
            if item.kind == "audio":
                self._audio(item, report)
            elif item.kind == "video":
                self._video(item, report)
            else:
                self._page(item, report)
        except (Refused, AudioError) as exc:
            self._final(item, "refused", str(exc), report)
        except Transient as exc:
            if item.attempts + 1 < self.config.retries:
                q.retry_later(self.coll, item.url, str(exc), at=time.time() + self.config.backoff * 2 ** item.attempts)
                report.retried += 1
            else:
                self._final(item, "failed", f"{exc} (after {item.attempts + 1} attempts)", report)

    def _final(self, item: q.QueueItem, state: str, reason: str, report: RoundReport) -> None:
        q.finish(self.coll, item.url, state, reason)
        if state == "refused":
            report.refused += 1
        else:
            report.failed += 1
        report.notes.append((item.url, state, reason))

    # -- pages and feeds -----------------------------------------------------------------------
    def _page(self, item: q.QueueItem, report: RoundReport) -> None:
        page = self.fetcher.page(item.url)
        found = parse_document(page.url, page.content_type, page.body)
        report.pages += 1
        if item.depth == 0:
            is_feed = any("collection" in f.info or "published" in f.info for f in found) or b"<rss" in page.body[:500]
            q.set_source_kind(self.coll, item.source, "feed" if is_feed else "page")
        for f in found:
            self._enqueue_found(item, f, page.url)
        q.finish(self.coll, item.url, "done", f"{len(found)} links")

    def _enqueue_found(self, parent: q.QueueItem, found: Found, page_url: str) -> None:
        if found.kind == "audio":
            q.enqueue(self.coll, q.QueueItem(found.url, parent.source, "audio", parent.depth + 1, info=found.info))
            return
        same_host = urlsplit(found.url).netloc == urlsplit(page_url).netloc
        if (same_host and parent.depth < self.config.max_depth
                and q.count_queued(self.coll, parent.source, "page") < self.config.max_pages):
            q.enqueue(self.coll, q.QueueItem(found.url, parent.source, "page", parent.depth + 1))

    # -- audio ---------------------------------------------------------------------------------
    def _audio(self, item: q.QueueItem, report: RoundReport) -> None:
        _check_declared_duration(item.info.get("duration"), self.config.limits.max_duration)
        already = self._already_have(item)
        if already is not None:
            self._ingest(already, item, item.url, report)
            return
        download = self.fetcher.download(item.url, self.cache)
        info = dict(item.info, file_name=download.suggested_name)
        self._ingest(download.path, q.QueueItem(item.url, item.source, item.kind, item.depth, item.attempts, info),
                     download.url, report)

    def _already_have(self, item: q.QueueItem) -> Path | None:
        """A file for this URL already in the cache (a run killed after downloading it): not fetched again."""
        stem = cache_path(self.cache, item.url, ".x").with_suffix("")
        found = [p for p in stem.parent.glob(stem.name + ".*") if p.suffix != ".part"] if stem.parent.is_dir() else []
        return found[0] if found else None

    def _video(self, item: q.QueueItem, report: RoundReport) -> None:
        from soundseek.ingest.ytdl import download_audio

        if not self.fetcher.allowed(item.url):
            raise Refused(f"robots.txt disallows {item.url}")
        already = self._already_have(item)
        path, info = (already, item.info) if already is not None else download_audio(item.url, self.cache, self.config.limits)
        self._ingest(path, q.QueueItem(item.url, item.source, item.kind, item.depth, item.attempts, {**item.info, **info}),
                     info.get("page", item.url), report)

    def _ingest(self, path: Path, item: q.QueueItem, final_url: str, report: RoundReport) -> None:
        if self.coll.sound_by_path(str(path)) is not None:  # indexed by a run killed before it said so
            self._record_done(path, item, final_url, report)
            return
        try:
            waveform, info = decode_file(path, sr=self.encoder.sample_rate, max_duration=self.config.limits.max_duration)
        except AudioError:
            path.unlink(missing_ok=True)
            raise
        spans = cut_spans(len(waveform) / self.encoder.sample_rate)
        emb = self.encoder.encode_segments(waveform, spans)
        dup = duplicate_of_new(self.coll, waveform, self.encoder.sample_rate, emb.vectors, self._index,
                               self._sound_of, self._fingerprints)
        if dup is not None:
            other = self.coll.sound(dup[1])
            path.unlink(missing_ok=True)
            q.finish(self.coll, item.url, "duplicate", f"{dup[0]} duplicate of {other.path if other else dup[1]}"
                     + (f" (match {dup[2]:.2f})" if dup[0] == "near" else ""))
            report.duplicates += 1
            return
        st = path.stat()
        record = SoundRecord(0, str(path), st.st_size, st.st_mtime_ns, len(waveform) / self.encoder.sample_rate,
                             info.sample_rate, info.channels, info.format, crawled_text(item.info))
        with self.coll.writer_lock(wait=True):  # one writer at a time (a `soundseek index` beside us)
            sound_id = store_sound(self.coll, record, audio_sha256(waveform), spans, emb, space=self.encoder.name,
                                   class_names=self.encoder.class_names)
            self._record_done(path, item, final_url, report)
        self._remember(sound_id, emb.vectors)

    def _record_done(self, path: Path, item: q.QueueItem, final_url: str, report: RoundReport) -> None:
        info = item.info
        q.set_provenance(self.coll, q.Provenance(
            str(path), item.source, final_url, info.get("page"), info.get("title") or info.get("file_name"),
            info.get("licence"), info.get("published"), time.time()))
        q.finish(self.coll, item.url, "done", None, path=str(path))
        report.added += 1
        self.say(f"added {info.get('title') or final_url}")

    # -- near-duplicate index ------------------------------------------------------------------
    def _load_index(self) -> None:
        from soundseek.search.state import load_segment_table, load_vector_index

        table = load_segment_table(self.coll)
        self._sound_of = dict(zip(table.ids.tolist(), table.sound_ids.tolist()))
        self._index = load_vector_index(self.coll, self.encoder.name) if len(table) else None

    def _remember(self, sound_id: int, vectors: np.ndarray) -> None:
        seg_ids = np.asarray(self.coll.segment_ids_of_sound(sound_id), dtype=np.int64)
        if self._index is None:
            from soundseek.vindex import make_index
            self._index = make_index(vectors.shape[1], expected_size=len(seg_ids))
        self._index.add(seg_ids, np.asarray(vectors, dtype=np.float32))
        self._sound_of.update({int(s): sound_id for s in seg_ids})


def crawled_text(info: dict[str, str]) -> str:
    """The words of a crawled sound: its title, description, link text, file name, page title, feed title."""
    parts = [info.get(k, "") for k in ("title", "description", "page_title", "collection")]
    name = info.get("file_name", "")
    if name:
        parts.append(" ".join(w for w in name.rsplit(".", 1)[0].replace("_", " ").replace("-", " ").split()
                              if not any(c.isdigit() for c in w)))
    return " | ".join(strip_html(p) for p in parts if p and p.strip())


def _check_declared_duration(value: str | None, cap: float) -> None:
    """Refuse before downloading when the source declares a duration over the cap ('1:02:03', '3723')."""
    if not value:
        return
    try:
        seconds = sum(float(x) * 60 ** i for i, x in enumerate(reversed(value.strip().split(":"))))
    except ValueError:
        return
    if seconds > cap:
        raise Refused(f"too long: the source declares {seconds:.0f} s, the cap is {cap:.0f} s")
