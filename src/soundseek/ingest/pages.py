"""What a feed or a web page points to: audio to download (with its words) and pages to follow.

Feeds (RSS, Atom, podcasts; parsed by feedparser from bytes we fetched, feedparser never fetches):
each entry's audio enclosures, with the entry's title, description, date, link and licence
(`<creativeCommons:license>`, `<link rel="license">`, `<rights>`/`<copyright>`; the feed's own when the
entry has none) and declared duration (`itunes:duration`). Pages: `<audio src>`, `<source src>` and
links to audio files, with the page title and the link text; `<a>` links to other pages (followed by the
crawler within its limits); a `rel="license"` link is the page's licence.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import urldefrag, urljoin, urlsplit

from soundseek.errors import MissingExtraError
from soundseek.library.scan import FFMPEG_EXTENSIONS, SNDFILE_EXTENSIONS

AUDIO_LINK_EXTENSIONS = SNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml")


@dataclass(frozen=True)
class Found:
    """A URL found in a document: `kind` 'audio' or 'page'; `info`: title, description, licence, ..."""

    url: str
    kind: str
    info: dict[str, str] = field(default_factory=dict)


def parse_document(url: str, content_type: str, body: bytes) -> list[Found]:
    """Audio and pages referenced by a fetched feed or HTML page."""
    head = body.lstrip()[:200].lower()
    if content_type in FEED_TYPES or head.startswith(b"<?xml") or b"<rss" in head or b"<feed" in head:
        if b"<html" not in head:
            return parse_feed(url, body)
    return parse_html(url, body)


def is_audio_link(url: str) -> bool:
    return PurePosixPath(urlsplit(url).path).suffix.lower() in AUDIO_LINK_EXTENSIONS


# -- feeds -----------------------------------------------------------------------------------------
def parse_feed(url: str, body: bytes) -> list[Found]:
    try:
        import feedparser
    except ImportError as exc:
        raise MissingExtraError("crawl", "feedparser") from exc
    feed = feedparser.parse(body)
    channel = feed.get("feed", {})
    feed_licence = _licence(channel)
    out = []
    for entry in feed.get("entries", []):
        info = _clean({
            "title": entry.get("title"), "description": strip_html(entry.get("summary", "")),
            "published": entry.get("published") or entry.get("updated"),
            "page": _absolute(url, entry["link"]) if entry.get("link") else None,
            "licence": _licence(entry) or feed_licence, "collection": channel.get("title"),
            "duration": entry.get("itunes_duration"),
        })
        for href, mime in _enclosures(entry):
            if mime.startswith(("audio/", "video/")) or is_audio_link(href):
                out.append(Found(_absolute(url, href), "audio", dict(info)))
    return out


def _enclosures(entry) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    seen, out = set(), []
    for enc in list(entry.get("enclosures", [])) + [
            link for link in entry.get("links", []) if link.get("rel") == "enclosure"]:
        href = enc.get("href") or enc.get("url")
        if href and href not in seen:
            seen.add(href)
            out.append((href, str(enc.get("type", "")).lower()))
    return out


def _licence(node) -> str | None:  # type: ignore[no-untyped-def]
    for key in ("license", "rights", "copyright"):
        value = node.get(key)
        if value:
            return strip_html(str(value))
    for link in node.get("links", []):
        if link.get("rel") == "license" and link.get("href"):
            return str(link["href"])
    return None


# -- HTML ------------------------------------------------------------------------------------------
class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title, self.licence = "", None
        self.audio: list[tuple[str, str]] = []   # (src, label)
        self.links: list[tuple[str, list[str]]] = []   # (href, text parts)
        self._in_title, self._link_text, self._audio_label = False, None, ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "title":
            self._in_title = True
        elif tag in ("audio", "video"):
            self._audio_label = a.get("title") or a.get("aria-label", "")
            if a.get("src"):
                self.audio.append((a["src"], self._audio_label))
        elif tag == "source" and a.get("src"):
            self.audio.append((a["src"], a.get("title") or self._audio_label))
        elif tag in ("a", "link") and "license" in a.get("rel", "").lower().split() and a.get("href"):
            self.licence = a["href"]
        if tag == "a" and a.get("href"):
            self._link_text = []
            self.links.append((a["href"], self._link_text))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "a":
            self._link_text = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._link_text is not None:
            self._link_text.append(data)


def parse_html(url: str, body: bytes) -> list[Found]:
    parser = _PageParser()
    parser.feed(body.decode("utf-8", "replace"))
    parser.close()
    base = _clean({"page": url, "page_title": " ".join(parser.title.split()), "licence": parser.licence})
    out: dict[str, Found] = {}
    for src, label in parser.audio:
        target = _absolute(url, src)
        out.setdefault(target, Found(target, "audio", _clean({**base, "title": label})))
    for href, text in parser.links:
        target = _absolute(url, href)
        if target in out or urlsplit(target).scheme not in ("http", "https"):
            continue
        kind = "audio" if is_audio_link(target) else "page"
        out[target] = Found(target, kind, _clean({**base, "title": " ".join("".join(text).split())}))
    return list(out.values())


def strip_html(text: str) -> str:
    """Plain words of an HTML fragment (tags dropped, entities decoded, spaces collapsed)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text or "")).split())


def _absolute(base: str, href: str) -> str:
    return urldefrag(urljoin(base, href.strip()))[0]


def _clean(info: dict[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in info.items() if v}
