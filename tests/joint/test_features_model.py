"""Reducers, the twin network, training on synthetic features, and the saved model round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from soundseek.errors import ModelError
from soundseek.joint.features import fit_reducer, random_lift
from soundseek.joint.model import NetworkConfig
from soundseek.joint.saved import from_trained, load_joint_model, save_joint_model
from soundseek.joint.train import TrainConfig, fit_joint, label_ids, sample_negatives


def test_reducer_whitens_and_lifts() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 20)) * np.linspace(1, 10, 20)
    red = fit_reducer(x, out_dim=50, shrink=0.0)
    assert red.n_components == 20 and red.proj.shape == (20, 50)
    # whitening then an orthonormal lift: unnormalized outputs have identity covariance
    y = (x - red.mean) @ red.proj
    lift = random_lift(20, 50, seed=0)
    cov = np.cov((y @ lift.T).T)
    assert np.allclose(cov, np.eye(20), atol=1e-6)
    assert np.allclose(np.linalg.norm(red.transform(x), axis=1), 1.0, atol=1e-5)


def test_reducer_few_samples_and_bad_input() -> None:
    x = np.random.default_rng(1).standard_normal((5, 40))
    red = fit_reducer(x, out_dim=30)
    assert red.n_components == 4  # n - 1 directions only
    with pytest.raises(ModelError):
        red.transform(np.zeros((2, 39)))


def test_sample_negatives_differ() -> None:
    labels = np.array([0, 0, 1, 1, 2])
    neg = sample_negatives(labels, np.random.default_rng(0))
    assert np.all(labels[neg] != labels)


def _toy(n_per: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[str]]:
    """Three classes: audio = noisy class centres in 16-d; text = class one-hots in 8-d."""
    rng = np.random.default_rng(seed)
    names = ["bell", "rain", "dog"]
    centres = rng.standard_normal((3, 16)) * 3
    cls = np.repeat(np.arange(3), n_per)
    audio = centres[cls] + 0.3 * rng.standard_normal((len(cls), 16))
    text = np.eye(8)[cls]
    texts = [names[c] for c in cls]
    groups = [f"rec{i // 2}" for i in range(len(cls))]
    return audio.astype(np.float32), text.astype(np.float32), cls, texts, groups


@pytest.mark.parametrize("loss", ["bce", "contrastive", "nt_xent", "triplet"])
def test_training_separates_toy_classes(loss: str) -> None:
    audio, text, cls, texts, groups = _toy()
    cfg = TrainConfig(loss=loss, epochs=40, batch_size=32, patience=40, lr=3e-3, seed=0)
    net = NetworkConfig(in_dim=12, hidden=(32,), dim=8, dropout=0.0)
    trained = fit_joint(audio, text, label_ids(texts), groups, cfg=cfg, net_cfg=net)
    assert trained.best_val >= 0.9
    model = from_trained(trained, audio_encoder="mfcc", text_encoder="glove", labels=["bell", "rain", "dog"],
                         label_features=np.eye(8)[:3].astype(np.float32))
    nearest = [row[0][0] for row in model.nearest_labels(model.embed_audio(audio))]
    assert np.mean(np.asarray(nearest) == np.asarray(texts)) > 0.9


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    audio, text, cls, texts, groups = _toy()
    cfg = TrainConfig(loss="nt_xent", epochs=3, batch_size=32, seed=0)
    for shared in (True, False):
        net = NetworkConfig(in_dim=12, hidden=(16, 16), dim=6, dropout=0.5, shared=shared)
        trained = fit_joint(audio, text, label_ids(texts), groups, cfg=cfg, net_cfg=net)
        model = from_trained(trained, audio_encoder="mfcc", text_encoder="glove", labels=["bell", "rain", "dog"],
                             label_features=np.eye(8)[:3].astype(np.float32), config={"train": cfg.to_dict()})
        folder = save_joint_model(model, tmp_path / f"m{shared}")
        assert {p.name for p in folder.iterdir()} == {"config.json", "model.safetensors", "features.safetensors"}
        loaded = load_joint_model(folder)
        assert loaded.audio_encoder_name == "mfcc" and loaded.text_encoder_name == "glove" and loaded.dim == 6
        assert loaded.labels == ["bell", "rain", "dog"] and loaded.net.cfg.shared is shared
        assert len(loaded.fingerprint) == 40 and loaded.fingerprint == load_joint_model(folder).fingerprint
        np.testing.assert_allclose(loaded.embed_audio(audio[:5]), model.embed_audio(audio[:5]), atol=1e-6)
        np.testing.assert_allclose(loaded.label_vectors, model.label_vectors, atol=1e-6)
        assert np.allclose(np.linalg.norm(loaded.embed_audio(audio[:5]), axis=1), 1.0, atol=1e-5)


def test_load_rejects_other_folders(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        load_joint_model(tmp_path)
    (tmp_path / "config.json").write_text('{"format": "other"}')
    with pytest.raises(ModelError):
        load_joint_model(tmp_path)
