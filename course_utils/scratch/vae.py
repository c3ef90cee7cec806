"""The variational autoencoder (chapter 17): the ELBO's terms in NumPy, two gradient estimators, the model in PyTorch.

Contract:

- The encoder gives, for each input, a diagonal Gaussian ``q(z | x) = N(μ, diag σ²)`` over
  ``k`` latent numbers, as two arrays ``mu`` and ``logvar = log σ²`` of shape ``(n, k)``.
  The prior is ``p(z) = N(0, I)``. The decoder gives Bernoulli **logits** ``(n, d)`` for the
  ``d`` pixels, which live in ``[0, 1]``; the reconstruction term is the binary
  cross-entropy summed over pixels (for grey levels it is a cross-entropy, not the log
  of a normalised density, so read its nats as a loss, not as a likelihood).
- :func:`reparameterize` ``z = μ + σ ε`` with ``ε ~ N(0, I)`` passed in explicitly.
- :func:`gaussian_kl` is KL(q ‖ p) in closed form, ``½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²)``,
  shape ``(n,)``; :func:`gaussian_kl_diag` is the KL between any two diagonal Gaussians,
  :func:`kl_monte_carlo` the sampling estimate ``mean_s [log q(z_s) − log p(z_s)]``, and
  :func:`log_normal` the log density they both use.
- :func:`elbo_terms` ``(x, logits, mu, logvar) -> (recon, kl)``, both ``(n,)``; the ELBO is
  ``−(recon + kl)``. :func:`negative_elbo` returns the batch mean of ``recon + β·kl``
  and its gradients for ``logits``, ``mu`` and ``logvar`` (the loss contract).
- Gradient estimators of ``∇ E_{z ~ q}[f(z)]`` for ``(μ, log σ²)``, one estimate per noise
  draw ``ε`` (rows of ``(S, k)``): :func:`reparam_gradients` (pathwise: ``∇f(z) · ∂z/∂θ``)
  and :func:`score_function_gradients` (``f(z) ∇ log q(z)``, also called REINFORCE).
  Both are unbiased; their spread is what differs.
- PyTorch: :class:`VAE` (MLP encoder and decoder), :func:`negative_elbo_torch`, and
  :func:`train_vae` (Adam, returns a :class:`VAETrainingResult`). :func:`sample_images`
  decodes prior draws into digits, :func:`decode_images` and :func:`encode_mean` map
  between latents and images, :func:`interpolate` walks between two latents.
- :func:`train_digit_vae` ``(images, seed=0, quick=False) -> TrainedSampler`` trains the course's
  chosen digit VAE (:data:`DIGIT_VAE`, measured in chapter 17) and returns it with
  ``sample(n, rng)`` and its training time.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..base import divergence_message, progress, stopwatch
from .batches import minibatches
from .layers import sigmoid
from .sample_quality import TrainedSampler

LOG_2PI = float(np.log(2 * np.pi))


# ------------------------------------------------------------ the ELBO's terms
def reparameterize(mu: np.ndarray, logvar: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """``z = μ + exp(logvar / 2) · ε``: a draw of ``N(μ, σ²)`` as a differentiable function of ``μ`` and ``σ``."""
    return mu + np.exp(0.5 * logvar) * eps


def log_normal(z: np.ndarray, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """``log N(z; μ, diag exp(logvar))`` summed over the last axis."""
    return -0.5 * np.sum(LOG_2PI + logvar + (z - mu) ** 2 / np.exp(logvar), axis=-1)


def gaussian_kl(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²), one value per row: ``(n,)``."""
    return 0.5 * np.sum(mu ** 2 + np.exp(logvar) - 1.0 - logvar, axis=-1)


def gaussian_kl_diag(mu_q: np.ndarray, logvar_q: np.ndarray, mu_p: np.ndarray, logvar_p: np.ndarray) -> np.ndarray:
    """KL(N(μ_q, σ_q²) ‖ N(μ_p, σ_p²)) for diagonal Gaussians, summed over the last axis.

    ``½ Σ_j [log(σ_p²/σ_q²) + (σ_q² + (μ_q − μ_p)²)/σ_p² − 1]``; with ``μ_p = 0, σ_p = 1`` it is :func:`gaussian_kl`.
    """
    var_q, var_p = np.exp(logvar_q), np.exp(logvar_p)
    return 0.5 * np.sum(logvar_p - logvar_q + (var_q + (mu_q - mu_p) ** 2) / var_p - 1.0, axis=-1)


