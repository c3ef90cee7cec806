"""Chapter 03: linear regression, from the normal equations to ridge and cross-validation.

Contract
--------
- A **design matrix** ``X`` has shape ``(n, p)`` and its **column 0 is the constant
  feature 1**, so ``theta[0]`` is the bias and ``X @ theta`` the prediction.
  :func:`with_bias` prepends that column to raw inputs; :func:`polynomial_features`
  produces it naturally as ``x**0``. (Chapter 02's ``linear.augment`` *appends* the
  ones; here the bias comes first, like the lecture notes' ``theta_0``.) Targets
  ``y`` have shape ``(n,)``; everything is float64.
- One objective everywhere, with one meaning of ``lam`` (lambda >= 0)::

      J(theta) = (1/n) * ( ||X theta - y||^2 + lam * ||m * theta||^2 )

  where the mask ``m`` is 1 for every weight and 0 for the bias unless
  ``penalize_bias=True``. ``lam = 0`` is ordinary least squares (the mean squared
  error); its minimiser is ``(X^T X + lam M)^-1 X^T y`` with ``M = diag(m)``, the
  ridge closed form. The ``1/n`` does not move the minimiser.
- Solvers return a coefficient vector of shape ``(p,)``: :func:`normal_equations`
  (the textbook formula, squares the condition number), :func:`lstsq_qr` (via QR),
  :func:`ridge_closed_form` (the formula) and :func:`ridge_fit` (a numerically
  stable least-squares solve of the same problem, used by everything else).
- Iterative fits (:func:`gd_fit`, :func:`sgd_fit`) return a :class:`FitResult`
  with the loss after every epoch; divergence is reported in ``.diverged`` and
  ``.message``, never raised. Randomness (minibatch order, fold shuffling) comes
  only from an explicit ``rng = np.random.default_rng(seed)``.
- Drawing functions return a Matplotlib ``Axes`` (``plot_*``) or ``Figure``
  (``draw_*``); the widget function :func:`draw_polynomial_fit` never raises:
  bad settings become a message drawn with ``plotting.show_message``.
- Exercise checks (``check_*``) are thin wrappers over
  :func:`course_utils.checks.check_function` on fresh random inputs.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from . import checks
from .plotting import COLORS, message_figure, show_message

__all__ = [
    "target_function", "make_curve", "CurveData", "curve_data", "make_linear_data",
    "with_bias", "polynomial_features", "mse", "normal_equations", "lstsq_qr",
    "penalty_mask", "ridge_closed_form", "ridge_fit", "fit_polynomial", "predict_polynomial",
    "mse_loss", "mse_gradient", "hessian", "max_stable_lr", "FitResult", "gd_fit", "sgd_fit",
    "gaussian_nll", "gaussian_nll_grad", "gaussian_mle", "maximize_likelihood_torch",
    "conditioning_study", "degree_curve", "kfold_indices", "fold_mse", "kfold_cv",
    "plot_data", "plot_nll_profile", "plot_conditioning", "plot_degree_curve", "plot_cv_curve", "plot_fits",
    "LOG10_LAM_ZERO", "draw_polynomial_fit",
    "check_normal_equations", "check_mse_gradient", "check_polynomial_features", "check_fold_mse",
]

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


# ---------------------------------------------------------------- features
def with_bias(X: np.ndarray) -> np.ndarray:
    """Prepend the constant feature: ``(n, d) -> (n, d + 1)`` with column 0 all ones."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    return np.hstack([np.ones((len(X), 1)), X])


def polynomial_features(x: np.ndarray, degree: int) -> np.ndarray:
    """Monomials of a 1-D input: row ``i`` is ``(1, x_i, x_i^2, ..., x_i^degree)``, shape ``(n, degree + 1)``."""
    x = np.asarray(x, dtype=np.float64).ravel()
    if degree < 0 or int(degree) != degree:
        raise ValueError(f"degree must be an integer >= 0, got {degree}")
    return x[:, None] ** np.arange(int(degree) + 1)


