"""Probabilistic linear classifiers from scratch: logistic and softmax regression, the Gaussian generative model (chapter 04).

Contract
--------
- Inputs ``X`` have shape ``(n, d)`` (float64). Class labels are integers
  ``0 … C-1`` of shape ``(n,)``; binary labels are ``0``/``1``. Multi-label
  targets are a 0/1 matrix ``Y`` of shape ``(n, K)``, one column per label.
- Linear classifiers keep weights and bias apart: logistic regression has
  ``w (d,)`` (or ``W (d, K)`` for ``K`` independent sigmoids, multi-label) and ``b``
  (a number or ``(K,)``); softmax regression has ``W (d, C)`` and ``b (C,)``, with
  logits ``Z = X W + b`` computed by ``layers.affine_forward``.
- The losses are the shared ones: ``losses.sigmoid_bce`` and
  ``losses.softmax_cross_entropy`` (means, computed stably from logits). The
  model-level functions ``*_loss_grad`` return ``(loss, grad_w, grad_b)``.
- Training functions return a result dataclass with the whole history;
  :func:`logistic_train` reports a learning rate that makes the loss rise above
  its start (or blow up, ``base.blew_up``) in ``.diverged`` and ``.message``, and
  never raises for it. Minibatches come from ``batches.minibatches`` and an
  explicit ``rng``; accuracy is ``metrics.accuracy``.
- The generative model: two Gaussian classes sharing one covariance, with
  :func:`bayes_posterior` (Bayes' rule, the long way) and
  :func:`gaussian_posterior_weights` (the logistic form it reduces to).

Generalised linear models (Poisson regression, Newton's method) are in
:mod:`course_utils.scratch.glm`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base import blew_up, check_learning_rate, divergence_message, progress
from .batches import minibatches
from .layers import affine_backward, affine_forward
from .losses import sigmoid_bce, softmax_cross_entropy
from .metrics import accuracy


# ------------------------------------------------------------ binary: sigmoid + BCE
def logistic_loss_grad(w: np.ndarray, b, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray | float]:
    """Loss and gradients of logistic regression ``p = σ(X w + b)`` under ``losses.sigmoid_bce``.

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
class LogisticResult:
    """History of :func:`logistic_train`: ``weights[t]``, ``biases[t]``, ``losses[t]`` after step ``t`` (0 = start)."""

    weights: np.ndarray
    biases: np.ndarray
    losses: np.ndarray
    lr: float
    diverged: bool
    message: str

    @property
    def w(self) -> np.ndarray:
        return self.weights[-1]

    @property
    def b(self):
        return self.biases[-1]

    def __repr__(self) -> str:
        return f"LogisticResult({self.message})"


def logistic_train(X: np.ndarray, y: np.ndarray, lr: float = 0.5, epochs: int = 100,
                   w0: np.ndarray | None = None, b0=None) -> LogisticResult:
    """Full-batch gradient descent on :func:`logistic_loss_grad`, from zero unless ``w0``/``b0`` are given.

    ``y (n,)`` trains one sigmoid, ``Y (n, K)`` trains ``K`` independent ones. On a
    convex loss a good step size never raises the loss above its starting value; if
    it does, or the loss blows up (``base.blew_up``), ``diverged`` is set. Training
    runs all ``epochs`` steps either way, so a widget can show what happens.
    """
    lr = check_learning_rate(lr)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
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
    rose = losses > losses[0] * (1 + 1e-9) + 1e-12
    diverged = bool(any(blew_up(v, losses[0]) for v in losses) or np.any(rose))
    if diverged:
        worst = int(np.nanargmax(np.where(np.isfinite(losses), losses, np.inf)))
        message = divergence_message(f"gradient descent with η = {lr:g}", worst, losses[worst],
                                     hint=f"the loss rose above its start {losses[0]:.3g}; lower the learning rate")
    else:
        message = f"loss {losses[0]:.4g} -> {losses[-1]:.4g} in {len(losses) - 1} steps (η = {lr:g})"
    return LogisticResult(weights=np.array(weights), biases=np.array(biases), losses=losses, lr=lr,
                          diverged=diverged, message=message)


# ------------------------------------------------------ generative vs discriminative
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
    """What :func:`softmax_train` learned: final ``W``, ``b`` and per-epoch ``train_losses``/``val_accuracies``."""

    W: np.ndarray
    b: np.ndarray
    train_losses: np.ndarray
    val_accuracies: np.ndarray

    def __repr__(self) -> str:
        acc = f", val accuracy {self.val_accuracies[-1]:.3f}" if len(self.val_accuracies) else ""
        return f"SoftmaxResult({len(self.train_losses)} epochs, train loss {self.train_losses[-1]:.4f}{acc})"


def softmax_train(X: np.ndarray, y: np.ndarray, n_classes: int, lr: float = 0.1, epochs: int = 40,
                  batch_size: int = 32, rng: np.random.Generator | None = None, weight_decay: float = 0.0,
                  X_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
                  show_progress: bool = False) -> SoftmaxResult:
    """Softmax regression by minibatch SGD from ``W = 0, b = 0``.

    Each epoch shuffles the rows with ``rng`` (stored order if ``None``;
    ``batches.minibatches``) and takes one step ``θ ← θ − lr ∇`` per batch of
    ``batch_size`` rows (the last batch may be smaller). ``train_losses`` holds the
    mean of the batch losses of each epoch, ``val_accuracies`` the accuracy on
    ``(X_val, y_val)`` after each epoch (empty without them).
    """
    lr = check_learning_rate(lr)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    n, d = X.shape
    W, b = np.zeros((d, n_classes)), np.zeros(n_classes)
    losses, val_acc = [], []
    for _ in progress(range(int(epochs)), desc="softmax regression", unit="epoch", show=show_progress):
        total = 0.0
        for idx in minibatches(n, batch_size, rng):
            loss, dW, db = softmax_regression_loss_grad(W, b, X[idx], y[idx], weight_decay)
            W -= lr * dW
            b -= lr * db
            total += loss * len(idx)
        losses.append(total / n)
        if X_val is not None:
            val_acc.append(accuracy(np.asarray(X_val) @ W + b, y_val))
    return SoftmaxResult(W=W, b=b, train_losses=np.array(losses), val_accuracies=np.array(val_acc))
