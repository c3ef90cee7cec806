"""Chapter 02 · the perceptron: the exercise checks (re-exported by the chapter module)."""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

from ... import checks
from ...base import check_learning_rate
from ...data import make_separable
from ...scratch.perceptron import (
    PerceptronResult,
    adaline_loss,
    adaline_max_lr,
    adaline_train,
    adaline_update,
    augment,
    mistake_bound,
    perceptron_train,
    perceptron_update,
    to_pm1,
)
from ...scratch.threshold import BOOLEAN, GATES, binary_inputs, threshold_unit
from . import draw_adaline, draw_perceptron  # noqa: F401  (used by checks that draw)


# ----------------------------------------------------------------- checks
def _random_linear_problem(rng: np.random.Generator, kind: str):
    d = int(rng.integers(2, 6))
    w = rng.standard_normal(d)
    b = float(rng.standard_normal())
    x = rng.standard_normal(d)
    z = w @ x + b
    if kind == "mistake":
        y = -1.0 if z > 0 else 1.0
    elif kind == "correct":
        y = 1.0 if z > 0 else -1.0
    else:  # the very first step: from zero, every example is a mistake
        w, b, y = np.zeros(d), 0.0, float(rng.choice([-1.0, 1.0]))
    return w, b, x, y, float(rng.choice([0.1, 0.5, 1.0, 2.0]))


def _cycling(kinds: Sequence[str]):
    it = itertools.cycle(kinds)

    def make(rng):
        return _random_linear_problem(rng, next(it))

    return make


def check_perceptron_update(fn: Callable) -> checks.CheckResult:
    """Check ``fn(w, b, x, y, lr) -> (w_new, b_new)`` against :func:`perceptron_update`.

    Trials cycle through a mistake, a correctly classified example and the
    zero start (where every example is a mistake).
    """
    return checks.check_function(fn, perceptron_update, _cycling(["mistake", "correct", "zero"]),
                                 name="perceptron_update", trials=6)


def _bound_inputs(rng: np.random.Generator):
    n = int(rng.integers(10, 40))
    X, y, w, b = make_separable(n, rng, margin=float(rng.uniform(0.05, 0.3)),
                                radius=float(rng.uniform(0.5, 3.0)), return_separator=True)
    s = to_pm1(y)
    scale = float(rng.uniform(0.5, 3.0))  # (w, b) need not have unit norm
    if rng.uniform() < 0.2:  # now and then a line that does not separate: the answer is inf
        return X, s, rng.standard_normal(2), float(rng.standard_normal())
    return X, s, scale * w, scale * b


def check_mistake_bound(fn: Callable) -> checks.CheckResult:
    """Check ``fn(w, b, X, y) -> (R / gamma)^2`` (augmented space; ``inf`` if not separating)."""
    def make(rng):
        X, s, w, b = _bound_inputs(rng)
        return (w, b, X, s)

    return checks.check_function(fn, mistake_bound, make, name="mistake_bound", trials=8, rtol=1e-6)


def check_adaline_update(fn: Callable) -> checks.CheckResult:
    """Check ``fn(w, b, x, y, lr) -> (w_new, b_new)`` against :func:`adaline_update`."""
    return checks.check_function(fn, adaline_update, _cycling(["mistake", "correct", "zero"]),
                                 name="adaline_update", trials=6)


def check_nand_weights(fn: Callable) -> checks.CheckResult:
    """Check that ``fn() -> (w, b)`` gives a threshold unit computing NAND (any valid weights pass).

    Each trial feeds the four binary inputs in a fresh random order.
    """
    def student(X):
        w, b = fn()
        return threshold_unit(w, b)(X)

    def make(rng):
        return (binary_inputs(2)[rng.permutation(4)],)

    return checks.check_function(student, BOOLEAN["NAND"], make, name="nand_weights", trials=3)


