"""Data recipes, feature caching and grouped splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import chirp, noise, tone, write_wav

from soundseek.joint import data


def test_grouped_split_never_shares_a_group() -> None:
    groups = [f"g{i // 3}" for i in range(60)]
    first, second = data.grouped_split(groups, 0.2, seed=3)
    assert len(first) + len(second) == 60 and len(second) > 0
    assert not {groups[i] for i in first} & {groups[i] for i in second}
    assert len({groups[i] for i in second}) == 4  # 20% of 20 groups


def test_group_folds_and_fold_splits() -> None:
    groups = [f"g{i // 2}" for i in range(20)]
    folds = data.group_folds(groups, 5, seed=0)
    assert set(folds) == {1, 2, 3, 4, 5}
    for fold, train, test in data.fold_splits(folds):
        assert not {groups[i] for i in train} & {groups[i] for i in test}
        assert np.all(folds[test] == fold)


def test_csv_items_and_cached_features(tmp_path: Path) -> None:
    write_wav(tmp_path / "a" / "one.wav", tone(440, 2.0))
    write_wav(tmp_path / "a" / "two.wav", chirp(200, 2000, 12.0))  # 12 s -> several segments
    write_wav(tmp_path / "b.wav", noise(1.0))
    (tmp_path / "labels.csv").write_text("path,label,group\na/one.wav,church_bell,r1\na/two.wav,siren,r2\nb.wav,rain,r3\n")
    items = data.csv_items(tmp_path / "labels.csv")
    assert items.texts == ["church bell", "siren", "rain"] and items.groups == ["r1", "r2", "r3"]
    cache = tmp_path / "cache"
    labelled = data.labelled_set(items, "mfcc", cache=cache)
    assert labelled.audio.shape[1] == 120 and len(labelled) == 1 + 4 + 1
    assert labelled.texts.count("siren") == 4 and labelled.groups.count("r2") == 4
    assert len(list(cache.glob("mfcc-segments-*.npz"))) == 1
    again = data.labelled_set(items, "mfcc", cache=cache)  # served from the cache
    np.testing.assert_array_equal(again.audio, labelled.audio)
    assert labelled.vocabulary == ["church bell", "siren", "rain"]


def test_esc50_items(shared_dir: Path) -> None:
    items = data.esc50_items(shared_dir / "data" / "esc50", folds=[1], per_class=2)
    assert len(items.paths) == 100 and set(items.folds) == {1}
    assert "crackling fire" in items.texts and all(p.is_file() for p in items.paths[:3])
