"""Choosing the step size at every step: Armijo backtracking and the weak Wolfe conditions (chapter 07).

Contract:

- ``f`` maps a parameter vector to a number, ``grad`` to its gradient; ``w`` is the
  current point and ``d`` a descent direction (``∇f(w)ᵀd < 0``, else ``ValueError``).
- :func:`backtracking` returns the first ``η = η₀ ρᵏ`` with enough decrease
  (Armijo); :func:`wolfe_line_search` also demands the curvature condition that
  quasi-Newton methods need (``yᵀs > 0``).
- :func:`gd_line_search` is steepest descent with Armijo steps; it returns an
  :class:`course_utils.scratch.optimizers.OptimizationResult`.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .optimizers import OptimizationResult

Array = np.ndarray


def backtracking(f: Callable[[Array], float], g: Array, w: Array, d: Array, lr0: float = 1.0,
                 rho: float = 0.5, c: float = 1e-4, max_halvings: int = 60) -> float:
    """Armijo backtracking: the first ``η = lr0·ρᵏ`` with ``f(w + η d) ≤ f(w) + c η gᵀd``.

    ``d`` must be a descent direction (``gᵀd < 0``, ``g`` the gradient at ``w``).
    """
    slope = float(g @ d)
    if slope >= 0:
        raise ValueError(f"not a descent direction: gᵀd = {slope:.3g} >= 0")
    f0, lr = f(w), lr0
    for _ in range(max_halvings):
        if f(w + lr * d) <= f0 + c * lr * slope:
            return lr
        lr *= rho
    return lr


def wolfe_line_search(f: Callable[[Array], float], grad: Callable[[Array], Array], w: Array, d: Array,
                      lr0: float = 1.0, c1: float = 1e-4, c2: float = 0.9, max_iter: int = 60) -> float:
    """A step satisfying the weak Wolfe conditions, by bracketing and bisection.

    Armijo (enough decrease) plus curvature ``∇f(w + η d)ᵀd ≥ c₂ ∇f(w)ᵀd``. The second
    condition guarantees ``yᵀs > 0`` for the new pair, which (L-)BFGS needs to stay positive definite.
    """
    f0, slope = f(w), float(grad(w) @ d)
    if slope >= 0:
        raise ValueError(f"not a descent direction: gᵀd = {slope:.3g} >= 0")
    lo, hi, lr = 0.0, np.inf, lr0
    for _ in range(max_iter):
        if f(w + lr * d) > f0 + c1 * lr * slope:
            hi = lr
        elif float(grad(w + lr * d) @ d) < c2 * slope:
            lo = lr
        else:
            return lr
        lr = 0.5 * (lo + hi) if np.isfinite(hi) else 2 * lo
    return lr


def gd_line_search(f: Callable[[Array], float], grad: Callable[[Array], Array], w0: Array, steps: int,
                   tol: float = 1e-10) -> OptimizationResult:
    """Steepest descent with an Armijo line search (``lr0 = 1``, halving); stops when ``‖∇f‖ < tol``."""
    w, path = np.asarray(w0, dtype=np.float64), [np.asarray(w0, dtype=np.float64)]
    for _ in range(steps):
        g = grad(w)
        if np.linalg.norm(g) < tol:
            break
        w = w - backtracking(f, g, w, -g) * g
        path.append(w)
    points = np.array(path)
    return OptimizationResult(points, np.array([f(p) for p in points]))
