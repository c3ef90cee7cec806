"""Chapter 07 · optimization: surfaces, the optimiser widget, the experiments and the exercise checks.

- ``Surface`` and ``SURFACES``: the 2-D test functions (an ill-conditioned quadratic, Rosenbrock, a
  saddle) with gradient, Hessian, view, minima and starts; ``draw_optimizer`` is the widget, one rule
  of :mod:`course_utils.scratch.optimizers` on a surface, with its loss curve.
- Quadratics: ``gd_final_error``, ``condition_number_steps``; momentum's stability:
  ``momentum_lr_limit`` (the derived limits), ``converges_on_quadratic``, ``stability_table``;
  Adam's bias corrections: ``adam_variant``, ``adam_step_ratios``.
- Against torch: ``rule_vs_torch``, ``torch_lbfgs`` (``torch.optim.LBFGS`` and our two-loop
  recursion on its memory); ``Counted`` counts evaluations.
- The curve fit for Gauss–Newton and Levenberg–Marquardt (``curve_model``, ``curve_problem``, …)
  and the failure diagnostics ``first_increase``, ``first_negative``, ``jtj_condition``.
- The network race: ``train_digits_mlp`` / ``optimizer_race`` with ``torch.optim`` on the digits,
  full batch or minibatches, and ``race_findings``, the section's claims as booleans.
- ``check_*``: the exercise checks (implement, derive, predict, design), in
  :mod:`course_utils.chapters.ch07_optimization.checks` and re-exported here.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from ... import data
from ...base import blew_up
from ...plotting import COLORS, loss_surface, show_message
from ...scratch.batches import minibatches
from ...scratch.optimizers import RULES, quadratic_gd, run, steps_to_tolerance
from ...scratch.second_order import lbfgs_direction
from ...widgets import frame

Array = np.ndarray

#: a from-scratch rule must follow its torch.optim twin to this (absolute) difference at every step
TORCH_MATCH_TOL = 1e-6
#: GD on a quadratic "converged" / "diverged" when the final error is below / above these
CONVERGED, DIVERGED = 1e-8, 1e8


# ----------------------------------------------------------------- quadratics
def gd_final_error(H: Array, w0: Array, lr: float, steps: int) -> float:
    """``‖θ_T − θ*‖`` after ``steps`` steps of gradient descent on ``½ θᵀHθ`` (compare with ``CONVERGED``/``DIVERGED``)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.linalg.norm(quadratic_gd(H, w0, lr, steps).points[-1]))


def best_constant_lr(lam_min: float, lam_max: float) -> float:
    """``2 / (λ_min + λ_max)``: the constant step that minimises ``max_i |1 − ηλ_i|``."""
    return 2.0 / (lam_min + lam_max)


def condition_number_steps(kappas: Sequence[float], lr_rule: Callable[[float, float], float] = best_constant_lr,
                           tol: float = 1e-6) -> tuple[list, list]:
    """Measured steps of GD on ``diag(1, κ)`` until ``max |e_i| < tol`` (from ``(1, 1)``), and the
    prediction ``⌈ln tol / ln((κ − 1)/(κ + 1))⌉`` for the best step. ``lr_rule(λ_min, λ_max)`` chooses η."""
    measured, predicted = [], []
    for kappa in kappas:
        path = quadratic_gd(np.diag([1.0, float(kappa)]), np.array([1.0, 1.0]), lr_rule(1.0, kappa),
                            int(20 * kappa + 50)).points
        measured.append(steps_to_tolerance(np.abs(path).max(axis=1), tol))
        predicted.append(int(np.ceil(np.log(tol) / np.log((kappa - 1) / (kappa + 1)))))
    return measured, predicted


# ------------------------------------------------------ momentum's stability
def momentum_lr_limit(mu: float, lam: float = 1.0, nesterov: bool = False) -> float:
    """Largest stable η on ``½ λ w²``: ``2(1 + μ)/λ`` for heavy ball, ``2(1 + μ)/((1 + 2μ) λ)`` for
    PyTorch's Nesterov (both ``2/λ`` at ``μ = 0``). From the roots of the characteristic polynomials
    ``z² − (1 + μ − ηλ) z + μ`` and ``z² − (1 + μ)(1 − ηλ) z + μ(1 − ηλ)``."""
    return 2 * (1 + mu) / ((1 + 2 * mu) * lam) if nesterov else 2 * (1 + mu) / lam


