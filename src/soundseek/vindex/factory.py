"""The table of vector index backends, and the factory that picks one."""

from __future__ import annotations

import json
from pathlib import Path

from soundseek.errors import CollectionError
from soundseek.vindex.base import VectorIndex
from soundseek.vindex.compact import CompactIndex
from soundseek.vindex.exact import ExactIndex
from soundseek.vindex.hnsw import HnswIndex
from soundseek.vindex.ivfpq import IvfPqIndex
from soundseek.vindex.lsh import LshIndex

#: Collections with more vectors than this use an approximate backend (compact or HNSW) by default.
ANN_THRESHOLD = 50_000

#: Above ANN_THRESHOLD, vectors of at least this many dimensions (YAMNet's 1024) default to `compact`
#: (PCA to 256 dims + 8-bit codes in HNSW: ~540 bytes per vector instead of ~4,500, query-by-example
#: quality on sfx-dev and ESC-50 within 0.1% of float32; BENCHMARKS.md, issue 11). Narrower spaces were not
#: measured with it and keep `hnsw`.
COMPACT_MIN_DIM = 1024

#: Every backend by its `kind` (the name `make_index` takes and `meta.json` records).
BACKENDS: dict[str, type] = {"exact": ExactIndex, "hnsw": HnswIndex, "ivfpq": IvfPqIndex, "lsh": LshIndex,
                               "compact": CompactIndex}
INDEX_KINDS = tuple(BACKENDS)


def make_index(dim: int, *, expected_size: int = 0, kind: str | None = None) -> VectorIndex:
    """A new empty index: `kind` if given (one of INDEX_KINDS), else by the expected size and the dimension:
    `exact` up to ANN_THRESHOLD vectors, above it `compact` from COMPACT_MIN_DIM dimensions, else `hnsw`."""
    kind = kind or default_kind(dim, expected_size)
    if kind not in BACKENDS:
        raise CollectionError(f"unknown vector index kind '{kind}' (known: {', '.join(INDEX_KINDS)})")
    return BACKENDS[kind](dim)


def default_kind(dim: int, expected_size: int) -> str:
    """The backend `make_index` picks when none is named."""
    if expected_size <= ANN_THRESHOLD:
        return "exact"
    return "compact" if dim >= COMPACT_MIN_DIM else "hnsw"


def load_index(path: Path) -> VectorIndex:
    """Load an index saved by any backend's `save` (the backend is read from `meta.json`)."""
    try:
        meta = json.loads((Path(path) / "meta.json").read_text())
    except (OSError, ValueError) as exc:
        raise CollectionError(f"vector index at {path} is unreadable: {exc}") from exc
    kind = meta.get("kind")
    if kind not in BACKENDS:
        raise CollectionError(f"vector index at {path} has unknown kind {kind!r}")
    return BACKENDS[kind].load(Path(path))
