"""Decode audio files to mono float32 at a requested sample rate.

Decoding goes through soundfile/libsndfile (WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF, ...) and falls back
to ffmpeg when it is on PATH. Every failure becomes an `AudioError` whose message says what is wrong.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from soundseek.errors import AudioError

#: Files longer than this are refused rather than silently truncated (seconds; 4 hours).
DEFAULT_MAX_DURATION = 4 * 3600.0
#: Peak amplitude under which a signal counts as digital silence (about -90 dBFS).
SILENCE_PEAK = 3e-5


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about a file, before decoding."""

    sample_rate: int
    channels: int
    duration: float
    format: str


def probe(path: str | Path) -> AudioInfo:
    """Read sample rate, channel count and duration without decoding the samples (a file only ffmpeg
    reads is decoded once to learn its duration: prefer `decode_file` when the samples are needed too)."""
    return _probe(Path(path))[0]


def _probe(path: Path) -> tuple[AudioInfo, np.ndarray | None]:
    """The header of `path`, and the samples when learning it meant decoding them (ffmpeg)."""
    _check_file(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        if _ffmpeg() is None:
            raise AudioError(f"not a readable audio file ({_short(exc)})") from exc
        return _ffmpeg_probe(path)
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioError("empty audio file (no samples)")
    return AudioInfo(info.samplerate, info.channels, info.frames / info.samplerate, info.format), None


def load_audio(
    path: str | Path, *, sr: int = 16000, max_duration: float = DEFAULT_MAX_DURATION
) -> np.ndarray:
    """Decode `path`, mix to mono and resample to `sr`.

    Returns:
        float32 array of shape (n_samples,), values in [-1, 1].
    Raises:
        AudioError: unreadable, corrupt, empty, silent or longer than `max_duration`.
    """
    return decode_file(path, sr=sr, max_duration=max_duration)[0]


def decode_file(
    path: str | Path, *, sr: int = 16000, max_duration: float = DEFAULT_MAX_DURATION
) -> tuple[np.ndarray, AudioInfo]:
    """`load_audio` that also returns the file's header, reading the file once (probe + decode).

    Returns:
        float32 (n_samples,) mono at `sr`, and the file's native `AudioInfo`.
    """
    info, samples = _probe(Path(path))
    if info.duration > max_duration:
        raise AudioError(
            f"too long: {info.duration:.0f} s exceeds the limit of {max_duration:.0f} s "
            "(raise it with --max-duration)"
        )
    if samples is None:
        data, native_sr = _decode(Path(path), info)
    else:
        data, native_sr = samples, info.sample_rate
    return prepare_waveform(data, native_sr, sr=sr), info


def prepare_waveform(data: np.ndarray, native_sr: int, *, sr: int) -> np.ndarray:
    """Mix (n,) or (n, channels) samples to mono, resample to `sr`, and reject empty or silent input.

    Returns:
        float32 array of shape (n_samples,).
    """
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1)
    if data.size == 0:
        raise AudioError("empty audio (no samples)")
    if not np.all(np.isfinite(data)):
        raise AudioError("corrupt audio (NaN or infinite samples)")
    if float(np.max(np.abs(data))) < SILENCE_PEAK:
        raise AudioError("silent audio (peak below -90 dBFS)")
    if native_sr != sr:
        data = soxr.resample(data, native_sr, sr, quality="HQ").astype(np.float32)
    return np.clip(data, -1.0, 1.0)


def _decode(path: Path, info: AudioInfo) -> tuple[np.ndarray, int]:
    try:
        data, native_sr = sf.read(str(path), dtype="float32", always_2d=True)
        return data, native_sr
    except (sf.LibsndfileError, RuntimeError) as exc:
        if _ffmpeg() is None:
            raise AudioError(f"corrupt audio ({_short(exc)})") from exc
    return _ffmpeg_decode(path, info.sample_rate), info.sample_rate


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioError("file not found")
    if not path.is_file():
        raise AudioError("not a regular file")
    if path.stat().st_size == 0:
        raise AudioError("empty file (0 bytes)")


def _ffmpeg() -> str | None:
    return shutil.which("ffmpeg")


def _ffmpeg_probe(path: Path) -> tuple[AudioInfo, np.ndarray]:
    """Decode once at the native rate through ffmpeg to learn the duration (ffprobe may be absent).

    Returns: the header, and the mono samples at the native rate (so they are not decoded again)."""
    rate = _ffmpeg_native_rate(path)
    samples = _ffmpeg_decode(path, rate)
    if samples.size == 0:
        raise AudioError("empty audio (ffmpeg decoded no samples)")
    return AudioInfo(rate, 1, samples.size / rate, "ffmpeg"), samples


def _ffmpeg_native_rate(path: Path) -> int:
    proc = subprocess.run(
        [_ffmpeg() or "ffmpeg", "-hide_banner", "-i", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    for token in proc.stderr.replace(",", " ").split("Hz")[0].split()[::-1]:
        if token.isdigit():
            return int(token)
    raise AudioError("not a readable audio file (neither libsndfile nor ffmpeg can decode it)")


def _ffmpeg_decode(path: Path, sr: int) -> np.ndarray:
    cmd = [_ffmpeg() or "ffmpeg", "-v", "error", "-nostdin", "-i", str(path),
           "-f", "f32le", "-ac", "1", "-ar", str(sr), "-"]
    proc = subprocess.run(cmd, capture_output=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise AudioError(f"ffmpeg cannot decode it ({_short(proc.stderr.decode(errors='replace'))})")
    return np.frombuffer(proc.stdout, dtype=np.float32).copy()


def _short(exc: object) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:160] if text else type(exc).__name__
