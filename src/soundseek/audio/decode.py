"""Decode audio files to mono float32 at a requested sample rate.

Decoding goes through soundfile/libsndfile (WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF, ...) and falls back
to ffmpeg when it is on PATH (`ffmpeg.py`: header from ffprobe, samples streamed through a pipe). Every failure becomes an `AudioError` whose message says what is wrong
(never the path: the server decodes uploads from temporary files). The header is checked against
limits before any sample is decoded (a 1 KB file declaring a 1 Hz rate would otherwise be upsampled
16,000 times). Files longer than `STREAM_ABOVE_SECONDS`, and every file ffmpeg decodes, are decoded in blocks
(`stream_file`), mixed and resampled block by block, so memory stays bounded whatever their length.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import soundfile as sf
import soxr

import soundseek.audio.ffmpeg as ffmpeg
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
#: AudioInfo.format of files decoded by ffmpeg.
FFMPEG_FORMAT = "ffmpeg"


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about a file, before decoding."""

    sample_rate: int
    channels: int
    duration: float
    format: str


def probe(path: str | Path) -> AudioInfo:
    """Read sample rate, channel count and duration from the header, without decoding the samples
    (for a file only ffmpeg reads, from ffprobe; its duration is NaN when the header declares none)."""
    return _probe(Path(path))


def _probe(path: Path) -> AudioInfo:
    _check_file(path)
    try:
        with filtered_stderr(), _sndfile_source(path) as source:  # libmpg123's ID3 warnings go to fd 2
            info = sf.info(source)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        return _ffmpeg_probe(path, exc)
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioError("empty or truncated audio (no samples can be decoded)")
    header = AudioInfo(info.samplerate, info.channels, info.frames / info.samplerate, info.format)
    check_header(header)
    return header


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

    A libsndfile file of at most `stream_above` seconds comes as one block (decoded at once); a longer
    one, and any file decoded by ffmpeg, in blocks of BLOCK_SECONDS, so that memory does not grow with
    its length. The declared duration is checked before decoding, and the decoded length while
    decoding (a header may lie). Errors found while streaming (corrupt data, NaN, silence, too long)
    are raised by the iterator, as `AudioError`.
    """
    path = Path(path)
    info = _probe(path)
    if info.duration > max_duration:
        raise AudioError(
            f"too long: {info.duration:.0f} s exceeds the limit of {max_duration:.0f} s "
            "(raise it with --max-duration)"
        )
    if info.format != FFMPEG_FORMAT and info.duration <= stream_above:
        return info, _decode_at_once(path, info, sr, max_duration)
    return info, _blocks(_limited(_raw_blocks(path, info), info.sample_rate, max_duration), info.sample_rate, sr)


def _raw_blocks(path: Path, info: AudioInfo) -> Iterator[np.ndarray]:
    """(frames, channels) float32 blocks at the native rate, from libsndfile or ffmpeg."""
    frames = int(BLOCK_SECONDS * info.sample_rate)
    if info.format == FFMPEG_FORMAT:
        return ffmpeg.raw_blocks(path, rate=info.sample_rate, channels=info.channels, block_frames=frames)
    return _sndfile_blocks(path, frames)


def _sndfile_blocks(path: Path, frames: int) -> Iterator[np.ndarray]:
    try:
        with _sndfile_source(path) as source, _open_quietly(source) as handle:
            while len(block := handle.read(frames, dtype="float32", always_2d=True)):
                yield block
                if len(block) < frames:
                    break
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"corrupt audio ({_short(exc)})") from exc


def _limited(blocks: Iterator[np.ndarray], rate: int, max_duration: float) -> Iterator[np.ndarray]:
    """`blocks`, stopped with AudioError once they hold more than `max_duration` seconds (+1 s of slack
    for encoder padding): the header's duration was checked, but a header may understate it."""
    frames, limit = 0, (max_duration + 1.0) * rate
    for block in blocks:
        frames += len(block)
        if frames > limit:
            raise AudioError(f"too long: more than {max_duration:.0f} s of audio, which its header did not declare "
                             "(raise the limit with --max-duration)")
        yield block


def _blocks(raw: Iterator[np.ndarray], rate: int, sr: int) -> Iterator[np.ndarray]:
    """Native (frames, channels) blocks mixed to mono, checked (NaN, silence, empty) and resampled to
    `sr` block by block (soxr's streaming resampler). Yields: float32 (n,) blocks."""
    resampler = None if rate == sr else soxr.ResampleStream(rate, sr, 1, dtype="float32", quality="HQ")
    peak, frames, total = 0.0, 0, 0
    for block in raw:
        mono = block.mean(axis=1, dtype=np.float32)
        if not np.all(np.isfinite(mono)):
            raise AudioError("corrupt audio (NaN or infinite samples)")
        peak = max(peak, float(np.max(np.abs(mono), initial=0.0)))
        frames += len(mono)
        out = mono if resampler is None else resampler.resample_chunk(mono)
        total += len(out)
        if len(out):
            yield np.clip(out, -1.0, 1.0)
    if resampler is not None and frames:  # what the resampler still holds
        out = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        total += len(out)
        if len(out):
            yield np.clip(out, -1.0, 1.0)
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


def _decode_at_once(path: Path, info: AudioInfo, sr: int, max_duration: float) -> Iterator[np.ndarray]:
    """A short libsndfile file in one block; when libsndfile fails on its data (a truncated FLAC, say),
    ffmpeg decodes it if it is installed."""
    try:
        with filtered_stderr(), _sndfile_source(path) as source:
            data, native_sr = sf.read(source, dtype="float32", always_2d=True)
        return iter([prepare_waveform(data, native_sr, sr=sr)])
    except (sf.LibsndfileError, RuntimeError) as exc:
        if ffmpeg.missing_tool() is not None:
            raise AudioError(f"corrupt audio ({_short(exc)})") from exc
    raw = ffmpeg.raw_blocks(path, rate=info.sample_rate, channels=info.channels,
                            block_frames=int(BLOCK_SECONDS * info.sample_rate))
    return _blocks(_limited(raw, info.sample_rate, max_duration), info.sample_rate, sr)


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


def _ffmpeg_probe(path: Path, sndfile_error: Exception) -> AudioInfo:
    """The header of a file libsndfile cannot open, from ffprobe; a clear reason when ffmpeg is missing."""
    missing = ffmpeg.missing_tool()
    if missing is not None:
        if path.suffix.lower() in ffmpeg.FFMPEG_EXTENSIONS:
            raise AudioError(f"a {path.suffix.lower()} file needs ffmpeg to decode, and {missing} is not installed "
                             "(e.g. apt-get install ffmpeg)") from sndfile_error
        raise AudioError(f"not a readable audio file ({_short(sndfile_error)})") from sndfile_error
    rate, channels, duration = ffmpeg.read_header(path)
    info = AudioInfo(rate, channels, duration, FFMPEG_FORMAT)
    check_header(info)
    return info


#: libsndfile's messages name the file; a path must not reach a user (temporary upload files).
_OPENING = re.compile(r"Error opening .*?: ")


def _short(exc: object) -> str:
    """The last line of an error message, without the file's path, in words a user can act on."""
    text = str(exc).strip().splitlines()
    line = _OPENING.sub("", text[-1])[:160] if text else type(exc).__name__
    if "possibly a pipe" in line:  # libsndfile's words for data it cannot make sense of
        return "unrecognised format or corrupt data"
    return line
