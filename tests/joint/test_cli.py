"""`soundseek train` / `evaluate` end to end on generated sounds, and training from a collection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import chirp, noise, tone, write_wav

from soundseek.cli import main
from soundseek.joint.data import collection_set
from soundseek.joint.saved import load_joint_model
from soundseek.store import Collection, NewSegment, SoundRecord

KINDS = {"high beep": lambda s: tone(2000 + 50 * s, 1.0), "low hum": lambda s: tone(120 + 5 * s, 1.0),
         "white noise": lambda s: noise(1.0, seed=s), "rising sweep": lambda s: chirp(300, 3000 + 100 * s, 1.0)}


@pytest.fixture(scope="module")
def labelled_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lib")
    rows = ["path,label,group,fold"]
    for label, make in KINDS.items():
        for s in range(8):
            name = f"{label.replace(' ', '_')}_{s}.wav"
            write_wav(root / name, make(s))
            rows.append(f"{name},{label},{label}{s},{1 + s % 2}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root / "labels.csv"


def _common(csv: Path, tmp: Path) -> list[str]:
    return ["--csv", str(csv), "--audio-encoder", "mfcc", "--text-encoder", "glove", "--cache", str(tmp / "cache"),
            "--epochs", "15", "--dim", "32", "--batch-size", "16", "--val-fraction", "0.25", "--quiet"]


def test_train_then_evaluate_saved_model(labelled_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "model"
    assert main(["train", *_common(labelled_csv, tmp_path), "--folds", "1", "--out", str(out)]) == 0
    model = load_joint_model(out)
    assert model.audio_encoder_name == "mfcc" and model.text_encoder_name == "glove" and model.dim == 32
    assert sorted(model.labels) == sorted(KINDS)
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["loss"] == "nt_xent" and config["data"]["folds"] == [1]
    emb = model.embed_text(["high beep", "low hum"])
    assert emb.shape == (2, 32) and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    capsys.readouterr()
    report = tmp_path / "eval.json"
    assert main(["evaluate", *_common(labelled_csv, tmp_path), "--model", str(out), "--test-folds", "2", "--knn-k", "5",
                 "--json-out", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "| audio->audio |" in printed and "text->audio" in printed
    result = json.loads(report.read_text())
    assert result["mode"] == "saved model"
    assert result["joint"]["text->audio"]["mean"] > 0.5  # four easy classes


def test_cross_validated_evaluate(labelled_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    report = tmp_path / "cv.json"
    assert main(["evaluate", *_common(labelled_csv, tmp_path), "--knn-k", "5", "--json-out", str(report)]) == 0
    result = json.loads(report.read_text())
    assert [f["fold"] for f in result["folds"]] == [1, 2]
    assert result["baseline"]["text->audio"]["mean"] is None  # no shared space for raw features
    assert result["baseline"]["audio->audio"]["mean"] > 0.5


def test_collection_vocabulary(tmp_path: Path) -> None:
    coll = Collection.create(tmp_path / "c", audio_encoder="mfcc", encoder_config={})
    rng = np.random.default_rng(0)
    for i, text in enumerate(["dog bark", "dog bark", "rain", ""]):
        sound = SoundRecord(0, f"/lib/{i}.wav", 1, 1, 5.0, 16000, 1, "WAV", text)
        segs = [NewSegment(0.0, 5.0, rng.standard_normal(120).astype(np.float32), None, [])]
        coll.put_sound(sound, segs, space="mfcc")
    labelled = collection_set(coll)
    assert labelled.texts == ["dog bark", "dog bark", "rain"]  # the sound without words is left out
    assert labelled.audio.shape == (3, 120) and labelled.groups[0] == "/lib/0.wav"
