"""The compact index (PCA + 8-bit codes in HNSW) against exact search, and its persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from soundseek.errors import CollectionError
from soundseek.vindex import ExactIndex, load_index, make_index
from soundseek.vindex.compact import CompactConfig, CompactIndex, fit_pca
from soundseek.vindex.factory import ANN_THRESHOLD, default_kind


def low_rank(n: int, dim: int, *, rank: int, seed: int = 0, noise: float = 0.0) -> np.ndarray:
    """L2-normalized clustered points of a `rank`-dimensional affine subspace of R^dim (plus optional
    isotropic noise). Returns: (n, dim) float32."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((dim, rank)))[0]          # (dim, rank) orthonormal columns
    centres = rng.standard_normal((40, rank))
    coords = centres[rng.integers(0, 40, n)] + 0.5 * rng.standard_normal((n, rank))
    x = 2.0 / np.sqrt(dim) + coords @ basis.T / np.sqrt(rank) + noise * rng.standard_normal((n, dim)) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / truth.shape[1] for f, t in zip(found, truth)]))


def trained(x: np.ndarray, **config: int) -> CompactIndex:
    index = CompactIndex(x.shape[1], CompactConfig(train_min=len(x), **config))
    index.add(np.arange(1000, 1000 + len(x)), x)
    assert index.trained
    return index


def test_pca_of_points_in_an_affine_subspace_reconstructs_them():
    # 200 points of a 3-d affine plane of R^10: 3 principal directions hold everything, so the
    # reconstruction mean + components.T z is exact
    rng = np.random.default_rng(1)
    plane = ((np.linalg.qr(rng.standard_normal((10, 3)))[0] @ rng.standard_normal((3, 200))).T + 0.7).astype(np.float32)
    pca = fit_pca(plane, 3)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(3), atol=1e-5)
    np.testing.assert_allclose(pca.reconstruct(pca.project(plane)), plane, atol=1e-4)
    z = pca.project(low_rank(50, 10, rank=5))
    np.testing.assert_allclose(pca.norms(z), np.linalg.norm(pca.reconstruct(z), axis=1), rtol=1e-4)


def test_ranking_matches_exact_search_within_the_stated_recall():
    # 96-d vectors of rank 12 with a little full-rank noise, kept in 24 PCA dims of 8-bit codes:
    # recall@10 against exact float32 search must be at least 0.9 (measured 0.956 with these seeds)
    x, q = low_rank(2000, 96, rank=12, noise=0.05), low_rank(200, 96, rank=12, noise=0.05)[::-1].copy()
    q = q + 0.01 * np.random.default_rng(3).standard_normal(q.shape).astype(np.float32)
    exact = ExactIndex(96)
    exact.add(np.arange(1000, 3000), x)
    index = trained(x, dims=24)
    scores, found = index.search(q, 10)
    assert recall(found, exact.search(q, 10)[1]) >= 0.9
    # every score is the inner product with the stored (reconstructed) vector vectors_of gives back
    np.testing.assert_allclose(scores[0], index.vectors_of(found[0]) @ q[0], rtol=1e-4, atol=1e-5)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)
    # the reconstruction is close to the original: cosine of every stored vector with its original
    back = index.vectors_of(np.arange(1000, 3000))
    assert np.min(np.sum(back * x, axis=1) / np.linalg.norm(back, axis=1)) > 0.98


