"""The encoder interfaces every audio and text encoder implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from soundseek.audio.segments import Span


@dataclass(frozen=True)
class SegmentEmbeddings:
    """An encoder's output for the segments of one recording.

    Attributes:
        vectors: (n_segments, dim) float32, L2-normalized rows.
        class_scores: (n_segments, n_classes) float32 class probabilities, or None when the encoder
            is no classifier (only YAMNet has them).
    """

    vectors: np.ndarray
    class_scores: np.ndarray | None = None


@runtime_checkable
class AudioEncoder(Protocol):
    """Maps a mono waveform and a list of time spans to one vector per span."""

    name: str
    dim: int
    sample_rate: int
    #: Whether `encode_segments` returns L2-normalized vectors (all built-in encoders do).
    normalized: bool
    #: A classifier's class names, aligned with `SegmentEmbeddings.class_scores`; None when the
    #: encoder is no classifier (only YAMNet is).
    class_names: list[str] | None

    def encode_segments(self, waveform: np.ndarray, spans: Sequence[Span]) -> SegmentEmbeddings:
        """Embed each span of `waveform` (float32 mono at `sample_rate`)."""
        ...


@runtime_checkable
class TextEncoder(Protocol):
    """Maps strings to vectors."""

    name: str
    dim: int
    normalized: bool

    def encode_text(self, texts: list[str]) -> np.ndarray:
        """Returns: (len(texts), dim) float32, L2-normalized rows."""
        ...


def l2_normalize(x: np.ndarray, *, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """Scale rows to unit L2 norm (zero rows stay zero). Returns float32."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / np.maximum(norm, eps)).astype(np.float32)


def encode_clip(encoder: AudioEncoder, waveform: np.ndarray) -> np.ndarray:
    """Embed a whole waveform as one span. Returns: (dim,) float32."""
    duration = len(waveform) / encoder.sample_rate
    return encoder.encode_segments(waveform, [Span(0.0, duration)]).vectors[0]
