"""A corpus of odd and hostile audio files, generated (used by the tests and benchmarks/robustness_audit.py)."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf


def wav_header(rate: int, frames: int, channels: int = 1) -> bytes:
    data = frames * channels * 2
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate,
            rate * channels * 2, channels * 2, 16) + b"data" + struct.pack("<I", data))


def write_hostile(folder: Path) -> dict[str, str]:
    """Write the hostile files; returns {file name: a phrase its failure reason must contain}."""
    folder.mkdir(parents=True, exist_ok=True)
    expect: dict[str, str] = {}
    (folder / "one_hz.wav").write_bytes(wav_header(1, 600) + bytes(1200))  # 1 Hz: a 16,000x upsampling
    expect["one_hz.wav"] = "implausible sample rate 1 Hz"
    (folder / "four_hours_at_1hz.wav").write_bytes(wav_header(1, 14400) + os.urandom(28800))
    expect["four_hours_at_1hz.wav"] = "implausible sample rate"
    many = np.zeros((1600, 200), dtype=np.int16)
    sf.write(str(folder / "two_hundred_channels.wav"), many, 16000, format="RF64")
    expect["two_hundred_channels.wav"] = "implausible channel count 200"
    (folder / "random.mp3").write_bytes(np.random.default_rng(0).bytes(20000))
    expect["random.mp3"] = "not a readable audio file"
    (folder / "picture.flac").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
    expect["picture.flac"] = "not a readable audio file"
    (folder / "empty.wav").write_bytes(b"")
    expect["empty.wav"] = "empty file"
    good = folder / "truncated_source.wav"
    sf.write(str(good), 0.3 * np.sin(np.arange(32000) * 0.17).astype(np.float32), 16000)
    (folder / "truncated.flac").write_bytes(b"fLaC" + good.read_bytes()[4:60])
    expect["truncated.flac"] = "not a readable audio file"
    good.unlink()
    sf.write(str(folder / "nan.wav"), np.full(16000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    expect["nan.wav"] = "NaN or infinite"
    sf.write(str(folder / "silent.wav"), np.zeros(16000, dtype=np.float32), 16000)
    expect["silent.wav"] = "silent audio"
    os.mkfifo(folder / "pipe.wav")
    expect["pipe.wav"] = "not a regular file"
    os.symlink(folder / "nowhere.wav", folder / "dangling.wav")
    expect.update(write_truncated(folder))
    return expect


def _encoded(fmt: str, subtype: str, seconds: float = 3.0) -> bytes:
    """A tone with a little noise, encoded in memory. Returns the file's bytes."""
    t = np.arange(int(16000 * seconds)) / 16000
    wave = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * np.random.default_rng(1).standard_normal(len(t))
    out = io.BytesIO()
    sf.write(out, wave.astype(np.float32), 16000, format=fmt, subtype=subtype)
    return out.getvalue()