def test_rerank_scores_are_cosines_with_the_reconstruction():
    x = low_rank(1500, 64, rank=12)
    index = trained(x, dims=16, rerank=4)
    scores, found = index.search(x[:3], 5)
    stored = index.vectors_of(found[0])
    np.testing.assert_allclose(np.linalg.norm(stored, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(scores[0], stored @ x[0], rtol=1e-4, atol=1e-5)
    assert found[0][0] == 1000


def test_untrained_index_is_exact_and_trains_once_it_holds_train_min():
    x = low_rank(600, 32, rank=6)
    index, exact = CompactIndex(32, CompactConfig(dims=8, train_min=500)), ExactIndex(32)
    index.add(np.arange(400), x[:400])
    exact.add(np.arange(400), x[:400])
    assert not index.trained
    for got, want in zip(index.search(x[:20], 5), exact.search(x[:20], 5)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(index.vectors_of(np.array([7, 3])), x[[7, 3]])
    index.add(np.arange(400, 600), x[400:])
    assert index.trained and len(index) == 600 and index.memory_parts()["float32"] == 0
    assert index.search(x[450:451], 1)[1][0, 0] == 450


def test_remove_and_replace_after_training():
    x = low_rank(1200, 64, rank=10)
    index = trained(x, dims=16)
    index.remove(np.array([1000, 1001, 99]))
    assert len(index) == 1198
    assert not {1000, 1001} & set(index.search(x[:2], 20)[1].ravel())
    with pytest.raises(KeyError):
        index.vectors_of(np.array([1000]))
    index.add(np.array([1002]), x[500:501])  # the id now holds another vector
    assert len(index) == 1198
    assert 1002 in index.search(x[500:501], 2)[1][0]
    assert float(index.vectors_of(np.array([1002]))[0] @ x[500]) > 0.97
    index.add(np.array([7, 7]), x[:2])  # a repeated id in one call: the last vector wins
    assert len(index) == 1199 and float(index.vectors_of(np.array([7]))[0] @ x[1]) > 0.97
    assert index.vectors_of(np.array([], dtype=np.int64)).shape == (0, 64)


@pytest.mark.parametrize("train", [True, False])
def test_save_and_load_round_trip(tmp_path: Path, train: bool):
    x = low_rank(900, 48, rank=8)
    index = CompactIndex(48, CompactConfig(dims=12, train_min=900 if train else 10_000, codec="sq8"))
    index.add(np.arange(900), x)
    index.remove(np.array([5]))
    index.save(tmp_path / "c")
    meta = json.loads((tmp_path / "c" / "meta.json").read_text())
    assert meta["kind"] == "compact" and meta["trained"] is train and meta["dims"] == 12
    assert (tmp_path / "c" / "compact.faiss").is_file() is train
    assert not list((tmp_path / "c").glob("*.tmp*"))
    loaded = load_index(tmp_path / "c")
    assert isinstance(loaded, CompactIndex) and loaded.trained is train and len(loaded) == 899
    assert loaded.config == index.config
    for got, want in zip(loaded.search(x[:30], 7), index.search(x[:30], 7)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(loaded.vectors_of(np.array([9, 4])), index.vectors_of(np.array([9, 4])))
    loaded.add(np.array([5]), x[5:6])  # a loaded index keeps taking vectors
    assert loaded.search(x[5:6], 1)[1][0, 0] == 5


def test_memory_parts_count_codes_graph_and_ids():
    x = low_rank(2000, 64, rank=10)
    parts = trained(x, dims=16, m=8).memory_parts()
    assert parts["codes"] == 2000 * 16          # one byte per PCA dimension
    assert parts["ids"] == 2000 * 9             # int64 label + tombstone
    assert parts["pca"] == (16 * 64 + 64) * 4   # components + mean, float32
    assert 2000 * 2 * 8 * 4 <= parts["graph"] <= 2000 * (2 * 8 * 4 + 40)  # level-0 lists of 2M ints + a little
    assert parts["float32"] == 0


def test_codec_and_default_kind():
    with pytest.raises(CollectionError, match="sq8"):
        CompactIndex(16, CompactConfig(codec="int3"))
    for codec, size in (("sq4", 8), ("fp16", 32)):
        x = low_rank(300, 32, rank=5)
        assert trained(x, dims=16, codec=codec).memory_parts()["codes"] == 300 * size
    assert default_kind(1024, ANN_THRESHOLD + 1) == "compact" and make_index(1024, expected_size=10**6).kind == "compact"
    assert default_kind(128, ANN_THRESHOLD + 1) == "hnsw"
    assert default_kind(1024, ANN_THRESHOLD) == "exact"


@pytest.mark.parametrize("codec,rerank", [("sq8", 0), ("sq8", 3), ("fp16", 0)])
def test_scores_of_agrees_with_vectors_of_and_faiss_decoding(codec: str, rerank: int):
    x = low_rank(800, 64, rank=10)
    index = trained(x, dims=16, codec=codec, rerank=rerank)
    ids = np.array([1799, 1000, 1234])
    positions = ids - 1000
    np.testing.assert_allclose(index._decode(positions), index._index.reconstruct_batch(positions), atol=1e-6)
    np.testing.assert_allclose(index.scores_of(ids, x[3]), index.vectors_of(ids) @ x[3], rtol=1e-4, atol=1e-5)
    with pytest.raises(KeyError):
        index.scores_of(np.array([5]), x[3])
