"""`soundseek index --jobs N`: worker processes decode and embed, the main process writes. Generated audio
and the MFCC encoder (YAMNet on a few ESC-50 clips where the shared data is present). The collection
must hold exactly what an in-process run stores; a file that kills its worker costs that file only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from collection_snapshot import assert_same_collection, make_library, plain_index, snapshot
from conftest import tone, write_wav

from soundseek import jobs
from soundseek.cli import main
from soundseek.indexer import EncodedFile, encode_found, index_paths, open_for_indexing
from soundseek.jobs import ProcessIndexer, check_jobs, death_reason
from soundseek.library.scan import FoundFile
from soundseek.store import Collection

SRC = Path(__file__).resolve().parents[1] / "src"


def encode_or_die(item: FoundFile, encoder, *, max_duration: float):  # type: ignore[no-untyped-def]
    """The test seam of `ProcessIndexer(encode=...)`: a worker handed a file whose name holds `segv_`
    or `oom_` dies of SIGSEGV or SIGKILL (what a crashing decoder or the OOM killer do to it)."""
    name = item.path.name
    if "segv_" in name:
        os.kill(os.getpid(), signal.SIGSEGV)
    if "oom_" in name:
        os.kill(os.getpid(), signal.SIGKILL)
    return encode_found(item, encoder, max_duration=max_duration)


def ids(coll_dir: Path) -> list[tuple[int, str, list[int]]]:
    """(sound id, path, segment ids) of every sound: results are committed in scan order, so the ids
    are those of an in-process run too."""
    coll = Collection.open(coll_dir)
    out = [(s.id, s.path, list(coll.segment_ids_of_sound(s.id))) for s in coll.sounds(limit=1000)]
    coll.close()
    return out


def jobs_index(lib: Path, coll_dir: Path, jobs: int, **kwargs):  # type: ignore[no-untyped-def]
    coll, enc = open_for_indexing(coll_dir, "mfcc", None, say=lambda m: None)
    indexer = ProcessIndexer(jobs, **kwargs)
    report = index_paths(coll, [lib], enc, quiet=True, index_todo=indexer)
    coll.close()
    return report, indexer.stats


@pytest.mark.parametrize("jobs", [1, 2])
def test_workers_store_what_an_in_process_run_stores(tmp_path: Path, jobs: int) -> None:
    lib = make_library(tmp_path / "lib")
    plain = plain_index(lib, tmp_path / "plain")
    report, stats = jobs_index(lib, tmp_path / "jobs", jobs)
    assert (report.added, len(report.failed)) == (10, 2)
    assert {os.path.basename(p) for p, _ in report.failed} == {"silent.wav", "broken.flac"}
    assert (stats.workers, stats.deaths) == (jobs, 0)
    assert_same_collection(plain, snapshot(tmp_path / "jobs"))
    assert ids(tmp_path / "jobs") == ids(tmp_path / "plain")
    report, stats = jobs_index(lib, tmp_path / "jobs", jobs)  # the failed files are tried again, alone
    assert (report.added, report.unchanged, len(report.failed), stats.workers) == (0, 10, 2, min(jobs, 2))
    for name in ("silent.wav", "broken.flac"):
        (lib / name).unlink()
    report, stats = jobs_index(lib, tmp_path / "jobs", jobs)  # nothing to do: no worker is started
    assert (report.added, report.unchanged, report.failed, stats.workers) == (0, 10, [], 0)


def test_a_file_that_kills_its_worker_is_skipped_with_the_reason(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib")
    plain = plain_index(lib, tmp_path / "plain")
    (lib / "engines" / "s00.wav").rename(lib / "engines" / "segv_s00.wav")
    (lib / "birds" / "s05.wav").rename(lib / "birds" / "oom_s05.wav")
    report, stats = jobs_index(lib, tmp_path / "jobs", 2, encode=encode_or_die)
    reasons = {os.path.basename(p): why for p, why in report.failed}
    assert report.added == 8 and stats.deaths == 2
    assert 2 <= stats.workers <= 4  # a new worker for a dead one when files are still queued
    assert "died (SIGSEGV: a crash in a decoder" in reasons["segv_s00.wav"]
    assert "died (SIGKILL: killed from outside: most often the system ran out of memory" in reasons["oom_s05.wav"]
    got = snapshot(tmp_path / "jobs")
    assert {os.path.basename(p) for p, _ in got["failures"]} == {"silent.wav", "broken.flac", "segv_s00.wav",
                                                                   "oom_s05.wav"}
    survivors = {p: s for p, s in plain["sounds"].items() if not p.endswith(("/s00.wav", "/s05.wav"))}
    assert_same_collection({"failures": got["failures"], "sounds": survivors}, got)


def test_results_held_back_are_bounded_and_never_block_the_file_they_wait_for(tmp_path: Path, monkeypatch) -> None:
    """With no room for results that come back early, only the file they wait for is handed out (and
    after a worker dies its files go back in scan order): the run ends, with the same collection."""
    monkeypatch.setattr(jobs, "HELD_BYTES", 0)
    lib = make_library(tmp_path / "lib")
    plain = plain_index(lib, tmp_path / "plain")
    (lib / "engines" / "s02.wav").rename(lib / "engines" / "a_segv_s02.wav")  # early in scan order
    report, stats = jobs_index(lib, tmp_path / "jobs", 2, encode=encode_or_die)
    assert (report.added, len(report.failed), stats.deaths, stats.workers) == (9, 3, 1, 3)  # one replaced
    got = snapshot(tmp_path / "jobs")
    assert_same_collection({"failures": got["failures"],
                            "sounds": {p: s for p, s in plain["sounds"].items() if not p.endswith("/s02.wav")}}, got)


def test_long_files_go_to_idle_workers_first(tmp_path: Path, monkeypatch) -> None:
    """Two workers, two files: each worker gets one (none queued behind a long one on a busy worker)."""
    monkeypatch.setattr(jobs, "PREFETCH_BYTES", 0)
    lib = tmp_path / "lib"
    for i in range(3):
        write_wav(lib / f"take{i}.wav", tone(300.0 + 100 * i, 2.0))
    sent: list[int] = []
    real = jobs._Pool._feed

    def feed(self, w, depth):  # type: ignore[no-untyped-def]
        before = len(w.pending)
        real(self, w, depth)
        sent.extend([depth] * (len(w.pending) - before))

    monkeypatch.setattr(jobs._Pool, "_feed", feed)
    report, stats = jobs_index(lib, tmp_path / "c", 2)
    assert report.added == 3 and stats.workers == 2
    assert sent == [1, 1, 1]  # never a second file on a worker: all three count as long here


def test_scan_order_holds_early_results() -> None:
    order = jobs._ScanOrder()
    item = FoundFile(Path("/x.wav"), Path("/"), 1, 1)
    assert list(order.release(1, EncodedFile(item, failure="b"))) == []  # waits for 0
    assert order.may_send(0) and order.may_send(2)
    assert [d.failure for d in order.release(0, EncodedFile(item, failure="a"))] == ["a", "b"]
    assert order.next == 2 and order.held == {}


def test_jobs_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "lib").mkdir()
    for bad in ("0", "-3"):
        assert main(["index", str(tmp_path / "lib"), "--collection", str(tmp_path / "c"), "--jobs", bad]) == 2
        assert f"at least 1 (got {bad})" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
    assert check_jobs(None) >= 1 and check_jobs(3) == 3


def test_death_reasons_name_the_signal_or_the_exit_code() -> None:
    assert "SIGBUS" in death_reason(-signal.SIGBUS)
    assert "died (exit code 3)" in death_reason(3)


def test_cli_reports_the_workers(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib")
    out = subprocess.run(
        [sys.executable, "-m", "soundseek.cli", "index", str(lib), "--collection", str(tmp_path / "c"),
         "--encoder", "mfcc", "--no-learn", "--jobs", "2"],
        capture_output=True, text=True, timeout=240, env=os.environ | {"PYTHONPATH": str(SRC)})
    assert out.returncode == 0, out.stderr
    assert "added 10, updated 0, unchanged 0, removed 0, moved 0, failed 2" in out.stdout
    assert "indexing in 2 process(es)" in out.stderr and "audio s/s" in out.stderr


@pytest.mark.shared
def test_yamnet_workers_store_the_same_vectors_and_tags(tmp_path: Path, shared_dir: Path, yamnet_dir: Path) -> None:
    clips = sorted((shared_dir / "data" / "esc50" / "audio").glob("*.flac"))[:8]
    lib = tmp_path / "lib"
    lib.mkdir()
    for clip in clips:
        os.symlink(clip, lib / clip.name)
    config = {"model_dir": str(yamnet_dir)}
    snaps = []
    for name, todo in (("plain", None), ("jobs", ProcessIndexer(2))):
        coll, enc = open_for_indexing(tmp_path / name, "yamnet", config, say=lambda m: None)
        assert index_paths(coll, [lib], enc, quiet=True, index_todo=todo).added == len(clips)
        coll.close()
        snaps.append(snapshot(tmp_path / name))
    assert any(s["tags"][0] for s in snaps[0]["sounds"].values())
    assert_same_collection(*snaps)
