"""Recognize audio by its first bytes, whatever its name or Content-Type says (an HTML error page named
.mp3 is not audio)."""

from __future__ import annotations

from soundseek.errors import SoundseekError
from soundseek.library.scan import audio_extensions


class NotAudio(SoundseekError):
    """The bytes are not an audio format soundseek can decode; the message says what they look like."""


def sniff_audio(head: bytes) -> str:
    """The file extension of the audio format `head` (the first >= 12 bytes) starts with.

    Raises:
        NotAudio: HTML, XML, JSON, text or an unknown format, or a format this install cannot decode
        (MP4/WebM need ffmpeg).
    """
    ext = _format_of(head)
    if ext is None:
        raise NotAudio(f"not audio: the content starts like {_describe(head)}")
    if ext not in audio_extensions():
        raise NotAudio(f"a {ext} file needs ffmpeg to decode, and ffmpeg is not installed")
    return ext


def _format_of(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return ".wav"
    if head[:4] == b"fLaC":
        return ".flac"
    if head[:4] == b"OggS":
        return ".opus" if b"OpusHead" in head[:64] else ".ogg"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0):
        return ".mp3"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return ".aiff"
    if head[4:8] == b"ftyp":
        return ".m4a"
    if head[:4] == b"\x1aE\xdf\xa3":
        return ".webm"
    return None


def _describe(head: bytes) -> str:
    text = head.lstrip()[:15].lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "an HTML page"
    if text.startswith(b"<?xml") or text.startswith(b"<"):
        return "XML or HTML"
    if text.startswith((b"{", b"[")):
        return "JSON"
    return f"bytes {head[:8].hex(' ')}"
