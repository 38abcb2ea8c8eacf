"""Training the self-supervised encoder: triplet loss with within-batch semi-hard negative mining.

Each step draws B anchor/positive pairs (`triplets.PairSampler`), embeds the 2B segments, and for each
anchor picks a negative among the 2B embeddings that share no recording with its pair (FaceNet's
semi-hard rule, as in TensorFlow Addons' `triplet_semihard_loss`): the closest negative that is
farther than the positive; when there is none, the farthest negative. Loss = mean over anchors of
max(0, d(a, p) - d(a, n) + margin), d = squared Euclidean distance of unit vectors (= 2 - 2 cos).

The batch of step t is drawn from a generator seeded with (seed, t), so a resumed run sees exactly the
batches an uninterrupted run would. A model directory holds:

    config.json        {"model": ModelConfig, "train": LearnConfig, "steps_done": int}
    model.safetensors  the network's weights (what the encoder loads)
    checkpoint.pt      weights + optimizer state + step, for --resume (removed by nothing; small)
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from soundseek.encoders.ssl_net import ModelConfig, PatchEncoder, patch_batch
from soundseek.joint.losses import semi_hard_triplet_losses
from soundseek.ssl.triplets import DEFORMATIONS, PairBatch, PairSampler
from soundseek.vindex.base import atomic_write_bytes


@dataclass
class LearnConfig:
    """How `soundseek learn` trains the self-supervised encoder (saved in config.json beside the weights)."""

    steps: int = 400
    batch_size: int = 64
    lr: float = 2e-3
    margin: float = 0.2
    seed: int = 0
    deformations: tuple[str, ...] = DEFORMATIONS
    checkpoint_every: int = 50
    num_threads: int = 1
    model: ModelConfig = field(default_factory=ModelConfig)


@dataclass(frozen=True)
class TrainResult:
    steps_done: int
    final_loss: float
    seconds: float
    model_dir: Path


def negative_mask(sources: np.ndarray) -> torch.Tensor:
    """(B, 2B) bool: candidate j (anchors then positives) may be a negative of anchor i when the pairs
    share no recording. `sources`: (B, 2) recording indices, -1 = none."""
    both = np.concatenate([sources, sources])
    shared = np.zeros((len(sources), len(both)), dtype=bool)
    for a in range(sources.shape[1]):
        for b in range(both.shape[1]):
            shared |= (sources[:, a][:, None] == both[:, b][None, :]) & (sources[:, a][:, None] >= 0)
    return torch.from_numpy(~shared)


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, valid: torch.Tensor, margin: float) -> tuple[torch.Tensor, float]:
    """Semi-hard triplet loss of unit embeddings (B, d), over the anchors that have a valid negative.

    Returns: loss, share of active triplets."""
    candidates = torch.cat([anchor, positive])
    d_ap = (anchor - positive).pow(2).sum(dim=1)
    d_an = torch.cdist(anchor, candidates).pow(2)
    # an anchor with no candidate negative (tiny collections) does not count
    losses = semi_hard_triplet_losses(d_an, d_ap, valid, margin=margin)
    if len(losses) == 0:
        return (anchor * 0).sum(), 0.0
    return losses.mean(), float((losses > 0).float().mean())


def to_patches(batch: PairBatch) -> tuple[torch.Tensor, torch.Tensor]:
    return patch_batch(batch.anchors), patch_batch(batch.positives)


def train(recordings: list[np.ndarray], model_dir: Path, config: LearnConfig | None = None, *,
          resume: bool = False, progress: bool = True) -> TrainResult:
    """Train on unlabelled recordings (16 kHz mono) and write the model directory."""
    config = config or LearnConfig()
    torch.set_num_threads(config.num_threads)
    model_dir = Path(model_dir)
    torch.manual_seed(config.seed)
    model = PatchEncoder(config.model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    step = load_checkpoint(model_dir, model, optimizer) if resume else 0
    sampler = PairSampler(recordings, tuple(config.deformations))
    start, loss = time.perf_counter(), float("nan")
    bar = _progress(progress, config.steps, step)
    while step < config.steps:
        loss, active = train_step(model, optimizer, sampler, config, step)
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", active=f"{active:.2f}")
        if step % config.checkpoint_every == 0 or step == config.steps:
            save_checkpoint(model_dir, model, optimizer, step, config)
    bar.close()
    return TrainResult(step, loss, time.perf_counter() - start, model_dir)


def train_step(model: PatchEncoder, optimizer: torch.optim.Optimizer, sampler: PairSampler,
               config: LearnConfig, step: int) -> tuple[float, float]:
    """One optimisation step on the batch of `step`. Returns: loss, share of active triplets."""
    rng = np.random.default_rng([config.seed, step])
    batch = sampler.batch(config.batch_size, rng)
    anchors, positives = to_patches(batch)
    model.train()
    emb = model(torch.cat([anchors, positives]))
    loss, active = triplet_loss(emb[: len(anchors)], emb[len(anchors):], negative_mask(batch.sources), config.margin)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.detach()), active


def _progress(enabled: bool, total: int, initial: int):  # type: ignore[no-untyped-def]
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, disable=not enabled, desc="learn", unit="step")


def config_dict(config: LearnConfig, steps_done: int) -> dict:
    train = asdict(config)
    model = train.pop("model")
    return {"model": model, "train": train, "steps_done": steps_done}


def save_checkpoint(model_dir: Path, model: PatchEncoder, optimizer: torch.optim.Optimizer, step: int,
                    config: LearnConfig) -> None:
    """Write weights (safetensors), config.json and checkpoint.pt, each atomically."""
    import io

    from safetensors.torch import save
    model_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(model_dir / "model.safetensors", save(state))
    buf = io.BytesIO()
    torch.save({"model": state, "optimizer": optimizer.state_dict(), "step": step,
                "config": config_dict(config, step)}, buf)
    atomic_write_bytes(model_dir / "checkpoint.pt", buf.getvalue())
    atomic_write_bytes(model_dir / "config.json", json.dumps(config_dict(config, step), indent=1).encode())


def load_checkpoint(model_dir: Path, model: PatchEncoder, optimizer: torch.optim.Optimizer) -> int:
    """Restore weights and optimizer state from checkpoint.pt. Returns: the step reached (0 if none)."""
    path = Path(model_dir) / "checkpoint.pt"
    if not path.is_file():
        return 0
    state = torch.load(path, weights_only=True)
    model.load_state_dict(state["model"], strict=True)
    optimizer.load_state_dict(state["optimizer"])
    return int(state["step"])


def with_deformations(config: LearnConfig, deformations: tuple[str, ...]) -> LearnConfig:
    return dataclasses.replace(config, deformations=tuple(deformations))


def load_recordings(paths: list[Path], *, max_seconds: float = 120.0) -> tuple[list[np.ndarray], list[str]]:
    """Decode files for training (16 kHz mono); each contributes at most its first `max_seconds`.

    Returns: the waveforms, and one message per file that could not be read (those are skipped).
    """
    from soundseek.audio import load_audio
    from soundseek.errors import AudioError
    waves, problems = [], []
    limit = int(max_seconds * 16000)
    for path in paths:
        try:
            waves.append(load_audio(path, sr=16000)[:limit])
        except AudioError as exc:
            problems.append(f"{path}: {exc}")
    return waves, problems
