"""The seed papers' published numbers (`joint.published`) and their wiring into the report."""

from __future__ import annotations

import json

import pytest

from soundseek.joint import published
from soundseek.joint.evaluate import COMBINATIONS
from soundseek.joint.experiments import published_numbers
from soundseek.joint.report import table1_md, table2_md
from soundseek.joint.report_papers import cs224n_dims_md, paper_table1_cell, qualitative_papers_md


def _roundtrip() -> dict:
    """The published entry as a report rebuilt from results.json sees it (int keys become strings)."""
    return json.loads(json.dumps(published_numbers()))


def test_elizalde_tables_as_printed() -> None:
    assert published.ELIZALDE_TABLE1 == {"contrastive": {"l1": 0.320, "l2": 0.154, "exp_l1": 0.129, "exp_l2": 0.146},
                                         "bce": {"l1": 0.403, "l2": 0.447, "exp_l1": 0.340, "exp_l2": 0.612}}
    t2 = published.ELIZALDE_TABLE2
    # test audio JEs against train text JEs = our audio->text: 71.3 / 54.7; text queries: 100
    assert t2["walnet_joint"]["audio->text"] == 0.713 and t2["mfcc_joint"]["audio->text"] == 0.547
    assert t2["walnet_joint"]["text->audio"] == 1.0 and t2["walnet_joint"]["audio->audio"] == 0.749
    assert t2["walnet_baseline"]["audio->audio"] == 0.720 and t2["mfcc_baseline"]["audio->text"] == 0.024
    assert all(set(cells) == set(COMBINATIONS) for cells in t2.values())


def test_cs224n_tables_as_printed() -> None:
    assert published.CS224N_TABLE1[512]["audio->text"] == (0.209, 0.505, 0.672)
    assert sorted(published.CS224N_TABLE1) == [128, 256, 512, 1024, 2048] == sorted(published.CS224N_TABLE3)
    assert published.CS224N_TABLE3[1024]["h"] == {"text": 3.98, "audio": 4.00, "uniform": 4.13, "gaussians": 2.83}
    assert published.CS224N_TABLE4[1.00]["text->audio"] == (0.266, 0.633, 0.784)
    assert published.CS224N_TABLE2["1024 (Mei et al.)"]["text->audio"] == (0.339, 0.697, 0.826)


def test_qualitative_lists_and_differences_are_complete() -> None:
    assert set(published.ELIZALDE_QUALITATIVE) == {"gunshot", "meow", "house", "thunderstorm", "orchestra"}
    assert published.ELIZALDE_QUALITATIVE["orchestra"]["joint"][0] == "violin"
    assert set(published.DIFFERENCES) == {"table1", "table2", "fig4", "qualitative", "dims", "uniformity"}


def test_our_table1_rows_map_to_the_papers_cells() -> None:
    pub = _roundtrip()
    assert paper_table1_cell(pub, "bce", "l2") == 0.612  # our BCE is on d = exp(-L2)
    assert paper_table1_cell(pub, "contrastive", "l2") == 0.154
    assert paper_table1_cell(pub, "nt_xent", "l2") is None


def _stat(v: float | None) -> dict:
    return {"mean": v, "std": 0.0 if v is not None else None}


def test_report_tables_print_published_cells_beside_ours() -> None:
    pub = _roundtrip()
    row = {"loss": "contrastive", "similarity": "l2", "dropout": 0.2, "joint": {c: 0.5 for c in COMBINATIONS},
           "best_epoch": 3, "epochs_run": 4, "seconds": 1.0}
    text = "\n".join(table1_md({"published": pub, "table1": [row]}))
    assert "| contrastive | l2 | 0.2 | 0.154 | 0.500 |" in text and "| L_BCE | 0.403 | 0.447 | 0.340 | 0.612 |" in text
    cv = {"baseline": {c: _stat(0.4) for c in COMBINATIONS}, "joint": {c: _stat(0.6) for c in COMBINATIONS},
          "folds": [{}], "search_text_audio": {"mAP": _stat(0.5)}, "search_audio_text": {"hit@1": _stat(0.5)}}
    lines = table2_md({"published": pub, "table2": {"mfcc": cv, "yamnet": cv}})
    audio_text = next(line for line in lines if line.startswith("| audio->text |"))
    assert audio_text.split(" | ")[-1] == "0.713 |" and "0.547" in audio_text


def test_dimension_sweep_and_qualitative_sections() -> None:
    pub = _roundtrip()
    r = {"published": pub, "dims": [{"dim": 512, "esc50_text->audio": {"R@1": 0.5, "R@5": 0.9, "R@10": 1.0},
                                     "esc50_audio->text": {"R@1": 0.4, "R@5": 0.8, "R@10": 0.9}}]}
    text = "\n".join(cs224n_dims_md(r))
    assert "| 512 | 0.17 / 0.48 / 0.64 | 0.50 / 0.90 / 1.00 | 0.21 / 0.51 / 0.67 | 0.40 / 0.80 / 0.90 |" in text
    r["qualitative"] = {"text": [{"query": "meow", "text_similarity": [["cat", 0.5], ["hen", 0.4], ["dog", 0.3]],
                                  "joint_knn_audio": ["cat", "dog", "cow"]}],
                        "audio": [{"query": "orchestra-like (synthesized)", "raw_knn": ["church bells"] * 7,
                                   "joint_knn": ["siren"] * 7}]}
    text = "\n".join(qualitative_papers_md(r))
    assert "| meow | meow, fart, cough | cat, hen, dog | meow, bark, trumpet | cat, dog, cow |" in text
    assert "| orchestra-like (synthesized) | applause, cello" in text
    assert "gunshot" not in text.split("_Theirs")[0]  # no row without our results


@pytest.mark.parametrize("dim", [128, 2048])
def test_every_sweep_dimension_has_a_published_row(dim: int) -> None:
    assert str(dim) in _roundtrip()["cs224n_table1"]
