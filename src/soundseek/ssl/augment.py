"""Deformations of audio used to make training pairs without labels (Jansen et al., 2018).

All are real signal processing on float32 mono waveforms:
- `time_stretch`: phase vocoder (STFT, phase advance re-accumulated at the new frame rate, overlap-add).
- `pitch_shift`: time-stretch by 2^(s/12), then resample (soxr) back to the original duration, which
  scales every frequency by 2^(s/12) and keeps the duration.
- `add_noise`: Gaussian noise at a given signal-to-noise ratio (dB, over the signal's mean power).
- `mix`: the sum of two waveforms, the second scaled to a given level (dB) relative to the first.
- `nearby_start`: temporal proximity, a start time shifted by a bounded non-zero offset.
"""

from __future__ import annotations

import numpy as np
import soxr

N_FFT = 512
HOP = 128


def _window() -> np.ndarray:
    return np.hanning(N_FFT + 1)[:-1].astype(np.float32)


def stft(x: np.ndarray) -> np.ndarray:
    """Hann-windowed STFT (centre-padded). Returns: (n_frames, N_FFT // 2 + 1) complex64."""
    padded = np.pad(x.astype(np.float32), (N_FFT // 2, N_FFT // 2 + HOP))
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    return np.fft.rfft(padded[idx] * _window(), axis=1).astype(np.complex64)


def istft(spec: np.ndarray, length: int) -> np.ndarray:
    """Weighted overlap-add inverse of `stft`. Returns: (length,) float32."""
    win = _window()
    frames = np.fft.irfft(spec, n=N_FFT, axis=1) * win
    total = N_FFT + HOP * (len(frames) - 1)
    out = np.zeros(total, dtype=np.float64)
    norm = np.zeros(total, dtype=np.float64)
    for i, frame in enumerate(frames):
        out[i * HOP : i * HOP + N_FFT] += frame
        norm[i * HOP : i * HOP + N_FFT] += win**2
    out = out / np.maximum(norm, 1e-8)
    out = out[N_FFT // 2 : N_FFT // 2 + length]
    return np.pad(out, (0, max(0, length - len(out)))).astype(np.float32)


def time_stretch(x: np.ndarray, rate: float) -> np.ndarray:
    """Play `x` `rate` times faster without changing its pitch (phase vocoder).

    Returns: (round(len(x) / rate),) float32.
    """
    if rate <= 0:
        raise ValueError(f"stretch rate must be positive, not {rate}")
    spec = stft(x)
    steps = np.arange(0.0, len(spec) - 1, rate)
    lo = steps.astype(int)
    frac = (steps - lo)[:, None]
    mag = (1 - frac) * np.abs(spec[lo]) + frac * np.abs(spec[lo + 1])
    expected = 2 * np.pi * HOP * np.arange(spec.shape[1]) / N_FFT
    dphi = np.angle(spec[lo + 1]) - np.angle(spec[lo]) - expected
    dphi = dphi - 2 * np.pi * np.round(dphi / (2 * np.pi)) + expected
    phase = np.angle(spec[0]) + np.concatenate([np.zeros((1, spec.shape[1])), np.cumsum(dphi[:-1], axis=0)])
    out = istft((mag * np.exp(1j * phase)).astype(np.complex64), int(round(len(x) / rate)))
    return out


def pitch_shift(x: np.ndarray, semitones: float) -> np.ndarray:
    """Shift every frequency by 2^(semitones/12), keeping the duration. Returns: (len(x),) float32."""
    factor = 2.0 ** (semitones / 12.0)
    stretched = time_stretch(x, 1.0 / factor)  # factor times longer, same pitch
    out = soxr.resample(stretched, factor, 1.0, quality="HQ").astype(np.float32)
    return fit_length(out, len(x))


def fit_length(x: np.ndarray, length: int) -> np.ndarray:
    """Crop the end or zero-pad to exactly `length` samples."""
    return x[:length] if len(x) >= length else np.pad(x, (0, length - len(x)))


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """`x` plus white Gaussian noise whose power is `snr_db` below the power of `x`."""
    power = float(np.mean(x.astype(np.float64) ** 2)) or 1e-8
    sigma = np.sqrt(power / 10 ** (snr_db / 10))
    return (x + sigma * rng.standard_normal(len(x))).astype(np.float32)


def mix(a: np.ndarray, b: np.ndarray, level_db: float) -> np.ndarray:
    """a + b, with b rescaled so that its power is `level_db` relative to a's (same lengths)."""
    pa = float(np.mean(a.astype(np.float64) ** 2)) or 1e-8
    pb = float(np.mean(b.astype(np.float64) ** 2)) or 1e-8
    return (a + b * np.sqrt(pa / pb * 10 ** (level_db / 10))).astype(np.float32)


def nearby_start(
    start: int, *, total: int, length: int, min_shift: int, max_shift: int, rng: np.random.Generator
) -> int:
    """A start sample shifted from `start` by min_shift..max_shift samples either way, inside [0, total - length].

    Falls back to the farthest valid start when the recording is too short for the minimum shift.
    """
    last = max(0, total - length)
    shifts = np.concatenate([np.arange(-max_shift, -min_shift + 1), np.arange(min_shift, max_shift + 1)])
    valid = [s for s in (start + shifts[rng.permutation(len(shifts))[:16]]) if 0 <= s <= last]
    if valid:
        return int(valid[0])
    return 0 if start - 0 > last - start else last
