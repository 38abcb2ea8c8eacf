"""The vector index interface and the factory that picks a backend."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from soundseek.errors import CollectionError

#: Collections with more vectors than this use the approximate (HNSW) backend by default.
ANN_THRESHOLD = 50_000

#: Every backend `make_index` and `load_index` know.
INDEX_KINDS = ("exact", "hnsw", "ivfpq", "lsh")


@runtime_checkable
class VectorIndex(Protocol):
    """Maximum-inner-product search over int64-identified float32 vectors."""

    kind: str
    dim: int

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add (n,) int64 ids with their (n, dim) vectors; an id already present is replaced."""
        ...

    def remove(self, ids: np.ndarray) -> None:
        """Forget these ids (unknown ids are ignored)."""
        ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product. Returns: scores (q, k) float32 and ids (q, k) int64 (-1 = none)."""
        ...

    def save(self, path: Path) -> None:
        """Write the index to directory `path` atomically (a reader never sees half a file)."""
        ...


def make_index(dim: int, *, expected_size: int = 0, kind: str | None = None) -> VectorIndex:
    """A new empty index: `kind` if given ('exact', 'hnsw', ...), else by the expected size."""
    from soundseek.vindex.exact import ExactIndex

    kind = kind or ("hnsw" if expected_size > ANN_THRESHOLD else "exact")
    if kind == "exact":
        return ExactIndex(dim)
    if kind == "hnsw":
        from soundseek.vindex.hnsw import HnswIndex
        return HnswIndex(dim)
    if kind == "ivfpq":
        from soundseek.vindex.ivfpq import IvfPqIndex
        return IvfPqIndex(dim)
    if kind == "lsh":
        from soundseek.vindex.lsh import LshIndex
        return LshIndex(dim)
    raise CollectionError(f"unknown vector index kind '{kind}' (known: {', '.join(INDEX_KINDS)})")


def load_index(path: Path) -> VectorIndex:
    """Load an index saved by any backend's `save` (the backend is read from `meta.json`)."""
    try:
        meta = json.loads((Path(path) / "meta.json").read_text())
    except (OSError, ValueError) as exc:
        raise CollectionError(f"vector index at {path} is unreadable: {exc}") from exc
    kind = meta.get("kind")
    if kind == "exact":
        from soundseek.vindex.exact import ExactIndex
        return ExactIndex.load(Path(path))
    if kind == "hnsw":
        from soundseek.vindex.hnsw import HnswIndex
        return HnswIndex.load(Path(path))
    if kind == "ivfpq":
        from soundseek.vindex.ivfpq import IvfPqIndex
        return IvfPqIndex.load(Path(path))
    if kind == "lsh":
        from soundseek.vindex.lsh import LshIndex
        return LshIndex.load(Path(path))
    raise CollectionError(f"vector index at {path} has unknown kind {kind!r}")


def check_queries(queries: np.ndarray, dim: int) -> np.ndarray:
    """Queries as a (q, dim) array; a vector of another dimension is an error, never reshaped."""
    queries = queries.reshape(1, -1) if queries.ndim == 1 else queries
    if queries.ndim != 2 or queries.shape[1] != dim:
        raise CollectionError(f"query vectors have shape {queries.shape}, the index holds {dim}-d vectors")
    return queries


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_meta(path: Path, meta: dict) -> None:
    atomic_write_bytes(Path(path) / "meta.json", json.dumps(meta).encode())
