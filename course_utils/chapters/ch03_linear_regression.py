"""Chapter 03 · linear regression: the chapter's data, figures, widget, experiments and exercise checks.

- Data: ``target_function``, ``make_curve`` and ``curve_data`` (the 1-D curve of
  sections 6-9), ``make_linear_data`` (the linear data set of sections 1-5).
- Experiments (the loops behind the notebook's asserts): ``conditioning_study``
  (solvers against the condition number), ``degree_curve`` (training and
  validation error over the polynomial degree).
- Figures: ``plot_data``, ``plot_fits``, ``plot_nll_profile``, ``plot_conditioning``,
  ``plot_degree_curve``, ``plot_cv_curve``; the widget frame ``draw_polynomial_fit``.
- Exercise checks: ``check_normal_equations``, ``check_least_squares_gradient``,
  ``check_polynomial_features``, ``check_fold_mse``.

The algorithms are in :mod:`course_utils.scratch.regression`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from .. import checks
from ..plotting import COLORS, show_message
from ..scratch.regression import (
    fit_polynomial,
    fold_mse,
    gaussian_mle,
    gaussian_nll,
    gd_fit,
    least_squares_gradient,
    lstsq_qr,
    lstsq_svd,
    max_stable_lr,
    mse,
    normal_equations,
    polynomial_features,
    predict_polynomial,
    ridge_closed_form,
    with_bias,
)
from ..widgets import frame

NOISE = 0.3  # standard deviation of the noise in the chapter's 1-D data


# -------------------------------------------------------------------- data
def target_function(x: np.ndarray) -> np.ndarray:
    """The smooth curve behind the chapter's 1-D data: ``sin(3x) + 0.3x`` on [-1, 1]."""
    x = np.asarray(x, dtype=np.float64)
    return np.sin(3.0 * x) + 0.3 * x


def make_curve(n: int, rng: np.random.Generator, noise: float = NOISE) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points with ``x ~ U(-1, 1)`` and ``y = target_function(x) + noise * N(0, 1)``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    x = rng.uniform(-1.0, 1.0, n)
    return x, target_function(x) + noise * rng.standard_normal(n)


@dataclass
class CurveData:
    """A training and a validation set drawn from the same curve (1-D inputs)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    noise: float


def curve_data(seed: int = 0, n_train: int = 20, n_val: int = 100, noise: float = NOISE) -> CurveData:
    """The chapter's data set: training points first, then validation points, from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    x_tr, y_tr = make_curve(n_train, rng, noise)
    x_va, y_va = make_curve(n_val, rng, noise)
    return CurveData(x_tr, y_tr, x_va, y_va, float(noise))


