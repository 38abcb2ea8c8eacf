from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest
from conftest import noise, tone, write_wav

from soundseek.commands.demo import write_library
from soundseek.errors import CollectionError, SoundseekError
from soundseek.indexer import index_paths, open_for_indexing
from soundseek.store import DB_NAME, Collection


def _index(coll_dir, lib, **kw):
    coll, enc = open_for_indexing(coll_dir, "mfcc", None)
    return coll, index_paths(coll, [lib], enc, quiet=True, **kw)


def test_incremental_reindex_skips_updates_and_forgets(tmp_path):
    lib = tmp_path / "lib"
    write_wav(lib / "a.wav", tone(300, 2.0))
    write_wav(lib / "b.wav", tone(600, 2.0))
    write_wav(lib / "c.wav", noise(2.0))
    coll, rep = _index(tmp_path / "coll", lib)
    assert (rep.added, rep.unchanged, rep.failed) == (3, 0, [])
    coll, rep = _index(tmp_path / "coll", lib)
    assert (rep.added, rep.updated, rep.unchanged) == (0, 0, 3)
    write_wav(lib / "b.wav", tone(900, 3.0))  # changed content, size and mtime
    os.remove(lib / "c.wav")
    coll, rep = _index(tmp_path / "coll", lib)
    assert (rep.added, rep.updated, rep.removed, rep.unchanged) == (0, 1, 1, 1)
    assert coll.counts()["sounds"] == 2
    assert coll.sound_by_path(str(lib / "b.wav")).duration == pytest.approx(3.0)


def test_bad_files_are_reported_and_never_stop_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    lib = tmp_path / "lib"
    write_wav(lib / "good.wav", tone(300, 2.0))
    (lib / "empty.wav").write_bytes(b"")
    (lib / "text.mp3").write_text("not audio at all\n" * 20)
    write_wav(lib / "silent.wav", np.zeros(16000, np.float32))
    (lib / "garbage.flac").write_bytes(np.random.default_rng(1).bytes(4096))
    coll, rep = _index(tmp_path / "coll", lib)
    assert rep.added == 1
    reasons = dict((os.path.basename(p), r) for p, r in rep.failed)
    assert set(reasons) == {"empty.wav", "text.mp3", "silent.wav", "garbage.flac"}
    assert "empty" in reasons["empty.wav"] and "silent" in reasons["silent.wav"]
    assert len(coll.failures()) == 4  # shown by `soundseek info`


def test_interrupted_run_keeps_committed_files_and_resumes(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    for i in range(6):
        write_wav(lib / f"s{i}.wav", tone(200 + 100 * i, 1.0))
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    real = enc.encode_segments
    calls = {"n": 0}

    def dying(wave, spans):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the 4th file
        return real(wave, spans)

    monkeypatch.setattr(enc, "encode_segments", dying)
    with pytest.raises(KeyboardInterrupt):
        index_paths(coll, [lib], enc, quiet=True)
    coll.close()
    reopened = Collection.open(tmp_path / "coll")
    assert reopened.counts()["sounds"] == 3
    _, rep = _index(tmp_path / "coll", lib)
    assert (rep.added, rep.unchanged) == (3, 3)


def test_encoder_mismatch_and_missing_collection(tmp_path):
    lib = tmp_path / "lib"
    write_wav(lib / "a.wav", tone(300, 1.0))
    _index(tmp_path / "coll", lib)
    with pytest.raises(SoundseekError, match="uses the 'mfcc' encoder"):
        open_for_indexing(tmp_path / "coll", "yamnet", None)
    with pytest.raises(CollectionError, match="no collection"):
        Collection.open(tmp_path / "nothing")


def test_corrupt_database_is_a_clear_error(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / DB_NAME).write_bytes(b"garbage" * 100)
    with pytest.raises(CollectionError):
        Collection.open(tmp_path / "c")


def test_long_file_segments_and_tagless_mfcc(tmp_path):
    lib = tmp_path / "lib"
    write_wav(lib / "long.wav", noise(30.0))
    coll, rep = _index(tmp_path / "coll", lib)
    assert coll.counts()["segments"] == 11
    assert rep.audio_seconds == pytest.approx(30.0)


def test_demo_library_indexes(tmp_path):
    paths = write_library(tmp_path / "lib", takes=1)
    assert len(paths) >= 12
    coll, rep = _index(tmp_path / "coll", tmp_path / "lib")
    assert rep.added == len(paths) and not rep.failed
    db = sqlite3.connect(tmp_path / "coll" / DB_NAME)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
