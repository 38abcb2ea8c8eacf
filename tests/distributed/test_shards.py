"""Parquet shards and the `--ray` options, without starting Ray: round trips, resume planning, messages."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from soundseek.audio import AudioInfo
from soundseek.audio.segments import Span
from soundseek.cli import main
from soundseek.distributed.ingest import cut_partitions, plan_ingest, prune_stale
from soundseek.distributed.shards import (
    encoded_to_table,
    partition_key,
    read_shard,
    shard_path,
    table_to_encoded,
    write_shard,
)
from soundseek.encoders.base import FrameEvidence, SegmentEmbeddings
from soundseek.indexer import EncodedFile
from soundseek.library.scan import FoundFile

SETTINGS = {"encoder": "yamnet", "config": {"model_dir": None, "num_threads": 1}, "max_duration": 14400.0}


def _found(path: Path, size: int = 100, mtime_ns: int = 7) -> FoundFile:
    return FoundFile(path, path.parent, size, mtime_ns)


def _encoded(path: Path, n: int, seed: int) -> EncodedFile:
    rng = np.random.default_rng(seed)
    frames = FrameEvidence(rng.random((6, 2), dtype=np.float32), rng.integers(0, 521, (6, 8)).astype(np.uint16),
                           rng.integers(0, 256, (6, 8)).astype(np.uint8), rng.integers(0, 256, 6).astype(np.uint8))
    emb = SegmentEmbeddings(rng.standard_normal((n, 1024)).astype(np.float32), rng.random((n, 521), dtype=np.float32),
                            frames)
    spans = tuple(Span(2.5 * i, 2.5 * i + 5.0) for i in range(n))
    return EncodedFile(_found(path), None, AudioInfo(44100, 2, 2.5 * n + 2.5, "FLAC"), emb, spans, 2.5 * n + 2.5, "ab" * 32)


def test_a_shard_gives_back_exactly_what_was_encoded(tmp_path: Path) -> None:
    odd = Path(os.fsdecode(b"/lib/caf\xe9.wav"))  # a name that is not UTF-8 survives too
    files = [_encoded(Path("/lib/rain.wav"), 3, 0), EncodedFile(_found(Path("/lib/bad.wav")), failure="corrupt"),
             _encoded(odd, 1, 1)]
    path = shard_path(tmp_path, partition_key(SETTINGS, [f.item for f in files]))
    write_shard(encoded_to_table(files, SETTINGS), path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    back = table_to_encoded(read_shard(path))
    assert [b.item for b in back] == [f.item for f in files]
    assert back[1].failure == "corrupt" and back[1].embeddings is None
    for want, got in ((files[0], back[0]), (files[2], back[2])):
        assert (got.info, got.spans, got.duration, got.audio_hash) == (want.info, want.spans, want.duration, want.audio_hash)
        np.testing.assert_array_equal(got.embeddings.vectors, want.embeddings.vectors)
        np.testing.assert_array_equal(got.embeddings.class_scores, want.embeddings.class_scores)
        for field in ("times", "classes", "scores", "loudness"):
            np.testing.assert_array_equal(getattr(got.embeddings.frames, field), getattr(want.embeddings.frames, field))


def test_resume_plan_reuses_only_shards_whose_files_are_unchanged(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    sources = [_found(Path(f"/lib/{i}.wav")) for i in range(6)]
    parts = cut_partitions(sources, SETTINGS, workers=1, partition_files=2)
    assert [len(p.files) for p in parts] == [2, 2, 2]
    long = [_found(Path(f"/lib/long{i}.wav"), size=100 * 2**20) for i in range(5)]  # 100 MiB each
    assert [len(p.files) for p in cut_partitions(long, SETTINGS, workers=1)] == [2, 2, 1]  # <= 256 MiB a partition
    for part in parts[:2]:  # a run that finished two partitions
        files = [EncodedFile(f, failure="x") for f in part.files]
        write_shard(encoded_to_table(files, SETTINGS), shard_path(staging, part.key))
    changed = sources[:3] + [_found(Path("/lib/3.wav"), size=101)] + sources[4:]  # 3.wav was edited since
    plan = plan_ingest(changed, staging, SETTINGS, workers=1, partition_files=2)
    assert plan.reused == [shard_path(staging, parts[0].key)]
    assert [str(f.path) for p in plan.partitions for f in p.files] == [f"/lib/{i}.wav" for i in (2, 3, 4, 5)]
    other = dict(SETTINGS, max_duration=60.0)  # other settings: nothing is reused
    assert plan_ingest(sources, staging, other, workers=1).reused == []
    removed = prune_stale(staging, {})  # files that do not exist on disk wait for nobody
    assert len(removed) == 2 and list(staging.iterdir()) == []


def test_missing_ray_names_the_extra_and_touches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without the extra looks like to `import ray`
    (tmp_path / "lib").mkdir()
    assert main(["index", str(tmp_path / "lib"), "--collection", str(tmp_path / "c"), "--ray"]) == 2
    assert "pip install 'soundseek[scale]'" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_ray_options_are_checked_before_anything_runs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "lib").mkdir()
    assert main(["index", str(tmp_path / "lib"), "--collection", str(tmp_path / "c"), "--jobs", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
    assert main(["index", "--collection", str(tmp_path / "c"), "--ray", str(tmp_path / "lib")]) == 2
    assert "put --ray after the folders" in capsys.readouterr().err
    assert main(["index", str(tmp_path / "lib"), "--collection", str(tmp_path / "c"), "--ray", "--jobs", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