def converges_on_quadratic(method: str, lr: float, mu: float = 0.0, lam: float = 1.0, steps: int = 3000,
                           tol: float = 1e-3) -> bool:
    """Does ``method`` (``"gd"``, ``"momentum"`` or ``"nesterov"`` of ``scratch.optimizers``) shrink
    ``w`` from 1 to below ``tol`` in ``steps`` steps on ``½ λ w²``, without blowing up?"""
    hyper = {} if method == "gd" else {"momentum": mu}
    res = run(RULES[method], lambda w: lam * w, np.array([1.0]), steps, loss=lambda w: 0.5 * lam * float(w @ w),
              lr=lr, **hyper)
    return not res.diverged and abs(float(res.points[-1][0])) < tol


def stability_table(mus: Sequence[float], factors: Sequence[float] = (0.99, 1.01), lam: float = 1.0,
                    limit: Callable[..., float] = momentum_lr_limit) -> dict:
    """``{(method, μ): [converges at factor · limit for each factor]}`` for heavy ball and Nesterov;
    ``limit(μ, λ, nesterov=…)`` is the claimed limit (the derived one by default)."""
    table = {}
    for mu in mus:
        for method, nest in (("momentum", False), ("nesterov", True)):
            lr_max = limit(mu, lam, nesterov=nest)
            table[(method, mu)] = [converges_on_quadratic(method, f * lr_max, mu, lam) for f in factors]
    return table


# --------------------------------------------------- Adam's bias correction
def adam_variant(w: Array, dw: Array, state: dict, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, correct_m: bool = True, correct_v: bool = True):
    """Adam with either bias correction switched off (both on: ``optimizers.adam``)."""
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * state.get("v", np.zeros_like(w)) + (1 - beta2) * dw ** 2
    m_hat = m / (1 - beta1 ** t) if correct_m else m
    v_hat = v / (1 - beta2 ** t) if correct_v else v
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


ADAM_VARIANTS = {"both corrected (Adam)": (True, True), "neither corrected": (False, False),
                 "only m corrected": (True, False), "only v corrected": (False, True)}


def adam_step_ratios(steps: int = 100, beta1: float = 0.9, beta2: float = 0.999, gradient: float = 3.0) -> dict:
    """``|Δw_t| / η`` of each bias-correction variant under a constant gradient (ε = 0)."""
    out = {}
    for name, (cm, cv) in ADAM_VARIANTS.items():
        path = run_rule(adam_variant, np.zeros(1), np.full((steps, 1), gradient), lr=1.0, beta1=beta1, beta2=beta2,
                        eps=0.0, correct_m=cm, correct_v=cv)
        out[name] = np.abs(np.diff(np.concatenate([[0.0], path[:, 0]])))
    return out


def adam_first_step_ratio(beta1: float = 0.9, beta2: float = 0.999, correct_m: bool = False,
                          correct_v: bool = False) -> float:
    """The first step over the bias-corrected one, from the formulas: ``(1 − β₁)/√(1 − β₂)`` with neither
    corrected, ``1/√(1 − β₂)`` with only ``m`` corrected, ``1 − β₁`` with only ``v``."""
    return (1.0 if correct_m else 1 - beta1) / (1.0 if correct_v else np.sqrt(1 - beta2))


# ------------------------------------------------------------ against torch
def rule_vs_torch(name: str, grad: Callable[[Array], Array], w0: Array, steps: int, rule: Callable | None = None,
                  **hyper) -> float:
    """Largest difference between the iterates of ``rule`` (default ``RULES[name]``) and ``torch.optim``'s ``name``."""
    from ...scratch.optimizers import torch_path

    mine = run(rule or RULES[name], grad, w0, steps, **hyper).points
    theirs = torch_path(name, grad, w0, steps, **hyper)
    if mine.shape != theirs.shape:                 # the rule blew up early
        return float("inf")
    return float(np.max(np.abs(mine - theirs)))


class Counted:
    """Wrap a function and count its calls (``.calls``): what line searches really cost."""

    def __init__(self, fn: Callable):
        self.fn, self.calls = fn, 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


@dataclass
class TorchLBFGSRun:
    """``torch.optim.LBFGS`` on a surface: loss after each iteration, closure evaluations, and the largest
    relative difference between its direction and ``second_order.lbfgs_direction`` on its own memory."""

    losses: Array
    evaluations: int
    direction_error: float
    point: Array


