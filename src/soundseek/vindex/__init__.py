"""Vector indexes behind one interface: `add / search / remove / save / load`.

`ExactIndex` (NumPy, inner product on L2-normalized vectors = cosine) is the reference; above
`ANN_THRESHOLD` vectors `make_index` picks `CompactIndex` (PCA + 8-bit codes in FAISS HNSW) for 1024-d
vectors and `HnswIndex` (FAISS HNSW, float32) for narrower ones; `IvfPqIndex` and `LshIndex` trade recall
for memory (see docs/index.md). The backend table is in `factory`.
"""

from __future__ import annotations

from soundseek.vindex.base import VectorIndex
from soundseek.vindex.exact import ExactIndex
from soundseek.vindex.factory import ANN_THRESHOLD, INDEX_KINDS, load_index, make_index

__all__ = ["ANN_THRESHOLD", "INDEX_KINDS", "VectorIndex", "ExactIndex", "make_index", "load_index"]
