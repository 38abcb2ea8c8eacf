"""Integration on the real ESC-50 clips and YAMNet in ../shared: a small subset, few epochs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from soundseek.joint import data
from soundseek.joint.experiments import ExperimentSettings, run_all
from soundseek.joint.model import NetworkConfig
from soundseek.joint.report import published_summary, write_report
from soundseek.joint.runs import cross_validate, prepare, train_model
from soundseek.joint.saved import load_joint_model, save_joint_model
from soundseek.joint.train import TrainConfig

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("features")


def test_esc50_cross_validation_and_saved_model(shared_dir: Path, cache: Path, tmp_path: Path) -> None:
    items = data.esc50_items(shared_dir / "data" / "esc50", folds=[1, 2], per_class=4)
    labelled = data.labelled_set(items, "yamnet", config={"model_dir": str(shared_dir / "models")}, cache=cache)
    assert labelled.audio.shape == (400, 1024)
    prep = prepare(labelled, class_map=str(shared_dir / "models" / "yamnet_class_map.csv"))
    cfg = TrainConfig(epochs=8, seed=0)
    result = cross_validate(prep, cfg=cfg, net_cfg=NetworkConfig(dim=256), k=10)
    assert [f["fold"] for f in result["folds"]] == [1, 2]
    for fold in result["folds"]:  # the validation split and the test fold never share a recording
        assert fold["best_epoch"] >= 1
    assert result["baseline"]["audio->audio"]["mean"] > 0.3
    assert result["joint"]["text->audio"]["mean"] > 0.5
    model, _ = train_model(prep, np.flatnonzero(labelled.folds == 1), cfg=cfg, net_cfg=NetworkConfig(dim=256))
    loaded = load_joint_model(save_joint_model(model, tmp_path / "m"))
    assert loaded.audio_encoder_name == "yamnet" and len(loaded.labels) == 50
    vec = loaded.embed_audio(labelled.audio[:3])
    assert vec.shape == (3, 256)
    assert loaded.nearest_labels(loaded.embed_text(["dog"]), top=1)[0][0][0] == "dog"


def test_experiments_quick_report(shared_dir: Path, cache: Path, tmp_path: Path) -> None:
    settings = ExperimentSettings(esc50=shared_dir / "data" / "esc50", clotho=shared_dir / "data" / "clotho-sample",
                                  yamnet_dir=shared_dir / "models", cache=cache, quick=True, progress=False)
    results = run_all(settings)
    path = write_report(results, tmp_path / "report")
    text = path.read_text()
    for heading in ("Table 2", "Table 1", "Fig. 4", "Qualitative", "dimension sweep", "uniformity",
                    "Table 1 in the paper's setting", "The paper's queries beside ours", "as the CS224N report defines it"):
        assert heading in text
    assert "| bce | l2 | 0.2 | 0.612 |" in text  # the published exp(-L2) cell beside our BCE row
    assert {p.name for p in (tmp_path / "report").glob("*.png")} == {"fig4.png", "dims.png", "uniformity.png", "table2.png",
                                                                      "faithful.png"}
    saved = json.loads((tmp_path / "report" / "results.json").read_text())
    assert [row["dim"] for row in saved["dims"]] == [128, 256, 512, 1024, 2048]
    assert len(saved["table1"]) == 8
    assert len(saved["table1_faithful"]["grid"]) == 8 and len(saved["table1_faithful"]["ablations"]) == 6
    assert saved["published"]["elizalde_table1"]["bce"]["exp_l2"] == 0.612
    terminal = published_summary(results)  # what `soundseek experiments` prints
    assert "Table 1 in the paper's setting" in terminal and "| L_BCE | 0.403 | 0.447 | 0.340 | 0.612 |" in terminal
    assert "Verdicts" in terminal and "Diagnostics" not in terminal
