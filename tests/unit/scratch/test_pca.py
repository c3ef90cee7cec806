"""course_utils.scratch.pca: PCA against scikit-learn, the Eckart–Young error, principal angles against scipy."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA as SkPCA

from course_utils.scratch import pca


def _data(rng, n=60, d=7):
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(scale=4, size=d)


@pytest.mark.parametrize("seed", range(4))
def test_pca_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    X = _data(rng)
    k = int(rng.integers(1, 7))
    ours, theirs = pca.pca(X, k), SkPCA(n_components=k, svd_solver="full").fit(X)
    dots = np.sum(ours.components * theirs.components_, axis=1)
    np.testing.assert_allclose(np.abs(dots), 1.0, atol=1e-12)                       # same directions, up to sign
    np.testing.assert_allclose(ours.components, theirs.components_ * np.sign(dots)[:, None], atol=1e-12)
    np.testing.assert_allclose(ours.explained_variance, theirs.explained_variance_, rtol=1e-12)
    np.testing.assert_allclose(ours.explained_variance_ratio, theirs.explained_variance_ratio_, rtol=1e-12)
    np.testing.assert_allclose(ours.singular_values, theirs.singular_values_, rtol=1e-12)
    np.testing.assert_allclose(ours.mean, theirs.mean_, rtol=1e-12)
    np.testing.assert_allclose(pca.project(ours, X), theirs.transform(X) * np.sign(dots), atol=1e-10)


def test_components_are_orthonormal_with_a_fixed_sign():
    X = _data(np.random.default_rng(5))
    model = pca.pca(X, 5)
    np.testing.assert_allclose(model.components @ model.components.T, np.eye(5), atol=1e-12)
    largest = model.components[np.arange(5), np.abs(model.components).argmax(axis=1)]
    assert np.all(largest > 0)
    assert np.all(np.diff(model.explained_variance) <= 0) and model.k == 5


def test_explained_variance_is_the_covariance_spectrum():
    X = _data(np.random.default_rng(6))
    model = pca.pca(X, X.shape[1])
    np.testing.assert_allclose(model.explained_variance, np.linalg.eigvalsh(np.cov(X.T))[::-1], rtol=1e-10)
    assert model.explained_variance_ratio.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("k", [1, 3, 6])
def test_reconstruction_error_is_the_sum_of_dropped_variances(k):
    """Eckart–Young: the rank-k PCA reconstruction leaves exactly the variance of the dropped components."""
    X = _data(np.random.default_rng(7))
    n, d = X.shape
    full = pca.pca(X, d)
    model = pca.pca(X, k)
    mse = np.mean((pca.reconstruct(model, pca.project(model, X)) - X) ** 2)
    assert mse == pytest.approx((n - 1) / (n * d) * full.explained_variance[k:].sum(), rel=1e-10)
    # and no other rank-k projection does better: a random k-dimensional subspace
    Q, _ = np.linalg.qr(np.random.default_rng(8).normal(size=(d, k)))
    Xc = X - X.mean(0)
    assert np.mean((Xc @ Q @ Q.T - Xc) ** 2) > mse


def test_pca_argument_errors():
    X = np.ones((5, 3))
    with pytest.raises(ValueError, match="k must be between"):
        pca.pca(X, 0)
    with pytest.raises(ValueError, match="k must be between"):
        pca.pca(X, 4)
    with pytest.raises(ValueError, match="n >= 2"):
        pca.pca(np.ones((1, 3)), 1)


# ------------------------------------------------------------ principal angles
@pytest.mark.parametrize("k,m", [(3, 3), (2, 5), (5, 2), (1, 4), (6, 6)])
def test_principal_angles_match_scipy(k, m):
    rng = np.random.default_rng(k * 10 + m)
    A, B = rng.normal(size=(9, k)), rng.normal(size=(9, m))
    ours = pca.principal_angles(A, B)
    assert ours.shape == (min(k, m),) and np.all(np.diff(ours) >= 0)      # smallest first
    # scipy's angles near 0 carry errors up to about 3e-8 (seen on an AMD EPYC: 2.98e-8 for an exact 0), ours do not
    np.testing.assert_allclose(ours, np.sort(subspace_angles(A, B)), atol=1e-7)
    shared = max(0, k + m - 9)                 # two subspaces of R^9 share at least k + m - 9 dimensions: angle 0
    np.testing.assert_allclose(ours[:shared], 0, atol=1e-12)


def test_principal_angles_of_known_subspaces():
    e = np.eye(4)
    np.testing.assert_allclose(pca.principal_angles(e[:, :2], e[:, :2]), [0, 0], atol=1e-15)
    np.testing.assert_allclose(pca.principal_angles(e[:, :2], e[:, 2:]), [np.pi / 2] * 2, atol=1e-15)
    theta = 0.3   # rotate the second basis vector towards the third by θ
    B = np.stack([e[:, 0], np.cos(theta) * e[:, 1] + np.sin(theta) * e[:, 2]], axis=1)
    np.testing.assert_allclose(pca.principal_angles(e[:, :2], B), [0, theta], atol=1e-14)
    # a change of basis (any invertible mixing of the columns) does not change the subspace
    R = np.random.default_rng(9).normal(size=(2, 2))
    np.testing.assert_allclose(pca.principal_angles(e[:, :2], e[:, :2] @ R), [0, 0], atol=1e-14)


def test_tiny_angles_are_resolved_where_arccos_would_give_zero():
    e = np.eye(5)
    theta = 1e-9
    B = np.stack([e[:, 0], np.cos(theta) * e[:, 1] + np.sin(theta) * e[:, 4]], axis=1)
    angles = pca.principal_angles(e[:, :2], B)
    assert angles[1] == pytest.approx(theta, rel=1e-6)
    assert np.arccos(np.cos(theta)) == 0.0  # what the cosine alone would say


def test_principal_angle_errors():
    with pytest.raises(ValueError, match="same number of rows"):
        pca.principal_angles(np.ones((3, 1)), np.ones((4, 1)))
    with pytest.raises(ValueError, match="all zero"):
        pca.principal_angles(np.zeros((3, 1)), np.ones((3, 1)))