def kl_monte_carlo(mu: np.ndarray, logvar: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Sampling estimate of KL(q ‖ N(0, I)): the mean over ``n_samples`` draws of ``log q(z) − log p(z)``, ``(n,)``."""
    mu, logvar = np.atleast_2d(mu), np.atleast_2d(logvar)
    z = reparameterize(mu[None], logvar[None], rng.standard_normal((n_samples, *mu.shape)))
    zeros = np.zeros_like(mu)
    return np.mean(log_normal(z, mu[None], logvar[None]) - log_normal(z, zeros, zeros), axis=0)


def elbo_terms(x: np.ndarray, logits: np.ndarray, mu: np.ndarray, logvar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(recon, kl)`` per example: BCE of pixels ``x`` under ``σ(logits)`` summed over pixels, and :func:`gaussian_kl`.

    BCE per pixel is ``log(1 + e^ℓ) − x ℓ`` for the logit ℓ, computed stably.
    """
    recon = np.sum(np.logaddexp(0.0, logits) - x * logits, axis=-1)
    return recon, gaussian_kl(mu, logvar)


def negative_elbo(x: np.ndarray, logits: np.ndarray, mu: np.ndarray, logvar: np.ndarray, beta: float = 1.0):
    """``(loss, grads)``: the batch mean of ``recon + β·kl`` and its gradients.

    ``grads`` holds ``"logits"`` ``(σ(ℓ) − x)/n``, ``"mu"`` ``β μ/n`` and ``"logvar"``
    ``β (σ² − 1)/(2n)``. (The gradients for the encoder's weights then flow through
    ``z = μ + σ ε`` into ``mu`` and ``logvar`` too: that part is the decoder's backward pass.)
    """
    n = len(x)
    recon, kl = elbo_terms(x, logits, mu, logvar)
    loss = float(np.mean(recon + beta * kl))
    grads = {"logits": (sigmoid(logits) - x) / n, "mu": beta * mu / n, "logvar": beta * 0.5 * (np.exp(logvar) - 1.0) / n}
    return loss, grads


# ------------------------------------------------------- gradient estimators
def reparam_gradients(grad_f: Callable[[np.ndarray], np.ndarray], mu: np.ndarray, logvar: np.ndarray,
                      eps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-draw pathwise estimates of ``∇_μ`` and ``∇_logvar`` of ``E_{z ~ N(μ, σ²)}[f(z)]``.

    ``μ, logvar`` have shape ``(k,)``, ``eps`` ``(S, k)``, ``grad_f(z) -> (S, k)``. With
    ``z = μ + σ ε``: ``∂f/∂μ = ∇f(z)`` and ``∂f/∂logvar = ∇f(z) · ½ σ ε``. Returns two ``(S, k)`` arrays.
    """
    sigma = np.exp(0.5 * logvar)
    g = grad_f(reparameterize(mu, logvar, eps))
    return g, g * 0.5 * sigma * eps


def score_function_gradients(f: Callable[[np.ndarray], np.ndarray], mu: np.ndarray, logvar: np.ndarray,
                             eps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-draw score-function (REINFORCE) estimates: ``f(z) ∇ log q(z)`` with ``z = μ + σ ε``.

    ``∇_μ log q = (z − μ)/σ² = ε/σ`` and ``∇_logvar log q = ½ ((z − μ)²/σ² − 1) = ½ (ε² − 1)``.
    Needs only values ``f(z) -> (S,)``, no gradient of ``f``. Returns two ``(S, k)`` arrays.
    """
    sigma = np.exp(0.5 * logvar)
    fz = np.asarray(f(reparameterize(mu, logvar, eps)))[:, None]
    return fz * eps / sigma, fz * 0.5 * (eps ** 2 - 1.0)


# ------------------------------------------------------------------ PyTorch
def _mlp(n_in: int, hidden: Sequence[int], n_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(n_in, width), nn.ReLU()]
        n_in = width
    return nn.Sequential(*layers, nn.Linear(n_in, n_out))


class VAE(nn.Module):
    """MLP encoder ``x (n, d) -> (μ, log σ²)`` (each ``(n, k)``) and MLP decoder ``z (n, k) -> logits (n, d)``."""

    def __init__(self, latent_dim: int = 16, hidden: Sequence[int] = (256,), n_pixels: int = 64):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = _mlp(n_pixels, hidden, 2 * latent_dim)
        self.decoder = _mlp(latent_dim, tuple(reversed(hidden)), n_pixels)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(logits, mu, logvar)`` with ``z = μ + σ ε`` for the given noise ``eps`` ``(n, k)``."""
        mu, logvar = self.encode(x)
        return self.decode(reparameterize_torch(mu, logvar, eps)), mu, logvar


def reparameterize_torch(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """:func:`reparameterize` in torch: gradients flow into both ``mu`` and ``logvar``."""
    return mu + torch.exp(0.5 * logvar) * eps


def negative_elbo_torch(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                        beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, recon, kl)``: batch means of ``recon + β·kl``, of the BCE summed over pixels and of the KL."""
    recon = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar).sum(dim=1)
    return (recon + beta * kl).mean(), recon.mean(), kl.mean()


def build_vae(latent_dim: int = 16, hidden: Sequence[int] = (256,), seed: int = 0) -> VAE:
    """A :class:`VAE` whose initial weights depend only on ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return VAE(latent_dim, tuple(hidden))


@dataclass
class VAETrainingResult:
    """What :func:`train_vae` returns: the model and, per epoch, the means of the objective and its two terms."""

    model: VAE
    losses: list[float] = field(default_factory=list)   # recon + β·kl
    recons: list[float] = field(default_factory=list)
    kls: list[float] = field(default_factory=list)
    diverged: bool = False
    message: str = ""


def train_vae(images: np.ndarray, latent_dim: int = 16, beta: float = 1.0, epochs: int = 150, batch_size: int = 128,
              lr: float = 3e-3, hidden: Sequence[int] = (256,), seed: int = 0,
              show_progress: bool = True) -> VAETrainingResult:
    """Adam on :func:`negative_elbo_torch` with weight ``beta`` on the KL term; ``images`` ``(n, 64)`` in [0, 1].

    One draw of ``ε`` per image and step. Everything random (initial weights, batch order,
    noise) comes from ``seed``, so a run is reproducible.
    """
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    X = torch.as_tensor(np.asarray(images), dtype=torch.float32).reshape(len(images), -1)
    model = build_vae(latent_dim, hidden, seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    result = VAETrainingResult(model=model)
    for epoch in progress(range(epochs), desc=f"VAE β={beta:g}", total=epochs, unit="epoch", show=show_progress):
        sums = np.zeros(3)
        for idx in minibatches(len(X), batch_size, rng):
            xb = X[idx]
            logits, mu, logvar = model(xb, torch.randn(len(xb), latent_dim, generator=gen))
            loss, recon, kl = negative_elbo_torch(xb, logits, mu, logvar, beta)
            if not torch.isfinite(loss):
                result.diverged, result.message = True, divergence_message(f"the VAE (β = {beta:g})", epoch + 1, loss.item())
                return result
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sums += np.array([loss.item(), recon.item(), kl.item()]) * len(idx)
        for store, value in zip((result.losses, result.recons, result.kls), sums / len(X)):
            store.append(float(value))
    model.eval()
    return result


@torch.no_grad()
def encode_mean(model: VAE, X: np.ndarray) -> np.ndarray:
    """The encoder's means ``μ`` ``(n, k)`` for rows ``X (n, 64)``: where each digit sits in the latent space."""
    mu, _ = model.encode(torch.as_tensor(np.asarray(X), dtype=torch.float32))
    return mu.double().numpy()


@torch.no_grad()
def encode_stats(model: VAE, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The encoder's ``(μ, log σ²)``, each ``(n, k)``, as float64 arrays."""
    mu, logvar = model.encode(torch.as_tensor(np.asarray(X), dtype=torch.float32))
    return mu.double().numpy(), logvar.double().numpy()


@torch.no_grad()
def decode_images(model: VAE, z: np.ndarray) -> np.ndarray:
    """The decoder's mean image ``σ(logits)`` ``(n, 64)`` for latents ``z (n, k)``."""
    return torch.sigmoid(model.decode(torch.as_tensor(np.asarray(z), dtype=torch.float32))).double().numpy()


def sample_images(model: VAE, n: int, seed: int = 0) -> np.ndarray:
    """``n`` generated digits ``(n, 64)`` in [0, 1]: prior draws ``z ~ N(0, I)`` (from ``seed``) decoded to mean images."""
    z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    return decode_images(model, z.numpy())


def interpolate(z0: np.ndarray, z1: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` points on the straight line from ``z0`` to ``z1`` (both included): ``(steps, k)``."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) * np.asarray(z0, float)[None] + t * np.asarray(z1, float)[None]


def log_likelihood_fns(model: VAE, x: np.ndarray) -> tuple[Callable, Callable]:
    """``f(z) = log p(x | z)`` (minus the BCE) and its gradient ``∇f(z)``, on NumPy latents ``(S, k)``.

    The decoder's reconstruction term for one image ``x (64,)``, the objective the two
    gradient estimators are compared on.
    """
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float32).reshape(1, -1)

    def log_lik(z: torch.Tensor) -> torch.Tensor:
        logits = model.decode(z)
        return -nn.functional.binary_cross_entropy_with_logits(logits, xt.expand_as(logits), reduction="none").sum(1)

    def f(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return log_lik(torch.as_tensor(z, dtype=torch.float32)).double().numpy()

    def grad_f(z: np.ndarray) -> np.ndarray:
        zt = torch.as_tensor(z, dtype=torch.float32).requires_grad_(True)
        (g,) = torch.autograd.grad(log_lik(zt).sum(), zt)
        return g.double().numpy()

    return f, grad_f


# ----------------------------------------------------- the course's digit VAE
#: the chosen digit VAE (chapter 17): 16 latents, one hidden layer of 256 ReLUs each way, KL weight 0.25
DIGIT_VAE = dict(latent_dim=16, beta=0.25, hidden=(256,), epochs=150, batch_size=128, lr=3e-3)
#: epochs of :func:`train_digit_vae` with ``quick=True``; measured (seeds 0–4) Fréchet distance 48–63 against the
#: full recipe's 35–44 and the fitted Gaussian's 64–71: chapter 17 asserts on the full recipe
DIGIT_VAE_QUICK_EPOCHS = 50


def train_digit_vae(images: np.ndarray, seed: int = 0, quick: bool = False,
                    show_progress: bool = False) -> TrainedSampler:
    """The course's chosen VAE (:data:`DIGIT_VAE`) trained on ``images`` ``(n, 64)`` in [0, 1].

    Returns a :class:`~course_utils.scratch.sample_quality.TrainedSampler`: ``.model`` (the
    :class:`VAE`), ``.sample(n, rng)`` (prior draws decoded to mean images, ``(n, 64)``),
    ``.train_seconds`` and ``.run`` (the :class:`VAETrainingResult`). ``quick`` trains
    :data:`DIGIT_VAE_QUICK_EPOCHS` epochs instead of 150. Chapter 17 measures it on the
    yardstick's 797 training digits (``sample_quality.digit_yardstick(...).train_images``).
    """
    settings = {**DIGIT_VAE, "epochs": DIGIT_VAE_QUICK_EPOCHS} if quick else DIGIT_VAE
    with stopwatch() as clock:
        result = train_vae(images, seed=seed, show_progress=show_progress, **settings)
    return digit_vae_sampler(result, clock["seconds"])


def digit_vae_sampler(result: VAETrainingResult, train_seconds: float) -> TrainedSampler:
    """A trained VAE as a sampler of digits: prior draws ``z ~ N(0, I)`` decoded to mean images ``(n, 64)``."""
    model = result.model

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        return decode_images(model, rng.standard_normal((n, model.latent_dim)))

    return TrainedSampler.from_run("VAE", result, model, sample, train_seconds)
