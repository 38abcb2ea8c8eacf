"""A static text encoder distilled locally from the installed all-MiniLM-L6-v2 (Model2Vec's method).

Every token of MiniLM's vocabulary is run once through the model on its own (`[CLS] token [SEP]`,
mean-pooled as sentence-transformers pools), each row weighted by SIF on a Zipf estimate of its
frequency (weight = a / (a + p(rank)), a = 1e-4), as `model2vec.distill` does with `pca_dims=None`:
the table keeps MiniLM's 384 dimensions and output space. A text is then the L2-normalized sum of its
tokens' rows (no special tokens): microseconds instead of milliseconds, no transformer at query time.

The table (30,522 x 384 float32, 47 MB) is computed once through the ONNX export (see minilm_onnx.py;
about a minute on 2 cores) and cached beside it. It is not MiniLM: a sentence's vector is a bag of
its tokens', so the encoder has its own name and its vectors never share a cache with MiniLM's.
`model2vec` itself is not used: its `distill` extra pins transformers < 5.4 and tokenizers 0.22, older
than this project's.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundseek.encoders.base import l2_normalize
from soundseek.encoders.minilm_onnx import FEW_TEXTS

TABLE = "static-sif.npy"
#: Model2Vec's default SIF coefficient.
SIF_COEFFICIENT = 1e-4
#: Tokens left out of the table (Model2Vec's default pattern): BERT's never-trained placeholders.
UNUSED = re.compile(r"\[unused\d+\]")
BATCH = 1024


@dataclass
class MiniLMStaticConfig:
    """`model_path`: the sentence-transformers model to distill (default: the bundled MiniLM)."""

    model_path: str | None = None


class StaticMiniLM:
    """Sum of distilled token vectors (see module doc), 384-d, L2-normalized; an empty text (or one
    with no known token) is the zero vector."""

    name = "minilm-static"
    dim = 384
    normalized = True

    def __init__(self, config: MiniLMStaticConfig | None = None) -> None:
        from tokenizers import Tokenizer

        from soundseek.encoders.minilm_onnx import prepared_folder
        from soundseek.encoders.text import _bundled_minilm

        self.config = config or MiniLMStaticConfig()
        model_path = Path(self.config.model_path or _bundled_minilm())
        self._tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._table = load_or_distill(prepared_folder(model_path), self._tokenizer)

    def encode_text(self, texts: list[str]) -> np.ndarray:
        """Returns: (len(texts), 384) float32, L2-normalized rows."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        few = len(texts) <= FEW_TEXTS  # see minilm_onnx.token_arrays
        encodings = ([self._tokenizer.encode(t, add_special_tokens=False) for t in texts] if few
                     else self._tokenizer.encode_batch(texts, add_special_tokens=False))
        for i, encoded in enumerate(encodings):
            if encoded.ids:
                out[i] = self._table[encoded.ids].sum(axis=0)
        return l2_normalize(out)


def load_or_distill(folder: Path, tokenizer) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The weighted token table cached in `folder` (beside the ONNX export), distilled first when
    missing. Returns: (vocabulary size, 384) float32."""
    path = folder / TABLE
    if not path.is_file():
        print("soundseek: distilling the static text encoder (once, about a minute)", file=sys.stderr)
        table = distill(folder, tokenizer)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".static-", suffix=".npy")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, table)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return np.load(path, mmap_mode="r")


def distill(folder: Path, tokenizer) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Each vocabulary token through the float ONNX graph in `folder`, SIF-weighted (module doc).

    Returns: (vocabulary size, 384) float32; rows of the left-out tokens are zero."""
    from soundseek.encoders.minilm_onnx import GRAPH, open_session

    session = open_session(folder / GRAPH, threads=os.cpu_count() or 1)
    vocab = tokenizer.get_vocab()
    size = len(vocab)
    ids = np.stack([np.full(size, vocab["[CLS]"]), np.arange(size), np.full(size, vocab["[SEP]"])], axis=1)
    table = np.zeros((size, 384), dtype=np.float32)
    for start in range(0, size, BATCH):
        batch = ids[start : start + BATCH].astype(np.int64)
        hidden = session.run(None, {"input_ids": batch, "attention_mask": np.ones_like(batch),
                                    "token_type_ids": np.zeros_like(batch)})[0]
        table[start : start + BATCH] = hidden.mean(axis=1)
    return table * sif_weights(tokenizer.id_to_token, size)[:, None]


def sif_weights(token_of, size: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """a / (a + p), p the Zipf probability of each kept token's rank in id order; 0 for left-out tokens.

    Returns: (size,) float32."""
    kept = np.asarray([not UNUSED.fullmatch(token_of(i) or "") for i in range(size)])
    inv_rank = 1.0 / np.arange(2, int(kept.sum()) + 2)
    weights = np.zeros(size, dtype=np.float64)
    weights[kept] = SIF_COEFFICIENT / (SIF_COEFFICIENT + inv_rank / inv_rank.sum())
    return weights.astype(np.float32)
