"""course_utils.scratch.vae: the ELBO's terms against torch and closed forms, the two gradient estimators,
the PyTorch model and its training loop."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import multivariate_normal

from course_utils.scratch import vae


def _gaussians(rng, n=4, k=3):
    return rng.normal(scale=1.5, size=(n, k)), rng.normal(size=(n, k))


# ------------------------------------------------------------ the ELBO's terms
def test_reparameterize_and_log_normal():
    rng = np.random.default_rng(0)
    mu, logvar = _gaussians(rng)
    eps = rng.normal(size=mu.shape)
    z = vae.reparameterize(mu, logvar, eps)
    np.testing.assert_allclose(z, mu + np.sqrt(np.exp(logvar)) * eps, rtol=1e-14)
    for i in range(len(mu)):
        ref = multivariate_normal(mu[i], np.diag(np.exp(logvar[i]))).logpdf(z[i])
        assert vae.log_normal(z[i], mu[i], logvar[i]) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_gaussian_kl_matches_torch_distributions(seed):
    rng = np.random.default_rng(seed)
    mu, logvar = _gaussians(rng)
    mu_p, logvar_p = _gaussians(rng)
    std = lambda lv: torch.tensor(np.exp(0.5 * lv))  # noqa: E731
    q = torch.distributions.Normal(torch.tensor(mu), std(logvar))
    p0 = torch.distributions.Normal(torch.zeros(mu.shape, dtype=torch.float64), torch.ones(mu.shape, dtype=torch.float64))
    p = torch.distributions.Normal(torch.tensor(mu_p), std(logvar_p))
    np.testing.assert_allclose(vae.gaussian_kl(mu, logvar), torch.distributions.kl_divergence(q, p0).sum(-1).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(vae.gaussian_kl_diag(mu, logvar, mu_p, logvar_p),
                               torch.distributions.kl_divergence(q, p).sum(-1).numpy(), rtol=1e-12)
    zeros = np.zeros_like(mu)
    np.testing.assert_allclose(vae.gaussian_kl_diag(mu, logvar, zeros, zeros), vae.gaussian_kl(mu, logvar), rtol=1e-12)
    assert np.all(vae.gaussian_kl_diag(mu, logvar, mu, logvar) == 0)


def test_kl_monte_carlo_is_unbiased():
    rng = np.random.default_rng(3)
    mu, logvar = _gaussians(rng)
    est = vae.kl_monte_carlo(mu, logvar, 100_000, np.random.default_rng(4))
    np.testing.assert_allclose(est, vae.gaussian_kl(mu, logvar), rtol=0.02, atol=0.01)


@pytest.mark.parametrize("beta", [1.0, 0.25, 0.0])
def test_negative_elbo_and_its_gradients_match_torch(beta):
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(6, 10))
    logits, (mu, logvar) = rng.normal(scale=3, size=(6, 10)), _gaussians(rng, 6, 4)
    loss, grads = vae.negative_elbo(x, logits, mu, logvar, beta)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in dict(logits=logits, mu=mu, logvar=logvar).items()}
    t_loss, t_recon, t_kl = vae.negative_elbo_torch(torch.tensor(x), t["logits"], t["mu"], t["logvar"], beta)
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    for k in t:
        np.testing.assert_allclose(grads[k], t[k].grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=k)
    recon, kl = vae.elbo_terms(x, logits, mu, logvar)
    ref_recon = F.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(x), reduction="none").sum(1)
    np.testing.assert_allclose(recon, ref_recon.numpy(), rtol=1e-12)
    assert recon.mean() == pytest.approx(t_recon.item()) and kl.mean() == pytest.approx(t_kl.item())


def test_elbo_terms_are_stable_for_huge_logits():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        recon, _ = vae.elbo_terms(np.array([[1.0, 0.0]]), np.array([[-1000.0, 1000.0]]), np.zeros((1, 1)), np.zeros((1, 1)))
    assert recon[0] == pytest.approx(2000.0)


# ------------------------------------------------------- gradient estimators
def test_both_estimators_are_unbiased_for_a_quadratic():
    """f(z) = Σ z²: E f = Σ (μ² + σ²), so ∇_μ = 2μ and ∇_logvar = σ² (exactly)."""
    mu, logvar = np.array([0.7, -1.2]), np.array([-0.4, 0.3])
    eps = np.random.default_rng(6).normal(size=(400_000, 2))
    g_mu, g_lv = vae.reparam_gradients(lambda z: 2 * z, mu, logvar, eps)
    s_mu, s_lv = vae.score_function_gradients(lambda z: np.sum(z ** 2, axis=1), mu, logvar, eps)
    for est, exact in ((g_mu, 2 * mu), (g_lv, np.exp(logvar)), (s_mu, 2 * mu), (s_lv, np.exp(logvar))):
        se = est.std(axis=0) / np.sqrt(len(est))
        assert np.all(np.abs(est.mean(axis=0) - exact) < 5 * se)


def test_the_variances_of_the_exercise():
    """At μ = 0, σ = 1 and f(z) = z²: Var(pathwise 2z) = 4 and Var(score z³) = E[ε⁶] = 15."""
    eps = np.random.default_rng(7).normal(size=(2_000_000, 1))
    g, _ = vae.reparam_gradients(lambda z: 2 * z, np.zeros(1), np.zeros(1), eps)
    s, _ = vae.score_function_gradients(lambda z: z[:, 0] ** 2, np.zeros(1), np.zeros(1), eps)
    assert g.var() == pytest.approx(4.0, rel=0.01) and s.var() == pytest.approx(15.0, rel=0.03)


def test_reparam_gradients_equal_torch_autograd_per_draw():
    rng = np.random.default_rng(8)
    mu, logvar, eps = rng.normal(size=3), rng.normal(size=3), rng.normal(size=(5, 3))
    a = rng.normal(size=3)
    g_mu, g_lv = vae.reparam_gradients(lambda z: np.cos(z) * a, mu, logvar, eps)   # f(z) = Σ a sin z
    for s in range(5):
        mu_t, lv_t = torch.tensor(mu, requires_grad=True), torch.tensor(logvar, requires_grad=True)
        z = vae.reparameterize_torch(mu_t, lv_t, torch.tensor(eps[s]))
        (torch.tensor(a) * torch.sin(z)).sum().backward()
        np.testing.assert_allclose(g_mu[s], mu_t.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(g_lv[s], lv_t.grad.numpy(), rtol=1e-12)


# ------------------------------------------------------------------ PyTorch
def test_vae_shapes_and_seeding():
    m = vae.build_vae(latent_dim=3, hidden=(16, 8), seed=1)
    x = torch.rand(5, 64)
    logits, mu, logvar = m(x, torch.zeros(5, 3))
    assert logits.shape == (5, 64) and mu.shape == logvar.shape == (5, 3)
    torch.testing.assert_close(logits, m.decode(mu))                     # ε = 0 decodes the mean
    torch.testing.assert_close(m.encode(x)[0], vae.build_vae(3, (16, 8), seed=1).encode(x)[0])
    assert [layer.out_features for layer in m.decoder if hasattr(layer, "out_features")] == [8, 16, 64]


@pytest.fixture(scope="module")
def digits():
    from course_utils import data
    return data.load_digits()[0][:256]


def test_train_vae_learns_and_is_reproducible(digits):
    kw = dict(latent_dim=4, beta=1.0, epochs=20, batch_size=64, lr=3e-3, hidden=(32,), seed=0, show_progress=False)
    r = vae.train_vae(digits, **kw)
    assert len(r.losses) == 20 and r.losses[-1] < 0.7 * r.losses[0] and not r.diverged
    np.testing.assert_allclose(r.losses, np.array(r.recons) + np.array(r.kls), rtol=1e-6)  # β = 1: loss = recon + KL
    assert vae.train_vae(digits, **kw).losses == r.losses
    s1, s2 = vae.sample_images(r.model, 7, seed=3), vae.sample_images(r.model, 7, seed=3)
    assert s1.shape == (7, 64) and np.all((s1 >= 0) & (s1 <= 1)) and np.array_equal(s1, s2)
    assert vae.encode_mean(r.model, digits[:5]).shape == (5, 4)
    mu, logvar = vae.encode_stats(r.model, digits[:5])
    np.testing.assert_array_equal(mu, vae.encode_mean(r.model, digits[:5]))
    with pytest.raises(ValueError, match="beta"):
        vae.train_vae(digits, beta=-1.0)


def test_train_vae_reports_divergence(digits):
    r = vae.train_vae(digits, latent_dim=2, epochs=3, lr=1e9, hidden=(8,), seed=0, show_progress=False)
    assert r.diverged and "diverged" in r.message


def test_interpolate_and_the_log_likelihood_functions(digits):
    line = vae.interpolate(np.zeros(3), np.array([1.0, 2.0, 4.0]), 5)
    np.testing.assert_allclose(line[[0, 2, 4]], [[0, 0, 0], [0.5, 1, 2], [1, 2, 4]])
    model = vae.build_vae(3, (16,), seed=0)
    f, grad_f = vae.log_likelihood_fns(model, digits[0])
    z = np.random.default_rng(9).normal(size=(4, 3))
    logits = model.decode(torch.tensor(z, dtype=torch.float32))
    ref = -F.binary_cross_entropy_with_logits(logits, torch.tensor(digits[0], dtype=torch.float32).expand(4, -1),
                                              reduction="none").sum(1)
    np.testing.assert_allclose(f(z), ref.detach().numpy(), rtol=1e-5)
    h = 1e-3  # float32 network: central differences with a large step
    fd = np.stack([(f(z + h * e) - f(z - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(grad_f(z), fd, rtol=2e-2, atol=2e-2)


def test_train_digit_vae_returns_a_sampler_with_its_time(digits, monkeypatch):
    monkeypatch.setitem(vae.DIGIT_VAE, "epochs", 2)
    trained = vae.train_digit_vae(digits, seed=0)
    assert isinstance(trained.model, vae.VAE) and trained.model.latent_dim == vae.DIGIT_VAE["latent_dim"]
    assert trained.name == "VAE" and trained.train_seconds > 0 and len(trained.run.losses) == 2
    x = trained.sample(3, np.random.default_rng(0))
    assert x.shape == (3, 64) and 0 <= x.min() and x.max() <= 1
    np.testing.assert_array_equal(x, trained.sample(3, np.random.default_rng(0)))
    monkeypatch.setattr(vae, "DIGIT_VAE_QUICK_EPOCHS", 1)
    assert len(vae.train_digit_vae(digits, seed=0, quick=True).run.losses) == 1
