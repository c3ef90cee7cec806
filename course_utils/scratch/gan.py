"""Generative adversarial networks (chapter 18): the losses in NumPy, the optimal discriminator, training in PyTorch.

Contract:

- A discriminator outputs a **logit** ``ℓ`` per example; ``D(x) = σ(ℓ)`` is its probability
  that ``x`` is real. The value of the game (Goodfellow et al., 2014) on a batch is
  ``V(D, G) = mean log D(x) + mean log(1 − D(G(z)))``.
- Losses from logits, each ``(loss, gradient)`` like :mod:`course_utils.scratch.losses`
  (means, stable for logits of ±1000, written with ``log σ(ℓ) = −softplus(−ℓ)``):
  :func:`discriminator_loss` ``(real_logits, fake_logits) -> (−V, d_real, d_fake)``;
  :func:`generator_loss_saturating` ``(fake_logits) -> (mean log(1 − D(G(z))), d_fake)``,
  the minimax generator's loss, and :func:`generator_loss_nonsaturating`
  ``-> (−mean log D(G(z)), d_fake)``, the one used in practice.
- The optimal discriminator for a fixed generator is ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``
  (:func:`optimal_discriminator`, from log densities). For two 1-D Gaussians the log-ratio
  is quadratic in ``x``, so a logistic regression on ``(x, x²)`` can represent ``D*``
  exactly (:func:`quadratic_features`). :func:`jensen_shannon` integrates the JS divergence
  on a grid: at ``D*`` the value of the game is ``−log 4 + 2 JS(p_data ‖ p_g)``.
- PyTorch: :func:`build_mlp` and :func:`build_gan` (generator ``z (n, z_dim) -> x (n, d)``,
  discriminator ``x -> logits (n,)``), :func:`r1_penalty` (Mescheder et al., 2018), and
  :func:`train_gan`, which alternates one discriminator step and one generator step on
  minibatches drawn from a data array and returns a :class:`GANTrainingResult` with
  snapshots of generated samples along the way.
- Mode coverage on a mixture with known centres: :func:`mode_coverage`.
- :func:`train_digit_gan` ``(images, seed=0, quick=False) -> TrainedSampler`` trains the course's
  digit GAN (:data:`DIGIT_GAN`, measured in chapter 18) and returns it with ``sample(n, rng)`` and
  its training time; :func:`sample_generator` draws from any generator.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..base import blew_up, divergence_message, progress, stopwatch
from .layers import sigmoid
from .sample_quality import TrainedSampler


# ------------------------------------------------------------------ the losses
def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


def discriminator_loss(real_logits: np.ndarray, fake_logits: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """``(−V, d_real, d_fake)``: minus the value of the game, ``−mean log σ(ℓ_r) − mean log(1 − σ(ℓ_f))``.

    Equals the binary cross-entropy with label 1 for real and 0 for fake examples (one mean per
    group). Gradients: ``(σ(ℓ_r) − 1)/m_r`` and ``σ(ℓ_f)/m_f``.
    """
    r, f = np.asarray(real_logits, dtype=np.float64), np.asarray(fake_logits, dtype=np.float64)
    loss = float(np.mean(_softplus(-r)) + np.mean(_softplus(f)))
    return loss, (sigmoid(r) - 1.0) / r.size, sigmoid(f) / f.size


def generator_loss_saturating(fake_logits: np.ndarray) -> tuple[float, np.ndarray]:
    """The minimax generator's loss ``mean log(1 − D(G(z)))`` and its gradient ``−σ(ℓ)/m``.

    When the discriminator confidently rejects the fakes (``ℓ ≪ 0``) the gradient is
    ``≈ −e^ℓ/m``: it vanishes exactly when the generator most needs a signal.
    """
    f = np.asarray(fake_logits, dtype=np.float64)
    return float(-np.mean(_softplus(f))), -sigmoid(f) / f.size


def generator_loss_nonsaturating(fake_logits: np.ndarray) -> tuple[float, np.ndarray]:
    """The non-saturating generator loss ``−mean log D(G(z))`` and its gradient ``(σ(ℓ) − 1)/m``.

    Same fixed points as the minimax loss, but the gradient tends to ``−1/m`` (not 0) when
    the discriminator rejects the fakes.
    """
    f = np.asarray(fake_logits, dtype=np.float64)
    return float(np.mean(_softplus(-f))), (sigmoid(f) - 1.0) / f.size


def gan_value(d_real: np.ndarray, d_fake: np.ndarray) -> float:
    """``V = mean log D(x) + mean log(1 − D(G(z)))`` from probabilities ``D(x)`` and ``D(G(z))``."""
    return float(np.mean(np.log(d_real)) + np.mean(np.log1p(-np.asarray(d_fake))))


# --------------------------------------------------- the optimal discriminator
def normal_logpdf(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Log density of ``N(mean, std²)`` at ``x``."""
    x = np.asarray(x, dtype=np.float64)
    return -0.5 * ((x - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)


def optimal_discriminator(log_p_data: np.ndarray, log_p_g: np.ndarray) -> np.ndarray:
    """``D*(x) = p_data / (p_data + p_g) = σ(log p_data − log p_g)``, from log densities (stable in the tails)."""
    return sigmoid(np.asarray(log_p_data, dtype=np.float64) - np.asarray(log_p_g, dtype=np.float64))


def quadratic_features(x: np.ndarray) -> np.ndarray:
    """``(n,) -> (n, 2)``: ``[x, x²]``, enough for a logistic regression to represent ``D*`` of two Gaussians."""
    x = np.asarray(x, dtype=np.float64).ravel()
    return np.stack([x, x ** 2], axis=1)


def jensen_shannon(p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """JS(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), ``m = (p + q)/2``, for densities on a uniform grid of spacing ``dx``."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p, log_q = np.log(p), np.log(q)
        log_m = np.logaddexp(log_p, log_q) - np.log(2.0)   # in logs: m = (p + q)/2 never underflows below p/2
        kl_pm = np.where(p > 0, p * (log_p - log_m), 0.0)
        kl_qm = np.where(q > 0, q * (log_q - log_m), 0.0)
    return float(0.5 * np.sum(kl_pm + kl_qm) * dx)


# ------------------------------------------------------------------ networks
ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2)}


def build_mlp(n_in: int, n_out: int, hidden: int = 128, depth: int = 2, out: str | None = None,
              act: str = "relu") -> nn.Sequential:
    """``depth`` hidden layers of ``hidden`` units (``act``: ReLU or LeakyReLU(0.2)); ``out="sigmoid"`` squashes the outputs to (0, 1)."""
    if act not in ACTIVATIONS:
        raise ValueError(f"act must be one of {sorted(ACTIVATIONS)}, got {act!r}")
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(n_in, hidden), ACTIVATIONS[act]()]
        n_in = hidden
    layers.append(nn.Linear(n_in, n_out))
    if out == "sigmoid":
        layers.append(nn.Sigmoid())
    elif out is not None:
        raise ValueError(f"out must be None or 'sigmoid', got {out!r}")
    return nn.Sequential(*layers)


def build_gan(data_dim: int, z_dim: int = 16, hidden: int = 128, depth: int = 2, seed: int = 0,
              out: str | None = None, act: str = "relu") -> tuple[nn.Module, nn.Module]:
    """``(generator, discriminator)`` MLPs initialised from ``seed``; the discriminator returns logits ``(n,)``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = build_mlp(z_dim, data_dim, hidden, depth, out=out, act=act)
        D = nn.Sequential(build_mlp(data_dim, 1, hidden, depth, act=act), nn.Flatten(0))
    G.z_dim = z_dim
    return G, D


def r1_penalty(D: nn.Module, x_real: torch.Tensor) -> torch.Tensor:
    """R1 gradient penalty: the batch mean of ``‖∇_x ℓ(x)‖²`` on real data (differentiable: ``create_graph``)."""
    x = x_real.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return g.pow(2).reshape(len(x), -1).sum(dim=1).mean()


def sample_generator(G: nn.Module, n: int, seed: int = 0) -> np.ndarray:
    """``n`` samples ``(n, d)`` of generator ``G`` from latents ``z ~ N(0, I)`` drawn with ``seed``."""
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    G.eval()
    with torch.no_grad():
        return G(z).double().numpy()


# ------------------------------------------------------------------ training
GENERATOR_LOSSES = ("non-saturating", "saturating")


@dataclass
class GANTrainingResult:
    """What :func:`train_gan` returns.

    ``d_losses``/``g_losses`` per step (the discriminator's is ``−V`` without the penalty);
    ``snapshots`` maps a step count (0: before training) to ``n_snapshot`` generated samples,
    always drawn from the same latents, so that frames of a run are comparable. ``diverged``/``message``.
    """

    generator: nn.Module
    discriminator: nn.Module
    d_losses: list[float] = field(default_factory=list)
    g_losses: list[float] = field(default_factory=list)
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)
    diverged: bool = False
    message: str = ""


def _adam(params, lr: float) -> torch.optim.Adam:
    """Adam with β₁ = 0.5 (Radford et al., 2016); fused: about 15 % faster per step on a CPU."""
    return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999), fused=True)


