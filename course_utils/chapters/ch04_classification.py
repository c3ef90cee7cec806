"""Chapter 04 · classification with probabilities: data, figures, widgets and exercise checks.

- Data: ``shared_gaussian_data`` (two Gaussian classes with one covariance),
  ``make_multilabel`` (2-D points with three yes/no labels), ``make_counts``
  (Poisson-regression counts).
- Figures: ``plot_sigmoid_and_bce``, ``plot_probability_map``,
  ``plot_posterior_comparison``, ``plot_poisson_fit``, ``plot_templates``.
- Widget frames: ``draw_temperature`` (softmax temperature) and
  ``draw_logistic_training`` (gradient descent step by step).
- Exercise checks: ``check_bce_gradient``, ``check_logsumexp``,
  ``check_softmax_gradient``, ``check_poisson_nll``.

The algorithms are in :mod:`course_utils.scratch.logistic` and :mod:`course_utils.scratch.glm`.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .. import checks
from ..data import make_blobs
from ..plotting import COLORS, grid_for, scatter_classes, show_message
from ..scratch.glm import add_intercept, glm_fit, poisson_nll
from ..scratch.layers import logsumexp, sigmoid, softmax
from ..scratch.logistic import bce_gradient, logistic_max_lr, logistic_train, softmax_regression_grad, softmax_train
from ..scratch.losses import softmax_cross_entropy
from ..scratch.metrics import accuracy
from ..widgets import frame


# ------------------------------------------------------------------------- data
def shared_gaussian_data(n: int, rng: np.random.Generator, mu0=(0.0, 0.0), mu1=(2.0, 1.0),
                         cov=((1.0, 0.5), (0.5, 1.5)), prior1: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` points: ``y ~ Bernoulli(prior1)``, then ``x | y ~ N(mu_y, cov)`` (one shared covariance)."""
    mu0, mu1, cov = (np.asarray(a, dtype=np.float64) for a in (mu0, mu1, cov))
    y = (rng.uniform(size=n) < prior1).astype(np.int64)
    L = np.linalg.cholesky(cov)
    X = np.where(y[:, None] == 1, mu1, mu0) + rng.standard_normal((n, len(mu0))) @ L.T
    return X, y



def make_multilabel(n: int, rng: np.random.Generator, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """2-D points with three independent yes/no labels; returns ``X (n, 2)``, ``Y (n, 3)`` (0/1) and the label names.

    Labels: "right" (x₁ > 0), "top" (x₂ > 0) and "far" (x₁ + x₂ > 1), each decided on
    the point plus a little Gaussian noise, so an example can carry 0, 1, 2 or 3 labels.
    """
    X = rng.uniform(-2, 2, (n, 2))
    J = X[:, None, :] + noise * rng.standard_normal((n, 3, 2))  # independent jitter per label
    Y = np.stack([J[:, 0, 0] > 0, J[:, 1, 1] > 0, J[:, 2, 0] + J[:, 2, 1] > 1], axis=1).astype(np.float64)
    return X, Y, ["right", "top", "far"]



def make_counts(n: int, rng: np.random.Generator, w_true=(0.5, 0.8, -0.4)) -> tuple[np.ndarray, np.ndarray]:
    """Count data from a Poisson regression: ``X = [1, x₁, …]`` with ``x ~ U(-1.5, 1.5)``, ``y ~ Poisson(exp(X w_true))``."""
    w_true = np.asarray(w_true, dtype=np.float64)
    X = add_intercept(rng.uniform(-1.5, 1.5, (n, len(w_true) - 1)))
    return X, rng.poisson(np.exp(X @ w_true)).astype(np.float64)


# ------------------------------------------------------------------------- figures
def plot_sigmoid_and_bce(z_max: float = 6.0):
    """Left: σ(z) and σ'(z). Right: the BCE of one example, −log σ(z) (y = 1) and −log(1 − σ(z)) (y = 0)."""
    z = np.linspace(-z_max, z_max, 401)
    s = sigmoid(z)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10.0, 3.8))
    a0.plot(z, s, label=r"$\sigma(z) = 1/(1 + e^{-z})$")
    a0.plot(z, s * (1 - s), label=r"$\sigma'(z) = \sigma(z)(1 - \sigma(z))$")
    a0.axhline(0.5, color="0.6", lw=0.8, ls="--")
    a0.set_xlabel("logit $z$")
    a0.set_ylabel("value")
    a0.set_title("the sigmoid squashes a score into (0, 1)")
    a0.legend(loc="upper left")
    a1.plot(z, np.logaddexp(0, -z), color=COLORS[1], label=r"$y = 1$: $-\log\sigma(z)$")
    a1.plot(z, np.logaddexp(0, z), color=COLORS[0], label=r"$y = 0$: $-\log(1 - \sigma(z))$")
    a1.set_xlabel("logit $z$")
    a1.set_ylabel("loss $L$")
    a1.set_title("binary cross-entropy of one example")
    a1.legend(loc="upper center")
    return fig


