"""Chapter 04: probabilistic linear classifiers and generalised linear models, in NumPy.

Contract
--------
- Inputs ``X`` have shape ``(n, d)`` (float64). Class labels are integers
  ``0 … C-1`` of shape ``(n,)``; binary labels are ``0``/``1``. Multi-label
  targets are a 0/1 matrix ``Y`` of shape ``(n, K)``, one column per label.
- Linear classifiers keep weights and bias apart: logistic regression has
  ``w (d,)`` (or ``W (d, K)`` for ``K`` independent sigmoids) and ``b`` (a number
  or ``(K,)``); softmax regression has ``W (d, C)`` and ``b (C,)``, with logits
  ``Z = X W + b`` as in ``layers.affine_forward``.
- Losses are *means* and come with their gradients: ``sigmoid_bce(logits, targets)``
  returns ``(loss, dlogits)`` like ``losses.softmax_cross_entropy``; the model-level
  functions ``*_loss_grad`` return ``(loss, grad_w, grad_b)``. Every loss is
  computed from logits in a numerically stable way (no ``log(0)``, no overflow).
- GLMs (:data:`GLMS`) work on one parameter vector ``w (d,)`` and a design matrix
  whose first column is the constant 1 (:func:`add_intercept`): linear/Gaussian,
  logistic/Bernoulli and Poisson with the canonical (log) link. All three share the
  gradient ``Xᵀ(t(Xw) − y)/n`` where ``t`` is the transfer (inverse link) function.
- Randomness comes only from an explicit ``rng = np.random.default_rng(seed)``.
- Training functions return a result object with the whole history; a learning
  rate that makes the loss blow up is reported in ``.diverged`` and ``.message``,
  not raised.
- Widget functions ``draw_*`` return a Matplotlib figure for every setting a
  student can reach and draw a message (``plotting.show_message``) for bad ones.
- Exercise checks ``check_*`` are thin wrappers over ``checks.check_function``.

The stable softmax, log-softmax, log-sum-exp and softmax cross-entropy live in
``course_utils.layers``; this module builds on them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from . import checks
from .data import standardize  # noqa: F401  (re-exported until chapter 04 imports data.standardize)
from .plotting import COLORS, grid_for, message_figure, scatter_classes, show_message
from .scratch.layers import affine_backward, affine_forward, logsumexp, sigmoid, softmax
from .scratch.losses import softmax_cross_entropy

__all__ = [
    "sigmoid_bce", "logistic_loss_grad", "bce_gradient", "logistic_max_lr", "GDResult", "logistic_train",
    "shared_gaussian_data", "gaussian_log_density", "bayes_posterior", "gaussian_posterior_weights",
    "fit_shared_gaussian", "one_hot", "standardize", "softmax_regression_loss_grad", "softmax_regression_grad",
    "softmax_predict", "SoftmaxResult", "softmax_train", "make_multilabel", "GLM", "GLMS", "add_intercept",
    "glm_loss_grad", "glm_hessian", "glm_fit", "GLMResult", "poisson_nll", "make_counts",
    "plot_sigmoid_and_bce", "plot_probability_map", "plot_templates", "plot_posterior_comparison", "plot_poisson_fit",
    "draw_temperature", "draw_logistic_training", "TEMPERATURE_LOGITS",
    "check_bce_gradient", "check_logsumexp", "check_softmax_gradient", "check_poisson_nll",
]


# ------------------------------------------------------------ binary: sigmoid + BCE
def sigmoid_bce(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean binary cross-entropy of 0/1 ``targets`` under ``σ(logits)``, and its gradient.

    Per entry ``L = −[t log σ(z) + (1 − t) log(1 − σ(z))] = log(1 + e^z) − t z``
    (computed as ``logaddexp(0, z) − t z``: stable for any ``z``). The mean runs over
    *all* entries, as in ``torch.nn.functional.binary_cross_entropy_with_logits``;
    ``dlogits = (σ(z) − t) / z.size``. Any shape: ``(n,)`` for one label, ``(n, K)``
    for ``K`` independent labels.
    """
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if z.shape != t.shape:
        raise ValueError(f"sigmoid_bce: logits {z.shape} and targets {t.shape} differ")
    loss = float(np.mean(np.logaddexp(0.0, z) - t * z))
    return loss, (sigmoid(z) - t) / z.size


