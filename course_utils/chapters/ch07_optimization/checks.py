"""Chapter 07 · optimization: the exercise checks (re-exported by the chapter module).

Implement (``check_momentum``, ``check_adam``, ``check_backtracking``, ``check_lbfgs_direction``),
derive-then-check (``check_nesterov_limit``), predict-then-run (``check_momentum_steps_prediction``)
and design-to-a-target (``check_design``).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from ... import checks
from ...scratch.line_search import backtracking
from ...scratch.optimizers import adam, run, sgd_momentum, steps_to_tolerance, tuned_heavy_ball
from ...scratch.second_order import lbfgs_direction
from . import condition_number_steps, momentum_lr_limit, run_rule


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


def check_backtracking(fn: Callable, trials: int = 8) -> checks.CheckResult:
    """Check ``fn(f, g, w, d, lr0, rho, c) -> step`` against ``line_search.backtracking`` on random quadratics.

    Along ``d = −g`` the Armijo condition holds exactly for ``η ≤ 2(1 − c)·gᵀg / gᵀHg``. In the first of every
    four trials ``lr0`` is 0.2–0.9 times that bound (the answer is ``lr0`` itself: a search that shrinks before
    its first test fails); in the others it is 1.5–10 times the bound, so the search must shrink it, and
    ``rho`` is drawn from ``[0.2, 0.8]``: a search that never shrinks, or shrinks by a fixed factor (say the
    stub's default 0.5) instead of ``rho``, fails every such trial.
    """
    accepts_lr0 = itertools.cycle((True, False, False, False))

    def make(rng):
        d = int(rng.integers(2, 5))
        M = rng.standard_normal((d, d))
        H = M @ M.T + 0.1 * np.eye(d)
        w = rng.standard_normal(d) * 3
        g = H @ w
        longest = 2 * (1 - 1e-4) * float(g @ g) / float(g @ H @ g)  # the longest step Armijo accepts along −g
        lr0 = longest * float(rng.uniform(0.2, 0.9) if next(accepts_lr0) else rng.uniform(1.5, 10))
        return (lambda v, H=H: 0.5 * float(v @ H @ v), g, w, -g, lr0, float(rng.uniform(0.2, 0.8)), 1e-4)

    return checks.check_function(fn, backtracking, make, name="backtracking", trials=trials)


def check_lbfgs_direction(fn: Callable) -> checks.CheckResult:
    """Check ``fn(g, S, Y) -> direction`` against ``second_order.lbfgs_direction`` (pairs with yᵀs > 0)."""
    def make(rng):
        d, m = int(rng.integers(2, 6)), int(rng.integers(1, 5))
        M = rng.standard_normal((d, d))
        H = M @ M.T + 0.5 * np.eye(d)
        S = [rng.standard_normal(d) for _ in range(m)]
        return rng.standard_normal(d), S, [H @ s for s in S]

    return checks.check_function(fn, lbfgs_direction, make, name="lbfgs_direction", rtol=1e-8, atol=1e-10)


# -------------------------------------------------- exercises of other kinds
#: the derive-then-check exercise: Nesterov's largest stable η on ½ λ w² with this μ and λ
DERIVE_MU, DERIVE_LAM = 0.8, 4.0


def check_nesterov_limit(answer) -> checks.CheckResult:
    """Check ``answer`` (a number: η_max) for PyTorch's Nesterov with ``μ = DERIVE_MU`` on ``½ λ w²``, ``λ = DERIVE_LAM``.

    ``answer`` may also be a function returning it; ``...`` (or a stub) is "not written yet".
    """
    if callable(answer):
        try:
            answer = answer()
        except Exception:  # a stub's NotImplementedError ("not written yet") or the student's bug
            return checks.check_function(answer, lambda: None, lambda rng: (), name="answer", trials=1)
    expected = momentum_lr_limit(DERIVE_MU, DERIVE_LAM, nesterov=True)
    known = {momentum_lr_limit(DERIVE_MU, DERIVE_LAM): "that is heavy ball's limit 2(1 + μ)/λ; Nesterov's "
                                                        "characteristic polynomial is z² − (1 + μ)(1 − ηλ)z + μ(1 − ηλ)",
             2 / DERIVE_LAM: "that is plain gradient descent's 2/λ; momentum changes it",
             2 * (1 + DERIVE_MU) / (1 + 2 * DERIVE_MU): "divide by λ as well: the limit is on η, and ηλ is what matters"}
    hint = "set z = −1 in the characteristic polynomial: a root crosses the unit circle there"
    try:
        value = float(answer)
        hint = next((h for k, h in known.items() if np.isclose(value, k, rtol=1e-3)), hint)
    except (TypeError, ValueError):
        pass
    return checks.check_value(answer, expected, name="η_max", rtol=1e-3, atol=0.0, hint=hint)


#: the predict-then-run exercise: heavy ball on diag(1, κ) with the tuned (η, μ), error below this tolerance
PREDICT_KAPPA, PREDICT_TOL = 100.0, 1e-6


def heavy_ball_steps(kappa: float = PREDICT_KAPPA, tol: float = PREDICT_TOL, max_steps: int = 5000) -> int:
    """Measured steps of tuned heavy ball (``optimizers.tuned_heavy_ball``) on ``diag(1, κ)`` from ``(1, 1)``
    until ``max |e_i| < tol``."""
    lr, mu = tuned_heavy_ball(1.0, kappa)
    H = np.diag([1.0, kappa])
    res = run(sgd_momentum, lambda w: H @ w, np.array([1.0, 1.0]), max_steps, lr=lr, momentum=mu)
    return steps_to_tolerance(np.abs(res.points).max(axis=1), tol)


def check_momentum_steps_prediction(prediction, rtol: float = 0.35) -> checks.CheckResult:
    """Check a *prediction* (a number, or a function returning it) of ``heavy_ball_steps()`` to within ``rtol``:
    the check runs the experiment."""
    if callable(prediction):
        try:
            prediction = prediction()
        except Exception:  # a stub's NotImplementedError ("not written yet") or the student's bug
            return checks.check_function(prediction, lambda: None, lambda rng: (), name="prediction", trials=1)
    measured = float(heavy_ball_steps())
    gd = condition_number_steps([PREDICT_KAPPA])[0][0]
    hint = (f"gradient descent needs {gd} steps here; tuned momentum's rate is (√κ − 1)/(√κ + 1) instead of "
            f"(κ − 1)/(κ + 1), so about √κ/2 · ln(1/ε) steps (plus a few for its transient)")
    return checks.check_value(prediction, measured, name="your prediction of the steps (measured, ±35 %)", rtol=rtol,
                              atol=0.0, hint=hint)


#: the design exercise: heavy ball on diag(1, 100) from (1, 1) must get the loss below DESIGN_TARGET in DESIGN_STEPS
DESIGN_KAPPA, DESIGN_STEPS, DESIGN_TARGET = 100.0, 100, 1e-8


def design_loss(lr: float, momentum: float) -> tuple[float, bool]:
    """Final loss of heavy ball with ``(lr, momentum)`` after ``DESIGN_STEPS`` steps, and whether it diverged."""
    H = np.diag([1.0, DESIGN_KAPPA])
    res = run(sgd_momentum, lambda w: H @ w, np.array([1.0, 1.0]), DESIGN_STEPS,
              loss=lambda w: 0.5 * float(w @ H @ w), lr=lr, momentum=momentum)
    return (float(res.losses[-1]) if not res.diverged else float("inf")), res.diverged


def plain_gd_on_design(n_rates: int = 200) -> dict[str, float]:
    """What plain gradient descent (momentum 0) reaches on the design exercise's problem in ``DESIGN_STEPS`` steps.

    ``"at 2/101"``: the loss at the rate that is best for the worst-case contraction (section 1's
    ``2/(λ_min + λ_max)``); ``"best"``: the lowest loss over ``n_rates`` constant rates up to just below the
    stability limit ``2/λ_max`` (on a finite budget a rate nearer the limit does better on this start).
    """
    rates = np.linspace(0.001, 0.995 * 2 / DESIGN_KAPPA, n_rates)
    return {"at 2/101": design_loss(2 / (1 + DESIGN_KAPPA), 0.0)[0],
            "best": min(design_loss(float(lr), 0.0)[0] for lr in rates), "rates": float(n_rates)}


def _design_verdict(choice) -> tuple[str, str | None]:
    """What the choice achieves, as a sentence, and a hint (``None`` when it reaches the target)."""
    if not isinstance(choice, dict) or set(choice) != {"lr", "momentum"}:
        return f"{choice!r}", "write choice = dict(lr=..., momentum=...) with two numbers"
    try:
        lr, mu = float(choice["lr"]), float(choice["momentum"])
    except (TypeError, ValueError):
        return f"{choice!r}", "lr and momentum must be numbers"
    if not (np.isfinite(lr) and lr > 0 and 0 <= mu < 1):
        return f"η = {lr:g}, μ = {mu:g}", "η must be positive and 0 ≤ μ < 1"
    loss, diverged = design_loss(lr, mu)
    if loss < DESIGN_TARGET:
        return f"loss below {DESIGN_TARGET:g} after {DESIGN_STEPS} steps", None
    start = 0.5 * (1.0 + DESIGN_KAPPA)                # the loss at (1, 1)
    if diverged or loss > start:
        hint = (f"the loss grew from {start:g}: with ηλ_max = {lr * DESIGN_KAPPA:.3g} heavy ball is unstable or "
                f"barely stable (it needs ηλ_max < 2(1 + μ) = {2 * (1 + mu):.3g}, with room to spare)")
    else:
        hint = (f"{np.log10(loss / DESIGN_TARGET):.1f} orders of magnitude short; with κ = {DESIGN_KAPPA:g} the error "
                "shrinks by max(√μ, |roots|) per step: aim for μ near ((√κ − 1)/(√κ + 1))² and η near "
                "4/(√λ_max + √λ_min)²")
    return f"loss {loss:.3g} after {DESIGN_STEPS} steps (η = {lr:g}, μ = {mu:g})", hint


def check_design(choice) -> checks.CheckResult:
    """Check ``choice = dict(lr=..., momentum=...)``: does heavy ball reach ``DESIGN_TARGET`` in ``DESIGN_STEPS`` steps?"""
    target = f"loss below {DESIGN_TARGET:g} after {DESIGN_STEPS} steps"
    if callable(choice):
        try:
            choice = choice()
        except Exception:  # a stub's NotImplementedError ("not written yet") or the student's bug
            return checks.check_function(choice, lambda: None, lambda rng: (), name="choice", trials=1)
    if choice is Ellipsis or (isinstance(choice, dict) and Ellipsis in choice.values()):
        return checks.check_value(Ellipsis, target, name="choice")
    got, hint = _design_verdict(choice)
    return checks.check_value(got, target, name="your (η, μ)", hint=hint)
