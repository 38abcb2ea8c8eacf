"""Reduce or whiten one modality's encoder vectors to the twin network's input size (300 by default).

A `Reducer` is an affine map `y = l2_normalize((x - mean) @ proj)`:

* PCA with whitening: `proj[:, j] = v_j / sqrt(lambda_j + eps)` for the top principal directions
  v_j (eigenvalues lambda_j), eps = `shrink` x the mean eigenvalue (regularized whitening, so
  directions with almost no variance are not blown up to noise).
* When fewer components exist than the output size (GloVe has 50 dimensions, MFCC stats 120, and a
  PCA over n samples has at most n - 1 directions) the whitened k-d vector is lifted to the output
  size by a fixed, seeded random matrix with orthonormal rows (k x out): distances are preserved
  exactly, and audio and text do not collide on the same few input units of a shared first layer.

The state (mean, proj) is saved with a model, so a loaded model reduces new vectors exactly as in
training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundseek.encoders.base import l2_normalize
from soundseek.errors import ModelError


@dataclass
class Reducer:
    """An affine map to `out_dim` dimensions followed by L2 normalization.

    Attributes:
        mean: (d_in,) float32, subtracted first.
        proj: (d_in, out_dim) float32.
        n_components: how many whitened principal directions the map keeps (<= out_dim).
    """

    mean: np.ndarray
    proj: np.ndarray
    n_components: int

    @property
    def in_dim(self) -> int:
        return int(self.proj.shape[0])

    @property
    def out_dim(self) -> int:
        return int(self.proj.shape[1])

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Returns: (n, out_dim) float32, L2-normalized rows."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ModelError(f"expected vectors of dimension {self.in_dim}, got shape {x.shape}")
        return l2_normalize((x - self.mean) @ self.proj)

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays to save, keyed `<prefix>.mean`, `<prefix>.proj`, `<prefix>.n_components`."""
        # safetensors writes the raw buffer: arrays must be C-contiguous
        return {f"{prefix}.mean": np.ascontiguousarray(self.mean), f"{prefix}.proj": np.ascontiguousarray(self.proj),
                f"{prefix}.n_components": np.asarray([self.n_components], dtype=np.int64)}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], prefix: str) -> "Reducer":
        try:
            return cls(np.asarray(state[f"{prefix}.mean"], np.float32), np.asarray(state[f"{prefix}.proj"], np.float32),
                       int(np.asarray(state[f"{prefix}.n_components"]).ravel()[0]))
        except KeyError as exc:
            raise ModelError(f"saved feature state lacks {exc}") from exc


def fit_reducer(x: np.ndarray, *, out_dim: int = 300, shrink: float = 0.1, seed: int = 0) -> Reducer:
    """Fit PCA-whitening of `x` (n, d_in) to at most `out_dim` components, lifted to `out_dim`.

    Keeps k = min(out_dim, d_in, n - 1) principal directions (those with non-zero variance).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ModelError("fitting a reducer needs at least two vectors")
    mean = x.mean(axis=0)
    _, sing, vt = np.linalg.svd(x - mean, full_matrices=False)
    var = sing**2 / (len(x) - 1)
    k = int(min(out_dim, x.shape[1], len(x) - 1, int(np.sum(var > 1e-10 * max(var[0], 1e-30)))))
    eps = shrink * float(var[:k].mean())
    proj = vt[:k].T / np.sqrt(var[:k] + eps)
    if k < out_dim:
        proj = proj @ random_lift(k, out_dim, seed=seed)
    return Reducer(np.ascontiguousarray(mean, np.float32), np.ascontiguousarray(proj, np.float32), k)


def random_lift(k: int, out_dim: int, *, seed: int = 0) -> np.ndarray:
    """A fixed (k, out_dim) matrix with orthonormal rows (k <= out_dim), from a seeded QR."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((out_dim, k)))
    return q.T.astype(np.float64)
