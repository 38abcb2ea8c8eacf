"""Fingerprints of a recording: what identifies a file, its decoded audio, and a compact spectrogram.

- `file_sha256`: the bytes of the file (a renamed or moved file keeps it: no re-embedding).
- `audio_sha256`: the decoded samples (mono, at the encoder's rate, quantized to 16 bits), so the same
  audio in another container or with other tags is an exact duplicate.
- `band_fingerprint` + `match_fingerprints`: log band energies (80 Hz - 4 kHz, 24 bands, 20 frames/s)
  compared at the best time offset; the verification step of near-duplicate detection (a re-encoded,
  trimmed, gain-changed or resampled copy of one recording matches; another take of the same kind of
  sound does not, see `soundseek.ingest.duplicates`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

#: Band fingerprint settings: 20 frames/s, 24 log-spaced bands from 80 Hz to 4 kHz (an 8 kHz copy keeps them).
FRAME_RATE = 20
N_BANDS = 24
F_LOW, F_HIGH = 80.0, 4000.0
#: Dynamic range kept below a recording's loudest band energy (dB): quieter is floored (noise, dither).
FLOOR_DB = 60.0
#: A frame whose loudest band is this far below the recording's loudest is silence (zeroed).
ACTIVE_DB = 40.0


def file_sha256(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of the file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def audio_sha256(waveform: np.ndarray) -> str:
    """SHA-256 of mono float samples quantized to 16-bit integers (the same decoded audio, same hash)."""
    hasher = AudioHasher()
    hasher.update(waveform)
    return hasher.hexdigest()


class AudioHasher:
    """`audio_sha256` over blocks of samples as they stream by (same digest as over their concatenation)."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def update(self, block: np.ndarray) -> None:
        q = np.clip(np.round(np.asarray(block, dtype=np.float64) * 32767.0), -32768, 32767).astype("<i2")
        self._digest.update(q.tobytes())

    def through(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Yield `blocks` unchanged, hashing each."""
        for block in blocks:
            self.update(block)
            yield block

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


@dataclass(frozen=True)
class BandFingerprint:
    """Standardized log band energies of a recording. `bands`: (frames, N_BANDS) float32, each band
    z-scored over time (a gain change, a constant dB offset, vanishes)."""

    bands: np.ndarray

    @property
    def seconds(self) -> float:
        return len(self.bands) / FRAME_RATE


def band_fingerprint(waveform: np.ndarray, sr: int) -> BandFingerprint:
    """The recording's band fingerprint (see the module docstring). Returns frames x N_BANDS."""
    hop = sr // FRAME_RATE
    n_fft = 1 << int(np.ceil(np.log2(2 * hop)))
    x = np.asarray(waveform, dtype=np.float32)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    n_frames = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft).astype(np.float32), axis=1)) ** 2
    energy = spec @ _band_matrix(sr, n_fft)
    db = 10.0 * np.log10(energy + 1e-12)
    db = np.maximum(db, db.max() - FLOOR_DB)
    active = db.max(axis=1) >= db.max() - ACTIVE_DB
    ref = db[active] if active.sum() > 1 else db
    std = ref.std(axis=0)
    bands = (db - ref.mean(axis=0)) / np.where(std > 1e-6, std, 1.0)
    bands[~active] = 0.0  # silence (padding, pauses) carries no identity: two silences must not match
    return BandFingerprint(bands.astype(np.float32))


def _band_matrix(sr: int, n_fft: int) -> np.ndarray:
    """(n_fft // 2 + 1, N_BANDS) 0/1 matrix summing FFT bins into log-spaced bands (each >= 1 bin)."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = np.geomspace(F_LOW, min(F_HIGH, sr / 2 - 1), N_BANDS + 1)
    out = np.zeros((len(freqs), N_BANDS), dtype=np.float32)
    for b in range(N_BANDS):
        inside = (freqs >= edges[b]) & (freqs < edges[b + 1])
        if not inside.any():
            inside[np.argmin(np.abs(freqs - (edges[b] + edges[b + 1]) / 2))] = True
        out[inside, b] = 1.0
    return out


def match_fingerprints(a: BandFingerprint, b: BandFingerprint, *, min_overlap: float = 0.7) -> float:
    """How well `a` and `b` agree at their best time offset: the cosine of their standardized band
    energies over the frames they share (in [-1, 1]; silent frames are zero and count for nothing).
    Offsets where they share less than `min_overlap` of the shorter one (and at least 1 s) are not
    considered; -1 when none is.

    Computed for every offset at once with FFT cross-correlation, band by band, and cumulative energies.
    """
    x, y = a.bands, b.bands
    n, m = len(x), len(y)
    need = max(min_overlap * min(n, m), FRAME_RATE)
    if min(n, m) < need:
        return -1.0
    size = 1 << int(np.ceil(np.log2(n + m)))
    fx = np.fft.rfft(x, size, axis=0)
    fy = np.fft.rfft(y, size, axis=0)
    xcorr = np.fft.irfft(fx * np.conj(fy), size, axis=0).sum(axis=1)  # lag L: sum_t x[t + L] . y[t]
    lags = np.concatenate([np.arange(0, n), np.arange(-(m - 1), 0)])
    values = np.concatenate([xcorr[:n], xcorr[size - (m - 1):]]) if m > 1 else xcorr[:n]
    lo_x, hi_x = np.maximum(0, lags), np.minimum(n, lags + m)
    overlap = hi_x - lo_x
    cx = np.concatenate([[0.0], np.cumsum((x.astype(np.float64) ** 2).sum(axis=1))])
    cy = np.concatenate([[0.0], np.cumsum((y.astype(np.float64) ** 2).sum(axis=1))])
    ex = cx[hi_x] - cx[lo_x]
    ey = cy[hi_x - lags] - cy[lo_x - lags]
    ok = (overlap >= need) & (ex > 0) & (ey > 0)
    if not ok.any():
        return -1.0
    return float(np.max(values[ok] / np.sqrt(ex[ok] * ey[ok])))
