"""Text and audio query latency (p50/p95) and peak memory at 10k, 100k and 1M segments.

Usage:
    python benchmarks/query_latency.py --sizes 10000 100000 1000000 [--yamnet-dir ../shared/models]

Each size runs in its own process (clean peak-memory figures). The collection's metadata is real
SQLite (sounds of 10 segments each, 30% of them with descriptive words for FTS5 and text similarity),
while the per-segment data are synthetic: sparse AudioSet-like class scores (521, 8-bit codes) and unit
1024-d acoustic vectors (clustered). Text queries include MiniLM encoding: each query string is used
once (cold encoder cache). Audio queries include embedding a 5 s query clip with the collection's
encoder (YAMNet when --yamnet-dir is given) and the vector-index search (exact below 50k, HNSW above);
they are skipped (null) when --dim differs from the encoder's dimension.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WORDS = ("dog bark rain thunder door creak glass break engine car horn bird song wind footsteps water "
         "drip clock tick bell siren applause crowd laugh baby cry keyboard typing train whistle").split()


def build(root: Path, n_segments: int, dim: int, yamnet_dir: str | None, seed: int = 0, kind: str | None = None):  # type: ignore[no-untyped-def]
    from soundseek.encoders.yamnet import load_class_names
    from soundseek.search.class_codes import ClassScores, encode
    from soundseek.search.engine import SearchEngine
    from soundseek.search.state import SearchState, load_segment_table
    from soundseek.search.zeroshot import log_scores
    from soundseek.store import Collection
    from soundseek.vindex import make_index

    rng = np.random.default_rng(seed)
    encoder = "yamnet" if yamnet_dir else "mfcc"
    coll = Collection.create(root, audio_encoder=encoder, encoder_config={"model_dir": yamnet_dir} if yamnet_dir else {})
    names = load_class_names(Path(yamnet_dir or "../shared/models") / "yamnet_class_map.csv")
    coll.set_meta("class_names", names)
    _fill_metadata(coll, n_segments, rng)
    table = load_segment_table(coll)
    codes = np.zeros((n_segments, len(names)), dtype=np.uint8)
    for start in range(0, n_segments, 100_000):
        stop = min(n_segments, start + 100_000)
        block = rng.random((stop - start, len(names)), dtype=np.float32) ** 12  # mostly tiny, a few large
        codes[start:stop] = encode(log_scores(block))
    centres = rng.standard_normal((200, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, 200, n_segments)] + 0.5 * rng.standard_normal((n_segments, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    started = time.perf_counter()
    index = make_index(dim, expected_size=n_segments, kind=kind)
    index.add(table.ids, vectors)
    build_s = time.perf_counter() - started
    del vectors
    engine = SearchEngine(coll, state=SearchState(table, index, ClassScores(codes)))
    # the synthetic vectors live in the index only, not in the store: no library model can be fitted
    # (benchmarks/text_candidates.py measures text search with one, on load_test.py's collections)
    engine._library = "none: synthetic vectors are not stored"
    return engine, build_s


def _fill_metadata(coll, n_segments: int, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    n_sounds = n_segments // 10
    with coll.conn:
        coll.conn.executemany(
            "INSERT INTO sounds (id, path, size, mtime_ns, duration, sample_rate, channels, format, text, indexed_at)"
            " VALUES (?, ?, 0, 0, 27.5, 44100, 2, 'WAV', ?, 0)",
            ((i + 1, f"/lib/s{i:07d}.wav", " ".join(rng.choice(WORDS, 3)) if i % 10 < 3 else "") for i in range(n_sounds)),
        )
        coll.conn.executemany("INSERT INTO segments (id, sound_id, start, end) VALUES (?, ?, ?, ?)",
                              ((j + 1, j // 10 + 1, 2.5 * (j % 10), 2.5 * (j % 10) + 5.0) for j in range(n_segments)))
        coll.conn.executemany("INSERT INTO sound_text (rowid, words) SELECT id, text FROM sounds WHERE text != ''", [()])


def measure(n_segments: int, dim: int, yamnet_dir: str | None, n_queries: int, kind: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        engine, build_s = build(Path(tmp) / "c", n_segments, dim, yamnet_dir, kind=kind)
        engine.search_text("warm up the encoders")
        text_ms = []
        for i in range(n_queries):
            query = f"{WORDS[i % len(WORDS)]} {WORDS[(i * 7 + 3) % len(WORDS)]} number {i}"  # each string new
            started = time.perf_counter()
            engine.search_text(query, top=10)
            text_ms.append(1000 * (time.perf_counter() - started))
        clip = Path(tmp) / "q.wav"
        _write_query_clip(clip)
        audio_ms = []
        same_space = engine.audio_encoder.dim == dim  # else the acoustic index is synthetic-only
        for _ in range(max(10, n_queries // 4) if same_space else 0):
            started = time.perf_counter()
            engine.search_audio(clip, top=10)
            audio_ms.append(1000 * (time.perf_counter() - started))
    return {
        "segments": n_segments, "dim": dim, "index": engine.index.kind, "index_build_s": round(build_s, 1),
        "text_p50_ms": round(float(np.percentile(text_ms, 50)), 1), "text_p95_ms": round(float(np.percentile(text_ms, 95)), 1),
        "audio_p50_ms": round(float(np.percentile(audio_ms, 50)), 1) if audio_ms else None,
        "audio_p95_ms": round(float(np.percentile(audio_ms, 95)), 1) if audio_ms else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _write_query_clip(path: Path) -> None:
    import soundfile as sf

    from soundseek.audio.synth import SR, make_sound

    sf.write(str(path), make_sound("police_siren", 7)[: 5 * SR], SR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--yamnet-dir", default="../shared/models")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--kind", help="vector index backend (default: by size, as in a real collection)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.sizes[0], args.dim, args.yamnet_dir, args.queries, args.kind)))
        return
    results = []
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", "--sizes", str(size), "--dim", str(args.dim),
                              "--yamnet-dir", args.yamnet_dir, "--queries", str(args.queries)]
                             + (["--kind", args.kind] if args.kind else []),
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
