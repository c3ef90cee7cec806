"""Chapter 19 · diffusion models: the chapter's data, figures, widgets and exercise checks.

- Data: ``make_swiss_roll`` (the 2-D data set of the chapter) and
  ``digits_as_images`` (the 8×8 digits in the diffusion range ``[-1, 1]``).
- Figures: ``plot_points`` (2-D samples over data), ``tile`` (images in one array).
- Widgets: ``draw_noising`` (a schedule's log-SNR and a digit noised along it) and
  ``draw_reverse`` (the reverse process, step by step).
- Exercise checks: ``check_q_sample``, ``check_posterior``, ``check_ddpm_step``,
  ``check_time_embedding``, against the references in
  :mod:`course_utils.scratch.diffusion` and :mod:`course_utils.scratch.denoisers`.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np

from .. import checks, data, plotting
from ..scratch.denoisers import time_embedding
from ..scratch.diffusion import SCHEDULES, Schedule, ddpm_step, make_schedule, posterior_mean_var, q_sample, snr
from ..widgets import frame


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


@functools.lru_cache(maxsize=1)
def _first_digit() -> np.ndarray:
    """The widget's default picture, loaded once per kernel."""
    return digits_as_images()[0, 0]


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
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
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


# -------------------------------------------------------------------- widgets
@frame
def draw_noising(schedule: str = "linear", T: int = 100, image: np.ndarray | None = None,
                 n_images: int = 7, seed: int = 0):
    """Widget: log-SNR of the chosen schedule (the other one dashed) and ``image`` noised at evenly spaced t.

    ``image`` is one ``(8, 8)`` picture in ``[-1, 1]`` (default: the first digit).
    Warns on the figure when T is too small for small steps or ᾱ_T leaves signal.
    """
    T = int(T)
    sched = make_schedule(schedule, T)  # a ValueError (unknown name, T < 1) becomes the figure's message
    fig = plt.figure(figsize=(8.0, 4.6))
    gs = fig.add_gridspec(2, n_images, height_ratios=[2.2, 1])
    ax = fig.add_subplot(gs[0, :])
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
        image = _first_digit()
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


@frame
def draw_reverse(step: int, trajectory_2d: np.ndarray | None = None, trajectory_img: np.ndarray | None = None,
                 reference: np.ndarray | None = None, ncols: int = 8):
    """Widget: the reverse process after ``step`` denoising steps (x_{T−step}).

    ``trajectory_2d`` ``(T+1, n, 2)`` and ``trajectory_img`` ``(T+1, m, 1, h, w)`` are
    sampler paths indexed by t (as ``diffusion.ddpm_sample`` returns them); either may be None.
    """
    panels = [p for p in (trajectory_2d, trajectory_img) if p is not None]
    if not panels:
        raise ValueError("no trajectory to show: run the sampler first")
    T = len(panels[0]) - 1
    step = int(step)
    if not 0 <= step <= T:
        raise ValueError(f"step {step} is outside 0 … {T}")
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), squeeze=False)
    axes = axes.ravel()
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
