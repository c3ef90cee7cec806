"""Chapter 07 · optimization: test surfaces, the optimiser widget, the curve fit, the exercise checks.

- ``Surface`` and ``SURFACES``: the chapter's 2-D test functions (an ill-conditioned
  quadratic, Rosenbrock, a saddle) with gradient, Hessian, view and starting points.
- ``draw_optimizer``: the widget, one update rule of
  :mod:`course_utils.scratch.optimizers` on a surface, with its loss curve.
- ``curve_model``, ``curve_jacobian``, ``make_curve_data`` and ``curve_problem``:
  the damped-oscillation fit for Gauss–Newton and Levenberg–Marquardt
  (:mod:`course_utils.scratch.second_order`).
- ``check_*``: the exercise checks, against the references in ``scratch``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from .. import checks
from ..plotting import COLORS, loss_surface, show_message
from ..scratch.line_search import backtracking
from ..scratch.optimizers import RULES, adam, run, sgd_momentum
from ..scratch.second_order import lbfgs_direction
from ..widgets import frame

Array = np.ndarray


# ------------------------------------------------------------ 2-D surfaces
@dataclass(frozen=True)
class Surface:
    """A 2-D test function: value (vectorised over grids), gradient, Hessian, view, minimum and starts."""

    name: str
    f: Callable
    grad: Callable[[Array], Array]
    hess: Callable[[Array], Array]
    xlim: tuple
    ylim: tuple
    f_min: float
    starts: dict
    minima: tuple

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
        {"A": (-2.0, 1.0), "B": (1.5, -1.5), "C": (-0.5, 1.5)},
        ((0.0, 0.0),)),
    "Rosenbrock": Surface(
        "Rosenbrock",
        lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2,
        lambda w: np.array([-2 * (1 - w[0]) - 400 * w[0] * (w[1] - w[0] ** 2), 200 * (w[1] - w[0] ** 2)]),
        lambda w: np.array([[2 - 400 * (w[1] - 3 * w[0] ** 2), -400 * w[0]], [-400 * w[0], 200.0]]),
        (-2.0, 2.0), (-1.0, 3.0), 0.0,
        {"A": (-1.2, 1.0), "B": (1.5, 2.8), "C": (-0.5, -0.5)},
        ((1.0, 1.0),)),
    "saddle": Surface(
        "saddle",
        lambda x, y: 0.5 * x ** 2 - 0.5 * y ** 2 + 0.25 * y ** 4,
        lambda w: np.array([w[0], -w[1] + w[1] ** 3]),
        lambda w: np.array([[1.0, 0.0], [0.0, -1 + 3 * w[1] ** 2]]),
        (-2.0, 2.0), (-1.8, 1.8), -0.25,
        {"A": (-1.8, 1e-3), "B": (1.5, 0.3), "C": (-1.0, -1.5)},
        ((0.0, -1.0), (0.0, 1.0))),
}


def widget_hyper(optimizer: str, beta: float) -> dict:
    """The widget's one "β" control as the rule's own hyperparameter (μ, α or β₁)."""
    table = {"gd": {}, "momentum": {"momentum": beta}, "nesterov": {"momentum": beta},
             "rmsprop": {"alpha": beta}, "adam": {"beta1": beta}}
    if optimizer not in table:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {list(table)}")
    return table[optimizer]


# ------------------------------------------------------------------ widget
@frame
def draw_optimizer(surface: str = "ill-conditioned quadratic", optimizer: str = "momentum",
                   log_lr: float = -1.5, beta: float = 0.9, start: str = "A", steps: int = 150):
    """Trajectory of one update rule on a 2-D surface (left) and its loss curve (right).

    ``log_lr`` is ``log10 η``; ``beta`` is the momentum ``μ`` (momentum, Nesterov),
    ``α`` (RMSProp) or ``β₁`` (Adam). A run that blows up stops there, and the
    figure says so (the path up to that step is still drawn).
    """
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}; choose one of {list(SURFACES)}")
    surf, lr = SURFACES[surface], 10.0 ** log_lr
    if start not in surf.starts:
        raise ValueError(f"unknown start {start!r}; choose one of {list(surf.starts)}")
    hyper = widget_hyper(optimizer, beta)
    result = run(RULES[optimizer], surf.grad, np.array(surf.starts[start]), steps, loss=surf.value,
                 name=optimizer, lr=lr, **hyper)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.3), gridspec_kw={"width_ratios": [1.15, 1]})
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.9, wspace=0.25)
    loss_surface(surf.f, surf.xlim, surf.ylim, paths={optimizer: result.points}, ax=ax, resolution=90,
                 title=f"{surface}: {optimizer}, η = {lr:.3g}")
    ax.plot(*result.points[0], "o", color="k", ms=6)
    for w_min in surf.minima:
        ax.plot(*w_min, "*", color=COLORS[2], ms=14, zorder=5)
    gap = result.losses - surf.f_min
    ax2.semilogy(np.arange(len(gap)), np.maximum(gap, 1e-16), color=COLORS[0])
    ax2.set_xlabel("step")
    ax2.set_ylabel("f(θ) − f_min")
    ax2.set_xlim(0, steps)
    ax2.set_title(f"after {len(gap) - 1} steps: gap {gap[-1]:.2g}" if not result.diverged else "loss curve")
    if result.diverged:
        show_message(ax, f"learning rate too large (η = {lr:.3g}):\n{result.message}")
        show_message(ax2, "the loss blew up", kind="error")
    elif gap[-1] > gap[0]:
        show_message(ax2, "the loss went up: unstable or stuck", kind="warning")
    return fig


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


def curve_problem(t: Array, y: Array) -> tuple[Callable[[Array], Array], Callable[[Array], Array]]:
    """``(residual, jacobian)`` of the fit of :func:`curve_model` to ``(t, y)``: ``r = model − y``."""
    return (lambda theta: curve_model(theta, t) - y), (lambda theta: curve_jacobian(theta, t))


def curve_loss(theta: Array, t: Array, y: Array) -> float:
    """``½ Σ r²`` with residuals ``r = model − y``."""
    return 0.5 * float(np.sum((curve_model(theta, t) - y) ** 2))


# ------------------------------------------------------------------ exercises
def run_rule(rule: Callable, w0: Array, grads: Array, **hyper) -> Array:
    """Apply ``rule`` to a fixed sequence of gradients (rows of ``grads``); returns the iterates."""
    w, state, out = np.asarray(w0, dtype=np.float64), {}, []
    for g in grads:
        w, state = rule(w, g, state, **hyper)
        out.append(np.asarray(w))
    return np.array(out)


def check_momentum(fn: Callable) -> checks.CheckResult:
    """Check ``fn(w, dw, state, lr, momentum) -> (w, state)`` against ``optimizers.sgd_momentum`` over 6 steps."""
    def make(rng):
        d = int(rng.integers(1, 5))
        return rng.standard_normal(d), rng.standard_normal((6, d)), float(rng.uniform(0.01, 0.5)), float(rng.uniform(0.5, 0.99))

    return checks.check_function(lambda w0, G, lr, mu: run_rule(fn, w0, G, lr=lr, momentum=mu),
                                 lambda w0, G, lr, mu: run_rule(sgd_momentum, w0, G, lr=lr, momentum=mu),
                                 make, name="momentum_update", rtol=1e-9, atol=1e-12)


def check_adam(fn: Callable) -> checks.CheckResult:
    """Check ``fn(w, dw, state, lr, beta1, beta2, eps) -> (w, state)`` against ``optimizers.adam`` over 6 steps."""
    def make(rng):
        d = int(rng.integers(1, 5))
        return (rng.standard_normal(d), rng.standard_normal((6, d)) * 10.0 ** rng.uniform(-3, 1),
                float(rng.uniform(0.01, 0.2)), float(rng.uniform(0.8, 0.95)), float(rng.uniform(0.9, 0.999)))

    def apply(rule):
        return lambda w0, G, lr, b1, b2: run_rule(rule, w0, G, lr=lr, beta1=b1, beta2=b2, eps=1e-8)

    return checks.check_function(apply(fn), apply(adam), make, name="adam_update", rtol=1e-9, atol=1e-12)


def check_backtracking(fn: Callable) -> checks.CheckResult:
    """Check ``fn(f, g, w, d, lr0, rho, c) -> step`` against ``line_search.backtracking`` on random quadratics."""
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
    """Check ``fn(g, S, Y) -> direction`` against ``second_order.lbfgs_direction`` (pairs with yᵀs > 0)."""
    def make(rng):
        d, m = int(rng.integers(2, 6)), int(rng.integers(1, 5))
        M = rng.standard_normal((d, d))
        H = M @ M.T + 0.5 * np.eye(d)
        S = [rng.standard_normal(d) for _ in range(m)]
        return rng.standard_normal(d), S, [H @ s for s in S]

    return checks.check_function(fn, lbfgs_direction, make, name="lbfgs_direction", rtol=1e-8, atol=1e-10)
