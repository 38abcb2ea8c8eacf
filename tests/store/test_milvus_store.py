"""The Milvus store: crash between the SQLite and Milvus writes, stale and orphan rows, moves, pushed-down
tag filters, and the errors a user can meet (milvus-lite file and milvus-lite gRPC server, no mocks)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import noise, store_uri, tone, write_wav

from soundseek.cli import main
from soundseek.errors import CollectionError, MissingExtraError
from soundseek.indexer import index_paths, open_for_indexing
from soundseek.search.engine import Filters, SearchEngine
from soundseek.store import Collection, NewSegment, SoundRecord
from soundseek.store.milvus import MilvusSegments, StoreSpec, parse_store

pytest.importorskip("pymilvus", reason="the Milvus store needs the 'scale' extra")


@pytest.fixture(params=["milvus-file", "milvus-server"])
def uri(request, tmp_path):
    return store_uri(request.param, tmp_path, request)


def _library(folder):
    for i, freq in enumerate([220, 330, 440, 550, 660, 770]):
        write_wav(folder / f"tone{i}.wav", tone(freq, 2.0 + i))
    write_wav(folder / "noise.wav", noise(3.0))
    return folder


def _index(coll_dir, lib, store=None):
    coll, enc = open_for_indexing(coll_dir, "mfcc", None)
    if store:
        coll.set_store(parse_store(store, coll_dir))
    return coll, enc, index_paths(coll, [lib], enc, quiet=True)


def _hits(coll, enc, lib):
    engine = SearchEngine(coll, audio_encoder=enc)
    return [[(h.path, h.start, h.end, round(h.score, 4)) for h in engine.search_audio(lib / name, top=7)]
            for name in ("tone0.wav", "noise.wav")]


def _consistent(coll):
    """Milvus holds exactly SQLite's segments, once each, at each sound's recorded generation."""
    ids, sounds, _ = coll.segment_store.states()
    want = np.asarray(coll.segment_columns()[0], dtype=np.int64)
    assert len(np.unique(ids)) == len(ids) and np.array_equal(ids, want)
    assert coll.segment_store.count() == coll.counts()["segments"]


def test_a_crash_between_the_two_writes_loses_and_duplicates_nothing(uri, tmp_path, monkeypatch):
    lib = _library(tmp_path / "lib")
    ref, ref_enc, _ = _index(tmp_path / "ref", lib)
    real_upsert, calls = MilvusSegments.upsert, []

    def dies_on_the_fourth(self, rows):  # the process dies after SQLite committed the 4th file
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        real_upsert(self, rows)

    monkeypatch.setattr(MilvusSegments, "upsert", dies_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        _index(tmp_path / "coll", lib, uri)
    monkeypatch.setattr(MilvusSegments, "upsert", real_upsert)
    coll = Collection.open(tmp_path / "coll")
    assert coll.counts()["sounds"] == 4 and coll.segment_store.count() < coll.counts()["segments"]
    with pytest.raises(CollectionError, match="soundseek index"):
        coll.iter_vectors("mfcc")
    coll, enc, report = _index(tmp_path / "coll", lib)
    assert (report.repaired.stale_rows, report.repaired.forgotten_sounds) == (0, 1)
    assert (report.added, report.unchanged) == (4, 3)
    _consistent(coll)
    assert _hits(coll, enc, lib) == _hits(ref, ref_enc, lib)


def test_stale_orphan_and_missing_rows_are_repaired(uri, tmp_path):
    lib = _library(tmp_path / "lib")
    ref, ref_enc, _ = _index(tmp_path / "ref", lib)
    coll, enc, _ = _index(tmp_path / "coll", lib, uri)
    store = coll.segment_store
    sounds = {s.path: s.id for s in coll.sounds()}
    store.delete_sounds([sounds[str(lib / "tone1.wav")]])           # Milvus write lost
    row = store.rows([coll.segment_ids_of_sound(sounds[str(lib / "tone2.wav")])[0]])[0]
    store.upsert(_rows([{**row, "generation": row["generation"] - 1}]))  # a row from an older write
    store.upsert(_rows([{**row, "id": 10**9, "sound_id": 10**6}]))      # a row SQLite never committed
    coll, enc, report = _index(tmp_path / "coll", lib)
    assert (report.repaired.stale_rows, report.repaired.forgotten_sounds) == (2, 2)
    assert (report.added, report.unchanged) == (2, 5)
    _consistent(coll)
    assert _hits(coll, enc, lib) == _hits(ref, ref_enc, lib)
    coll, enc, report = _index(tmp_path / "coll", lib)
    assert not report.repaired and report.unchanged == 7


def _rows(records):
    from soundseek.store.milvus import SegmentRows

    col = lambda key, dtype=np.float64: np.asarray([r[key] for r in records], dtype=dtype)  # noqa: E731
    return SegmentRows(col("id", np.int64), col("sound_id", np.int64), col("start"), col("end"), col("duration"),
                       col("sample_rate", np.int64), col("channels", np.int64), [r["path"] for r in records],
                       [list(r["tags"]) for r in records], col("generation", np.int64),
                       np.stack([np.asarray(r["vector"], np.float32) for r in records]))


def test_moved_and_deleted_files_follow_in_milvus(uri, tmp_path):
    lib = _library(tmp_path / "lib")
    coll, enc, _ = _index(tmp_path / "coll", lib, uri)
    (lib / "tone3.wav").rename(lib / "renamed.wav")
    (lib / "noise.wav").unlink()
    coll, enc, report = _index(tmp_path / "coll", lib)
    assert (report.moved, report.removed, report.added) == (1, 1, 0)
    _consistent(coll)
    paths = {r["path"] for r in coll.segment_store.rows([int(i) for i in coll.segment_columns()[0]])}
    assert str(lib / "renamed.wav") in paths and str(lib / "tone3.wav") not in paths
    assert str(lib / "noise.wav") not in paths
    hits = SearchEngine(coll, audio_encoder=enc).search_audio(lib / "renamed.wav", top=3)
    assert str(lib / "renamed.wav") not in [h.path for h in hits] and len(hits) == 3


def _tagged(root, store):
    """Six one-segment sounds with hand-made vectors; the even ones tagged 'Dog', the others 'Rain'."""
    coll = Collection.create(root, audio_encoder="tiny", encoder_config={})
    if store:
        coll.set_store(parse_store(store, root))
    rng = np.random.default_rng(0)
    for i in range(6):
        vec = rng.standard_normal(8).astype(np.float32)
        seg = NewSegment(0.0, 5.0, vec / np.linalg.norm(vec), None, [("Dog" if i % 2 == 0 else "Rain", 0.9)])
        coll.put_sound(SoundRecord(0, f"/x/s{i}.wav", 1, 1, 5.0 + i, 16000, 1, "WAV", ""), [seg], space="tiny")
    return coll


def test_tag_and_duration_filters_are_pushed_down(uri, tmp_path):
    milvus, embedded = SearchEngine(_tagged(tmp_path / "m", uri)), SearchEngine(_tagged(tmp_path / "e", None))
    query = np.ones(8, dtype=np.float32) / np.sqrt(8)
    for filters in [Filters(tag="dog"), Filters(tag="RAIN", min_duration=7.0), Filters(tag="cat"), None,
                    Filters(tag='a "quoted" \\ tag'), Filters(tag="Children's play")]:
        got = [(h.path, round(h.score, 5)) for h in milvus.search_vector(query, top=4, filters=filters)]
        assert got == [(h.path, round(h.score, 5)) for h in embedded.search_vector(query, top=4, filters=filters)]
    assert [h.path for h in milvus.search_vector(query, top=4, filters=Filters(tag="dog"))] != []


def test_store_errors_are_clear(tmp_path, monkeypatch, capsys):
    lib = _library(tmp_path / "lib")
    for bad in ["milvus://nofile", "ftp://x", "http://"]:
        with pytest.raises(CollectionError, match="--store"):
            parse_store(bad, tmp_path)
    assert main(["index", str(lib), "--collection", str(tmp_path / "c"), "--encoder", "mfcc", "--quiet", "--no-learn"]) == 0
    capsys.readouterr()
    assert main(["index", str(lib), "--collection", str(tmp_path / "c"), "--store", f"milvus://{tmp_path}/v.db", "--no-learn"]) != 0
    assert "a store is chosen when a collection is created" in capsys.readouterr().err
    assert main(["index", str(lib), "--collection", str(tmp_path / "d"), "--encoder", "mfcc",
                 "--store", f"milvus://{tmp_path}/v.db", "--index", "hnsw", "--no-learn"]) != 0
    assert "Milvus' HNSW" in capsys.readouterr().err
    with pytest.raises(CollectionError, match="cannot open the Milvus store http://127.0.0.1:1"):
        MilvusSegments(StoreSpec("http://127.0.0.1:1", "nothing"))  # nothing listens there
    monkeypatch.setitem(sys.modules, "pymilvus", None)  # as if the extra were not installed
    coll = Collection.create(tmp_path / "e", audio_encoder="mfcc", encoder_config={})
    coll.set_store(parse_store(f"milvus://{tmp_path}/w.db", tmp_path / "e"))
    with pytest.raises(MissingExtraError, match=r"pip install 'soundseek\[scale\]'"):
        coll.segment_store


def test_another_process_searches_the_recorded_store(tmp_path):
    """A milvus-lite file written by one process is loaded (not just opened) by the next one."""
    import json
    import os
    import subprocess

    from milvus_lite import server_manager_instance

    lib = _library(tmp_path / "lib")
    ref, ref_enc, _ = _index(tmp_path / "ref", lib)
    db = tmp_path / "vectors.db"
    assert main(["index", str(lib), "--collection", str(tmp_path / "coll"), "--encoder", "mfcc",
                 "--store", f"milvus://{db}", "--quiet", "--no-learn"]) == 0
    server_manager_instance.release_server(str(db))  # as when the indexing process exits
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-m", "soundseek.cli", "search", "--audio", str(lib / "tone0.wav"),
                          "--collection", str(tmp_path / "coll"), "--json", "--top", "7"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    got = [(h["path"], round(h["score"], 4)) for h in json.loads(out.stdout)]
    want = SearchEngine(ref, audio_encoder=ref_enc).search_audio(lib / "tone0.wav", top=7)
    assert got == [(h.path, round(h.score, 4)) for h in want]


def test_rows_sqlite_does_not_know_are_never_hits(uri, tmp_path):
    """Before the repair, an orphan row (a crash after the Milvus write) is left out of every search."""
    lib = _library(tmp_path / "lib")
    coll, enc, _ = _index(tmp_path / "coll", lib, uri)
    row = coll.segment_store.rows([int(coll.segment_ids()[0])])[0]
    coll.segment_store.upsert(_rows([{**row, "id": 10**9, "sound_id": 10**6}]))  # the query's own twin
    engine = SearchEngine(coll, audio_encoder=enc)
    query = engine.index.vectors_of(np.asarray([10**9]))[0]
    assert 10**9 not in engine.index.search(query, 3)[1][0]
    assert len(engine.search_vector(query, top=7)) == 7
