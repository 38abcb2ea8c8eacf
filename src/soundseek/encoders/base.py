"""The encoder interfaces every audio and text encoder implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from soundseek.audio.segments import Span


@dataclass(frozen=True)
class FrameEvidence:
    """A compact record of a classifier's frames over a whole recording, to find events inside segments.

    Attributes:
        times: (n_frames, 2) float32 start and end of each frame, seconds.
        classes: (n_frames, k) uint16, each frame's k best classes.
        scores: (n_frames, k) uint8, their probabilities x 255.
        loudness: (n_frames,) uint8, the frame's RMS level in dBFS + 100 (0 = -100 dBFS or below).
    """

    times: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    loudness: np.ndarray

    def class_track(self, classes: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Per frame, the weighted probability of `classes` (0 where a class is not among the frame's
        best). Returns (n_frames,) float32."""
        track = np.zeros(len(self.times), dtype=np.float32)
        for c, w in zip(classes, weights):
            hit = self.classes == c
            track += np.float32(w) * (self.scores * hit).sum(axis=1).astype(np.float32) / 255.0
        return track

    def profiles(self, rows: np.ndarray, n_classes: int) -> np.ndarray:
        """The L2-normalized class profiles (best classes only, others 0) of the frames `rows`.
        Returns (len(rows), n_classes) float32."""
        out = np.zeros((len(rows), n_classes), dtype=np.float32)
        np.put_along_axis(out, self.classes[rows].astype(np.int64), self.scores[rows].astype(np.float32) / 255.0, axis=1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


@dataclass(frozen=True)
class SegmentEmbeddings:
    """An encoder's output for the segments of one recording.

    Attributes:
        vectors: (n_segments, dim) float32, L2-normalized rows.
        class_scores: (n_segments, n_classes) float32 class probabilities, or None when the encoder
            is no classifier (only YAMNet has them).
        frames: the classifier's frame-level evidence over the whole recording, or None.
    """

    vectors: np.ndarray
    class_scores: np.ndarray | None = None
    frames: FrameEvidence | None = None


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
class StreamingEncoder(Protocol):
    """An audio encoder that can take a long recording as consecutive blocks (YAMNet)."""

    def encode_stream(self, blocks: Iterator[np.ndarray],
                      cut: Callable[[float], Sequence[Span]]) -> tuple[SegmentEmbeddings, Sequence[Span], float]:
        """Embed the spans `cut(duration)` of the recording; returns embeddings, spans, duration."""
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


def encode_query(encoder: TextEncoder, texts: list[str]) -> np.ndarray:
    """Embed a query's texts: `encoder.encode_query` where the encoder has a faster query path (same
    space as its `encode_text`, an approximation never meant to be stored), else `encode_text`.

    Returns: (len(texts), dim) float32, L2-normalized rows."""
    query = getattr(encoder, "encode_query", None)
    return encoder.encode_text(texts) if query is None else query(texts)


def l2_normalize(x: np.ndarray, *, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """Scale rows to unit L2 norm (zero rows stay zero). Returns float32."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / np.maximum(norm, eps)).astype(np.float32)


def encode_clip(encoder: AudioEncoder, waveform: np.ndarray) -> np.ndarray:
    """Embed a whole waveform as one span. Returns: (dim,) float32."""
    duration = len(waveform) / encoder.sample_rate
    return encoder.encode_segments(waveform, [Span(0.0, duration)]).vectors[0]