def write_truncated(folder: Path) -> dict[str, str]:
    """Files cut short so that nothing can be decoded (an MP3 cut inside its first frame, an Ogg inside
    its headers or its first pages): {file name: phrase of its reason}. (Files cut later decode up to
    the cut: see `write_must_index`.)"""
    wav, mp3, ogg = _encoded("WAV", "PCM_16"), _encoded("MP3", "MPEG_LAYER_III"), _encoded("OGG", "VORBIS")
    cuts = {"truncated_header.wav": wav[:30], "truncated.mp3": mp3[:300],
            "truncated.ogg": ogg[:1000], "truncated_pages.ogg": ogg[:len(ogg) // 4]}
    for name, data in cuts.items():
        (folder / name).write_bytes(data)
    return {"truncated_header.wav": "not a readable audio file", "truncated.mp3": "not a readable audio file",
            "truncated.ogg": "not a readable audio file", "truncated_pages.ogg": "empty or truncated audio"}


#: Unicode names that must index: Japanese, emoji, and the same accented word composed (NFC) and
#: decomposed (NFD), two different names on Linux.
UNICODE_NAMES = ("雨の音.wav", "🔥 fire crackle 🎧.wav", "\u00e9t\u00e9 NFC.flac", "e\u0301te\u0301 NFD.flac",
                 "пила ☃.ogg")


def write_must_index(folder: Path) -> dict[str, tuple[float, float]]:
    """Odd files that are good audio: {file name: (least, most) seconds it must last once indexed}. 8-, 24- and
    32-bit PCM WAV, 96 kHz with 6 channels, unicode names, and a WAV, an MP3 and an Ogg cut after their
    first frames (what is there is indexed)."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(16000) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 500 * t)).astype(np.float32)
    durations: dict[str, tuple[float, float]] = {}
    for name, subtype in (("pcm8.wav", "PCM_U8"), ("pcm24.wav", "PCM_24"), ("pcm32.wav", "PCM_32"),
                          ("pcm24.flac", "PCM_24")):
        sf.write(str(folder / name), tone, 16000, subtype=subtype)
        durations[name] = (1.0, 1.0)
    t96 = np.arange(96000) / 96000
    six = np.stack([0.2 * np.sin(2 * np.pi * (300 + 100 * c) * t96) for c in range(6)], axis=1)
    sf.write(str(folder / "96k_6ch.wav"), six.astype(np.float32), 96000, subtype="PCM_24")
    durations["96k_6ch.wav"] = (1.0, 1.0)
    for name in UNICODE_NAMES:
        sf.write(str(folder / name), tone, 16000)
        durations[name] = (1.0, 1.0)
    wav = _encoded("WAV", "PCM_16")
    (folder / "cut_half.wav").write_bytes(wav[:44 + (len(wav) - 44) // 2])  # 1.5 s of 3 s
    durations["cut_half.wav"] = (1.5, 1.5)
    mp3 = _encoded("MP3", "MPEG_LAYER_III")
    (folder / "cut_half.mp3").write_bytes(mp3[:len(mp3) // 2])  # about the first half's frames
    durations["cut_half.mp3"] = (1.0, 2.0)  # where the cut falls in an MP3 frame decides
    ogg = _encoded("OGG", "VORBIS")
    (folder / "cut_late.ogg").write_bytes(ogg[:len(ogg) * 3 // 4])  # Vorbis pages up to about 2 s
    durations["cut_late.ogg"] = (1.5, 2.5)
    return durations


def write_ffmpeg_cases(folder: Path) -> tuple[dict[str, str], dict[str, tuple[float, float]]]:
    """Files only ffmpeg decodes: ({name: phrase of its failure reason}, {name: (least, most) seconds}).

    With ffmpeg: an M4A, copies named like an option, a URL and a concat list (decoded as the files
    they are), a 27 KB Matroska declaring 11.6 days (refused from its header) and random bytes named
    .m4a. Without ffmpeg every one of them fails, saying that ffmpeg is needed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    names = ("voice memo.m4a", "-y.m4a", "http:example.m4a", "concat:voice memo.m4a|voice memo.m4a")
    (folder / "random.m4a").write_bytes(b"\0\0\0\x20ftypM4A " + np.random.default_rng(2).bytes(4000))
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        for name in names:
            (folder / name).write_bytes(b"\0\0\0\x20ftypM4A " + bytes(2000))
        return {name: "needs ffmpeg" for name in (*names, "random.m4a")}, {}
    for name in names:
        _ffmpeg_tone(folder / name, 2.0)
    _ffmpeg_tone(folder / "huge_header.mka", 2.0)
    data = bytearray((folder / "huge_header.mka").read_bytes())
    at = data.find(b"\x44\x89\x88")  # Matroska Duration: an 8-byte float, in milliseconds
    data[at + 3:at + 11] = struct.pack(">d", 1e9)
    (folder / "huge_header.mka").write_bytes(bytes(data))
    fails = {"huge_header.mka": "too long: 1000000 s exceeds the limit", "random.m4a": "not a readable audio file"}
    return fails, {name: (1.9, 2.1) for name in names}


def _ffmpeg_tone(path: Path, seconds: float) -> None:
    """A 440 Hz tone with a little noise, AAC-encoded by ffmpeg into the container the extension names."""
    source = f"sine=frequency=440:duration={seconds}"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", source, "-af", "volume=2",
                    "-c:a", "aac", "file:" + str(path.absolute())], check=True)
