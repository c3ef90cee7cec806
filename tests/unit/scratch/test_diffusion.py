"""course_utils.scratch.diffusion: schedules, forward process, posterior, samplers and the loss.

Every formula is checked against an independent computation: an explicit product for ᾱ_t,
a simulated chain for the closed form, Gaussian conditioning and a regression for the
posterior, exact moment propagation for the samplers, torch autograd for the loss.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.scratch import diffusion as D


# ------------------------------------------------------------------ schedules
@pytest.mark.parametrize("name", D.SCHEDULES)
@pytest.mark.parametrize("T", [1, 2, 10, 100, 1000])
def test_schedule_properties(name, T):
    s = D.make_schedule(name, T)
    assert s.T == T and s.beta.shape == s.alpha.shape == s.alpha_bar.shape == (T + 1,)
    assert s.beta[0] == 0 and s.alpha_bar[0] == 1
    assert np.all((s.beta[1:] > 0) & (s.beta[1:] < 1))
    np.testing.assert_allclose(s.alpha, 1 - s.beta)
    # ᾱ_t = ∏_{s=1}^{t} α_s, written as an explicit loop (the seed notes start at s = 0)
    for t in range(1, T + 1):
        assert s.alpha_bar[t] == pytest.approx(np.prod([s.alpha[k] for k in range(1, t + 1)]), rel=1e-12)
    assert np.all(np.diff(s.alpha_bar) < 0), "ᾱ_t must decrease strictly"
    r = D.snr(s)
    assert r.shape == (T,) and np.all(np.diff(r) < 0)
    np.testing.assert_allclose(r, s.alpha_bar[1:] / (1 - s.alpha_bar[1:]))


def test_cosine_endpoints_and_shape():
    T, sc = 1000, 0.008
    s = D.cosine_schedule(T, s=sc)
    f = lambda t: np.cos(0.5 * np.pi * (t / T + sc) / (1 + sc)) ** 2  # noqa: E731
    # away from the capped final step, ᾱ_t is exactly f(t)/f(0)
    t = np.arange(0, T)
    np.testing.assert_allclose(s.alpha_bar[:T], f(t) / f(0), rtol=1e-9, atol=1e-12)
    assert s.alpha_bar[1] > 0.9999 and s.alpha_bar[T] < 1e-6
    assert s.beta[T] == pytest.approx(0.999)  # the cap
    assert s.alpha_bar[T // 2] == pytest.approx(f(T // 2) / f(0))


def test_linear_schedule_endpoints():
    s = D.linear_schedule(1000)
    assert s.beta[1] == pytest.approx(1e-4) and s.beta[-1] == pytest.approx(0.02)
    for T in (100, 1000):  # ᾱ_T ≈ exp(-Σβ) ≈ e^{-10} for large T
        assert np.exp(-10) / 3 < D.linear_schedule(T).alpha_bar[-1] < 3 * np.exp(-10)
    for T in (2, 10, 20, 50):  # smaller T: even less signal left (β's reach the cap)
        assert D.linear_schedule(T).alpha_bar[-1] < 1e-3


def test_schedule_errors():
    with pytest.raises(ValueError):
        D.make_schedule("quadratic", 10)
    with pytest.raises(ValueError):
        D.make_schedule("linear", 0)


# ------------------------------------------------------------ forward process
@pytest.mark.parametrize("name", D.SCHEDULES)
def test_closed_form_matches_simulated_chain(name):
    """Mean and variance of x_t from the chain agree with N(√ᾱ_t x_0, (1-ᾱ_t) I).

    With n samples the standard error of a sample mean is sqrt(var/n) and of a sample
    variance about var·sqrt(2/n); we allow 5 standard errors on each of the 3 coordinates.
    """
    T, n = 50, 40_000
    s = D.make_schedule(name, T)
    x0 = np.array([-1.0, 0.5, 2.0])
    path = D.simulate_chain(np.broadcast_to(x0, (n, 3)), T, s, np.random.default_rng(0))
    assert path.shape == (T + 1, n, 3)
    np.testing.assert_array_equal(path[0], np.broadcast_to(x0, (n, 3)))
    for t in (1, 5, 20, T):
        mean, var = np.sqrt(s.alpha_bar[t]) * x0, 1 - s.alpha_bar[t]
        got_mean, got_var = path[t].mean(0), path[t].var(0)
        assert np.all(np.abs(got_mean - mean) < 5 * np.sqrt(var / n)), (t, got_mean, mean)
        assert np.all(np.abs(got_var - var) < 5 * var * np.sqrt(2 / n)), (t, got_var, var)
        # the closed-form sampler has the same moments
        xt, _ = D.q_sample(np.broadcast_to(x0, (n, 3)), t, s, np.random.default_rng(1))
        assert np.all(np.abs(xt.mean(0) - mean) < 5 * np.sqrt(var / n))
        assert np.all(np.abs(xt.var(0) - var) < 5 * var * np.sqrt(2 / n))


def test_chain_composition_is_exact_with_shared_noise():
    """Two chain steps equal one closed-form jump when the noises are combined as in the derivation."""
    s = D.linear_schedule(10)
    rng = np.random.default_rng(3)
    x0, e1, e2 = rng.standard_normal((3, 5))
    x1 = np.sqrt(s.alpha[1]) * x0 + np.sqrt(s.beta[1]) * e1
    x2 = np.sqrt(s.alpha[2]) * x1 + np.sqrt(s.beta[2]) * e2
    combined = (np.sqrt(s.alpha[2] * s.beta[1]) * e1 + np.sqrt(s.beta[2]) * e2) / np.sqrt(1 - s.alpha_bar[2])
    np.testing.assert_allclose(D.q_sample(x0, 2, s, eps=combined)[0], x2, rtol=1e-12)


def test_q_sample_per_example_times():
    s = D.cosine_schedule(20)
    x0 = np.ones((3, 1, 2, 2))
    t = np.array([0, 10, 20])
    xt, eps = D.q_sample(x0, t, s, eps=np.zeros_like(x0))
    for i in range(3):
        np.testing.assert_allclose(xt[i], np.sqrt(s.alpha_bar[t[i]]))


# ------------------------------------------------------------------ posterior
def _gaussian_conditioning(x0, xt, t, s):
    """q(x_{t-1} | x_t, x_0) from the joint covariance of (x_{t-1}, x_t) given x_0 (1-D per coordinate)."""
    ab_prev, a = s.alpha_bar[t - 1], s.alpha[t]
    m1, m2 = np.sqrt(ab_prev) * x0, np.sqrt(ab_prev * a) * x0
    v11 = 1 - ab_prev                      # Var x_{t-1}
    v22 = 1 - ab_prev * a                  # Var x_t
    v12 = np.sqrt(a) * v11                 # Cov(x_{t-1}, x_t) = √α_t Var x_{t-1}
    cov = np.array([[v11, v12], [v12, v22]])
    mean = m1 + cov[0, 1] / cov[1, 1] * (xt - m2)
    var = cov[0, 0] - cov[0, 1] ** 2 / cov[1, 1]
    return mean, var


@pytest.mark.parametrize("name", D.SCHEDULES)
def test_posterior_matches_gaussian_conditioning(name):
    s = D.make_schedule(name, 30)
    rng = np.random.default_rng(4)
    for t in (1, 2, 7, 30):
        x0, xt = rng.standard_normal((2, 6))
        mean, var = D.posterior_mean_var(x0, xt, t, s)
        ref_mean, ref_var = _gaussian_conditioning(x0, xt, t, s)
        np.testing.assert_allclose(mean, ref_mean, rtol=1e-10, atol=1e-12)
        assert var == pytest.approx(ref_var, rel=1e-10, abs=1e-14)


def test_posterior_matches_monte_carlo():
    """Simulate (x_{t-1}, x_t) and regress: the conditional moments agree."""
    s, t, x0, n = D.linear_schedule(20), 8, 0.7, 200_000
    path = D.simulate_chain(np.full(n, x0), t, s, np.random.default_rng(5))
    prev, cur = path[t - 1], path[t]
    slope, icpt = np.polyfit(cur, prev, 1)
    resid_var = np.var(prev - (slope * cur + icpt))
    mean_at = lambda x: D.posterior_mean_var(x0, x, t, s)[0]  # noqa: E731
    assert slope == pytest.approx(mean_at(1.0) - mean_at(0.0), abs=0.01)
    assert icpt == pytest.approx(mean_at(0.0), abs=0.01)
    assert resid_var == pytest.approx(D.posterior_mean_var(x0, 0.0, t, s)[1], rel=0.02)


def test_posterior_mean_from_eps_and_predict_x0():
    s = D.cosine_schedule(40)
    rng = np.random.default_rng(6)
    x0 = rng.standard_normal((4, 2))
    for t in (1, 13, 40):
        xt, eps = D.q_sample(x0, t, s, rng)
        np.testing.assert_allclose(D.predict_x0(xt, eps, t, s), x0, rtol=1e-6, atol=1e-6 if t < 40 else 1e-3)
        np.testing.assert_allclose(D.posterior_mean_from_eps(xt, eps, t, s), D.posterior_mean_var(x0, xt, t, s)[0],
                                   rtol=1e-8, atol=1e-8)


# ------------------------------------------------------------------- samplers
def _oracle(s, m, sd):
    """The exact E[ε | x_t] when x_0 ~ N(m, sd² I): x_t ~ N(√ᾱ m, ᾱ sd² + 1 − ᾱ)."""
    def eps_fn(x, t):
        ab = s.alpha_bar[t]
        return np.sqrt(1 - ab) * (x - np.sqrt(ab) * m) / (ab * sd ** 2 + 1 - ab)
    return eps_fn


def _exact_ddpm_moments(s, m, sd):
    """Propagate mean and variance through the (linear-Gaussian) sampler with the oracle."""
    mu, var = 0.0, 1.0
    for t in range(s.T, 0, -1):
        ab = s.alpha_bar[t]
        k = np.sqrt(1 - ab) / (ab * sd ** 2 + 1 - ab)         # eps = k (x - √ᾱ m)
        c = s.beta[t] / np.sqrt(1 - ab)
        a = (1 - c * k) / np.sqrt(s.alpha[t])                  # x_{t-1} = a x + b + σ z
        b = c * k * np.sqrt(ab) * m / np.sqrt(s.alpha[t])
        sig2 = D.posterior_mean_var(0.0, 0.0, t, s)[1]
        mu, var = a * mu + b, a * a * var + sig2
    return mu, var


@pytest.mark.parametrize("name", D.SCHEDULES)
def test_ddpm_with_exact_score_recovers_gaussian(name):
    s, m, sd, n = D.make_schedule(name, 1000), 1.5, 0.5, 4000
    X = D.ddpm_sample(_oracle(s, m, sd), (n, 2), s, np.random.default_rng(7))
    # the exact output distribution of the sampler is close to the data distribution ...
    mu, var = _exact_ddpm_moments(s, m, sd)
    assert mu == pytest.approx(m, abs=0.01) and np.sqrt(var) == pytest.approx(sd, rel=0.03)
    # ... and the samples match it (5 standard errors)
    assert np.all(np.abs(X.mean(0) - mu) < 5 * np.sqrt(var / n))
    assert np.all(np.abs(X.var(0) - var) < 5 * var * np.sqrt(2 / n))


def test_ddpm_trajectory_shape_and_ends():
    s = D.linear_schedule(10)
    path = D.ddpm_sample(_oracle(s, 0.0, 1.0), (5, 2), s, np.random.default_rng(0), return_trajectory=True)
    assert path.shape == (11, 5, 2)
    np.testing.assert_array_equal(path[10], np.random.default_rng(0).standard_normal((5, 2)))


def test_ddim_with_exact_score_recovers_gaussian_and_is_deterministic():
    s, m, sd, n = D.cosine_schedule(1000), -1.0, 0.4, 4000
    X = D.ddim_sample(_oracle(s, m, sd), (n, 1), s, np.random.default_rng(8), steps=200)
    assert X.mean() == pytest.approx(m, abs=0.03)
    assert X.std() == pytest.approx(sd, rel=0.05)
    # deterministic: a given start always gives the same sample, and the map is monotone
    x_a = D.ddim_sample(_oracle(s, m, sd), (n, 1), s, np.random.default_rng(8), steps=200)
    np.testing.assert_array_equal(X, x_a)
    start = np.random.default_rng(8).standard_normal((n, 1))
    assert np.all(np.diff(X[np.argsort(start[:, 0]), 0]) > 0)
    with pytest.raises(ValueError):
        D.ddim_sample(_oracle(s, m, sd), (3, 1), s, np.random.default_rng(0), steps=0)


# ----------------------------------------------------------------------- loss
def test_simple_loss_numpy_vs_torch_and_gradient():
    rng = np.random.default_rng(9)
    eps, eps_hat = rng.standard_normal((2, 6, 1, 3, 3))
    e_hat = torch.tensor(eps_hat, requires_grad=True)
    loss = ((torch.tensor(eps) - e_hat) ** 2).flatten(1).sum(1).mean()
    assert D.simple_loss(eps, eps_hat) == pytest.approx(loss.item(), rel=1e-12)
    loss.backward()  # d/dε̂ of mean_i ‖ε_i − ε̂_i‖² = 2 (ε̂ − ε)/n
    np.testing.assert_allclose(e_hat.grad.numpy(), 2 * (eps_hat - eps) / 6, rtol=1e-12)


def test_noise_prediction_loss_with_perfect_model_is_zero():
    s = D.linear_schedule(20)
    ab = torch.as_tensor(s.alpha_bar, dtype=torch.float64)
    x0 = torch.zeros(16, 2, dtype=torch.float64)

    def oracle(xt, t):  # x_0 = 0, so x_t = √(1−ᾱ) ε exactly
        return xt / (1 - ab[t]).sqrt()[:, None]

    gen = torch.Generator().manual_seed(0)
    assert D.noise_prediction_loss(oracle, x0, ab, gen).item() == pytest.approx(0.0, abs=1e-20)
    zero = D.noise_prediction_loss(lambda xt, t: torch.zeros_like(xt), x0, ab, torch.Generator().manual_seed(0))
    assert 0.5 < zero.item() / 2 < 1.5  # E‖ε‖² = d = 2


def test_schedule_from_betas_constant():
    s = D.schedule_from_betas("constant", np.full(30, 0.02))
    np.testing.assert_allclose(s.alpha_bar, 0.98 ** np.arange(31), rtol=1e-12)
    with pytest.raises(ValueError):
        D.schedule_from_betas("bad", np.array([0.5, 1.0]))


# ------------------------------------------------------------ the best possible
def test_optimal_eps_single_gaussian_is_the_closed_form():
    """One component N(m, sd² I): E[ε | x_t] = √(1−ᾱ)(x_t − √ᾱ m)/(ᾱ sd² + 1 − ᾱ)."""
    s, m, sd = D.cosine_schedule(30), np.array([0.7, -1.2]), 0.4
    x = np.random.default_rng(0).standard_normal((6, 2))
    for t in (1, 10, 30):
        ab = s.alpha_bar[t]
        ref = np.sqrt(1 - ab) * (x - np.sqrt(ab) * m) / (ab * sd ** 2 + 1 - ab)
        np.testing.assert_allclose(D.optimal_eps(x, t, s, m[None], sd), ref, rtol=1e-10, atol=1e-12)


def test_optimal_eps_finite_set_matches_bayes_by_hand():
    """sd = 0: posterior over the training points, written as an explicit loop over them."""
    s = D.linear_schedule(20)
    rng = np.random.default_rng(1)
    C, x, t = rng.standard_normal((5, 1, 2, 2)), rng.standard_normal((3, 1, 2, 2)), 4
    ab = s.alpha_bar[t]
    for i in range(len(x)):
        like = np.array([np.exp(-np.sum((x[i] - np.sqrt(ab) * c) ** 2) / (2 * (1 - ab))) for c in C])
        w = like / like.sum()
        ref = sum(wk * (x[i] - np.sqrt(ab) * c) / np.sqrt(1 - ab) for wk, c in zip(w, C))
        np.testing.assert_allclose(D.optimal_eps(x, t, s, C)[i], ref, rtol=1e-9)


def test_optimal_eps_is_the_conditional_mean_by_simulation():
    """Bin simulated (x_t, ε) pairs of a 1-D two-component mixture: the bin averages of ε match ε*."""
    s, t, n = D.linear_schedule(20), 6, 400_000
    rng = np.random.default_rng(2)
    C, sd = np.array([[-1.0], [1.5]]), 0.3
    x0 = C[rng.integers(0, 2, n)] + sd * rng.standard_normal((n, 1))
    xt, eps = D.q_sample(x0, t, s, rng)
    edges = np.linspace(-1.5, 1.5, 13)
    which = np.digitize(xt[:, 0], edges)
    for b in range(1, len(edges)):
        sel = which == b
        centre = np.array([[0.5 * (edges[b - 1] + edges[b])]])
        # the bin average of ε* (not ε* at the centre): ε* varies inside a bin
        expected = D.optimal_eps(xt[sel], t, s, C, sd).mean()
        assert eps[sel].mean() == pytest.approx(expected, abs=5 * eps[sel].std() / np.sqrt(sel.sum()) + 1e-3), centre


def test_optimal_eps_beats_any_perturbation():
    s, rng = D.linear_schedule(50), np.random.default_rng(3)
    C = rng.standard_normal((40, 2))
    x0 = C[rng.integers(0, 40, 20_000)] + 0.1 * rng.standard_normal((20_000, 2))
    for t in (1, 10, 40):
        xt, eps = D.q_sample(x0, t, s, rng)
        best = D.optimal_eps(xt, t, s, C, 0.1)
        loss = D.simple_loss(eps, best)
        for other in (0.9 * best, best + 0.05, xt * np.sqrt(1 - s.alpha_bar[t])):
            assert loss < D.simple_loss(eps, other)