def mse(y_hat: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error ``(1/n) sum_i (y_hat_i - y_i)^2``."""
    return float(np.mean((np.asarray(y_hat, dtype=np.float64) - np.asarray(y, dtype=np.float64)) ** 2))


# ------------------------------------------------------------------ solvers
def normal_equations(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares by solving ``(X^T X) theta = X^T y`` (never by inverting ``X^T X``).

    Forming ``X^T X`` squares the condition number of the problem: fine for
    well-conditioned ``X``, inaccurate for nearly collinear columns.
    """
    X = np.asarray(X, dtype=np.float64)
    return np.linalg.solve(X.T @ X, X.T @ np.asarray(y, dtype=np.float64))


def lstsq_qr(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares through the thin QR factorisation ``X = QR``: solve ``R theta = Q^T y``.

    ``Q`` has orthonormal columns, so ``||X theta - y||`` splits into a part
    ``R theta - Q^T y`` we can make zero and a part we cannot; ``R`` has the
    condition number of ``X``, not its square. Needs ``n >= p`` and full column rank.
    """
    X = np.asarray(X, dtype=np.float64)
    Q, R = np.linalg.qr(X)
    return np.linalg.solve(R, Q.T @ np.asarray(y, dtype=np.float64))  # R is upper triangular


def penalty_mask(p: int, penalize_bias: bool = False) -> np.ndarray:
    """The mask ``m`` of the module contract: ones, except ``m[0] = 0`` unless ``penalize_bias``."""
    m = np.ones(p)
    if not penalize_bias:
        m[0] = 0.0
    return m


def _check_lam(lam: float) -> float:
    lam = float(lam)
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"the penalty lambda must be a number >= 0, got {lam}")
    return lam


def ridge_closed_form(X: np.ndarray, y: np.ndarray, lam: float, penalize_bias: bool = False) -> np.ndarray:
    """Ridge regression by its formula ``(X^T X + lam M)^-1 X^T y`` with ``M = diag(penalty_mask)``."""
    X = np.asarray(X, dtype=np.float64)
    lam = _check_lam(lam)
    A = X.T @ X + lam * np.diag(penalty_mask(X.shape[1], penalize_bias))
    return np.linalg.solve(A, X.T @ np.asarray(y, dtype=np.float64))


def ridge_fit(X: np.ndarray, y: np.ndarray, lam: float = 0.0, penalize_bias: bool = False) -> np.ndarray:
    """The ridge solution computed stably: least squares on ``X`` stacked over ``sqrt(lam) M``.

    ``||X theta - y||^2 + lam ||m * theta||^2`` is the squared residual of the
    taller system ``[X; sqrt(lam) M] theta = [y; 0]``, which ``np.linalg.lstsq``
    (an SVD) solves without forming ``X^T X``. With ``lam = 0`` this is plain
    least squares (the minimum-norm solution if ``X`` lacks full column rank).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    lam = _check_lam(lam)
    p = X.shape[1]
    if lam > 0:
        X = np.vstack([X, np.sqrt(lam) * np.diag(penalty_mask(p, penalize_bias))])
        y = np.concatenate([y, np.zeros(p)])
    return np.linalg.lstsq(X, y, rcond=None)[0]


def fit_polynomial(x: np.ndarray, y: np.ndarray, degree: int, lam: float = 0.0,
                   penalize_bias: bool = False) -> np.ndarray:
    """Coefficients ``(c_0, ..., c_degree)`` of the (ridge) least-squares polynomial through ``(x, y)``."""
    return ridge_fit(polynomial_features(x, degree), y, lam, penalize_bias)


def predict_polynomial(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Evaluate ``sum_j coef[j] x^j`` at every ``x``."""
    coef = np.asarray(coef, dtype=np.float64)
    return polynomial_features(x, len(coef) - 1) @ coef


# ----------------------------------------------------- loss and gradient
def mse_loss(theta: np.ndarray, X: np.ndarray, y: np.ndarray, lam: float = 0.0,
             penalize_bias: bool = False) -> float:
    """The objective ``J(theta) = (1/n)(||X theta - y||^2 + lam ||m * theta||^2)`` (see the module doc)."""
    theta = np.asarray(theta, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    r = X @ theta - np.asarray(y, dtype=np.float64)
    m = penalty_mask(len(theta), penalize_bias)
    return float((r @ r + lam * np.sum((m * theta) ** 2)) / len(X))


def mse_gradient(theta: np.ndarray, X: np.ndarray, y: np.ndarray, lam: float = 0.0,
                 penalize_bias: bool = False) -> np.ndarray:
    """Gradient of :func:`mse_loss`: ``(2/n)(X^T (X theta - y) + lam m * theta)``, shape ``(p,)``."""
    theta = np.asarray(theta, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    r = X @ theta - np.asarray(y, dtype=np.float64)
    m = penalty_mask(len(theta), penalize_bias)
    return 2.0 * (X.T @ r + lam * m * theta) / len(X)


def hessian(X: np.ndarray, lam: float = 0.0, penalize_bias: bool = False) -> np.ndarray:
    """The (constant) Hessian of :func:`mse_loss`: ``(2/n)(X^T X + lam M)``."""
    X = np.asarray(X, dtype=np.float64)
    return 2.0 * (X.T @ X + lam * np.diag(penalty_mask(X.shape[1], penalize_bias))) / len(X)


def max_stable_lr(X: np.ndarray, lam: float = 0.0, penalize_bias: bool = False) -> float:
    """``2 / lambda_max`` of :func:`hessian`: full-batch GD converges for ``0 < lr`` below it."""
    return float(2.0 / np.linalg.eigvalsh(hessian(X, lam, penalize_bias))[-1])


@dataclass
class FitResult:
    """What :func:`gd_fit` / :func:`sgd_fit` did: ``losses[e]`` is ``J`` after epoch ``e`` (0 = start)."""

    theta: np.ndarray
    losses: np.ndarray
    diverged: bool
    method: str

    @property
    def message(self) -> str:
        epochs = len(self.losses) - 1
        if self.diverged:
            return (f"{self.method} diverged: the loss blew up to {self.losses[-1]:.3g} after {epochs} "
                    "epochs; lower the learning rate")
        return f"{self.method}: loss {self.losses[0]:.4g} -> {self.losses[-1]:.6g} in {epochs} epochs"

    def __repr__(self) -> str:
        return f"FitResult({self.message})"


def _start(theta0, p: int, lr: float) -> np.ndarray:
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"the learning rate must be a positive number, got {lr}")
    return np.zeros(p) if theta0 is None else np.array(theta0, dtype=np.float64)


def _blew_up(loss: float, first: float, factor: float = 1e8) -> bool:
    return not np.isfinite(loss) or loss > factor * max(first, 1.0)


def gd_fit(X: np.ndarray, y: np.ndarray, lr: float, epochs: int, lam: float = 0.0,
           penalize_bias: bool = False, theta0: np.ndarray | None = None) -> FitResult:
    """Full-batch gradient descent on :func:`mse_loss`: ``theta -= lr * grad`` once per epoch (from 0)."""
    X = np.asarray(X, dtype=np.float64)
    theta = _start(theta0, X.shape[1], lr)
    losses = [mse_loss(theta, X, y, lam, penalize_bias)]
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(epochs)):
            theta = theta - lr * mse_gradient(theta, X, y, lam, penalize_bias)
            losses.append(mse_loss(theta, X, y, lam, penalize_bias))
            if _blew_up(losses[-1], losses[0]):
                diverged = True
                break
    return FitResult(theta, np.array(losses), diverged, "batch GD")


def sgd_fit(X: np.ndarray, y: np.ndarray, lr: float, epochs: int, batch_size: int,
            rng: np.random.Generator, lam: float = 0.0, penalize_bias: bool = False,
            decay: float = 0.0, theta0: np.ndarray | None = None) -> FitResult:
    """Minibatch SGD on :func:`mse_loss`.

    Each epoch shuffles the rows with ``rng`` and steps through consecutive
    minibatches of ``batch_size`` (the last one may be smaller), using the
    gradient of ``J`` *on the minibatch* (its mean, with the penalty term
    unchanged). The rate in epoch ``e`` (0-based) is ``lr / (1 + decay * e)``:
    ``decay > 0`` shrinks the steps, so the noise of the minibatch gradients
    averages out and the iterates converge to the minimiser.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    theta = _start(theta0, X.shape[1], lr)
    n = len(X)
    losses = [mse_loss(theta, X, y, lam, penalize_bias)]
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for e in range(int(epochs)):
            step = lr / (1.0 + decay * e)
            order = rng.permutation(n)
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                theta = theta - step * mse_gradient(theta, X[idx], y[idx], lam, penalize_bias)
            losses.append(mse_loss(theta, X, y, lam, penalize_bias))
            if _blew_up(losses[-1], losses[0]):
                diverged = True
                break
    return FitResult(theta, np.array(losses), diverged, f"minibatch SGD (batch {batch_size})")


# --------------------------------------------------------- Gaussian MLE
def gaussian_nll(theta: np.ndarray, log_sigma: float, X: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of ``y_i ~ N(x_i . theta, sigma^2)``, independent:

    ``(1/n) sum_i [ 1/2 log(2 pi sigma^2) + (y_i - x_i . theta)^2 / (2 sigma^2) ]``.
    ``sigma`` enters as ``log_sigma`` so that any real number is allowed.
    """
    r = np.asarray(y, dtype=np.float64) - np.asarray(X, dtype=np.float64) @ np.asarray(theta, dtype=np.float64)
    var = np.exp(2.0 * log_sigma)
    return float(0.5 * np.log(2 * np.pi) + log_sigma + np.mean(r ** 2) / (2.0 * var))


def gaussian_nll_grad(theta: np.ndarray, log_sigma: float, X: np.ndarray,
                      y: np.ndarray) -> tuple[np.ndarray, float]:
    """Gradient of :func:`gaussian_nll`: ``(-(1/(n sigma^2)) X^T r, 1 - mean(r^2) / sigma^2)`` with ``r = y - X theta``."""
    X = np.asarray(X, dtype=np.float64)
    r = np.asarray(y, dtype=np.float64) - X @ np.asarray(theta, dtype=np.float64)
    var = np.exp(2.0 * log_sigma)
    return -(X.T @ r) / (len(X) * var), float(1.0 - np.mean(r ** 2) / var)


def gaussian_mle(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Closed-form maximum-likelihood estimates: ``theta`` = least squares, ``sigma^2 = RSS / n``."""
    theta = ridge_fit(X, y)
    r = np.asarray(y, dtype=np.float64) - np.asarray(X, dtype=np.float64) @ theta
    return theta, float(np.mean(r ** 2))


def maximize_likelihood_torch(X: np.ndarray, y: np.ndarray, max_iter: int = 50) -> tuple[np.ndarray, float]:
    """Maximise the Gaussian log-likelihood *numerically* with ``torch.optim.LBFGS`` (float64).

    The likelihood comes from ``torch.distributions.Normal(X theta, sigma).log_prob``,
    an implementation independent of :func:`gaussian_nll`; the optimiser starts
    from ``theta = 0, sigma = 1`` and knows nothing about least squares.
    Returns ``(theta, sigma^2)``.
    """
    import torch

    Xt, yt = torch.as_tensor(np.asarray(X, dtype=np.float64)), torch.as_tensor(np.asarray(y, dtype=np.float64))
    theta = torch.zeros(Xt.shape[1], dtype=torch.float64, requires_grad=True)
    log_sigma = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([theta, log_sigma], max_iter=max_iter, tolerance_grad=1e-10,
                            tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        nll = -torch.distributions.Normal(Xt @ theta, log_sigma.exp()).log_prob(yt).mean()
        nll.backward()
        return nll

    opt.step(closure)
    return theta.detach().numpy().copy(), float(torch.exp(2 * log_sigma).item())


# ------------------------------------------------------- conditioning
def conditioning_study(degrees: Sequence[int], n: int = 100) -> dict[str, np.ndarray]:
    """How the three solvers cope as polynomial features become nearly collinear.

    For each degree: ``X = polynomial_features(linspace(-1, 1, n), degree)`` and a
    noise-free target ``y = X @ ones``, so the exact answer is ``theta = 1``.
    Returns arrays over degrees: ``cond_X``, ``cond_XtX`` (both from the SVD) and
    the relative errors ``||theta_hat - 1|| / ||1||`` of ``normal``, ``qr`` and
    ``lstsq`` (``np.linalg.lstsq``).
    """
    x = np.linspace(-1.0, 1.0, n)
    out: dict[str, list] = {k: [] for k in ("cond_X", "cond_XtX", "normal", "qr", "lstsq")}
    for deg in degrees:
        X = polynomial_features(x, deg)
        truth = np.ones(deg + 1)
        y = X @ truth
        out["cond_X"].append(np.linalg.cond(X))
        out["cond_XtX"].append(np.linalg.cond(X.T @ X))
        for name, solve in (("normal", normal_equations), ("qr", lstsq_qr),
                            ("lstsq", lambda A, b: np.linalg.lstsq(A, b, rcond=None)[0])):
            try:
                est = solve(X, y)
                err = np.linalg.norm(est - truth) / np.linalg.norm(truth)
            except np.linalg.LinAlgError:  # X^T X singular to working precision
                err = np.inf
            out[name].append(err)
    res = {k: np.array(v, dtype=np.float64) for k, v in out.items()}
    res["degree"] = np.asarray(degrees, dtype=np.int64)
    return res


# --------------------------------------------- model complexity and CV
def degree_curve(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                 degrees: Sequence[int], lam: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation MSE of :func:`fit_polynomial` for each degree (arrays of ``len(degrees)``)."""
    train, val = [], []
    for deg in degrees:
        coef = fit_polynomial(x_train, y_train, deg, lam)
        train.append(mse(predict_polynomial(coef, x_train), y_train))
        val.append(mse(predict_polynomial(coef, x_val), y_val))
    return np.array(train), np.array(val)


def kfold_indices(n: int, k: int, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, val_idx)`` of fold ``fold`` of ``k`` over ``range(n)``, without shuffling.

    The folds are consecutive blocks; the first ``n % k`` of them hold one extra
    index (the convention of ``np.array_split`` and scikit-learn's ``KFold``).
    """
    if not 2 <= k <= n:
        raise ValueError(f"k-fold needs 2 <= k <= n, got k={k}, n={n}")
    if not 0 <= fold < k:
        raise ValueError(f"fold must be in 0..{k - 1}, got {fold}")
    blocks = np.array_split(np.arange(n), k)
    val = blocks[fold]
    train = np.concatenate([b for i, b in enumerate(blocks) if i != fold])
    return train, val


def fold_mse(X: np.ndarray, y: np.ndarray, lam: float, k: int, fold: int,
             penalize_bias: bool = False) -> float:
    """Validation MSE of fold ``fold``: :func:`ridge_fit` on the other folds, MSE on this one."""
    tr, va = kfold_indices(len(X), k, fold)
    theta = ridge_fit(X[tr], y[tr], lam, penalize_bias)
    return mse(X[va] @ theta, y[va])


def kfold_cv(X: np.ndarray, y: np.ndarray, lams: Sequence[float], k: int = 5,
             rng: np.random.Generator | None = None, penalize_bias: bool = False) -> np.ndarray:
    """k-fold cross-validation of ridge regression for every ``lam`` in ``lams``.

    The rows are shuffled once with ``rng`` (if given), so every ``lam`` sees the
    same folds. Returns the validation MSE of every fold, shape ``(len(lams), k)``;
    the CV estimate is its mean over axis 1.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if rng is not None:
        order = rng.permutation(len(X))
        X, y = X[order], y[order]
    return np.array([[fold_mse(X, y, lam, k, f, penalize_bias) for f in range(k)] for lam in lams])


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
    """k-fold CV error against ``lambda`` (log–log): each fold thin, their mean bold; ``scores`` from :func:`kfold_cv`."""
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


def draw_polynomial_fit(degree: int = 3, log10_lam: float = -6.0, seed: int = 0, n_train: int = 20,
                        n_val: int = 100, noise: float = NOISE, max_degree: int = 15):
    """Widget frame: a ridge polynomial fit (left) and the error curves over degree at this lambda (right).

    ``lam = 10 ** log10_lam``, except that ``log10_lam <= LOG10_LAM_ZERO`` (-10) means
    ``lam = 0``, plain least squares. The bias is not penalised. Never raises.
    """
    try:
        degree = int(round(float(degree)))
        log10_lam = float(log10_lam)
        if not np.isfinite(log10_lam):
            return message_figure(f"log10 λ = {log10_lam}: pick a finite number", kind="warning")
        if not 0 <= degree <= max_degree:
            return message_figure(f"degree {degree}: pick a degree between 0 and {max_degree}", kind="warning")
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
            show_message(a0, "the curve leaves the plot between the\ntraining points: overfitting",
                         kind="warning")
        elif degree + 1 > n_train:
            show_message(a0, f"{degree + 1} coefficients for {n_train} points:\nthe fit is not unique",
                         kind="info")
        return fig
    except Exception as exc:  # drawn, not raised: the student keeps a working widget
        plt.close("all")
        return message_figure(f"cannot draw degree={degree}, log10 λ={log10_lam}: {exc}")


# ---------------------------------------------------------------- checks
def _design(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n, p = int(rng.integers(8, 40)), int(rng.integers(1, 6))
    X = with_bias(rng.standard_normal((n, p - 1))) if rng.uniform() < 0.7 else rng.standard_normal((n, p))
    return X, rng.standard_normal(n)


def check_normal_equations(fn: Callable) -> checks.CheckResult:
    """Check ``fn(X, y) -> theta`` (shape ``(p,)``), the least-squares solution, on random full-rank ``X``."""
    return checks.check_function(fn, normal_equations, _design, name="least_squares", trials=6, rtol=1e-6)


def check_mse_gradient(fn: Callable) -> checks.CheckResult:
    """Check ``fn(theta, X, y) -> grad`` of ``(1/n)||X theta - y||^2`` (shape ``(p,)``)."""
    def make(rng):
        X, y = _design(rng)
        return rng.standard_normal(X.shape[1]), X, y

    return checks.check_function(fn, lambda t, X, y: mse_gradient(t, X, y), make, name="mse_gradient",
                                 trials=6, rtol=1e-8)


def check_polynomial_features(fn: Callable) -> checks.CheckResult:
    """Check ``fn(x, degree) -> (n, degree + 1)`` monomials, including degree 0 and 1."""
    degrees = iter([0, 1, 2, 3, 5, 8])

    def make(rng):
        return rng.uniform(-1.5, 1.5, int(rng.integers(1, 30))), next(degrees)

    return checks.check_function(fn, polynomial_features, make, name="polynomial_features", trials=6)


def check_fold_mse(fn: Callable) -> checks.CheckResult:
    """Check ``fn(X, y, lam, k, fold) -> float``: one fold of k-fold CV with :func:`ridge_fit`."""
    def make(rng):
        n = int(rng.integers(10, 40))
        k = int(rng.integers(2, 6))
        X = polynomial_features(rng.uniform(-1, 1, n), int(rng.integers(1, 4)))
        return X, rng.standard_normal(n), float(10.0 ** rng.uniform(-3, 1)), k, int(rng.integers(0, k))

    return checks.check_function(fn, lambda X, y, lam, k, fold: fold_mse(X, y, lam, k, fold), make,
                                 name="fold_mse", trials=8, rtol=1e-6)
