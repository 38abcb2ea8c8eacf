"""The paper's baseline audio feature: MFCCs with deltas and double deltas, pooled per segment.

Frames are 25 ms Hann windows every 10 ms at 16 kHz (400-sample window, 512-point FFT), 40 mel bands
(HTK formula, 0-8000 Hz), log energies, DCT-II keeping 20 coefficients; deltas and double deltas over
+-2 frames. Each segment is pooled to the mean and the standard deviation of the 60 per-frame values:
120 dimensions, standardized per dimension with fixed constants, then L2-normalized. (The mean of a
delta over a segment is close to zero, so the standard deviation carries what the deltas know.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.fft import dct

from soundseek.audio.segments import Span, frames_in_span
from soundseek.encoders.base import SegmentEmbeddings, l2_normalize


@dataclass
class MfccConfig:
    """Settings of the MFCC encoder."""

    sample_rate: int = 16000
    n_mels: int = 40
    n_mfcc: int = 20
    win_seconds: float = 0.025
    hop_seconds: float = 0.010
    n_fft: int = 512


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters (HTK mel scale). Returns: (n_mels, n_fft // 2 + 1) float32."""
    fmax = fmax or sr / 2

    def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    mels = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sr)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (bins[None, :] - lower) / np.maximum(centre - lower, 1e-9)
    down = (upper - bins[None, :]) / np.maximum(upper - centre, 1e-9)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


def log_mel(waveform: np.ndarray, cfg: MfccConfig) -> np.ndarray:
    """Log mel energies of 25 ms frames every 10 ms. Returns: (n_frames, n_mels) float32."""
    win = int(round(cfg.win_seconds * cfg.sample_rate))
    hop = int(round(cfg.hop_seconds * cfg.sample_rate))
    if len(waveform) < win:
        waveform = np.pad(waveform, (0, win - len(waveform)))
    n_frames = 1 + (len(waveform) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = waveform[idx] * np.hanning(win).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, n=cfg.n_fft, axis=1)) ** 2
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels)
    return np.log(power @ fb.T + 1e-10).astype(np.float32)


def deltas(features: np.ndarray, *, width: int = 2) -> np.ndarray:
    """Regression deltas over +-`width` frames (edges repeated). Returns: same shape as `features`."""
    padded = np.pad(features, ((width, width), (0, 0)), mode="edge")
    n = len(features)
    num = sum(k * (padded[width + k : width + k + n] - padded[width - k : width - k + n])
              for k in range(1, width + 1))
    return num / (2 * sum(k * k for k in range(1, width + 1)))


class MfccEncoder:
    """MFCC + deltas + double deltas, mean and std per segment (120-d)."""

    name = "mfcc"
    normalized = True
    class_names: list[str] | None = None

    def __init__(self, config: MfccConfig | None = None) -> None:
        self.config = config or MfccConfig()
        self.sample_rate = self.config.sample_rate
        self.dim = 6 * self.config.n_mfcc

    def frame_features(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame MFCC+delta+delta2. Returns: ((n_frames, 3*n_mfcc), (n_frames, 2) frame times)."""
        cfg = self.config
        mfcc = dct(log_mel(waveform, cfg), type=2, norm="ortho", axis=1)[:, : cfg.n_mfcc]
        d1 = deltas(mfcc)
        feats = np.concatenate([mfcc, d1, deltas(d1)], axis=1)
        starts = np.arange(len(feats)) * cfg.hop_seconds
        return feats.astype(np.float32), np.stack([starts, starts + cfg.win_seconds], axis=1)

    def encode_segments(self, waveform: np.ndarray, spans: Sequence[Span]) -> SegmentEmbeddings:
        feats, times = self.frame_features(waveform)
        pooled = []
        for span in spans:
            chunk = feats[frames_in_span(times, span)]
            pooled.append(np.concatenate([chunk.mean(axis=0), chunk.std(axis=0)]))
        stats = np.asarray(pooled, dtype=np.float32)
        return SegmentEmbeddings(l2_normalize(self._standardize(stats)))

    def _standardize(self, stats: np.ndarray) -> np.ndarray:
        """Fixed per-dimension scaling so that c0 (log energy) does not dominate the cosine."""
        n = self.config.n_mfcc
        scale = np.ones(stats.shape[1], dtype=np.float32)
        scale[0] = scale[3 * n] = 10.0
        centre = np.zeros(stats.shape[1], dtype=np.float32)
        centre[0] = -100.0
        return (stats - centre) / scale
