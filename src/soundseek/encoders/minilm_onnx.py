"""all-MiniLM-L6-v2 through ONNX Runtime: the same vectors as sentence-transformers, without torch.

A text query used to cost ~20 ms of torch time plus 3-7 s of importing torch and sentence-transformers
in every fresh process (a one-off `soundseek search`). The transformer is exported once, from the
installed model, to an ONNX graph cached under `$SOUNDSEEK_MODELS/cache/` (a file computed from what
is installed, not a download); later processes load it in ~0.5 s and embed a query in ~7 ms on one
thread. Tokenization (the model's own `tokenizer.json`), mean pooling over the attention mask and L2
normalization are those of the sentence-transformers pipeline: the vectors agree to ~1e-7.

`precision="int8"` runs a copy of the graph whose weights are quantized to int8 per output channel
(ONNX Runtime's dynamic quantization, activations quantized on the fly), made once beside the export:
about half the time per query, vectors ~0.99 cosine to the float graph's (BENCHMARKS.md, "Issue 11:
query encoder"). MiniLMEncoder embeds queries with it by default (`encode_query`) and stored texts
with the float graph; an encoder that stores int8 vectors has its own name (text.NAMES).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from soundseek.encoders.base import l2_normalize

#: sentence-transformers' max_seq_length for all-MiniLM-L6-v2.
MAX_TOKENS = 256
GRAPH = "model.onnx"
#: The graph file per precision ("int8": a copy of GRAPH with int8 weights, see quantize).
GRAPHS = {"float32": GRAPH, "int8": "model.int8.onnx"}
#: Up to this many texts are tokenized one by one (see token_arrays).
FEW_TEXTS = 8


def cache_dir(model_path: Path) -> Path:
    """Where the export of the model at `model_path` lives (keyed by its weights' size and head)."""
    from soundseek.encoders.models import models_dir

    weights = model_path / "model.safetensors"
    with weights.open("rb") as f:
        head = f.read(1 << 16)
    key = hashlib.sha256(f"{weights.stat().st_size}".encode() + head).hexdigest()[:16]
    return models_dir() / "cache" / f"minilm-onnx-{key}"


def open_session(graph: Path, *, threads: int = 1):  # type: ignore[no-untyped-def]
    """An ONNX Runtime CPU session on `graph`: `threads` intra-op threads, one inter-op thread,
    sequential execution, every graph optimization."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


def token_arrays(tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Token ids and attention mask of `texts`, zero-padded to the longest. A few texts are tokenized
    one by one (encode_batch's thread pool costs more than it saves there: for two short texts,
~75 vs ~30 us on a quiet machine, 2 ms vs 0.13 ms on a busy one).

    Returns: (len(texts), longest) int64 ids and mask."""
    encoded = [tokenizer.encode(t) for t in texts] if len(texts) <= FEW_TEXTS else tokenizer.encode_batch(texts)
    longest = max((len(e.ids) for e in encoded), default=0)
    ids = np.zeros((len(encoded), longest), dtype=np.int64)
    mask = np.zeros((len(encoded), longest), dtype=np.int64)
    for row, e in enumerate(encoded):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    return ids, mask


class OnnxMiniLM:
    """Runs the exported graph (see module doc). `threads`: ONNX Runtime intra-op threads."""

    def __init__(self, folder: Path, model_path: Path, *, threads: int = 1, precision: str = "float32") -> None:
        from tokenizers import Tokenizer

        self._graph, self._threads = folder / GRAPHS[precision], threads
        self._session = None  # opened on first use: a process that only needs the other precision skips it
        self._tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()  # its tokenizer.json pads to 128 tokens; token_arrays pads to the longest

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(len(texts), 384) float32, L2-normalized."""
        out = [self._batch(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)

    def _batch(self, texts: list[str]) -> np.ndarray:
        ids, mask = token_arrays(self._tokenizer, texts)
        if self._session is None:
            self._session = open_session(self._graph, threads=self._threads)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                          "token_type_ids": np.zeros_like(ids)})[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return l2_normalize(pooled.astype(np.float32))


def export(model_path: Path, folder: Path) -> None:
    """Export the transformer of the sentence-transformers model at `model_path` into `folder`
    (written to a temporary folder and renamed into place: a killed export leaves nothing half-made)."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    class LastHidden(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = LastHidden(AutoModel.from_pretrained(str(model_path), local_files_only=True).eval())
    folder.parent.mkdir(parents=True, exist_ok=True)
    sample = torch.ones((1, 8), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".export-"))
    try:
        with warnings.catch_warnings():  # the exporter's tracer warnings are about the model's code, not ours
            warnings.simplefilter("ignore")
            _export_graph(model, sample, axes, tmp / GRAPH)
        os.replace(tmp, folder)
    except OSError:
        if not (folder / GRAPH).is_file():  # not "another process exported it meanwhile"
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _export_graph(model, sample, axes: dict, out: Path) -> None:  # type: ignore[no-untyped-def]
    import torch

    torch.onnx.export(model, (sample, sample, torch.zeros_like(sample)), str(out),
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                    "last_hidden_state": axes})


def quantize(folder: Path) -> None:
    """Write the int8 copy of `folder`/GRAPH beside it (weights per output channel; written to a
    temporary file and renamed into place)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".int8-", suffix=".onnx")
    os.close(fd)
    logging.disable(logging.WARNING)  # its advice to pre-process the graph first (no gain measured here)
    try:
        quantize_dynamic(str(folder / GRAPH), tmp, weight_type=QuantType.QInt8, per_channel=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / GRAPHS["int8"])
    finally:
        logging.disable(logging.NOTSET)
        Path(tmp).unlink(missing_ok=True)


def prepared_folder(model_path: Path, precisions: tuple[str, ...] = ("float32",)) -> Path:
    """The cache folder of `model_path` holding the graphs of `precisions`, made first when needed."""
    folder = cache_dir(model_path)
    if not (folder / GRAPH).is_file():
        print("soundseek: preparing the fast text encoder (once, about 10 s)", file=sys.stderr)
        export(model_path, folder)
    if any(not (folder / GRAPHS[p]).is_file() for p in precisions):
        print("soundseek: preparing the int8 text encoder (once, a few seconds)", file=sys.stderr)
        quantize(folder)
    return folder


def load_or_export(model_path: Path, precisions: tuple[str, ...] = ("float32",)) -> dict[str, OnnxMiniLM] | None:
    """An ONNX runner for `model_path` per precision ("float32", "int8"), exporting (and quantizing)
    first when needed; None when ONNX Runtime is missing or the export cannot be made (the caller
    then uses sentence-transformers, in float32)."""
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401

        folder = prepared_folder(model_path, precisions)
        return {p: OnnxMiniLM(folder, model_path, precision=p) for p in dict.fromkeys(precisions)}
    except Exception as exc:  # noqa: BLE001 - any failure here only costs speed
        print(f"soundseek: note: the fast text encoder is unavailable ({type(exc).__name__}: {exc}); "
              "using sentence-transformers", file=sys.stderr)
        return None
