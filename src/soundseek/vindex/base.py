"""The vector index interface, and helpers every backend shares (query checks, atomic writes)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from soundseek.errors import CollectionError


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
