"""Search gives the same results on every store: embedded (SQLite + FAISS cache), a milvus-lite file, and
a milvus-lite server over gRPC (MFCC, synthetic sounds, the real MiniLM text encoder and library model)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf
from conftest import store_uri, write_wav

from soundseek.audio.synth import KINDS, SR, make_sound
from soundseek.cli import main
from soundseek.search.engine import Filters, open_engine


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Two named takes of each kind in folders named after it, one unnamed take of each kind (the
    library model's business), and one stereo 44.1 kHz file."""
    root = tmp_path_factory.mktemp("stores")
    for k, kind in enumerate(KINDS):
        for take in range(3):
            wave = make_sound(kind, seed=100 * k + take)
            path = root / "lib" / kind / f"{kind}_{take}.wav" if take < 2 else root / "lib" / "unsorted" / f"take{k:03d}.wav"
            write_wav(path, wave, sr=SR)
    stereo = np.stack([make_sound("wind", 99)] * 2, axis=1)
    sf.write(str(root / "lib" / "wind" / "wind_stereo_44k.wav"), stereo, 44100)
    return root


def _index(root, name: str, store: str | None) -> str:
    coll = str(root / name)
    args = ["index", str(root / "lib"), "--collection", coll, "--encoder", "mfcc", "--quiet"]
    assert main(args + (["--store", store] if store else [])) == 0
    return coll


@pytest.fixture(scope="module")
def embedded(library):
    return open_engine(_index(library, "embedded", None))


@pytest.fixture(scope="module", params=["milvus-file", "milvus-server"])
def milvus(request, library):
    return open_engine(_index(library, request.param, store_uri(request.param, library, request)))


def _same(hits) -> list:
    return [(h.path, h.start, h.end, round(h.score, 4), [(m.start, m.end, round(m.score, 4)) for m in h.moments])
            for h in hits]


FILTERS = [None, Filters(path_glob="*/rain/*"), Filters(max_duration=4.0), Filters(min_duration=4.0),
           Filters(sample_rate=44100, channels=2), Filters(path_glob="take0*")]


def test_the_collection_records_its_store(milvus, embedded):
    assert milvus.index.kind == "milvus" and embedded.index.kind != "milvus"
    assert milvus.coll.segment_store.count() == len(milvus.table) == len(embedded.table)
    assert milvus.coll.meta("store")["uri"] != ""


@pytest.mark.parametrize("query", ["rain", "siren", "telephone", "a bird singing", "footsteps"])
def test_text_search_is_the_same(milvus, embedded, query):
    for filters in FILTERS[:3]:
        for top, offset in [(5, 0), (3, 3)]:
            assert _same(milvus.search_text(query, top=top, offset=offset, filters=filters)) == \
                _same(embedded.search_text(query, top=top, offset=offset, filters=filters))


def test_library_model_sees_the_same_vectors(milvus, embedded):
    assert milvus.library is not None and embedded.library is not None
    assert np.array_equal(milvus.library.segment_ids, embedded.library.segment_ids)


def test_query_by_example_is_the_same_with_filters_and_pages(milvus, embedded, library):
    queries = [library / "lib" / "rain" / "rain_0.wav", library / "lib" / "unsorted" / "take003.wav",
               library / "lib" / "wind" / "wind_stereo_44k.wav"]
    for query in queries:
        for filters in FILTERS:
            for top, offset in [(5, 0), (4, 4), (2, 30)]:
                got = milvus.search_audio(query, top=top, offset=offset, filters=filters)
                want = embedded.search_audio(query, top=top, offset=offset, filters=filters)
                assert _same(got) == _same(want), (query.name, filters, offset)
                assert str(query) not in [h.path for h in got if h.start == 0.0]


def test_more_like_this_and_part_of_a_file(milvus, embedded, library):
    seg = int(embedded.table.ids[5])
    assert _same(milvus.more_like_this(seg, top=6)) == _same(embedded.more_like_this(seg, top=6))
    query = library / "lib" / "wind" / "wind_stereo_44k.wav"
    assert _same(milvus.search_audio(query, start=1.0, end=3.0, top=5)) == \
        _same(embedded.search_audio(query, start=1.0, end=3.0, top=5))


def test_cli_search_describe_and_info_use_the_recorded_store(milvus, embedded, library, capsys):
    query = str(library / "lib" / "dog_bark" / "dog_bark_1.wav") if (library / "lib" / "dog_bark").is_dir() \
        else str(next((library / "lib" / "unsorted").glob("*.wav")))
    outputs = []
    for engine in (milvus, embedded):
        coll = str(engine.coll.root)
        capsys.readouterr()
        assert main(["search", "--audio", query, "--collection", coll, "--json", "--top", "4"]) == 0
        assert main(["describe", query, "--collection", coll, "--json"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert main(["info", "--collection", str(milvus.coll.root), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["store"]["kind"] in ("milvus-lite", "milvus") and info["store"]["rows"] == info["segments"]
    assert info["spaces"] == ["mfcc"] and os.path.isabs(info["collection"])