def make_linear_data(n: int, d: int, rng: np.random.Generator, noise: float = 0.5,
                     scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A linear model with Gaussian noise: ``y = b + X w + noise * N(0, 1)``.

    ``X`` (n, d) has standard-normal entries times ``scale``; the true parameters
    ``theta = (b, w)`` (shape ``(d + 1,)``, bias first) are standard normal.
    Returns ``X, y, theta``.
    """
    X = scale * rng.standard_normal((n, d))
    theta = rng.standard_normal(d + 1)
    y = with_bias(X) @ theta + noise * rng.standard_normal(n)
    return X, y, theta


# -------------------------------------------------------------- experiments
def orthogonal_residual(x: np.ndarray, degree: int, seed: int = 0, digits: int = 40) -> np.ndarray:
    """A unit vector ``r`` that no polynomial of degree <= ``degree`` on the points ``x`` can fit.

    ``r`` is a random vector minus its least-squares polynomial fit, computed with
    ``digits`` significant digits (mpmath, which ships with PyTorch) and only then
    rounded to float64: ``X^T r = 0`` holds to rounding, whereas projecting in
    float64 would leave a component along the smallest singular directions of ``X``
    of relative size about ``kappa(X) * eps`` (exactly the error the study measures).
    Orthogonal to degree ``degree``, it is orthogonal to every lower degree too.
    """
    import mpmath

    X = polynomial_features(x, degree)
    z = np.random.default_rng(seed).standard_normal(len(X))
    with mpmath.workdps(digits):
        to_mp = np.vectorize(mpmath.mpf, otypes=[object])
        Xm, zm = to_mp(X), to_mp(z)
        coef = mpmath.lu_solve(mpmath.matrix((Xm.T @ Xm).tolist()), mpmath.matrix((Xm.T @ zm).tolist()))
        r = zm - Xm @ np.array(coef.tolist(), dtype=object).ravel()
        r = np.array([float(v) for v in r])
    return r / np.linalg.norm(r)


def conditioning_study(degrees: Sequence[int], n: int = 100, residual: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    """How the three solvers cope as polynomial features become nearly collinear.

    For each degree: ``X = polynomial_features(linspace(-1, 1, n), degree)`` and the
    target ``y = X @ ones + residual * ||X @ ones|| * r`` with ``r`` from
    :func:`orthogonal_residual` (orthogonal to every column of every ``X`` in the
    study), so the exact least-squares answer is ``theta = 1`` for any ``residual``,
    and ``residual`` is ``tan`` of the angle between ``y`` and the column space
    (``||r_ls|| / ||X theta||``). ``residual = 0`` is the noise-free target.
    Returns arrays over degrees: ``cond_X``, ``cond_XtX`` (both from the SVD) and
    the relative errors ``||theta_hat - 1|| / ||1||`` of ``normal``, ``qr`` and
    ``lstsq`` (``np.linalg.lstsq``); ``residual`` is stored too.
    """
    x = np.linspace(-1.0, 1.0, n)
    r = orthogonal_residual(x, max(degrees), seed) if residual > 0 else np.zeros(n)
    out: dict[str, list] = {k: [] for k in ("cond_X", "cond_XtX", "normal", "qr", "lstsq")}
    for deg in degrees:
        X = polynomial_features(x, deg)
        truth = np.ones(deg + 1)
        y = X @ truth
        y = y + residual * np.linalg.norm(y) * r
        out["cond_X"].append(np.linalg.cond(X))
        out["cond_XtX"].append(np.linalg.cond(X.T @ X))
        for name, solve in (("normal", normal_equations), ("qr", lstsq_qr), ("lstsq", lstsq_svd)):
            try:
                est = solve(X, y)
                err = np.linalg.norm(est - truth) / np.linalg.norm(truth)
            except np.linalg.LinAlgError:  # X^T X singular to working precision
                err = np.inf
            out[name].append(err)
    res = {k: np.array(v, dtype=np.float64) for k, v in out.items()}
    res["degree"] = np.asarray(degrees, dtype=np.int64)
    res["residual"] = float(residual)
    return res


def error_growth(study: dict[str, np.ndarray], solver: str, lo: float = 1e-13, hi: float = 1e-2) -> float:
    """The exponent ``a`` in ``error ~ kappa(X)^a`` for one solver of :func:`conditioning_study`.

    A least-squares line through ``(log10 kappa, log10 error)`` over the degrees whose
    error lies between ``lo`` (above the round-off floor of a single solve) and ``hi``
    (before the error saturates near 100 %). Needs at least four such degrees.
    """
    err, cond = np.asarray(study[solver]), np.asarray(study["cond_X"])
    ok = np.isfinite(err) & (err > lo) & (err < hi)
    if ok.sum() < 4:
        raise ValueError(f"only {int(ok.sum())} degrees of {solver!r} have errors in ({lo:g}, {hi:g}); "
                         "widen the range of degrees")
    return float(np.polyfit(np.log10(cond[ok]), np.log10(err[ok]), 1)[0])


#: ``error ~ kappa^a``: exponents that count as "loses log10 kappa digits" and as "squares kappa"
LINEAR_GROWTH, SQUARED_GROWTH = (0.7, 1.4), (1.6, 2.3)


def loses_log_kappa(study: dict[str, np.ndarray], solver: str) -> bool:
    """True when the solver's error grows like ``kappa^1`` (:func:`error_growth` within ``LINEAR_GROWTH``)."""
    return LINEAR_GROWTH[0] <= error_growth(study, solver) <= LINEAR_GROWTH[1]


def squares_kappa(study: dict[str, np.ndarray], solver: str) -> bool:
    """True when the solver's error grows like ``kappa^2`` (:func:`error_growth` within ``SQUARED_GROWTH``)."""
    return SQUARED_GROWTH[0] <= error_growth(study, solver) <= SQUARED_GROWTH[1]


def degree_curve(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                 degrees: Sequence[int], lam: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation MSE of ``regression.fit_polynomial`` for each degree (arrays of ``len(degrees)``)."""
    train, val = [], []
    for deg in degrees:
        coef = fit_polynomial(x_train, y_train, deg, lam)
        train.append(mse(predict_polynomial(coef, x_train), y_train))
        val.append(mse(predict_polynomial(coef, x_val), y_val))
    return np.array(train), np.array(val)


@dataclass
class UShape:
    """Verdict of :func:`u_shape` on a curve over model complexity."""

    ok: bool
    argmin: int
    left_drop: float      # curve[0] / min
    right_rise: float     # curve[-1] / min
    left_trend: float     # share of pairs i < j <= argmin with curve[i] > curve[j]
    right_trend: float    # share of pairs argmin <= i < j with curve[i] < curve[j]
    reason: str


def u_shape(curve: np.ndarray, min_ratio: float = 3.0, min_trend: float = 0.75) -> UShape:
    """Is ``curve`` U-shaped: a falling left arm, an interior minimum, a rising right arm?

    - interior minimum: the arg-min is neither the first nor the last entry;
    - each arm changes by at least ``min_ratio`` between its end and the minimum;
    - each arm mostly moves the right way: at least ``min_trend`` of its pairs of
      points are in falling (left arm) or rising (right arm) order. A pair measure
      tolerates one small bump (degree 2 adds nothing to an odd curve) but not an arm
      that is flat or wanders.
    """
    c = np.asarray(curve, dtype=np.float64)
    m = int(np.argmin(c))
    if not 0 < m < len(c) - 1:
        where = "first" if m == 0 else "last"
        return UShape(False, m, np.nan, np.nan, np.nan, np.nan,
                      f"the minimum is at the {where} point: no interior minimum")

    def share(arm, sign):
        pairs = [(i, j) for i in range(len(arm)) for j in range(i + 1, len(arm))]
        return float(np.mean([sign * (arm[j] - arm[i]) > 0 for i, j in pairs]))

    left, right = c[:m + 1], c[m:]
    v = UShape(True, m, c[0] / c[m], c[-1] / c[m], share(left, -1), share(right, +1), "U-shaped")
    problems = []
    if v.left_drop < min_ratio:
        problems.append(f"the left arm falls only {v.left_drop:.2f}x (need {min_ratio:g}x)")
    if v.right_rise < min_ratio:
        problems.append(f"the right arm rises only {v.right_rise:.2f}x (need {min_ratio:g}x)")
    if v.left_trend < min_trend:
        problems.append(f"only {v.left_trend:.0%} of left-arm pairs fall (need {min_trend:.0%})")
    if v.right_trend < min_trend:
        problems.append(f"only {v.right_trend:.0%} of right-arm pairs rise (need {min_trend:.0%})")
    if problems:
        v.ok, v.reason = False, "; ".join(problems)
    return v


def median_degree_curves(seeds: Sequence[int], degrees: Sequence[int], n_train: int = 20, n_val: int = 100,
                         noise: float = NOISE, lam: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation MSE over degree, each the median over ``curve_data(seed)`` for ``seeds``.

    The median (not the mean) because one unlucky draw can make a high-degree
    validation error explode by orders of magnitude.
    """
    runs = [degree_curve(*_xy(curve_data(s, n_train, n_val, noise)), degrees, lam) for s in seeds]
    train, val = np.array([r[0] for r in runs]), np.array([r[1] for r in runs])
    return np.median(train, axis=0), np.median(val, axis=0)


def _xy(d: CurveData):
    return d.x_train, d.y_train, d.x_val, d.y_val


# ----------------------------------------------------------------- plots
def _ax(ax, figsize=None):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_data(data: CurveData, ax=None, curves: dict[str, np.ndarray] | None = None, ylim=(-2.2, 2.2)):
    """Training points, validation points and the true curve; ``curves`` maps labels to polynomial coefficients."""
    ax = _ax(ax)
    grid = np.linspace(-1, 1, 400)
    ax.plot(grid, target_function(grid), color="0.45", ls="--", lw=1.5, label="true curve")
    ax.scatter(data.x_val, data.y_val, s=10, color=COLORS[7], alpha=0.5, label="validation")
    ax.scatter(data.x_train, data.y_train, s=30, color=COLORS[0], edgecolor="white", zorder=4, label="training")
    for i, (label, coef) in enumerate((curves or {}).items()):
        ax.plot(grid, predict_polynomial(coef, grid), color=COLORS[(i + 1) % len(COLORS)], label=label)
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_fits(data: CurveData, degrees: Sequence[int], lam: float = 0.0):
    """One panel per degree: the least-squares polynomial with its training and validation MSE."""
    fig, axes = plt.subplots(1, len(degrees), figsize=(3.6 * len(degrees), 3.4), sharey=True)
    for ax, deg in zip(np.atleast_1d(axes), degrees):
        coef = fit_polynomial(data.x_train, data.y_train, deg, lam)
        plot_data(data, ax=ax, curves={f"degree {deg}": coef})
        tr = mse(predict_polynomial(coef, data.x_train), data.y_train)
        va = mse(predict_polynomial(coef, data.x_val), data.y_val)
        ax.set_title(f"degree {deg}: train {tr:.3f}, val {va:.3g}", fontsize=10)
        ax.get_legend().remove()
    return fig


def plot_nll_profile(X: np.ndarray, y: np.ndarray, ax=None):
    """Mean Gaussian NLL at the least-squares ``theta`` as a function of ``sigma^2``, with the two variance estimates."""
    ax = _ax(ax)
    theta, var_ml = gaussian_mle(X, y)
    n, p = np.asarray(X).shape
    grid = np.linspace(0.4 * var_ml, 3.0 * var_ml, 300)
    ax.plot(grid, [gaussian_nll(theta, 0.5 * np.log(v), X, y) for v in grid], label=r"NLL at $\hat\theta$")
    ax.axvline(var_ml, color=COLORS[1], lw=1.5, label=rf"RSS/n = {var_ml:.4f} (MLE)")
    ax.axvline(var_ml * n / (n - p), color=COLORS[2], lw=1.5, ls="--",
               label=rf"RSS/(n-p) = {var_ml * n / (n - p):.4f} (unbiased)")
    ax.set_xlabel(r"noise variance $\sigma^2$")
    ax.set_ylabel("mean negative log-likelihood")
    ax.legend(fontsize=8)
    return ax


def plot_conditioning(study: dict[str, np.ndarray], ax=None):
    """Condition numbers (left axis scale shared) and solver errors against the polynomial degree."""
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(10.5, 4.0))
    a0, a1 = ax
    deg = study["degree"]
    a0.semilogy(deg, study["cond_X"], marker="o", ms=3, label=r"$\kappa(X)$")
    a0.semilogy(deg, study["cond_X"] ** 2, ls="--", color="k", lw=1, label=r"$\kappa(X)^2$")
    a0.semilogy(deg, study["cond_XtX"], marker="s", ms=3, label=r"$\kappa(X^\top X)$ (computed)")
    a0.axhline(1 / np.finfo(float).eps, color=COLORS[3], lw=1, ls=":", label="1 / machine epsilon")
    a0.set_xlabel("polynomial degree")
    a0.set_ylabel("condition number")
    a0.set_title("forming $X^\\top X$ squares the condition number")
    a0.legend(fontsize=8)
    for name, label in (("normal", "normal equations"), ("qr", "QR"), ("lstsq", "lstsq (SVD)")):
        a1.semilogy(deg, np.clip(study[name], 1e-17, 1e3), marker="o", ms=3, label=label)
    a1.set_xlabel("polynomial degree")
    a1.set_ylabel(r"relative error of $\hat\theta$")
    a1.set_title("noise-free data: exact answer known")
    a1.legend(fontsize=8)
    return a0, a1


def plot_error_vs_kappa(studies: dict[str, dict[str, np.ndarray]], ax=None):
    """Solver errors against ``kappa(X)`` (log-log) for several studies, with the guides ``eps kappa`` and ``eps kappa^2``.

    ``studies`` maps a label (say "no residual") to a :func:`conditioning_study`;
    the first is drawn solid, the others dashed. On log-log axes an error that
    grows like ``kappa^a`` is a line of slope ``a``.
    """
    ax = _ax(ax, figsize=(6.4, 4.4))
    eps = np.finfo(float).eps
    styles = ["-", "--", ":"]
    for k, (label, st) in enumerate(studies.items()):
        for i, (name, solver) in enumerate((("normal", "normal eq."), ("qr", "QR"))):
            ax.loglog(st["cond_X"], np.clip(st[name], 1e-17, 1e3), ls=styles[k % 3], marker="o", ms=2.5,
                      color=COLORS[i], label=f"{solver}, {label}")
    kappa = np.geomspace(1, np.max(next(iter(studies.values()))["cond_X"]), 50)
    ax.loglog(kappa, eps * kappa, color="0.5", lw=1, ls=":", label=r"$\varepsilon\,\kappa$")
    ax.loglog(kappa, eps * kappa ** 2, color="k", lw=1, ls=":", label=r"$\varepsilon\,\kappa^2$")
    ax.set_ylim(1e-17, 1e3)
    ax.set_xlabel(r"condition number $\kappa(X)$")
    ax.set_ylabel(r"relative error of $\hat\theta$")
    ax.set_title("slope 1: loses log10 κ digits; slope 2: loses 2 log10 κ")
    ax.legend(fontsize=7, loc="upper left")
    return ax


def plot_degree_curve(degrees: Sequence[int], train: np.ndarray, val: np.ndarray, ax=None,
                      noise: float | None = None, mark: int | None = None, title: str | None = None):
    """Training and validation MSE against the polynomial degree (log scale)."""
    ax = _ax(ax)
    ax.semilogy(degrees, np.maximum(train, 1e-6), marker="o", ms=3, label="training MSE")
    ax.semilogy(degrees, val, marker="s", ms=3, label="validation MSE")
    if noise is not None:
        ax.axhline(noise ** 2, color="0.45", ls=":", lw=1.2, label=r"noise variance $\sigma^2$")
    if mark is not None:
        ax.axvline(mark, color=COLORS[3], lw=1.2, alpha=0.8)
    ax.set_xlabel("polynomial degree")
    ax.set_ylabel("mean squared error")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_cv_curve(lams: Sequence[float], scores: np.ndarray, ax=None, val: np.ndarray | None = None,
                  best: float | None = None):
    """k-fold CV error against ``lambda`` (log–log): each fold thin, their mean bold; ``scores`` from ``regression.kfold_cv``."""
    ax = _ax(ax)
    lams = np.asarray(lams, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    for j in range(scores.shape[1]):
        ax.loglog(lams, scores[:, j], color=COLORS[0], lw=0.8, alpha=0.3,
                  label="one fold" if j == 0 else None)
    ax.loglog(lams, scores.mean(axis=1), marker="o", ms=3, color=COLORS[0], label="k-fold CV MSE (mean of folds)")
    if val is not None:
        ax.loglog(lams, val, marker="s", ms=3, color=COLORS[1], label="validation MSE (held out)")
    if best is not None:
        ax.axvline(best, color=COLORS[2], lw=1.5, label=f"chosen λ = {best:.2g}")
    ax.set_xlabel(r"$\lambda$")
    ax.set_ylabel("mean squared error")
    ax.legend(fontsize=8)
    return ax


# ---------------------------------------------------------------- widget
LOG10_LAM_ZERO = -10.0  # the widget's leftmost lambda position stands for lambda = 0


@frame
def draw_polynomial_fit(degree: int = 3, log10_lam: float = -6.0, seed: int = 0, n_train: int = 20,
                        n_val: int = 100, noise: float = NOISE, max_degree: int = 15):
    """Widget frame: a ridge polynomial fit (left) and the error curves over degree at this lambda (right).

    ``lam = 10 ** log10_lam``, except that ``log10_lam <= LOG10_LAM_ZERO`` (-10) means
    ``lam = 0``, plain least squares. The bias is not penalised. A bad setting raises
    ``ValueError``, which ``widgets.frame`` draws as a message.
    """
    degree = int(round(float(degree)))
    log10_lam = float(log10_lam)
    if not np.isfinite(log10_lam):
        raise ValueError(f"log10 λ = {log10_lam}: pick a finite number")
    if not 0 <= degree <= max_degree:
        raise ValueError(f"degree {degree}: pick a degree between 0 and {max_degree}")
    lam = 0.0 if log10_lam <= LOG10_LAM_ZERO else 10.0 ** log10_lam
    lam_text = "0" if lam == 0 else f"{lam:.0e}"
    data = curve_data(seed, n_train, n_val, noise)
    degrees = np.arange(max_degree + 1)
    train, val = degree_curve(data.x_train, data.y_train, data.x_val, data.y_val, degrees, lam)
    coef = fit_polynomial(data.x_train, data.y_train, degree, lam)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10.5, 4.2), layout="none")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.9, wspace=0.25)
    plot_data(data, ax=a0, curves={"fit": coef})
    a0.set_title(f"degree {degree}, λ = {lam_text}: train {train[degree]:.3f}, val {val[degree]:.3g}", fontsize=10)
    plot_degree_curve(degrees, train, val, ax=a1, noise=noise, mark=degree,
                      title=f"errors over degree at λ = {lam_text}")
    grid = np.linspace(-1, 1, 400)
    if np.max(np.abs(predict_polynomial(coef, grid))) > 2.2:
        show_message(a0, "the curve leaves the plot between the\ntraining points: overfitting", kind="warning")
    elif degree + 1 > n_train:
        show_message(a0, f"{degree + 1} coefficients for {n_train} points:\nthe fit is not unique", kind="info")
    return fig


