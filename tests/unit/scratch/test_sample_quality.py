"""course_utils.scratch.sample_quality: the distances between generated samples and data."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils.scratch import sample_quality as Q


def test_nn_distance_by_hand():
    X = np.random.default_rng(0).standard_normal((300, 2))
    assert Q.nn_distance(X, X) == pytest.approx(0.0, abs=1e-6)
    A, B = np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0]])
    # A→B: (1 + √2)/2 ; B→A: 1 ; symmetric mean: ((1 + √2)/2 + 1)/2
    assert Q.nn_distance(A, B) == pytest.approx(((1 + np.sqrt(2)) / 2 + 1) / 2)
    assert Q.nn_distance(X, X + 5) > 4


def test_energy_distance():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((400, 2)), rng.standard_normal((400, 2))
    assert abs(Q.energy_distance(A, B)) < 0.02                       # same distribution: about 0
    assert Q.energy_distance(A, B + [1.0, 0.0]) > 0.3                 # shifted
    assert Q.energy_distance(A, 2 * B) > 5 * abs(Q.energy_distance(A, B))   # too wide: nn distance would barely see it
    # by hand: A = {0, 2}, B = {1}: 2·1 − 2 (the two within-A distances, averaged without the diagonal)
    with pytest.raises(ValueError):
        Q.energy_distance(np.zeros((1, 2)), np.zeros((3, 2)))
    a, b = np.array([[0.0], [2.0]]), np.array([[1.0], [1.0]])
    assert Q.energy_distance(a, b) == pytest.approx(2 * 1.0 - 2.0 - 0.0)


# ------------------------------------------------------------ Fréchet distance
def _random_psd(rng, k, rank=None):
    M = rng.standard_normal((k, rank or k))
    return M @ M.T / k


def test_gaussian_stats():
    F = np.random.default_rng(2).standard_normal((50, 3))
    mu, cov = Q.gaussian_stats(F)
    np.testing.assert_allclose(mu, F.mean(0))
    np.testing.assert_allclose(cov, np.cov(F.T))
    with pytest.raises(ValueError):
        Q.gaussian_stats(F[:1])


def test_frechet_distance_closed_forms_and_scipy():
    rng = np.random.default_rng(3)
    mu1, mu2 = rng.standard_normal(4), rng.standard_normal(4)
    # commuting (diagonal) covariances: ‖μ₁ − μ₂‖² + Σ (σ₁ − σ₂)²
    s1, s2 = rng.uniform(0.5, 2, 4), rng.uniform(0.5, 2, 4)
    assert Q.frechet_distance(mu1, np.diag(s1 ** 2), mu2, np.diag(s2 ** 2)) == pytest.approx(
        np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2), rel=1e-10)
    C = _random_psd(rng, 4)
    assert Q.frechet_distance(mu1, C, mu1, C) == pytest.approx(0.0, abs=1e-9)
    # general covariances, against scipy's matrix square root of C1 C2
    from scipy.linalg import sqrtm

    for k in (2, 8, 30):
        C1, C2, m1, m2 = _random_psd(rng, k), _random_psd(rng, k), rng.standard_normal(k), rng.standard_normal(k)
        ref = np.sum((m1 - m2) ** 2) + np.trace(C1 + C2 - 2 * np.real(sqrtm(C1 @ C2)))
        assert Q.frechet_distance(m1, C1, m2, C2) == pytest.approx(ref, rel=1e-7)
        assert Q.frechet_distance(m1, C1, m2, C2) == pytest.approx(Q.frechet_distance(m2, C2, m1, C1), rel=1e-9)
    # rank-deficient covariances (fewer samples than features) stay finite and non-negative
    D = Q.frechet_distance(mu1, _random_psd(rng, 4, rank=2), mu2, _random_psd(rng, 4, rank=1))
    assert np.isfinite(D) and D >= 0


# ------------------------------------------------------------- the yardstick
@pytest.fixture(scope="module")
def yard():
    from course_utils.data import load_digits

    return Q.digit_yardstick(*load_digits())


def test_yardstick_split_classifier_and_cache(yard):
    from course_utils.data import load_digits

    assert yard.reference_images.shape == (1000, 64) and yard.train_images.shape == (797, 64)
    assert yard.test_accuracy > 0.95
    assert Q.digit_yardstick(*load_digits()) is yard
    assert yard.features(yard.reference_images[:5]).shape == (5, 64)
    for shape in ((5, 64), (5, 8, 8), (5, 1, 8, 8)):
        assert Q.as_digit_batch(np.zeros(shape)).shape == (5, 1, 8, 8)
    with pytest.raises(ValueError):
        Q.as_digit_batch(np.zeros((5, 63)))
    with pytest.raises(ValueError):
        Q.digit_yardstick(*load_digits(), n_reference=0)


def test_yardstick_ranks_real_digits_first_and_the_controls_far_behind(yard):
    """The negative controls: a Gaussian fitted to the pixels and blurred digits score clearly worse than real digits."""
    rng = np.random.default_rng(4)
    real = yard.train_images[rng.choice(797, 500, replace=False)]
    s_real = yard.score(real)
    s_gauss = yard.score(yard.gaussian_baseline(500, rng))
    s_blur = yard.score(Q.blur(real))
    assert s_real.frechet < 15
    assert s_gauss.frechet > 4 * s_real.frechet and s_blur.frechet > 4 * s_gauss.frechet
    assert s_real.confidence > 0.95 > max(s_gauss.confidence, s_blur.confidence)
    assert s_real.class_entropy > 2.25 and s_real.class_counts.sum() == s_real.n == 500
    # one class only (mode collapse): entropy 0
    ones = yard.reference_images[yard.reference_labels == 1]
    assert yard.score(ones).class_entropy < 0.2


def test_fitted_gaussian_and_blur():
    rng = np.random.default_rng(5)
    X = rng.uniform(0, 1, (400, 64))
    G = Q.fitted_gaussian(X, 3000, rng, clip=(0.0, 1.0))
    assert G.shape == (3000, 64) and G.min() >= 0 and G.max() <= 1
    G2 = Q.fitted_gaussian(X[:, :2] * 3, 5000, rng)
    np.testing.assert_allclose(np.cov(G2.T), np.cov(X[:, :2].T * 3), atol=0.05)
    one = np.zeros((1, 64))
    one[0, 27] = 9.0
    b = Q.blur(one).reshape(8, 8)
    assert b[3, 3] == pytest.approx(1.0) and b[2, 2] == pytest.approx(1.0) and b[5, 5] == 0
    assert Q.blur(one, passes=2).sum() == pytest.approx(9.0)
