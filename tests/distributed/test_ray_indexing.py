"""`soundseek index --ray`: real Ray (a local instance, and a two-node cluster on 127.0.0.1), generated
audio, the MFCC encoder. The collection must hold exactly what a plain run stores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from collection_snapshot import assert_same_collection, make_library, plain_index, snapshot

from soundseek.audio import DEFAULT_MAX_DURATION
from soundseek.encoders import encoder_config_dict
from soundseek.indexer import index_paths, open_for_indexing
from soundseek.library.scan import scan

if os.environ.get("CI") == "true":
    import ray  # noqa: F401  (CI installs the 'scale' extra: a missing Ray fails here, with its reason)
else:
    pytest.importorskip("ray", reason="the 'scale' extra (Ray) is not installed")

from soundseek.distributed import RayIndexer, RayOptions, encoder_settings, ingest, ray_session  # noqa: E402
from soundseek.distributed.shards import staging_dir  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "src"


def test_local_ray_instance_stores_what_a_plain_run_stores(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib")
    plain = plain_index(lib, tmp_path / "plain")
    coll, enc = open_for_indexing(tmp_path / "ray", "mfcc", None, say=lambda m: None)
    indexer = RayIndexer(RayOptions(workers=2, partition_files=3))
    report = index_paths(coll, [lib], enc, quiet=True, index_todo=indexer)
    assert (report.added, len(report.failed)) == (10, 2)
    assert {os.path.basename(p) for p, _ in report.failed} == {"silent.wav", "broken.flac"}
    assert (indexer.stats.partitions, indexer.stats.computed, indexer.stats.reused) == (4, 4, 0)  # 12 files / 3
    assert list(staging_dir(coll.root).iterdir()) == []  # every shard loaded, then deleted
    assert_same_collection(plain, snapshot(tmp_path / "ray"))
    for name in ("silent.wav", "broken.flac"):  # (failed files are retried by every run, as in a plain run)
        (lib / name).unlink()
    again = RayIndexer(RayOptions(workers=2))
    report = index_paths(coll, [lib], enc, quiet=True, index_todo=again)
    assert (report.added, report.unchanged, again.stats.partitions) == (0, 10, 0)  # nothing to do: no Ray
    assert coll.failures() == []


def test_a_stopped_run_resumes_by_partition(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib")
    plain = plain_index(lib, tmp_path / "plain")
    coll, enc = open_for_indexing(tmp_path / "ray", "mfcc", None, say=lambda m: None)
    settings = encoder_settings(enc.name, encoder_config_dict(enc), DEFAULT_MAX_DURATION)
    staging = staging_dir(coll.root)
    with ray_session(RayOptions(workers=1)) as workers:  # a run stopped after 2 of its 6 partitions
        shards = ingest(list(scan([lib.absolute()])), staging, settings, workers=workers, partition_files=2)
        first = [next(shards), next(shards)]
        shards.close()
    assert sorted(p.name for p in staging.glob("part-*.parquet")) == sorted(s.path.name for s in first)
    indexer = RayIndexer(RayOptions(workers=1, partition_files=2))
    report = index_paths(coll, [lib], enc, quiet=True, index_todo=indexer)
    assert (indexer.stats.partitions, indexer.stats.reused, indexer.stats.computed) == (6, 2, 4)
    assert not set(indexer.stats.computed_shards) & {str(s.path) for s in first}
    assert (report.added, len(report.failed)) == (10, 2)
    assert list(staging.iterdir()) == []
    assert_same_collection(plain, snapshot(tmp_path / "ray"))


def test_cluster_by_address_through_the_cli(tmp_path: Path, ray_cluster: str) -> None:
    lib = make_library(tmp_path / "lib")
    plain = plain_index(lib, tmp_path / "plain")
    out = subprocess.run(
        [sys.executable, "-m", "soundseek.cli", "index", str(lib), "--collection", str(tmp_path / "ray"),
         "--encoder", "mfcc", "--no-learn", "--quiet", "--jobs", "2", f"--ray={ray_cluster}"],
        capture_output=True, text=True, timeout=240, env=os.environ | {"PYTHONPATH": str(SRC)})
    assert out.returncode == 0, out.stderr
    assert "added 10, updated 0, unchanged 0, removed 0, moved 0, failed 2" in out.stdout
    assert "6 partitions on 2 worker(s): 6 computed, 0 reused" in out.stdout  # 12 files, 2 workers: 2 a partition
    assert_same_collection(plain, snapshot(tmp_path / "ray"))
