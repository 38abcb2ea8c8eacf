"""Watch mode: quiet periods, chunked copies, renames keep identity, deletions forgotten (MFCC, generated audio)."""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf
from conftest import chirp, noise, tone, write_wav

from soundseek.indexer import index_paths, open_for_indexing
from soundseek.ingest.watch import Watcher, WatchConfig
from soundseek.store import Collection

pytest.importorskip("watchdog", reason="the 'watch' extra is not installed")


def _wav_bytes(data) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    sf.write(buf, data, 16000, format="WAV")
    return buf.getvalue()


def _watcher(tmp_path: Path, lib: Path, quiet: float) -> Watcher:
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None, say=lambda m: None)
    return Watcher(coll, enc, [lib], WatchConfig(quiet_seconds=quiet, learn_every=0), say=lambda m: None)


def test_quiet_period_indexes_a_growing_file_once_when_complete(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    w = _watcher(tmp_path, lib, quiet=1.0)
    data = _wav_bytes(tone(440, 3.0))
    target = lib / "growing.wav"
    with open(target, "wb") as out:
        out.write(data[:20000])
    w.note("created", str(target), now=0.0)
    assert w.process(0.5) is None  # not quiet yet
    with open(target, "ab") as out:
        out.write(data[20000:])
    w.note("modified", str(target), now=0.8)
    assert w.process(1.5) is None  # the last event was at 0.8: quiet until 1.8
    report = w.process(1.9)
    assert (report.added, report.failed) == (1, [])
    assert w.coll.sound_by_path(str(target)).duration == pytest.approx(3.0)
    assert w.process(10.0) is None  # nothing left


def test_rename_keeps_the_sound_and_delete_forgets(tmp_path):
    lib = tmp_path / "lib"
    write_wav(lib / "a" / "dog_bark.wav", chirp(300, 900, 2.0))
    write_wav(lib / "b.wav", noise(2.0, seed=3))
    w = _watcher(tmp_path, lib, quiet=0.5)
    index_paths(w.coll, [lib], w.encoder, quiet=True)
    before = w.coll.sound_by_path(str(lib / "a" / "dog_bark.wav"))
    segs = w.coll.segment_ids_of_sound(before.id)
    os.makedirs(lib / "c")
    os.rename(lib / "a" / "dog_bark.wav", lib / "c" / "cat_meow.wav")
    w.note("moved", str(lib / "a" / "dog_bark.wav"), str(lib / "c" / "cat_meow.wav"), now=0.0)
    os.remove(lib / "b.wav")
    w.note("deleted", str(lib / "b.wav"), now=0.0)
    report = w.process(1.0)
    assert (report.moved, report.removed, report.added) == (1, 1, 0)
    after = w.coll.sound_by_path(str(lib / "c" / "cat_meow.wav"))
    assert after.id == before.id and w.coll.segment_ids_of_sound(after.id) == segs  # not re-embedded
    assert "cat" in after.text and "dog" not in after.text  # the words of the new name
    assert w.coll.sound_by_path(str(lib / "b.wav")) is None
    assert [sid for sid, _ in w.coll.keyword_search("cat")] == [after.id]
    assert w.coll.keyword_search("dog") == []


def test_a_moved_folder_keeps_its_sounds(tmp_path):
    lib = tmp_path / "lib"
    write_wav(lib / "x" / "one.wav", tone(500, 1.5))
    write_wav(lib / "x" / "two.wav", tone(700, 1.5))
    w = _watcher(tmp_path, lib, quiet=0.5)
    index_paths(w.coll, [lib], w.encoder, quiet=True)
    ids = {w.coll.sound_by_path(str(lib / "x" / n)).id for n in ("one.wav", "two.wav")}
    os.rename(lib / "x", lib / "y")
    w.note("moved", str(lib / "x"), str(lib / "y"), now=0.0)
    report = w.process(1.0)
    assert (report.moved, report.added, report.removed) == (2, 0, 0)
    assert {w.coll.sound_by_path(str(lib / "y" / n)).id for n in ("one.wav", "two.wav")} == ids


def _poll(check, *, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until `check()` is true (polling the collection every 50 ms), failing after `timeout`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the collection did not follow the folder in time")
        time.sleep(0.05)


def test_real_events_create_copy_in_chunks_rename_delete(tmp_path):
    lib = tmp_path / "lib"
    write_wav(lib / "first.wav", tone(330, 2.0))
    w = _watcher(tmp_path, lib, quiet=0.4)
    w.start()
    stop = threading.Event()
    thread = threading.Thread(target=w.run, args=(stop,), daemon=True)
    thread.start()
    view = Collection.open(tmp_path / "coll")  # a second connection, like a running server's
    try:
        assert view.sound_by_path(str(lib / "first.wav")) is not None
        write_wav(lib / "created.wav", noise(2.0, seed=5))
        data = _wav_bytes(chirp(200, 2000, 4.0))
        with open(lib / "copied.wav", "wb") as out:  # a copy arriving in chunks
            for i in range(0, len(data), 16384):
                out.write(data[i : i + 16384])
                out.flush()
        _poll(lambda: view.sound_by_path(str(lib / "copied.wav")) is not None
              and view.sound_by_path(str(lib / "created.wav")) is not None)
        assert view.sound_by_path(str(lib / "copied.wav")).duration == pytest.approx(4.0)
        copied_id = view.sound_by_path(str(lib / "copied.wav")).id
        shutil.move(lib / "copied.wav", lib / "renamed.wav")
        os.remove(lib / "first.wav")
        _poll(lambda: view.sound_by_path(str(lib / "renamed.wav")) is not None
              and view.sound_by_path(str(lib / "first.wav")) is None)
        assert view.sound_by_path(str(lib / "renamed.wav")).id == copied_id
        assert view.counts()["sounds"] == 2
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
