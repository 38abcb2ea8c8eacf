"""'Like this, but ...': an example steered by words, on hand-made data (scores computed by hand), and
through the CLI on generated sounds."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from standins import KeywordTextEncoder, add_sound, tiny_collection

from soundseek.errors import QueryError
from soundseek.search import engine as engine_mod
from soundseek.search.engine import SearchEngine
from soundseek.search.steer import Steer, combine, min_max, search_like, segment_like, text_without, unit_scale


@pytest.fixture()
def engine(tmp_path, monkeypatch) -> SearchEngine:
    monkeypatch.setattr(engine_mod, "FEEDBACK_WEIGHT", 0.0)
    coll = tiny_collection(tmp_path / "c", ["Dog", "Rain"])
    add_sound(coll, "/a.wav", [([1, 0], [0.9, 0.0])])      # sounds like the example, is a dog
    add_sound(coll, "/b.wav", [([0.8, 0.6], [0.0, 0.8])])  # near the example, is rain
    add_sound(coll, "/c.wav", [([0, 1], [0.0, 0.9])])      # far from the example, is rain
    return SearchEngine(coll, text_encoder=KeywordTextEncoder(["dog", "rain"]))


def test_scaling_helpers_by_hand() -> None:
    assert min_max(np.asarray([2.0, 1.0, -np.inf, 0.0])).tolist() == [1.0, 0.5, 0.0, 0.0]
    assert min_max(np.asarray([3.0, 3.0])).tolist() == [1.0, 1.0]
    assert unit_scale(np.asarray([2.0, -1.0, np.nan, 1.0])).tolist() == [1.0, 0.0, 0.0, 0.5]
    like, toward, away = np.asarray([1.0, 0.5]), np.asarray([0.2, 1.0]), np.asarray([0.4, 0.0])
    assert combine(like, toward, away).tolist() == pytest.approx([0.12, 0.5])
    assert combine(like, toward, np.asarray([0.5, 0.49])).tolist() == pytest.approx([0.0, 0.255])  # cut at 0.5
    assert combine(like, toward, away, mode="sum").tolist() == pytest.approx([0.8, 1.5])
    assert combine(like, None, None).tolist() == [1.0, 0.5]


def test_like_this_but_rain(engine) -> None:
    example = np.asarray([1.0, 0.0], dtype=np.float32)
    # audio only: /a (cos 1) first; words only ("rain"): /c (p 0.9) first
    assert [h.path for h in engine.search_vector(example, top=3)][0] == "/a.wav"
    assert [h.path for h in engine.search_text("rain", top=3)][0] == "/c.wav"
    hits = search_like(engine, example, Steer("rain"), top=3)
    # like = min-max of cos (1, 0.8, 0) -> (1, 0.8, 0); toward = log(1 + p/1e-3) / log(901) -> (0, 0.983, 1),
    # each log score read back from its 8-bit code (steps of log(1001) / 255)
    # product: /b 0.8 * 0.983; /c 0 (like 0); /a next to nothing ("rain" weights its "Dog" by exp(-20))
    assert [h.path for h in hits] == ["/b.wav", "/a.wav"]
    step = math.log(1001) / 255
    assert hits[0].score == pytest.approx(0.8 * round(math.log(801) / step) / round(math.log(901) / step), abs=1e-5)
    assert 0 < hits[1].score < 1e-6


def test_like_this_without_dog(engine) -> None:
    hits = search_like(engine, np.asarray([1.0, 0.0], dtype=np.float32), Steer(None, "dog"), top=3)
    # /a is the example's twin but all dog (away 1 -> x 0); /c is the farthest (like 0)
    assert [h.path for h in hits] == ["/b.wav"] and hits[0].score == pytest.approx(0.8, abs=1e-6)


def test_more_like_a_segment_leaves_out_its_own_span(engine) -> None:
    seg_a = int(engine.table.ids[0])
    assert [h.path for h in segment_like(engine, seg_a, Steer(None, "dog"), top=3)] == ["/b.wav"]
    with pytest.raises(QueryError):
        segment_like(engine, 10**6, Steer("rain"))


def test_text_without(engine) -> None:
    assert [h.path for h in engine.search_text("dog rain", top=3)][0] == "/a.wav"
    assert "/a.wav" not in [h.path for h in text_without(engine, "dog rain", "dog", top=3)]


def test_steer_words_are_checked() -> None:
    assert not Steer.of("  ", None).active() and Steer.of("metal", "").label() == "+ metal"
    with pytest.raises(QueryError):
        Steer("!!!")
    with pytest.raises(QueryError):
        Steer(None, "x" * 201)


def test_cli_audio_plus_words(tmp_path, capsys) -> None:
    from soundseek.cli import main
    from soundseek.commands.demo import write_library
    from soundseek.indexer import index_paths, open_for_indexing

    write_library(tmp_path / "lib", takes=2)
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    index_paths(coll, [tmp_path / "lib"], enc, quiet=True)
    coll.close()
    example = tmp_path / "lib" / "rain" / "rain_take1.wav"
    base = ["search", "--collection", str(tmp_path / "coll"), "--json", "--top", "3"]
    assert main(base + ["--audio", str(example)]) == 0
    plain = [h["path"] for h in json.loads(capsys.readouterr().out)]
    assert main(base + ["--audio", str(example), "clock ticking", "--without", "rain"]) == 0
    steered = [h["path"] for h in json.loads(capsys.readouterr().out)]
    assert "clock_ticking" in steered[0] and steered != plain
    assert main(base + ["siren", "--without", "police"]) == 0
    paths = [h["path"] for h in json.loads(capsys.readouterr().out)]
    assert paths and not any("police" in p for p in paths)  # every siren here is named police
    assert main(["search", "--collection", str(tmp_path / "coll")]) == 2
    assert "--audio" in capsys.readouterr().err
