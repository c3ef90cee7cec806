"""Chapter 07: optimisation, every method from scratch in NumPy.

Contract for the first-order update rules (as in cs231n's ``optim.py``)::

    w_next, state = rule(w, dw, state, **hyper)

- ``w`` and ``dw`` are arrays of the same shape (parameters and the gradient of
  the loss at ``w``); ``state`` is a dict, ``{}`` before the first step, that the
  rule fills with what it must remember (momentum buffer, averages, step count).
- Rules are pure: they never modify ``w``, ``dw`` or ``state`` in place and
  return a new array and a new dict.
- Hyperparameter names and conventions follow ``torch.optim`` exactly (where ε
  goes, how momentum and dampening enter, the first momentum step), so that the
  iterates agree with PyTorch to round-off (``tests/test_optim.py``):
  :func:`sgd`, :func:`sgd_momentum` (``torch.optim.SGD(momentum=…)``), :func:`nesterov`
  (``nesterov=True``), :func:`rmsprop`, :func:`adam`. ``RULES`` maps names to them.
- :func:`run` applies a rule for ``steps`` steps to a gradient function and
  returns the path; it stops early and reports divergence when the iterate blows up.

Beyond the rules: quadratics and their step-size limit, gradient noise of
minibatches, exponentially weighted averages, learning-rate schedules,
backtracking (Armijo) line search, Newton, BFGS, L-BFGS (two-loop recursion),
Gauss–Newton and Levenberg–Marquardt on a curve fit; the chapter's 2-D test
surfaces and its widget :func:`draw_optimizer`; and the exercise checks.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from . import checks
from .plotting import COLORS, loss_surface, show_message

Array = np.ndarray


# ------------------------------------------------------- first-order update rules
def sgd(w: Array, dw: Array, state: dict, lr: float = 0.01):
    """Plain gradient step ``w − η ∇``."""
    return w - lr * dw, dict(state)


def sgd_momentum(w: Array, dw: Array, state: dict, lr: float = 0.01, momentum: float = 0.9,
             dampening: float = 0.0, nesterov: bool = False):
    """Heavy-ball momentum in PyTorch's form.

    ``b ← μ b + (1 − dampening) g`` (the first step sets ``b = g``), then
    ``w ← w − η b``; with ``nesterov`` the step uses ``g + μ b`` instead of ``b``.
    """
    buf = dw.copy() if "buf" not in state else momentum * state["buf"] + (1 - dampening) * dw
    step = dw + momentum * buf if nesterov else buf
    return w - lr * step, {**state, "buf": buf}


def nesterov(w: Array, dw: Array, state: dict, lr: float = 0.01, momentum: float = 0.9):
    """Nesterov momentum as PyTorch writes it (``SGD(nesterov=True)``): a look-ahead step ``g + μ b``."""
    return sgd_momentum(w, dw, state, lr=lr, momentum=momentum, nesterov=True)


def rmsprop(w: Array, dw: Array, state: dict, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8):
    """``s ← α s + (1 − α) g²``, ``w ← w − η g / (√s + ε)`` (no bias correction, as in torch)."""
    s = alpha * state.get("square_avg", np.zeros_like(w)) + (1 - alpha) * dw ** 2
    return w - lr * dw / (np.sqrt(s) + eps), {**state, "square_avg": s}


def adam(w: Array, dw: Array, state: dict, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
         eps: float = 1e-8):
    """Adam with bias correction: ``w ← w − η m̂ / (√v̂ + ε)``, ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``."""
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * state.get("v", np.zeros_like(w)) + (1 - beta2) * dw ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


RULES: dict[str, Callable] = {"gd": sgd, "momentum": sgd_momentum, "nesterov": nesterov,
                              "rmsprop": rmsprop, "adam": adam}


@dataclass
class Run:
    """A path of iterates from :func:`run` (row ``k`` = iterate after ``k`` steps)."""

    path: Array
    diverged: bool = False
    message: str = ""


def run(rule: Callable, grad: Callable[[Array], Array], w0: Array, steps: int, blowup: float = 1e6,
        **hyper) -> Run:
    """Apply ``rule`` for ``steps`` steps from ``w0``; stop when ``|w|`` exceeds ``blowup``."""
    w, state, path = np.asarray(w0, dtype=np.float64), {}, [np.asarray(w0, dtype=np.float64)]
    for k in range(steps):
        w, state = rule(w, grad(w), state, **hyper)
        if not np.all(np.isfinite(w)) or np.max(np.abs(w)) > blowup:
            return Run(np.array(path), True, f"diverged after {k + 1} steps")
        path.append(w)
    return Run(np.array(path))


def torch_path(name: str, grad: Callable[[Array], Array], w0: Array, steps: int, **hyper) -> Array:
    """The same iterates from ``torch.optim`` (float64), for comparison with :func:`run`."""
    import torch

    p = torch.tensor(np.asarray(w0, dtype=np.float64), requires_grad=True)
    if name in ("gd", "momentum", "nesterov"):
        kw = dict(lr=hyper.get("lr", 0.01))
        if name != "gd":
            kw.update(momentum=hyper.get("momentum", 0.9), nesterov=name == "nesterov",
                      dampening=hyper.get("dampening", 0.0))
        opt = torch.optim.SGD([p], **kw)
    elif name == "rmsprop":
        opt = torch.optim.RMSprop([p], lr=hyper.get("lr", 0.01), alpha=hyper.get("alpha", 0.99), eps=hyper.get("eps", 1e-8))
    elif name == "adam":
        opt = torch.optim.Adam([p], lr=hyper.get("lr", 1e-3), betas=(hyper.get("beta1", 0.9), hyper.get("beta2", 0.999)),
                               eps=hyper.get("eps", 1e-8))
    else:
        raise ValueError(f"unknown optimiser {name!r}; choose from {list(RULES)}")
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        p.grad = torch.tensor(grad(p.detach().numpy().copy()))
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


# --------------------------------------------------------------- quadratics
def quadratic_gd(H: Array, w0: Array, lr: float, steps: int, w_star: Array | None = None,
                 P: Array | None = None) -> Array:
    """Gradient descent on ``½ (w − w*)ᵀ H (w − w*)``; returns the iterates ``(steps + 1, d)``.

    With a preconditioner ``P`` the step is ``w ← w − η P ∇f``: plain GD in the rescaled
    coordinates ``u = P^{−1/2} w``, whose Hessian is ``P^{1/2} H P^{1/2}``.

    The error obeys ``e_{k+1} = (I − η H) e_k``: along an eigenvector with eigenvalue
    ``λ`` it is multiplied by ``1 − ηλ`` per step, so GD converges iff ``0 < η < 2/λ_max``.
    """
    w_star = np.zeros(len(w0)) if w_star is None else w_star
    P = np.eye(len(w0)) if P is None else P
    path = [np.asarray(w0, dtype=np.float64)]
    for _ in range(steps):
        path.append(path[-1] - lr * P @ (H @ (path[-1] - w_star)))
    return np.array(path)


def steps_to_tolerance(errors: Array, tol: float) -> int:
    """First index where ``errors`` falls below ``tol`` (``len(errors)`` if never)."""
    below = np.flatnonzero(np.asarray(errors) < tol)
    return int(below[0]) if below.size else len(errors)


# ----------------------------------------------------------- gradient noise
def minibatch_gradient_noise(X: Array, y: Array, w: Array, batch_sizes: Sequence[int],
                             rng: np.random.Generator, trials: int = 200) -> Array:
    """Mean squared distance between minibatch and full gradients of least squares ``½ mean (Xw − y)²``.

    Batches are drawn without replacement; the result is one number per batch size.
    """
    r = X @ w - y
    per_example = X * r[:, None]                 # row i: gradient of example i
    full = per_example.mean(axis=0)
    out = []
    for B in batch_sizes:
        sq = [np.sum((per_example[rng.choice(len(X), B, replace=False)].mean(axis=0) - full) ** 2)
              for _ in range(trials)]
        out.append(np.mean(sq))
    return np.array(out)


def least_squares_sgd(X: Array, y: Array, batch_size: int, lr: float, epochs: int,
                      rng: np.random.Generator) -> tuple[Array, Array]:
    """Minibatch SGD on ``½ mean (Xw − y)²`` from 0; returns ``(examples seen, full loss)`` after each update."""
    n, w = len(X), np.zeros(X.shape[1])
    seen, losses = [0], [0.5 * np.mean(y ** 2)]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            w = w - lr * X[idx].T @ (X[idx] @ w - y[idx]) / len(idx)
            seen.append(seen[-1] + len(idx))
            losses.append(0.5 * np.mean((X @ w - y) ** 2))
    return np.array(seen), np.array(losses)


# ------------------------------------------------- averages and schedules
def ewma(x: Array, beta: float, bias_correction: bool = True) -> Array:
    """Exponentially weighted moving average ``v_t = β v_{t−1} + (1 − β) x_t``, ``v_0 = 0``.

    Starting from 0 biases the early averages towards 0 by the factor ``1 − βᵗ``
    (the weights sum to ``1 − βᵗ``, not 1); dividing by it removes the bias.
    """
    v, out = 0.0, []
    for t, xt in enumerate(np.asarray(x, dtype=np.float64), start=1):
        v = beta * v + (1 - beta) * xt
        out.append(v / (1 - beta ** t) if bias_correction else v)
    return np.array(out)


def lr_schedule(name: str, lr0: float, steps: int, step_size: int = 30, gamma: float = 0.5,
                decay: float = 0.01, eta_min: float = 0.0) -> Array:
    """Learning rate at steps ``0 … steps−1`` for ``constant``, ``step``, ``exponential``, ``inverse`` (1/t) or ``cosine``.

    ``step``: ``η₀ γ^⌊t/step_size⌋``; ``exponential``: ``η₀ γᵗ``; ``inverse``: ``η₀ / (1 + decay·t)``;
    ``cosine``: ``η_min + ½(η₀ − η_min)(1 + cos(π t / steps))``. The same as torch's ``StepLR``,
    ``ExponentialLR``, ``LambdaLR`` and ``CosineAnnealingLR(T_max=steps)``.
    """
    t = np.arange(steps)
    table = {
        "constant": lambda: np.full(steps, lr0, dtype=np.float64),
        "step": lambda: lr0 * gamma ** (t // step_size),
        "exponential": lambda: lr0 * gamma ** t,
        "inverse": lambda: lr0 / (1 + decay * t),
        "cosine": lambda: eta_min + 0.5 * (lr0 - eta_min) * (1 + np.cos(np.pi * t / steps)),
    }
    if name not in table:
        raise ValueError(f"unknown schedule {name!r}; choose from {list(table)}")
    return table[name]()


# --------------------------------------------------------------- line search
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


@dataclass
class Trace:
    """Iterates and losses of a second-order or line-search method."""

    path: Array
    losses: Array
    evaluations: int = 0                          # function evaluations, line search included


def gd_line_search(f, grad, w0: Array, steps: int, tol: float = 1e-10) -> Trace:
    """Steepest descent with an Armijo line search (``lr0 = 1``, halving)."""
    w, path, evals = np.asarray(w0, dtype=np.float64), [np.asarray(w0, dtype=np.float64)], 0
    for _ in range(steps):
        g = grad(w)
        if np.linalg.norm(g) < tol:
            break
        lr = backtracking(f, g, w, -g)
        evals += 1 + int(round(np.log(1 / lr) / np.log(2))) + 1
        w = w - lr * g
        path.append(w)
    path = np.array(path)
    return Trace(path, np.array([f(p) for p in path]), evals)


# -------------------------------------------------------------- second order
def newton(f, grad, hess, w0: Array, steps: int, line_search: bool = True, tol: float = 1e-12) -> Trace:
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
    path = np.array(path)
    return Trace(path, np.array([f(p) for p in path]))


def bfgs(f, grad, w0: Array, steps: int, tol: float = 1e-10) -> Trace:
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
    path = np.array(path)
    return Trace(path, np.array([f(p) for p in path]))


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


def lbfgs(f, grad, w0: Array, steps: int, m: int = 10, tol: float = 1e-10) -> Trace:
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
    path = np.array(path)
    return Trace(path, np.array([f(p) for p in path]))


def lbfgs_matrix(S: Sequence[Array], Y: Sequence[Array]) -> Array:
    """The inverse-Hessian estimate the two-loop recursion applies, built explicitly (for tests and teaching)."""
    d = len(S[-1])
    H = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) * np.eye(d)
    for s, y in zip(S, Y):
        rho = 1.0 / (y @ s)
        H = (np.eye(d) - rho * np.outer(s, y)) @ H @ (np.eye(d) - rho * np.outer(y, s)) + rho * np.outer(s, s)
    return H


# ---------------------------------------------------- nonlinear least squares
def curve_model(theta: Array, t: Array) -> Array:
    """Damped oscillation ``a e^{−b t} cos(c t)`` with ``θ = (a, b, c)``."""
    a, b, c = theta
    return a * np.exp(-b * t) * np.cos(c * t)


def curve_jacobian(theta: Array, t: Array) -> Array:
    """``∂ model / ∂θ`` as an ``(n, 3)`` matrix (the Jacobian of the residuals)."""
    a, b, c = theta
    e, cos, sin = np.exp(-b * t), np.cos(c * t), np.sin(c * t)
    return np.stack([e * cos, -a * t * e * cos, -a * t * e * sin], axis=1)


def make_curve_data(rng: np.random.Generator, n: int = 60, theta: Sequence[float] = (2.0, 0.6, 3.0),
                    noise: float = 0.05) -> tuple[Array, Array]:
    """Noisy samples ``(t, y)`` of :func:`curve_model` on ``t ∈ [0, 4]``."""
    t = np.linspace(0, 4, n)
    return t, curve_model(np.asarray(theta), t) + noise * rng.standard_normal(n)


def curve_loss(theta: Array, t: Array, y: Array) -> float:
    """``½ Σ r²`` with residuals ``r = model − y``."""
    return 0.5 * float(np.sum((curve_model(theta, t) - y) ** 2))


def levenberg_marquardt(t: Array, y: Array, theta0: Array, steps: int, mu: float = 1e-2,
                        tol: float = 1e-12) -> Trace:
    """Levenberg–Marquardt; ``mu = 0`` gives plain Gauss–Newton.

    Step: solve ``(JᵀJ + μ diag(JᵀJ)) δ = −Jᵀ r``. Accept when the loss falls (then ``μ ← μ/3``),
    otherwise reject and set ``μ ← 2μ``: large ``μ`` means short, gradient-like steps, small ``μ``
    means Gauss–Newton steps. Gauss–Newton approximates the Hessian by ``JᵀJ``, dropping ``Σ rᵢ ∇²rᵢ``.
    """
    theta = np.asarray(theta0, dtype=np.float64)
    path, loss = [theta], curve_loss(theta, t, y)
    for _ in range(steps):
        J, r = curve_jacobian(theta, t), curve_model(theta, t) - y
        JTJ, g = J.T @ J, J.T @ r
        if np.linalg.norm(g) < tol:
            break
        while True:
            try:
                delta = np.linalg.solve(JTJ + mu * np.diag(np.diag(JTJ)), -g)
            except np.linalg.LinAlgError:           # Gauss–Newton with a rank-deficient JᵀJ
                delta = np.full_like(theta, np.nan)
            new_loss = curve_loss(theta + delta, t, y)
            if mu == 0 or new_loss < loss:        # Gauss–Newton takes every step, good or bad
                theta, loss, mu = theta + delta, new_loss, mu / 3
                break
            mu *= 2
            if mu > 1e12:
                break
        path.append(theta)
        if not np.isfinite(loss):
            break
    path = np.array(path)
    return Trace(path, np.array([curve_loss(p, t, y) for p in path]))


def curve_gd(t: Array, y: Array, theta0: Array, steps: int, lr: float) -> Trace:
    """Plain gradient descent on :func:`curve_loss` (gradient ``Jᵀ r``)."""
    theta, path = np.asarray(theta0, dtype=np.float64), [np.asarray(theta0, dtype=np.float64)]
    for _ in range(steps):
        theta = theta - lr * curve_jacobian(theta, t).T @ (curve_model(theta, t) - y)
        path.append(theta)
        if not np.all(np.isfinite(theta)):
            break
    path = np.array(path)
    return Trace(path, np.array([curve_loss(p, t, y) for p in path]))


# ------------------------------------------------------------ 2-D surfaces
@dataclass(frozen=True)
class Surface:
    """A 2-D test function: value (vectorised over grids), gradient, Hessian, view and minimum."""

    name: str
    f: Callable
    grad: Callable[[Array], Array]
    hess: Callable[[Array], Array]
    xlim: tuple
    ylim: tuple
    f_min: float
    starts: dict

    def value(self, w: Array) -> float:
        return float(self.f(w[0], w[1]))


_Q = (1.0, 20.0)                                  # eigenvalues of the ill-conditioned quadratic
SURFACES: dict[str, Surface] = {
    "ill-conditioned quadratic": Surface(
        "ill-conditioned quadratic",
        lambda x, y: 0.5 * (_Q[0] * x ** 2 + _Q[1] * y ** 2),
        lambda w: np.array([_Q[0] * w[0], _Q[1] * w[1]]),
        lambda w: np.diag(_Q),
        (-2.2, 2.2), (-1.6, 1.6), 0.0,
        {"A": (-2.0, 1.0), "B": (1.5, -1.5), "C": (-0.5, 1.5)}),
    "Rosenbrock": Surface(
        "Rosenbrock",
        lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2,
        lambda w: np.array([-2 * (1 - w[0]) - 400 * w[0] * (w[1] - w[0] ** 2), 200 * (w[1] - w[0] ** 2)]),
        lambda w: np.array([[2 - 400 * (w[1] - 3 * w[0] ** 2), -400 * w[0]], [-400 * w[0], 200.0]]),
        (-2.0, 2.0), (-1.0, 3.0), 0.0,
        {"A": (-1.2, 1.0), "B": (1.5, 2.8), "C": (-0.5, -0.5)}),
    "saddle": Surface(
        "saddle",
        lambda x, y: 0.5 * x ** 2 - 0.5 * y ** 2 + 0.25 * y ** 4,
        lambda w: np.array([w[0], -w[1] + w[1] ** 3]),
        lambda w: np.array([[1.0, 0.0], [0.0, -1 + 3 * w[1] ** 2]]),
        (-2.0, 2.0), (-1.8, 1.8), -0.25,
        {"A": (-1.8, 1e-3), "B": (1.5, 0.3), "C": (-1.0, -1.5)}),
}


def steps_to_reach(losses: Array, f_min: float, tol: float) -> int:
    """First iteration whose loss is within ``tol`` of ``f_min`` (``len(losses)`` if none)."""
    return steps_to_tolerance(np.asarray(losses) - f_min, tol)


SURFACE_MINIMA = {"ill-conditioned quadratic": [(0.0, 0.0)], "Rosenbrock": [(1.0, 1.0)], "saddle": [(0.0, -1.0), (0.0, 1.0)]}

# ------------------------------------------------------------------ widget


def draw_optimizer(surface: str = "ill-conditioned quadratic", optimizer: str = "momentum",
                   log_lr: float = -1.5, beta: float = 0.9, start: str = "A", steps: int = 150):
    """Trajectory of one update rule on a 2-D surface (left) and its loss curve (right).

    ``log_lr`` is ``log10 η``; ``beta`` is the momentum ``μ`` (momentum, Nesterov),
    ``α`` (RMSProp) or ``β₁`` (Adam). Divergence is caught and written on the plot.
    """
    surf, lr = SURFACES[surface], 10.0 ** log_lr
    hyper = {"gd": {}, "momentum": {"momentum": beta}, "nesterov": {"momentum": beta},
             "rmsprop": {"alpha": beta}, "adam": {"beta1": beta}}[optimizer]
    result = run(RULES[optimizer], surf.grad, np.array(surf.starts[start]), steps, blowup=1e4, lr=lr, **hyper)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.3), gridspec_kw={"width_ratios": [1.15, 1]})
    loss_surface(surf.f, surf.xlim, surf.ylim, paths={optimizer: result.path}, ax=ax, resolution=90,
                 title=f"{surface}: {optimizer}, η = {lr:.3g}")
    ax.plot(*result.path[0], "o", color="k", ms=6)
    for w_min in SURFACE_MINIMA[surface]:
        ax.plot(*w_min, "*", color=COLORS[2], ms=14, zorder=5)
    gap = np.array([surf.value(p) for p in result.path]) - surf.f_min
    ax2.semilogy(np.arange(len(gap)), np.maximum(gap, 1e-16), color=COLORS[0])
    ax2.set_xlabel("step")
    ax2.set_ylabel(r"$f(\theta) - f_\min$")
    ax2.set_xlim(0, steps)
    ax2.set_title(f"after {len(gap) - 1} steps: gap {gap[-1]:.2g}" if not result.diverged else "loss curve")
    if result.diverged:
        show_message(ax, f"learning rate too large: {result.message}\n(η = {lr:.3g}); try a smaller log₁₀ η")
        show_message(ax2, "the loss blew up", kind="error")
    elif gap[-1] > gap[0]:
        show_message(ax2, "the loss went up: unstable or stuck", kind="warning")
    return fig


# ------------------------------------------------------------------ exercises
def run_rule(rule: Callable, w0: Array, grads: Array, **hyper) -> Array:
    """Apply ``rule`` to a fixed sequence of gradients (rows of ``grads``); returns the iterates."""
    w, state, out = np.asarray(w0, dtype=np.float64), {}, []
    for g in grads:
        w, state = rule(w, g, state, **hyper)
        out.append(np.asarray(w))
    return np.array(out)


def check_momentum(fn: Callable) -> checks.CheckResult:
    """Check ``fn(w, dw, state, lr, momentum) -> (w, state)`` against :func:`sgd_momentum` over 6 steps."""
    def make(rng):
        d = int(rng.integers(1, 5))
        return rng.standard_normal(d), rng.standard_normal((6, d)), float(rng.uniform(0.01, 0.5)), float(rng.uniform(0.5, 0.99))

    return checks.check_function(lambda w0, G, lr, mu: run_rule(fn, w0, G, lr=lr, momentum=mu),
                                 lambda w0, G, lr, mu: run_rule(sgd_momentum, w0, G, lr=lr, momentum=mu),
                                 make, name="momentum_update", rtol=1e-9, atol=1e-12)


def check_adam(fn: Callable) -> checks.CheckResult:
    """Check ``fn(w, dw, state, lr, beta1, beta2, eps) -> (w, state)`` against :func:`adam` over 6 steps."""
    def make(rng):
        d = int(rng.integers(1, 5))
        return (rng.standard_normal(d), rng.standard_normal((6, d)) * 10.0 ** rng.uniform(-3, 1),
                float(rng.uniform(0.01, 0.2)), float(rng.uniform(0.8, 0.95)), float(rng.uniform(0.9, 0.999)))

    def apply(rule):
        return lambda w0, G, lr, b1, b2: run_rule(rule, w0, G, lr=lr, beta1=b1, beta2=b2, eps=1e-8)

    return checks.check_function(apply(fn), apply(adam), make, name="adam_update", rtol=1e-9, atol=1e-12)


def check_backtracking(fn: Callable) -> checks.CheckResult:
    """Check ``fn(f, g, w, d, lr0, rho, c) -> step`` against :func:`backtracking` on random quadratics."""
    def make(rng):
        d = int(rng.integers(2, 5))
        M = rng.standard_normal((d, d))
        H = M @ M.T + 0.1 * np.eye(d)
        w = rng.standard_normal(d) * 3
        g = H @ w
        return (lambda v, H=H: 0.5 * float(v @ H @ v), g, w, -g, float(rng.uniform(1, 5)),
                float(rng.choice([0.5, 0.3, 0.8])), 1e-4)

    return checks.check_function(fn, backtracking, make, name="backtracking", trials=8)


def check_lbfgs_direction(fn: Callable) -> checks.CheckResult:
    """Check ``fn(g, S, Y) -> direction`` against :func:`lbfgs_direction` (pairs with yᵀs > 0)."""
    def make(rng):
        d, m = int(rng.integers(2, 6)), int(rng.integers(1, 5))
        M = rng.standard_normal((d, d))
        H = M @ M.T + 0.5 * np.eye(d)
        S = [rng.standard_normal(d) for _ in range(m)]
        return rng.standard_normal(d), S, [H @ s for s in S]

    return checks.check_function(fn, lbfgs_direction, make, name="lbfgs_direction", rtol=1e-8, atol=1e-10)
