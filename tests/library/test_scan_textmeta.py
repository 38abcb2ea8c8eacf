from __future__ import annotations

import json
import os

from conftest import tone, write_wav

from soundseek.library.scan import scan
from soundseek.library.textmeta import (
    load_metadata_csv,
    name_words,
    sidecar_text,
    sound_text,
)


def test_scan_recurses_skips_hidden_and_non_audio_and_survives_symlink_loops(tmp_path):
    lib = tmp_path / "lib"
    write_wav(lib / "a" / "one.wav", tone(300, 0.5))
    write_wav(lib / "a" / "b" / "two.WAV", tone(300, 0.5))
    write_wav(lib / ".hidden" / "three.wav", tone(300, 0.5))
    (lib / "a" / "readme.txt").write_text("hi")
    os.symlink(lib, lib / "a" / "loop")  # a loop back to the top
    found = sorted(f.path.name for f in scan([lib]))
    assert found == ["one.wav", "two.WAV"]


def test_scan_single_file_root(tmp_path):
    path = write_wav(tmp_path / "x.wav", tone(300, 0.5))
    assert [f.path for f in scan([path])] == [path]


def test_name_words(tmp_path):
    root = tmp_path / "library"
    path = root / "Foley" / "glassShatter_take03-close.wav"
    assert name_words(path, root) == ["foley", "glass", "shatter", "close"]


def test_sidecars(tmp_path):
    wav = write_wav(tmp_path / "door.wav", tone(300, 0.5))
    wav.with_suffix(".json").write_text(json.dumps({"description": "old wooden door", "tags": ["creak", "hinge"]}))
    assert sidecar_text(wav) == "old wooden door. creak, hinge"
    wav.with_suffix(".txt").write_text("a creaky door\n")
    assert sidecar_text(wav) == "a creaky door"


def test_metadata_csv_relative_and_bare_names(tmp_path):
    wav = write_wav(tmp_path / "sub" / "x1.wav", tone(300, 0.5))
    csv_path = tmp_path / "meta.csv"
    csv_path.write_text("path,description,tags\nsub/x1.wav,thunder far away,storm;rain\n")
    meta = load_metadata_csv(csv_path)
    text = sound_text(wav, tmp_path, meta)
    assert "thunder far away" in text and "storm;rain" in text
