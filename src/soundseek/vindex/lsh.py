"""Cochlea's index: random-projection sign hashing with several tables, multi-probe, exact re-ranking.

Each of `n_tables` tables draws `n_bits` Gaussian random directions; a vector's bucket key in a table is
the sign pattern of its projections (a `n_bits`-bit integer). Vectors at a small angle share many sign
bits (Charikar's SimHash: P[bit differs] = angle / pi), so near neighbours collide in some table.

Search is query-directed multi-probe (Lv et al., 2007): besides the query's own bucket, each table also
probes the buckets obtained by flipping the bits whose projections were closest to zero, in increasing
order of the summed |projection| of the flipped bits, `n_probes` buckets per table in all. The union
of the probed buckets is re-ranked exactly with the stored float32 vectors, so scores are exact inner
products and recall is only lost when a true neighbour lands in no probed bucket.

Layout of a saved index: `meta.json` (kind, dim, parameters), `lsh.npz` (ids, vectors, alive, planes).
The bucket tables are derived data, rebuilt on load and after adds (one argsort per table).
"""

from __future__ import annotations

import heapq
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from soundseek.errors import CollectionError
from soundseek.vindex.base import atomic_write_bytes, write_meta


@dataclass(frozen=True)
class LshConfig:
    """Parameters of the LSH index (defaults chosen with benchmarks/index_bench.py, see docs/index.md)."""

    n_tables: int = 16
    n_bits: int = 16
    n_probes: int = 24
    seed: int = 0


def probe_masks(margins: np.ndarray, n_probes: int) -> list[int]:
    """Bit masks to XOR onto a bucket key, best first (the query's own bucket, mask 0, is first).

    A probe flipping the set of bits S costs sum(|margin_i| for i in S); the masks come out in order of
    increasing cost (Lv et al.'s shift/expand generation over the bits sorted by |margin|).

    Args:
        margins: (n_bits,) projections of the query on the table's directions.
    Returns:
        up to `n_probes` distinct int masks.
    """
    order = np.argsort(np.abs(margins))
    cost = np.abs(margins)[order]
    masks = [0]
    heap: list[tuple[float, tuple[int, ...]]] = [(float(cost[0]), (0,))] if len(cost) else []
    while heap and len(masks) < n_probes:
        total, subset = heapq.heappop(heap)
        masks.append(int(sum(1 << int(order[j]) for j in subset)))
        last = subset[-1]
        if last + 1 < len(cost):
            shifted = subset[:-1] + (last + 1,)
            heapq.heappush(heap, (total - float(cost[last]) + float(cost[last + 1]), shifted))
            heapq.heappush(heap, (total + float(cost[last + 1]), subset + (last + 1,)))
    return masks


