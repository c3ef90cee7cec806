"""Chapter 19: denoising diffusion models (DDPM and DDIM), from scratch.

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
  ``torch.Generator`` / ``seed`` (torch); nothing reads a global seed.
- **A noise predictor** is any ``eps_fn(x, t) -> eps_hat`` with ``x`` a NumPy
  array ``(n, ...)`` and ``t`` an int; :func:`eps_fn_from_model` wraps a torch
  denoiser ``model(x, t)`` as one. Samplers take an ``eps_fn``.

Contents: schedules (:func:`linear_schedule`, :func:`cosine_schedule`,
:func:`make_schedule`, :func:`snr`); the forward process (:func:`q_sample`
closed form, :func:`simulate_chain` step by step); the posterior
(:func:`posterior_mean_var`, :func:`posterior_mean_from_eps`,
:func:`predict_x0`); samplers (:func:`ddpm_step`, :func:`ddpm_sample`,
:func:`ddim_sample`); :func:`time_embedding` (NumPy) and
:func:`time_embedding_torch`; denoisers (:class:`MLPDenoiser`,
:class:`TinyUNet`), :func:`noise_prediction_loss`, :func:`train_denoiser`;
data (:func:`make_swiss_roll`, :func:`digits_as_images`); the metric
:func:`nn_distance`; figures (:func:`draw_noising`, :func:`draw_reverse`,
:func:`plot_points`, :func:`tile`); exercise checks (:func:`check_q_sample`,
:func:`check_posterior`, :func:`check_ddpm_step`, :func:`check_time_embedding`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from . import checks, data, plotting
from .scratch import knn

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


def _from_betas(name: str, betas: np.ndarray) -> Schedule:
    """Build a :class:`Schedule` from ``betas`` for ``t = 1 … T`` (length ``T``)."""
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
    return _from_betas("linear", np.clip(np.linspace(b1, bT, T), 1e-8, 0.999))


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
    return _from_betas("cosine", np.clip(betas, 1e-8, 0.999))


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


# ------------------------------------------------------------ time embedding
def time_embedding(t, dim: int, max_period: float = 10000.0) -> np.ndarray:
    """Sinusoidal embedding of integer times ``t`` (``(n,)``): shape ``(n, dim)``.

    With ``h = dim // 2`` and frequencies ω_k = max_period^(−k/h), k = 0 … h−1, the
    row for ``t`` is ``[sin(t ω_0) … sin(t ω_{h−1}), cos(t ω_0) … cos(t ω_{h−1})]``.
    ``dim`` must be even.
    """
    if dim < 2 or dim % 2:
        raise ValueError(f"dim must be a positive even number, got {dim}")
    h = dim // 2
    freqs = max_period ** (-np.arange(h) / h)
    angles = np.asarray(t, dtype=np.float64).reshape(-1, 1) * freqs
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def time_embedding_torch(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """:func:`time_embedding` in torch (float32), used inside the denoisers."""
    h = dim // 2
    freqs = max_period ** (-torch.arange(h, dtype=torch.float32) / h)
    angles = t.to(torch.float32).reshape(-1, 1) * freqs
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


# ------------------------------------------------------------------ denoisers
class MLPDenoiser(nn.Module):
    """ε_θ(x_t, t) for points: an MLP on ``[x_t, embedding(t)]``; ``(n, dim) -> (n, dim)``.

    Both denoisers embed ``t · 1000/T``, so the embedding sweeps the same angles whatever ``T`` is.
    """

    def __init__(self, dim: int = 2, hidden: int = 128, emb_dim: int = 32, depth: int = 3, T: int = 1000):
        super().__init__()
        self.emb_dim, self.t_scale = emb_dim, 1000.0 / T
        layers, width = [], dim + emb_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, time_embedding_torch(t * self.t_scale, self.emb_dim)], dim=1))


class _Block(nn.Module):
    """conv → norm → SiLU, add the time vector, conv → norm → SiLU, plus a residual path."""

    def __init__(self, c_in: int, c_out: int, t_dim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.norm1 = nn.GroupNorm(8, c_out)
        self.norm2 = nn.GroupNorm(8, c_out)
        self.time = nn.Linear(t_dim, c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.act(self.norm1(self.conv1(x))) + self.time(temb)[:, :, None, None]
        return self.act(self.norm2(self.conv2(h))) + self.skip(x)


class TinyUNet(nn.Module):
    """A two-level U-Net for ``(n, 1, 8, 8)`` images (any side divisible by 2).

    encoder block at 8×8 → strided conv to 4×4 → middle block → transposed conv
    back to 8×8 → concatenate the encoder's features (the skip connection) →
    decoder block → 3×3 conv to one channel. Every block receives the time embedding.
    """

    def __init__(self, channels: int = 32, emb_dim: int = 32, T: int = 1000):
        super().__init__()
        c, self.emb_dim, self.t_scale = channels, emb_dim, 1000.0 / T
        self.time_mlp = nn.Sequential(nn.Linear(emb_dim, 2 * c), nn.SiLU(), nn.Linear(2 * c, 2 * c))
        self.inc = nn.Conv2d(1, c, 3, padding=1)
        self.enc = _Block(c, c, 2 * c)
        self.down = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.mid = _Block(2 * c, 2 * c, 2 * c)
        self.up = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
        self.dec = _Block(2 * c, c, 2 * c)
        self.out = nn.Conv2d(c, 1, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time_mlp(time_embedding_torch(t * self.t_scale, self.emb_dim))
        h1 = self.enc(self.inc(x), temb)                       # (n, c, 8, 8)
        h2 = self.mid(self.down(h1), temb)                     # (n, 2c, 4, 4)
        h = self.dec(torch.cat([self.up(h2), h1], dim=1), temb)  # skip connection
        return self.out(h)


def build_denoiser(kind: str, seed: int = 0, **kwargs) -> nn.Module:
    """``"mlp"`` (:class:`MLPDenoiser`) or ``"unet"`` (:class:`TinyUNet`), initialised from ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "mlp":
            return MLPDenoiser(**kwargs)
        if kind == "unet":
            return TinyUNet(**kwargs)
    raise ValueError(f"unknown denoiser {kind!r}; choose 'mlp' or 'unet'")


