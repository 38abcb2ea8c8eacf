"""The deformations do what they say, measured on generated tones and noise."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import noise, tone

from soundseek.encoders.ssl_net import PATCH_SAMPLES
from soundseek.ssl import augment
from soundseek.ssl.triplets import DEFORMATIONS, PairSampler, active_starts, stretched

SR = 16000


def peak_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * SR / len(x))


@pytest.mark.parametrize(("semitones", "expected"), [(12, 880.0), (-12, 220.0), (7, 440 * 2 ** (7 / 12))])
def test_pitch_shift_moves_the_peak_and_keeps_duration(semitones: float, expected: float) -> None:
    x = tone(440.0, 2.0)
    y = augment.pitch_shift(x, semitones)
    assert len(y) == len(x)
    assert abs(peak_hz(y) - expected) < 3.0  # FFT bin = 0.5 Hz
    assert 0.5 < np.std(y) / np.std(x) < 1.5


@pytest.mark.parametrize("rate", [0.8, 1.25])
def test_time_stretch_changes_duration_and_keeps_pitch(rate: float) -> None:
    x = tone(440.0, 2.0)
    y = augment.time_stretch(x, rate)
    assert len(y) == round(len(x) / rate)
    assert abs(peak_hz(y) - 440.0) < 2.0


def test_time_stretch_slows_a_chirp() -> None:
    # a rising sweep stretched 2x reaches its midpoint frequency twice as late
    t = np.arange(SR) / SR
    x = (0.3 * np.sin(2 * np.pi * (200 * t + 1800 * t * t / 2))).astype(np.float32)  # 200 -> 2000 Hz in 1 s
    y = augment.time_stretch(x, 0.5)
    mid = len(y) // 2
    assert abs(peak_hz(y[mid - 1024 : mid + 1024]) - 1100.0) < 120.0


def test_add_noise_reaches_the_requested_snr() -> None:
    x = tone(300.0, 1.0)
    y = augment.add_noise(x, 10.0, np.random.default_rng(0))
    snr = 10 * np.log10(np.mean(x**2) / np.mean((y - x) ** 2))
    assert abs(snr - 10.0) < 0.3


def test_mix_sets_the_relative_level() -> None:
    a, b = tone(300.0, 1.0), noise(1.0, seed=1)
    m = augment.mix(a, b, -6.0)
    added = m - a
    assert abs(10 * np.log10(np.mean(added**2) / np.mean(a**2)) + 6.0) < 0.05


def test_nearby_start_stays_in_range() -> None:
    rng = np.random.default_rng(0)
    for start in (0, 8000, 60000):
        s = augment.nearby_start(start, total=80000, length=PATCH_SAMPLES, min_shift=4000, max_shift=24000, rng=rng)
        assert 0 <= s <= 80000 - PATCH_SAMPLES and 4000 <= abs(s - start) <= 24000


def test_active_starts_skip_digital_silence() -> None:
    wave = np.concatenate([np.zeros(3 * SR, dtype=np.float32), noise(2.0)])
    starts = active_starts(wave)
    assert starts.min() >= 3 * SR - PATCH_SAMPLES


def test_stretched_segment_has_fixed_length() -> None:
    wave = tone(500.0, 3.0)
    for rate in (0.75, 1.33):
        seg = stretched(wave, 8000, rate)
        assert seg.shape == (PATCH_SAMPLES,) and abs(peak_hz(seg) - 500.0) < 20.0


def test_sampler_draws_every_deformation() -> None:
    recs = [tone(220.0 * (i + 1), 3.0) + noise(3.0, seed=i, amp=0.01) for i in range(4)]
    batch = PairSampler(recs, DEFORMATIONS).batch(40, np.random.default_rng(0))
    assert batch.anchors.shape == batch.positives.shape == (40, PATCH_SAMPLES)
    assert set(batch.kinds) == set(DEFORMATIONS)
    mixed = [i for i, k in enumerate(batch.kinds) if k == "mixture"]
    assert (batch.sources[mixed, 1] >= 0).all()
    assert (batch.sources[[i for i in range(40) if i not in mixed], 1] == -1).all()
    with pytest.raises(ValueError):
        PairSampler(recs, ("reverb",))
