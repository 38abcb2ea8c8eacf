"""YAMNet (AudioSet, 521 classes) run from its TFLite file with ai-edge-litert on the CPU.

YAMNet frames a 16 kHz waveform into 0.96 s windows every 0.48 s and returns, per frame, 521 class
probabilities and a 1024-d embedding. With `frame_hop=0.96` the windows do not overlap: each is run on
its own (the graph's framing is fixed), half the frames for about half of the network's time on long
recordings, three quarters on 5 s clips (BENCHMARKS.md, issue 11, fifth session). A segment pools the
frames whose centre lies in it and that hold sound: frames more than `GATE_DB` below the segment's
loudest frame, or below `SILENCE_DBFS`, are left out (unless every frame is), so silence padding
neither dilutes a short event nor tags a clip "Silence". The vector is the mean of those frames'
embeddings (L2-normalized); the class scores are, per class, the mean of the three highest scores among
them. The recording's frames are also kept in a compact form (`FrameEvidence`: the `FRAME_TOP_CLASSES`
best classes of each frame, 8-bit, and its loudness), so that search can find an event's own start and
end inside a segment.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar, Iterator, Sequence

import numpy as np

from soundseek.audio.segments import Span, frames_in_span
from soundseek.encoders.base import FrameEvidence, SegmentEmbeddings, l2_normalize
from soundseek.encoders.models import require
from soundseek.errors import ModelError

FRAME_SECONDS = 0.96
HOP_SECONDS = 0.48
#: The frame hops an encoder may use: the network's own, and windows end to end.
FRAME_HOPS = (HOP_SECONDS, FRAME_SECONDS)
#: Samples one frame's spectrogram reads: 0.96 s of 10 ms hops plus the rest of the last 25 ms window
#: (the network pads a shorter input with silence).
PATCH_SAMPLES = 15_600
#: A segment's class score is the mean of its SCORE_POOL_TOP highest frame scores (brief events
#: such as a door creak in a 5 s segment are not diluted by the quiet frames around them).
SCORE_POOL_TOP = 3
#: Frames per chunk given to the interpreter at once (~31 s of audio). The interpreter's working memory grows
#: with its input: 1,024 frames (8 min) took 1.3 GB, 64 frames 0.15 GB, and smaller chunks run faster.
CHUNK_FRAMES = 64
#: Frames quieter than the segment's loudest frame by more than this (dB) do not hold its sound.
GATE_DB = 30.0
#: Frames below this level (dBFS RMS) are silence whatever the segment's loudest frame is.
SILENCE_DBFS = -70.0
#: Classes kept per frame in the frame-level evidence (33 bytes a frame in all: ~4 KB per minute of audio).
FRAME_TOP_CLASSES = 8


@dataclass
class YamnetConfig:
    """Settings of the YAMNet encoder; `model_dir` defaults to the installed model."""

    model_dir: str | None = None
    num_threads: int = 1
    frame_hop: float = HOP_SECONDS  # seconds between frames: 0.48 (overlapping windows) or 0.96 (faster)
    #: Settings that change the vectors: a collection keeps the ones it was built with.
    VECTOR_SETTINGS: ClassVar[tuple[str, ...]] = ("frame_hop",)

    def __post_init__(self) -> None:
        if self.frame_hop not in FRAME_HOPS:
            raise ModelError(f"YAMNet frame_hop must be one of {list(FRAME_HOPS)} seconds, got {self.frame_hop!r}")


def load_class_names(path: Path) -> list[str]:
    """The 521 display names in output order from `yamnet_class_map.csv`."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [row["display_name"] for row in csv.DictReader(handle)]


