"""Query by example with compact acoustic vectors against exact float32: sfx-dev and ESC-50 side by side.

The query-by-example setting of benchmarks/quality_ood.py (every sound with a query word queries the
others by its whole-file YAMNet embedding, best segment per sound, mAP and P@5; ESC-50 leaves out the
query's own recording), computed for the exact float32 vectors and for each `compact` index
configuration fitted on the collection itself (`train_min` lowered to the collection's size: the
default only trains at 10,000 vectors). Two rankings per configuration:
  full ranking: every segment scored with the index's stored vectors (`vectors_of`), i.e. the loss of
      the representation alone (PCA + quantization);
  top-200 search: only the index's `search(q, 200)` results are ranked (-inf elsewhere), which is the
      depth the engine asks for a 10-result query (max(50, 20 x top)); exact search at the same depth
      is its reference row.
Plus recall@10 of the index's search against exact search (segments). The collections are read, never
written; the query embeddings are cached in --cache (computed once with the collection's encoder).

    SOUNDSEEK_MODELS=... python benchmarks/compact_quality.py --sfx ../shared/data/sfx-dev \
        --sfx-collection /tmp/sfx_yam --esc50 ../shared/data/esc50 --esc50-collection /tmp/esc_yam \
        --json OUT.json --markdown OUT.md
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from quality_ood import Library, load_esc50, load_sfx  # benchmarks/ is the script's folder
from soundseek.audio import load_audio
from soundseek.audio.segments import Span
from soundseek.encoders import build_audio_encoder
from soundseek.metrics import average_precision, precision_at_k
from soundseek.store import Collection
from soundseek.vindex.compact import CompactConfig, CompactIndex
from soundseek.vindex.exact import ExactIndex

DEPTH = 200


@dataclass
class Data:
    """A library's segment vectors, each segment's sound (index into lib.paths), and the query vectors."""

    lib: Library
    ids: np.ndarray            # (n,) segment ids
    vectors: np.ndarray        # (n, dim) float32
    sound_of: np.ndarray       # (n,) index into lib.paths
    query_rows: np.ndarray     # (q,) index into lib.paths of each query sound
    queries: np.ndarray        # (q, dim) float32


def load_data(lib: Library, cache: Path) -> Data:
    coll = Collection.open(lib.collection)
    try:
        ids, vectors = coll.iter_vectors(coll.audio_encoder)
        cols = coll.segment_columns()
        path_of = dict(zip(cols[0], cols[7]))
        row_of = {p: i for i, p in enumerate(lib.paths)}
        sound_of = np.asarray([row_of[path_of[int(i)]] for i in ids])
        rows = np.asarray([i for i, w in enumerate(lib.words) if w & set(lib.queries)])
        queries = query_vectors(coll, [lib.paths[i] for i in rows], cache)
    finally:
        coll.close()
    return Data(lib, ids, vectors, sound_of, rows, queries)


def query_vectors(coll: Collection, paths: list[str], cache: Path) -> np.ndarray:
    """Whole-file embeddings of `paths` as `SearchEngine.embed_query_audio` makes them, cached. Returns (q, dim)."""
    if cache.is_file():
        with np.load(cache) as data:
            if list(data["paths"]) == paths:
                return data["vectors"]
    encoder = build_audio_encoder(coll.audio_encoder, coll.audio_encoder_config)
    out = []
    for path in paths:
        wave = load_audio(path, sr=encoder.sample_rate)
        out.append(encoder.encode_segments(wave, [Span(0.0, len(wave) / encoder.sample_rate)]).vectors[0])
    vectors = np.stack(out).astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, paths=np.asarray(paths), vectors=vectors)
    return vectors


def qbe_metrics(data: Data, segment_scores: np.ndarray) -> dict[str, float]:
    """mAP and P@5 of query by example, as quality_ood.query_by_example. segment_scores: (q, n)."""
    lib, groups = data.lib, np.asarray(data.lib.groups, dtype=object)
    aps, p5 = [], []
    for qi, i in enumerate(data.query_rows):
        scores = np.full(len(lib.paths), -np.inf)
        np.maximum.at(scores, data.sound_of, segment_scores[qi].astype(np.float64))
        keep = groups != groups[i]
        words = lib.words[i] & set(lib.queries)
        rel = np.asarray([bool(words & w) for w in lib.words])[keep]
        if not rel.any():
            continue
        order = np.argsort(-scores[keep], kind="stable")
        aps.append(average_precision(rel[order]))
        p5.append(precision_at_k(rel[order], 5))
    return {"mAP": float(np.mean(aps)), "P@5": float(np.mean(p5)), "queries": len(aps)}


def searched_scores(index, data: Data) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Scores of the index's top-DEPTH results per query, -inf elsewhere. Returns (q, n)."""
    out = np.full((len(data.queries), len(data.ids)), -np.inf, dtype=np.float32)
    sims, ids = index.search(data.queries, min(DEPTH, len(data.ids)))
    pos = np.searchsorted(data.ids, np.where(ids >= 0, ids, data.ids[0]))
    for row in range(len(out)):
        ok = ids[row] >= 0
        out[row, pos[row][ok]] = sims[row][ok]
    return out


