"""How evenly embeddings fill their space (the CS224N report's uniformity analysis).

For a set of L2-normalized vectors X (n, D):

* sigma, point-to-point: the standard deviation of all pairwise Euclidean distances ||x_i - x_j||,
  i < j. Points spread uniformly over a high-dimensional sphere have nearly equal distances
  (sigma near 0); clustered points have short within-cluster and long between-cluster distances.
* h, voxel entropy: project X onto its top 3 principal directions, rescale each to [0, 1], count the
  points in each of `bins`^3 voxels, and take the Shannon entropy of those counts divided by its
  maximum log(min(n, bins^3)): 1 = the points fill the voxels evenly, 0 = all in one voxel.
* U, Wang and Isola's uniformity: log mean_{i<j} exp(-2 ||x_i - x_j||^2) (lower = more uniform).

References to read them against: the same number of points drawn uniformly on the sphere, and from
a mixture of Gaussians (one component per class) projected onto the sphere.
"""

from __future__ import annotations

import numpy as np

from soundseek.encoders.base import l2_normalize


def pairwise_distances(x: np.ndarray) -> np.ndarray:
    """Distances ||x_i - x_j|| for i < j. Returns: (n (n - 1) / 2,) float64."""
    x = np.asarray(x, dtype=np.float64)
    sq = np.sum(x * x, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0)
    iu = np.triu_indices(len(x), k=1)
    return np.sqrt(d2[iu])


def point_sigma(x: np.ndarray) -> float:
    """Standard deviation of the pairwise distances (0 for fewer than two points)."""
    return float(np.std(pairwise_distances(x))) if len(x) > 1 else 0.0


def voxel_entropy(x: np.ndarray, *, bins: int = 8) -> float:
    """Normalized Shannon entropy of voxel occupancy in the top-3 principal components, in [0, 1]."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return 0.0
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    proj = centred @ vt[:3].T
    span = np.maximum(proj.max(axis=0) - proj.min(axis=0), 1e-12)
    cells = np.minimum(((proj - proj.min(axis=0)) / span * bins).astype(int), bins - 1)
    _, counts = np.unique(cells, axis=0, return_counts=True)
    p = counts / counts.sum()
    top = np.log(min(len(x), bins ** proj.shape[1]))
    return float(-(p * np.log(p)).sum() / top) if top > 0 else 0.0


def wang_isola_uniformity(x: np.ndarray, *, t: float = 2.0) -> float:
    """log mean over pairs of exp(-t ||x_i - x_j||^2)."""
    d = pairwise_distances(x)
    return float(np.log(np.mean(np.exp(-t * d * d)))) if len(d) else 0.0


def uniformity_summary(x: np.ndarray) -> dict[str, float]:
    """{"sigma", "h", "U"} of a set of vectors (normalized first)."""
    x = l2_normalize(x)
    return {"sigma": point_sigma(x), "h": voxel_entropy(x), "U": wang_isola_uniformity(x)}


def uniform_reference(n: int, dim: int, *, seed: int = 0) -> np.ndarray:
    """n points uniformly on the unit sphere in `dim` dimensions. Returns: (n, dim) float32."""
    return l2_normalize(np.random.default_rng(seed).standard_normal((n, dim)))


def mixture_reference(n: int, dim: int, *, components: int = 50, spread: float = 0.3, seed: int = 0) -> np.ndarray:
    """n points from `components` Gaussians (unit-sphere centres, isotropic noise of norm about
    `spread`), projected onto the sphere. Returns: (n, dim) float32."""
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.standard_normal((components, dim)))
    which = rng.integers(0, components, size=n)
    return l2_normalize(centres[which] + rng.standard_normal((n, dim)) * spread / np.sqrt(dim))
