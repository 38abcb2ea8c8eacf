"""A careful HTTP client for the crawler: robots.txt, one request per host per interval, a clear
User-Agent, bounded redirects, timeouts, size caps before and while downloading, and downloads that can
only land in the crawl cache.

Outcomes a caller acts on: `Refused` (final: robots, 4xx, not audio, too big, redirect loop) and
`Transient` (worth retrying later: timeouts, 5xx, 429, a connection dropped mid-body).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import urllib.robotparser
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urljoin, urlsplit

from soundseek import __version__
from soundseek.errors import MissingExtraError, SoundseekError
from soundseek.ingest.sniff import NotAudio, sniff_audio

#: The name robots.txt rules are matched against, and the header every request carries.
ROBOTS_AGENT = "soundseek"
USER_AGENT = f"soundseek/{__version__} (never-ending sound crawler; honours robots.txt; one request per host per second)"
PAGE_TYPES = ("text/html", "application/xhtml+xml", "application/rss+xml", "application/atom+xml",
              "application/xml", "text/xml", "application/rdf+xml")


class Refused(SoundseekError):
    """The URL will not be fetched or kept; the message says why. Final: never retried."""


class Transient(SoundseekError):
    """The URL could not be fetched now (timeout, server error, dropped connection); retry later."""


@dataclass(frozen=True)
class FetchLimits:
    """What the crawler allows itself (see docs/ingest.md)."""

    max_bytes: int = 200 * 1024 * 1024      # per audio file, checked on Content-Length and while reading
    max_page_bytes: int = 5 * 1024 * 1024   # per page or feed
    max_duration: float = 4 * 3600.0        # seconds of audio, checked on the header while reading
    timeout: float = 20.0                   # connect and per-read timeout (seconds)
    max_seconds: float = 600.0              # a whole download
    max_redirects: int = 5
    host_interval: float = 1.0              # seconds between two requests to one host (robots Crawl-delay wins if longer)


@dataclass(frozen=True)
class Page:
    url: str
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Download:
    """A verified audio file in the cache. `suggested_name`: the server's name for it (for words only)."""

    path: Path
    url: str
    content_type: str
    size: int
    suggested_name: str


class HostLimiter:
    """At most one request per `interval` seconds to each host."""

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval, self.clock, self.sleep = interval, clock, sleep
        self._last: dict[str, float] = {}

    def wait(self, host: str, *, interval: float | None = None) -> float:
        """Sleep until `host` may be asked again; returns the seconds waited."""
        gap = self.interval if interval is None else max(self.interval, interval)
        due = self._last.get(host, float("-inf")) + gap
        pause = max(0.0, due - self.clock())
        if pause:
            self.sleep(pause)
        self._last[host] = self.clock()
        return pause


