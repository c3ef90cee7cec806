"""From-scratch layers in NumPy, all with one contract (as in cs231n).

- ``<layer>_forward(x, *params) -> (out, cache)``: ``cache`` holds whatever
  the backward pass needs.
- ``<layer>_backward(dout, cache) -> grads``: ``dout = ∂L/∂out`` has the shape
  of ``out``; returns ``∂L/∂x`` (and ``∂L/∂param`` for each parameter, in the
  order of the forward arguments) as a tuple, or a single array for
  parameter-free layers.

Shapes: ``x`` is ``(n, d)`` (a batch of rows) unless a layer says otherwise.
Every layer is checked against ``torch.autograd`` in ``tests/test_layers.py`` and
against finite differences with ``gradcheck.check_layer``. Later chapters add
their layers here under the same contract.
"""
from __future__ import annotations

import numpy as np


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray):
    """``out = x @ w + b`` with ``x (n, d)``, ``w (d, m)``, ``b (m,)``."""
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(f"affine_forward: x {x.shape} and w {w.shape} do not fit (need (n, d) and (d, m))")
    if b.shape != (w.shape[1],):
        raise ValueError(f"affine_forward: b has shape {b.shape}, expected ({w.shape[1]},)")
    return x @ w + b, (x, w)


def affine_backward(dout: np.ndarray, cache):
    """Returns ``(dx, dw, db)``: ``dx = dout wᵀ``, ``dw = xᵀ dout``, ``db = Σ_rows dout``."""
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x: np.ndarray):
    """``max(0, x)`` elementwise."""
    return np.maximum(x, 0), x


def relu_backward(dout: np.ndarray, cache):
    """Gradient passes where the input was positive (we take 0 at exactly 0)."""
    return dout * (cache > 0)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function ``1 / (1 + e^{-z})``."""
    out = np.empty_like(z, dtype=np.result_type(z, np.float64))
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def sigmoid_forward(x: np.ndarray):
    """``σ(x)``; the cache is the output, since ``σ' = σ(1 − σ)``."""
    s = sigmoid(x)
    return s, s


def sigmoid_backward(dout: np.ndarray, cache):
    s = cache
    return dout * s * (1 - s)


def tanh_forward(x: np.ndarray):
    """``tanh(x)``; ``tanh' = 1 − tanh²``."""
    t = np.tanh(x)
    return t, t


def tanh_backward(dout: np.ndarray, cache):
    return dout * (1 - cache ** 2)


def mse_loss(pred: np.ndarray, target: np.ndarray):
    """Mean squared error ``mean((pred − target)²)`` and its gradient w.r.t. ``pred``."""
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: pred {pred.shape} and target {target.shape} differ")
    diff = pred - target
    return float(np.mean(diff ** 2)), 2 * diff / diff.size


def logsumexp(z: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``log Σ_j exp(z_j)`` along ``axis``, stable for any finite ``z``.

    Shifting by the maximum ``m`` leaves the value unchanged,
    ``log Σ e^{z_j} = m + log Σ e^{z_j − m}``, and every exponent is then ≤ 0,
    so nothing overflows (logits of ±1000 are fine).
    """
    m = np.max(z, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``z − logsumexp(z)`` along ``axis``: log-probabilities, stable."""
    return z - logsumexp(z, axis=axis, keepdims=True)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``exp(z_j) / Σ_k exp(z_k)`` along ``axis``, computed stably."""
    return np.exp(log_softmax(z, axis=axis))


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray):
    """Mean categorical cross-entropy of integer labels ``y (n,)`` under ``logits (n, C)``.

    Returns ``(loss, dlogits)`` with ``dlogits = (softmax(logits) − onehot(y)) / n``.
    """
    if logits.ndim != 2 or y.shape != (logits.shape[0],):
        raise ValueError(f"softmax_cross_entropy: logits {logits.shape} need shape (n, C) and y {y.shape} shape (n,)")
    n = logits.shape[0]
    logp = log_softmax(logits, axis=1)
    loss = -float(np.mean(logp[np.arange(n), y]))
    d = np.exp(logp)
    d[np.arange(n), y] -= 1
    return loss, d / n
