"""Methods that use curvature: Newton, BFGS, L-BFGS, Gauss–Newton and Levenberg–Marquardt (chapter 07).

Contract:

- ``f``, ``grad`` and ``hess`` map a parameter vector ``w`` of shape ``(d,)`` to the
  loss, its gradient ``(d,)`` and its Hessian ``(d, d)``.
- Every method returns an :class:`course_utils.scratch.optimizers.OptimizationResult`
  (``points`` row ``k`` = iterate after ``k`` steps, ``losses`` at each) and stops
  early when the gradient norm falls below ``tol``.
- Nonlinear least squares (:func:`gauss_newton`, :func:`levenberg_marquardt`,
  :func:`least_squares_gd`) minimise ``½ Σ rᵢ(θ)²`` given ``residual(θ) -> r (n,)`` and
  ``jacobian(θ) -> J (n, p)`` with ``J_ij = ∂r_i/∂θ_j``.
- :func:`lbfgs_direction` is the two-loop recursion; :func:`lbfgs_matrix` builds the
  inverse-Hessian estimate it applies, for tests and teaching.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .line_search import backtracking, wolfe_line_search
from .optimizers import OptimizationResult

Array = np.ndarray


def _result(points: list, f: Callable[[Array], float]) -> OptimizationResult:
    points = np.array(points)
    return OptimizationResult(points, np.array([f(p) for p in points]))


# ------------------------------------------------------------------- Newton
def newton(f, grad, hess, w0: Array, steps: int, line_search: bool = True, tol: float = 1e-12) -> OptimizationResult:
    """Newton's method ``w ← w − η H⁻¹ g``; ``η`` from backtracking when the Newton step is a descent direction."""
    w, path = np.asarray(w0, dtype=np.float64), [np.asarray(w0, dtype=np.float64)]
    for _ in range(steps):
        g = grad(w)
        if np.linalg.norm(g) < tol:
            break
        d = -np.linalg.solve(hess(w), g)
        if line_search:
            d = d if g @ d < 0 else -g            # fall back to steepest descent where H is not positive
            w = w + backtracking(f, g, w, d) * d
        else:
            w = w + d
        path.append(w)
    return _result(path, f)


# --------------------------------------------------------------- quasi-Newton
def bfgs(f, grad, w0: Array, steps: int, tol: float = 1e-10) -> OptimizationResult:
    """BFGS: keep an inverse-Hessian estimate ``B`` and update it from each step ``s`` and gradient change ``y``.

    ``B ← (I − ρ s yᵀ) B (I − ρ y sᵀ) + ρ s sᵀ`` with ``ρ = 1/(yᵀs)``; a Wolfe line search keeps ``yᵀs > 0``.
    """
    w = np.asarray(w0, dtype=np.float64)
    B, g, path = np.eye(len(w)), grad(w), [w]
    for _ in range(steps):
        if np.linalg.norm(g) < tol:
            break
        d = -B @ g
        w_new = w + wolfe_line_search(f, grad, w, d) * d
        g_new = grad(w_new)
        s, y = w_new - w, g_new - g
        if y @ s > 1e-12:
            rho, I = 1.0 / (y @ s), np.eye(len(w))
            B = (I - rho * np.outer(s, y)) @ B @ (I - rho * np.outer(y, s)) + rho * np.outer(s, s)
        w, g = w_new, g_new
        path.append(w)
    return _result(path, f)


def lbfgs_direction(g: Array, S: Sequence[Array], Y: Sequence[Array]) -> Array:
    """The L-BFGS two-loop recursion: ``−H g`` from the last ``m`` pairs ``(s_i, y_i)``, oldest first.

    ``H`` is the BFGS inverse-Hessian built from ``H₀ = γ I``, ``γ = sᵀy / yᵀy`` of the newest pair,
    without ever forming a matrix: O(m d) work and memory.
    """
    q, alphas = np.array(g, dtype=np.float64), []
    for s, y in zip(reversed(S), reversed(Y)):          # newest to oldest
        a = (s @ q) / (y @ s)
        alphas.append(a)
        q = q - a * y
    gamma = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) if len(S) else 1.0
    r = gamma * q
    for (s, y), a in zip(zip(S, Y), reversed(alphas)):  # oldest to newest
        b = (y @ r) / (y @ s)
        r = r + s * (a - b)
    return -r


def lbfgs(f, grad, w0: Array, steps: int, m: int = 10, tol: float = 1e-10) -> OptimizationResult:
    """L-BFGS with memory ``m`` and a weak-Wolfe line search."""
    w = np.asarray(w0, dtype=np.float64)
    g, S, Y, path = grad(w), [], [], [w]
    for _ in range(steps):
        if np.linalg.norm(g) < tol:
            break
        d = lbfgs_direction(g, S, Y)
        w_new = w + wolfe_line_search(f, grad, w, d) * d
        g_new = grad(w_new)
        s, y = w_new - w, g_new - g
        if y @ s > 1e-12:                              # keep only pairs with positive curvature
            S, Y = (S + [s])[-m:], (Y + [y])[-m:]
        w, g = w_new, g_new
        path.append(w)
    return _result(path, f)