class YamnetEncoder:
    """1024-d YAMNet embeddings and 521 AudioSet class scores per segment."""

    name = "yamnet"
    dim = 1024
    sample_rate = 16000
    normalized = True

    def __init__(self, config: YamnetConfig | None = None) -> None:
        self.config = config or YamnetConfig()
        folder = Path(self.config.model_dir) if self.config.model_dir else require("yamnet")
        self.class_names = load_class_names(folder / "yamnet_class_map.csv")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise ModelError("ai-edge-litert is not installed") from exc
        from soundseek.native_log import filtered_stderr

        with filtered_stderr():  # drop TFLite's "Created ... XNNPACK delegate" line
            self._interpreter = Interpreter(
                model_path=str(folder / "yamnet.tflite"), num_threads=self.config.num_threads
            )
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = self._interpreter.get_output_details()
        self._scores = next(d["index"] for d in outputs if d["shape"][-1] == 521)
        self._embeddings = next(d["index"] for d in outputs if d["shape"][-1] == 1024)
        self._size = -1
        self.hop_seconds = float(self.config.frame_hop)

    def frames(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run the network over the waveform, in chunks for long input.

        Returns:
            embeddings (n_frames, 1024), scores (n_frames, 521), times (n_frames, 2) seconds.
        """
        run = self._frames_of(iter([waveform]))
        return run.embeddings, run.scores, run.times

    def encode_segments(self, waveform: np.ndarray, spans: Sequence[Span]) -> SegmentEmbeddings:
        return self._pool(self._frames_of(iter([waveform])), spans)

    def encode_stream(self, blocks: Iterator[np.ndarray],
                      cut: Callable[[float], Sequence[Span]]) -> tuple[SegmentEmbeddings, Sequence[Span], float]:
        """`encode_segments` over a recording given as consecutive blocks (memory bounded by the frames'
        outputs, not by the samples); `cut(duration)` gives the spans once the length is known.

        Returns: the embeddings, the spans, and the duration in seconds."""
        run = self._frames_of(blocks)
        duration = run.n_samples / self.sample_rate
        spans = cut(duration)
        return self._pool(run, spans), spans, duration

    def _pool(self, run: "_FrameRun", spans: Sequence[Span]) -> SegmentEmbeddings:
        idx = [sounding(frames_in_span(run.times, span), run.level) for span in spans]
        vectors = np.stack([run.embeddings[i].mean(axis=0) for i in idx])
        class_scores = np.stack([_top_mean(run.scores[i], SCORE_POOL_TOP) for i in idx]).astype(np.float32)
        return SegmentEmbeddings(l2_normalize(vectors), class_scores, frame_evidence(run.times, run.scores, run.level))

    def _frames_of(self, blocks: Iterator[np.ndarray]) -> "_FrameRun":
        """The network's frames over consecutive blocks: chunks of CHUNK_FRAMES frames are run as soon
        as the samples they need have arrived, and only the samples still needed are kept."""
        hop = int(self.hop_seconds * self.sample_rate)
        win = int(FRAME_SECONDS * self.sample_rate)
        step = CHUNK_FRAMES * hop
        run = _FrameRun()
        pending = np.zeros(0, dtype=np.float32)
        offset = 0  # sample index of pending[0]
        for block in blocks:
            pending = np.concatenate([pending, np.asarray(block, dtype=np.float32)])
            while len(pending) >= step + win:  # not the last chunk: keep its first CHUNK_FRAMES frames
                self._add_chunk(run, pending[: step + win], offset, CHUNK_FRAMES)
                pending, offset = pending[step:], offset + step
        run.n_samples = offset + len(pending)
        if run.n_samples == 0:
            raise ModelError("YAMNet got no samples")
        if len(pending) < win:
            pending = np.pad(pending, (0, win - len(pending)))
        self._add_chunk(run, pending, offset, None)
        run.finish()
        return run

    def _add_chunk(self, run: "_FrameRun", chunk: np.ndarray, offset: int, keep: int | None) -> None:
        e, s = self._run(chunk) if self.hop_seconds == HOP_SECONDS else self._run_windows(chunk, keep)
        keep = len(e) if keep is None else min(len(e), keep)
        start = offset / self.sample_rate + np.arange(keep) * self.hop_seconds
        times = np.stack([start, start + FRAME_SECONDS], axis=1)
        run.parts.append((e[:keep], s[:keep], times,
                          frame_loudness(chunk, times - offset / self.sample_rate, self.sample_rate, self.hop_seconds)))

    def _run_windows(self, chunk: np.ndarray, keep: int | None) -> tuple[np.ndarray, np.ndarray]:
        """The network on each of the chunk's end-to-end windows (the first `keep`, else as many as cover
        every sample, the last padded with silence by the network as the 0.48 s hop's last frame is), one
        run each, given the PATCH_SAMPLES its spectrogram reads: each frame is the 0.48 s hop's frame at
        the same time, to the bit. Returns embeddings (k, 1024) and scores (k, 521)."""
        win = int(FRAME_SECONDS * self.sample_rate)
        n = 1 + max(0, -(-(len(chunk) - PATCH_SAMPLES) // win))
        n = n if keep is None else min(n, keep)
        out = [self._run(chunk[i * win : i * win + PATCH_SAMPLES]) for i in range(n)]
        return np.concatenate([e for e, _ in out]), np.concatenate([s for _, s in out])

    def _run(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(chunk) != self._size:
            self._interpreter.resize_tensor_input(self._input, [len(chunk)], strict=False)
            from soundseek.native_log import filtered_stderr

            with filtered_stderr():
                self._interpreter.allocate_tensors()
            self._size = len(chunk)
        self._interpreter.set_tensor(self._input, np.ascontiguousarray(chunk, dtype=np.float32))
        self._interpreter.invoke()
        return (
            self._interpreter.get_tensor(self._embeddings).copy(),
            self._interpreter.get_tensor(self._scores).copy(),
        )


@dataclass
class _FrameRun:
    """YAMNet's outputs over one recording, gathered chunk by chunk."""

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    n_samples: int = 0
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 1024), dtype=np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0, 521), dtype=np.float32))
    times: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    level: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    def finish(self) -> None:
        self.embeddings, self.scores, self.times, self.level = (np.concatenate(x) for x in zip(*self.parts))
        self.parts = []


