"""Vector index benchmark: build time, memory, single-query QPS and recall@10 against exact search.

Data: a Gaussian mixture on the unit sphere (n // 500 centres drawn from N(0, I/d), points = centre +
N(0, 0.7^2 I/d), L2-normalized), because isotropic Gaussian data has no neighbourhood structure and is
unrealistically hard for every ANN method. Queries are held-out points of the same mixture. Ground
truth is FAISS IndexFlatIP (exact). Every backend is built through `soundseek.vindex.make_index`.

    .venv/bin/python benchmarks/index_bench.py                       # 10k, 100k, 1M x 128-d and 1024-d
    .venv/bin/python benchmarks/index_bench.py --sizes 10000 --dims 128 --out /tmp/bench

Single-query QPS: queries are sent one at a time from one thread (FAISS limited to 1 OpenMP thread
while timing), for at most `--qps-seconds` seconds per backend. Run it with OPENBLAS_NUM_THREADS=1
OMP_NUM_THREADS=1: on a busy 2-core machine, multi-threaded BLAS/OpenMP spin-waits made single queries
10-30x slower. Builds use `--build-threads` FAISS threads (default 1). The machine is shared, so each
row records the 1-minute load average at the time it was measured.
The 1M x 1024-d case is skipped unless `--with-1m-1024` (4 GB of vectors per copy on a 24 GB machine).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from soundseek.vindex import make_index

BACKENDS = ("exact", "hnsw", "ivfpq", "lsh")


def mixture(n: int, dim: int, *, n_centres: int, rng: np.random.Generator, spread: float = 0.7) -> np.ndarray:
    """n L2-normalized points of a Gaussian mixture, built in chunks. Returns: (n, dim) float32."""
    centres = (rng.standard_normal((n_centres, dim)) / np.sqrt(dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):
        e = min(n, s + 100_000)
        pts = centres[rng.integers(0, n_centres, e - s)]
        pts += (spread / np.sqrt(dim)) * rng.standard_normal((e - s, dim), dtype=np.float32)
        out[s:e] = pts / np.linalg.norm(pts, axis=1, keepdims=True)
    return out


def ground_truth(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    import faiss
    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    return flat.search(queries, k)[1]


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean over queries of |found_k ∩ truth_k| / k (the ANN sense of recall@k)."""
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t)) / k for f, t in zip(found, truth)]))


def memory_bytes(index) -> int:  # type: ignore[no-untyped-def]
    if hasattr(index, "memory_bytes"):
        return int(index.memory_bytes())
    if index.kind == "exact":
        return int(index._vectors.nbytes + index._ids.nbytes)
    import faiss  # hnsw: serialized graph + vectors, plus the id table
    return int(len(faiss.serialize_index(index._index)) + index._labels.nbytes + index._alive.nbytes)


def single_query_qps(index, queries: np.ndarray, *, seconds: float, build_threads: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Queries per wall-clock second, and per second of this thread's CPU time (what one idle core would
    do: on a shared machine the wall-clock figure also counts the time other processes held the core)."""
    import faiss
    faiss.omp_set_num_threads(1)
    index.search(queries[:1], 10)
    done, start, cpu = 0, time.perf_counter(), time.thread_time()
    while done < len(queries) and time.perf_counter() - start < seconds:
        index.search(queries[done : done + 1], 10)
        done += 1
    wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
    faiss.omp_set_num_threads(build_threads)
    return done / wall, done / max(cpu, 1e-9)


def bench_backend(kind: str, base: np.ndarray, queries: np.ndarray, truth: np.ndarray, args) -> dict:  # type: ignore[no-untyped-def]
    index = make_index(base.shape[1], kind=kind)
    start = time.perf_counter()
    index.add(np.arange(len(base), dtype=np.int64), base)
    if kind == "lsh":
        index._build()  # bucket tables are built lazily; count them in the build time
    build = time.perf_counter() - start
    found = np.concatenate([index.search(queries[s : s + 100], 10)[1] for s in range(0, len(queries), 100)])
    row = {"backend": kind, "n": len(base), "dim": base.shape[1], "build_s": round(build, 2),
           "bytes_per_vector": round(memory_bytes(index) / len(base), 1),
           "recall@10": round(recall_at_k(found, truth), 4),
           "load_avg_1min": round(os.getloadavg()[0], 1)}
    row["qps"], row["qps_cpu"] = (round(v, 1) for v in single_query_qps(
        index, queries, seconds=args.qps_seconds, build_threads=args.build_threads))
    if args.sweep and kind != "exact" and len(base) == max(args.sizes) and base.shape[1] == min(args.dims):
        row["sweep"] = sweep(index, queries, truth, args)
    return row


def sweep(index, queries: np.ndarray, truth: np.ndarray, args) -> list[dict]:  # type: ignore[no-untyped-def]
    """Recall/QPS for a range of the backend's search-time knob (no rebuild)."""
    points = []
    queries, truth = queries[: args.sweep_queries], truth[: args.sweep_queries]
    for value in {"hnsw": (16, 32, 64, 128, 256), "lsh": (4, 8, 16, 24, 48),
                  "ivfpq": (8, 16, 32, 64, 128)}[index.kind]:
        if index.kind == "hnsw":
            index.ef_search = value
        elif index.kind == "lsh":
            index.config = dataclasses.replace(index.config, n_probes=value)
        else:
            index.config = dataclasses.replace(index.config, nprobe=value)
        found = np.concatenate([index.search(queries[s : s + 100], 10)[1] for s in range(0, len(queries), 100)])
        qps, qps_cpu = single_query_qps(index, queries, seconds=args.qps_seconds / 2, build_threads=args.build_threads)
        points.append({"knob": value, "recall@10": round(recall_at_k(found, truth), 4),
                       "qps": round(qps, 1), "qps_cpu": round(qps_cpu, 1)})
        print(f"    sweep {index.kind} {value}: {points[-1]}", flush=True)
    return points


