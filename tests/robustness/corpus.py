"""A corpus of odd and hostile audio files, generated (used by the tests and benchmarks/robustness_audit.py)."""

from __future__ import annotations

import os
import struct
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
    return expect
