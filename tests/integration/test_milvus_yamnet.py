"""Embedded vs Milvus (milvus-lite file) on real ESC-50 clips with YAMNet: the same top 10."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from soundseek.indexer import index_paths, open_for_indexing
from soundseek.search.engine import Filters, SearchEngine
from soundseek.store.milvus import parse_store

pytestmark = pytest.mark.shared
pytest.importorskip("pymilvus", reason="the Milvus store needs the 'scale' extra")

CATEGORIES = ["dog", "rain", "church_bells", "crying_baby", "clock_tick", "siren", "door_wood_knock",
              "keyboard_typing", "rooster", "sea_waves"]


@pytest.fixture(scope="module")
def engines(shared_dir, yamnet_dir, tmp_path_factory):
    """Two fold-1 clips of each of ten categories, indexed with YAMNet into both stores."""
    root = tmp_path_factory.mktemp("esc_milvus")
    with open(shared_dir / "data/esc50/meta/esc50.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["fold"] == "1" and r["category"] in CATEGORIES]
    for cat in CATEGORIES:
        for row in [r for r in rows if r["category"] == cat][:2]:
            (root / "lib").mkdir(exist_ok=True)
            shutil.copy(shared_dir / "data/esc50/audio" / row["filename"], root / "lib" / row["filename"])
    out = []
    for name, store in [("embedded", None), ("milvus", f"milvus://{root / 'vectors.db'}")]:
        coll, enc = open_for_indexing(root / name, "yamnet", {"model_dir": str(yamnet_dir)})
        if store:
            coll.set_store(parse_store(store, root / name))
        assert not index_paths(coll, [root / "lib"], enc, quiet=True).failed
        out.append(SearchEngine(coll, audio_encoder=enc, text_encoder=out[0].text_encoder if out else None))
    out[1]._matcher = out[0].matcher  # the same class-name matcher: embedding 521 phrases once is enough
    return root, out[0], out[1]


def _top(hits) -> list:
    return [(Path(h.path).name, h.start, h.end, round(h.score, 4), h.tags) for h in hits]


def test_same_top_10_on_both_stores(engines):
    root, embedded, milvus = engines
    for query in ["dog", "rain", "a baby crying", "bells"]:
        assert _top(milvus.search_text(query, top=10)) == _top(embedded.search_text(query, top=10))
    for clip in sorted((root / "lib").glob("*.flac"))[::5]:
        for filters in [None, Filters(tag="Dog"), Filters(tag="Speech", max_duration=5.0)]:
            got = _top(milvus.search_audio(clip, top=10, filters=filters))
            assert got == _top(embedded.search_audio(clip, top=10, filters=filters))
    assert _top(milvus.search_audio(clip, top=10))  # the last clip finds neighbours
