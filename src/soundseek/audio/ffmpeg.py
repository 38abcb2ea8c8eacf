"""Files libsndfile cannot read (M4A/AAC, WMA, video containers, ...), through ffprobe and ffmpeg.

The header is read with ffprobe first (rate, channels, declared duration), so limits are checked before
any sample is decoded; the samples then come from one ffmpeg process through a pipe, read in blocks
(memory does not grow with the file's length). File names are handed over as `file:/absolute/path`
with only the `file` protocol allowed: a name like `-y.m4a`, `http:x.m4a` or `concat:a.m4a|b.m4a`
is a file name, never an option, a URL or a list of files; and only audio container formats are
tried (AUDIO_DEMUXERS), so a file's content cannot be a playlist either.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from soundseek.errors import AudioError

#: Seconds ffprobe may take to read a header (it reads a few KB; a hung network mount must not hang a run).
PROBE_TIMEOUT = 30.0
#: Seconds ffmpeg may take to exit once its output has been read.
EXIT_TIMEOUT = 30.0
#: ffmpeg's demuxers for audio (and audio-carrying video) containers. Only these are tried: a text file
#: named .m4a that holds a concat list or an HLS playlist (formats ffmpeg recognises by content) would
#: otherwise make ffmpeg read other files.
AUDIO_DEMUXERS = ("mov", "matroska", "aac", "asf", "ac3", "eac3", "amr", "amrnb", "amrwb", "ape", "wv", "mpc",
                  "mpc8", "mp3", "ogg", "flac", "wav", "w64", "aiff", "caf", "au", "avi", "mpeg", "mpegts", "flv",
                  "dts", "truehd", "tta", "voc", "dsf", "rm", "oma", "xwma", "loas", "mlp")
_INPUT_LIMITS = ["-protocol_whitelist", "file", "-format_whitelist", ",".join(AUDIO_DEMUXERS)]
#: Extensions of formats only ffmpeg decodes here (libsndfile's are listed in library/scan.py).
FFMPEG_EXTENSIONS = frozenset(
    {".m4a", ".aac", ".mp4", ".m4b", ".wma", ".webm", ".mka", ".mkv", ".mov", ".ac3", ".amr", ".ape",
     ".wv", ".mpc", ".mp2"}
)


def missing_tool() -> str | None:
    """The name of the tool (ffmpeg or ffprobe) that is not on PATH, or None when both are."""
    return next((tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None), None)


def ffmpeg_url(path: Path) -> str:
    """What ffmpeg is given for `path`: the file protocol and an absolute path, nothing else."""
    return "file:" + str(Path(path).absolute())


def read_header(path: Path) -> tuple[int, int, float]:
    """Sample rate, channel count and declared duration (seconds; NaN when the header has none) of the
    first audio stream, from ffprobe. Raises AudioError when there is none or the file is unreadable."""
    cmd = [shutil.which("ffprobe") or "ffprobe", "-v", "error", *_INPUT_LIMITS, "-select_streams", "a:0",
           "-show_entries", "stream=sample_rate,channels,duration:format=duration", "-of", "json", ffmpeg_url(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=PROBE_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AudioError(f"not a readable audio file (ffprobe took over {PROBE_TIMEOUT:.0f} s to read its header)") from None
    if proc.returncode != 0:
        raise AudioError(f"not a readable audio file (neither libsndfile nor ffmpeg can read it: {_last_line(proc.stderr, path)})")
    return _parse_header(proc.stdout)


def _parse_header(out: bytes) -> tuple[int, int, float]:
    try:
        found = json.loads(out or b"{}")
    except ValueError:
        found = {}
    streams = found.get("streams") or []
    if not streams:
        raise AudioError("not a readable audio file (ffmpeg finds no audio stream in it)")
    stream = streams[0]
    rate, channels = _number(stream.get("sample_rate")), _number(stream.get("channels"))
    duration = _number(stream.get("duration"))
    if math.isnan(duration):
        duration = _number((found.get("format") or {}).get("duration"))
    if math.isnan(rate) or math.isnan(channels):
        raise AudioError("not a readable audio file (its header gives no sample rate or channel count)")
    return int(rate), int(channels), duration


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def raw_blocks(path: Path, *, rate: int, channels: int, block_frames: int) -> Iterator[np.ndarray]:
    """The samples of `path` at its own `rate` and `channels`, from one ffmpeg process.

    Yields:
        float32 arrays of shape (<= block_frames, channels); the process is ended when the consumer stops.
    Raises:
        AudioError: ffmpeg failed (its last line of error output, without the path, is the reason).
    """
    cmd = [shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-nostdin", *_INPUT_LIMITS, "-i", ffmpeg_url(path),
           "-map", "0:a:0", "-vn", "-f", "f32le", "-ac", str(channels), "-ar", str(rate), "pipe:1"]
    frame_bytes = 4 * channels
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        try:
            while chunk := proc.stdout.read(block_frames * frame_bytes):  # type: ignore[union-attr]
                usable = len(chunk) - len(chunk) % frame_bytes
                yield np.frombuffer(chunk[:usable], dtype=np.float32).reshape(-1, channels)
            code = _wait(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
        if code != 0:
            errors.seek(0)
            raise AudioError(f"ffmpeg cannot decode it ({_last_line(errors.read(), path)})")


def _wait(proc: subprocess.Popen) -> int:
    """ffmpeg's exit status once its output is read (it may still be writing its error messages)."""
    try:
        return proc.wait(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AudioError(f"ffmpeg did not exit within {EXIT_TIMEOUT:.0f} s of ending its output") from None


def _last_line(stderr: bytes, path: Path) -> str:
    """ffmpeg's last message, without the file's name (uploads are decoded from temporary files)."""
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    if not lines:
        return "no message"
    refused = next((line for line in lines if "not on whitelist" in line), None)
    if refused is not None:
        fmt = refused.split("]")[0].lstrip("[").split("@")[0].strip()
        return f"its content is in ffmpeg's '{fmt}' format, which is not an audio container"
    line = lines[-1]
    for name in (ffmpeg_url(path), str(Path(path).absolute()), str(path)):
        line = line.replace(name + ": ", "").replace(name, "the file")
    return line[:160]