class Fetcher:
    """HTTP(S) with the crawler's manners. One instance per crawl run (it caches robots.txt per host)."""

    def __init__(self, limits: FetchLimits, *, limiter: HostLimiter | None = None) -> None:
        try:
            import httpx
        except ImportError as exc:
            raise MissingExtraError("crawl", "httpx") from exc
        self.limits = limits
        self.limiter = limiter or HostLimiter(limits.host_interval)
        self._httpx = httpx
        self.client = httpx.Client(headers={"User-Agent": USER_AGENT}, follow_redirects=False,
                                   timeout=httpx.Timeout(limits.timeout), trust_env=False)
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}

    def close(self) -> None:
        self.client.close()

    # -- robots.txt ----------------------------------------------------------------------------
    def allowed(self, url: str) -> bool:
        """Whether robots.txt of the URL's host lets soundseek fetch it (RFC 9309: a missing robots.txt,
        4xx, allows everything; a server error or no answer disallows everything for now)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = self._load_robots(origin)
        rules = self._robots[origin]
        return rules is not None and rules.can_fetch(ROBOTS_AGENT, url)

    def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        rules = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            with self._request(origin + "/robots.txt") as resp:
                status = resp.status_code
                body = _read_capped(resp.iter_bytes(), 512 * 1024, what="robots.txt") if status == 200 else b""
        except (Refused, Transient, self._httpx.HTTPError):
            return None
        if status >= 500:
            return None
        rules.parse(body.decode("utf-8", "replace").splitlines() if status == 200 else [])
        return rules

    def _delay_for(self, url: str) -> float | None:
        rules = self._robots.get(_origin(url))
        delay = rules.crawl_delay(ROBOTS_AGENT) if rules is not None else None
        return float(delay) if delay else None

    # -- requests ------------------------------------------------------------------------------
    def _request(self, url: str):  # type: ignore[no-untyped-def]
        """A lazy streaming GET (errors come when it is entered), after the host's pause."""
        self.limiter.wait(urlsplit(url).netloc, interval=self._delay_for(url))
        return self.client.stream("GET", url)

    def open(self, url: str):  # type: ignore[no-untyped-def]
        """Follow redirects ourselves (bounded, loops refused, robots.txt checked at every hop).
        Returns (final url, an entered streaming response); the caller closes it."""
        seen: set[str] = set()
        for _ in range(self.limits.max_redirects + 1):
            _check_scheme(url)
            if url in seen:
                raise Refused(f"redirect loop at {url}")
            seen.add(url)
            if not self.allowed(url):
                raise Refused(f"robots.txt disallows {url}")
            ctx = self._request(url)
            try:
                resp = ctx.__enter__()
            except self._httpx.TimeoutException as exc:
                raise Transient(f"timed out ({exc.__class__.__name__})") from exc
            except self._httpx.HTTPError as exc:
                raise Transient(f"connection failed: {exc}") from exc
            if resp.status_code in (301, 302, 303, 307, 308) and resp.headers.get("location"):
                ctx.__exit__(None, None, None)
                url = urljoin(url, resp.headers["location"])
                continue
            _check_status(resp.status_code, url, ctx)
            return url, ctx, resp
        raise Refused(f"more than {self.limits.max_redirects} redirects")

    def page(self, url: str) -> Page:
        """A page or feed (HTML/XML), at most `max_page_bytes`."""
        final, ctx, resp = self.open(url)
        try:
            ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype and ctype not in PAGE_TYPES:
                raise Refused(f"not a page or feed (Content-Type {ctype})")
            body = self._read(resp, self.limits.max_page_bytes, what="page")
        finally:
            ctx.__exit__(None, None, None)
        return Page(final, ctype, body)

    def download(self, url: str, cache: Path) -> Download:
        """Stream an audio file into `cache` (see `cache_path`); refused unless it is audio within the caps."""
        final, ctx, resp = self.open(url)
        try:
            ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype.startswith("text/") or any(k in ctype for k in ("html", "xml", "json")):
                raise Refused(f"not audio (Content-Type {ctype})")
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.limits.max_bytes:
                raise Refused(f"too large: {int(declared)} bytes declared, the cap is {self.limits.max_bytes}")
            name = suggested_name(resp.headers.get("content-disposition", ""), final)
            path, size = self._stream_to_cache(resp, url, cache)
        finally:
            ctx.__exit__(None, None, None)
        return Download(path, final, ctype, size, name)

    def _stream_to_cache(self, resp, url: str, cache: Path) -> tuple[Path, int]:  # type: ignore[no-untyped-def]
        part = cache_path(cache, url, ".part")
        part.parent.mkdir(parents=True, exist_ok=True)
        started, size, ext, checked = time.monotonic(), 0, None, False
        try:
            with open(part, "wb") as out:
                for chunk in self._chunks(resp):
                    size += len(chunk)
                    if size > self.limits.max_bytes:
                        raise Refused(f"too large: stopped at the cap of {self.limits.max_bytes} bytes")
                    if time.monotonic() - started > self.limits.max_seconds:
                        raise Refused(f"download took longer than {self.limits.max_seconds:.0f} s")
                    out.write(chunk)
                    if ext is None and size >= 64:
                        out.flush()
                        ext = _sniff(part)
                    if not checked and ext and size >= 256 * 1024:
                        out.flush()
                        checked = _check_header_duration(part, self.limits.max_duration)
            if ext is None:
                ext = _sniff(part)
            _check_header_duration(part, self.limits.max_duration)
            final = cache_path(cache, url, ext)
            os.replace(part, final)
            return final, size
        finally:
            part.unlink(missing_ok=True)

    def _chunks(self, resp) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
        try:
            yield from resp.iter_bytes(65536)
        except self._httpx.TimeoutException as exc:
            raise Transient("timed out while reading") from exc
        except self._httpx.HTTPError as exc:
            raise Transient(f"incomplete download ({exc.__class__.__name__}: {exc})") from exc

    def _read(self, resp, cap: int, *, what: str) -> bytes:  # type: ignore[no-untyped-def]
        return _read_capped(self._chunks(resp), cap, what=what)


def _sniff(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(64)
    try:
        return sniff_audio(head)
    except NotAudio as exc:
        raise Refused(str(exc)) from exc


def _read_capped(chunks: Iterator[bytes], cap: int, *, what: str) -> bytes:
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        if len(buf) > cap:
            raise Refused(f"{what} larger than {cap} bytes")
    return bytes(buf)


def _check_scheme(url: str) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise Refused(f"only http(s) URLs are fetched, not {url!r}")


def _check_status(status: int, url: str, ctx) -> None:  # type: ignore[no-untyped-def]
    if status == 200:
        return
    ctx.__exit__(None, None, None)
    if status == 429 or status >= 500:
        raise Transient(f"HTTP {status}")
    raise Refused(f"HTTP {status}")


def _check_header_duration(path: Path, max_duration: float) -> bool:
    """Refuse a file whose header (read so far) declares more than `max_duration` s. True once known."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:  # noqa: BLE001 - a partial or headerless file simply tells nothing yet
        return False
    if info.samplerate > 0 and info.frames > 0 and info.frames / info.samplerate > max_duration:
        raise Refused(f"too long: the header says {info.frames / info.samplerate:.0f} s, the cap is {max_duration:.0f} s")
    return info.frames > 0


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def cache_path(cache: Path, url: str, ext: str) -> Path:
    """Where the download of `url` lives: `<cache>/<host>/<sha256(url)[:24]><ext>`. Only the host (reduced
    to [a-z0-9.-_]) and a hash make the name, so no server-given name can escape the cache."""
    host = re.sub(r"[^a-z0-9.\-]", "_", (urlsplit(url).netloc or "unknown").lower()).strip(".") or "unknown"
    ext = ext if re.fullmatch(r"\.[a-z0-9]{1,5}", ext) else ".bin"
    path = cache / host / (hashlib.sha256(url.encode()).hexdigest()[:24] + ext)
    if not path.resolve().is_relative_to(cache.resolve()):
        raise Refused(f"refusing a cache path outside the cache: {path}")
    return path


def suggested_name(disposition: str, url: str) -> str:
    """The file name a server suggests (Content-Disposition, else the URL's last segment), reduced to a
    plain name: used for the sound's words only, never as a path."""
    match = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)", disposition, flags=re.I)
    raw = match.group(1) if match else urlsplit(url).path.rsplit("/", 1)[-1]
    from urllib.parse import unquote

    name = unquote(raw).replace("\\", "/").rsplit("/", 1)[-1]
    return re.sub(r"[^\w.\- ]", "_", name).strip(". ")[:200]