# ------------------------------------------- exercises of other kinds: predict, debug, design
#: Predict-then-run: the perceptron on the OR truth table, inputs in the order 00, 01, 10, 11 every epoch,
#: learning rate 1, from w = 0, b = 0.
OR_BY_HAND = dict(gate="OR", lr=1.0)


def or_by_hand() -> PerceptronResult:
    """The run of the predict-then-run exercise: the perceptron on OR's truth table in the stored order."""
    X = binary_inputs(2)
    return perceptron_train(X, BOOLEAN[OR_BY_HAND["gate"]](X), lr=OR_BY_HAND["lr"], max_epochs=100)


def check_or_prediction(prediction) -> checks.CheckResult:
    """Predict-then-run: the total number of mistakes (= updates) of :func:`or_by_hand`."""
    run = or_by_hand()
    X = binary_inputs(2)
    bound = mistake_bound(*GATES["OR"], X, BOOLEAN["OR"](X))
    hint = (f"trace it: from w = 0 every point with y z <= 0 is a mistake, including z = 0 exactly. Mistakes per "
            f"epoch are {run.mistakes.tolist()}, ending at w = {run.w.tolist()}, b = {run.b:g}. Novikoff's bound "
            f"with the hand-set OR unit (w = (1, 1), b = -0.5) is only {bound:.0f}")
    return checks.check_value(prediction, run.total_mistakes, name="your prediction", rtol=0, atol=0, hint=hint)


def perceptron_epochs(X: np.ndarray, y: np.ndarray, epochs: int = 10) -> tuple[np.ndarray, float]:
    """Reference for the debug exercise: the perceptron from zero, ``lr = 1``, the stored order, labels ``{0, 1}``."""
    res = perceptron_train(X, y, lr=1.0, max_epochs=epochs)
    return res.w, res.b


