"""Vector store figures for issue 14: FAISS HNSW (the embedded store's ANN index) vs Milvus (milvus-lite
file in-process, and milvus-lite server over gRPC), same machine, same data, one run.

Usage:
    python benchmarks/store_bench.py --sizes 100000 --dims 128 1024 [--queries 200] [--out FILE]
    python benchmarks/store_bench.py --sizes 1000000 --dims 128 1024   # the issue's size (hours here)

Data: `n` synthetic unit segments (200 Gaussian clusters) with the fields Milvus rows carry (4 segments
per sound; duration uniform 1-120 s; sample rate one of 16000/44100/48000; one of 20 tags). Queries
are perturbed stored vectors with the filter `sample_rate == 44100 and duration <= 60` (about 1/6 of
the segments pass). Ground truth: exact inner product over the segments that pass, in NumPy.

- load: from vectors in memory to the first answered search (FAISS: `HnswIndex.add`; Milvus:
  `MilvusSegments.upsert` in batches of 2000, flush, first search, through soundseek's store code).
- query p50/p99: one query at a time, top 10, with the filter (FAISS: an `IDSelectorBitmap` built from
  the filter mask, included in the time; and, on fewer queries, what `SearchEngine` does today with a
  filter on the embedded store: search k = n, then mask; Milvus: the filter expression).
- recall@10: share of the exact filtered top 10 found.
- memory: resident-set growth of the process that holds the index (for the server: the server's).
Every backend uses HNSW with M=32, efConstruction=80, efSearch=64 over inner product.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FILTER = "sample_rate == 44100 and duration <= 60.0"


def rss_mb(pid: int | None = None) -> float:
    """Resident set size of a process (this one by default), MB."""
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_data(n: int, dim: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, dim)).astype(np.float32)
    vectors = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 50_000):
        stop = min(n, start + 50_000)
        block = centres[rng.integers(0, 200, stop - start)] + 0.5 * rng.standard_normal((stop - start, dim), dtype=np.float32)
        vectors[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    sounds = np.arange(n, dtype=np.int64) // 4
    duration = rng.uniform(1, 120, sounds[-1] + 1)[sounds]
    rate = rng.choice([16000, 44100, 48000], sounds[-1] + 1)[sounds]
    tags = rng.integers(0, 20, n)
    return {"vectors": vectors, "sounds": sounds, "duration": duration, "rate": rate, "tags": tags,
            "mask": (rate == 44100) & (duration <= 60.0)}


def make_queries(data: dict, count: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Queries and the exact filtered top 10 of each. Returns (q, dim) float32, (q, 10) int64."""
    rng = np.random.default_rng(seed)
    vectors = data["vectors"]
    q = vectors[rng.integers(0, len(vectors), count)] + 0.3 * rng.standard_normal((count, vectors.shape[1]), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    allowed = np.flatnonzero(data["mask"])
    sims = q @ vectors[allowed].T
    top = np.argsort(-sims, axis=1)[:, :10]
    return q.astype(np.float32), allowed[top]


def rows_of(data: dict, start: int, stop: int):  # type: ignore[no-untyped-def]
    from soundseek.store.milvus import SegmentRows

    n = stop - start
    return SegmentRows(np.arange(start, stop, dtype=np.int64), data["sounds"][start:stop], np.zeros(n), np.full(n, 5.0),
                       data["duration"][start:stop], data["rate"][start:stop], np.ones(n, dtype=np.int64),
                       [f"/archive/{s}.wav" for s in data["sounds"][start:stop]],
                       [[f"tag{t}"] for t in data["tags"][start:stop]], np.ones(n, dtype=np.int64),
                       data["vectors"][start:stop])


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t.tolist())) / len(t) for f, t in zip(found, truth)]))


def summary(name: str, load_s: float, lat: list[float], found: list[list[int]], truth: np.ndarray, mem: float) -> dict:
    ms = np.asarray(lat) * 1000
    return {"store": name, "load_s": round(load_s, 2), "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2), "recall_at_10": round(recall(found, truth), 4),
            "memory_mb": round(mem, 1)}