def recall10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / truth.shape[1] for f, t in zip(found, truth)]))


def parse_config(text: str, n: int) -> CompactConfig:
    dims, codec, rerank = text.split(":")
    return CompactConfig(dims=int(dims), codec=codec, rerank=int(rerank), train_min=min(n, 10_000))


def run_library(data: Data, configs: list[str]) -> dict[str, dict]:
    exact = ExactIndex(data.vectors.shape[1])
    exact.add(data.ids, data.vectors)
    truth = exact.search(data.queries, 10)[1]
    rows = {"exact float32": {"full": qbe_metrics(data, data.queries @ data.vectors.T),
                              "top200": qbe_metrics(data, searched_scores(exact, data)), "recall@10": 1.0,
                              "bytes_per_vector": data.vectors.shape[1] * 4}}
    for text in configs:
        index = CompactIndex(data.vectors.shape[1], parse_config(text, len(data.ids)))
        start = time.perf_counter()
        index.add(data.ids, data.vectors)
        build = time.perf_counter() - start
        stored = index.vectors_of(data.ids)
        rows[f"compact {text}"] = {
            "full": qbe_metrics(data, data.queries @ stored.T),
            "top200": qbe_metrics(data, searched_scores(index, data)),
            "recall@10": recall10(index.search(data.queries, 10)[1], truth),
            "bytes_per_vector": round(index.memory_bytes() / len(data.ids), 1), "build_s": round(build, 2)}
        print(data.lib.name, text, json.dumps(rows[f"compact {text}"]), flush=True)
    return rows


def markdown(results: dict[str, dict[str, dict]]) -> str:
    names = list(results)
    head = "| index (dims:codec:rerank) | " + " | ".join(
        f"{n} mAP full | {n} mAP top-200 | {n} P@5 top-200 | {n} recall@10" for n in names) + " |"
    lines = [head, "|---|" + "---:|" * (4 * len(names))]
    for row in results[names[0]]:
        cells = []
        for n in names:
            r = results[n][row]
            cells += [f"{r['full']['mAP']:.4f}", f"{r['top200']['mAP']:.4f}", f"{r['top200']['P@5']:.4f}",
                      f"{r['recall@10']:.3f}"]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sfx", type=Path, required=True)
    parser.add_argument("--sfx-collection", type=Path, required=True)
    parser.add_argument("--esc50", type=Path, required=True)
    parser.add_argument("--esc50-collection", type=Path, required=True)
    parser.add_argument("--configs", nargs="+", default=["256:sq8:0", "256:sq8:4", "128:sq8:0", "384:sq8:0", "256:sq4:0"],
                        help="compact configurations as DIMS:CODEC:RERANK (codec sq8, sq4 or fp16)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/compact_quality_queries"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    libs = [load_sfx(args.sfx, args.sfx_collection), load_esc50(args.esc50, args.esc50_collection)]
    results = {lib.name: run_library(load_data(lib, args.cache / f"{lib.name}.npz"), args.configs) for lib in libs}
    text = markdown(results)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