def _labels_as_signs_bug(X, y, epochs):
    """What the exercise's starting code computes: the {0, 1} labels used in the ±1 formula."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(epochs):
        for x_i, y_i in zip(X, y):
            if y_i * (w @ x_i + b) <= 0:
                w, b = w + y_i * x_i, b + y_i
    return w, b


def _delta_rule_on_01(X, y, epochs):
    """A plausible repair: w += (y − ŷ) x with ŷ = [z > 0]; it skips class-0 points that lie on the boundary."""
    X = np.asarray(X, dtype=np.float64)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(epochs):
        for x_i, y_i in zip(X, y):
            delta = y_i - float(w @ x_i + b > 0)
            w, b = w + delta * x_i, b + delta
    return w, b


_PERCEPTRON_BUGS = (
    (_labels_as_signs_bug, "class-0 examples never move the weights: with y = 0 the test y·z <= 0 always holds "
                           "and the update adds 0·x. Map the labels to signs first, s = 2y − 1, and use s in "
                           "both the test and the update"),
    (_delta_rule_on_01, "a point exactly on the boundary (z = 0) is a mistake whatever its label (section 2); "
                        "the (y − ŷ) form skips class-0 points there, e.g. the very first example when it is "
                        "class 0 and w = 0. Use s = 2y − 1 and the test s·z <= 0"),
)


def _separable_problem(rng: np.random.Generator, first_label: int | None = None):
    n = int(rng.integers(8, 30))
    X, y = make_separable(n, rng, margin=float(rng.uniform(0.1, 0.3)))
    if first_label is not None and y[0] != first_label:  # put an example of the wanted class first
        k = int(np.flatnonzero(y == first_label)[0])
        X[[0, k]], y[[0, k]] = X[[k, 0]], y[[k, 0]]
    return X, y, int(rng.integers(3, 12))


def _known_bug(fn: Callable, bugs, args) -> str | None:
    """The message of the first known bug whose output ``fn(*args)`` reproduces (and the reference does not)."""
    try:
        got = fn(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    except Exception:  # noqa: BLE001 - the check itself reports the exception
        return None
    for bug, message in bugs:
        if checks.compare(got, bug(*args), rtol=1e-9, atol=1e-12) is None:
            return message
    return None


def check_perceptron_epochs(fn: Callable) -> checks.CheckResult:
    """Debug-this: ``fn(X, y, epochs) -> (w, b)`` must be the perceptron of section 2 on labels ``{0, 1}``.

    Trials alternate data sets whose first example is class 0 and class 1; when the
    answer reproduces a known bug, the message names it.
    """
    probe = _separable_problem(np.random.default_rng(12345), first_label=0)
    hint = _known_bug(fn, _PERCEPTRON_BUGS, probe)
    if hint is not None:
        return checks.check_value(fn(*probe), perceptron_epochs(*probe), name="(w, b)", hint=hint)
    labels = itertools.cycle([0, 1])
    return checks.check_function(fn, perceptron_epochs, lambda rng: _separable_problem(rng, next(labels)),
                                 name="perceptron_epochs", trials=6, rtol=1e-9, atol=1e-12)


#: Design-to-a-target: full-batch ADALINE on the chapter's data must bring the loss gap
#: (L_T − L*) / (L_0 − L*) to at most ``gap`` within ``epochs`` epochs, without passing 2/λ_max.
ADALINE_DESIGN = dict(epochs=15, gap=1e-6)


def adaline_gap(X: np.ndarray, y: np.ndarray, lr: float, epochs: int) -> float:
    """``(L_T − L*) / (L_0 − L*)`` after ``epochs`` full-batch steps from zero; ``L*`` is the least-squares loss."""
    sol, *_ = np.linalg.lstsq(augment(X), to_pm1(y), rcond=None)
    best = adaline_loss(sol[:-1], sol[-1], X, y)
    res = adaline_train(X, y, lr=lr, epochs=epochs, mode="batch")
    return float((res.losses[-1] - best) / (res.losses[0] - best)) if not res.diverged else float("inf")


def check_adaline_design(choice, X: np.ndarray, y: np.ndarray) -> checks.CheckResult:
    """Design-to-a-target: ``choice = dict(lr=...)`` must meet :data:`ADALINE_DESIGN` on ``(X, y)``.

    The message gives the gap reached, 2/λ_max, and the per-epoch factors ``|1 − ηλ|``
    of the slowest and the fastest direction, so the student sees which one is too slow.
    """
    name = "your learning rate"
    if choice is Ellipsis or (isinstance(choice, dict) and choice.get("lr", ...) is Ellipsis):
        return checks.check_value(..., 0.0, name=name)
    if not isinstance(choice, dict) or "lr" not in choice:
        return checks.check_value(choice, "dict(lr=<a number>)", name="choice")
    try:
        lr = check_learning_rate(choice["lr"])
    except ValueError as exc:
        return checks.check_value(choice["lr"], "a positive finite number", name=name, hint=str(exc))
    epochs, target = ADALINE_DESIGN["epochs"], ADALINE_DESIGN["gap"]
    Xt = augment(X)
    lam = np.linalg.eigvalsh(Xt.T @ Xt / len(Xt))
    slow, fast = abs(1 - lr * lam[0]), abs(1 - lr * lam[-1])
    gap = adaline_gap(X, y, lr, epochs)
    where = (f"η = {lr:g} leaves a loss gap of {gap:.2g} after {epochs} epochs (target: at most {target:g}). "
             f"2/λ_max = {adaline_max_lr(X):.4g}; per epoch the error shrinks by |1 − ηλ_min| = {slow:.3f} along "
             f"the slowest direction and |1 − ηλ_max| = {fast:.3f} along the fastest")
    if fast >= 1:
        why = "η ≥ 2/λ_max: the fastest direction grows every epoch, so a longer run diverges"
    elif slow > fast:
        why = "η is too small: the slowest direction is the bottleneck, raise η"
    else:
        why = "η is too large: the fastest direction now oscillates and shrinks slowly, lower η"
    if fast < 1 and gap <= target:
        return checks.check_value(gap, gap, name=where)
    return checks.check_value(gap, f"at most {target:g}", name=f"the loss gap after {epochs} epochs",
                              hint=f"{why}. {where}")

