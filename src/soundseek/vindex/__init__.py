"""Vector indexes behind one interface: `add / search / remove / save / load`.

`ExactIndex` (NumPy, inner product on L2-normalized vectors = cosine) is the reference. `HnswIndex`
(FAISS HNSW) is the approximate backend, chosen by `make_index` above `ANN_THRESHOLD` vectors.
"""

from __future__ import annotations

from soundseek.vindex.base import ANN_THRESHOLD, VectorIndex, load_index, make_index
from soundseek.vindex.exact import ExactIndex

__all__ = ["ANN_THRESHOLD", "VectorIndex", "ExactIndex", "make_index", "load_index"]
