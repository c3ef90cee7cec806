"""Layers in NumPy, all with one contract (as in cs231n).

- ``<layer>_forward(x, *params, **options) -> (out, cache)``: ``cache`` holds
  whatever the backward pass needs.
- ``<layer>_backward(dout, cache) -> grads``: ``dout = ∂L/∂out`` has the shape
  of ``out``; returns ``∂L/∂x`` for a layer without parameters, or the tuple
  ``(∂L/∂x, ∂L/∂param_1, …)`` in the order of the forward arguments.

Shapes: ``x`` is ``(n, d)`` (a batch of rows) unless a layer says otherwise.
The stable elementwise functions the layers are built from (``sigmoid``,
``logsumexp``, ``log_softmax``, ``softmax``) live here too.

Every layer is checked against finite differences and against its PyTorch twin
by one row of the table in ``tests/unit/scratch/test_layers.py``: a new layer
(convolution, pooling, normalisation, dropout, recurrent cells, attention) goes
into this module or a sibling module of its family, and into that table.
"""
from __future__ import annotations

from collections.abc import Callable

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


def leaky_relu_forward(x: np.ndarray, slope: float = 0.01):
    """``x`` where ``x > 0``, ``slope · x`` elsewhere (``slope`` fixed, typically 0.01)."""
    return np.where(x > 0, x, slope * x), (x, slope)


def leaky_relu_backward(dout: np.ndarray, cache):
    """Derivative 1 where ``x > 0`` and ``slope`` elsewhere (at exactly 0 we take ``slope``, like torch)."""
    x, slope = cache
    return dout * np.where(x > 0, 1.0, slope)


def prelu_forward(x: np.ndarray, a: np.ndarray):
    """Parametric ReLU: ``x`` where ``x > 0``, ``a · x`` elsewhere, with a *learned* slope ``a``.

    ``a`` has shape ``(1,)`` (one slope shared by all units) or ``(d,)`` (one per
    column), like ``torch.nn.PReLU(num_parameters)``.
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 1 or a.size not in (1, x.shape[1]):
        raise ValueError(f"prelu_forward: a must have shape (1,) or ({x.shape[1]},), got {a.shape}")
    return np.where(x > 0, x, a * x), (x, a)


def prelu_backward(dout: np.ndarray, cache):
    """Returns ``(dx, da)``: ``dx = dout·[1 or a]``; ``da = Σ dout · min(x, 0)`` over the rows (and units if shared)."""
    x, a = cache
    dx = dout * np.where(x > 0, 1.0, a)
    da_cols = np.sum(dout * np.minimum(x, 0.0), axis=0)
    return dx, (da_cols if a.size > 1 else np.array([da_cols.sum()]))


def maxout_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, pieces: int):
    """Maxout: each of ``m`` units takes the max of ``pieces`` affine functions.

    ``w`` is ``(d, m·pieces)`` and ``b`` ``(m·pieces,)``; columns ``j·pieces … (j+1)·pieces − 1``
    belong to unit ``j``. Returns ``out (n, m)``.
    """
    z, aff_cache = affine_forward(x, w, b)
    if z.shape[1] % pieces:
        raise ValueError(f"maxout_forward: {z.shape[1]} affine outputs do not split into groups of {pieces}")
    zr = z.reshape(len(x), -1, pieces)
    arg = zr.argmax(axis=2)
    return np.take_along_axis(zr, arg[..., None], axis=2)[..., 0], (aff_cache, arg, pieces)


def maxout_backward(dout: np.ndarray, cache):
    """Returns ``(dx, dw, db)``: the gradient flows only through the winning piece of each unit."""
    aff_cache, arg, pieces = cache
    dz = np.zeros(dout.shape + (pieces,))
    np.put_along_axis(dz, arg[..., None], dout[..., None], axis=2)
    return affine_backward(dz.reshape(len(dout), -1), aff_cache)


def softmax_forward(z: np.ndarray):
    """Row-wise softmax (stable, :func:`softmax`); the cache is the output."""
    s = softmax(z, axis=1)
    return s, s


def softmax_backward(dout: np.ndarray, cache):
    """``dz = s ⊙ (dout − Σ_j dout_j s_j)``: the Jacobian ``diag(s) − s sᵀ`` applied row by row."""
    s = cache
    return s * (dout - np.sum(dout * s, axis=1, keepdims=True))


def softmax_jacobian(z: np.ndarray) -> np.ndarray:
    """The ``(C, C)`` Jacobian ``∂s_i/∂z_j = s_i (δ_ij − s_j)`` of softmax at one logit vector ``z (C,)``."""
    s = softmax(np.asarray(z, dtype=np.float64))
    return np.diag(s) - np.outer(s, s)


def identity_forward(x: np.ndarray):
    """``x`` unchanged (the output layer of a regression network)."""
    return x, None


def identity_backward(dout: np.ndarray, cache):
    return dout


#: Elementwise activations by name: ``name -> (forward, backward)``; each forward takes only ``x``.
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "relu": (relu_forward, relu_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
    "identity": (identity_forward, identity_backward),
}


def activation(name: str) -> tuple[Callable, Callable]:
    """``(forward, backward)`` of the elementwise activation ``name`` (see :data:`ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]
