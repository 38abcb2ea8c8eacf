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


class IdPositions:
    """The internal positions of the live external ids of an index that appends vectors and marks removed
    ones dead: a sorted copy of the live ids searched with `searchsorted`, made on first use after a
    change. A dict of a million Python ints held ~100 bytes per vector; this holds 16, and none when the
    ids were appended in increasing order and none is dead (an index as `soundseek index` builds it)."""

    def __init__(self) -> None:
        self._sorted: tuple[np.ndarray, np.ndarray | None] | None = None  # live ids sorted, their positions

    def changed(self) -> None:
        """Call after any change of the labels or of which positions are alive (but see `appended`)."""
        self._sorted = None

    def appended(self, labels: np.ndarray, ids: np.ndarray) -> None:
        """Call after live `ids` were appended at the end of `labels` (now the whole array). Ids above
        every live one, in increasing order (new segments), extend the lookup without sorting again: a
        crawl that adds one sound at a time to a large index does not re-sort it for each."""
        if self._sorted is None or not len(ids):
            return
        keys, positions = self._sorted
        if not (not len(keys) or ids[0] > keys[-1]) or not bool((ids[1:] > ids[:-1]).all()):
            self._sorted = None
        elif positions is None and len(keys) == len(labels) - len(ids):
            self._sorted = (labels, None)
        else:
            start = len(labels) - len(ids)
            own = np.arange(len(keys)) if positions is None else positions
            self._sorted = (np.concatenate([keys, ids]), np.concatenate([own, np.arange(start, len(labels))]))

    def find(self, labels: np.ndarray, alive: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of `ids` are live (mask (n,)), and the positions of those (k,) int64."""
        keys, positions = self._lookup(labels, alive)
        ids = np.asarray(ids, dtype=np.int64)
        if not len(keys):
            return np.zeros(len(ids), dtype=bool), np.zeros(0, dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, ids), len(keys) - 1)
        found = keys[at] == ids
        at = at[found]
        return found, (at if positions is None else positions[at]).astype(np.int64)

    def _lookup(self, labels: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if self._sorted is None:
            if alive.all() and (len(labels) < 2 or bool((labels[1:] > labels[:-1]).all())):
                self._sorted = (labels, None)  # positions are the rows themselves
            else:
                live = np.flatnonzero(alive)
                order = np.argsort(labels[live], kind="stable")
                self._sorted = (labels[live][order], live[order])
        return self._sorted
