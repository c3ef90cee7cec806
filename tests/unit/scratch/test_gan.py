"""course_utils.scratch.gan: the losses against torch, the optimal discriminator against closed forms,
the R1 penalty, the training loop and mode coverage."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import jensenshannon

from course_utils import data
from course_utils.scratch import gan


# ------------------------------------------------------------------ the losses
def _logits(rng):
    r, f = rng.normal(scale=4, size=int(rng.integers(1, 9))), rng.normal(scale=4, size=int(rng.integers(1, 9)))
    return r, f


@pytest.mark.parametrize("seed", range(4))
def test_discriminator_loss_is_bce_and_matches_torch(seed):
    r, f = _logits(np.random.default_rng(seed))
    rt, ft = torch.tensor(r, requires_grad=True), torch.tensor(f, requires_grad=True)
    ref = F.binary_cross_entropy_with_logits(rt, torch.ones_like(rt)) + F.binary_cross_entropy_with_logits(ft, torch.zeros_like(ft))
    ref.backward()
    loss, dr, df = gan.discriminator_loss(r, f)
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dr, rt.grad.numpy(), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(df, ft.grad.numpy(), rtol=1e-10, atol=1e-15)
    # −V from probabilities
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    assert loss == pytest.approx(-gan.gan_value(sig(r), sig(f)), rel=1e-9)


@pytest.mark.parametrize("ours,twin", [(gan.generator_loss_saturating, lambda f: -F.softplus(f).mean()),
                                       (gan.generator_loss_nonsaturating, lambda f: F.softplus(-f).mean())])
@pytest.mark.parametrize("seed", range(3))
def test_generator_losses_match_torch(ours, twin, seed):
    _, f = _logits(np.random.default_rng(seed))
    ft = torch.tensor(f, requires_grad=True)
    ref = twin(ft)
    ref.backward()
    loss, grad = ours(f)
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grad, ft.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_losses_are_stable_and_the_saturating_gradient_vanishes():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, _, _ = gan.discriminator_loss(np.array([-1000.0]), np.array([1000.0]))
        sat, d_sat = gan.generator_loss_saturating(np.array([-1000.0, -20.0]))
        ns, d_ns = gan.generator_loss_nonsaturating(np.array([-1000.0, -20.0]))
    assert loss == pytest.approx(2000.0) and ns == pytest.approx(510.0)
    assert np.all(np.abs(d_sat) < 2e-9)                       # σ(−20)/2 ≈ 1e-9: nothing to learn from
    np.testing.assert_allclose(d_ns, -0.5, rtol=1e-8)         # the non-saturating loss still pushes
    assert sat == pytest.approx(-np.log1p(np.exp(-20.0)) / 2, rel=1e-6)


# --------------------------------------------------- the optimal discriminator
def test_optimal_discriminator_is_the_density_ratio_and_stable_in_the_tails():
    x = np.linspace(-5, 5, 11)
    lp, lq = gan.normal_logpdf(x, 0, 1), gan.normal_logpdf(x, 1, 0.5)
    p, q = np.exp(lp), np.exp(lq)
    np.testing.assert_allclose(gan.optimal_discriminator(lp, lq), p / (p + q), rtol=1e-12)
    far = gan.optimal_discriminator(gan.normal_logpdf(60.0, 0, 1), gan.normal_logpdf(60.0, 1, 0.5))
    assert far == 1.0  # both densities underflow to 0 in float64 here; the log-ratio does not
    np.testing.assert_allclose(gan.normal_logpdf(x, 1, 0.5), np.log(np.exp(-((x - 1) / 0.5) ** 2 / 2) / (0.5 * np.sqrt(2 * np.pi))))


def test_dstar_of_two_gaussians_is_a_logistic_regression_on_x_and_x_squared():
    (m1, s1), (m2, s2) = (0.0, 1.0), (1.0, 0.5)
    # log p − log q = w0 + w1 x + w2 x² with these exact weights
    w2 = 0.5 / s2 ** 2 - 0.5 / s1 ** 2
    w1 = m1 / s1 ** 2 - m2 / s2 ** 2
    w0 = m2 ** 2 / (2 * s2 ** 2) - m1 ** 2 / (2 * s1 ** 2) + np.log(s2 / s1)
    x = np.linspace(-3, 3, 50)
    logits = w0 + gan.quadratic_features(x) @ np.array([w1, w2])
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)),
                               gan.optimal_discriminator(gan.normal_logpdf(x, m1, s1), gan.normal_logpdf(x, m2, s2)),
                               rtol=1e-12)


def test_jensen_shannon_against_scipy_and_its_extremes():
    x = np.linspace(-10, 10, 20_001)
    dx = x[1] - x[0]
    p, q = np.exp(gan.normal_logpdf(x, 0, 1)), np.exp(gan.normal_logpdf(x, 1, 0.5))
    assert gan.jensen_shannon(p, q, dx) == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-6)
    assert gan.jensen_shannon(p, p, dx) == pytest.approx(0.0, abs=1e-12)
    far = np.exp(gan.normal_logpdf(x, 8, 0.1))
    assert gan.jensen_shannon(np.exp(gan.normal_logpdf(x, -8, 0.1)), far, dx) == pytest.approx(np.log(2), rel=1e-6)


def test_value_at_the_optimal_discriminator():
    """V(D*, G) = −log 4 + 2 JS, checked by quadrature on both sides."""
    x = np.linspace(-12, 12, 48_001)
    dx = x[1] - x[0]
    lp, lq = gan.normal_logpdf(x, 0, 1), gan.normal_logpdf(x, 1, 0.5)
    log_d, log_1md = -np.logaddexp(0, -(lp - lq)), -np.logaddexp(0, lp - lq)   # log D*, log(1 − D*), stably
    np.testing.assert_allclose(np.exp(log_d), gan.optimal_discriminator(lp, lq), rtol=1e-12)
    value = np.sum(np.exp(lp) * log_d + np.exp(lq) * log_1md) * dx
    assert value == pytest.approx(-np.log(4) + 2 * gan.jensen_shannon(np.exp(lp), np.exp(lq), dx), abs=1e-9)


# ------------------------------------------------------------------ networks
def test_build_gan_shapes_seeding_and_output():
    G, D = gan.build_gan(3, z_dim=5, hidden=8, seed=2, out="sigmoid")
    z = torch.randn(4, 5)
    x = G(z)
    x = x.detach()
    assert x.shape == (4, 3) and float(x.min()) > 0 and float(x.max()) < 1 and D(x).shape == (4,)
    G2, _ = gan.build_gan(3, z_dim=5, hidden=8, seed=2, out="sigmoid")
    torch.testing.assert_close(G(z), G2(z))
    np.testing.assert_array_equal(gan.sample_generator(G, 6, seed=1), gan.sample_generator(G2, 6, seed=1))
    with pytest.raises(ValueError, match="out must be"):
        gan.build_mlp(2, 2, out="tanh")
    with pytest.raises(ValueError, match="act must be"):
        gan.build_mlp(2, 2, act="gelu")


def test_r1_penalty_of_a_linear_discriminator_is_the_squared_weight_norm():
    D = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0))
    x = torch.randn(7, 3)
    assert gan.r1_penalty(D, x).item() == pytest.approx(float((D[0].weight.detach() ** 2).sum()), rel=1e-6)
    gan.r1_penalty(D, x).backward()   # differentiable in D's weights: ∂‖w‖²/∂w = 2w
    torch.testing.assert_close(D[0].weight.grad, 2 * D[0].weight.detach())


# ------------------------------------------------------------------ training
@pytest.fixture(scope="module")
def ring():
    return data.make_ring_of_gaussians(4000, np.random.default_rng(0))[0]


def test_train_gan_runs_snapshots_and_is_reproducible(ring):
    kw = dict(steps=60, batch_size=32, hidden=16, seed=3, snapshot_steps=[0, 30, 60], n_snapshot=50, show_progress=False)
    r = gan.train_gan(ring, **kw)
    assert len(r.d_losses) == len(r.g_losses) == 60 and not r.diverged
    assert sorted(r.snapshots) == [0, 30, 60] and r.snapshots[60].shape == (50, 2)
    assert not np.array_equal(r.snapshots[0], r.snapshots[60])
    again = gan.train_gan(ring, **kw)
    assert again.d_losses == r.d_losses
    np.testing.assert_array_equal(again.snapshots[60], r.snapshots[60])
    sat = gan.train_gan(ring, **{**kw, "steps": 5}, generator_loss="saturating")
    assert all(v <= 0 for v in sat.g_losses)                  # log(1 − D) is never positive
    with pytest.raises(ValueError, match="generator_loss"):
        gan.train_gan(ring, generator_loss="wasserstein")
    with pytest.raises(ValueError, match="steps"):
        gan.train_gan(ring, steps=0)


def test_train_gan_learns_the_ring_roughly(ring):
    """A short run moves the samples from a blob at the origin out towards the circle of radius 2."""
    r = gan.train_gan(ring, steps=400, batch_size=64, hidden=32, seed=0, snapshot_steps=[0, 400], show_progress=False)
    radius = {s: np.linalg.norm(r.snapshots[s], axis=1).mean() for s in (0, 400)}
    assert radius[0] < 0.7 and 1.4 < radius[400] < 2.6


def test_train_gan_reports_divergence(ring):
    r = gan.train_gan(ring, steps=50, lr_g=1e4, lr_d=1e4, hidden=8, seed=0, show_progress=False)
    assert r.diverged and "diverged" in r.message


def test_train_digit_gan_returns_a_sampler_with_its_time(monkeypatch):
    monkeypatch.setitem(gan.DIGIT_GAN, "steps", 3)
    trained = gan.train_digit_gan(data.load_digits()[0][:100], seed=0)
    assert trained.name == "GAN" and trained.train_seconds > 0 and len(trained.run.d_losses) == 3
    x = trained.sample(4, np.random.default_rng(0))
    assert x.shape == (4, 64) and x.min() >= 0 and x.max() <= 1
    np.testing.assert_array_equal(x, trained.sample(4, np.random.default_rng(0)))   # all randomness from rng
    monkeypatch.setattr(gan, "DIGIT_GAN_QUICK_STEPS", 2)
    assert len(gan.train_digit_gan(data.load_digits()[0][:100], seed=0, quick=True).run.d_losses) == 2


def test_train_digit_gan_raises_when_training_diverges(monkeypatch):
    monkeypatch.setitem(gan.DIGIT_GAN, "steps", 50)
    monkeypatch.setitem(gan.DIGIT_GAN, "lr_g", 1e4)
    monkeypatch.setitem(gan.DIGIT_GAN, "lr_d", 1e4)
    with pytest.raises(RuntimeError, match="diverged"):
        gan.train_digit_gan(data.load_digits()[0][:100], seed=0)


# ------------------------------------------------------------- mode coverage
def test_mode_coverage_by_hand():
    C = data.ring_centers(8, 2.0)
    rng = np.random.default_rng(1)
    on_two = np.concatenate([C[0] + 0.01 * rng.normal(size=(60, 2)), C[3] + 0.01 * rng.normal(size=(40, 2))])
    smeared = np.concatenate([on_two, np.zeros((100, 2))])   # half the samples at the origin: low quality
    cov = gan.mode_coverage(smeared, C, std=0.02, min_count=20)
    assert cov.modes_covered == 2 and cov.high_quality == pytest.approx(0.5)
    np.testing.assert_array_equal(cov.counts, [60, 0, 0, 40, 0, 0, 0, 0])
    assert gan.mode_coverage(smeared, C, std=0.02, min_count=50).modes_covered == 1
    real = data.make_ring_of_gaussians(2000, rng)[0]
    full = gan.mode_coverage(real, C, std=0.02)
    assert full.modes_covered == 8 and full.high_quality > 0.97       # 3σ holds 1 − e^(−4.5) = 98.9 % of a 2-D Gaussian
