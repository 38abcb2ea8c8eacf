"""Audio from video and audio sites through yt-dlp (the optional `video` extra): `soundseek crawl ytdl:URL`.

Only the best audio-only format is fetched (else the smallest format with audio), a single item (no
playlists), within the crawler's size and duration caps (checked on the site's metadata before, and by
yt-dlp's `max_filesize` while, downloading), with the crawler's User-Agent and timeouts. The file lands in
the crawl cache under a hashed name. Without ffmpeg only formats libsndfile decodes (Ogg/Opus/Vorbis,
MP3, FLAC, WAV) can be indexed; others are refused at decoding with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

from soundseek.errors import MissingExtraError
from soundseek.ingest.fetch import USER_AGENT, FetchLimits, Refused, Transient, cache_path


def download_audio(url: str, cache: Path, limits: FetchLimits) -> tuple[Path, dict[str, str]]:
    """Download the audio of the page `url` into `cache`. Returns the file and what the site says about
    it (title, description, licence, page, published, uploader)."""
    try:
        import yt_dlp
    except ImportError as exc:
        raise MissingExtraError("video", "yt_dlp") from exc
    stem = cache_path(cache, url, ".x").with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    options = {
        "format": "bestaudio/worstaudio/worst", "noplaylist": True, "playlist_items": "1",
        "outtmpl": {"default": str(stem) + ".ytdl.%(ext)s"}, "restrictfilenames": True,
        "max_filesize": limits.max_bytes, "socket_timeout": limits.timeout, "retries": 1,
        "http_headers": {"User-Agent": USER_AGENT}, "quiet": True, "no_warnings": True, "noprogress": True,
        "match_filter": _duration_filter(limits.max_duration), "overwrites": True, "cachedir": False,
    }
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=True)
    except yt_dlp.utils.DownloadError as exc:
        raise _classify(str(exc)) from exc
    files = sorted(stem.parent.glob(stem.name + ".ytdl.*"))
    if not info or not files:
        raise Refused("yt-dlp found no audio to download (or it was over the caps)")
    final = stem.with_suffix(files[0].suffix.lower())
    os.replace(files[0], final)
    if final.stat().st_size > limits.max_bytes:
        final.unlink()
        raise Refused(f"too large: over the cap of {limits.max_bytes} bytes")
    return final, _describe(info, url)


def _duration_filter(cap: float):  # type: ignore[no-untyped-def]
    def check(info: dict, *, incomplete: bool = False) -> str | None:  # type: ignore[type-arg]
        duration = info.get("duration")
        if duration and float(duration) > cap:
            return f"too long: {float(duration):.0f} s, the cap is {cap:.0f} s"
        return None

    return check


def _classify(message: str) -> Exception:
    lowered = message.lower()
    if any(word in lowered for word in ("timed out", "timeout", "temporarily", "http error 5", "connection")):
        return Transient(message)
    return Refused(message.replace("ERROR: ", ""))


def _describe(info: dict, url: str) -> dict[str, str]:  # type: ignore[type-arg]
    values = {"title": info.get("title"), "description": info.get("description"),
              "licence": info.get("license"), "page": info.get("webpage_url") or url,
              "published": info.get("upload_date"), "collection": info.get("uploader")}
    return {k: str(v) for k, v in values.items() if v}
