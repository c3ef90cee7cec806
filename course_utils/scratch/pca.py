"""Principal component analysis by the singular value decomposition, and principal angles (chapter 17).

Contract:

- Data are rows: ``X`` of shape ``(n, d)``. :func:`pca` centres ``X`` with its column
  means ``μ`` and takes the SVD of the centred data, ``X − μ = U S Vᵀ``. The first ``k``
  rows of ``Vᵀ`` are the **principal components** (orthonormal directions in ``R^d``,
  ordered by the variance along them), and ``S_i² / (n − 1)`` is the variance of the data
  along component ``i`` (the ``i``-th eigenvalue of the sample covariance matrix, the
  ``n − 1`` divisor as in ``np.cov`` and scikit-learn).
- Signs: a singular vector is only defined up to sign. We flip each component so that
  its entry of largest absolute value is positive (any fixed rule would do; compare
  components with other libraries up to sign).
- :func:`project` maps data to ``k`` codes ``(X − μ) Vₖ`` and :func:`reconstruct` maps codes
  back, ``codes Vₖᵀ + μ``: the best rank-``k`` approximation of the data in squared error
  (Eckart–Young), whose mean squared error per pixel is the sum of the discarded
  variances divided by ``d`` (times ``(n − 1)/n``).
- :func:`principal_angles` measures how far apart two subspaces are: the angles
  ``0 ≤ θ₁ ≤ … ≤ θ_p ≤ π/2`` between the column spaces of ``A (d, k)`` and ``B (d, m)``,
  ``p = min(k, m)``. All angles are 0 exactly when the smaller space lies inside the larger.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PCA:
    """What :func:`pca` returns. ``components`` has shape ``(k, d)`` (orthonormal rows)."""

    mean: np.ndarray                       # (d,) the column means that were subtracted
    components: np.ndarray                 # (k, d) principal directions, largest variance first
    explained_variance: np.ndarray         # (k,) variance of the data along each component
    explained_variance_ratio: np.ndarray   # (k,) that variance as a share of the total variance
    singular_values: np.ndarray            # (k,) the singular values S_i of the centred data

    @property
    def k(self) -> int:
        return len(self.components)


def pca(X: np.ndarray, k: int) -> PCA:
    """The top ``k`` principal components of the rows of ``X`` ``(n, d)``, by the SVD of the centred data."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"X must be an (n, d) array with n >= 2, got shape {X.shape}")
    n, d = X.shape
    if not 1 <= k <= min(n, d):
        raise ValueError(f"k must be between 1 and min(n, d) = {min(n, d)}, got {k}")
    mean = X.mean(axis=0)
    _, S, Vt = np.linalg.svd(X - mean, full_matrices=False)
    Vt = Vt[:k]
    signs = np.sign(Vt[np.arange(k), np.abs(Vt).argmax(axis=1)])  # largest |entry| of each component > 0
    variance = S ** 2 / (n - 1)
    return PCA(mean=mean, components=Vt * signs[:, None], explained_variance=variance[:k],
               explained_variance_ratio=variance[:k] / variance.sum(), singular_values=S[:k])


def project(model: PCA, X: np.ndarray) -> np.ndarray:
    """Codes ``(n, k)``: the coordinates of the centred rows of ``X`` along the components."""
    return (np.asarray(X, dtype=np.float64) - model.mean) @ model.components.T


def reconstruct(model: PCA, codes: np.ndarray) -> np.ndarray:
    """Rows ``(n, d)`` back from codes ``(n, k)``: ``codes · components + mean``."""
    return np.asarray(codes, dtype=np.float64) @ model.components + model.mean


def _orthonormal_basis(A: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """An orthonormal basis ``(d, r)`` of the column space of ``A`` (left singular vectors; r = rank)."""
    U, S, _ = np.linalg.svd(np.asarray(A, dtype=np.float64), full_matrices=False)
    rank = int(np.sum(S > rtol * max(S.max(initial=0.0), np.finfo(float).tiny)))
    if rank == 0:
        raise ValueError("a matrix whose columns are all zero spans no subspace")
    return U[:, :rank]


def principal_angles(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Principal angles (radians, smallest first) between the column spaces of ``A (d, k)`` and ``B (d, m)``.

    With orthonormal bases ``Q_A`` and ``Q_B``, the cosines of the angles are the singular
    values of ``Q_Aᵀ Q_B``. Near 0 the arccosine loses precision (an angle of 1e-8 has a
    cosine of 1 − 5e-17), so small angles come from their sines instead: the singular
    values of ``Q_B − Q_A Q_Aᵀ Q_B``, the part of the smaller space outside the larger
    (Björck and Golub, 1973).
    """
    Qa, Qb = _orthonormal_basis(A), _orthonormal_basis(B)
    if Qa.shape[0] != Qb.shape[0]:
        raise ValueError(f"A and B need the same number of rows (the dimension d), got {Qa.shape[0]} and {Qb.shape[0]}")
    if Qb.shape[1] > Qa.shape[1]:
        Qa, Qb = Qb, Qa  # Qb spans the smaller space: p = its dimension
    cos = np.clip(np.linalg.svd(Qa.T @ Qb, compute_uv=False), 0.0, 1.0)         # descending: angles ascending
    sin = np.clip(np.linalg.svd(Qb - Qa @ (Qa.T @ Qb), compute_uv=False), 0.0, 1.0)[::-1]  # ascending
    return np.where(cos ** 2 >= 0.5, np.arcsin(sin), np.arccos(cos))