def train_gan(data: np.ndarray, steps: int = 2000, batch_size: int = 128, lr_g: float = 2e-3, lr_d: float = 2e-3,
              z_dim: int = 16, hidden: int = 128, depth: int = 2, generator_loss: str = "non-saturating",
              r1_gamma: float = 0.1, r1_every: int = 4, cosine: bool = True, seed: int = 0,
              snapshot_steps: Sequence[int] = (), n_snapshot: int = 1000, out: str | None = None,
              act: str = "relu", show_progress: bool = True) -> GANTrainingResult:
    """Alternate one discriminator step and one generator step, ``steps`` times.

    Each step draws ``batch_size`` rows of ``data`` ``(N, d)`` (with replacement) and as
    many latents. The discriminator minimises :func:`discriminator_loss` (in torch) plus
    ``γ/2 · r1_penalty`` every ``r1_every`` steps (scaled by ``r1_every``, "lazy"
    regularisation as in StyleGAN2, which costs a quarter as much); the generator the
    chosen loss. Adam with β = (0.5, 0.999) for both, learning rates decayed to 0 on a
    cosine if ``cosine``. Everything random comes from ``seed``.
    """
    if generator_loss not in GENERATOR_LOSSES:
        raise ValueError(f"generator_loss must be one of {GENERATOR_LOSSES}, got {generator_loss!r}")
    if steps < 1 or r1_every < 1:
        raise ValueError(f"steps and r1_every must be >= 1, got {steps} and {r1_every}")
    real_all = torch.from_numpy(np.array(data, dtype=np.float32))  # a copy: the caller's array may be read-only
    G, D = build_gan(real_all.shape[1], z_dim, hidden, depth, seed, out=out, act=act)
    opt_g, opt_d = _adam(G.parameters(), lr_g), _adam(D.parameters(), lr_d)
    schedules = [torch.optim.lr_scheduler.CosineAnnealingLR(o, steps) for o in (opt_g, opt_d)] if cosine else []
    gen = torch.Generator().manual_seed(seed)
    z_fixed = torch.randn(n_snapshot, z_dim, generator=torch.Generator().manual_seed(seed + 10_000))
    result = GANTrainingResult(generator=G, discriminator=D)
    wanted = set(int(s) for s in snapshot_steps)
    softplus = nn.functional.softplus
    if 0 in wanted:
        with torch.no_grad():
            result.snapshots[0] = G(z_fixed).double().numpy()
    for step in progress(range(1, steps + 1), desc="GAN", total=steps, unit="step", show=show_progress):
        real = real_all[torch.randint(len(real_all), (batch_size,), generator=gen)]
        fake = G(torch.randn(batch_size, z_dim, generator=gen))
        logits = D(torch.cat([real, fake.detach()]))
        d_loss = softplus(-logits[:batch_size]).mean() + softplus(logits[batch_size:]).mean()
        total = d_loss + (0.5 * r1_gamma * r1_every * r1_penalty(D, real) if r1_gamma > 0 and step % r1_every == 0 else 0)
        opt_d.zero_grad(set_to_none=True)
        total.backward()
        opt_d.step()
        D.requires_grad_(False)  # the generator's step needs gradients through D, not for D's weights
        fake_logits = D(fake)
        g_loss = (softplus(-fake_logits).mean() if generator_loss == "non-saturating"
                  else -softplus(fake_logits).mean())
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)
        for s in schedules:
            s.step()
        result.d_losses.append(d_loss.item())
        result.g_losses.append(g_loss.item())
        if blew_up(result.d_losses[-1], 10.0) or blew_up(abs(result.g_losses[-1]), 10.0):
            result.diverged, result.message = True, divergence_message("GAN training", step, d_loss.item())
            break
        if step in wanted:
            with torch.no_grad():
                result.snapshots[step] = G(z_fixed).double().numpy()
    G.eval()
    return result


