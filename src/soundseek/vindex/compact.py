"""Compact approximate search: PCA fitted on the collection, 8-bit scalar codes in a FAISS HNSW graph.

A vector x (dim) is stored as the scalar-quantized code of z = P (x - mu), where mu is the mean and P the
top `dims` principal directions (dims x dim, orthonormal rows) of the vectors the index was trained on.
Then x ~ mu + P^T z, so a query q scores  q . x ~ q . mu + (P q) . z : the graph is searched with P q
and q . mu is added back. Scores are inner products with the reconstruction, the same numbers
`vectors_of` gives back (mu + P^T decode(code)), so a filtered re-score agrees with the ranked search.

With `rerank > 0` the best `k x rerank` graph candidates are re-scored as cosines with their
reconstruction (q . x_hat / |x_hat|, computed from the codes: no extra store); the encoders' vectors are
unit-length, and normalizing the reconstruction removes the PCA's shrinkage of each vector's norm.

Like `ivfpq`, the index trains itself once it holds `train_min` vectors (PCA and the quantizer's
ranges on at most `max_train` of them); until then it keeps float32 vectors and searches exactly.
A collection's index is rebuilt from the store's float32 vectors whenever the collection changes,
so the PCA is refitted on every rebuild; vectors added to a trained index reuse its PCA.

Memory per vector once trained (defaults, 1024-d in): `dims` bytes of codes (256), the HNSW graph
(4 x 2M = 256 bytes of level-0 neighbours at M = 32, plus offsets, levels and the upper levels: ~272),
8 bytes of id and 1 of tombstone, and 16 of id lookup once `vectors_of` or `remove` has been called;
the PCA itself is dims x dim float32 (1 MB), shared by all vectors. `memory_parts` counts each.

Layout of a saved index: `meta.json` (kind, dim, count, trained and the config), `compact.faiss`
(the HNSW-SQ index, absent while untrained), `compact.npz` (labels, alive, mean, components, and the
float32 vectors while untrained).
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from soundseek.errors import CollectionError
from soundseek.vindex.base import atomic_write_bytes, check_queries, write_meta
from soundseek.vindex.hnsw import _faiss

#: Scalar quantizer codecs by name: bytes per dimension 1, 0.5 and 2.
CODECS = ("sq8", "sq4", "fp16")


@dataclass(frozen=True)
class CompactConfig:
    """Parameters of the compact index (see the module doc)."""

    dims: int = 256
    codec: str = "sq8"
    m: int = 32
    ef_construction: int = 80
    ef_search: int = 64
    rerank: int = 0
    train_min: int = 10_000
    max_train: int = 50_000
    seed: int = 0


@dataclass(frozen=True)
class Projection:
    """An affine PCA projection: z = (x - mean) @ components.T. components: (dims, dim) orthonormal rows."""

    mean: np.ndarray
    components: np.ndarray

    def project(self, x: np.ndarray) -> np.ndarray:
        """Returns: (n, dims) float32."""
        return np.ascontiguousarray((x - self.mean) @ self.components.T, dtype=np.float32)

    def reconstruct(self, z: np.ndarray) -> np.ndarray:
        """Returns: (n, dim) float32."""
        return (self.mean + z @ self.components).astype(np.float32)

    def norms(self, z: np.ndarray) -> np.ndarray:
        """|mean + components.T z| for each row of z, without reconstructing: the rows of components are
        orthonormal, so it is sqrt(|mean|^2 + 2 z . (components mean) + |z|^2). Returns: (n,) float32."""
        squared = float(self.mean @ self.mean) + 2 * (z @ (self.components @ self.mean)) + np.einsum("ij,ij->i", z, z)
        return np.sqrt(np.maximum(squared, 1e-24)).astype(np.float32)


def fit_pca(x: np.ndarray, dims: int, *, block: int = 8192) -> Projection:
    """The top `dims` principal directions of the rows of x (covariance accumulated in float64 blocks)."""
    mean = x.mean(axis=0, dtype=np.float64)
    cov = np.zeros((x.shape[1], x.shape[1]), dtype=np.float64)
    for start in range(0, len(x), block):
        centred = (x[start : start + block] - mean).astype(np.float32)
        cov += centred.T @ centred
    values, vectors = np.linalg.eigh(cov)
    top = np.argsort(values)[::-1][:dims]
    return Projection(mean.astype(np.float32), np.ascontiguousarray(vectors[:, top].T, dtype=np.float32))


def _quantizer_type(codec: str) -> int:
    faiss = _faiss()
    types = {"sq8": faiss.ScalarQuantizer.QT_8bit, "sq4": faiss.ScalarQuantizer.QT_4bit,
             "fp16": faiss.ScalarQuantizer.QT_fp16}
    if codec not in types:
        raise CollectionError(f"unknown compact codec '{codec}' (known: {', '.join(CODECS)})")
    return types[codec]


#: The configuration `make_index` / `soundseek index --index compact` use.
DEFAULT_CONFIG = CompactConfig()


class CompactIndex:
    """PCA + scalar-quantized codes in FAISS IndexHNSWSQ over inner product."""

    kind = "compact"

    def __init__(self, dim: int, config: CompactConfig | None = None) -> None:
        self.dim = dim
        self.config = config or DEFAULT_CONFIG
        _quantizer_type(self.config.codec)  # an unknown codec fails here, not at training time
        self._index = None  # faiss.IndexHNSWSQ once trained
        self._pca: Projection | None = None
        self._labels = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._vectors = np.zeros((0, dim), dtype=np.float32)  # float32 vectors while untrained
        self._lookup: tuple[np.ndarray, np.ndarray] | None = None  # sorted live ids, their positions
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def trained(self) -> bool:
        return self._index is not None

    # -- ids -----------------------------------------------------------------------------------
    def _positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Internal positions of the live `ids` (found mask (n,), positions of the found ones)."""
        if self._lookup is None:
            live = np.flatnonzero(self._alive)
            order = np.argsort(self._labels[live], kind="stable")
            self._lookup = (self._labels[live][order], live[order])
        keys, pos = self._lookup
        ids = np.asarray(ids, dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, ids), max(len(keys) - 1, 0))
        found = (keys[at] == ids) if len(keys) else np.zeros(len(ids), dtype=bool)
        return found, pos[at[found]]

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if len(np.unique(ids)) != len(ids):  # the last vector of a repeated id wins
            last = len(ids) - 1 - np.unique(ids[::-1], return_index=True)[1]
            ids, vectors = ids[np.sort(last)], vectors[np.sort(last)]
        self.remove(ids)
        self._labels = np.concatenate([self._labels, ids])
        self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
        self._lookup, self._count = None, self._count + len(ids)
        if self.trained:
            self._add_projected(vectors)
            return
        pending = np.concatenate([self._vectors, vectors]) if len(self._vectors) else vectors
        if len(self) >= self.config.train_min:
            self._vectors = pending  # no copy: training drops it
            self._train()
        else:
            self._vectors = pending.copy() if pending is vectors else pending

    def _add_projected(self, vectors: np.ndarray, *, block: int = 65_536) -> None:
        """Project and add in blocks (a million 1024-d vectors would need a 4 GB centred copy at once)."""
        for start in range(0, len(vectors), block):
            self._index.add(self._pca.project(vectors[start : start + block]))

    def remove(self, ids: np.ndarray) -> None:
        found, pos = self._positions(ids)
        if found.any():
            self._alive[pos] = False
            self._lookup, self._count = None, self._count - len(pos)

    # -- training ------------------------------------------------------------------------------
    def _train(self) -> None:
        """Fit the PCA and the quantizer on the stored vectors, then move every one into the graph."""
        faiss = _faiss()
        cfg = self.config
        live = np.flatnonzero(self._alive)
        rng = np.random.default_rng(cfg.seed)
        sample = live if len(live) <= cfg.max_train else np.sort(rng.choice(live, cfg.max_train, replace=False))
        dims = max(1, min(cfg.dims, self.dim, len(sample)))
        self._pca = fit_pca(self._vectors[sample], dims)
        index = faiss.IndexHNSWSQ(dims, _quantizer_type(cfg.codec), cfg.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = cfg.ef_construction
        index.train(self._pca.project(self._vectors[sample]))
        self._index = index
        self._add_projected(self._vectors)  # dead positions too: positions stay aligned with labels
        self._vectors = np.zeros((0, self.dim), dtype=np.float32)

    # -- search --------------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = check_queries(np.ascontiguousarray(queries, dtype=np.float32), self.dim)
        out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(queries), k), -1, dtype=np.int64)
        if len(self) == 0 or k <= 0:
            return out_s, out_i
        if not self.trained:
            return self._search_exact(queries, k, out_s, out_i)
        dead = len(self._labels) - len(self)
        fetch = min(len(self._labels), k * max(1, self.config.rerank) + min(dead, 10 * k))
        self._index.hnsw.efSearch = max(self.config.ef_search, fetch)
        rotated = np.ascontiguousarray(queries @ self._pca.components.T)  # P q: the query is not centred
        scores, pos = self._index.search(rotated, fetch)
        scores += (queries @ self._pca.mean)[:, None]
        for row in range(len(queries)):
            ok = pos[row] >= 0
            ok[ok] &= self._alive[pos[row][ok]]
            p, s = pos[row][ok], scores[row][ok]
            if self.config.rerank and len(p):
                s = s / self._pca.norms(self._decode(p))
            top = np.argsort(-s, kind="stable")[:k]
            out_s[row, : len(top)], out_i[row, : len(top)] = s[top], self._labels[p[top]]
        return out_s, out_i

    def _search_exact(self, queries: np.ndarray, k: int, out_s: np.ndarray,
                      out_i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        live = np.flatnonzero(self._alive)
        sims = queries @ self._vectors[live].T
        for row in range(len(queries)):
            top = np.argsort(-sims[row], kind="stable")[:k]
            out_s[row, : len(top)], out_i[row, : len(top)] = sims[row][top], self._labels[live[top]]
        return out_s, out_i

    # -- vectors back --------------------------------------------------------------------------
    def _decode(self, positions: np.ndarray) -> np.ndarray:
        """PCA coordinates z of the codes at `positions`. Returns: (n, dims) float32.

        8-bit codes are decoded here from a zero-copy view of FAISS's code array (vmin + (c + 0.5) / 255 x
        vdiff per dimension, FAISS's QT_8bit), 5-10x faster than `reconstruct_batch`; other codecs go
        through FAISS."""
        faiss = _faiss()
        if self.config.codec != "sq8":
            return self._index.reconstruct_batch(positions)
        storage = faiss.downcast_index(self._index.storage)
        codes = faiss.rev_swig_ptr(storage.codes.data(), storage.codes.size()).reshape(-1, storage.code_size)
        vmin, vdiff = faiss.vector_to_array(storage.sq.trained).reshape(2, -1)
        return vmin + (codes[positions].astype(np.float32) + 0.5) * (vdiff / 255)

    def vectors_at(self, positions: np.ndarray) -> np.ndarray:
        """The stored (reconstructed, once trained) vectors at internal positions. Returns: (n, dim)."""
        positions = np.asarray(positions, dtype=np.int64)
        if not len(positions):
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self.trained:
            return self._vectors[positions]
        return self._pca.reconstruct(self._decode(positions))

    def scores_of(self, ids: np.ndarray, query: np.ndarray) -> np.ndarray:
        """`vectors_of(ids) @ query` without rebuilding the dim-wide vectors: q . mu + (P q) . z, 256
        multiply-adds per vector instead of 256 x 1024 (KeyError for an unknown id). Returns: (n,) float32."""
        query = check_queries(np.asarray(query, dtype=np.float32), self.dim)[0]
        found, pos = self._positions(ids)
        if not found.all():
            raise KeyError(int(np.asarray(ids, dtype=np.int64)[~found][0]))
        if not self.trained or not len(pos):
            return (self.vectors_at(pos) @ query).astype(np.float32)
        z = self._decode(pos)
        scores = z @ (self._pca.components @ query) + float(query @ self._pca.mean)
        return (scores / self._pca.norms(z) if self.config.rerank else scores).astype(np.float32)

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        """Stored vectors of `ids` in order (KeyError for an unknown id): once trained, the reconstruction
        mu + P^T decode(code), normalized to unit length when the index re-ranks by cosine.
        Returns: (n, dim) float32."""
        found, pos = self._positions(ids)
        if not found.all():
            raise KeyError(int(np.asarray(ids, dtype=np.int64)[~found][0]))
        vectors = self.vectors_at(pos)
        if self.trained and self.config.rerank:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def memory_parts(self) -> dict[str, int]:
        """Bytes held, by component: codes, graph (HNSW neighbour lists, offsets, levels), pca (mean and
        components, shared by all vectors), ids (labels, tombstones), lookup (sorted ids and positions,
        built on the first `vectors_of` / `remove`), float32 (vectors kept while untrained)."""
        parts = {"codes": 0, "graph": 0, "pca": 0, "ids": self._labels.nbytes + self._alive.nbytes,
                 "lookup": sum(a.nbytes for a in self._lookup) if self._lookup else 0,
                 "float32": self._vectors.nbytes}
        if self.trained:
            hnsw = self._index.hnsw
            parts["codes"] = int(_faiss().downcast_index(self._index.storage).codes.size())
            parts["graph"] = int(hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4)
            parts["pca"] = self._pca.components.nbytes + self._pca.mean.nbytes
        return {k: int(v) for k, v in parts.items()}

    def memory_bytes(self) -> int:
        """Total of `memory_parts`."""
        return sum(self.memory_parts().values())

    # -- persistence ---------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        path = Path(path)
        if self.trained:
            atomic_write_bytes(path / "compact.faiss", _faiss().serialize_index(self._index).tobytes())
        pca = self._pca or Projection(np.zeros(0, np.float32), np.zeros((0, self.dim), np.float32))
        buf = io.BytesIO()
        np.savez(buf, labels=self._labels, alive=self._alive, vectors=self._vectors,
                 mean=pca.mean, components=pca.components)
        atomic_write_bytes(path / "compact.npz", buf.getvalue())
        meta = {"kind": self.kind, "dim": self.dim, "count": len(self), "trained": self.trained}
        write_meta(path, {**meta, **asdict(self.config)})

    @classmethod
    def load(cls, path: Path) -> "CompactIndex":
        path = Path(path)
        meta = json.loads((path / "meta.json").read_text())
        fields = CompactConfig.__dataclass_fields__
        index = cls(int(meta["dim"]), CompactConfig(**{f: meta[f] for f in fields if f in meta}))
        with np.load(path / "compact.npz") as data:
            index._labels, index._alive, index._vectors = data["labels"], data["alive"].copy(), data["vectors"]
            index._count = int(index._alive.sum())
            if meta.get("trained"):
                index._pca = Projection(data["mean"], data["components"])
        if meta.get("trained"):
            raw = np.frombuffer((path / "compact.faiss").read_bytes(), dtype=np.uint8)
            index._index = _faiss().deserialize_index(raw)
        return index