def bench_faiss(data: dict, queries: np.ndarray, truth: np.ndarray, engine_queries: int) -> list[dict]:
    import faiss

    from soundseek.search.by_example import FILTER_BLOCK
    from soundseek.vindex.hnsw import HnswIndex

    before = rss_mb()
    started = time.perf_counter()
    index = HnswIndex(data["vectors"].shape[1])
    index.add(np.arange(len(data["vectors"]), dtype=np.int64), data["vectors"])
    load = time.perf_counter() - started
    mem = rss_mb() - before
    lat, found = [], []
    for q in queries:
        t = time.perf_counter()
        mask = (data["rate"] == 44100) & (data["duration"] <= 60.0)  # the filter, evaluated per query
        sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(np.packbits(mask, bitorder="little")))
        _, pos = index._index.search(q[None, :], 10, params=faiss.SearchParametersHNSW(sel=sel, efSearch=64))
        lat.append(time.perf_counter() - t)
        found.append([int(p) for p in pos[0] if p >= 0])
    rows = [summary("faiss-hnsw + IDSelector (ef 64)", load, lat, found, truth, mem)]
    lat, found = [], []
    for q in queries[:engine_queries]:
        t = time.perf_counter()
        mask = (data["rate"] == 44100) & (data["duration"] <= 60.0)
        scores, ids = index.search(q[None, :], len(mask))  # what SearchEngine does with a filter: k = n, then mask
        keep = ids[0][(ids[0] >= 0)]
        keep = keep[mask[keep]][:10]
        lat.append(time.perf_counter() - t)
        found.append([int(i) for i in keep])
    rows.append(summary("faiss-hnsw, engine's filtered path before (k = n, then mask)", load, lat, found,
                        truth[:engine_queries], mem))
    lat, found = [], []
    for q in queries:
        t = time.perf_counter()
        mask = (data["rate"] == 44100) & (data["duration"] <= 60.0)
        rows_in = np.flatnonzero(mask)  # what SearchEngine does now: exact cosine of the rows that pass
        scores = np.concatenate([index.vectors_of(rows_in[i : i + FILTER_BLOCK]) @ q
                                 for i in range(0, len(rows_in), FILTER_BLOCK)])
        top = np.argpartition(-scores, 9)[:10]
        keep = rows_in[top[np.argsort(-scores[top])]]
        lat.append(time.perf_counter() - t)
        found.append([int(i) for i in keep])
    rows.append(summary("faiss-hnsw, engine's filtered path after (exact over the passing rows)", load, lat,
                        found, truth, mem))
    return rows


def bench_milvus(name: str, uri: str, data: dict, queries: np.ndarray, truth: np.ndarray, server_pid: int | None) -> dict:
    from soundseek.store.milvus import BATCH, MilvusSegments, StoreSpec

    store = MilvusSegments(StoreSpec(uri, "bench"))
    before = rss_mb(server_pid)
    started = time.perf_counter()
    for start in range(0, len(data["vectors"]), BATCH):
        store.upsert(rows_of(data, start, min(len(data["vectors"]), start + BATCH)))
    store.client.flush("bench")
    store.search(queries[:1], 10, expr=FILTER)
    load = time.perf_counter() - started
    mem = rss_mb(server_pid) - before
    lat, found = [], []
    for q in queries:
        t = time.perf_counter()
        hits = store.search(q[None, :], 10, expr=FILTER)[0]
        lat.append(time.perf_counter() - t)
        found.append([i for i, _ in hits])
    store.client.drop_collection("bench")
    store.close()
    return summary(name, load, lat, found, truth, mem)


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """A milvus-lite gRPC server on a free 127.0.0.1 port, polled until it answers (at most 120 s)."""
    from pymilvus import MilvusClient

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 120
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            MilvusClient(uri, timeout=5).list_collections()
            return proc, uri
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("milvus-lite server did not start")
            try:
                proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass


def run_one(n: int, dim: int, count: int, stores: list[str], engine_queries: int) -> list[dict]:
    data = make_data(n, dim)
    queries, truth = make_queries(data, count)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        if "faiss" in stores:
            out.extend(bench_faiss(data, queries, truth, engine_queries))
        if "lite" in stores:
            out.append(bench_milvus("milvus-lite file (in-process)", str(Path(tmp) / "bench.db"), data, queries, truth, None))
        if "server" in stores:
            proc, uri = start_server(Path(tmp) / "server")
            try:
                out.append(bench_milvus("milvus-lite server (gRPC)", uri, data, queries, truth, proc.pid))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    for row in out:
        row.update({"segments": n, "dim": dim, "filter_pass": round(float(data["mask"].mean()), 3)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--dims", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--engine-queries", type=int, default=50,
                        help="queries for the engine's k = n filtered path (it walks the whole graph)")
    parser.add_argument("--stores", nargs="+", default=["faiss", "lite", "server"], choices=["faiss", "lite", "server"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/store_bench.json"))
    args = parser.parse_args()
    rows: list[dict] = []
    meta = {"command": " ".join(["python", *sys.argv]), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "date": time.strftime("%Y-%m-%d")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for dim in args.dims:
        for n in args.sizes:
            for row in run_one(n, dim, args.queries, args.stores, args.engine_queries):
                row["load_average_1min"] = round(os.getloadavg()[0], 1)
                print(json.dumps(row), flush=True)
                rows.append(row)
            args.out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2))  # kept if a later size dies


if __name__ == "__main__":
    main()