def frame_loudness(waveform: np.ndarray, times: np.ndarray, sample_rate: int, hop: float = HOP_SECONDS) -> np.ndarray:
    """RMS level in dBFS (at least -100) of the central hop of each frame (the `hop` seconds around its
    centre: consecutive frames tile the recording, and the level is located where the frame's evidence
    is). Returns (n_frames,) float32."""
    out = np.empty(len(times), dtype=np.float32)
    for i, centre in enumerate(times.mean(axis=1)):
        lo = max(0, int((centre - hop / 2) * sample_rate))
        chunk = waveform[lo : int((centre + hop / 2) * sample_rate)]
        rms = float(np.sqrt(np.mean(np.square(chunk, dtype=np.float64)))) if chunk.size else 0.0
        out[i] = 20 * np.log10(max(rms, 1e-5))
    return out


def sounding(frames: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The frames (indices) that hold sound: within GATE_DB of the loudest and above SILENCE_DBFS; all
    of them when none is."""
    if frames.size == 0:
        return frames
    loud = level[frames]
    keep = frames[(loud >= loud.max() - GATE_DB) & (loud > SILENCE_DBFS)]
    return keep if keep.size else frames


def frame_evidence(times: np.ndarray, scores: np.ndarray, level: np.ndarray) -> FrameEvidence:
    """The compact per-frame record of a recording (see FrameEvidence)."""
    k = min(FRAME_TOP_CLASSES, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(scores, top, axis=1)
    return FrameEvidence(times.astype(np.float32), top.astype(np.uint16),
                         np.clip(np.round(values * 255), 0, 255).astype(np.uint8),
                         np.clip(np.round(level + 100), 0, 255).astype(np.uint8))


def _top_mean(scores: np.ndarray, k: int) -> np.ndarray:
    """Per column, the mean of the k largest values. scores: (n_frames, n_classes) -> (n_classes,)."""
    if len(scores) <= k:
        return scores.mean(axis=0)
    return np.partition(scores, len(scores) - k, axis=0)[-k:].mean(axis=0)