def logistic_loss_grad(w: np.ndarray, b, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray | float]:
    """Loss and gradients of logistic regression ``p = σ(X w + b)`` under :func:`sigmoid_bce`.

    ``w (d,)`` with ``y (n,)`` (one label), or ``W (d, K)`` with ``Y (n, K)`` (``K``
    independent labels). Returns ``(loss, grad_w, grad_b)`` with
    ``grad_w = Xᵀ(σ(Z) − Y) / Z.size`` and ``grad_b`` the column sums of ``(σ(Z) − Y) / Z.size``.
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    z = X @ w + b
    loss, dz = sigmoid_bce(z, y)
    gb = float(dz.sum()) if dz.ndim == 1 else dz.sum(axis=0)
    return loss, X.T @ dz, gb


def bce_gradient(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Gradient ``(Xᵀ(σ(Xw + b) − y)/n, mean(σ(Xw + b) − y))`` of the mean BCE of one-label logistic regression."""
    _, gw, gb = logistic_loss_grad(w, b, X, y)
    return gw, gb


def logistic_max_lr(X: np.ndarray) -> float:
    """``2 / L`` with ``L = λ_max(X̃ᵀX̃) / (4n)``, ``X̃ = [X, 1]``: a bound on the curvature of the mean BCE.

    Since ``σ' ≤ 1/4`` the Hessian ``X̃ᵀ diag(σ') X̃ / n`` is at most ``L``; full-batch
    gradient descent with a rate below ``2 / L`` lowers the loss at every step.
    Above it there is no such guarantee (the bound is loose, so trouble starts later).
    """
    X = np.asarray(X, dtype=np.float64)
    Xt = np.hstack([X, np.ones((len(X), 1))])
    return float(2.0 / (np.linalg.eigvalsh(Xt.T @ Xt)[-1] / (4 * len(X))))


@dataclass
class GDResult:
    """History of :func:`logistic_train`: ``weights[t]``, ``biases[t]``, ``losses[t]`` after step ``t`` (0 = start)."""

    weights: np.ndarray
    biases: np.ndarray
    losses: np.ndarray
    lr: float
    diverged: bool

    @property
    def w(self) -> np.ndarray:
        return self.weights[-1]

    @property
    def b(self):
        return self.biases[-1]

    @property
    def message(self) -> str:
        if self.diverged:
            return (f"learning rate {self.lr:g} is too large: training diverged (the loss rose from "
                    f"{self.losses[0]:.3g} to {np.nanmax(self.losses):.3g} instead of falling)")
        return f"loss {self.losses[0]:.4g} -> {self.losses[-1]:.4g} in {len(self.losses) - 1} steps (η = {self.lr:g})"

    def __repr__(self) -> str:
        return f"GDResult({self.message})"


def logistic_train(X: np.ndarray, y: np.ndarray, lr: float = 0.5, epochs: int = 100,
                   w0: np.ndarray | None = None, b0=None) -> GDResult:
    """Full-batch gradient descent on :func:`logistic_loss_grad`, from zero unless ``w0``/``b0`` are given.

    ``y (n,)`` trains one sigmoid, ``Y (n, K)`` trains ``K`` independent ones. On a
    convex loss a good step size never raises the loss above its starting value; if
    it does (or the loss is not finite) ``diverged`` is set. Training runs all
    ``epochs`` steps either way, so a widget can show what happens.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"the learning rate must be a positive number, got {lr}")
    k_shape = y.shape[1:]
    w = np.zeros((X.shape[1],) + k_shape) if w0 is None else np.array(w0, dtype=np.float64)
    b = (np.zeros(k_shape) if k_shape else 0.0) if b0 is None else np.array(b0, dtype=np.float64)
    weights, biases, losses = [w.copy()], [np.copy(b)], []
    for _ in range(int(epochs)):
        loss, gw, gb = logistic_loss_grad(w, b, X, y)
        losses.append(loss)
        w = w - lr * gw
        b = b - lr * gb
        weights.append(w.copy())
        biases.append(np.copy(b))
    losses.append(logistic_loss_grad(w, b, X, y)[0])
    losses = np.array(losses)
    diverged = bool(not np.all(np.isfinite(losses)) or np.any(losses > losses[0] * (1 + 1e-9) + 1e-12))
    return GDResult(weights=np.array(weights), biases=np.array(biases), losses=losses, lr=float(lr),
                    diverged=diverged)


# ------------------------------------------------------ generative vs discriminative
def shared_gaussian_data(n: int, rng: np.random.Generator, mu0=(0.0, 0.0), mu1=(2.0, 1.0),
                         cov=((1.0, 0.5), (0.5, 1.5)), prior1: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` points: ``y ~ Bernoulli(prior1)``, then ``x | y ~ N(mu_y, cov)`` (one shared covariance)."""
    mu0, mu1, cov = (np.asarray(a, dtype=np.float64) for a in (mu0, mu1, cov))
    y = (rng.uniform(size=n) < prior1).astype(np.int64)
    L = np.linalg.cholesky(cov)
    X = np.where(y[:, None] == 1, mu1, mu0) + rng.standard_normal((n, len(mu0))) @ L.T
    return X, y


