"""A trained joint model on disk, and the object the search engine uses.

Model directory layout:

    config.json          {"format": "soundseek-joint", "version": 1, "audio_encoder", "audio_encoder_config",
                          "text_encoder", "text_encoder_config", "network": NetworkConfig, "train":
                          TrainConfig, "labels": [the training vocabulary], "data": {...}, "metrics": {...}}
    model.safetensors    the twin network's weights (a shared network stores its one tower once)
    features.safetensors the reducers' state (audio.mean, audio.proj, text.mean, text.proj, *.n_components)
                         and labels.joint: (n_labels, D) joint embeddings of the training vocabulary

`load_joint_model(dir)` rebuilds it without retraining; nothing is downloaded (the text encoder is
built from the registry, lazily, on the first `embed_text`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from soundseek.encoders.base import l2_normalize
from soundseek.errors import ModelError
from soundseek.joint.features import Reducer

FORMAT = "soundseek-joint"
VERSION = 1


@dataclass
class JointModel:
    """A trained joint space: audio-encoder vectors and texts in, unit vectors of `dim` out.

    Attributes:
        audio_encoder_name: the audio encoder whose vectors `embed_audio` expects ("yamnet", "mfcc").
        text_encoder_name: the text encoder `embed_text` runs ("minilm", "glove").
        labels: the training vocabulary; `label_vectors` (n_labels, dim) their joint embeddings.
    """

    net: Any
    audio_reducer: Reducer
    text_reducer: Reducer
    audio_encoder_name: str
    text_encoder_name: str
    labels: list[str]
    label_vectors: np.ndarray
    config: dict[str, Any] = field(default_factory=dict)
    text_encoder_config: dict[str, Any] = field(default_factory=dict)
    #: sha1 of the saved weight and feature files ("" for a model not loaded from disk): a stable
    #: name for the space a collection stores this model's vectors in.
    fingerprint: str = ""
    _text_encoder: Any = None

    @property
    def dim(self) -> int:
        return int(self.net.cfg.dim)

    @property
    def audio_dim(self) -> int:
        """Dimension of the audio-encoder vectors `embed_audio` takes."""
        return self.audio_reducer.in_dim

    def embed_audio(self, x: np.ndarray) -> np.ndarray:
        """x: (n, audio_dim) audio-encoder vectors. Returns: (n, dim) float32, L2-normalized."""
        return self._run(self.net.embed_audio, self.audio_reducer.transform(np.atleast_2d(x)))

    def embed_text_features(self, x: np.ndarray) -> np.ndarray:
        """x: (n, d_text) raw text-encoder vectors. Returns: (n, dim) float32, L2-normalized."""
        return self._run(self.net.embed_text, self.text_reducer.transform(np.atleast_2d(x)))

    def embed_text(self, texts: list[str]) -> np.ndarray:
        """Returns: (len(texts), dim) float32, L2-normalized."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return self.embed_text_features(self.text_encoder().encode_text(list(texts)))

    def text_encoder(self) -> Any:
        """The text encoder (built on first use from the registry; no download)."""
        if self._text_encoder is None:
            from soundseek.encoders import build_text_encoder
            self._text_encoder = build_text_encoder(self.text_encoder_name, self.text_encoder_config)
        return self._text_encoder

    def nearest_labels(self, vectors: np.ndarray, *, top: int = 5) -> list[list[tuple[str, float]]]:
        """For each joint vector (n, dim), the `top` training labels by cosine: [[(label, score)]]."""
        sim = np.atleast_2d(vectors) @ self.label_vectors.T
        order = np.argsort(-sim, axis=1, kind="stable")[:, :top]
        return [[(self.labels[j], float(sim[i, j])) for j in row] for i, row in enumerate(order)]

    def _run(self, fn: Callable, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return l2_normalize(fn(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy())


def from_trained(trained: Any, *, audio_encoder: str, text_encoder: str, labels: list[str], label_features: np.ndarray,
                 text_encoder_config: dict | None = None, config: dict | None = None,
                 text_encoder_obj: Any = None) -> JointModel:
    """A JointModel from a `train.TrainedJoint` in memory; `label_features` (n_labels, d_text) raw;
    `text_encoder_obj` an already built text encoder named `text_encoder` (else built on first use)."""
    model = JointModel(trained.net, trained.audio_reducer, trained.text_reducer, audio_encoder, text_encoder,
                       list(labels), np.zeros((0, trained.net.cfg.dim), np.float32), dict(config or {}),
                       dict(text_encoder_config or {}), _text_encoder=text_encoder_obj)
    model.label_vectors = model.embed_text_features(label_features) if len(labels) else model.label_vectors
    return model


def save_joint_model(model: JointModel, directory: Path | str) -> Path:
    """Write the model directory (see the module docstring). Returns: the directory."""
    from safetensors.numpy import save_file
    from safetensors.torch import save_file as save_torch

    from soundseek.joint.model import state_for_saving

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    config = {**model.config, "format": FORMAT, "version": VERSION, "audio_encoder": model.audio_encoder_name,
              "text_encoder": model.text_encoder_name, "text_encoder_config": model.text_encoder_config,
              "network": model.net.cfg.to_dict(), "labels": model.labels}
    save_torch(state_for_saving(model.net), str(out / "model.safetensors"))
    arrays = {**model.audio_reducer.state("audio"), **model.text_reducer.state("text"),
              "labels.joint": np.ascontiguousarray(model.label_vectors, dtype=np.float32)}
    save_file(arrays, str(out / "features.safetensors"))
    (out / "config.json").write_text(json.dumps(config, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def load_joint_model(directory: Path | str) -> JointModel:
    """Load a model directory written by `save_joint_model` (strict: every weight must match)."""
    from safetensors.numpy import load_file
    from safetensors.torch import load_file as load_torch

    from soundseek.joint.model import NetworkConfig, TwinNetwork, load_weights

    folder = Path(directory)
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"not a joint model directory: {folder} ({exc})") from exc
    if config.get("format") != FORMAT or int(config.get("version", 0)) > VERSION:
        raise ModelError(f"{folder}: not a soundseek joint model (format {config.get('format')!r}, version {config.get('version')})")
    net = TwinNetwork(NetworkConfig.from_dict(config["network"]))
    try:
        load_weights(net, load_torch(str(folder / "model.safetensors")))
        arrays = load_file(str(folder / "features.safetensors"))
    except (OSError, RuntimeError) as exc:
        raise ModelError(f"{folder}: cannot load the weights ({exc})") from exc
    net.eval()
    return JointModel(net, Reducer.from_state(arrays, "audio"), Reducer.from_state(arrays, "text"),
                      config["audio_encoder"], config["text_encoder"], list(config.get("labels", [])),
                      arrays["labels.joint"], config, dict(config.get("text_encoder_config") or {}),
                      _fingerprint(folder))


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha1()
    for name in ("model.safetensors", "features.safetensors"):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()
