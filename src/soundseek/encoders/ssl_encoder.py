"""The trained self-supervised network as an `AudioEncoder` (registered as "ssl").

`encode_segments` embeds the waveform's deterministic ~1 s patches (see `ssl.model`) and pools, for each
span, the patches whose centre lies inside it: mean of the unit patch vectors, L2-normalized again.

Config keys (`--encoder-config KEY=VALUE`): `model_dir` (required: a directory written by
`soundseek learn`), `num_threads` (torch CPU threads, default 1), `batch_size` (patches per forward
pass, default 256).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from soundseek.audio.segments import Span, frames_in_span
from soundseek.encoders.base import SegmentEmbeddings, l2_normalize
from soundseek.errors import ModelError


@dataclass
class SslConfig:
    """Settings of the SSL encoder."""

    model_dir: str | None = None
    num_threads: int = 1
    batch_size: int = 256


class SslEncoder:
    """Cochlea-style self-supervised embeddings (d = the trained model's dim, 128 by default)."""

    name = "ssl"
    normalized = True
    class_names: list[str] | None = None
    sample_rate = 16000

    def __init__(self, config: SslConfig | None = None) -> None:
        from soundseek.encoders.ssl_net import load_model
        config = config or SslConfig()
        if not config.model_dir:
            raise ModelError("the ssl encoder needs model_dir=DIR (a model trained with `soundseek learn`)")
        model_dir = Path(config.model_dir).expanduser().resolve()
        if not model_dir.is_dir():
            raise ModelError(f"ssl model directory {model_dir} does not exist")
        # absolute, so that a collection's recorded encoder config works from any directory
        self.config = replace(config, model_dir=str(model_dir))
        self._model = load_model(Path(self.config.model_dir))
        self.dim = self._model.config.dim

    def patch_embeddings(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings of every patch. Returns: (n_patches, dim) float32 and (n_patches, 2) seconds."""
        import torch

        from soundseek.encoders.ssl_net import patches
        torch.set_num_threads(self.config.num_threads)
        x, times = patches(waveform, n_mels=self._model.config.n_mels)
        out = []
        with torch.no_grad():
            for s in range(0, len(x), self.config.batch_size):
                out.append(self._model(torch.from_numpy(x[s : s + self.config.batch_size])).numpy())
        return np.concatenate(out).astype(np.float32), times

    def encode_segments(self, waveform: np.ndarray, spans: Sequence[Span]) -> SegmentEmbeddings:
        emb, times = self.patch_embeddings(waveform)
        pooled = np.stack([emb[frames_in_span(times, span)].mean(axis=0) for span in spans]) if spans else \
            np.zeros((0, self.dim), dtype=np.float32)
        return SegmentEmbeddings(l2_normalize(pooled))