def lbfgs_matrix(S: Sequence[Array], Y: Sequence[Array]) -> Array:
    """The inverse-Hessian estimate the two-loop recursion applies, built explicitly (for tests and teaching)."""
    d = len(S[-1])
    H = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) * np.eye(d)
    for s, y in zip(S, Y):
        rho = 1.0 / (y @ s)
        H = (np.eye(d) - rho * np.outer(s, y)) @ H @ (np.eye(d) - rho * np.outer(y, s)) + rho * np.outer(s, s)
    return H


# ---------------------------------------------------- nonlinear least squares
def _half_sum_of_squares(residual: Callable[[Array], Array]) -> Callable[[Array], float]:
    return lambda theta: 0.5 * float(np.sum(residual(theta) ** 2))


def gauss_newton(residual: Callable[[Array], Array], jacobian: Callable[[Array], Array], theta0: Array,
                 steps: int, tol: float = 1e-12, line_search: bool = False) -> OptimizationResult:
    """Gauss–Newton: solve ``JᵀJ δ = −Jᵀr`` and step to ``θ + δ``.

    ``JᵀJ`` is the Hessian of ``½‖r‖²`` without the term ``Σ rᵢ ∇²rᵢ``. Plain Gauss–Newton
    has no acceptance test: a step that raises the loss is taken anyway, and a singular
    ``JᵀJ`` gives NaN (the run then stops). With ``line_search`` the same direction ``δ``
    is scaled by Armijo backtracking (``line_search.backtracking``): only steps that lower
    the loss are accepted ("damped Gauss–Newton").
    """
    loss = _half_sum_of_squares(residual)
    theta = np.asarray(theta0, dtype=np.float64)
    path = [theta]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            J, r = jacobian(theta), residual(theta)
            JTJ, g = J.T @ J, J.T @ r
            if np.linalg.norm(g) < tol:
                break
            try:
                delta = np.linalg.solve(JTJ, -g)
            except np.linalg.LinAlgError:         # rank-deficient JᵀJ
                delta = np.full_like(theta, np.nan)
            if line_search and np.all(np.isfinite(delta)) and g @ delta < 0:
                delta = backtracking(loss, g, theta, delta) * delta
            theta = theta + delta
            path.append(theta)
            if not np.isfinite(loss(theta)):
                break
        return _result(path, loss)


def levenberg_marquardt(residual: Callable[[Array], Array], jacobian: Callable[[Array], Array], theta0: Array,
                        steps: int, mu: float = 1e-2, tol: float = 1e-12) -> OptimizationResult:
    """Levenberg–Marquardt: damped Gauss–Newton steps with an acceptance test.

    Step: solve ``(JᵀJ + μ diag(JᵀJ)) δ = −Jᵀ r``. Accept when the loss falls (then ``μ ← μ/3``),
    otherwise reject and set ``μ ← 2μ``: large ``μ`` means short, gradient-like steps, small ``μ``
    means Gauss–Newton steps. An iteration whose every trial fails (``μ`` past ``10¹²``) keeps ``θ``.
    """
    if not mu > 0:
        raise ValueError(f"mu must be positive (mu = 0 is Gauss-Newton: use gauss_newton), got {mu}")
    loss_fn = _half_sum_of_squares(residual)
    theta = np.asarray(theta0, dtype=np.float64)
    path, loss = [theta], loss_fn(theta)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            J, r = jacobian(theta), residual(theta)
            JTJ, g = J.T @ J, J.T @ r
            if np.linalg.norm(g) < tol:
                break
            while True:
                try:
                    delta = np.linalg.solve(JTJ + mu * np.diag(np.diag(JTJ)), -g)
                    new_loss = loss_fn(theta + delta)
                except np.linalg.LinAlgError:     # a zero column of J: this trial fails
                    new_loss = np.inf
                if new_loss < loss:
                    theta, loss, mu = theta + delta, new_loss, mu / 3
                    break
                mu *= 2
                if mu > 1e12:
                    break
            path.append(theta)
        return _result(path, loss_fn)


def least_squares_gd(residual: Callable[[Array], Array], jacobian: Callable[[Array], Array], theta0: Array,
                     steps: int, lr: float) -> OptimizationResult:
    """Plain gradient descent on ``½‖r‖²`` (gradient ``Jᵀ r``); stops when the iterate is no longer finite."""
    theta, path = np.asarray(theta0, dtype=np.float64), [np.asarray(theta0, dtype=np.float64)]
    for _ in range(steps):
        theta = theta - lr * jacobian(theta).T @ residual(theta)
        path.append(theta)
        if not np.all(np.isfinite(theta)):
            break
    return _result(path, _half_sum_of_squares(residual))
