"""The leave-one-source-out protocol by hand, and an ESC-50 integration run on a small subset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from soundseek.encoders import build_audio_encoder
from soundseek.encoders.ssl_net import ModelConfig
from soundseek.ssl import evaluate
from soundseek.ssl.train import LearnConfig, train


def test_leave_source_out_by_hand() -> None:
    # one-hot "embeddings": clip 0 and 1 share a source (never each other's results)
    vectors = np.array([[1, 0, 0], [1, 0, 0], [0.8, 0.6, 0], [0, 1, 0]], dtype=np.float32)
    labels, sources = ["dog", "dog", "dog", "rain"], ["s1", "s1", "s2", "s3"]
    report = evaluate.leave_source_out_report(vectors, labels, sources, ks=(1, 2))
    # q0: ranking [2 (dog), 3 (rain)] -> AP 1, P@1 1, P@2 .5 ; q1 same ; q2: [0, 1, 3] -> AP 1, P@2 1
    # q3: [2 (dog), 0, 1] -> no relevant item -> AP 0, P@1 0, P@2 0
    assert report["mAP"] == pytest.approx(3 / 4)
    assert report["P@1"] == pytest.approx(3 / 4)
    assert report["P@2"] == pytest.approx((0.5 + 0.5 + 1 + 0) / 4)


@pytest.mark.shared
def test_esc50_subset_ssl_vs_mfcc(shared_dir: Path, tmp_path: Path) -> None:
    clips = evaluate.load_esc50(shared_dir / "data" / "esc50", folds=[1], per_class=2)
    assert len(clips.names) == 100 and len(set(clips.labels)) == 50
    config = LearnConfig(steps=2, batch_size=8, num_threads=1, model=ModelConfig(dim=32))
    train(clips.waveforms, tmp_path / "ssl", config, progress=False)
    reports = evaluate.baseline_reports(clips, {
        "mfcc": lambda: build_audio_encoder("mfcc"),
        "ssl": lambda: build_audio_encoder("ssl", {"model_dir": str(tmp_path / "ssl")}),
    })
    for report in reports.values():
        assert set(report) == {"mAP", "P@1", "P@5", "P@10"}
        assert 0.0 < report["mAP"] <= 1.0
    table = evaluate.markdown_table(reports)
    assert "| mfcc |" in table and "| ssl |" in table