class LshIndex:
    """Sign random-projection LSH over inner product of (ideally L2-normalized) vectors."""

    kind = "lsh"

    def __init__(self, dim: int, config: LshConfig | None = None) -> None:
        self.dim = dim
        self.config = config or LshConfig()
        if not 1 <= self.config.n_bits <= 62:
            raise CollectionError(f"LSH n_bits must be 1..62, not {self.config.n_bits}")
        rng = np.random.default_rng(self.config.seed)
        shape = (dim, self.config.n_tables * self.config.n_bits)
        self._planes = rng.standard_normal(shape).astype(np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._alive = np.zeros(0, dtype=bool)
        self._position: dict[int, int] = {}
        self._tables: list[tuple[np.ndarray, np.ndarray]] | None = None

    def __len__(self) -> int:
        return len(self._position)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        self.remove(ids)
        start = len(self._ids)
        self._ids = np.concatenate([self._ids, ids])
        self._vectors = np.concatenate([self._vectors, vectors])
        self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
        self._position.update((int(i), start + p) for p, i in enumerate(ids))
        self._tables = None

    def remove(self, ids: np.ndarray) -> None:
        for i in np.asarray(ids, dtype=np.int64):
            pos = self._position.pop(int(i), None)
            if pos is not None:
                self._alive[pos] = False
        if len(self._alive) > 1024 and (~self._alive).sum() > len(self._alive) // 2:
            self._compact()

    def _compact(self) -> None:
        keep = self._alive
        self._ids, self._vectors = self._ids[keep], self._vectors[keep]
        self._alive = np.ones(len(self._ids), dtype=bool)
        self._position = {int(i): p for p, i in enumerate(self._ids)}
        self._tables = None

    def _keys(self, vectors: np.ndarray) -> np.ndarray:
        """Bucket keys. Returns: (n, n_tables) int64."""
        bits = (vectors @ self._planes > 0).reshape(len(vectors), self.config.n_tables, self.config.n_bits)
        weights = np.int64(1) << np.arange(self.config.n_bits, dtype=np.int64)
        return (bits.astype(np.int64) * weights).sum(axis=2)

    def _build(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per table: sorted keys and the positions in that order (a CSR-like bucket table)."""
        if self._tables is None:
            chunks = [self._keys(self._vectors[s : s + 65536]) for s in range(0, len(self._vectors), 65536)]
            keys = np.concatenate(chunks) if chunks else np.zeros((0, self.config.n_tables), dtype=np.int64)
            tables = []
            for t in range(self.config.n_tables):
                order = np.argsort(keys[:, t], kind="stable").astype(np.int32)
                tables.append((keys[order, t], order))
            self._tables = tables
        return self._tables

    def candidates(self, query: np.ndarray) -> np.ndarray:
        """Positions of stored vectors in the buckets probed for one (dim,) query (may hold dead ones)."""
        tables = self._build()
        nb = self.config.n_bits
        margins = (query @ self._planes).reshape(self.config.n_tables, nb)
        weights = np.int64(1) << np.arange(nb, dtype=np.int64)
        base = ((margins > 0).astype(np.int64) * weights).sum(axis=1)
        found = []
        for t, (keys, order) in enumerate(tables):
            probes = base[t] ^ np.asarray(probe_masks(margins[t], self.config.n_probes), dtype=np.int64)
            lo, hi = np.searchsorted(keys, probes, "left"), np.searchsorted(keys, probes, "right")
            found.extend(order[a:b] for a, b in zip(lo, hi) if b > a)
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(queries), k), -1, dtype=np.int64)
        if len(self) == 0 or k <= 0:
            return out_s, out_i
        for row, query in enumerate(queries):
            cand = self.candidates(query)
            cand = cand[self._alive[cand]]
            if len(cand) == 0:
                continue
            sims = self._vectors[cand] @ query
            kk = min(k, len(cand))
            top = np.argpartition(-sims, kk - 1)[:kk] if kk < len(cand) else np.arange(len(cand))
            top = top[np.argsort(-sims[top], kind="stable")]
            out_s[row, :kk], out_i[row, :kk] = sims[top], self._ids[cand[top]]
        return out_s, out_i

    def memory_bytes(self) -> int:
        """Bytes held by vectors, ids and bucket tables (what the benchmark reports)."""
        tables = sum(k.nbytes + o.nbytes for k, o in self._build())
        return int(self._vectors.nbytes + self._ids.nbytes + self._alive.nbytes + tables + self._planes.nbytes)

    def save(self, path: Path) -> None:
        buf = io.BytesIO()
        np.savez(buf, ids=self._ids, vectors=self._vectors, alive=self._alive, planes=self._planes)
        atomic_write_bytes(Path(path) / "lsh.npz", buf.getvalue())
        write_meta(Path(path), {"kind": self.kind, "dim": self.dim, "count": len(self), **asdict(self.config)})

    @classmethod
    def load(cls, path: Path) -> "LshIndex":
        meta = json.loads((Path(path) / "meta.json").read_text())
        config = LshConfig(**{f: meta[f] for f in ("n_tables", "n_bits", "n_probes", "seed")})
        index = cls(int(meta["dim"]), config)
        with np.load(Path(path) / "lsh.npz") as data:
            index._ids, index._vectors = data["ids"], data["vectors"]
            index._alive, index._planes = data["alive"].copy(), data["planes"]
        index._position = {int(i): p for p, i in enumerate(index._ids) if index._alive[p]}
        return index
