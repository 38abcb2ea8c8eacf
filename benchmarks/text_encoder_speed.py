"""Query encoding: every MiniLM backend and the distilled static encoder, speed and agreement, in one run.

Usage:
    python benchmarks/text_encoder_speed.py [--queries 300] [--agreement 2000] [--json OUT]

1. Start: for each encoder, in a fresh child process, seconds from process start until the first
   query vector (imports + model load: what a one-off `soundseek search` pays).
2. Query time, in one process on one thread: each never-seen two-text query ("the sound of Q", "Q",
   what the engine encodes per query; Q one to three random words of MiniLM's vocabulary) is encoded
   by every encoder in turn, the order rotating per query, so a busy machine slows them alike. p50 and
   p95 per encoder, plus the tokenizer alone (one text at a time as now, and encode_batch as before)
   and the float graph run once per text (no padding, two runs).
3. Agreement with float32 MiniLM over `--agreement` such queries (both texts): cosine mean, 1st
   percentile and minimum, and the largest difference between torch and ONNX float32 vectors.
The exported graphs and the static table must exist (build each encoder once first).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from functools import partial

import numpy as np

ENCODERS = {  # label -> (registered name, config); each encodes queries with encode_query where it has one
    "torch float32": ("minilm", {"backend": "torch"}),
    "onnx float32": ("minilm", {"backend": "onnx", "query_precision": "float32"}),
    "onnx int8 (the default query path)": ("minilm", {"backend": "onnx"}),
    "static (distilled)": ("minilm-static", {}),
}

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from soundseek.encoders import build_text_encoder
from soundseek.encoders import encode_query
enc = build_text_encoder(sys.argv[1], json.loads(sys.argv[2]))
encode_query(enc, ["the sound of rain", "rain"])
print(json.dumps({"start_to_first_vector_s": round(time.perf_counter() - t0, 2)}))
"""


def start_times() -> dict[str, float]:
    out = {}
    for label, (name, config) in ENCODERS.items():
        proc = subprocess.run([sys.executable, "-c", CHILD, name, json.dumps(config)], capture_output=True,
                              text=True, check=True)
        out[label] = json.loads(proc.stdout.strip().splitlines()[-1])["start_to_first_vector_s"]
    return out


def random_queries(words: list[str], n: int, seed: int) -> list[str]:
    """`n` queries of one to three words drawn from `words` (seeded)."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, size=int(rng.integers(1, 4)))) for _ in range(n)]


def vocabulary_words(encoder) -> list[str]:  # type: ignore[no-untyped-def]
    """Whole alphabetic words of MiniLM's vocabulary (no word pieces, no special tokens)."""
    vocab = encoder._tokenizer.get_vocab()  # noqa: SLF001 - a benchmark may look inside
    return sorted(w for w in vocab if w.isalpha() and w.isascii() and len(w) > 2)


def build_all() -> dict:
    from soundseek.encoders import build_text_encoder

    return {label: build_text_encoder(name, config) for label, (name, config) in ENCODERS.items()}


def query_times(encoders: dict, queries: list[str]) -> dict[str, dict[str, float]]:
    """p50/p95 (ms) of encoding each query's two texts, every encoder in turn, rotating order."""
    onnx = encoders["onnx float32"]._onnx  # noqa: SLF001
    from soundseek.encoders import encode_query
    from soundseek.encoders.minilm_onnx import token_arrays

    calls = {label: partial(encode_query, enc) for label, enc in encoders.items()}
    calls["onnx float32, one run per text"] = lambda texts: np.concatenate([onnx._batch([t]) for t in texts])  # noqa: SLF001
    calls["tokenizer only, one by one (now)"] = partial(token_arrays, onnx._tokenizer)  # noqa: SLF001
    calls["tokenizer only, encode_batch (before)"] = onnx._tokenizer.encode_batch  # noqa: SLF001
    times: dict[str, list[float]] = {label: [] for label in calls}
    labels = list(calls)
    for i, query in enumerate(queries):
        for label in labels[i % len(labels):] + labels[: i % len(labels)]:
            texts = [f"the sound of {query} {i}", f"{query} {i}"]  # never seen by any encoder's cache
            start = time.perf_counter()
            calls[label](texts)
            times[label].append(time.perf_counter() - start)
    return {label: {"p50_ms": round(1000 * float(np.median(t)), 3), "p95_ms": round(1000 * float(np.percentile(t, 95)), 3)}
            for label, t in times.items()}


def agreement(encoders: dict, queries: list[str]) -> dict[str, dict[str, float]]:
    """Cosine of each encoder's query vectors to float32 MiniLM's (ONNX), over both texts of every query."""
    from soundseek.encoders import encode_query

    texts = [t for q in queries for t in (f"the sound of {q}", q)]
    ref = encoders["onnx float32"].encode_text(texts)
    out = {}
    for label, enc in encoders.items():
        cos = (encode_query(enc, texts) * ref).sum(axis=1)
        out[label] = {"cos_mean": round(float(cos.mean()), 5), "cos_p1": round(float(np.percentile(cos, 1)), 5),
                      "cos_min": round(float(cos.min()), 5)}
    out["torch float32"]["max_abs_difference"] = float(np.abs(encoders["torch float32"].encode_text(texts) - ref).max())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--agreement", type=int, default=2000)
    ap.add_argument("--json")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    out: dict = {"start_to_first_vector_s": start_times()}
    import torch

    torch.set_num_threads(1)
    encoders = build_all()
    words = vocabulary_words(encoders["onnx float32"]._onnx)  # noqa: SLF001
    out["query_ms"] = query_times(encoders, random_queries(words, args.queries, seed=0))
    out["agreement_with_float32"] = agreement(encoders, random_queries(words, args.agreement, seed=1))
    out["queries"], out["agreement_queries"] = args.queries, args.agreement
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
