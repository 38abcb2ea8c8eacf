"""The crawler against a real local web site: what is indexed, what is refused and why, nothing outside
the cache, nothing fetched twice (also across a kill -9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from soundseek.indexer import open_for_indexing
from soundseek.ingest.crawl import CrawlConfig, Crawler
from soundseek.ingest.fetch import FetchLimits
from soundseek.store import Collection
from soundseek.store.ingest import provenance_of, queue_rows, source_status

from .site import Site, serve

pytest.importorskip("feedparser", reason="the 'crawl' extra is not installed")
pytest.importorskip("httpx", reason="the 'crawl' extra is not installed")


@pytest.fixture
def site():  # type: ignore[no-untyped-def]
    s = Site()
    server, base = serve(s)
    s.base = base  # type: ignore[attr-defined]
    yield s
    s.release.set()
    server.shutdown()
    server.server_close()


def _crawler(coll_dir: Path) -> Crawler:
    coll, enc = open_for_indexing(coll_dir, "mfcc", None, say=lambda m: None)
    limits = FetchLimits(max_bytes=1_000_000, max_duration=60.0, timeout=0.5, host_interval=0.0)
    return Crawler(coll, enc, CrawlConfig(limits, retries=2, backoff=0.01, max_wait=5.0, learn=False), say=lambda m: None)


def test_feed_and_page_every_case(site, tmp_path):
    base = site.base
    crawler = _crawler(tmp_path / "coll")
    report = crawler.run_round([f"{base}/feed.xml", f"{base}/page.html"])
    rows = {r["url"].removeprefix(base): r for r in queue_rows(crawler.coll)}
    state = {u: (r["state"], r["reason"] or "") for u, r in rows.items()}
    expected = {
        "/feed.xml": "done", "/page.html": "done", "/audio/dog.wav": "done", "/audio/bell.ogg": "done",
        "/audio/rain.flac": "done", "/audio/..%2F..%2F..%2Fescape.wav": "done",
        "/audio/rain-copy.wav": "duplicate", "/private/secret.wav": "refused", "/audio/fake.mp3": "refused",
        "/audio/liar.mp3": "refused", "/audio/long-show.mp3": "refused", "/audio/huge.wav": "refused",
        "/loop/a.wav": "refused", "/audio/missing.wav": "refused", "/about.html": "refused",
        "/audio/slow.wav": "failed", "/audio/truncated.mp3": "failed",
    }
    assert {u: s for u, (s, _) in state.items()} == expected
    reasons = {u: r for u, (_, r) in state.items()}
    assert "robots.txt disallows" in reasons["/private/secret.wav"] and site.hits["/private/secret.wav"] == 0
    assert reasons["/audio/fake.mp3"] == "not audio (Content-Type text/html)"
    assert reasons["/audio/liar.mp3"] == "not audio: the content starts like an HTML page"
    assert reasons["/audio/long-show.mp3"].startswith("too long: the source declares 32400 s")
    assert site.hits["/audio/long-show.mp3"] == 0  # refused before downloading
    assert reasons["/audio/huge.wav"] == "too large: stopped at the cap of 1000000 bytes"
    assert reasons["/loop/a.wav"].startswith("redirect loop")
    assert reasons["/audio/missing.wav"] == "HTTP 404" and reasons["/about.html"] == "HTTP 404"
    assert reasons["/audio/slow.wav"].startswith("timed out") and site.hits["/audio/slow.wav"] == 2
    assert reasons["/audio/truncated.mp3"].startswith("incomplete download")
    assert reasons["/audio/rain-copy.wav"].startswith("exact duplicate of ") and reasons["/audio/rain-copy.wav"].endswith(".flac")
    assert (report.added, report.duplicates, report.failed) == (4, 1, 2)

    coll = crawler.coll
    cache = (tmp_path / "coll" / "crawl" / "cache").resolve()
    indexed = [s.path for s in coll.sounds()]
    assert len(indexed) == 4 and all(Path(p).resolve().is_relative_to(cache) for p in indexed)
    assert [p for p in tmp_path.rglob("*") if p.is_file() and not p.resolve().is_relative_to(tmp_path / "coll")] == []
    assert sorted(p.name for p in tmp_path.rglob("*escape*")) == []
    assert all(not p.name.endswith(".part") for p in cache.rglob("*"))
    assert len([p for p in cache.rglob("*") if p.is_file()]) == 4  # refused and duplicate downloads are not kept

    prov = provenance_of(coll, indexed)
    dog = next(p for p in prov.values() if p.url.endswith("/audio/dog.wav"))
    assert (dog.title, dog.licence, dog.page) == ("Dog barking in the yard",
                                                 "http://creativecommons.org/licenses/by/4.0/", f"{base}/episodes/dog")
    assert dog.source == f"{base}/feed.xml" and dog.published
    bell = next(p for p in prov.values() if p.url.endswith("/audio/bell.ogg"))
    assert (bell.title, bell.licence, bell.page) == ("Church bell at noon",
                                                   "https://creativecommons.org/publicdomain/zero/1.0/", f"{base}/page.html")
    dog_text = coll.sound_by_path(dog.path).text
    assert "Dog barking in the yard" in dog_text and "terrier" in dog_text and "<b>" not in dog_text
    siren = next(p for p in prov.values() if "escape" in p.url)
    assert "escape" in coll.sound_by_path(siren.path).text  # the server's name gives words, not a path

    status = {s["source"]: s for s in source_status(coll)}
    assert status[f"{base}/feed.xml"]["kind"] == "feed" and status[f"{base}/page.html"]["kind"] == "page"
    assert status[f"{base}/feed.xml"]["audio"] == {"done": 1, "refused": 4}

    before = dict(site.hits)
    again = crawler.run_round([f"{base}/feed.xml", f"{base}/page.html"])
    assert (again.added, again.refused, again.failed) == (0, 0, 0)
    fetched_again = {p for p, n in site.hits.items() if n != before.get(p, 0)}
    assert fetched_again == {"/feed.xml", "/page.html"}  # sources are re-read; nothing else is fetched twice
    crawler.close()


def test_kill_9_then_restart_fetches_nothing_twice_and_loses_nothing(site, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    cmd = [sys.executable, "-m", "soundseek.cli", "crawl", f"{site.base}/resume.html", "--collection",
           str(tmp_path / "coll"), "--encoder", "mfcc", "--host-interval", "0", "--timeout", "30", "--no-learn", "--quiet"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while site.hits["/audio/slow.wav"] == 0:  # the first two are done, the third is in flight
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode() if proc.poll() else "timeout"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    site.release.set()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (site.hits["/audio/dog.wav"], site.hits["/audio/bell.ogg"], site.hits["/audio/slow.wav"]) == (1, 1, 2)
    coll = Collection.open(tmp_path / "coll")
    assert {r["url"].rsplit("/", 1)[-1]: r["state"] for r in queue_rows(coll) if r["kind"] == "audio"} == {
        "dog.wav": "done", "bell.ogg": "done", "slow.wav": "done"}
    assert coll.counts()["sounds"] == 3


def test_ytdl_source_downloads_one_audio_with_its_page(site, tmp_path):
    pytest.importorskip("yt_dlp", reason="the 'video' extra is not installed")
    from soundseek.search.hits import Hit, annotate_ingest

    crawler = _crawler(tmp_path / "coll")
    report = crawler.run_round([f"ytdl:{site.base}/page.html"])
    assert report.added == 1 and site.hits["/audio/bell.ogg"] == 1  # yt-dlp's generic extractor: the first <audio>
    [row] = queue_rows(crawler.coll)
    assert (row["kind"], row["state"]) == ("video", "done")
    sound = crawler.coll.sounds()[0]
    assert Path(sound.path).resolve().is_relative_to((tmp_path / "coll" / "crawl" / "cache").resolve())
    hit = Hit(sound.path, 0.0, 1.0, 1.0, sound_id=sound.id)
    annotate_ingest(crawler.coll, [hit])
    assert hit.to_dict()["source"]["page"] == f"{site.base}/page.html"
    assert hit.to_dict()["source"]["source"] == f"ytdl:{site.base}/page.html"
    crawler.close()
