"""Denoising diffusion (DDPM and DDIM) in NumPy, with the torch training loss (chapter 19).

Contract:

- **Time is an integer** ``t`` in ``0 … T``. ``t = 0`` is clean data ``x_0``;
  ``t = T`` is (almost) pure noise.
- **A schedule is indexed by t.** :class:`Schedule` holds ``beta``, ``alpha`` and
  ``alpha_bar`` as NumPy arrays of length ``T + 1``: entry ``t`` is
  :math:`\\beta_t`, :math:`\\alpha_t = 1 - \\beta_t` and
  :math:`\\bar\\alpha_t = \\prod_{s=1}^{t} \\alpha_s` for ``t = 1 … T``; entry 0
  is the empty step (``beta[0] = 0``, ``alpha[0] = alpha_bar[0] = 1``), so no
  formula needs an index shift.
- **Data are rows**: ``x`` of shape ``(n, ...)``: ``(n, 2)`` for points,
  ``(n, 1, 8, 8)`` for digits. Math functions take NumPy arrays and return
  float64 arrays; ``t`` is an int or an integer array of shape ``(n,)``.
- **Randomness comes in** as ``rng = np.random.default_rng(seed)`` (NumPy) or a
  ``torch.Generator`` (torch); nothing reads a global seed.
- **A noise predictor** is any ``eps_fn(x, t) -> eps_hat`` with ``x`` a NumPy
  array ``(n, ...)`` and ``t`` an int; ``denoisers.eps_fn_from_model`` wraps a
  torch denoiser ``model(x, t)`` as one. Samplers take an ``eps_fn``.

Contents: schedules (:func:`linear_schedule`, :func:`cosine_schedule`,
:func:`make_schedule`, :func:`schedule_from_betas`, :func:`snr`); the forward process (:func:`q_sample`
closed form, :func:`simulate_chain` step by step); the posterior
(:func:`posterior_mean_var`, :func:`posterior_mean_from_eps`,
:func:`predict_x0`); samplers (:func:`ddpm_step`, :func:`ddpm_sample`,
:func:`ddim_sample`); the loss (:func:`simple_loss` in NumPy,
:func:`noise_prediction_loss` in torch); the best possible noise predictor for
data from a Gaussian mixture or a finite set (:func:`optimal_eps`). The networks and their training loop
are in :mod:`course_utils.scratch.denoisers`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

EpsFn = Callable[[np.ndarray, int], np.ndarray]
SCHEDULES = ("linear", "cosine")


# ------------------------------------------------------------------ schedules
@dataclass(frozen=True)
class Schedule:
    """A noise schedule; every array has length ``T + 1`` and is indexed by ``t``."""

    name: str
    beta: np.ndarray
    alpha: np.ndarray
    alpha_bar: np.ndarray

    @property
    def T(self) -> int:
        return len(self.beta) - 1


def schedule_from_betas(name: str, betas: np.ndarray) -> Schedule:
    """A :class:`Schedule` from ``betas`` for ``t = 1 … T`` (length ``T``), e.g. a constant ``np.full(T, 0.02)``."""
    betas = np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or len(betas) < 1:
        raise ValueError(f"need a 1-D array of T >= 1 betas, got shape {betas.shape}")
    if not np.all((betas > 0) & (betas < 1)):
        raise ValueError("every beta_t must lie in (0, 1)")
    beta = np.concatenate([[0.0], betas])
    alpha = 1.0 - beta
    alpha_bar = np.cumprod(alpha)  # alpha[0] = 1, so alpha_bar[t] = prod_{s=1}^t alpha_s
    return Schedule(name, beta, alpha, alpha_bar)


def _check_T(T: int) -> None:
    if not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be an integer >= 1, got {T!r}")


def linear_schedule(T: int, beta_1: float | None = None, beta_T: float | None = None) -> Schedule:
    """β_t rising linearly from ``beta_1`` to ``beta_T`` (Ho et al. 2020).

    The defaults scale the paper's ``1e-4 … 0.02`` for ``T = 1000`` to any ``T``
    (``0.1/T … 20/T``, capped at 0.999), so that ᾱ_T is about ``e^{-10}`` for large T
    (less for small T, whose last β's reach the cap).
    """
    _check_T(T)
    b1 = 0.1 / T if beta_1 is None else beta_1
    bT = 20.0 / T if beta_T is None else beta_T
    return schedule_from_betas("linear", np.clip(np.linspace(b1, bT, T), 1e-8, 0.999))


def cosine_schedule(T: int, s: float = 0.008) -> Schedule:
    """ᾱ_t = f(t)/f(0) with f(t) = cos²(π/2 · (t/T + s)/(1 + s)) (Nichol & Dhariwal 2021).

    β_t = 1 − ᾱ_t/ᾱ_{t−1} is capped at 0.999 (the last step would otherwise be 1),
    and ᾱ is recomputed from the capped β's so that the three arrays agree.
    """
    _check_T(T)
    t = np.arange(T + 1)
    f = np.cos(0.5 * np.pi * (t / T + s) / (1 + s)) ** 2
    ab = f / f[0]
    betas = 1.0 - ab[1:] / ab[:-1]
    return schedule_from_betas("cosine", np.clip(betas, 1e-8, 0.999))


def make_schedule(name: str, T: int) -> Schedule:
    """``"linear"`` or ``"cosine"`` schedule with ``T`` steps."""
    if name == "linear":
        return linear_schedule(T)
    if name == "cosine":
        return cosine_schedule(T)
    raise ValueError(f"unknown schedule {name!r}; choose one of {SCHEDULES}")


def snr(sched: Schedule) -> np.ndarray:
    """Signal-to-noise ratio ᾱ_t / (1 − ᾱ_t) for ``t = 1 … T`` (length ``T``)."""
    ab = sched.alpha_bar[1:]
    return ab / (1.0 - ab)


# ------------------------------------------------------------ forward process
def _bcast(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Make per-example values ``v`` (scalar or ``(n,)``) broadcast against ``x`` ``(n, ...)``."""
    v = np.asarray(v, dtype=np.float64)
    return v.reshape(v.shape + (1,) * (x.ndim - v.ndim)) if v.ndim else v


def q_sample(x0: np.ndarray, t, sched: Schedule, rng: np.random.Generator | None = None,
             eps: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw x_t ~ q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I) in one go; returns ``(x_t, eps)``.

    ``t`` is an int or an ``(n,)`` integer array; pass ``eps`` to fix the noise.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    if eps is None:
        eps = rng.standard_normal(x0.shape)
    ab = _bcast(sched.alpha_bar[np.asarray(t)], x0)
    return np.sqrt(ab) * x0 + np.sqrt(1.0 - ab) * eps, eps


def simulate_chain(x0: np.ndarray, t_max: int, sched: Schedule, rng: np.random.Generator) -> np.ndarray:
    """Run the Markov chain x_t = √α_t x_{t−1} + √β_t ε_t for ``t = 1 … t_max``.

    Returns the whole path, shape ``(t_max + 1, *x0.shape)``; entry ``t`` is x_t.
    """
    if not 0 <= t_max <= sched.T:
        raise ValueError(f"t_max must be in [0, {sched.T}], got {t_max}")
    x = np.asarray(x0, dtype=np.float64)
    path = [x]
    for t in range(1, t_max + 1):
        x = np.sqrt(sched.alpha[t]) * x + np.sqrt(sched.beta[t]) * rng.standard_normal(x.shape)
        path.append(x)
    return np.stack(path)


# ------------------------------------------------------------------ posterior
def posterior_mean_var(x0: np.ndarray, xt: np.ndarray, t: int, sched: Schedule) -> tuple[np.ndarray, float]:
    """Mean and variance of q(x_{t−1} | x_t, x_0) for ``t >= 1``.

    mean = √ᾱ_{t−1} β_t/(1−ᾱ_t) · x_0 + √α_t (1−ᾱ_{t−1})/(1−ᾱ_t) · x_t,
    var  = β̃_t = (1−ᾱ_{t−1})/(1−ᾱ_t) · β_t   (the same for every coordinate).
    """
    if not 1 <= t <= sched.T:
        raise ValueError(f"t must be in [1, {sched.T}], got {t}")
    ab, ab_prev, b, a = sched.alpha_bar[t], sched.alpha_bar[t - 1], sched.beta[t], sched.alpha[t]
    mean = np.sqrt(ab_prev) * b / (1 - ab) * np.asarray(x0, float) + np.sqrt(a) * (1 - ab_prev) / (1 - ab) * np.asarray(xt, float)
    return mean, float((1 - ab_prev) / (1 - ab) * b)


def predict_x0(xt: np.ndarray, eps: np.ndarray, t: int, sched: Schedule) -> np.ndarray:
    """Invert the closed form: x̂_0 = (x_t − √(1−ᾱ_t) ε) / √ᾱ_t."""
    ab = sched.alpha_bar[t]
    return (np.asarray(xt, float) - np.sqrt(1 - ab) * np.asarray(eps, float)) / np.sqrt(ab)


def posterior_mean_from_eps(xt: np.ndarray, eps: np.ndarray, t: int, sched: Schedule) -> np.ndarray:
    """The posterior mean written with the noise: (x_t − β_t/√(1−ᾱ_t) · ε) / √α_t."""
    return (np.asarray(xt, float) - sched.beta[t] / np.sqrt(1 - sched.alpha_bar[t]) * np.asarray(eps, float)) \
        / np.sqrt(sched.alpha[t])


# ------------------------------------------------------------------- samplers
def ddpm_step(xt: np.ndarray, eps_hat: np.ndarray, t: int, sched: Schedule, z: np.ndarray,
              clip_x0: float | None = None) -> np.ndarray:
    """One ancestral step x_t → x_{t−1} = μ_θ(x_t, t) + σ_t z with σ_t² = β̃_t.

    μ_θ is the posterior mean with the predicted noise ``eps_hat`` in place of ε.
    With ``clip_x0`` the implied x̂_0 is clipped to ``[-clip_x0, clip_x0]`` first
    (images live in a box; this keeps early, poor predictions in range).
    """
    _, var = posterior_mean_var(0.0, 0.0, t, sched)
    if clip_x0 is None:
        mean = posterior_mean_from_eps(xt, eps_hat, t, sched)
    else:
        x0 = np.clip(predict_x0(xt, eps_hat, t, sched), -clip_x0, clip_x0)
        mean, _ = posterior_mean_var(x0, xt, t, sched)
    return mean + np.sqrt(var) * z


def ddpm_sample(eps_fn: EpsFn, shape: tuple[int, ...], sched: Schedule, rng: np.random.Generator,
                clip_x0: float | None = None, return_trajectory: bool = False):
    """Ancestral sampling: x_T ~ N(0, I), then ``T`` calls of :func:`ddpm_step`.

    Returns x_0, shape ``shape``; with ``return_trajectory`` the whole path of shape
    ``(T + 1, *shape)`` whose entry ``t`` is x_t.
    """
    x = rng.standard_normal(shape)
    path = [x] if return_trajectory else None
    for t in range(sched.T, 0, -1):
        x = ddpm_step(x, eps_fn(x, t), t, sched, rng.standard_normal(shape), clip_x0)
        if return_trajectory:
            path.append(x)
    return np.stack(path[::-1]) if return_trajectory else x


def ddim_sample(eps_fn: EpsFn, shape: tuple[int, ...], sched: Schedule, rng: np.random.Generator,
                steps: int | None = None, clip_x0: float | None = None) -> np.ndarray:
    """Deterministic DDIM (η = 0) with ``steps`` evenly spaced times from T down to 0.

    Each jump t → s: x̂_0 = (x_t − √(1−ᾱ_t) ε̂)/√ᾱ_t, then x_s = √ᾱ_s x̂_0 + √(1−ᾱ_s) ε̂.
    Only the start x_T is random.
    """
    steps = sched.T if steps is None else int(steps)
    if not 1 <= steps <= sched.T:
        raise ValueError(f"steps must be in [1, T={sched.T}], got {steps}")
    times = np.unique(np.linspace(0, sched.T, steps + 1).round().astype(int))[::-1]
    x = rng.standard_normal(shape)
    for t, s in zip(times[:-1], times[1:]):
        eps = eps_fn(x, int(t))
        x0 = predict_x0(x, eps, int(t), sched)
        if clip_x0 is not None:
            x0 = np.clip(x0, -clip_x0, clip_x0)
        x = np.sqrt(sched.alpha_bar[s]) * x0 + np.sqrt(1 - sched.alpha_bar[s]) * eps
    return x


# ----------------------------------------------------------------------- loss
def simple_loss(eps: np.ndarray, eps_hat: np.ndarray) -> float:
    """L_simple on a batch: the mean over examples of ‖ε − ε̂‖² (summed over coordinates)."""
    d = np.asarray(eps, float) - np.asarray(eps_hat, float)
    return float(np.mean(np.sum(d.reshape(len(d), -1) ** 2, axis=1)))


def noise_prediction_loss(model: nn.Module, x0: torch.Tensor, alpha_bar: torch.Tensor,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """One Monte-Carlo estimate of L_simple: t ~ U{1..T}, ε ~ N(0, I), ‖ε − ε_θ(x_t, t)‖².

    ``alpha_bar`` is the schedule's ``alpha_bar`` as a float32 tensor of length T + 1.
    Returns the mean over the batch of the squared error summed over coordinates.
    """
    T = len(alpha_bar) - 1
    t = torch.randint(1, T + 1, (len(x0),), generator=generator)
    eps = torch.randn(x0.shape, generator=generator)
    ab = alpha_bar[t].reshape((-1,) + (1,) * (x0.dim() - 1))
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    return ((eps - model(xt, t)) ** 2).flatten(1).sum(1).mean()


# ----------------------------------------------------------- the best possible
def optimal_eps(xt: np.ndarray, t: int, sched: Schedule, centres: np.ndarray, sd: float = 0.0) -> np.ndarray:
    """The Bayes-optimal noise prediction E[ε | x_t] when x_0 ~ (1/K) Σ_k N(c_k, sd² I).

    ``centres`` ``(K, ...)`` has the shape of one data point per row. With ``sd = 0``
    the data are the finite set of ``centres`` (a training set). Given component k,
    x_t ~ N(√ᾱ_t c_k, v I) with v = ᾱ_t sd² + 1 − ᾱ_t and E[ε | x_t, k] =
    √(1−ᾱ_t) (x_t − √ᾱ_t c_k) / v, which is linear in c_k; so
    E[ε | x_t] = √(1−ᾱ_t) (x_t − √ᾱ_t Σ_k w_k c_k) / v with the posterior weights
    w = softmax_k(−‖x_t − √ᾱ_t c_k‖² / 2v). No network can have a lower
    noise-prediction loss than this function.
    """
    xt = np.asarray(xt, dtype=np.float64)
    C = np.asarray(centres, dtype=np.float64).reshape(len(centres), -1)
    x = xt.reshape(len(xt), -1)
    ab = sched.alpha_bar[t]
    v = ab * sd ** 2 + 1 - ab
    mc = np.sqrt(ab) * C
    logits = -(np.sum(x ** 2, 1)[:, None] - 2 * x @ mc.T + np.sum(mc ** 2, 1)[None, :]) / (2 * v)
    w = np.exp(logits - logits.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    return (np.sqrt(1 - ab) * (x - np.sqrt(ab) * (w @ C)) / v).reshape(xt.shape)