def eps_fn_from_model(model: nn.Module) -> EpsFn:
    """Wrap ``model(x, t)`` (torch) as an ``eps_fn(x, t)`` on NumPy arrays."""
    def eps_fn(x: np.ndarray, t: int) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            xt = torch.as_tensor(x, dtype=torch.float32)
            tt = torch.full((len(x),), int(t), dtype=torch.long)
            return model(xt, tt).double().numpy()
    return eps_fn


# ------------------------------------------------------------------- training
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


def train_denoiser(model: nn.Module, X: np.ndarray, sched: Schedule, steps: int, batch_size: int = 256,
                   lr: float = 2e-3, seed: int = 0, ema: float | None = 0.99, progress: bool = True) -> list[float]:
    """Adam on :func:`noise_prediction_loss` for ``steps`` minibatches (cosine-decayed ``lr``).

    With ``ema`` the model ends with an exponential moving average of its weights
    over the last steps (decay ``ema`` per step), which smooths out the noise of the
    final updates and gives cleaner samples. Batches, times and noise come from a
    ``torch.Generator`` seeded with ``seed``: on the CPU two runs give identical
    models. Returns the loss of every step.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    gen = torch.Generator().manual_seed(seed)
    data_t = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    alpha_bar = torch.as_tensor(sched.alpha_bar, dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    lr_sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr * 0.05)
    bar = range(steps)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc="training denoiser", unit="step", leave=False, mininterval=0.5)
    losses = []
    avg = [p.detach().clone() for p in model.parameters()] if ema else None
    model.train()
    for step in bar:
        idx = torch.randint(len(data_t), (min(batch_size, len(data_t)),), generator=gen)
        loss = noise_prediction_loss(model, data_t[idx], alpha_bar, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        lr_sched.step()
        if avg is not None:
            with torch.no_grad():
                for a, p in zip(avg, model.parameters()):
                    a.mul_(ema).add_(p.detach(), alpha=1 - ema)
        losses.append(loss.item())
        if progress and step % 100 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-100:]):.3f}")
    if avg is not None:
        with torch.no_grad():
            for a, p in zip(avg, model.parameters()):
                p.copy_(a)
    model.eval()
    return losses


def running_mean(v, window: int = 100) -> np.ndarray:
    """Mean of the last ``window`` values at each position (shorter at the start)."""
    v = np.asarray(v, dtype=np.float64)
    c = np.cumsum(np.concatenate([[0.0], v]))
    lo = np.maximum(np.arange(1, len(v) + 1) - window, 0)
    return (c[1:] - c[lo]) / (np.arange(1, len(v) + 1) - lo)


# ----------------------------------------------------------------------- data
def make_swiss_roll(n: int, rng: np.random.Generator, noise: float = 0.03) -> np.ndarray:
    """A 2-D swiss roll (a spiral of 1.5 turns), scaled to about unit spread; shape ``(n, 2)``."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    u = 1.5 * np.pi * (1 + 2 * rng.uniform(0, 1, n))
    X = np.stack([u * np.cos(u), u * np.sin(u)], axis=1) / 10.0
    return X + noise * rng.standard_normal((n, 2))


def digits_as_images() -> np.ndarray:
    """scikit-learn's 1,797 8×8 digits as ``(n, 1, 8, 8)`` in ``[-1, 1]`` (the diffusion range)."""
    X, _ = data.load_digits()
    return (2.0 * X - 1.0).reshape(-1, 1, 8, 8)


