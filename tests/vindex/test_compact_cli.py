"""A collection indexed with `--index compact` searches through the CLI, its index trained and cached."""

from __future__ import annotations

import json

import pytest

from soundseek.cli import main
from soundseek.commands.demo import write_library
from soundseek.vindex import compact
from soundseek.vindex.compact import CompactConfig


@pytest.fixture()
def small_training(monkeypatch):
    """Train at 8 vectors (the default waits for 10,000; a test library has a few dozen segments)."""
    monkeypatch.setattr(compact, "DEFAULT_CONFIG", CompactConfig(dims=16, train_min=8))


def test_a_collection_indexed_compact_searches_from_the_cli(tmp_path, capsys, small_training):
    write_library(tmp_path / "lib", takes=3)
    coll = str(tmp_path / "coll")
    assert main(["index", str(tmp_path / "lib"), "--collection", coll, "--encoder", "mfcc", "--index", "compact",
                 "--quiet"]) == 0
    capsys.readouterr()
    query = str(tmp_path / "lib" / "rain" / "rain_take1.wav")
    assert main(["search", "--audio", query, "--collection", coll, "--json", "--top", "2"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2 and all("/rain/" in h["path"] for h in hits)
    # a filtered query re-scores the segments that pass with the index's stored vectors (vectors_of)
    assert main(["search", "--audio", query, "--collection", coll, "--json", "--top", "3", "--path", "*/wind/*"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and all("/wind/" in h["path"] for h in hits)

    from soundseek.search.engine import open_engine
    engine = open_engine(tmp_path / "coll")
    assert engine.coll.index_kind == "compact" and engine.index.kind == "compact" and engine.index.trained
    folder = next((tmp_path / "coll" / "index").glob("mfcc*"))
    assert json.loads((folder / "meta.json").read_text())["kind"] == "compact" and (folder / "compact.faiss").is_file()