# ------------------------------------------------------------- mode coverage
@dataclass(frozen=True)
class ModeCoverage:
    """What :func:`mode_coverage` returns."""

    modes_covered: int          # modes with at least min_count high-quality samples
    high_quality: float         # share of samples within n_sigma·std of their nearest centre
    counts: np.ndarray          # (modes,) high-quality samples per mode


def mode_coverage(samples: np.ndarray, centers: np.ndarray, std: float, n_sigma: float = 3.0,
                  min_count: int = 20) -> ModeCoverage:
    """Modes covered and share of high-quality samples (within ``n_sigma · std`` of the nearest centre).

    The measure of Metz et al. (2017) for the ring of Gaussians; a mode counts as covered
    when at least ``min_count`` samples are high-quality samples of it (20 of 2,000, 1 %).
    """
    S, C = np.asarray(samples, dtype=np.float64), np.asarray(centers, dtype=np.float64)
    dist = np.linalg.norm(S[:, None, :] - C[None, :, :], axis=2)
    nearest, good = dist.argmin(axis=1), dist.min(axis=1) < n_sigma * std
    counts = np.bincount(nearest[good], minlength=len(C))
    return ModeCoverage(modes_covered=int(np.sum(counts >= min_count)), high_quality=float(good.mean()), counts=counts)