def gaussian_log_density(X: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """``log N(x; mu, cov)`` for each row of ``X``: shape ``(n,)``."""
    X, mu, cov = (np.asarray(a, dtype=np.float64) for a in (X, mu, cov))
    d = len(mu)
    L = np.linalg.cholesky(cov)
    r = np.linalg.solve(L, (X - mu).T)  # whitened residuals, (d, n)
    return -0.5 * np.sum(r ** 2, axis=0) - np.sum(np.log(np.diag(L))) - 0.5 * d * np.log(2 * np.pi)


def bayes_posterior(X: np.ndarray, mu0, mu1, cov, prior1: float) -> np.ndarray:
    """``p(y = 1 | x)`` by Bayes' rule from the two class densities and the prior (no shortcut)."""
    a0 = gaussian_log_density(X, np.asarray(mu0), np.asarray(cov)) + np.log(1 - prior1)
    a1 = gaussian_log_density(X, np.asarray(mu1), np.asarray(cov)) + np.log(prior1)
    return np.exp(a1 - np.logaddexp(a0, a1))


def gaussian_posterior_weights(mu0, mu1, cov, prior1: float) -> tuple[np.ndarray, float]:
    """``(w, b)`` with ``p(y = 1 | x) = σ(wᵀx + b)`` for Gaussian classes sharing ``cov``.

    ``w = Σ⁻¹(μ₁ − μ₀)``, ``b = −½ μ₁ᵀΣ⁻¹μ₁ + ½ μ₀ᵀΣ⁻¹μ₀ + log(π₁ / π₀)``.
    """
    mu0, mu1, cov = (np.asarray(a, dtype=np.float64) for a in (mu0, mu1, cov))
    w = np.linalg.solve(cov, mu1 - mu0)
    b = -0.5 * mu1 @ np.linalg.solve(cov, mu1) + 0.5 * mu0 @ np.linalg.solve(cov, mu0) + np.log(prior1 / (1 - prior1))
    return w, float(b)


def fit_shared_gaussian(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Maximum-likelihood ``(mu0, mu1, cov, prior1)``: class means, pooled covariance (divide by n), class-1 share."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    mu0, mu1 = X[y == 0].mean(axis=0), X[y == 1].mean(axis=0)
    R = X - np.where(y[:, None] == 1, mu1, mu0)
    return mu0, mu1, R.T @ R / len(X), float(np.mean(y == 1))


# ---------------------------------------------------------------- softmax regression
def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n,)`` integer labels -> ``(n, n_classes)`` float matrix with a single 1 per row."""
    y = np.asarray(y)
    if y.ndim != 1 or (y.size and (y.min() < 0 or y.max() >= n_classes)):
        raise ValueError(f"labels must be a 1-D array of integers in 0..{n_classes - 1}")
    out = np.zeros((len(y), n_classes))
    out[np.arange(len(y)), y] = 1.0
    return out


def softmax_regression_loss_grad(W: np.ndarray, b: np.ndarray, X: np.ndarray, y: np.ndarray,
                                 weight_decay: float = 0.0) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean categorical cross-entropy of ``softmax(X W + b)`` (+ ``weight_decay/2 ‖W‖²``) and its gradients.

    ``dW = Xᵀ(P − Y)/n + weight_decay · W`` and ``db = Σ_rows (P − Y)/n``, with
    ``P`` the predicted probabilities and ``Y`` the one-hot labels.
    """
    Z, cache = affine_forward(np.asarray(X, dtype=np.float64), np.asarray(W, dtype=np.float64),
                              np.asarray(b, dtype=np.float64))
    loss, dZ = softmax_cross_entropy(Z, np.asarray(y))
    _, dW, db = affine_backward(dZ, cache)
    if weight_decay:
        loss += 0.5 * weight_decay * float(np.sum(W ** 2))
        dW = dW + weight_decay * W
    return loss, dW, db


def softmax_regression_grad(W: np.ndarray, b: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(dW, db)`` of the mean cross-entropy of softmax regression (no weight decay)."""
    _, dW, db = softmax_regression_loss_grad(W, b, X, y)
    return dW, db


def softmax_predict(W: np.ndarray, b: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The most probable class of each row: ``argmax_c (X W + b)_c``."""
    return np.argmax(np.asarray(X) @ W + b, axis=1)


@dataclass
class SoftmaxResult:
    """What :func:`softmax_train` learned: final ``W``, ``b`` and per-epoch ``train_loss``/``val_acc``."""

    W: np.ndarray
    b: np.ndarray
    train_loss: np.ndarray
    val_acc: np.ndarray

    def __repr__(self) -> str:
        acc = f", val accuracy {self.val_acc[-1]:.3f}" if len(self.val_acc) else ""
        return f"SoftmaxResult({len(self.train_loss)} epochs, train loss {self.train_loss[-1]:.4f}{acc})"


def softmax_train(X: np.ndarray, y: np.ndarray, n_classes: int, lr: float = 0.1, epochs: int = 40,
                  batch_size: int = 32, rng: np.random.Generator | None = None, weight_decay: float = 0.0,
                  X_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
                  progress: bool = False) -> SoftmaxResult:
    """Softmax regression by minibatch SGD from ``W = 0, b = 0``.

    Each epoch shuffles the rows with ``rng`` (stored order if ``None``) and takes one
    step ``θ ← θ − lr ∇`` per batch of ``batch_size`` rows (the last batch may be
    smaller). ``train_loss`` is the mean of the batch losses of the epoch.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    n, d = X.shape
    W, b = np.zeros((d, n_classes)), np.zeros(n_classes)
    losses, val_acc = [], []
    epochs_iter = range(int(epochs))
    if progress:
        from tqdm.auto import tqdm

        epochs_iter = tqdm(epochs_iter, desc="softmax regression", unit="epoch", leave=False)
    for _ in epochs_iter:
        order = rng.permutation(n) if rng is not None else np.arange(n)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss, dW, db = softmax_regression_loss_grad(W, b, X[idx], y[idx], weight_decay)
            W -= lr * dW
            b -= lr * db
            total += loss * len(idx)
        losses.append(total / n)
        if X_val is not None:
            val_acc.append(float(np.mean(softmax_predict(W, b, X_val) == y_val)))
    return SoftmaxResult(W=W, b=b, train_loss=np.array(losses), val_acc=np.array(val_acc))


# -------------------------------------------------------------------- multi-label
def make_multilabel(n: int, rng: np.random.Generator, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """2-D points with three independent yes/no labels; returns ``X (n, 2)``, ``Y (n, 3)`` (0/1) and the label names.

    Labels: "right" (x₁ > 0), "top" (x₂ > 0) and "far" (x₁ + x₂ > 1), each decided on
    the point plus a little Gaussian noise, so an example can carry 0, 1, 2 or 3 labels.
    """
    X = rng.uniform(-2, 2, (n, 2))
    J = X[:, None, :] + noise * rng.standard_normal((n, 3, 2))  # independent jitter per label
    Y = np.stack([J[:, 0, 0] > 0, J[:, 1, 1] > 0, J[:, 2, 0] + J[:, 2, 1] > 1], axis=1).astype(np.float64)
    return X, Y, ["right", "top", "far"]


# -------------------------------------------------------------------------- GLMs
def _poisson_rate(z: np.ndarray) -> np.ndarray:
    return np.exp(np.minimum(z, 700.0))  # e^700 ~ 1e304: finite, so a bad step shows as a huge loss, not inf


@dataclass(frozen=True)
class GLM:
    """A generalised linear model: ``ŷ = transfer(z)`` with ``z = Xw``, trained on ``loss(z, y)`` per example.

    ``transfer`` is the inverse link; ``dtransfer`` its derivative (the Hessian weight).
    ``loss`` is the negative log-likelihood up to terms that do not depend on ``w``.
    """

    name: str
    distribution: str
    link: str
    transfer: Callable[[np.ndarray], np.ndarray]
    dtransfer: Callable[[np.ndarray], np.ndarray]
    loss: Callable[[np.ndarray, np.ndarray], np.ndarray]


GLMS: dict[str, GLM] = {
    "linear": GLM("linear", "Gaussian (σ = 1)", "identity", lambda z: z, np.ones_like,
                  lambda z, y: 0.5 * (z - y) ** 2),
    "logistic": GLM("logistic", "Bernoulli", "logit", sigmoid, lambda z: sigmoid(z) * (1 - sigmoid(z)),
                    lambda z, y: np.logaddexp(0.0, z) - y * z),
    "poisson": GLM("poisson", "Poisson", "log", _poisson_rate, _poisson_rate,
                   lambda z, y: _poisson_rate(z) - y * z),
}


def _glm(kind: str) -> GLM:
    if kind not in GLMS:
        raise ValueError(f"unknown GLM {kind!r}; choose one of {sorted(GLMS)}")
    return GLMS[kind]


def add_intercept(X: np.ndarray) -> np.ndarray:
    """Prepend a column of ones: ``(n, d) -> (n, d + 1)``; ``w[0]`` is then the intercept."""
    X = np.asarray(X, dtype=np.float64)
    return np.hstack([np.ones((len(X), 1)), X.reshape(len(X), -1)])


def glm_loss_grad(kind: str, w: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean loss of GLM ``kind`` and its gradient ``Xᵀ(transfer(Xw) − y) / n`` (the same form for all three)."""
    g = _glm(kind)
    X, w, y = (np.asarray(a, dtype=np.float64) for a in (X, w, y))
    z = X @ w
    return float(np.mean(g.loss(z, y))), X.T @ (g.transfer(z) - y) / len(y)


def glm_hessian(kind: str, w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Hessian ``Xᵀ diag(transfer'(Xw)) X / n`` of the mean loss (positive semi-definite: the loss is convex)."""
    g = _glm(kind)
    X = np.asarray(X, dtype=np.float64)
    s = g.dtransfer(X @ np.asarray(w, dtype=np.float64))
    return (X * s[:, None]).T @ X / len(X)


@dataclass
class GLMResult:
    """History of :func:`glm_fit`: ``weights[t]``, ``losses[t]``, ``grad_norms[t]`` after ``t`` steps."""

    kind: str
    method: str
    weights: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    diverged: bool

    @property
    def w(self) -> np.ndarray:
        return self.weights[-1]

    def __repr__(self) -> str:
        state = "diverged" if self.diverged else f"‖grad‖ = {self.grad_norms[-1]:.2e}"
        return (f"GLMResult({self.kind}, {self.method}: {len(self.losses) - 1} steps, "
                f"loss {self.losses[-1]:.6g}, {state})")


def glm_fit(kind: str, X: np.ndarray, y: np.ndarray, method: str = "newton", lr: float = 0.1,
            steps: int = 20, w0: np.ndarray | None = None, tol: float = 0.0) -> GLMResult:
    """Minimise the mean loss of GLM ``kind`` by gradient descent (``method="gd"``, step ``lr``) or Newton.

    Newton's step solves ``H Δ = ∇`` with :func:`glm_hessian`. Stops after ``steps``
    steps, or earlier once ``‖∇‖ < tol``; ``diverged`` if the loss is not finite or
    ends above its start.
    """
    if method not in ("gd", "newton"):
        raise ValueError(f"method must be 'gd' or 'newton', got {method!r}")
    X = np.asarray(X, dtype=np.float64)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=np.float64)
    weights, losses, norms = [], [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(int(steps) + 1):
            loss, grad = glm_loss_grad(kind, w, X, y)
            weights.append(w.copy())
            losses.append(loss)
            norms.append(float(np.linalg.norm(grad)))
            if t == steps or not np.isfinite(loss) or norms[-1] < tol:
                break
            step = grad if method == "gd" else np.linalg.solve(glm_hessian(kind, w, X), grad)
            w = w - (lr if method == "gd" else 1.0) * step
    losses = np.array(losses)
    diverged = bool(not np.all(np.isfinite(losses)) or losses[-1] > losses[0])
    return GLMResult(kind, method, np.array(weights), losses, np.array(norms), diverged)


def poisson_nll(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean Poisson negative log-likelihood ``mean(exp(Xw) − y·Xw)`` (dropping ``log y!``) and its gradient."""
    return glm_loss_grad("poisson", w, X, y)


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
    from .data import make_blobs

    X, y = make_blobs(n, np.random.default_rng(seed), centers=3, std=0.9, spread=2.0)
    res = softmax_train(X, y, 3, lr=0.2, epochs=60, batch_size=len(X))
    return X, y, res.W, res.b


def draw_temperature(temperature: float = 1.0, seed: int = 0):
    """Widget frame: ``softmax(z / T)`` as bars for fixed logits, and the confidence map of a 3-class model at ``T``.

    Left: probabilities of :data:`TEMPERATURE_LOGITS` divided by ``T`` (entropy in the
    title). Right: ``max_c p_c(x)`` of a softmax regression on 2-D blobs with its
    logits divided by ``T``: small ``T`` makes the boundaries sharp, large ``T`` blurs
    them. The predicted class never changes with ``T``. Never raises.
    """
    try:
        T = float(temperature)
        if not np.isfinite(T) or T <= 0:
            return message_figure(f"temperature {T:g}: it must be positive (T → 0 is the arg-max, "
                                  "T → ∞ the uniform distribution)", kind="warning")
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
    except Exception as exc:  # a widget shows problems, it does not raise
        plt.close("all")
        return message_figure(f"cannot draw this setting: {exc}")


@lru_cache(maxsize=32)
def _logistic_run(lr: float, epochs: int, n: int, seed: int):
    X, y = shared_gaussian_data(n, np.random.default_rng(seed), mu0=(-0.5, 0.5), mu1=(1.5, 1.5))
    return X, y, logistic_train(X, y, lr=lr, epochs=epochs)


def draw_logistic_training(epoch: int = 10, lr: float = 1.0, n: int = 200, seed: int = 0, max_epochs: int = 60):
    """Widget frame: logistic regression after ``epoch`` full-batch GD steps with rate ``lr``.

    Left: ``p(y = 1 | x)`` shading and the 0.5 boundary. Right: the loss per step
    (the whole run faint, up to ``epoch`` bold). A rate that makes the loss rise
    above its starting value gets a clear message. Never raises.
    """
    try:
        lr, epoch = float(lr), int(round(float(epoch)))
        if not np.isfinite(lr) or lr <= 0:
            return message_figure(f"learning rate {lr:g}: it must be positive", kind="warning")
        if epoch < 0:
            return message_figure(f"epoch {epoch}: pick an epoch >= 0", kind="warning")
        X, y, res = _logistic_run(lr, max(int(max_epochs), epoch), int(n), int(seed))
        w, b = res.weights[epoch], float(res.biases[epoch])
        fig, (a0, a1) = plt.subplots(1, 2, figsize=(10.5, 4.4), gridspec_kw=dict(width_ratios=[1.05, 1]),
                                     layout="none")
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.91, wspace=0.22)
        acc = float(np.mean((X @ w + b > 0) == (y == 1)))
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
    except Exception as exc:
        plt.close("all")
        return message_figure(f"cannot draw this setting: {exc}")


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
    n, c = int(rng.integers(1, 8)), int(rng.integers(2, 12))
    z = rng.standard_normal((n, c)) * rng.choice([1.0, 10.0])
    z[0] *= 1000.0 / max(np.max(np.abs(z[0])), 1e-12)  # one row of logits around ±1000
    return (z,)


def check_logsumexp(fn: Callable) -> checks.CheckResult:
    """Check ``fn(z) -> log Σ_j exp(z_ij)`` over the last axis (shape ``(n,)``), including logits of ±1000."""
    return checks.check_function(fn, lambda z: logsumexp(z, axis=-1), _logits, name="stable_logsumexp",
                                 trials=6, rtol=1e-9, atol=1e-9)


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
