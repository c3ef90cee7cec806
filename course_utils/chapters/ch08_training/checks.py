"""ch08_training: the exercise checks (re-exported by the chapter package)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from torch import nn

from ... import checks
from ...scratch import losses
from . import INITIAL_LOSS_TOL, OVERFIT_LOSS_MAX, debugging_recipe, spread, variance_over_depth


# ------------------------------------------------------------- exercise checks
def check_huber_loss(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(pred, target, delta) -> (loss, dpred)`` on residuals on both sides of ±δ."""
    def make_inputs(rng):
        shape = tuple(int(v) for v in rng.integers(2, 6, size=2))
        delta = float(rng.choice([0.5, 1.0, 2.0]))
        return (rng.normal(scale=3 * delta, size=shape), rng.normal(size=shape), delta)

    return checks.check_function(fn, losses.huber_loss, make_inputs, name="huber_loss", trials=trials,
                                 rtol=1e-8, atol=1e-12)


def relu_xavier_decay(depth: int = 20, width: int = 128) -> float:
    """log10 of the pooled activation variance at layer ``depth`` over layer 1: Xavier (gain 1) with ReLU."""
    v = variance_over_depth("xavier", "relu", depth, width, draws=8, seed=1)["activations"]
    return float(np.log10(v[-1] / v[0]))


def check_relu_xavier_prediction(prediction) -> checks.CheckResult:
    """Predict-then-run: log10(Var layer 20 / Var layer 1) for Xavier (gain 1) with ReLU, within half a decade."""
    actual = relu_xavier_decay()
    hint = ("Xavier's Var(w) = 1/n keeps Var(z) only if E[h²] = Var(z), true near 0 for tanh; ReLU zeroes half "
            f"of its inputs, E[relu(z)²] = Var(z)/2, so each of the 19 layers after the first halves the "
            f"variance: 19·log10(1/2) ≈ −5.7; measured {actual:.2f}")
    return checks.check_value(prediction, actual, name="your prediction", rtol=0, atol=0.5, hint=hint)


def softmax_twice_floor(classes: int = 10) -> float:
    """The smallest cross-entropy reachable when the 'logits' are probabilities: ``log(1 + (C − 1)/e)``."""
    return float(np.log(1 + (classes - 1) / np.e))


def check_softmax_twice_floor(answer) -> checks.CheckResult:
    """Derive-then-check: the loss floor of softmax-then-cross-entropy with C = 10, to 3 decimals."""
    hint = ("the best 'logits' in [0, 1] are the one-hot vector (1 for the true class, 0 elsewhere); then "
            "softmax gives e/(e + 9) to the true class, and −log(e/(e + 9)) = log(1 + 9/e) ≈ 1.461")
    return checks.check_value(answer, softmax_twice_floor(10), name="loss floor", rtol=0, atol=2e-3, hint=hint)


def check_model_factory(make_model: Callable[[], nn.Module]) -> checks.CheckResult:
    """Debug-this: the repaired ``make_model`` must pass the first two checks of the recipe."""
    name = "make_model"
    if not callable(make_model):
        return checks._emit(checks.CheckResult(name, False, True, "make_model should be a function"))
    try:
        report = debugging_recipe(make_model, epochs=1, steps=150)
    except Exception as exc:  # the student's bug, reported without a traceback
        return checks._emit(checks.CheckResult(name, False, True, f"make_model() raised {type(exc).__name__}: {exc}"))
    problems = []
    if abs(report.initial_loss - report.log_c) >= INITIAL_LOSS_TOL:
        problems.append(f"the untrained loss is {report.initial_loss:.2f}, not log 10 = 2.30: the initial logits are "
                        "far too large (look at what happens to the last layer's weights)")
    if report.one_batch_loss >= OVERFIT_LOSS_MAX:
        floor = softmax_twice_floor(10)
        why = (f", and it can never go below log(1 + 9/e) = {floor:.3f}: the floor of probabilities fed to a loss "
               "that expects logits" if report.one_batch_loss >= floor - 0.01 else
               ": something between the data and the loss is broken")
        problems.append(f"one batch of 32 is only fitted down to a loss of {report.one_batch_loss:.3f}{why}")
    if problems:
        return checks._emit(checks.CheckResult(name, False, True, "Still wrong: " + "; ".join(problems) + "."))
    return checks._emit(checks.CheckResult(name, True, True,
                                           f"Correct: initial loss {report.initial_loss:.3f} ≈ log 10, one batch fitted "
                                           f"to {report.one_batch_loss:.1e}."))


#: the design target: a 20-layer tanh network of width 128 with weights N(0, gain²/128)
TANH_TARGET = dict(act_spread=2.0, grad_spread=20.0)


def check_tanh_gain(choice) -> checks.CheckResult:
    """Design-to-a-target: ``choice = dict(gain=...)`` keeps activation variance within 2× and gradient
    variance within 20× over 20 tanh layers (pooled over 16 networks)."""
    name = "your gain"
    if choice is Ellipsis or (isinstance(choice, dict) and choice.get("gain", ...) is Ellipsis):
        return checks.check_value(..., 0, name=name)
    try:
        gain = float(choice["gain"])
    except (TypeError, KeyError, ValueError):
        return checks._emit(checks.CheckResult(name, False, True, "choice must be a dict like dict(gain=1.2)"))
    if not 0 < gain < 10:
        return checks._emit(checks.CheckResult(name, False, True, f"gain must be between 0 and 10, got {gain}"))
    res = variance_over_depth("xavier", "tanh", 20, 128, draws=16, gain=gain)
    a, g = spread(res["activations"]), spread(res["gradients"])
    ok = a <= TANH_TARGET["act_spread"] and g <= TANH_TARGET["grad_spread"]
    msg = f"gain {gain:g}: activation variance changes ×{a:.3g} (target ≤ 2), gradient variance ×{g:.3g} (target ≤ 20)"
    if not ok:
        msg += (". Too small a gain lets the activations shrink layer after layer: raise it" if a > 2 else
                ". Too large a gain makes the backward signal grow through the layers: lower it")
    return checks._emit(checks.CheckResult(name, ok, True, msg + "."))
