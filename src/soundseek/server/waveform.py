"""Waveform overviews: a peak envelope (min/max per bucket of samples) as numbers or as a PNG.

Peaks are read block by block with libsndfile at the file's own rate (no resampling, bounded memory);
files libsndfile cannot read go through `load_audio` (ffmpeg) at a low rate instead.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

from soundseek.audio import load_audio
from soundseek.errors import AudioError

MIN_WIDTH, MAX_WIDTH = 16, 4000
MIN_HEIGHT, MAX_HEIGHT = 16, 1000
BLOCK_FRAMES = 1 << 16
FALLBACK_SR = 8000

WAVE_RGB = (71, 85, 105)
HIGHLIGHT_RGBA = (251, 191, 36, 110)
HIGHLIGHT_WAVE_RGB = (180, 83, 9)
BACKGROUND_RGBA = (0, 0, 0, 0)


def peaks(path: str | Path, *, width: int) -> np.ndarray:
    """Min and max of the mono mix in `width` equal buckets. Returns: (width, 2) float32 in [-1, 1]."""
    try:
        with sf.SoundFile(str(path)) as f:
            frames = f.frames
            if frames <= 0:
                raise AudioError("empty audio file (no samples)")
            return _peaks_from_blocks(f.blocks(BLOCK_FRAMES, dtype="float32", always_2d=True), frames, width)
    except (sf.LibsndfileError, RuntimeError):
        wave = load_audio(path, sr=FALLBACK_SR)
        return _peaks_from_blocks(iter([wave[:, None]]), len(wave), width)


def _peaks_from_blocks(blocks, frames: int, width: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.zeros((width, 2), dtype=np.float32)
    out[:, 0], out[:, 1] = np.inf, -np.inf
    edges = (np.arange(width + 1, dtype=np.int64) * frames) // width
    pos = 0
    for block in blocks:
        mono = block.mean(axis=1)
        if len(mono):
            first = int(np.clip(np.searchsorted(edges, pos, side="right") - 1, 0, width - 1))
            last = int(np.clip(np.searchsorted(edges, pos + len(mono) - 1, side="right") - 1, 0, width - 1))
            buckets = np.arange(first, last + 1)
            starts = np.maximum(edges[buckets] - pos, 0)
            keep = starts < len(mono)
            buckets, starts = buckets[keep], starts[keep]
            out[buckets, 0] = np.minimum(out[buckets, 0], np.minimum.reduceat(mono, starts))
            out[buckets, 1] = np.maximum(out[buckets, 1], np.maximum.reduceat(mono, starts))
        pos += len(mono)
    empty = ~np.isfinite(out[:, 0])
    out[empty] = 0.0
    return np.clip(out, -1.0, 1.0)


def peaks_png(env: np.ndarray, *, height: int, duration: float, start: float | None = None,
              end: float | None = None) -> bytes:
    """Draw an envelope (width, 2) as a PNG, the [start, end] seconds highlighted."""
    from PIL import Image, ImageDraw

    width = len(env)
    image = Image.new("RGBA", (width, height), BACKGROUND_RGBA)
    draw = ImageDraw.Draw(image, "RGBA")
    lo_px, hi_px = _highlight_pixels(width, duration, start, end)
    if hi_px > lo_px:
        draw.rectangle([lo_px, 0, hi_px - 1, height - 1], fill=HIGHLIGHT_RGBA)
    mid = (height - 1) / 2
    for x, (lo, hi) in enumerate(env):
        colour = HIGHLIGHT_WAVE_RGB if lo_px <= x < hi_px else WAVE_RGB
        draw.line([(x, mid - hi * mid), (x, mid - lo * mid)], fill=colour)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _highlight_pixels(width: int, duration: float, start: float | None, end: float | None) -> tuple[int, int]:
    if start is None or end is None or duration <= 0:
        return 0, 0
    lo = int(max(0.0, min(start, duration)) / duration * width)
    hi = int(np.ceil(max(0.0, min(end, duration)) / duration * width))
    return lo, hi