def torch_lbfgs(surface: Surface, w0: Array, iterations: int, history_size: int = 10, tol: float = 1e-10,
                two_loop: Callable = lbfgs_direction) -> TorchLBFGSRun:
    """Run ``torch.optim.LBFGS`` (strong-Wolfe line search) one iteration per ``step`` until the loss is below ``tol``.

    After every iteration, ``two_loop(g, S, Y)`` is applied to torch's stored pairs (``old_stps``,
    ``old_dirs``) and the gradient its direction was computed from; it must give torch's direction ``d``.
    """
    import torch

    w = torch.tensor(np.asarray(w0, dtype=np.float64), requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=1, max_iter=1, max_eval=25, history_size=history_size,
                            line_search_fn="strong_wolfe")
    calls = [0]

    def closure():
        opt.zero_grad()
        loss = surface.f(w[0], w[1])
        loss.backward()
        calls[0] += 1
        return loss
    losses, worst = [surface.value(w.detach().numpy())], 0.0
    for _ in range(iterations):
        opt.step(closure)
        st = opt.state[w]
        d = st["d"].numpy()
        mine = two_loop(st["prev_flat_grad"].numpy(), [s.numpy() for s in st["old_stps"]],
                        [y.numpy() for y in st["old_dirs"]])
        worst = max(worst, float(np.max(np.abs(mine - d)) / np.max(np.abs(d))))
        losses.append(surface.value(w.detach().numpy()))
        if losses[-1] < tol:
            break
    return TorchLBFGSRun(np.array(losses), calls[0], worst, w.detach().numpy().copy())


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
    table = {"gd": {}, "momentum": {"momentum": beta}, "nesterov": {"momentum": beta}, "adagrad": {},
             "rmsprop": {"alpha": beta}, "adam": {"beta1": beta}, "adamw": {"beta1": beta}}
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


def first_increase(losses: Sequence[float]) -> int | None:
    """The first step ``k`` whose loss is above the previous one (``None`` if the losses never rise)."""
    up = np.flatnonzero(np.diff(np.asarray(losses, dtype=np.float64)) > 0)
    return int(up[0]) + 1 if up.size else None


def first_negative(values: Sequence[float]) -> int | None:
    """The first index whose value is negative (``None`` if none is)."""
    neg = np.flatnonzero(np.asarray(values, dtype=np.float64) < 0)
    return int(neg[0]) if neg.size else None


def jtj_condition(jacobian: Callable[[Array], Array], theta: Array) -> float:
    """Condition number ``λ_max/λ_min`` of ``JᵀJ`` at ``theta``."""
    J = jacobian(np.asarray(theta, dtype=np.float64))
    return float(np.linalg.cond(J.T @ J))


# ---------------------------------------- optimisers on a real network's loss
def digits_tensors(seed: int = 0):
    """Standardised 8×8 digits as float32 tensors: ``(X_train, y_train, X_val, y_val)`` (``data.split``)."""
    import torch

    X, y = data.load_digits()
    parts = data.split(X, y, np.random.default_rng(seed))
    X_train, X_val = data.standardize(parts.X_train, parts.X_val)
    return (torch.tensor(X_train, dtype=torch.float32), torch.as_tensor(parts.y_train),
            torch.tensor(X_val, dtype=torch.float32), torch.as_tensor(parts.y_val))


#: learning rates of the race, (full batch, minibatch), each the best of a grid ×3 apart for 20 epochs
RACE_LRS: dict[str, tuple[float, float]] = {
    "SGD": (1.0, 0.3), "Nesterov": (0.3, 0.03), "Adagrad": (0.1, 0.1), "RMSprop": (0.01, 3e-3),
    "Adam": (0.03, 0.01), "AdamW": (0.03, 0.01), "L-BFGS": (1.0, 1.0),
}


def make_torch_optimizer(name: str, params, lr: float):
    """The ``torch.optim`` optimiser called ``name`` in the race (Nesterov with μ = 0.9, AdamW with λ = 0.01,
    L-BFGS with memory 10, one iteration per ``step`` and a strong-Wolfe line search)."""
    import torch

    if name == "SGD":
        return torch.optim.SGD(params, lr=lr)
    if name == "Nesterov":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "Adagrad":
        return torch.optim.Adagrad(params, lr=lr)
    if name == "RMSprop":
        return torch.optim.RMSprop(params, lr=lr)
    if name == "Adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "AdamW":
        return torch.optim.AdamW(params, lr=lr, weight_decay=1e-2)
    if name == "L-BFGS":
        return torch.optim.LBFGS(params, lr=lr, max_iter=1, max_eval=25, history_size=10, line_search_fn="strong_wolfe")
    raise ValueError(f"unknown optimiser {name!r}; choose one of {list(RACE_LRS)}")


def digits_mlp(hidden: int = 32):
    """The race's network: ``Linear(64, hidden) → tanh → Linear(hidden, 10)`` (smooth, unlike ReLU)."""
    from torch import nn

    return nn.Sequential(nn.Linear(64, hidden), nn.Tanh(), nn.Linear(hidden, 10))


