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

#: Collections with more vectors than this use the approximate (HNSW) backend by default.
ANN_THRESHOLD = 50_000

#: Every backend by its `kind` (the name `make_index` takes and `meta.json` records).
BACKENDS: dict[str, type] = {"exact": ExactIndex, "hnsw": HnswIndex, "ivfpq": IvfPqIndex, "lsh": LshIndex,
                               "compact": CompactIndex}
INDEX_KINDS = tuple(BACKENDS)


def make_index(dim: int, *, expected_size: int = 0, kind: str | None = None) -> VectorIndex:
    """A new empty index: `kind` if given ('exact', 'hnsw', 'ivfpq', 'lsh'), else by the expected size."""
    kind = kind or ("hnsw" if expected_size > ANN_THRESHOLD else "exact")
    if kind not in BACKENDS:
        raise CollectionError(f"unknown vector index kind '{kind}' (known: {', '.join(INDEX_KINDS)})")
    return BACKENDS[kind](dim)


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
