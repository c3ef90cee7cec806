"""Generalised linear models from scratch: linear function + transfer + negative log-likelihood (chapter 04).

Contract
--------
- A GLM (:data:`GLMS`) works on one parameter vector ``w (d,)`` and a design
  matrix ``X (n, d)`` whose first column is the constant 1 (:func:`add_intercept`),
  so ``w[0]`` is the intercept. Three models, each with its canonical link:
  linear/Gaussian (identity), logistic/Bernoulli (logit) and Poisson (log).
- Their mean losses share one gradient, ``Xᵀ(t(Xw) − y) / n`` with ``t`` the
  transfer (inverse link), and one Hessian, ``Xᵀ diag(t'(Xw)) X / n``
  (:func:`glm_loss_grad`, :func:`glm_hessian`).
- :func:`glm_fit` minimises it by gradient descent or Newton's method and returns
  a :class:`GLMResult` with the history; a run whose loss blows up
  (``base.blew_up``) or ends above its start is reported in ``.diverged`` and
  ``.message``, never raised.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..base import blew_up, check_learning_rate, divergence_message
from .layers import sigmoid


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
    message: str

    @property
    def w(self) -> np.ndarray:
        return self.weights[-1]

    def __repr__(self) -> str:
        return f"GLMResult({self.message})"


def glm_fit(kind: str, X: np.ndarray, y: np.ndarray, method: str = "newton", lr: float = 0.1,
            steps: int = 20, w0: np.ndarray | None = None, tol: float = 0.0) -> GLMResult:
    """Minimise the mean loss of GLM ``kind`` by gradient descent (``method="gd"``, step ``lr``) or Newton.

    Newton's step solves ``H Δ = ∇`` with :func:`glm_hessian`. Stops after ``steps``
    steps, or earlier once ``‖∇‖ < tol`` or the loss blows up (``base.blew_up``);
    ``diverged`` if it blew up or ends above its start.
    """
    if method not in ("gd", "newton"):
        raise ValueError(f"method must be 'gd' or 'newton', got {method!r}")
    if method == "gd":
        lr = check_learning_rate(lr)
    X = np.asarray(X, dtype=np.float64)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=np.float64)
    weights, losses, norms = [], [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(int(steps) + 1):
            loss, grad = glm_loss_grad(kind, w, X, y)
            weights.append(w.copy())
            losses.append(loss)
            norms.append(float(np.linalg.norm(grad)))
            if t == steps or blew_up(loss, losses[0]) or norms[-1] < tol:
                break
            step = grad if method == "gd" else np.linalg.solve(glm_hessian(kind, w, X), grad)
            w = w - (lr if method == "gd" else 1.0) * step
    losses = np.array(losses)
    steps_taken = len(losses) - 1
    diverged = bool(blew_up(losses[-1], losses[0]) or losses[-1] > losses[0])
    name = f"{kind} GLM, {'gradient descent' if method == 'gd' else 'Newton'}"
    if diverged:
        message = divergence_message(name, steps_taken, losses[-1],
                                     hint="lower the learning rate" if method == "gd" else "start closer")
    else:
        message = f"{name}: {steps_taken} steps, loss {losses[-1]:.6g}, ‖grad‖ = {norms[-1]:.2e}"
    return GLMResult(kind, method, np.array(weights), losses, np.array(norms), diverged, message)


def poisson_nll(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean Poisson negative log-likelihood ``mean(exp(Xw) − y·Xw)`` (dropping ``log y!``) and its gradient."""
    return glm_loss_grad("poisson", w, X, y)