# ---------------------------------------------------------------- checks
def _design(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n, p = int(rng.integers(8, 40)), int(rng.integers(1, 6))
    X = with_bias(rng.standard_normal((n, p - 1))) if rng.uniform() < 0.7 else rng.standard_normal((n, p))
    return X, rng.standard_normal(n)


def check_normal_equations(fn: Callable) -> checks.CheckResult:
    """Check ``fn(X, y) -> theta`` (shape ``(p,)``), the least-squares solution, on random full-rank ``X``."""
    return checks.check_function(fn, normal_equations, _design, name="least_squares", trials=6, rtol=1e-6)


def check_least_squares_gradient(fn: Callable) -> checks.CheckResult:
    """Check ``fn(theta, X, y) -> grad`` of ``(1/n)||X theta - y||^2`` (shape ``(p,)``)."""
    def make(rng):
        X, y = _design(rng)
        return rng.standard_normal(X.shape[1]), X, y

    return checks.check_function(fn, lambda t, X, y: least_squares_gradient(t, X, y), make,
                                 name="least_squares_gradient", trials=6, rtol=1e-8)


def check_polynomial_features(fn: Callable) -> checks.CheckResult:
    """Check ``fn(x, degree) -> (n, degree + 1)`` monomials, including degree 0 and 1."""
    degrees = iter([0, 1, 2, 3, 5, 8])

    def make(rng):
        return rng.uniform(-1.5, 1.5, int(rng.integers(1, 30))), next(degrees)

    return checks.check_function(fn, polynomial_features, make, name="polynomial_features", trials=6)


def check_fold_mse(fn: Callable) -> checks.CheckResult:
    """Check ``fn(X, y, lam, k, fold) -> float``: one fold of k-fold CV with ``regression.ridge_fit``."""
    def make(rng):
        n = int(rng.integers(10, 40))
        k = int(rng.integers(2, 6))
        X = polynomial_features(rng.uniform(-1, 1, n), int(rng.integers(1, 4)))
        return X, rng.standard_normal(n), float(10.0 ** rng.uniform(-3, 1)), k, int(rng.integers(0, k))

    return checks.check_function(fn, lambda X, y, lam, k, fold: fold_mse(X, y, lam, k, fold), make,
                                 name="fold_mse", trials=8, rtol=1e-6)


def _answer_and_hint(fn: Callable, diagnose: Callable[[float], str]):
    """``(answer, exception, hint)`` for a predict or derive exercise whose ``fn()`` returns one number.

    The check itself then calls ``checks.check_function`` (which words a stub or an
    exception) or ``checks.check_value`` (with the hint), so that the verdict is given,
    and remembered, by the chapter's ``check_*`` function.
    """
    try:
        got = fn() if callable(fn) else fn
    except Exception as exc:  # NotImplementedError or the student's bug
        return None, exc, None
    try:
        return got, None, diagnose(float(got))
    except (TypeError, ValueError):
        return got, None, None


def check_growth_prediction(fn: Callable, study: dict[str, np.ndarray]) -> checks.CheckResult:
    """Predict-then-run: ``fn() -> a``, the exponent in QR's ``error ~ kappa^a`` on the study with a large residual.

    Compared with :func:`error_growth` of ``study`` (tolerance 0.35).
    """
    measured = error_growth(study, "qr")

    def diagnose(a):
        if abs(a - 1) < 0.35:
            return (f"a = 1 holds only for a small residual; here the residual is as large as the signal and QR's "
                    f"error grows like kappa^{measured:.2f}: the problem itself is that sensitive, for any method")
        return f"the measured exponent is {measured:.2f}: QR's error grew 10^{measured:.1f}x for each 10x in kappa"

    got, exc, hint = _answer_and_hint(fn, diagnose)
    if exc is not None:
        return checks.check_function(fn, lambda: measured, lambda rng: (), name="predicted exponent", trials=1)
    return checks.check_value(got, measured, name="predicted exponent", rtol=0.0, atol=0.35, hint=hint)


#: The design matrix of the derive-then-check exercise: rows (1, x) for x = 0, 1, 2.
DERIVE_X = with_bias(np.array([0.0, 1.0, 2.0]))


def check_max_learning_rate(fn: Callable) -> checks.CheckResult:
    """Derive-then-check: ``fn() -> eta``, the largest stable rate ``2 / lambda_max`` of the MSE Hessian of :data:`DERIVE_X`.

    A wrong answer is diagnosed (Hessian without ``2/n``, ``1/lambda``, smallest
    eigenvalue) and full-batch GD is run just below and just above it, so the
    message says what that rate does.
    """
    X, n = DERIVE_X, len(DERIVE_X)
    exact = max_stable_lr(X)  # = 3 / (4 + sqrt(10))
    lam_xtx = np.linalg.eigvalsh(X.T @ X)
    wrong = {2 / lam_xtx[-1]: "you used X^T X; the Hessian of the mean squared error is (2/n) X^T X",
             1 / lam_xtx[-1]: "that is 1 / lambda_max(X^T X): the Hessian is (2/n) X^T X and the bound is 2 / lambda_max",
             exact / 2: "that is 1 / lambda_max; gradient descent on a quadratic is stable up to 2 / lambda_max",
             2 / (2 / n * lam_xtx[0]): "that uses the smallest eigenvalue; the largest one limits the step"}
    y = np.array([1.0, 0.0, 2.0])

    def diagnose(eta):
        for value, why in wrong.items():
            if np.isclose(eta, value, rtol=1e-3):
                return why
        if not np.isfinite(eta) or eta <= 0:
            return "a learning rate is a positive number"
        runs = {f: gd_fit(X, y, f * eta, 400) for f in (0.98, 1.02)}
        below = "converges" if not runs[0.98].diverged and runs[0.98].losses[-1] < runs[0.98].losses[0] else "diverges"
        above = "diverges" if runs[1.02].diverged or runs[1.02].losses[-1] > runs[1.02].losses[0] else "converges"
        return (f"gradient descent {below} at 0.98x your rate and {above} at 1.02x it; at the true threshold it "
                "converges just below and diverges just above")

    got, exc, hint = _answer_and_hint(fn, diagnose)
    if exc is not None:
        return checks.check_function(fn, lambda: exact, lambda rng: (), name="largest stable learning rate", trials=1)
    return checks.check_value(got, exact, name="largest stable learning rate", rtol=1e-4, atol=0.0, hint=hint)


def _ridge_problem(rng: np.random.Generator):
    n, d = int(rng.integers(8, 40)), int(rng.integers(1, 5))
    X = with_bias(rng.standard_normal((n, d)) + rng.uniform(-3, 3, d))   # off-centre features: the bias matters
    return X, rng.standard_normal(n) + rng.uniform(-5, 5), float(10 ** rng.uniform(-1, 2))


def check_ridge(fn: Callable) -> checks.CheckResult:
    """Debug-this: ``fn(X, y, lam) -> theta`` must be ridge regression *without* a penalty on the bias ``theta[0]``.

    When the answer still penalises the bias, the message says so.
    """
    X, y, lam = _ridge_problem(np.random.default_rng(12345))
    try:
        got = np.asarray(fn(X.copy(), y.copy(), lam), dtype=np.float64)
        if got.shape == (X.shape[1],) and np.allclose(got, ridge_closed_form(X, y, lam, penalize_bias=True), rtol=1e-6):
            return checks.check_value(got, ridge_closed_form(X, y, lam), name="ridge",
                                      hint="your fit still penalises the bias: M[0, 0] must be 0, so that "
                                           "shifting every target by c shifts the fit by exactly c")
    except Exception:  # the stub or the student's bug: check_function reports it below
        pass
    return checks.check_function(fn, lambda X, y, lam: ridge_closed_form(X, y, lam), _ridge_problem,
                                 name="ridge", trials=6, rtol=1e-6)
