"""A trained joint model attached to a collection: text -> audio, audio -> audio and audio -> text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import chirp, noise, tone, write_wav

from soundseek.cli import main
from soundseek.search.describe import describe
from soundseek.search.engine import open_engine

KINDS = {"high beep": lambda s: tone(2000 + 50 * s, 1.0), "low hum": lambda s: tone(120 + 5 * s, 1.0),
         "white noise": lambda s: noise(1.0, seed=s), "rising sweep": lambda s: chirp(300, 3000 + 100 * s, 1.0)}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("joint")
    rows, label_of = ["path,label,group,fold"], {}
    for k, (label, make) in enumerate(KINDS.items()):
        for s in range(8):
            name = f"clip{k}{s}.wav"  # names carry no words: only the model knows what they are
            write_wav(root / "lib" / name, make(s))
            rows.append(f"lib/{name},{label},{label}{s},{1 + s % 2}")
            label_of[name] = label
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    model = root / "model"
    assert main(["train", "--csv", str(root / "labels.csv"), "--audio-encoder", "mfcc", "--text-encoder", "glove",
                 "--cache", str(root / "cache"), "--epochs", "15", "--dim", "32", "--batch-size", "16",
                 "--val-fraction", "0.25", "--quiet", "--out", str(model)]) == 0
    coll = root / "coll"
    assert main(["index", str(root / "lib"), "--collection", str(coll), "--encoder", "mfcc", "--model", str(model), "--quiet"]) == 0
    return coll, root / "lib", label_of


def test_text_search_uses_the_attached_model(trained, capsys):
    coll, _, label_of = trained
    capsys.readouterr()
    assert main(["search", "low hum", "--collection", str(coll), "--top", "4", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [label_of[Path(h["path"]).name] for h in hits].count("low hum") >= 3


def test_audio_search_and_describe_in_the_joint_space(trained):
    coll, lib, label_of = trained
    engine = open_engine(coll)
    assert engine.joint_index is not None
    query = lib / "clip00.wav"
    hits = engine.search_audio(query, top=3)
    assert [label_of[Path(h.path).name] for h in hits].count("high beep") >= 2
    joint = [s for s in describe(engine, query, top=3) if s.source == "joint"]
    assert joint and joint[0].text == "high beep"


def test_model_for_other_features_is_refused(trained, tmp_path, capsys):
    _, lib, _ = trained
    other = tmp_path / "c2"
    write_wav(tmp_path / "lib2" / "a.wav", tone(500, 1.0))
    assert main(["index", str(tmp_path / "lib2"), "--collection", str(other), "--encoder", "mfcc", "--quiet"]) == 0
    assert main(["search", "beep", "--collection", str(other), "--model", str(tmp_path / "missing")]) == 2
    assert "error" in capsys.readouterr().err
