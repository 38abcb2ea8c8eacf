"""A small generated library and a snapshot of everything a search can see in a collection, to check
that two ways of indexing (in process, worker processes, Ray) store the same collection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import chirp, noise, tone, write_wav

from soundseek.indexer import index_paths, open_for_indexing
from soundseek.store import Collection
from soundseek.store.ingest import fingerprints


def make_library(root: Path) -> Path:
    """12 sounds of 1-11 s (so 1 to 3 segments each), words in a sidecar, and two files that fail."""
    for i in range(10):
        seconds = 1.0 + i
        wave = tone(200 + 90 * i, seconds) if i % 3 else chirp(300, 3000, seconds) + noise(seconds, amp=0.02, seed=i)
        write_wav(root / ("birds" if i % 2 else "engines") / f"s{i:02d}.wav", wave)
    (root / "birds" / "s01.txt").write_text("a blackbird singing at dawn")
    write_wav(root / "silent.wav", np.zeros(16000, np.float32))
    (root / "broken.flac").write_bytes(np.random.default_rng(3).bytes(3000))
    return root


def snapshot(coll_dir: Path) -> dict:
    """Everything a search can see, keyed by path (ids differ between runs and do not matter)."""
    coll = Collection.open(coll_dir)
    prints = fingerprints(coll)
    out = {"failures": sorted(coll.failures()), "sounds": {}}
    for s in coll.sounds(limit=1000):
        seg_ids = coll.segment_ids_of_sound(s.id)
        segs = coll.segments(seg_ids)
        tags = coll.tags_of(seg_ids)
        out["sounds"][s.path] = {
            "record": (s.size, s.mtime_ns, round(s.duration, 6), s.sample_rate, s.channels, s.format, s.text),
            "spans": [(g.start, g.end) for g in segs],
            "vectors": coll.vectors_for(coll.audio_encoder, seg_ids),
            "tags": [tags[i] for i in seg_ids],
            "fingerprints": prints[s.id],
        }
    coll.close()
    return out


def assert_same_collection(a: dict, b: dict) -> None:
    assert a["failures"] == b["failures"]
    assert sorted(a["sounds"]) == sorted(b["sounds"])
    for path, sa in a["sounds"].items():
        sb = b["sounds"][path]
        for key in ("record", "spans", "tags", "fingerprints"):
            assert sa[key] == sb[key], (path, key)
        np.testing.assert_allclose(sa["vectors"], sb["vectors"], rtol=1e-5, atol=1e-6)


def plain_index(lib: Path, coll_dir: Path) -> dict:
    coll, enc = open_for_indexing(coll_dir, "mfcc", None, say=lambda m: None)
    index_paths(coll, [lib], enc, quiet=True)
    coll.close()
    return snapshot(coll_dir)
