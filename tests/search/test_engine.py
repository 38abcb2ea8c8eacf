from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf

from soundseek.audio.synth import make_sound
from soundseek.cli import main
from soundseek.commands.demo import write_library
from soundseek.errors import QueryError
from soundseek.indexer import index_paths, open_for_indexing
from soundseek.search.engine import Filters, SearchEngine


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("search")
    write_library(root / "lib", takes=3)
    stereo = np.stack([make_sound("wind", 99)] * 2, axis=1)
    sf.write(str(root / "lib" / "wind" / "wind_stereo_44k.wav"), stereo, 44100)
    coll, enc = open_for_indexing(root / "coll", "mfcc", None)
    index_paths(coll, [root / "lib"], enc, quiet=True)
    return root, SearchEngine(coll, audio_encoder=enc)


def _kind(hit) -> str:
    return os.path.basename(os.path.dirname(hit.path))


def test_keyword_search_finds_named_sounds(library):
    _, engine = library
    hits = engine.search_text("siren", top=3)
    assert [_kind(h) for h in hits] == ["police_siren"] * 3


def test_text_similarity_matches_words_that_are_not_in_names(library):
    _, engine = library
    hits = engine.search_text("telephone", top=3)
    assert {_kind(h) for h in hits} == {"phone_ringing"}


def test_query_by_example_finds_same_kind_and_leaves_out_itself(library):
    root, engine = library
    query = root / "lib" / "clock_ticking" / "clock_ticking_take1.wav"
    hits = engine.search_audio(query, top=2)
    assert str(query) not in [h.path for h in hits]
    assert [_kind(h) for h in hits] == ["clock_ticking", "clock_ticking"]


def test_filters(library):
    _, engine = library
    assert all("rain" in h.path for h in engine.search_text("water", top=5, filters=Filters(path_glob="*/rain/*")))
    assert all(h.duration <= 4.0 for h in engine.search_text("wind", top=5, filters=Filters(max_duration=4.0)))
    only = engine.search_text("wind", top=5, filters=Filters(sample_rate=44100, channels=2))
    assert [os.path.basename(h.path) for h in only] == ["wind_stereo_44k.wav"]


def test_pagination_does_not_repeat_files(library):
    _, engine = library
    first = engine.search_text("rain", top=3)
    second = engine.search_text("rain", top=3, offset=3)
    assert not {h.path for h in first} & {h.path for h in second}


@pytest.mark.parametrize("bad", ["", "   ", "!!!", "x" * 600])
def test_bad_text_queries(library, bad):
    _, engine = library
    with pytest.raises(QueryError):
        engine.search_text(bad)


def test_bad_time_range(library):
    root, engine = library
    with pytest.raises(QueryError, match="time range"):
        engine.search_audio(root / "lib" / "rain" / "rain_take1.wav", start=100.0)


def test_cli_json_schema_info_tags_describe(library, capsys):
    root, _ = library
    coll = str(root / "coll")
    assert main(["search", "rain", "--collection", coll, "--json", "--top", "2"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2
    for hit in hits:
        assert {"path", "start", "end", "score", "tags", "text"} <= set(hit)
        assert 0 <= hit["start"] < hit["end"]
    assert main(["info", "--collection", coll, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sounds"] == 43 and info["audio_encoder"] == "mfcc"
    assert main(["tags", "--collection", coll]) == 0
    assert "no tags" in capsys.readouterr().out
    assert main(["describe", str(root / "lib" / "clock_ticking" / "clock_ticking_take2.wav"), "--collection", coll, "--json"]) == 0
    words = [s["text"] for s in json.loads(capsys.readouterr().out)]
    assert {"clock", "ticking"} & set(words[:3])


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["search", "dog", "--collection", str(tmp_path / "none")]) == 2
    assert "no collection" in capsys.readouterr().err
    assert main(["models", "add", "yamnet", str(tmp_path)]) == 0  # an empty dir installs nothing
    bogus = tmp_path / "bogus.tflite"
    bogus.write_bytes(b"1234")
    assert main(["models", "add", "yamnet", str(bogus)]) == 2
    assert "matches no file" in capsys.readouterr().err


def test_the_index_backend_is_chosen_from_the_cli_and_recorded(library, tmp_path, capsys):
    root, _ = library
    coll = str(tmp_path / "lsh")
    assert main(["index", str(root / "lib" / "rain"), "--collection", coll, "--encoder", "mfcc", "--index", "lsh",
                 "--quiet"]) == 0
    capsys.readouterr()
    from soundseek.search.engine import open_engine
    engine = open_engine(tmp_path / "lsh")
    assert engine.coll.index_kind == "lsh" and engine.index.kind == "lsh"
    assert main(["search", "--audio", str(root / "lib" / "rain" / "rain_take1.wav"), "--collection", coll,
                 "--json", "--top", "2"]) == 0
    assert all("rain" in h["path"] for h in json.loads(capsys.readouterr().out))
