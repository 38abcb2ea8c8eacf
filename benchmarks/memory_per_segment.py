"""Bytes per segment of a loaded collection, by component, and the process's resident memory.

Usage:
    python benchmarks/memory_per_segment.py --collection C [--queries 50] [--json OUT]

Opens the collection's search engine as `soundseek serve` does, answers `--queries` never-seen text
queries (so every lazily built structure exists: candidate lists, library model, class codes), then
reports the size of each component (its arrays' bytes; FAISS indexes by their serialized size, which is
their memory within a few percent) divided by the number of segments, and the resident set size
before opening and after the queries: in all (VmRSS), anonymous (RssAnon: the process's own memory)
and file-backed (RssFile: pages of memory-mapped files, here the 8-bit class scores and the library
model's predicted-word codes; shared by the processes that map the same file and reclaimable by the
kernel, re-read from disk when touched again). The float32 text encoder's weights are in the baseline;
the int8 query encoder is opened by the first query, so its ~30 MB are in the growth. The query
latency is that of the queries after the first (which builds the lazily built structures).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


RSS_FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem")


def rss_mb() -> dict[str, float]:
    """The process's resident memory in MiB: in all, anonymous, file-backed, shared memory (Linux)."""
    out = dict.fromkeys(RSS_FIELDS, float("nan"))
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in out:
            out[key] = int(value.split()[0]) / 1024
    return out


def _faiss_bytes(index: object) -> int:
    import faiss

    return int(len(faiss.serialize_index(index)))


def _inner_bytes(search) -> int:  # type: ignore[no-untyped-def]
    """An InnerProductSearch: its matrix, or its codes, parameters and lists."""
    if search.matrix is not None:
        return int(search.matrix.nbytes)
    return _arrays(search.codes, search.low, search.step, search.projection) + _faiss_bytes(search.ivf)


def _arrays(*arrays: object) -> int:
    return int(sum(a.nbytes for a in arrays if isinstance(a, np.ndarray)))


def components(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Bytes held by each part of a warmed-up engine."""
    t = engine.table
    paths = {id(p): len(p) + 49 for p in t.paths}  # CPython str: 49 bytes + 1 per ASCII character
    out = {"segment table": _arrays(t.ids, t.sound_ids, t.starts, t.ends, t.durations, t.sample_rates, t.channels,
                                    t.sound_rows, t.sounds, getattr(t, "_by_sound", None), getattr(t, "_sound_bounds", None))
           + 8 * len(t.paths) + sum(paths.values())}
    index = engine.index
    inner = getattr(index, "_index", None)
    if inner is not None and type(inner).__module__.startswith("faiss"):
        out["acoustic index"] = _faiss_bytes(inner) + _arrays(getattr(index, "_labels", None), getattr(index, "_alive", None))
    else:
        out["acoustic index"] = _arrays(*(v for v in vars(index).values() if isinstance(v, np.ndarray)))
    if engine.class_codes is not None:
        out["class scores (8-bit codes)"] = int(engine.class_codes.codes.nbytes)
    if engine._class_major is not None:
        out["class scores, class-major float32 (exact path)"] = int(engine._class_major.nbytes)
    lists = engine._text_lists
    if lists is not None:
        out["candidate lists: classes"] = _arrays(lists.class_lists)
        words = _arrays(lists.sounds_start, lists.sounds)
        if lists.texts is not None:
            words += _inner_bytes(lists.texts)
        out["sounds' words (distinct texts + lists)"] = words
        lib = lists.library
        if lib is not None:
            m = lib.model
            out["library model: neighbours"] = _arrays(m.segment_ids, m.neighbours, m.neighbour_sims, lib.row_of,
                                                       lib.model_row, lib.slots_start, lib.slots) + _inner_bytes(lib.examples)
            out["library model: predicted words"] = _inner_bytes(lib.ridge) + (
                _arrays(m.predicted) if m.predicted is not None and lib.ridge.matrix is not m.predicted else 0)
    keywords = getattr(engine, "_keywords", None)
    if keywords is not None:
        out["keywords (BM25 postings in memory)"] = _arrays(keywords.terms, keywords.starts, keywords.docs, keywords.idf,
                                                            keywords.weights)
    if engine._sound_text_vectors is not None:
        out["sounds' words (embeddings, exact path)"] = _arrays(engine._sound_text_vectors, engine._sound_text_rows)
    return out


def main() -> int:
    from synthetic_library import unique_query

    from soundseek.search.engine import open_engine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collection", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from soundseek.encoders import build_text_encoder

    encoder = build_text_encoder("minilm")
    encoder.encode_text(["warm up"])
    before = rss_mb()
    started = time.perf_counter()
    engine = open_engine(args.collection)
    engine._text_encoder = encoder
    rng = random.Random(0)
    seconds = []
    for _ in range(args.queries):
        query = unique_query(rng)
        start = time.perf_counter()
        engine.search_text(query)
        seconds.append(time.perf_counter() - start)
    after = rss_mb()  # before `components`, whose FAISS serializations allocate (and free) hundreds of MB
    n = len(engine.table)
    parts = components(engine)
    timed = np.asarray(seconds[1:] or seconds) * 1000
    result = {"collection": str(args.collection), "segments": n, "load_and_queries_s": round(time.perf_counter() - started, 1),
              "bytes_per_segment": {k: round(v / n, 1) for k, v in parts.items()},
              "components_total_per_segment": round(sum(parts.values()) / n, 1),
              "rss_mb_before": {k: round(v) for k, v in before.items()},
              "rss_mb_after": {k: round(v) for k, v in after.items()},
              "rss_delta_per_segment": round((after["VmRSS"] - before["VmRSS"]) * 1024 * 1024 / n, 1),
              "rss_anon_delta_per_segment": round((after["RssAnon"] - before["RssAnon"]) * 1024 * 1024 / n, 1),
              "rss_file_delta_per_segment": round((after["RssFile"] - before["RssFile"]) * 1024 * 1024 / n, 1),
              "rss_after_per_segment": round(after["VmRSS"] * 1024 * 1024 / n, 1),
              "query_p50_ms": round(float(np.percentile(timed, 50)), 1),
              "query_p95_ms": round(float(np.percentile(timed, 95)), 1)}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
