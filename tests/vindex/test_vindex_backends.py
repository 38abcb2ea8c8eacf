"""Every vector index backend against the VectorIndex protocol and the exact reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from soundseek.errors import CollectionError
from soundseek.vindex import ExactIndex, VectorIndex, load_index, make_index
from soundseek.vindex.factory import INDEX_KINDS
from soundseek.vindex.ivfpq import IvfPqConfig, IvfPqIndex, auto_m, auto_nlist
from soundseek.vindex.lsh import LshConfig, LshIndex, probe_masks


def clustered(n: int, dim: int, *, seed: int = 0, centres: int = 20) -> np.ndarray:
    """L2-normalized points of a Gaussian mixture. Returns: (n, dim) float32."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)) / np.sqrt(dim)
    x = c[rng.integers(0, centres, n)] + 0.6 / np.sqrt(dim) * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / truth.shape[1] for f, t in zip(found, truth)]))


@pytest.mark.parametrize("kind", INDEX_KINDS)
def test_protocol_add_search_replace_remove_save_load(kind: str, tmp_path: Path) -> None:
    dim = 16
    x = clustered(300, dim)
    index = make_index(dim, kind=kind)
    assert isinstance(index, VectorIndex) and index.kind == kind
    scores, ids = index.search(x[:2], 3)
    assert (ids == -1).all() and scores.shape == (2, 3)
    index.add(np.arange(100, 400), x)
    assert len(index) == 300
    scores, ids = index.search(x[:5], 4)
    assert ids.shape == (5, 4) and ids.dtype == np.int64 and scores.dtype == np.float32
    assert list(ids[:, 0]) == [100, 101, 102, 103, 104]
    assert np.all(np.diff(scores, axis=1) <= 1e-6)
    index.add(np.array([100]), -x[:1])  # replacing an id moves its vector
    assert len(index) == 300 and 100 not in index.search(x[:1], 3)[1][0]
    index.remove(np.array([101, 102, 99999]))
    assert len(index) == 298
    assert not {101, 102} & set(index.search(x[1:3], 10)[1].ravel())
    index.save(tmp_path / kind)
    loaded = load_index(tmp_path / kind)
    assert loaded.kind == kind and len(loaded) == 298
    np.testing.assert_array_equal(loaded.search(x[:20], 5)[1], index.search(x[:20], 5)[1])


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(CollectionError, match="lsh"):
        make_index(8, kind="annoy")


def test_lsh_recall_against_exact() -> None:
    x, q = clustered(6000, 32, seed=1), clustered(100, 32, seed=2)
    exact, lsh = ExactIndex(32), LshIndex(32, LshConfig(n_tables=16, n_bits=10, n_probes=40))
    exact.add(np.arange(6000), x)
    lsh.add(np.arange(6000), x)
    truth = exact.search(q, 10)[1]
    scores, found = lsh.search(q, 10)
    assert recall(found, truth) >= 0.9
    # re-ranking is exact: every returned score is the true inner product
    np.testing.assert_allclose(scores[0], x[found[0]] @ q[0], rtol=1e-5)


def test_lsh_more_probes_never_lose_candidates() -> None:
    x = clustered(2000, 16)
    few, many = LshIndex(16, LshConfig(n_probes=1)), LshIndex(16, LshConfig(n_probes=32))
    few.add(np.arange(2000), x)
    many.add(np.arange(2000), x)
    assert set(few.candidates(x[0])) <= set(many.candidates(x[0]))


def test_probe_masks_are_ordered_by_flip_cost() -> None:
    margins = np.array([0.5, -0.1, 2.0, 0.3])
    masks = probe_masks(margins, 6)
    # own bucket, then bit1 (0.1), bit3 (0.3), bits1+3 (0.4), bit0 (0.5), bits0+1 (0.6)
    assert masks == [0, 0b0010, 0b1000, 0b1010, 0b0001, 0b0011]


def test_ivfpq_trains_itself_and_keeps_recall(tmp_path: Path) -> None:
    x, q = clustered(4000, 32, seed=3), clustered(50, 32, seed=4)
    index = IvfPqIndex(32, IvfPqConfig(train_min=2000, nprobe=16))
    index.add(np.arange(1500), x[:1500])
    assert not index.trained  # below train_min: exact search on the stored vectors
    index.add(np.arange(1500, 4000), x[1500:])
    assert index.trained
    exact = ExactIndex(32)
    exact.add(np.arange(4000), x)
    assert recall(index.search(q, 10)[1], exact.search(q, 10)[1]) >= 0.9
    index.remove(np.arange(0, 4000, 2))
    assert set(index.search(q, 10)[1].ravel()) <= set(range(1, 4000, 2))
    index.save(tmp_path / "ivf")
    np.testing.assert_array_equal(load_index(tmp_path / "ivf").search(q, 5)[1], index.search(q, 5)[1])


def test_ivfpq_without_rerank_keeps_only_codes() -> None:
    x = clustered(3000, 32, seed=5)
    index = IvfPqIndex(32, IvfPqConfig(train_min=1000, rerank=0))
    index.add(np.arange(3000), x)
    assert index._vectors.shape[0] == 0
    assert index.search(x[:1], 5)[1][0][0] in range(3000)
    assert index.memory_bytes() < x.nbytes / 2


def test_auto_parameters() -> None:
    assert auto_m(128) == 32 and auto_m(1024) == 64 and auto_m(120) == 30
    assert auto_nlist(1_000_000) == 1000 and auto_nlist(2000) == 45 and auto_nlist(100) == 16
