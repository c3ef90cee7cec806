"""Linear regression from scratch: least squares, ridge, gradient descent, the Gaussian MLE, k-fold CV (chapter 03).

Contract
--------
- A **design matrix** ``X`` has shape ``(n, p)`` and its **column 0 is the constant
  feature 1**, so ``theta[0]`` is the bias and ``X @ theta`` the prediction.
  :func:`with_bias` prepends that column to raw inputs; :func:`polynomial_features`
  produces it naturally as ``x**0``. Targets ``y`` have shape ``(n,)``; everything
  is float64.
- One objective everywhere, with one meaning of ``lam`` (lambda >= 0)::

      J(theta) = (1/n) * ( ||X theta - y||^2 + lam * ||m * theta||^2 )

  where the mask ``m`` is 1 for every weight and 0 for the bias unless
  ``penalize_bias=True``. ``lam = 0`` is ordinary least squares (the mean squared
  error); its minimiser is ``(X^T X + lam M)^-1 X^T y`` with ``M = diag(m)``, the
  ridge closed form. The ``1/n`` does not move the minimiser.
  :func:`least_squares_loss`, :func:`least_squares_gradient` and
  :func:`least_squares_hessian` are ``J`` and its derivatives as functions of
  ``theta`` (the model-level loss; ``losses.mse_loss(pred, target)`` is the same
  mean squared error as a function of the predictions).
- Solvers return a coefficient vector of shape ``(p,)``: :func:`normal_equations`
  (the textbook formula, squares the condition number), :func:`lstsq_qr` (via QR),
  :func:`ridge_closed_form` (the formula) and :func:`ridge_fit` (a numerically
  stable least-squares solve of the same problem, used by everything else).
- Iterative fits (:func:`gd_fit`, :func:`sgd_fit`) return a :class:`FitResult`
  with the loss after every epoch; divergence (``base.blew_up``) is reported in
  ``.diverged`` and ``.message``, never raised. Randomness (minibatch order, fold
  shuffling) comes only from an explicit ``rng = np.random.default_rng(seed)``;
  the minibatch loop is ``batches.minibatches``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..base import blew_up, check_learning_rate, divergence_message
from .batches import minibatches
from .losses import mse_loss


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
    """Mean squared error ``(1/n) sum_i (y_hat_i - y_i)^2``: the value of ``losses.mse_loss``."""
    return mse_loss(np.asarray(y_hat, dtype=np.float64), np.asarray(y, dtype=np.float64))[0]


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


def lstsq_svd(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares by ``np.linalg.lstsq`` (an SVD): the minimum-norm solution, also for rank-deficient ``X``."""
    return np.linalg.lstsq(np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64), rcond=None)[0]


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
def least_squares_loss(theta: np.ndarray, X: np.ndarray, y: np.ndarray, lam: float = 0.0,
                       penalize_bias: bool = False) -> float:
    """The objective ``J(theta) = (1/n)(||X theta - y||^2 + lam ||m * theta||^2)`` (see the module doc)."""
    theta = np.asarray(theta, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    r = X @ theta - np.asarray(y, dtype=np.float64)
    m = penalty_mask(len(theta), penalize_bias)
    return float((r @ r + lam * np.sum((m * theta) ** 2)) / len(X))


def least_squares_gradient(theta: np.ndarray, X: np.ndarray, y: np.ndarray, lam: float = 0.0,
                           penalize_bias: bool = False) -> np.ndarray:
    """Gradient of :func:`least_squares_loss`: ``(2/n)(X^T (X theta - y) + lam m * theta)``, shape ``(p,)``."""
    theta = np.asarray(theta, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    r = X @ theta - np.asarray(y, dtype=np.float64)
    m = penalty_mask(len(theta), penalize_bias)
    return 2.0 * (X.T @ r + lam * m * theta) / len(X)


def least_squares_hessian(X: np.ndarray, lam: float = 0.0, penalize_bias: bool = False) -> np.ndarray:
    """The (constant) Hessian of :func:`least_squares_loss`: ``(2/n)(X^T X + lam M)``."""
    X = np.asarray(X, dtype=np.float64)
    return 2.0 * (X.T @ X + lam * np.diag(penalty_mask(X.shape[1], penalize_bias))) / len(X)


def max_stable_lr(X: np.ndarray, lam: float = 0.0, penalize_bias: bool = False) -> float:
    """``2 / lambda_max`` of :func:`least_squares_hessian`: full-batch GD converges for ``0 < lr`` below it."""
    return float(2.0 / np.linalg.eigvalsh(least_squares_hessian(X, lam, penalize_bias))[-1])


# ------------------------------------------------------------ GD and SGD
@dataclass
class FitResult:
    """What :func:`gd_fit` / :func:`sgd_fit` did: ``losses[e]`` is ``J`` after epoch ``e`` (0 = start)."""

    theta: np.ndarray
    losses: np.ndarray
    diverged: bool
    method: str
    message: str

    def __repr__(self) -> str:
        return f"FitResult({self.message})"


def _finish(theta: np.ndarray, losses: list[float], diverged: bool, method: str) -> FitResult:
    losses = np.array(losses)
    epochs = len(losses) - 1
    if diverged:
        message = divergence_message(method, epochs, losses[-1], hint="lower the learning rate")
    else:
        message = f"{method}: loss {losses[0]:.4g} -> {losses[-1]:.6g} in {epochs} epochs"
    return FitResult(theta, losses, diverged, method, message)


def _start(theta0, p: int) -> np.ndarray:
    return np.zeros(p) if theta0 is None else np.array(theta0, dtype=np.float64)


def gd_fit(X: np.ndarray, y: np.ndarray, lr: float, epochs: int, lam: float = 0.0,
           penalize_bias: bool = False, theta0: np.ndarray | None = None) -> FitResult:
    """Full-batch gradient descent on :func:`least_squares_loss`: ``theta -= lr * grad`` once per epoch (from 0)."""
    lr = check_learning_rate(lr)
    X = np.asarray(X, dtype=np.float64)
    theta = _start(theta0, X.shape[1])
    losses = [least_squares_loss(theta, X, y, lam, penalize_bias)]
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(epochs)):
            theta = theta - lr * least_squares_gradient(theta, X, y, lam, penalize_bias)
            losses.append(least_squares_loss(theta, X, y, lam, penalize_bias))
            if blew_up(losses[-1], losses[0]):
                diverged = True
                break
    return _finish(theta, losses, diverged, "batch GD")


def sgd_fit(X: np.ndarray, y: np.ndarray, lr: float, epochs: int, batch_size: int,
            rng: np.random.Generator, lam: float = 0.0, penalize_bias: bool = False,
            decay: float = 0.0, theta0: np.ndarray | None = None) -> FitResult:
    """Minibatch SGD on :func:`least_squares_loss`.

    Each epoch shuffles the rows with ``rng`` and steps through consecutive
    minibatches of ``batch_size`` (``batches.minibatches``; the last one may be
    smaller), using the gradient of ``J`` *on the minibatch* (its mean, with the
    penalty term unchanged). The rate in epoch ``e`` (0-based) is
    ``lr / (1 + decay * e)``: ``decay > 0`` shrinks the steps, so the noise of the
    minibatch gradients averages out and the iterates converge to the minimiser.
    """
    lr = check_learning_rate(lr)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    theta = _start(theta0, X.shape[1])
    losses = [least_squares_loss(theta, X, y, lam, penalize_bias)]
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for e in range(int(epochs)):
            step = lr / (1.0 + decay * e)
            for idx in minibatches(len(X), batch_size, rng):
                theta = theta - step * least_squares_gradient(theta, X[idx], y[idx], lam, penalize_bias)
            losses.append(least_squares_loss(theta, X, y, lam, penalize_bias))
            if blew_up(losses[-1], losses[0]):
                diverged = True
                break
    return _finish(theta, losses, diverged, f"minibatch SGD (batch {batch_size})")


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


# ------------------------------------------------------- cross-validation
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
