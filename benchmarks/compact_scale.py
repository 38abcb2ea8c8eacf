"""Acoustic index memory and speed at 100k-1M 1024-d vectors: bytes per segment, build time, query latency.

Data: synthetic clustered 1024-d unit vectors shaped like YAMNet embeddings. An isotropic mixture (as in
index_bench.py) has no low-dimensional structure, so PCA would throw away most of every vector; real
YAMNet vectors have a steep spectrum (measured on the ESC-50 + sfx-dev collections: the top 16 / 64 / 128 /
256 principal directions hold 60.8 / 87.5 / 94.9 / 98.8% of the variance; the mean is 0.56 of a vector's
length). So: n // 500 centres and their points (centre + 0.7 x noise) are drawn with standard deviation
i^-0.6 along axis i, a common mean is added, and every vector is L2-normalized: 16 / 64 / 128 / 256 PCA
dimensions then hold 65 / 88 / 94 / 96.5% of the variance, mean length 0.52. Its tail is heavier than
YAMNet's (96.5% vs 98.8% at 256), so it is harder for a PCA index than the real vectors: its recall
is a pessimistic figure. 200 held-out queries; ground truth is exact inner product.

Each kind is built in its own process (build time, peak RSS), saved, then loaded in a fresh process:
"loaded RSS" is the growth of that process's resident memory from before `load_index` to after it
(what a server holding the index pays), beside the index's own count of its bytes. Single queries are
timed one at a time on one thread (FAISS OpenMP 1 thread, BLAS 1 thread) at k = 10 and at k = 200 (the
depth the engine asks for a 10-result query). `--yamnet CLIP` also times YAMNet on a 5 s clip, the
other half of an audio query; with `--engine`, a whole `SearchEngine.search_audio` on that clip over
each saved index (a SQLite collection of its n segments, no class scores).

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/compact_scale.py \
        --plan 100000:exact,hnsw,compact 1000000:compact --work /tmp/scale \
        --yamnet ../shared/data/esc50/audio/1-100032-A-0.flac --json OUT.json --markdown OUT.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DIM = 1024
N_QUERIES = 200
MEAN_SHARE = 0.75   # length of the common mean before normalization (0.52 after; YAMNet: 0.56)
DECAY = 0.6         # per-axis standard deviation i^-DECAY


# -- data ----------------------------------------------------------------------------------------
def yamnet_like(n: int, *, rng: np.random.Generator, spread: float = 0.7) -> np.ndarray:
    """n unit vectors of a mixture with a YAMNet-like spectrum (see the module doc). Returns: (n, DIM)."""
    scale = (np.arange(1, DIM + 1) ** -DECAY).astype(np.float32)
    scale /= np.linalg.norm(scale)
    centres = rng.standard_normal((max(64, n // 500), DIM), dtype=np.float32) * scale
    mean = np.full(DIM, MEAN_SHARE / np.sqrt(DIM), dtype=np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for s in range(0, n, 100_000):
        e = min(n, s + 100_000)
        pts = centres[rng.integers(0, len(centres), e - s)]
        pts += spread * rng.standard_normal((e - s, DIM), dtype=np.float32) * scale
        pts += mean
        out[s:e] = pts / np.linalg.norm(pts, axis=1, keepdims=True)
    return out


def prepare(work: Path, n: int) -> Path:
    """Base vectors, queries and exact top-10 of n, cached as .npy files in work/data_n. Returns the folder."""
    folder = work / f"data_{n}"
    if (folder / "truth.npy").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    data = yamnet_like(n + N_QUERIES, rng=rng)
    base, queries = data[:n], np.ascontiguousarray(data[n:])
    np.save(folder / "base.npy", base)
    np.save(folder / "queries.npy", queries)
    best_s = np.full((N_QUERIES, 10), -np.inf, dtype=np.float32)
    best_i = np.zeros((N_QUERIES, 10), dtype=np.int64)
    for s in range(0, n, 100_000):
        sims = queries @ base[s : s + 100_000].T
        top = np.argpartition(-sims, 9, axis=1)[:, :10]
        cand_s = np.concatenate([best_s, np.take_along_axis(sims, top, axis=1)], axis=1)
        cand_i = np.concatenate([best_i, top + s], axis=1)
        order = np.argsort(-cand_s, axis=1)[:, :10]
        best_s, best_i = np.take_along_axis(cand_s, order, axis=1), np.take_along_axis(cand_i, order, axis=1)
    np.save(folder / "truth.npy", best_i)
    return folder


# -- the child processes ---------------------------------------------------------------------------
def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def build(kind: str, data: Path, out: Path) -> dict:
    import faiss

    from soundseek.vindex import make_index
    faiss.omp_set_num_threads(1)
    base = np.load(data / "base.npy", mmap_mode="r")
    start = time.perf_counter()
    index = make_index(DIM, kind=kind)
    index.add(np.arange(len(base), dtype=np.int64), np.asarray(base))
    seconds = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    index.save(out)
    parts = index.memory_parts() if hasattr(index, "memory_parts") else {}
    return {"build_s": round(seconds, 1), "build_peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
            "parts": parts, "disk_bytes": sum(f.stat().st_size for f in out.iterdir())}


def query(out: Path, data: Path) -> dict:
    import faiss

    from soundseek.vindex import load_index
    faiss.omp_set_num_threads(1)
    queries, truth = np.load(data / "queries.npy"), np.load(data / "truth.npy")
    before = rss_bytes()
    index = load_index(out)
    loaded = rss_bytes() - before
    row = {"loaded_rss_bytes": loaded, "n": len(index)}
    for k in (10, 200):
        index.search(queries[:1], k)
        times, found = [], []
        for q in queries:
            start = time.perf_counter()
            _, ids = index.search(q[None, :], k)
            times.append(time.perf_counter() - start)
            found.append(ids[0][:10])
        row[f"p50_ms_k{k}"] = round(1000 * float(np.percentile(times, 50)), 2)
        row[f"p95_ms_k{k}"] = round(1000 * float(np.percentile(times, 95)), 2)
        row[f"recall@10_k{k}"] = round(float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])), 4)
    if hasattr(index, "vectors_of"):  # what a filtered query pays: stored vectors of 10,000 spread ids
        ids = np.linspace(0, len(index) - 1, 10_000).astype(np.int64)
        index.vectors_of(ids[:10])
        start = time.perf_counter()
        index.vectors_of(ids)
        row["vectors_of_10k_ms"] = round(1000 * (time.perf_counter() - start), 1)
    if hasattr(index, "scores_of"):
        start = time.perf_counter()
        index.scores_of(ids, queries[0])
        row["scores_of_10k_ms"] = round(1000 * (time.perf_counter() - start), 1)
    return row


def yamnet(clip: Path) -> dict:
    from soundseek.audio import load_audio
    from soundseek.audio.segments import Span
    from soundseek.encoders import build_audio_encoder
    encoder = build_audio_encoder("yamnet")
    wave = load_audio(clip, sr=encoder.sample_rate)[: 5 * encoder.sample_rate]
    span = [Span(0.0, len(wave) / encoder.sample_rate)]
    for _ in range(3):
        encoder.encode_segments(wave, span)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        encoder.encode_segments(wave, span)
        times.append(time.perf_counter() - start)
    return {"clip_s": round(len(wave) / encoder.sample_rate, 2), "p50_ms": round(1000 * float(np.percentile(times, 50)), 2),
            "p95_ms": round(1000 * float(np.percentile(times, 95)), 2)}


def engine_audio(out: Path, clip: Path, n_queries: int = 20) -> dict:
    """End to end through `SearchEngine.search_audio` (YAMNet on the clip, the index, ranking, hits) over
    a real SQLite collection of the index's n segments (10 per sound; ids 0..n-1 as the index holds
    them) with the saved index loaded; no class scores. YAMNet alone is timed in the same process."""
    import tempfile

    from soundseek.search.engine import SearchEngine
    from soundseek.search.state import SearchState, load_segment_table
    from soundseek.store import Collection
    from soundseek.vindex import load_index
    index = load_index(out)
    with tempfile.TemporaryDirectory() as tmp:
        coll = Collection.create(Path(tmp) / "c", audio_encoder="yamnet", encoder_config={})
        with coll.conn:
            coll.conn.executemany("INSERT INTO sounds (id, path, size, mtime_ns, duration, sample_rate, channels, format, text,"
                                  " indexed_at) VALUES (?, ?, 0, 0, 27.5, 16000, 1, 'WAV', '', 0)",
                                  ((i + 1, f"/lib/s{i:07d}.wav") for i in range((len(index) + 9) // 10)))
            coll.conn.executemany("INSERT INTO segments (id, sound_id, start, end) VALUES (?, ?, ?, ?)",
                                  ((j, j // 10 + 1, 2.5 * (j % 10), 2.5 * (j % 10) + 5.0) for j in range(len(index))))
        engine = SearchEngine(coll, state=SearchState(load_segment_table(coll), index, None))
        engine.search_audio(clip, top=10)
        timed = {"search_audio": [], "embed_only": []}
        for _ in range(n_queries):
            start = time.perf_counter()
            engine.search_audio(clip, top=10)
            timed["search_audio"].append(time.perf_counter() - start)
            start = time.perf_counter()
            engine.embed_query_audio(clip)
            timed["embed_only"].append(time.perf_counter() - start)
        coll.close()
    return {f"{name}_{q}_ms": round(1000 * float(np.percentile(t, q)), 1) for name, t in timed.items() for q in (50, 95)}


def child(args: list[str]) -> dict:
    """Run one step in a fresh interpreter (clean RSS) and return its JSON answer."""
    done = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the run ------------------------------------------------------------------------------------------
def run(plan: list[tuple[int, list[str]]], work: Path, clip: Path | None, *, engine: bool = False) -> dict:
    rows = []
    for n, kinds in plan:
        data = prepare(work, n)
        for kind in kinds:
            out = work / f"{kind}_{n}"
            row = {"kind": kind, "n": n, **child(["build", kind, str(data), str(out)]),
                   **child(["query", str(out), str(data)]), "load_avg_1min": round(os.getloadavg()[0], 1)}
            if engine and clip:
                row.update(child(["engine", str(out), str(clip)]))
            print(json.dumps(row), flush=True)
            rows.append(row)
    return {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "rows": rows,
            "yamnet": child(["yamnet", str(clip)]) if clip else None}


def markdown(result: dict) -> str:
    lines = ["| n | kind | build s | loaded RSS B/seg | index B/seg | codes | graph | ids | PCA | float32 "
             "| p50 ms k=10 | p95 ms k=10 | recall@10 | p50 ms k=200 | p95 ms k=200 | vectors_of 10k ms | scores_of 10k ms | load avg |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        n, parts = r["n"], r.get("parts") or {}
        per = {k: f"{v / n:.0f}" for k, v in parts.items()}
        total = f"{sum(parts.values()) / n:.0f}" if parts else f"{r['disk_bytes'] / n:.0f} (disk)"
        lines.append(f"| {n:,} | {r['kind']} | {r['build_s']} | {r['loaded_rss_bytes'] / n:.0f} | {total} "
                     f"| {per.get('codes', '-')} | {per.get('graph', '-')} | {per.get('ids', '-')} | {per.get('pca', '-')} "
                     f"| {per.get('float32', '-')} | {r['p50_ms_k10']} | {r['p95_ms_k10']} | {r['recall@10_k10']:.3f} "
                     f"| {r['p50_ms_k200']} | {r['p95_ms_k200']} | {r.get('vectors_of_10k_ms', '-')} | {r.get('scores_of_10k_ms', '-')} | {r['load_avg_1min']} |")
    timed = [r for r in result["rows"] if "search_audio_50_ms" in r]
    if timed:
        lines += ["", "| n | kind | search_audio p50 / p95 ms | YAMNet alone p50 / p95 ms (same process) |", "|---:|---|---:|---:|"]
        lines += [f"| {r['n']:,} | {r['kind']} | {r['search_audio_50_ms']} / {r['search_audio_95_ms']} "
                  f"| {r['embed_only_50_ms']} / {r['embed_only_95_ms']} |" for r in timed]
    if result.get("yamnet"):
        y = result["yamnet"]
        lines += ["", f"YAMNet on a {y['clip_s']} s clip: p50 {y['p50_ms']} ms, p95 {y['p95_ms']} ms (1 thread)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        step, rest = sys.argv[2], sys.argv[3:]
        answer = {"build": lambda: build(rest[0], Path(rest[1]), Path(rest[2])),
                  "query": lambda: query(Path(rest[0]), Path(rest[1])),
                  "yamnet": lambda: yamnet(Path(rest[0])),
                  "engine": lambda: engine_audio(Path(rest[0]), Path(rest[1]))}[step]()
        print(json.dumps(answer))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", nargs="+", default=["100000:exact,hnsw,compact", "1000000:compact"],
                        help="N:KIND,KIND... (which kinds to build at which size)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/compact_scale"))
    parser.add_argument("--yamnet", type=Path, help="a clip to time YAMNet on (its first 5 s)")
    parser.add_argument("--engine", action="store_true",
                        help="also time SearchEngine.search_audio on the --yamnet clip over each saved index")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    plan = [(int(p.split(":")[0]), p.split(":")[1].split(",")) for p in args.plan]
    result = run(plan, args.work, args.yamnet, engine=args.engine)
    text = markdown(result)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
