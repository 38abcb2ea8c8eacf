"""The self-supervised encoder network: a small CNN on the log-mel patch of a ~1 s audio frame.

Framing is deterministic: log-mel energies (64 HTK mel bands, 25 ms Hann windows every 10 ms, 16 kHz)
of the whole waveform, cut into patches of `PATCH_FRAMES` = 96 frames (0.975 s of audio) every
`PATCH_HOP` = 48 frames (0.48 s); a waveform shorter than one patch is zero-padded at its end. The
network maps a (64, 96) patch to a d-dimensional L2-normalized vector (d = 128 by default), so that the
cosine is the similarity.

Architecture: input BatchNorm, three blocks conv3x3 -> BatchNorm -> ReLU -> 2x2 max-pool (32, 64, 128
channels; the first convolution has stride 2, which makes a training step ~3x cheaper on a CPU than
stride 1 for the same depth), then the mean and the max over the remaining (4 x 6) map, a linear layer
to d, L2 norm. About 0.13 M parameters, small enough to train on a CPU in minutes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from soundseek.encoders.mfcc import MfccConfig, log_mel, mel_filterbank
from soundseek.errors import ModelError

SAMPLE_RATE = 16000
N_MELS = 64
PATCH_FRAMES = 96
PATCH_HOP = 48
FRAME_HOP_SECONDS = 0.010
#: Samples in one patch: a 400-sample window plus 95 hops of 160 samples.
PATCH_SAMPLES = 400 + 160 * (PATCH_FRAMES - 1)
LOG_FLOOR = -16.0


@dataclass
class ModelConfig:
    """Shape of the network (saved in the model directory's config.json)."""

    dim: int = 128
    channels: tuple[int, ...] = (32, 64, 128)
    n_mels: int = N_MELS


def mel_config(n_mels: int = N_MELS) -> MfccConfig:
    return MfccConfig(sample_rate=SAMPLE_RATE, n_mels=n_mels)


def log_mel_frames(waveform: np.ndarray, *, n_mels: int = N_MELS) -> np.ndarray:
    """Log-mel energies floored at LOG_FLOOR (digital silence). Returns: (n_frames, n_mels) float32."""
    waveform = np.asarray(waveform, dtype=np.float32)
    if len(waveform) < PATCH_SAMPLES:
        waveform = np.pad(waveform, (0, PATCH_SAMPLES - len(waveform)))
    return np.maximum(log_mel(waveform, mel_config(n_mels)), LOG_FLOOR)


def patches(waveform: np.ndarray, *, n_mels: int = N_MELS) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic framing of a waveform into log-mel patches.

    Returns:
        (n_patches, n_mels, PATCH_FRAMES) float32 patches, and (n_patches, 2) start/end seconds.
    """
    mel = log_mel_frames(waveform, n_mels=n_mels)
    starts = np.arange(0, len(mel) - PATCH_FRAMES + 1, PATCH_HOP)
    if starts[-1] + PATCH_FRAMES < len(mel):
        starts = np.append(starts, len(mel) - PATCH_FRAMES)  # cover the end, like segments.cut_spans
    out = np.stack([mel[s : s + PATCH_FRAMES].T for s in starts])
    t0 = starts * FRAME_HOP_SECONDS
    return out, np.stack([t0, t0 + PATCH_SAMPLES / SAMPLE_RATE], axis=1)


def patch_batch(segments: np.ndarray, *, n_mels: int = N_MELS) -> torch.Tensor:
    """Log-mel patches of a batch of PATCH_SAMPLES-long segments, computed in torch (the same framing,
    window, FFT size and filterbank as `log_mel_frames`). Returns: (B, n_mels, PATCH_FRAMES) float32."""
    cfg = mel_config(n_mels)
    win = int(round(cfg.win_seconds * SAMPLE_RATE))
    hop = int(round(cfg.hop_seconds * SAMPLE_RATE))
    x = torch.from_numpy(np.ascontiguousarray(segments[:, :PATCH_SAMPLES], dtype=np.float32))
    frames = x.unfold(1, win, hop) * torch.from_numpy(np.hanning(win).astype(np.float32))
    power = torch.fft.rfft(frames, n=cfg.n_fft, dim=2).abs().pow(2)
    fb = torch.from_numpy(mel_filterbank(SAMPLE_RATE, cfg.n_fft, n_mels))
    mel = torch.log(power @ fb.T + 1e-10).clamp_min(LOG_FLOOR)
    return mel.transpose(1, 2).contiguous()


class PatchEncoder(nn.Module):
    """g: (batch, n_mels, PATCH_FRAMES) log-mel patches -> (batch, dim) unit vectors."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        layers: list[nn.Module] = [nn.BatchNorm2d(1)]
        c_in = 1
        for i, c in enumerate(self.config.channels):
            conv = nn.Conv2d(c_in, c, 3, stride=2 if i == 0 else 1, padding=1, bias=False)
            layers += [conv, nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(2 * c_in, self.config.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x.unsqueeze(1))
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return nn.functional.normalize(self.head(pooled), dim=1)


def model_config_from(model_dir: Path) -> ModelConfig:
    """The ModelConfig in a model directory's config.json (ModelError when missing or malformed)."""
    try:
        raw = json.loads((Path(model_dir) / "config.json").read_text())["model"]
        raw["channels"] = tuple(raw["channels"])
        return ModelConfig(**raw)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{model_dir} holds no trained SSL encoder (config.json: {exc}); "
                         "train one with `soundseek learn`") from exc


def load_model(model_dir: Path) -> PatchEncoder:
    """The trained network in `model_dir` (weights checked strictly against the config), in eval mode."""
    from safetensors.torch import load_file
    model = PatchEncoder(model_config_from(model_dir))
    try:
        model.load_state_dict(load_file(str(Path(model_dir) / "model.safetensors")), strict=True)
    except (OSError, RuntimeError) as exc:
        raise ModelError(f"cannot load SSL encoder weights from {model_dir}: {exc}") from exc
    return model.eval()
