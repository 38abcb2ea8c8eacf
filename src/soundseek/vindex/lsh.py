"""Cochlea's index: random-projection sign hashing with several tables, multi-probe, exact re-ranking.

Each of `n_tables` tables draws `n_bits` Gaussian random directions; a vector's bucket key in a table is
the sign pattern of its projections (a `n_bits`-bit integer). Vectors at a small angle share many sign
bits (Charikar's SimHash: P[bit differs] = angle / pi), so near neighbours collide in some table.

Search is query-directed multi-probe (Lv et al., 2007): besides the query's own bucket, each table also
probes the buckets obtained by flipping the bits whose projections were closest to zero, in increasing
order of the summed |projection| of the flipped bits, `n_probes` buckets per table in all (chosen among the subsets
of the 10 least confident bits, with one matrix product for all tables). The union
of the probed buckets is re-ranked exactly with the stored float32 vectors, so scores are exact inner
products and recall is only lost when a true neighbour lands in no probed bucket.

Layout of a saved index: `meta.json` (kind, dim, parameters), `lsh.npz` (ids, vectors, alive, planes).
The bucket tables are derived data, rebuilt on load and after adds: one sorted array of
(table << n_bits | key), so the probes of all tables are looked up with one binary search.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from soundseek.errors import CollectionError
from soundseek.vindex.base import atomic_write_bytes, check_queries, write_meta


@dataclass(frozen=True)
class LshConfig:
    """Parameters of the LSH index (benchmarked in benchmarks/index_bench.py, see docs/index.md)."""

    n_tables: int = 16
    n_bits: int = 16
    n_probes: int = 24
    seed: int = 0


#: Probes are drawn from the flips of subsets of the `PROBE_BITS` least confident bits of each table.
PROBE_BITS = 10


def _subsets(m: int) -> np.ndarray:
    """All 2^m subsets of m ranks as a (2^m, m) 0/1 matrix (row 0 = the empty set)."""
    return ((np.arange(2**m)[:, None] >> np.arange(m)[None, :]) & 1).astype(np.float32)


def table_probe_masks(margins: np.ndarray, n_probes: int) -> np.ndarray:
    """Bit masks to XOR onto each table's bucket key, cheapest first (mask 0, the own bucket, first).

    A probe flipping the set of bits S costs sum(|margin_i| for i in S) (Lv et al.'s query-directed
    score). The masks are the `n_probes` cheapest subsets of each table's `PROBE_BITS` least confident
    bits, found with one matrix product for all tables (exact when n_bits <= PROBE_BITS; otherwise a flip
    of a more confident bit is never probed, which costs little since such flips are expensive).

    Args:
        margins: (n_tables, n_bits) projections of the query on each table's directions.
    Returns:
        (n_tables, min(n_probes, 2^m)) int64 masks.
    """
    m = min(PROBE_BITS, margins.shape[1])
    order = np.argsort(np.abs(margins), axis=1)[:, :m]
    cost = np.take_along_axis(np.abs(margins), order, axis=1)
    subsets = _subsets(m)
    costs = cost @ subsets.T  # (n_tables, 2^m)
    p = min(n_probes, len(subsets))
    best = np.argpartition(costs, p - 1, axis=1)[:, :p] if p < len(subsets) else np.tile(np.arange(p), (len(costs), 1))
    best = np.take_along_axis(best, np.argsort(np.take_along_axis(costs, best, axis=1), axis=1, kind="stable"), axis=1)
    bit_values = np.int64(1) << order.astype(np.int64)  # (n_tables, m)
    rank_masks = subsets.astype(np.int64) @ bit_values.T  # (2^m, n_tables)
    return np.take_along_axis(rank_masks.T, best, axis=1)


def probe_masks(margins: np.ndarray, n_probes: int) -> list[int]:
    """`table_probe_masks` for a single table's (n_bits,) margins."""
    return [int(v) for v in table_probe_masks(np.asarray(margins)[None, :], n_probes)[0]]


class LshIndex:
    """Sign random-projection LSH over inner product of (ideally L2-normalized) vectors."""

    kind = "lsh"

    def __init__(self, dim: int, config: LshConfig | None = None) -> None:
        self.dim = dim
        self.config = config or LshConfig()
        table_bits = int(self.config.n_tables - 1).bit_length()
        if self.config.n_bits < 1 or self.config.n_bits + table_bits > 62:
            raise CollectionError(f"LSH keys need n_bits + log2(n_tables) <= 62 (n_bits={self.config.n_bits})")
        rng = np.random.default_rng(self.config.seed)
        shape = (dim, self.config.n_tables * self.config.n_bits)
        self._planes = rng.standard_normal(shape).astype(np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._alive = np.zeros(0, dtype=bool)
        self._position: dict[int, int] = {}
        self._tables: tuple[np.ndarray, np.ndarray] | None = None

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

    def _build(self) -> tuple[np.ndarray, np.ndarray]:
        """The bucket tables as one sorted array of (table << n_bits | key) and the positions in that order."""
        if self._tables is None:
            chunks = [self._keys(self._vectors[s : s + 65536]) for s in range(0, len(self._vectors), 65536)]
            keys = np.concatenate(chunks) if chunks else np.zeros((0, self.config.n_tables), dtype=np.int64)
            keys |= np.arange(self.config.n_tables, dtype=np.int64)[None, :] << self.config.n_bits
            flat = keys.T.ravel()  # table-major, so table t's keys precede table t+1's
            order = np.argsort(flat, kind="stable")
            self._tables = (flat[order], (order % max(1, len(self._vectors))).astype(np.int32))
        return self._tables

    def candidates(self, query: np.ndarray) -> np.ndarray:
        """Positions of stored vectors in the buckets probed for one (dim,) query (may hold dead ones)."""
        keys, positions = self._build()
        nb, nt = self.config.n_bits, self.config.n_tables
        margins = (query @ self._planes).reshape(nt, nb)
        weights = np.int64(1) << np.arange(nb, dtype=np.int64)
        base = ((margins > 0).astype(np.int64) * weights).sum(axis=1)
        base |= np.arange(nt, dtype=np.int64) << nb
        probes = (base[:, None] ^ table_probe_masks(margins, self.config.n_probes)).ravel()
        lo, hi = np.searchsorted(keys, probes, "left"), np.searchsorted(keys, probes, "right")
        lengths = hi - lo
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int32)
        offsets = np.repeat(lo - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        return np.unique(positions[np.arange(total) + offsets])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = check_queries(np.asarray(queries, dtype=np.float32), self.dim)
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
        tables = sum(a.nbytes for a in self._build())
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