# --------------------------------------------------------------------- metric
def nn_distance(A: np.ndarray, B: np.ndarray) -> float:
    """Symmetric mean nearest-neighbour distance between point sets ``A`` and ``B``.

    ½ (mean over a of min_b ‖a − b‖ + mean over b of min_a ‖a − b‖). The first term
    is small when every sample lies near data (no junk), the second when every data
    point has a sample near it (no missing regions). Compare sets of equal size.
    """
    D = knn.pairwise_distances(np.asarray(A, float), np.asarray(B, float), "l2")
    return float(0.5 * (D.min(axis=1).mean() + D.min(axis=0).mean()))


# -------------------------------------------------------------------- figures
def tile(images: np.ndarray, ncols: int = 8, pad: float = np.nan) -> np.ndarray:
    """Arrange ``(n, h, w)`` or ``(n, 1, h, w)`` images in one 2-D array with 1-pixel gaps."""
    images = np.asarray(images, dtype=np.float64)
    images = images.reshape(len(images), images.shape[-2], images.shape[-1])
    n, h, w = images.shape
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    out = np.full((nrows * (h + 1) - 1, ncols * (w + 1) - 1), pad)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = img
    return out


def _show_tiles(ax, images, ncols=8, title=None):
    cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
    ax.imshow(tile(images, ncols), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    if title:
        ax.set_title(title, fontsize=10)


def plot_points(X: np.ndarray, ax=None, reference: np.ndarray | None = None, title: str | None = None,
                lim: float = 2.0):
    """Scatter 2-D points (blue) over faint ``reference`` data (grey); fixed square limits."""
    ax = plotting._axes(ax, figsize=(4, 4))
    if reference is not None:
        ax.scatter(reference[:, 0], reference[:, 1], s=4, color="#bbbbbb", label="data")
    ax.scatter(X[:, 0], X[:, 1], s=4, color=plotting.COLORS[0], alpha=0.7, label="samples")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def draw_noising(schedule: str = "linear", T: int = 100, image: np.ndarray | None = None,
                 n_images: int = 7, seed: int = 0):
    """Widget: log-SNR of the chosen schedule (the other one dashed) and ``image`` noised at evenly spaced t.

    ``image`` is one ``(8, 8)`` picture in ``[-1, 1]`` (default: the first digit).
    Warns on the figure when T is too small for small steps or ᾱ_T leaves signal.
    """
    fig = plt.figure(figsize=(8.0, 4.6))
    gs = fig.add_gridspec(2, n_images, height_ratios=[2.2, 1])
    ax = fig.add_subplot(gs[0, :])
    try:
        T = int(T)
        sched = make_schedule(schedule, T)
    except ValueError as exc:
        ax.set_axis_off()
        plotting.show_message(ax, str(exc), "error")
        return fig
    other = "cosine" if schedule == "linear" else "linear"
    for name, s, style in ((schedule, sched, "-"), (other, make_schedule(other, T), "--")):
        r = snr(s)
        ax.plot(np.arange(1, T + 1) / T, np.log10(r), style, marker="o" if T <= 10 else None,
                color=plotting.COLORS[SCHEDULES.index(name)], label=f"{name}", alpha=1.0 if s is sched else 0.5)
    ax.axhline(0, color="k", lw=0.8, alpha=0.5)
    ax.set_xlabel("t / T")
    ax.set_ylabel(r"$\log_{10}$ SNR $= \log_{10} \bar\alpha_t/(1-\bar\alpha_t)$")
    ax.set_title(f"{schedule} schedule, T = {T}:  $\\bar\\alpha_T$ = {sched.alpha_bar[-1]:.2g}")
    ax.legend(loc="upper right")
    if image is None:
        image = digits_as_images()[0, 0]
    eps = np.random.default_rng(seed).standard_normal(np.shape(image))
    times = np.unique(np.linspace(0, T, n_images).round().astype(int))
    for i in range(n_images):
        a = fig.add_subplot(gs[1, i])
        a.set_axis_off()
        if i < len(times):
            xt, _ = q_sample(image, int(times[i]), sched, eps=eps)
            a.imshow(xt, cmap="gray_r", vmin=-1.2, vmax=1.2, interpolation="nearest")
            a.set_title(f"t = {times[i]}", fontsize=9)
    if T < 10:
        plotting.show_message(ax, f"only T = {T} step(s): each step adds a lot of noise at once,\n"
                                  "so the reverse steps are far from Gaussian and hard to learn")
    elif sched.alpha_bar[-1] > 0.01:
        plotting.show_message(ax, f"ᾱ_T = {sched.alpha_bar[-1]:.2f}: x_T still carries the image,\n"
                                  "so a sampler that starts from pure noise starts in the wrong place")
    return fig


def draw_reverse(step: int, trajectory_2d: np.ndarray | None = None, trajectory_img: np.ndarray | None = None,
                 reference: np.ndarray | None = None, ncols: int = 8):
    """Widget: the reverse process after ``step`` denoising steps (x_{T−step}).

    ``trajectory_2d`` ``(T+1, n, 2)`` and ``trajectory_img`` ``(T+1, m, 1, h, w)`` are
    sampler paths indexed by t (as :func:`ddpm_sample` returns them); either may be None.
    """
    panels = [p for p in (trajectory_2d, trajectory_img) if p is not None]
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(4.2 * max(1, len(panels)), 4.2), squeeze=False)
    axes = axes.ravel()
    if not panels:
        axes[0].set_axis_off()
        plotting.show_message(axes[0], "no trajectory to show: run the sampler first", "error")
        return fig
    T = len(panels[0]) - 1
    step = int(step)
    if not 0 <= step <= T:
        for a in axes:
            a.set_axis_off()
        plotting.show_message(axes[0], f"step {step} is outside 0 … {T}", "error")
        return fig
    t = T - step
    i = 0
    if trajectory_2d is not None:
        x = trajectory_2d[t]
        plot_points(x, axes[0], reference, title=f"2-D points at t = {t} (step {step} of {T})",
                    lim=2.0 if t < T // 3 or np.abs(x).max() < 2 else 3.5)
        if not np.all(np.isfinite(x)):
            plotting.show_message(axes[0], "the sampler produced NaN/inf: the denoiser diverged", "error")
        i = 1
    if trajectory_img is not None:
        _show_tiles(axes[i], np.clip(trajectory_img[t], -2, 2), ncols, title=f"digits at t = {t}")
    return fig


# ------------------------------------------------------------ exercise checks
def _random_schedule(rng: np.random.Generator) -> Schedule:
    T = int(rng.integers(3, 40))
    return make_schedule(SCHEDULES[int(rng.integers(0, 2))], T)


def check_q_sample(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Check ``fn(x0, t, alpha_bar, eps) -> x_t`` (closed-form noising, noise given)."""
    def make_inputs(rng):
        s = _random_schedule(rng)
        shape = (int(rng.integers(1, 6)), int(rng.integers(1, 4)))
        t = int(rng.integers(1, s.T + 1))
        return (rng.standard_normal(shape), t, s.alpha_bar.copy(), rng.standard_normal(shape))

    def ref(x0, t, alpha_bar, eps):
        return np.sqrt(alpha_bar[t]) * x0 + np.sqrt(1 - alpha_bar[t]) * eps

    return checks.check_function(fn, ref, make_inputs, name="q_sample_closed_form", trials=trials)


def check_posterior(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(x0, xt, t, beta, alpha_bar) -> (mean, var)``; one trial uses t = 1."""
    def make_inputs(rng):
        s = _random_schedule(rng)
        t = 1 if rng.uniform() < 0.3 else int(rng.integers(1, s.T + 1))
        shape = (int(rng.integers(1, 6)), 2)
        return (rng.standard_normal(shape), rng.standard_normal(shape), t, s.beta.copy(), s.alpha_bar.copy())

    def ref(x0, xt, t, beta, alpha_bar):
        s = Schedule("given", beta, 1 - beta, alpha_bar)
        return posterior_mean_var(x0, xt, t, s)

    return checks.check_function(fn, ref, make_inputs, name="posterior_mean_var", trials=trials, seed=1)


def check_ddpm_step(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(xt, eps_hat, t, beta, alpha_bar, z) -> x_{t-1}`` (σ_t² = β̃_t)."""
    def make_inputs(rng):
        s = _random_schedule(rng)
        t = 1 if rng.uniform() < 0.3 else int(rng.integers(1, s.T + 1))
        shape = (int(rng.integers(1, 6)), 2)
        return (rng.standard_normal(shape), rng.standard_normal(shape), t, s.beta.copy(), s.alpha_bar.copy(),
                rng.standard_normal(shape))

    def ref(xt, eps_hat, t, beta, alpha_bar, z):
        return ddpm_step(xt, eps_hat, t, Schedule("given", beta, 1 - beta, alpha_bar), z)

    return checks.check_function(fn, ref, make_inputs, name="ddpm_step", trials=trials, seed=2)


def check_time_embedding(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Check ``fn(t, dim) -> (n, dim)`` sinusoidal embeddings."""
    def make_inputs(rng):
        return (rng.integers(0, 1000, size=int(rng.integers(1, 6))), int(2 * rng.integers(1, 9)))

    return checks.check_function(fn, time_embedding, make_inputs, name="time_embedding", trials=trials)
