"""The CS224N report's uniformity metrics (eq. 3-5) on tiny hand-computed point sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from soundseek.joint import uniformity as u


def test_nearest_neighbour_distances_and_sigma_on_a_line() -> None:
    # points 0, 1, 3, 7: nearest neighbours at 1, 1, 2, 4; mean 2, population std sqrt(1.5)
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    assert u.nearest_neighbour_distances(x).tolist() == pytest.approx([1.0, 1.0, 2.0, 4.0])
    assert u.cs224n_sigma(x) == pytest.approx(math.sqrt(1.5) / 2)


def test_sigma_is_zero_when_all_neighbour_distances_are_equal() -> None:
    square = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert u.cs224n_sigma(square) == pytest.approx(0.0)  # eq. 4 (the report's text says 1 here)


def test_sigma_needs_two_points() -> None:
    with pytest.raises(ValueError):
        u.nearest_neighbour_distances(np.zeros((1, 3)))


def test_sign_voxel_entropy_by_hand() -> None:
    # signs (+,+), (+,+), (-,+), (+,-): voxel counts [0, 1, 1, 2]; softmax = [1, e, e, e^2] / (1 + e)^2,
    # entropy = 2 log(1 + e) - 2e / (1 + e)
    x = np.array([[1.0, 2.0], [3.0, 1.0], [-1.0, 1.0], [2.0, -1.0]])
    expected = 2 * math.log(1 + math.e) - 2 * math.e / (1 + math.e)
    assert u.sign_voxel_entropy(x, np.array([0, 1])) == pytest.approx(expected)
    one_per_quadrant = np.array([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
    assert u.sign_voxel_entropy(one_per_quadrant, np.array([0, 1])) == pytest.approx(math.log(4))


def test_h_averages_random_dimension_draws() -> None:
    # with as many dimensions as are drawn every draw sees the same voxels: h = the single entropy
    x = np.array([[1.0, 2.0], [3.0, 1.0], [-1.0, 1.0], [2.0, -1.0]])
    expected = 2 * math.log(1 + math.e) - 2 * math.e / (1 + math.e)
    assert u.cs224n_h(x, n_dims=2, repeats=7) == pytest.approx(expected)
    with pytest.raises(ValueError):
        u.cs224n_h(x, n_dims=8)


def test_subspace_sigma_over_all_dimensions_is_sigma() -> None:
    x = np.random.default_rng(0).standard_normal((20, 4))
    assert u.cs224n_sigma_subspace(x, n_dims=4, repeats=3) == pytest.approx(u.cs224n_sigma(u.l2_normalize(x)), rel=1e-5)


def test_references_follow_the_report() -> None:
    cube = u.cs224n_uniform_reference(500, 64, seed=1)
    assert cube.shape == (500, 64) and cube.min() >= -1.0 and cube.max() <= 1.0
    mix = u.cs224n_mixture_reference(500, 64, seed=1)
    assert mix.shape == (500, 64)
    # 10 components: points of one component differ by noise of variance 0.1 per coordinate (2 x 0.1 for a pair)
    same = mix[np.argsort(np.linalg.norm(mix - mix[0], axis=1))[1]] - mix[0]
    assert float(np.var(same)) == pytest.approx(0.2, rel=0.5)
    summary = u.cs224n_summary(cube, seed=1)
    assert set(summary) == {"sigma", "sigma8", "h"}
    assert 0.0 <= summary["h"] <= math.log(256) + 1e-9
    # clustered points vary more in nearest-neighbour distance than uniform ones
    assert u.cs224n_summary(mix, seed=1)["sigma8"] > summary["sigma8"]
