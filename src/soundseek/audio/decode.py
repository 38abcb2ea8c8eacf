"""Decode audio files to mono float32 at a requested sample rate.

Decoding goes through soundfile/libsndfile (WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF, ...) and falls back
to ffmpeg when it is on PATH. Every failure becomes an `AudioError` whose message says what is wrong
(never the path: the server decodes uploads from temporary files). The header is checked against
limits before any sample is decoded (a 1 KB file declaring a 1 Hz rate would otherwise be upsampled
16,000 times). Files longer than `STREAM_ABOVE_SECONDS` are decoded in blocks (`stream_file`), mixed
and resampled block by block, so memory stays bounded whatever their length.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import soundfile as sf
import soxr

from soundseek.errors import AudioError
from soundseek.native_log import filtered_stderr

#: Files longer than this are refused rather than silently truncated (seconds; 4 hours).
DEFAULT_MAX_DURATION = 4 * 3600.0
#: Peak amplitude under which a signal counts as digital silence (about -90 dBFS).
SILENCE_PEAK = 3e-5
#: Header limits: rates outside these are not audio anyone records; more channels than this neither.
MIN_SAMPLE_RATE = 2000
MAX_SAMPLE_RATE = 768_000
MAX_CHANNELS = 64
#: Files longer than this (seconds) are decoded in blocks of BLOCK_SECONDS.
STREAM_ABOVE_SECONDS = 600.0
BLOCK_SECONDS = 30.0
#: libsndfile refuses longer file names ("Supplied filename too long").
SNDFILE_MAX_PATH = 1000


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
        with filtered_stderr(), _sndfile_source(path) as source:  # libmpg123's ID3 warnings go to fd 2
            info = sf.info(source)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        if _ffmpeg() is None:
            raise AudioError(f"not a readable audio file ({_short(exc)})") from exc
        return _ffmpeg_probe(path)
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioError("empty audio file (no samples)")
    header = AudioInfo(info.samplerate, info.channels, info.frames / info.samplerate, info.format)
    check_header(header)
    return header, None


def check_header(info: AudioInfo) -> None:
    """Refuse a header no real recording has (see MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, MAX_CHANNELS)."""
    if not MIN_SAMPLE_RATE <= info.sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"implausible sample rate {info.sample_rate} Hz (accepted: {MIN_SAMPLE_RATE}-"
                         f"{MAX_SAMPLE_RATE} Hz)")
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise AudioError(f"implausible channel count {info.channels} (accepted: 1-{MAX_CHANNELS})")


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
    info, blocks = stream_file(path, sr=sr, max_duration=max_duration, stream_above=math.inf)
    return np.concatenate(list(blocks)), info


def stream_file(
    path: str | Path, *, sr: int = 16000, max_duration: float = DEFAULT_MAX_DURATION,
    stream_above: float = STREAM_ABOVE_SECONDS,
) -> tuple[AudioInfo, Iterator[np.ndarray]]:
    """The file's header, and its samples as mono float32 blocks at `sr`.

    A file of at most `stream_above` seconds comes as one block (decoded at once); a longer one in
    blocks of BLOCK_SECONDS, so that memory does not grow with its length. Errors found while
    streaming (corrupt data, NaN, silence) are raised by the iterator, as `AudioError`.
    """
    info, samples = _probe(Path(path))
    if info.duration > max_duration:
        raise AudioError(
            f"too long: {info.duration:.0f} s exceeds the limit of {max_duration:.0f} s "
            "(raise it with --max-duration)"
        )
    if samples is not None:
        return info, iter([prepare_waveform(samples, info.sample_rate, sr=sr)])
    if info.duration <= stream_above:
        data, native_sr = _decode(Path(path), info)
        return info, iter([prepare_waveform(data, native_sr, sr=sr)])
    return info, _blocks(Path(path), info, sr)


def _blocks(path: Path, info: AudioInfo, sr: int) -> Iterator[np.ndarray]:
    """Mono float32 blocks at `sr` of a file libsndfile reads (see `stream_file`)."""
    resampler = None if info.sample_rate == sr else soxr.ResampleStream(info.sample_rate, sr, 1, dtype="float32", quality="HQ")
    size = int(BLOCK_SECONDS * info.sample_rate)
    peak, total = 0.0, 0
    try:
        with _sndfile_source(path) as source, _open_quietly(source) as handle:
            while True:
                block = handle.read(size, dtype="float32", always_2d=True)
                last = len(block) < size
                mono = block.mean(axis=1, dtype=np.float32)
                if not np.all(np.isfinite(mono)):
                    raise AudioError("corrupt audio (NaN or infinite samples)")
                peak = max(peak, float(np.max(np.abs(mono), initial=0.0)))
                out = mono if resampler is None else resampler.resample_chunk(mono, last=last)
                total += len(out)
                if len(out):
                    yield np.clip(out, -1.0, 1.0)
                if last:
                    break
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"corrupt audio ({_short(exc)})") from exc
    if total == 0:
        raise AudioError("empty audio (no samples)")
    if peak < SILENCE_PEAK:
        raise AudioError("silent audio (peak below -90 dBFS)")


def _open_quietly(source: str | BinaryIO) -> sf.SoundFile:
    """sf.SoundFile(source) without libmpg123's ID3 warnings (printed on open, straight to fd 2)."""
    with filtered_stderr():
        return sf.SoundFile(source)


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
        with filtered_stderr(), _sndfile_source(path) as source:
            data, native_sr = sf.read(source, dtype="float32", always_2d=True)
        return data, native_sr
    except (sf.LibsndfileError, RuntimeError) as exc:
        if _ffmpeg() is None:
            raise AudioError(f"corrupt audio ({_short(exc)})") from exc
    return _ffmpeg_decode(path, info.sample_rate), info.sample_rate


@contextmanager
def _sndfile_source(path: Path) -> Iterator[str | BinaryIO]:
    """What libsndfile is given: the file's name (its extension helps it recognise some MP3s), or an
    open file object when the name is longer than libsndfile accepts (SNDFILE_MAX_PATH)."""
    if len(os.fsencode(path)) < SNDFILE_MAX_PATH:
        yield str(path)
    else:
        with open(path, "rb") as handle:
            yield handle


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"file not found: {path}")
    if not path.is_file():
        raise AudioError(f"not a regular file: {path}")
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
            check_header(AudioInfo(int(token), 1, 0.0, "ffmpeg"))
            return int(token)
    raise AudioError("not a readable audio file (neither libsndfile nor ffmpeg can decode it)")


def _ffmpeg_decode(path: Path, sr: int) -> np.ndarray:
    cmd = [_ffmpeg() or "ffmpeg", "-v", "error", "-nostdin", "-i", str(path),
           "-f", "f32le", "-ac", "1", "-ar", str(sr), "-"]
    proc = subprocess.run(cmd, capture_output=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise AudioError(f"ffmpeg cannot decode it ({_short(proc.stderr.decode(errors='replace'))})")
    return np.frombuffer(proc.stdout, dtype=np.float32).copy()


#: libsndfile's messages name the file; a path must not reach a user (temporary upload files).
_OPENING = re.compile(r"Error opening .*?: ")


def _short(exc: object) -> str:
    """The last line of an error message, without the file's path, in words a user can act on."""
    text = str(exc).strip().splitlines()
    line = _OPENING.sub("", text[-1])[:160] if text else type(exc).__name__
    if "possibly a pipe" in line:  # libsndfile's words for data it cannot make sense of
        return "unrecognised format or corrupt data"
    return line
