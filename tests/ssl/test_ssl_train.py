"""Mining, loss, a tiny training run on generated audio, resume, and the trained encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import chirp, noise, tone, write_wav

from soundseek.audio.segments import Span
from soundseek.encoders import AudioEncoder, build_audio_encoder
from soundseek.encoders.ssl_net import ModelConfig
from soundseek.errors import ModelError
from soundseek.ssl.train import (
    LearnConfig,
    negative_mask,
    train,
    triplet_loss,
)


def test_negative_mask_excludes_the_same_recording_and_mixture_parents() -> None:
    sources = np.array([[0, -1], [1, 2], [2, -1]])
    mask = negative_mask(sources).numpy()  # rows: anchors; cols: anchors 0..2 then positives 0..2
    assert mask.tolist() == [[False, True, True, False, True, True],
                             [True, False, False, True, False, False],
                             [True, False, False, True, False, False]]


def test_triplet_loss_on_a_hand_built_batch() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[0.8, 0.6], [0.6, 0.8]])
    valid = torch.tensor([[False, True, False, True], [True, False, True, False]])
    loss, active = triplet_loss(a, p, valid, margin=0.2)
    # anchor 0: d_ap = 0.4; negatives a1 (d=2.0) and p1 (d=0.8): semi-hard = p1 -> max(0, 0.4 - 0.8 + 0.2) = 0
    assert float(loss) == pytest.approx(0.0) and active == 0.0
    loss, active = triplet_loss(a, p, valid, margin=0.5)
    assert float(loss) == pytest.approx(0.1) and active == 1.0


def recordings() -> list[np.ndarray]:
    return [tone(330.0, 2.5), chirp(200.0, 3000.0, 2.5), noise(2.5, seed=3),
            tone(880.0, 2.0) + noise(2.0, seed=4, amp=0.05)]


TINY = LearnConfig(steps=2, batch_size=6, checkpoint_every=1, num_threads=1, model=ModelConfig(dim=16, channels=(4, 8)))


def test_tiny_training_run_writes_a_usable_encoder(tmp_path: Path) -> None:
    result = train(recordings(), tmp_path / "m", TINY, progress=False)
    assert result.steps_done == 2 and np.isfinite(result.final_loss)
    assert {p.name for p in (tmp_path / "m").iterdir()} >= {"config.json", "model.safetensors", "checkpoint.pt"}
    encoder = build_audio_encoder("ssl", {"model_dir": str(tmp_path / "m")})
    assert isinstance(encoder, AudioEncoder) and encoder.dim == 16 and encoder.normalized
    wave = chirp(300.0, 3000.0, 6.0)
    out = encoder.encode_segments(wave, [Span(0.0, 5.0), Span(1.0, 6.0), Span(0.0, 0.5)])
    assert out.vectors.shape == (3, 16) and out.class_scores is None
    np.testing.assert_allclose(np.linalg.norm(out.vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(out.vectors, encoder.encode_segments(wave, [Span(0.0, 5.0), Span(1.0, 6.0),
                                                                            Span(0.0, 0.5)]).vectors)
    short = encoder.encode_segments(tone(500.0, 0.3), [Span(0.0, 0.3)])
    assert short.vectors.shape == (1, 16)


def test_resume_continues_where_it_stopped(tmp_path: Path) -> None:
    straight = train(recordings(), tmp_path / "a", LearnConfig(**{**TINY.__dict__, "steps": 3}), progress=False)
    train(recordings(), tmp_path / "b", TINY, progress=False)
    resumed = train(recordings(), tmp_path / "b", LearnConfig(**{**TINY.__dict__, "steps": 3}), resume=True, progress=False)
    assert resumed.steps_done == 3
    assert resumed.final_loss == pytest.approx(straight.final_loss, rel=1e-4)


def test_deformations_can_be_switched_off(tmp_path: Path) -> None:
    cfg = LearnConfig(**{**TINY.__dict__, "steps": 1, "deformations": ("noise",)})
    assert train(recordings(), tmp_path / "n", cfg, progress=False).steps_done == 1


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model_dir"):
        build_audio_encoder("ssl", {})
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="soundseek learn"):
        build_audio_encoder("ssl", {"model_dir": str(tmp_path / "empty")})


def test_learn_command_trains_from_a_folder(tmp_path: Path) -> None:
    from soundseek.cli import main
    for i, wave in enumerate(recordings()):
        write_wav(tmp_path / "audio" / f"r{i}.wav", wave)
    args = ["learn", str(tmp_path / "audio"), "--out", str(tmp_path / "model"), "--steps", "1",
            "--batch-size", "4", "--dim", "8", "--threads", "1", "--no-pitch", "--quiet"]
    assert main(args) == 0
    assert (tmp_path / "model" / "model.safetensors").is_file()
    assert main(args) == 2  # refuses to overwrite without --resume


def test_encoder_config_records_an_absolute_model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from soundseek.encoders import encoder_config_dict
    train(recordings(), tmp_path / "m", LearnConfig(**{**TINY.__dict__, "steps": 1}), progress=False)
    monkeypatch.chdir(tmp_path)
    encoder = build_audio_encoder("ssl", {"model_dir": "m"})
    assert encoder_config_dict(encoder)["model_dir"] == str((tmp_path / "m").resolve())


def test_anchors_without_a_negative_are_left_out() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[0.8, 0.6], [0.6, 0.8]])
    valid = torch.tensor([[False, True, False, True], [False, False, False, False]])
    loss, active = triplet_loss(a, p, valid, margin=0.5)
    assert float(loss) == pytest.approx(0.1) and active == 1.0  # only anchor 0 counts
    loss, active = triplet_loss(a, p, torch.zeros(2, 4, dtype=torch.bool), margin=0.5)
    assert float(loss) == 0.0 and active == 0.0