def previous_rows(out: Path) -> list[dict]:
    path = out / "index_bench.json"
    return json.loads(path.read_text())["rows"] if path.is_file() else []


def run(args) -> list[dict]:  # type: ignore[no-untyped-def]
    import faiss
    faiss.omp_set_num_threads(args.build_threads)
    rows: list[dict] = previous_rows(args.out) if args.update else []
    for dim in args.dims:
        for n in args.sizes:
            if n >= 1_000_000 and dim >= 1024 and not args.with_1m_1024:
                print(f"skip {n} x {dim} (pass --with-1m-1024)", flush=True)
                continue
            rng = np.random.default_rng(args.seed)
            data = mixture(n + args.queries, dim, n_centres=max(64, n // 500), rng=rng)
            base, queries = data[: n], np.ascontiguousarray(data[n:])
            truth = ground_truth(base, queries, 10)
            for kind in args.backends:
                row = bench_backend(kind, base, queries, truth, args)
                print(json.dumps({k: v for k, v in row.items() if k != "sweep"}), flush=True)
                rows = [r for r in rows if (r["backend"], r["n"], r["dim"]) != (kind, n, dim)] + [row]
                save(rows, args.out)
                gc.collect()
            del data, base, queries
            gc.collect()
    return rows


def save(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    info = {"machine": platform.processor() or platform.machine(), "cpus": 2, "rows": rows}
    (out / "index_bench.json").write_text(json.dumps(info, indent=1))
    rows = sorted(rows, key=lambda r: (r["dim"], r["n"], BACKENDS.index(r["backend"])))
    lines = ["| n | dim | backend | build s | bytes/vector | recall@10 | QPS (wall) | QPS (per CPU-s) | load avg |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['n']:,} | {r['dim']} | {r['backend']} | {r['build_s']} | {r['bytes_per_vector']:.0f} "
              f"| {r['recall@10']:.3f} | {r['qps']:,.0f} | {r.get('qps_cpu', float('nan')):,.0f} "
              f"| {r.get('load_avg_1min', '?')} |" for r in rows]
    for r in rows:
        if r.get("sweep"):
            lines += ["", f"Search-knob sweep, {r['backend']} at {r['n']:,} x {r['dim']}:", "",
                      "| knob | recall@10 | QPS (wall) | QPS (per CPU-s) |", "|---:|---:|---:|---:|"]
            lines += [f"| {p['knob']} | {p['recall@10']:.3f} | {p['qps']:,.0f} | {p.get('qps_cpu', float('nan')):,.0f} |"
                      for p in r["sweep"]]
    (out / "index_bench.md").write_text("\n".join(lines) + "\n")


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    dims = sorted({r["dim"] for r in rows})
    fig, axes = plt.subplots(1, len(dims) + 1, figsize=(5 * (len(dims) + 1), 4))
    for ax, dim in zip(axes, dims):
        for kind in BACKENDS:
            pts = sorted((r["n"], r.get("qps_cpu", r["qps"]), r["recall@10"])
                         for r in rows if r["dim"] == dim and r["backend"] == kind)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=kind)
                for n, q, rec in pts:
                    ax.annotate(f"{rec:.2f}", (n, q), fontsize=7)
        ax.set(xscale="log", yscale="log", xlabel="vectors", ylabel="single-query QPS per CPU-second",
               title=f"{dim}-d (labels: recall@10)")
        ax.axhline(1000, color="grey", lw=0.5, ls="--")
        ax.legend()
    ax = axes[-1]
    for kind in BACKENDS:
        swept = [r for r in rows if r["backend"] == kind and r.get("sweep")]
        if swept:
            pts = swept[0]["sweep"]
            ax.plot([p["recall@10"] for p in pts], [p.get("qps_cpu", p["qps"]) for p in pts], "o-", label=kind)
    ax.set(yscale="log", xlabel="recall@10", ylabel="single-query QPS per CPU-second",
           title="search-knob sweep at the largest 128-d size")
    ax.axhline(1000, color="grey", lw=0.5, ls="--")
    ax.axvline(0.95, color="grey", lw=0.5, ls="--")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "index_bench.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dims", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--qps-seconds", type=float, default=10.0)
    parser.add_argument("--sweep", action="store_true", help="also sweep each backend's search knob at the largest size")
    parser.add_argument("--sweep-queries", type=int, default=300, help="queries per sweep point")
    parser.add_argument("--build-threads", type=int, default=1, help="FAISS OpenMP threads while building")
    parser.add_argument("--with-1m-1024", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--update", action="store_true", help="replace matching rows of an existing --out/index_bench.json")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    rows = run(args)
    plot(rows, args.out)
    print(f"wrote {args.out}/index_bench.{{json,md,png}}")


if __name__ == "__main__":
    main()