@dataclass
class NetworkRun:
    """One optimiser on the digits MLP: full training loss after each epoch of data, and validation accuracy."""

    losses: list
    val_accuracy: float
    gradient_evaluations: int
    diverged: bool


def train_digits_mlp(name: str, batch_size: int | None, epochs: int, tensors, lr: float | None = None,
                     seed: int = 0, hidden: int = 32) -> NetworkRun:
    """Train :func:`digits_mlp` with ``torch.optim``'s ``name`` for ``epochs`` epochs of data.

    ``batch_size=None`` is full batch (one gradient per epoch; L-BFGS may spend several in its line
    search, and each counts as an epoch of data). Minibatches come from ``scratch.batches.minibatches``.
    ``training.fit`` is not used: it cannot drive L-BFGS, whose ``step`` needs a closure.
    """
    import torch
    import torch.nn.functional as F

    X, y, X_val, y_val = tensors
    n = len(X)
    lr_full, lr_mini = RACE_LRS[name]
    lr = lr if lr is not None else (lr_full if batch_size is None else lr_mini)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = digits_mlp(hidden)
    opt = make_torch_optimizer(name, model.parameters(), lr)
    calls = [0]

    def full_loss() -> float:
        with torch.no_grad():
            return float(F.cross_entropy(model(X), y))
    losses, seen = [full_loss()], 0.0
    while seen < epochs and not blew_up(losses[-1], losses[0]):
        batches = [np.arange(n)] if batch_size is None else minibatches(n, batch_size, rng)
        for idx in batches:
            idx = torch.as_tensor(idx)

            def closure(idx=idx):
                opt.zero_grad()
                loss = F.cross_entropy(model(X[idx]), y[idx])
                loss.backward()
                calls[0] += 1
                return loss
            before = calls[0]
            if name == "L-BFGS":
                opt.step(closure)
            else:
                closure()
                opt.step()
            seen += (calls[0] - before) * len(idx) / n
        losses.append(full_loss())
    with torch.no_grad():
        acc = float((model(X_val).argmax(1) == y_val).float().mean())
    return NetworkRun(losses, acc, calls[0], blew_up(losses[-1], losses[0]))


def optimizer_race(names: Sequence[str], batch_size: int | None, epochs: int, tensors, seed: int = 0) -> dict:
    """``{name: NetworkRun}`` for each optimiser, all with the same data budget."""
    return {name: train_digits_mlp(name, batch_size, epochs, tensors, seed=seed) for name in names}


def race_findings(full: dict, mini: dict) -> dict[str, bool]:
    """The section's claims about a race (``optimizer_race`` in full batch and with minibatches), each true or false.

    Thresholds from seeds 0–2 at 20 epochs: L-BFGS/best first-order (full batch) ≤ 0.47, minibatch/full-batch
    loss ≤ 0.18 for SGD and Adam, minibatch Adam/full-batch L-BFGS ≤ 0.55.
    """
    first_order = min(r.losses[-1] for name, r in full.items() if name != "L-BFGS")
    return {
        "nothing diverged": not any(r.diverged for r in [*full.values(), *mini.values()]),
        "full batch: L-BFGS < 0.6 × best first-order": full["L-BFGS"].losses[-1] < 0.6 * first_order,
        "minibatches: SGD and Adam < 0.25 × their full batch": all(
            mini[name].losses[-1] < 0.25 * full[name].losses[-1] for name in ("SGD", "Adam")),
        "minibatch Adam < 0.7 × full-batch L-BFGS": mini["Adam"].losses[-1] < 0.7 * full["L-BFGS"].losses[-1],
    }


# ------------------------------------------------------------------ helpers
def run_rule(rule: Callable, w0: Array, grads: Array, **hyper) -> Array:
    """Apply ``rule`` to a fixed sequence of gradients (rows of ``grads``); returns the iterates."""
    w, state, out = np.asarray(w0, dtype=np.float64), {}, []
    for g in grads:
        w, state = rule(w, g, state, **hyper)
        out.append(np.asarray(w))
    return np.array(out)


# The exercise checks live in ch07_optimization/checks.py (this chapter's module is a package: it is long).
from .checks import (  # noqa: E402, F401
    DERIVE_LAM,
    DERIVE_MU,
    DESIGN_KAPPA,
    DESIGN_STEPS,
    DESIGN_TARGET,
    PREDICT_KAPPA,
    PREDICT_TOL,
    check_adam,
    check_backtracking,
    check_design,
    check_lbfgs_direction,
    check_momentum,
    check_momentum_steps_prediction,
    check_nesterov_limit,
    design_loss,
    heavy_ball_steps,
    plain_gd_on_design,
)
