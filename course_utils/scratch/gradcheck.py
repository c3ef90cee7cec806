"""Finite-difference gradient checking for the from-scratch code.

Contract:

- ``numerical_gradient(f, x)``: ``f`` maps an array to a scalar; returns
  ``∂f/∂x`` by central differences, ``(f(x + h e_i) − f(x − h e_i)) / 2h``,
  perturbing ``x`` in place and restoring it. Error is O(h²) plus round-off
  O(ε/h): with float64 and ``h = 1e-6`` expect relative errors around 1e-8 or
  better; float32 is far too coarse for this, which is why checks use float64.
- ``numerical_jvp_grad(f, x, dout)``: for array-valued ``f``, the gradient of
  ``sum(f(x) * dout)`` (what a layer's ``backward(dout)`` must return).
- ``rel_error(a, b)``: ``max |a − b| / max(|a| + |b|, tiny)``, elementwise: the
  strict test for small arrays.
- ``norm_rel_error(a, b)``: ``‖a − b‖ / (‖a‖ + ‖b‖)``, one number for a whole
  gradient; not ruined by entries whose true value is exactly 0 (a blank pixel,
  a dead ReLU), so it is the test for large gradients.
- ``check_layer(forward, backward, inputs, ...)``: compares a layer's analytic
  gradients with numerical ones for every named input; returns the errors.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of scalar ``f`` at ``x`` (``x`` must be float)."""
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"x must be a float array to be perturbed, got dtype {x.dtype}")
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = float(f(x))
        x[i] = old - h
        fm = float(f(x))
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def numerical_jvp_grad(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray,
                       h: float = 1e-6) -> np.ndarray:
    """Gradient of ``sum(f(x) * dout)`` with respect to ``x``."""
    return numerical_gradient(lambda z: float(np.sum(f(z) * dout)), x, h)


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest elementwise relative error between ``a`` and ``b``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12), initial=0.0))


def norm_rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """``‖a − b‖ / (‖a‖ + ‖b‖)``: one relative error for a whole gradient."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def check_layer(forward: Callable, backward: Callable, inputs: Mapping[str, np.ndarray],
                rng: np.random.Generator, h: float = 1e-6, error: Callable = rel_error, **kwargs) -> dict[str, float]:
    """Relative error of each analytic gradient of a layer against finite differences.

    ``forward(**inputs, **kwargs) -> (out, cache)`` and ``backward(dout, cache)``
    returning a tuple of gradients in the order of ``inputs``. ``error`` compares
    two gradients (``rel_error``, or ``norm_rel_error`` for saturating layers whose
    true gradients have entries near 0).
    """
    names = list(inputs)
    out, cache = forward(**inputs, **kwargs)
    dout = rng.standard_normal(np.shape(out))
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(names):
        raise ValueError(f"backward returned {len(grads)} gradients for {len(names)} inputs {names}")
    errors = {}
    for name, g in zip(names, grads):
        def f(z, name=name):
            return forward(**{**inputs, name: z}, **kwargs)[0]
        num = numerical_jvp_grad(f, inputs[name], dout, h)
        errors[name] = error(g, num)
    return errors
