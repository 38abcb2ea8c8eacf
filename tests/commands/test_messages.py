"""What the CLI says: help with defaults and the CSV columns, small-data warnings, quiet native noise,
file names in errors, describe without storage words, and a demo that shows what search does with sound."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import tone, write_wav

from soundseek.cli import build_parser, main
from soundseek.commands.joint import small_data_warning
from soundseek.commands.learn import small_data_warning as learn_warning
from soundseek.native_log import filtered_stderr


def _subparser(name: str):  # type: ignore[no-untyped-def]
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices[name]


@pytest.mark.parametrize("command", ["train", "learn", "evaluate", "search"])
def test_every_option_is_explained(command):
    parser = _subparser(command)
    assert parser.description
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"{command} {action.option_strings[0]} has no help"
            if action.default not in (None, False, [], argparse_suppress()) and command in ("train", "learn"):
                assert "default" in action.help, f"{command} {action.option_strings[0]}: the default is not said"


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS


def test_train_help_documents_the_csv_columns(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for column in ("path", "label", "caption", "group", "fold"):
        assert column in out


def test_small_training_sets_are_warned_about():
    assert "median 2 per label" in small_data_warning(["dog", "dog", "cat", "cat", "bird", "bird"])
    assert small_data_warning(["dog"] * 5 + ["cat"] * 5) is None
    assert "captioned" in small_data_warning([f"caption {i}" for i in range(50)])
    assert small_data_warning([f"caption {i}" for i in range(300)]) is None
    assert "2 recordings" in learn_warning([30.0, 30.0])
    assert learn_warning([60.0] * 20) is None


def test_native_noise_is_dropped_and_the_rest_kept(capfd):
    with filtered_stderr():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"[src/libmpg123/id3.c:INT123_parse_new_id3():950] warning: ID3v2: unrealistic small tag\n")
        os.write(2, b"a real problem\n")
    sys.stderr.flush()
    err = capfd.readouterr().err
    assert err == "a real problem\n"


def test_missing_file_is_named(tmp_path, capsys):
    coll = tmp_path / "coll"
    write_wav(tmp_path / "lib" / "a" / "tone.wav", tone(440, 1.0))
    assert main(["index", str(tmp_path / "lib"), "--collection", str(coll), "--encoder", "mfcc", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["search", "--audio", str(tmp_path / "nope.wav"), "--collection", str(coll)]) == 2
    assert f"file not found: {tmp_path / 'nope.wav'}" in capsys.readouterr().err


def test_describe_leaves_out_storage_words(tmp_path):
    from soundseek.commands.demo import write_library
    from soundseek.indexer import index_paths, open_for_indexing
    from soundseek.search.describe import container_words, describe
    from soundseek.search.engine import SearchEngine

    root = Path("/r")
    paths = ["/r/esc/dog/1.wav", "/r/esc/cat/2.wav", "/r/field/x.wav", "/r/field/y.wav"]
    assert container_words(paths, [root]) == {"esc"}  # 'field' holds sounds, not folders of kinds
    write_library(tmp_path / "recordings" / "session", takes=1)
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    index_paths(coll, [tmp_path / "recordings"], enc, quiet=True)
    engine = SearchEngine(coll, audio_encoder=enc)
    query = write_wav(tmp_path / "q.wav", tone(1000, 3.0))
    words = {s.text for s in describe(engine, query, top=50) if s.source == "collection"}
    assert words and not words & {"recordings", "session"}  # the root's name and a container of kinds


def test_demo_shows_names_and_audio(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SOUNDSEEK_MODELS", str(tmp_path / "no-models"))
    from soundseek.commands.demo import run_demo

    assert run_demo(tmp_path / "demo", quiet=True) == 0
    out = capsys.readouterr().out
    assert "found by" in out and " name " in out and " audio " in out  # both kinds of hits are labelled
    assert "ZOOM0001.WAV" in out and "(really " in out           # the unnamed files, and what they are
    assert "search --audio ZOOM" in out                           # query by example without YAMNet
    assert "soundseek models pull yamnet" in out                  # how to get the full experience
