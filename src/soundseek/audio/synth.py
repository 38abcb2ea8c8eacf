"""Procedural sounds for the demo library and for tests: each kind is a small, seeded generator.

Every generator takes a numpy Generator (for pitch, length and noise variation) and returns a float32
mono waveform at SR. Kinds: bell, siren, rain, engine hum, clock ticks, bird chirps, phone ring,
footsteps, applause, dial tone, dripping water, wind, thunder, alarm beeps.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.signal import butter, lfilter

SR = 16000


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SR)) / SR


def _lowpass(x: np.ndarray, cutoff: float, order: int = 2) -> np.ndarray:
    b, a = butter(order, cutoff / (SR / 2), btype="low")
    return lfilter(b, a, x)


def _bandpass(x: np.ndarray, lo: float, hi: float, order: int = 2) -> np.ndarray:
    b, a = butter(order, [lo / (SR / 2), hi / (SR / 2)], btype="band")
    return lfilter(b, a, x)


def _place(out: np.ndarray, event: np.ndarray, at: float) -> None:
    i = int(at * SR)
    n = min(len(event), len(out) - i)
    if n > 0:
        out[i : i + n] += event[:n]


def bell(rng: np.random.Generator) -> np.ndarray:
    f0, dur = rng.uniform(300, 900), rng.uniform(3, 5)
    t = _t(dur)
    partials = [(1.0, 1.0), (2.76, 0.5), (5.4, 0.25), (8.93, 0.12)]
    out = sum(a * np.sin(2 * np.pi * f0 * r * t) * np.exp(-t * (1.2 + r * 0.4)) for r, a in partials)
    return np.asarray(out)


def siren(rng: np.random.Generator) -> np.ndarray:
    dur, lo, hi, rate = rng.uniform(4, 6), rng.uniform(500, 700), rng.uniform(1200, 1600), rng.uniform(0.3, 0.6)
    t = _t(dur)
    freq = lo + (hi - lo) * (0.5 + 0.5 * np.sin(2 * np.pi * rate * t))
    phase = 2 * np.pi * np.cumsum(freq) / SR
    return np.sign(np.sin(phase)) * 0.3 + np.sin(phase) * 0.5


def rain(rng: np.random.Generator) -> np.ndarray:
    dur = rng.uniform(4, 6)
    out = _bandpass(rng.standard_normal(int(dur * SR)), 800, 7000) * 0.3
    for at in rng.uniform(0, dur, int(dur * rng.uniform(40, 80))):
        drop = rng.standard_normal(int(0.004 * SR)) * np.exp(-np.arange(int(0.004 * SR)) / 20)
        _place(out, drop * rng.uniform(0.2, 0.8), at)
    return out


def engine_hum(rng: np.random.Generator) -> np.ndarray:
    dur, f0 = rng.uniform(4, 6), rng.uniform(30, 60)
    t = _t(dur)
    firing = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12))
    rumble = _lowpass(rng.standard_normal(len(t)), 300) * 2
    return firing * (1 + 0.2 * np.sin(2 * np.pi * 3 * t)) + rumble


def clock_ticks(rng: np.random.Generator) -> np.ndarray:
    dur, period = rng.uniform(4, 6), rng.uniform(0.45, 0.55)
    out = np.zeros(int(dur * SR))
    click_t = _t(0.015)
    for k, at in enumerate(np.arange(0.1, dur, period)):
        f = 3000 if k % 2 else 2400
        _place(out, np.sin(2 * np.pi * f * click_t) * np.exp(-click_t * 400), at)
    return out


def bird_chirps(rng: np.random.Generator) -> np.ndarray:
    dur = rng.uniform(3, 5)
    out = np.zeros(int(dur * SR))
    for at in np.sort(rng.uniform(0, dur - 0.2, rng.integers(6, 12))):
        n = int(rng.uniform(0.05, 0.15) * SR)
        f = np.linspace(rng.uniform(2500, 4000), rng.uniform(4500, 7000), n)
        f += 300 * np.sin(2 * np.pi * 40 * np.arange(n) / SR)
        _place(out, np.sin(2 * np.pi * np.cumsum(f) / SR) * np.hanning(n), at)
    return out


def phone_ring(rng: np.random.Generator) -> np.ndarray:
    dur = rng.uniform(4, 6)
    t = _t(dur)
    tone = np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t)
    trill = np.sign(np.sin(2 * np.pi * 20 * t)) * 0.5 + 0.5
    gate = (t % 3.0) < 1.5
    return tone * trill * gate * 0.5


def footsteps(rng: np.random.Generator) -> np.ndarray:
    dur, step = rng.uniform(4, 6), rng.uniform(0.45, 0.65)
    out = np.zeros(int(dur * SR))
    for at in np.arange(0.1, dur, step):
        n = int(0.08 * SR)
        thud = _lowpass(rng.standard_normal(n), 400) * np.exp(-np.arange(n) / (0.015 * SR)) * 4
        scuff = _bandpass(rng.standard_normal(n), 1500, 5000) * np.exp(-np.arange(n) / (0.03 * SR)) * 0.3
        _place(out, thud + scuff, at + rng.normal(0, 0.01))
    return out


def applause(rng: np.random.Generator) -> np.ndarray:
    dur = rng.uniform(4, 6)
    out = np.zeros(int(dur * SR))
    for at in rng.uniform(0, dur, int(dur * rng.uniform(60, 120))):
        n = int(0.01 * SR)
        clap = _bandpass(rng.standard_normal(n), 800, 4000) * np.exp(-np.arange(n) / (0.002 * SR))
        _place(out, clap * rng.uniform(0.3, 1.0), at)
    return out


def dial_tone(rng: np.random.Generator) -> np.ndarray:
    t = _t(rng.uniform(3, 5))
    return 0.5 * (np.sin(2 * np.pi * 350 * t) + np.sin(2 * np.pi * 440 * t))


def dripping_water(rng: np.random.Generator) -> np.ndarray:
    dur = rng.uniform(4, 6)
    out = np.zeros(int(dur * SR))
    for at in np.arange(0.2, dur, rng.uniform(0.4, 0.8)):
        n = int(0.06 * SR)
        f = np.linspace(rng.uniform(800, 1200), rng.uniform(1800, 2500), n)
        _place(out, np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-np.arange(n) / (0.012 * SR)), at)
    return out


def wind(rng: np.random.Generator) -> np.ndarray:
    t = _t(rng.uniform(4, 6))
    gust = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t)
    return _bandpass(rng.standard_normal(len(t)), 150, 1200) * gust * 2


def thunder(rng: np.random.Generator) -> np.ndarray:
    dur = rng.uniform(4, 6)
    t = _t(dur)
    env = np.exp(-np.maximum(t - 0.3, 0) * rng.uniform(0.6, 1.2)) * (t > 0.3)
    crack = _bandpass(rng.standard_normal(len(t)), 1000, 6000) * np.exp(-np.maximum(t - 0.3, 0) * 20) * (t > 0.3)
    return _lowpass(rng.standard_normal(len(t)), 150, order=4) * env * 8 + crack


def alarm_beeps(rng: np.random.Generator) -> np.ndarray:
    t = _t(rng.uniform(3, 5))
    f = rng.uniform(2000, 3200)
    return np.sin(2 * np.pi * f * t) * ((t % 0.5) < 0.25) * 0.6


KINDS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "church_bell": bell, "police_siren": siren, "rain": rain, "engine_hum": engine_hum,
    "clock_ticking": clock_ticks, "bird_chirping": bird_chirps, "phone_ringing": phone_ring,
    "footsteps": footsteps, "applause": applause, "dial_tone": dial_tone,
    "dripping_water": dripping_water, "wind": wind, "thunder": thunder, "alarm_beeping": alarm_beeps,
}


def make_sound(kind: str, seed: int) -> np.ndarray:
    """One take of `kind`: the generator's output with a little background noise, peak-normalized."""
    rng = np.random.default_rng(seed)
    x = np.asarray(KINDS[kind](rng), dtype=np.float64)
    x = x / (np.max(np.abs(x)) + 1e-9) * rng.uniform(0.4, 0.9)
    x += rng.standard_normal(len(x)) * rng.uniform(0.002, 0.02)
    return np.clip(x, -1, 1).astype(np.float32)
