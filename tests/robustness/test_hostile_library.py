"""A regression corpus of odd and hostile inputs, generated here, indexed beside good clips.

Each case asserts the reason reported for it and that every good file beside it is indexed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import noise, tone, write_wav

from robustness.corpus import UNICODE_NAMES, write_ffmpeg_cases, write_hostile, write_must_index

from soundseek.indexer import index_paths, open_for_indexing
from soundseek.library.scan import scan
from soundseek.store import Collection
from soundseek.store.lock import CollectionBusy

GOOD = 4


def _good(folder: Path) -> list[Path]:
    return [write_wav(folder / f"good_{i}.wav", tone(300.0 + 100 * i, 1.5) + noise(1.5, amp=0.02, seed=i)) for i in range(GOOD)]


@pytest.fixture
def deep_tree():  # type: ignore[no-untyped-def]
    """make(top, levels) -> top/d/d/.../d, made one level at a time (os.makedirs recurses), and removed
    bottom-up afterwards (pytest's own cleanup, shutil.rmtree, recurses too)."""
    made: list[tuple[Path, Path]] = []

    def make(top: Path, levels: int) -> Path:
        top.mkdir(parents=True, exist_ok=True)
        bottom = top
        for _ in range(levels):
            bottom = bottom / "d"
            bottom.mkdir()
        made.append((top, bottom))
        return bottom

    yield make
    for top, bottom in made:
        while bottom != top:
            for entry in bottom.iterdir():
                if not entry.is_dir():
                    entry.unlink()
            bottom.rmdir()
            bottom = bottom.parent


def test_hostile_files_fail_one_by_one_and_the_good_ones_are_indexed(tmp_path):
    lib = tmp_path / "lib"
    good = _good(lib)
    expect = write_hostile(lib / "odd")
    must = write_must_index(lib / "ok")  # 8/24/32-bit PCM, 96 kHz 6 channels, unicode names, cut halfway
    ffmpeg_fails, ffmpeg_good = write_ffmpeg_cases(lib / "ffmpeg")  # M4A, option/URL-like names, a lying header
    expect.update(ffmpeg_fails)
    must.update(ffmpeg_good)
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    report = index_paths(coll, [lib], enc, quiet=True)
    reasons = {Path(p).name: r for p, r in report.failed}
    for name, phrase in expect.items():
        assert phrase in reasons.get(name, ""), (name, reasons.get(name))
    assert "broken link" in reasons["dangling.wav"]
    assert set(reasons) == set(expect) | {"dangling.wav"}
    durations = {Path(s.path).name: s.duration for s in coll.sounds(limit=100)}
    assert set(durations) == {p.name for p in good} | set(must)
    for name, (least, most) in must.items():
        assert least - 0.01 <= durations[name] <= most + 0.01, (name, durations[name])
    assert all(str(tmp_path) not in r.replace(str(lib), "") for r in reasons.values())  # no paths in reasons


def test_unicode_names_are_stored_and_found_as_written(tmp_path):
    lib = tmp_path / "lib"
    write_must_index(lib)
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    index_paths(coll, [lib], enc, quiet=True)
    stored = {Path(s.path).name for s in coll.sounds(limit=100)}
    assert set(UNICODE_NAMES) <= stored  # NFC and NFD spellings of one word: two files, both kept
    assert unicodedata.normalize("NFC", UNICODE_NAMES[3]) == unicodedata.normalize("NFC", UNICODE_NAMES[2])[:3] + " NFD.flac"
    report = index_paths(coll, [lib], enc, quiet=True)  # nothing re-indexed: the names round-trip
    assert (report.added, report.updated, report.unchanged) == (0, 0, len(stored))


def test_a_name_that_is_not_utf8_is_a_failure_not_a_crash(tmp_path):
    lib = tmp_path / "lib"
    good = _good(lib)
    sf.write(bytes(lib) + b"/\xe9t\xe9.wav", tone(440.0, 1.0), 16000)  # Latin-1 "été.wav"
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    report = index_paths(coll, [lib], enc, quiet=True)
    assert [(p.endswith("\\xe9t\\xe9.wav"), "not valid UTF-8" in r) for p, r in report.failed] == [(True, True)]
    assert coll.counts()["sounds"] == len(good)
    assert any("not valid UTF-8" in r for _, r in coll.failures())


def test_deep_json_sidecar_and_deep_folders_do_not_abort(tmp_path, deep_tree):
    lib = tmp_path / "lib"
    good = _good(lib)
    write_wav(lib / "door.wav", tone(440.0, 1.0))
    (lib / "door.json").write_text("[" * 100_000 + "]" * 100_000)  # RecursionError in json
    deep = deep_tree(lib, 1000)  # 1,000 levels: 2 KB of path, legal on Linux
    with open(deep / "bottom.wav", "wb") as handle:  # libsndfile itself refuses such a long path
        sf.write(handle, tone(550.0, 1.0), 16000, format="WAV")
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    report = index_paths(coll, [lib], enc, quiet=True)
    assert report.failed == []
    names = {Path(s.path).name for s in coll.sounds(limit=100)}
    assert names == {p.name for p in good} | {"door.wav", "bottom.wav"}


def test_sidecar_links_out_of_the_tree_are_not_read_unless_allowed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:secret words")
    lib = tmp_path / "lib"
    write_wav(lib / "rain.wav", tone(440.0, 1.0))
    os.symlink(secret, lib / "rain.txt")
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    index_paths(coll, [lib], enc, quiet=True)
    assert "secret" not in coll.sounds()[0].text and "rain" in coll.sounds()[0].text
    coll2, enc2 = open_for_indexing(tmp_path / "coll2", "mfcc", None)
    index_paths(coll2, [lib], enc2, quiet=True, outside_links=True)
    assert "secret words" in coll2.sounds()[0].text


def test_a_missing_root_keeps_its_sounds_and_the_others_are_indexed(tmp_path):
    drive, home = tmp_path / "drive", tmp_path / "home"
    _good(drive)
    write_wav(home / "a.wav", tone(440.0, 1.0))
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    index_paths(coll, [drive, home], enc, quiet=True)
    drive.rename(tmp_path / "unplugged")
    write_wav(home / "b.wav", tone(660.0, 1.0))
    report = index_paths(coll, [drive, home], enc, quiet=True)
    assert report.missing_roots == [str(drive)] and report.removed == 0 and report.added == 1
    assert coll.counts()["sounds"] == GOOD + 2


def test_an_unreadable_folder_is_reported_and_its_sounds_are_kept(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    _good(lib / "locked")
    write_wav(lib / "open" / "a.wav", tone(440.0, 1.0))
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    index_paths(coll, [lib], enc, quiet=True)
    real_scandir = os.scandir

    def scandir(path):  # what a folder without read permission does (tests may run as root)
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = index_paths(coll, [lib], enc, quiet=True)
    assert [(Path(f).name, "Permission denied" in why) for f, why in report.unreadable_folders] == [("locked", True)]
    assert report.removed == 0 and coll.counts()["sounds"] == GOOD + 1
    assert any(p.endswith("/locked") and "unreadable" in r for p, r in coll.failures())


def test_a_second_writer_is_refused_with_the_holder_named(tmp_path):
    lib = tmp_path / "lib"
    _good(lib)
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    # another process holds the lock: a child python that takes it and waits for us
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys; from pathlib import Path; from soundseek.store.lock import writer_lock\n"
        "with writer_lock(Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.readline()")
        , str(tmp_path / "coll")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(CollectionBusy, match=rf"process {child.pid} \(.*writer_lock"):
            index_paths(coll, [lib], enc, quiet=True)
        assert coll.counts()["sounds"] == 0
        # --wait: blocks until the other writer is done, then indexes
        done: list[int] = []
        worker = threading.Thread(target=lambda: done.append(index_paths(
            Collection.open(tmp_path / "coll"), [lib], enc, quiet=True, wait=True).added))
        worker.start()
        child.stdin.write("\n")
        child.stdin.flush()
        worker.join(timeout=60)
        assert done == [GOOD]
    finally:
        child.kill()
        child.wait()


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path):
    (tmp_path / "coll").mkdir()
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys; from pathlib import Path; from soundseek.store.lock import writer_lock\n"
        "with writer_lock(Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.readline()"),
        str(tmp_path / "coll")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    child.kill()
    child.wait()
    from soundseek.store.lock import writer_lock
    with writer_lock(tmp_path / "coll"):
        pass


def test_scan_walks_any_depth_without_recursion(tmp_path, deep_tree):
    deep = deep_tree(tmp_path, 1500)  # deeper than Python's recursion limit (1,000)
    (deep / "a.wav").write_bytes(b"")
    assert [f.path.name for f in scan([tmp_path])] == ["a.wav"]


def test_json_sidecar_keys_still_read(tmp_path):
    write_wav(tmp_path / "door.wav", tone(440.0, 1.0))
    (tmp_path / "door.json").write_text(json.dumps({"description": "old door", "tags": ["creak"]}))
    from soundseek.library.textmeta import sidecar_text
    assert sidecar_text(tmp_path / "door.wav", tmp_path) == "old door. creak"
