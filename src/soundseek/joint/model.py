"""The twin network: an MLP base 300 -> 1024 -> 512 -> 512 -> D (ReLU, dropout 0.5), shared by the
audio and the text branch as in Elizalde et al. (2019), or one tower per modality (`shared=False`).

The output is L2-normalized, so every similarity the losses use lives on the unit sphere and the
embeddings a loaded model returns are directly comparable by cosine.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class NetworkConfig:
    """Shape of the twin network.

    Attributes:
        in_dim: input size of each branch (the reduced features).
        hidden: hidden layer sizes.
        dim: output (joint space) dimension D.
        dropout: dropout after each hidden ReLU (the paper's 0.5 trains far worse on ESC-50 with the
            default recipe; see docs/joint.md).
        shared: one set of weights for both modalities (the paper's twin); False = separate towers.
    """

    in_dim: int = 300
    hidden: tuple[int, ...] = (1024, 512, 512)
    dim: int = 1024
    dropout: float = 0.2
    shared: bool = True

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["hidden"] = list(self.hidden)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NetworkConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if "hidden" in kwargs:
            kwargs["hidden"] = tuple(int(h) for h in kwargs["hidden"])
        return cls(**kwargs)


def mlp(cfg: NetworkConfig) -> nn.Sequential:
    """One tower: Linear + ReLU + Dropout per hidden layer, then a Linear to `dim`."""
    layers: list[nn.Module] = []
    size = cfg.in_dim
    for width in cfg.hidden:
        layers += [nn.Linear(size, width), nn.ReLU(), nn.Dropout(cfg.dropout)]
        size = width
    layers.append(nn.Linear(size, cfg.dim))
    return nn.Sequential(*layers)


class TwinNetwork(nn.Module):
    """Maps reduced audio and text features into the joint space (L2-normalized outputs)."""

    def __init__(self, cfg: NetworkConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.audio_tower = mlp(cfg)
        self.text_tower = self.audio_tower if cfg.shared else mlp(cfg)

    def embed_audio(self, x: torch.Tensor) -> torch.Tensor:
        """x: (n, in_dim) -> (n, dim) unit rows."""
        return nn.functional.normalize(self.audio_tower(x), dim=-1)

    def embed_text(self, x: torch.Tensor) -> torch.Tensor:
        """x: (n, in_dim) -> (n, dim) unit rows."""
        return nn.functional.normalize(self.text_tower(x), dim=-1)

    def forward(self, audio: torch.Tensor, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.embed_audio(audio), self.embed_text(text)


def state_for_saving(net: TwinNetwork) -> dict[str, torch.Tensor]:
    """Weights without the duplicate text tower of a shared network (safetensors refuses aliases)."""
    state = net.state_dict()
    if net.cfg.shared:
        state = {k: v for k, v in state.items() if not k.startswith("text_tower.")}
    return {k: v.detach().contiguous().clone() for k, v in state.items()}


def load_weights(net: TwinNetwork, state: dict[str, torch.Tensor]) -> None:
    """Load saved weights strictly (a shared network's text tower is the audio tower)."""
    if net.cfg.shared:
        state = {**state, **{"text_tower." + k[len("audio_tower."):]: v for k, v in state.items()
                             if k.startswith("audio_tower.")}}
    net.load_state_dict(state, strict=True)


__all__ = ["NetworkConfig", "TwinNetwork", "mlp", "state_for_saving", "load_weights"]
