"""Anchor/positive pairs drawn from unlabelled recordings with the deformations of Jansen et al.

Each pair is (anchor, positive) of PATCH_SAMPLES samples each, plus the recordings it came from (so the
negative miner never takes a segment of the same recording, or of a mixture's other parent, as a
negative). Deformations, one drawn uniformly per pair among the enabled ones:

| name | anchor | positive |
|---|---|---|
| pitch | segment | same segment pitch-shifted by +-0.5..4 semitones |
| stretch | segment | same excerpt time-stretched by a factor 0.75..1.33 (log-uniform), pitch kept |
| proximity | segment | another segment of the same recording starting 0.25..1.5 s away |
| noise | segment | segment + white noise at 0..20 dB SNR |
| mixture | segment + a segment of another recording at -10..0 dB | the first segment (a parent) |

Anchors start on active audio: the start is drawn among positions whose segment RMS is within 30 dB
of the recording's loudest segment (ESC-50 clips are often padded with digital silence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundseek.encoders.ssl_net import PATCH_SAMPLES, SAMPLE_RATE
from soundseek.ssl import augment

DEFORMATIONS = ("pitch", "stretch", "proximity", "noise", "mixture")


@dataclass(frozen=True)
class PairBatch:
    """A batch of training pairs.

    Attributes:
        anchors, positives: (B, PATCH_SAMPLES) float32 waveforms.
        sources: (B, 2) int recording indices of each pair (second = mixture partner, else -1).
        kinds: the deformation used for each pair.
    """

    anchors: np.ndarray
    positives: np.ndarray
    sources: np.ndarray
    kinds: list[str]


class PairSampler:
    """Draws `PairBatch`es from a list of waveforms (16 kHz mono float32)."""

    def __init__(self, recordings: list[np.ndarray], deformations: tuple[str, ...]) -> None:
        unknown = set(deformations) - set(DEFORMATIONS)
        if unknown or not deformations:
            raise ValueError(f"deformations must be a non-empty subset of {DEFORMATIONS}, not {deformations}")
        self.recordings = [_at_least(r, PATCH_SAMPLES) for r in recordings]
        self.deformations = tuple(deformations)
        self._starts = [active_starts(r) for r in self.recordings]

    def batch(self, size: int, rng: np.random.Generator) -> PairBatch:
        anchors, positives, sources, kinds = [], [], [], []
        for _ in range(size):
            kind = self.deformations[rng.integers(len(self.deformations))]
            a, p, src = self.pair(kind, rng)
            anchors.append(a), positives.append(p), sources.append(src), kinds.append(kind)
        return PairBatch(np.stack(anchors), np.stack(positives), np.asarray(sources), kinds)

    def _segment(self, rng: np.random.Generator) -> tuple[int, int]:
        rec = int(rng.integers(len(self.recordings)))
        starts = self._starts[rec]
        return rec, int(starts[rng.integers(len(starts))])

    def pair(self, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        rec, start = self._segment(rng)
        wave = self.recordings[rec]
        seg = wave[start : start + PATCH_SAMPLES]
        if kind == "pitch":
            semitones = rng.uniform(0.5, 4.0) * rng.choice([-1, 1])
            return seg, augment.pitch_shift(seg, semitones), (rec, -1)
        if kind == "stretch":
            return seg, stretched(wave, start, float(np.exp(rng.uniform(np.log(0.75), np.log(4 / 3))))), (rec, -1)
        if kind == "proximity":
            other = augment.nearby_start(start, total=len(wave), length=PATCH_SAMPLES, min_shift=SAMPLE_RATE // 4,
                                         max_shift=3 * SAMPLE_RATE // 2, rng=rng)
            return seg, wave[other : other + PATCH_SAMPLES], (rec, -1)
        if kind == "noise":
            return seg, augment.add_noise(seg, rng.uniform(0.0, 20.0), rng), (rec, -1)
        partner, pstart = self._segment(rng)
        other = self.recordings[partner][pstart : pstart + PATCH_SAMPLES]
        return augment.mix(seg, other, rng.uniform(-10.0, 0.0)), seg, (rec, partner)


def stretched(wave: np.ndarray, start: int, rate: float) -> np.ndarray:
    """The segment at `start` played `rate` times faster (an excerpt of rate * PATCH_SAMPLES samples
    centred on the segment, stretched back to PATCH_SAMPLES). Returns: (PATCH_SAMPLES,) float32."""
    need = int(np.ceil(PATCH_SAMPLES * rate))
    centre = start + PATCH_SAMPLES // 2
    lo = int(np.clip(centre - need // 2, 0, max(0, len(wave) - need)))
    excerpt = augment.fit_length(wave[lo : lo + need], need)
    return augment.fit_length(augment.time_stretch(excerpt, rate), PATCH_SAMPLES)


def active_starts(wave: np.ndarray, *, hop: int = SAMPLE_RATE // 10, floor_db: float = 30.0) -> np.ndarray:
    """Segment starts (every `hop` samples) whose RMS is within `floor_db` dB of the loudest one."""
    starts = np.arange(0, len(wave) - PATCH_SAMPLES + 1, hop)
    rms = np.array([np.sqrt(np.mean(wave[s : s + PATCH_SAMPLES] ** 2) + 1e-12) for s in starts])
    keep = starts[20 * np.log10(rms / rms.max()) > -floor_db]
    return keep if len(keep) else starts


def _at_least(wave: np.ndarray, length: int) -> np.ndarray:
    wave = np.asarray(wave, dtype=np.float32)
    return wave if len(wave) >= length else np.pad(wave, (0, length - len(wave)))