# ------------------------------------------------------ the course's digit GAN
#: the digit GAN of chapter 18: MLPs 2×128, z 32, sigmoid pixels, non-saturating loss + R1 (γ = 1), Adam 1e-3 for both
#: players (cosine to 0), 3,000 steps of 64 digits. Measured (seeds 0–4): Fréchet distance 20–42 against the fitted
#: Gaussian's 67; with learning rates 2e-3 and 1,500 steps 78 and 71 (seeds 0, 1), with 2,000 steps at 1e-3 34–68.
DIGIT_GAN = dict(steps=3000, batch_size=64, lr_g=1e-3, lr_d=1e-3, z_dim=32, hidden=128, depth=2,
                 r1_gamma=1.0, r1_every=4, cosine=True, out="sigmoid")
#: steps of :func:`train_digit_gan` with ``quick=True``; measured (seeds 0–4) Fréchet distance 34–68, not always
#: below the Gaussian's: chapter 18 asserts on the full recipe
DIGIT_GAN_QUICK_STEPS = 2000


def train_digit_gan(images: np.ndarray, seed: int = 0, quick: bool = False,
                    show_progress: bool = False) -> TrainedSampler:
    """The course's digit GAN (:data:`DIGIT_GAN`) trained on ``images`` ``(n, 64)`` in [0, 1].

    Returns a :class:`~course_utils.scratch.sample_quality.TrainedSampler`: ``.model`` (the
    generator), ``.sample(n, rng)`` (``(n, 64)``, pixels in [0, 1]), ``.train_seconds`` and
    ``.run`` (the :class:`GANTrainingResult`, with the discriminator). ``quick`` trains
    :data:`DIGIT_GAN_QUICK_STEPS` steps instead of 3,000 (two thirds of the time, weaker samples).
    """
    settings = {**DIGIT_GAN, "steps": DIGIT_GAN_QUICK_STEPS} if quick else DIGIT_GAN
    with stopwatch() as clock:
        result = train_gan(images, seed=seed, show_progress=show_progress, **settings)
    return digit_gan_sampler(result, clock["seconds"])


def digit_gan_sampler(result: GANTrainingResult, train_seconds: float) -> TrainedSampler:
    """A trained GAN as a sampler of digits: the generator applied to ``z ~ N(0, I)``, ``(n, 64)``."""
    G = result.generator

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        with torch.no_grad():
            return G(torch.as_tensor(rng.standard_normal((n, G.z_dim)), dtype=torch.float32)).double().numpy()

    return TrainedSampler.from_run("GAN", result, G, sample, train_seconds)