def plot_probability_map(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, ax=None,
                         title: str | None = None, resolution: int = 90, lim=None):
    """Shade ``p(y = 1 | x) = σ(wᵀx + b)`` over the plane, draw the 0.5 line and the data."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.6))
    pts_src = X if lim is None else np.array(lim)
    xx, yy, pts = grid_for(pts_src, resolution, pad=0.0 if lim is not None else 0.1)
    with np.errstate(over="ignore", invalid="ignore"):
        p = sigmoid(pts @ np.asarray(w, dtype=np.float64) + b).reshape(xx.shape)
    cmap = mpl.colors.LinearSegmentedColormap.from_list("p", [COLORS[0], "white", COLORS[1]])
    cs = ax.contourf(xx, yy, p, levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.45, vmin=0, vmax=1)
    if np.any(p > 0.5) and np.any(p < 0.5):
        ax.contour(xx, yy, p, levels=[0.5], colors="k", linewidths=1.6)
    scatter_classes(X, y, ax=ax, s=14)
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.grid(False)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    return ax, cs


def plot_posterior_comparison(x_line: np.ndarray, curves: dict[str, np.ndarray], ax=None,
                              xlabel: str = "position $t$ along the line through the class means"):
    """``p(y = 1 | x)`` along a line through input space, one curve per method."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    styles = ["-", "--", ":", "-."]
    for i, (name, p) in enumerate(curves.items()):
        ax.plot(x_line, p, ls=styles[i % len(styles)], lw=2.4 - 0.4 * i, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$p(y = 1 \mid \mathbf{x})$")
    ax.legend()
    return ax


def plot_poisson_fit(x: np.ndarray, y: np.ndarray, rates: dict[str, np.ndarray], ax=None,
                     xlabel: str = "feature $x_1$"):
    """Counts ``y`` against ``x`` (a feature or the linear score) with fitted rate curves (``name -> rate at x``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.scatter(x, y, s=10, alpha=0.35, color=COLORS[7], label="counts $y$")
    order = np.argsort(x)
    for i, (name, r) in enumerate(rates.items()):
        ax.plot(x[order], np.asarray(r)[order], color=COLORS[i], ls="-" if i == 0 else "--", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.legend()
    return ax


def plot_templates(W: np.ndarray, shape: tuple[int, int] = (8, 8), ncols: int = 5):
    """Each column of ``W (h·w, C)`` as an image on one symmetric colour scale: red votes for the class, blue against.

    The images are tiled into one mosaic (one ``imshow``: fast to draw); returns the figure.
    """
    W = np.asarray(W, dtype=np.float64)
    h, w = shape
    n = W.shape[1]
    nrows = int(np.ceil(n / ncols))
    mosaic = np.full((nrows * (h + 2) - 2, ncols * (w + 1) - 1), np.nan)  # NaN gaps between tiles
    fig, ax = plt.subplots(figsize=(1.45 * ncols + 1.0, 1.7 * nrows))
    for c in range(n):
        r, k = divmod(c, ncols)
        mosaic[r * (h + 2):r * (h + 2) + h, k * (w + 1):k * (w + 1) + w] = W[:, c].reshape(shape)
        ax.text(k * (w + 1) + (w - 1) / 2, r * (h + 2) - 0.7, f"class {c}", ha="center", va="bottom", fontsize=9)
    m = float(np.nanmax(np.abs(mosaic))) or 1.0
    cmap = mpl.colormaps["RdBu_r"].with_extremes(bad="white")
    im = ax.imshow(mosaic, cmap=cmap, vmin=-m, vmax=m, interpolation="nearest")
    ax.set_ylim(mosaic.shape[0] - 0.5, -1.6)
    ax.set_axis_off()
    fig.colorbar(im, ax=ax, shrink=0.85, label="weight")
    return fig


# ------------------------------------------------------------------------- widgets
#: The logits shown by the temperature widget (say, a model's scores for five classes).
TEMPERATURE_LOGITS = np.array([2.0, 1.0, 0.2, -0.5, 3.1])


@lru_cache(maxsize=4)
def _blobs_model(seed: int = 0, n: int = 240):
    """A 3-class softmax regression trained on 2-D blobs, cached for the temperature widget."""
    X, y = make_blobs(n, np.random.default_rng(seed), centers=3, std=0.9, spread=2.0)
    res = softmax_train(X, y, 3, lr=0.2, epochs=60, batch_size=len(X))
    return X, y, res.W, res.b




@frame
def draw_temperature(temperature: float = 1.0, seed: int = 0):
    """Widget frame: ``softmax(z / T)`` as bars for fixed logits, and the confidence map of a 3-class model at ``T``.

    Left: probabilities of :data:`TEMPERATURE_LOGITS` divided by ``T`` (entropy in the
    title). Right: ``max_c p_c(x)`` of a softmax regression on 2-D blobs with its
    logits divided by ``T``: small ``T`` makes the boundaries sharp, large ``T`` blurs
    them. The predicted class never changes with ``T``.
    """
    T = float(temperature)
    if not np.isfinite(T) or T <= 0:
        raise ValueError(f"temperature {T:g}: it must be positive (T → 0 is the arg-max, "
                         "T → ∞ the uniform distribution)")
    z = TEMPERATURE_LOGITS
    p = softmax(z / T)
    H = float(-np.sum(p * np.log(np.maximum(p, 1e-300))))
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10.5, 4.3), gridspec_kw=dict(width_ratios=[1, 1.1]),
                                 layout="none")
    fig.subplots_adjust(left=0.07, right=0.97, bottom=0.13, top=0.9, wspace=0.25)
    bars = a0.bar(np.arange(len(z)), p, color=[COLORS[i] for i in range(len(z))])
    for i, bar in enumerate(bars):
        a0.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 0.02, f"{p[i]:.2f}", ha="center", fontsize=9)
    a0.set_xticks(np.arange(len(z)), [f"class {i}\nz = {zi:g}" for i, zi in enumerate(z)], fontsize=8)
    a0.set_ylim(0, 1.12)
    a0.set_ylabel("softmax(z / T)")
    a0.set_title(f"T = {T:g}: entropy {H:.2f} nats (max log 5 = {np.log(5):.2f})", fontsize=11)
    X, y, W, b = _blobs_model(seed)
    xx, yy, pts = grid_for(X, 120)
    P = softmax((pts @ W + b) / T)
    strength = ((P.max(axis=1) - 1 / 3) / (2 / 3)).reshape(xx.shape)[..., None]  # 0 = uniform, 1 = certain
    rgb = np.array([mpl.colors.to_rgb(c) for c in COLORS[:3]])[P.argmax(axis=1)].reshape(*xx.shape, 3)
    a1.imshow(0.55 * strength * rgb + (1 - 0.55 * strength), origin="lower", interpolation="bilinear",
              extent=(xx.min(), xx.max(), yy.min(), yy.max()), aspect="auto")
    scatter_classes(X, y, ax=a1, s=10, edgecolor="k")
    a1.set_xlim(xx.min(), xx.max())
    a1.set_ylim(yy.min(), yy.max())
    a1.grid(False)
    a1.legend(loc="lower right", fontsize=8)
    a1.set_title("3-class model, logits / T: white = unsure, colour = sure", fontsize=11)
    if T <= 0.1:
        show_message(a0, "T → 0: nearly all the probability\ngoes to the largest logit (arg-max)", kind="info")
    elif T >= 5:
        show_message(a0, "large T: the distribution flattens\ntowards uniform (1/5 each)", kind="info")
    return fig


@lru_cache(maxsize=32)
def _logistic_run(lr: float, epochs: int, n: int, seed: int):
    X, y = shared_gaussian_data(n, np.random.default_rng(seed), mu0=(-0.5, 0.5), mu1=(1.5, 1.5))
    return X, y, logistic_train(X, y, lr=lr, epochs=epochs)


@frame
def draw_logistic_training(epoch: int = 10, lr: float = 1.0, n: int = 200, seed: int = 0, max_epochs: int = 60):
    """Widget frame: logistic regression after ``epoch`` full-batch GD steps with rate ``lr``.

    Left: ``p(y = 1 | x)`` shading and the 0.5 boundary. Right: the loss per step
    (the whole run faint, up to ``epoch`` bold). A rate that makes the loss rise
    above its starting value gets a clear message.
    """
    lr, epoch = float(lr), int(round(float(epoch)))
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"learning rate {lr:g}: it must be positive")
    if epoch < 0:
        raise ValueError(f"epoch {epoch}: pick an epoch >= 0")
    X, y, res = _logistic_run(lr, max(int(max_epochs), epoch), int(n), int(seed))
    w, b = res.weights[epoch], float(res.biases[epoch])
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10.5, 4.4), gridspec_kw=dict(width_ratios=[1.05, 1]),
                                 layout="none")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.91, wspace=0.22)
    acc = accuracy(X @ w + b, y)
    plot_probability_map(X, y, w, b, ax=a0, resolution=70,
                         title=f"after {epoch} steps: accuracy {acc:.0%}, ‖w‖ = {np.linalg.norm(w):.2f}")
    steps = np.arange(len(res.losses))
    a1.plot(steps, res.losses, color=COLORS[7], lw=1, alpha=0.5)
    a1.plot(steps[:epoch + 1], res.losses[:epoch + 1], color=COLORS[0], marker="o", ms=2.5)
    a1.set_ylim(0, max(0.75, 1.05 * float(np.max(res.losses))))
    a1.set_xlabel("step (one full-batch gradient step = one epoch)")
    a1.set_ylabel("mean BCE loss")
    a1.set_title(f"η = {lr:g}   (guaranteed descent below 2/L = {logistic_max_lr(X):.2f})", fontsize=11)
    if res.diverged:
        show_message(a1, f"learning rate too large: training diverged.\nThe loss rose from {res.losses[0]:.2f} "
                          f"to {res.losses.max():.3g}\ninstead of falling: the steps overshoot.", kind="warning")
    elif epoch == 0:
        show_message(a0, "step 0: w = 0, b = 0, so p = 0.5 everywhere\nand there is no boundary yet", kind="info")
    return fig


# -------------------------------------------------------------------------- checks
def _binary_problem(rng: np.random.Generator):
    n, d = int(rng.integers(5, 40)), int(rng.integers(1, 6))
    X = rng.standard_normal((n, d)) * rng.choice([1.0, 5.0])
    return rng.standard_normal(d), float(rng.standard_normal()), X, rng.integers(0, 2, n).astype(np.float64)


def check_bce_gradient(fn: Callable) -> checks.CheckResult:
    """Check ``fn(w, b, X, y) -> (grad_w, grad_b)`` for the mean binary cross-entropy of ``σ(Xw + b)``."""
    return checks.check_function(fn, bce_gradient, _binary_problem, name="bce_gradient", trials=6,
                                 rtol=1e-6, atol=1e-10)


def _logits(rng: np.random.Generator):
    """At least two rows, in random order: one whose largest logit is +1000 (``exp`` overflows to inf without
    the shift), one whose logits are all ≤ −1000 (``exp`` underflows to 0, ``log 0 = −inf``), the others of
    size 1 or 10. Every draw thus catches a missing shift, and a shift by the global instead of each row's
    maximum."""
    n, c = int(rng.integers(2, 8)), int(rng.integers(2, 12))
    z = rng.standard_normal((n, c)) * rng.choice([1.0, 10.0])
    z[0] *= 1000.0 / max(np.max(np.abs(z[0])), 1e-12)  # logits spread over ±1000 ...
    z[0] += 1000.0 - np.max(z[0])                       # ... the largest exactly +1000
    z[-1] += -1000.0 - np.max(z[-1])                    # a row entirely at or below −1000
    return (rng.permutation(z),)


def check_logsumexp(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(z) -> log Σ_j exp(z_ij)`` over the last axis (shape ``(n,)``), including logits of ±1000."""
    return checks.check_function(fn, lambda z: logsumexp(z, axis=-1), _logits, name="stable_logsumexp",
                                 trials=trials, rtol=1e-9, atol=1e-9)


def _softmax_problem(rng: np.random.Generator):
    n, d, c = int(rng.integers(2, 30)), int(rng.integers(1, 8)), int(rng.integers(2, 7))
    return (rng.standard_normal((d, c)), rng.standard_normal(c), rng.standard_normal((n, d)),
            rng.integers(0, c, n))


def check_softmax_gradient(fn: Callable) -> checks.CheckResult:
    """Check ``fn(W, b, X, y) -> (dW, db)`` for the mean cross-entropy of ``softmax(X W + b)``."""
    return checks.check_function(fn, softmax_regression_grad, _softmax_problem, name="softmax_regression_grad",
                                 trials=6, rtol=1e-6, atol=1e-10)


def _poisson_problem(rng: np.random.Generator):
    n, d = int(rng.integers(5, 50)), int(rng.integers(1, 4))
    w = 0.5 * rng.standard_normal(d + 1)
    X, y = make_counts(n, rng, w_true=w)
    return 0.5 * rng.standard_normal(d + 1), X, y


def check_poisson_nll(fn: Callable) -> checks.CheckResult:
    """Check ``fn(w, X, y) -> (loss, grad)``: mean Poisson NLL with log link and its gradient."""
    return checks.check_function(fn, poisson_nll, _poisson_problem, name="poisson_nll", trials=6,
                                 rtol=1e-6, atol=1e-10)


# ------------------------------------------------- how far is an estimate from the truth?
#: A recovered (b, w) must lie within this many standard errors of the truth, in every coordinate.
WEIGHT_TOLERANCE_SE = 4.5


def logistic_standard_errors(w: np.ndarray, b: float, n: int, X_population: np.ndarray) -> np.ndarray:
    """Standard errors of logistic regression's ``(b, w)`` fitted on ``n`` examples, at the true ``(w, b)``.

    Maximum likelihood is asymptotically normal with covariance ``I⁻¹ / n``, where
    ``I = E[σ'(z) x̃ x̃ᵀ]`` (``x̃ = (1, x)``, ``z = wᵀx + b``) is the Fisher information of
    one example; the expectation is a mean over ``X_population``, a large sample of
    inputs. Returns ``sqrt(diag(I⁻¹) / n)``, intercept first.
    """
    Xt = add_intercept(X_population)
    s = sigmoid(Xt @ np.r_[b, np.asarray(w, dtype=np.float64)])
    info = (Xt * (s * (1 - s))[:, None]).T @ Xt / len(Xt)
    return np.sqrt(np.diag(np.linalg.inv(info)) / n)


def max_z(estimate: np.ndarray, truth: np.ndarray, se: np.ndarray) -> float:
    """The largest ``|estimate − truth| / se`` over the coordinates: how many standard errors off the worst one is."""
    return float(np.max(np.abs(np.asarray(estimate, dtype=np.float64) - truth) / se))


#: Softmax regression on the 8×8 digits must reach this test accuracy (measured 0.944–0.978 over 20 splits; chance 0.10).
DIGITS_MIN_ACCURACY = 0.93


# --------------------------------------------------------- exercises of other kinds
def _answer(fn: Callable):
    """``(value, None)`` from a zero-argument answer function, or ``(None, exception)``."""
    try:
        return (fn() if callable(fn) else fn), None
    except Exception as exc:  # NotImplementedError or the student's bug
        return None, exc


#: Counts of the Newton exercise: an intercept-only Poisson regression (X is a column of ones).
NEWTON_COUNTS = np.array([1.0, 2.0, 6.0])


def check_newton_step(fn: Callable) -> checks.CheckResult:
    """Derive-then-check: ``fn() -> (w1, w_star)`` for the Poisson GLM ``ŷ = e^w`` on :data:`NEWTON_COUNTS`.

    ``w1`` is ``w`` after one Newton step from ``w = 0``; ``w_star`` the exact minimiser.
    Both are checked against ``glm.glm_fit`` (one Newton step, then to convergence).
    """
    X = np.ones((len(NEWTON_COUNTS), 1))
    w1 = float(glm_fit("poisson", X, NEWTON_COUNTS, method="newton", steps=1).w[0])
    w_star = float(glm_fit("poisson", X, NEWTON_COUNTS, method="newton", steps=30, tol=1e-14).w[0])
    got, exc = _answer(fn)
    if exc is not None:
        return checks.check_function(fn, lambda: (w1, w_star), lambda rng: (), name="newton_step", trials=1)
    hint = None
    try:
        a, s = (float(v) for v in got)
        mean = float(NEWTON_COUNTS.mean())
        if np.isclose(a, -w1):
            hint = "check the sign: Newton's step is w − ∇L / L'', and at w = 0 the gradient mean(e^0 − y) is negative"
        elif np.isclose(a, mean):
            hint = f"{mean:g} is the mean count, the rate e^w should reach; the step itself is w − ∇L / L'' from w = 0"
        elif np.isclose(s, mean):
            hint = f"at the minimiser the predicted rate e^w equals the mean count {mean:g}, so w* is its logarithm"
        elif np.isclose(a, w1) and not np.isclose(s, w_star):
            hint = "w1 is right; for w*, set the gradient mean(e^w − y) to zero"
    except (TypeError, ValueError):
        pass
    return checks.check_value(got, (w1, w_star), name="(w1, w*)", rtol=1e-4, atol=1e-8, hint=hint)


def _ce_problem(rng: np.random.Generator):
    n, c = int(rng.integers(2, 9)), int(rng.integers(2, 7))
    z = rng.standard_normal((n, c)) * 3
    z[0] *= 1000.0 / np.max(np.abs(z[0]))  # one row of logits around ±1000
    return z, rng.integers(0, c, n)


def check_cross_entropy(fn: Callable) -> checks.CheckResult:
    """Debug-this: ``fn(logits, y) -> float``, the *mean* softmax cross-entropy, finite for logits of ±1000.

    Compared with ``losses.softmax_cross_entropy``; the message names the two classic
    bugs (no max-shift, a sum instead of a mean) when it sees them.
    """
    def reference(z, y):
        return softmax_cross_entropy(z, y)[0]

    z, y = _ce_problem(np.random.default_rng(2024))
    with np.errstate(all="ignore"):
        got, exc = _answer(lambda: fn(z.copy(), y.copy()))
        small = z[1:] / 1000.0 if len(z) > 2 else None
        got_small, _ = _answer(lambda: fn(small.copy(), y[1:].copy())) if small is not None else (None, None)
    hint = None
    try:
        if exc is None and not np.isfinite(float(got)):
            hint = "a logit of 1000 overflows exp; subtract each row's maximum first (or use a log-softmax)"
        elif got_small is not None and np.isclose(float(got_small), len(small) * reference(small, y[1:]), rtol=1e-6):
            hint = "you return the sum over the batch; the loss is the mean (divide by n)"
    except (TypeError, ValueError):
        pass
    if hint is not None:
        return checks.check_value(got, reference(z, y), name="cross_entropy", hint=hint)
    return checks.check_function(fn, reference, _ce_problem, name="cross_entropy", trials=6, rtol=1e-8, atol=1e-10)


def check_learning_rate_design(fn: Callable, X: np.ndarray, y: np.ndarray, steps: int = 20,
                               tol: float = 1e-4) -> checks.CheckResult:
    """Design-to-a-target: ``fn() -> lr`` must bring full-batch GD on ``(X, y)`` within ``tol`` of the minimum in ``steps`` steps.

    Runs ``logistic.logistic_train`` from zero with the student's rate, never letting
    the loss rise (that is ``diverged``), and says how far from the target it ended.
    """
    optimum = float(glm_fit("logistic", add_intercept(X), y, method="newton", steps=30).losses[-1])
    lr, exc = _answer(fn)
    if exc is not None:
        return checks.check_function(fn, lambda: 1.0, lambda rng: (), name="learning rate", trials=1)
    try:
        lr = float(lr)
        res = logistic_train(X, y, lr=lr, epochs=steps)
    except (TypeError, ValueError) as err:
        return checks.check_value(lr, "a positive number", name="learning rate", hint=str(err))
    gap = float(res.losses[-1] - optimum)
    bound = logistic_max_lr(X)
    if res.diverged:  # the target also forbids any rise: report the worst loss of the run
        gap = max(gap, float(np.nanmax(res.losses)) - optimum)
        hint = (f"with η = {lr:g} the loss rose above its start (it reached {np.nanmax(res.losses):.3g}): "
                "the steps overshoot, take a smaller rate")
    elif gap >= tol:
        hint = (f"with η = {lr:g} the loss is still {gap:.1e} above the minimum after {steps} steps (target {tol:g}); "
                f"take a larger rate. The guaranteed-descent bound 2/L = {bound:.2f} is pessimistic")
    else:
        hint = None
    return checks.check_value(gap, 0.0, name=f"loss above the minimum after {steps} steps", rtol=0.0, atol=tol, hint=hint)
