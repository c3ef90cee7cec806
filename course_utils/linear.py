"""Chapter 02: linear threshold units: the perceptron, ADALINE and Boolean gates.

Contract
--------
- Inputs ``X`` have shape ``(n, d)`` (float64 after conversion); labels ``y`` have
  shape ``(n,)``. Labels may be class labels ``{0, 1}`` (the data convention of
  ``course_utils.data``) or signs ``{-1, +1}``: every function that takes a data set
  maps them with :func:`to_pm1` (0 -> -1, 1 -> +1) before doing any math.
  Single-example rules (:func:`perceptron_update`, :func:`adaline_update`) take a
  scalar ``y`` that is already -1 or +1.
- Parameters are kept apart as weights ``w`` (shape ``(d,)``) and a scalar bias
  ``b``, with pre-activation ``z = w·x + b``. The bias is just one more weight on a
  constant input 1: :func:`augment` appends that column, and ``(w, b)`` is then one
  vector ``w~ = (w, b)`` in R^(d+1) with ``z = w~·x~``. The perceptron learns ``b``
  exactly like a weight, so its convergence theory (:func:`mistake_bound`) lives in
  the augmented space R^(d+1); :func:`margin` is the ordinary distance in R^d.
- Decision rule: class 1 where ``z > 0``, class 0 elsewhere. During training a
  point with ``y z <= 0`` is a mistake: a point exactly on the boundary counts as
  wrong whatever its label, so from ``w = 0, b = 0`` the first example is always a
  mistake.
- Randomness (the order in which an epoch visits the examples) comes only from an
  explicit ``rng = np.random.default_rng(seed)``; ``rng=None`` keeps the stored order.
- Training functions return a result object holding the whole history (weights
  after every update, mistakes per epoch, losses), so notebooks and widgets can
  step through it. Non-convergence and divergence are reported in ``.converged`` /
  ``.diverged`` and a plain-English ``.message``; they are not exceptions.
- Drawing functions (``plot_*``, ``draw_*``) return a Matplotlib ``Axes`` or
  ``Figure``; the widget functions ``draw_*`` never raise for a setting a student
  can reach: they draw a message with :func:`course_utils.plotting.show_message`.
- Exercise checks (``check_*``) are thin wrappers over
  :func:`course_utils.checks.check_function` on fresh random inputs.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator, NullFormatter

from . import checks
from .data import make_separable
from .plotting import COLORS, message_figure, scatter_classes, show_message

__all__ = [
    "to_pm1", "augment", "predict", "perceptron_update", "perceptron_train", "PerceptronResult",
    "find_cycle", "margin", "augmented_margin", "radius", "mistake_bound", "margin_experiment",
    "margin_data", "adaline_loss", "adaline_gradient", "adaline_update", "adaline_train",
    "adaline_max_lr", "AdalineResult", "threshold_unit", "GATES", "BOOLEAN", "binary_inputs", "truth_table",
    "XOR_WEIGHTS", "two_layer_threshold", "xor_network", "plot_boundary", "plot_geometry",
    "plot_perceptron_state", "plot_mistakes", "plot_boundaries", "plot_margin_experiment",
    "plot_gates", "plot_xor_network", "draw_perceptron", "draw_adaline",
    "check_perceptron_update", "check_mistake_bound", "check_adaline_update", "check_nand_weights",
]


# ------------------------------------------------------------------ basics
def to_pm1(y: np.ndarray) -> np.ndarray:
    """Map labels ``{0, 1}`` (or already ``{-1, +1}``) to float ``{-1.0, +1.0}``: 0 -> -1, 1 -> +1."""
    y = np.asarray(y)
    values = set(np.unique(y).tolist())
    if not values <= {-1, 0, 1}:
        raise ValueError(f"binary labels must be in {{0, 1}} or {{-1, +1}}, got values {sorted(values)}")
    if 0 in values and -1 in values:
        raise ValueError("labels mix 0 and -1: use either {0, 1} or {-1, +1}")
    return np.where(y == 1, 1.0, -1.0)


def augment(X: np.ndarray) -> np.ndarray:
    """Append a constant-1 column: ``(n, d) -> (n, d + 1)``, so that ``w~·x~ = w·x + b``."""
    X = np.asarray(X, dtype=np.float64)
    return np.hstack([X, np.ones((len(X), 1))])


def _as_data(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, d), got shape {X.shape}")
    s = to_pm1(y)
    if s.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},), got shape {np.shape(y)}")
    return X, s


def predict(X: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """Class labels ``{0, 1}`` of a linear threshold unit: 1 where ``w·x + b > 0``."""
    X = np.asarray(X, dtype=np.float64)
    return (X @ np.asarray(w, dtype=np.float64) + b > 0).astype(np.int64)


# -------------------------------------------------------------- perceptron
def perceptron_update(w: np.ndarray, b: float, x: np.ndarray, y: float,
                      lr: float = 1.0) -> tuple[np.ndarray, float]:
    """One perceptron step on example ``(x, y)`` with ``y`` in ``{-1, +1}``.

    If ``y (w·x + b) <= 0`` (a mistake) returns ``(w + lr y x, b + lr y)``,
    otherwise ``(w, b)`` unchanged. Always returns a new array; the inputs are not modified.
    """
    w = np.array(w, dtype=np.float64)  # a copy
    x = np.asarray(x, dtype=np.float64)
    if y * (w @ x + b) <= 0:
        return w + lr * y * x, float(b + lr * y)
    return w, float(b)


@dataclass
class PerceptronResult:
    """Everything :func:`perceptron_train` did, update by update.

    ``weights[k]``, ``biases[k]``: the parameters after ``k`` updates (row 0 is the
    start). ``update_example[k-1]`` is the index (into ``X``) of the example that
    caused update ``k``, made during epoch ``update_epoch[k-1]`` (1-based).
    ``mistakes[e-1]``: mistakes (= updates) made during epoch ``e``.
    ``orders[e-1]``: the order in which epoch ``e`` visited the examples.
    """

    w: np.ndarray
    b: float
    weights: np.ndarray
    biases: np.ndarray
    update_example: np.ndarray
    update_epoch: np.ndarray
    mistakes: np.ndarray
    orders: list[np.ndarray]
    converged: bool
    lr: float
    max_epochs: int

    @property
    def epochs(self) -> int:
        """Number of epochs run (the last one is mistake-free if ``converged``)."""
        return len(self.mistakes)

    @property
    def total_mistakes(self) -> int:
        """Total number of mistakes, which is also the number of updates."""
        return int(self.mistakes.sum())

    def at_epoch(self, epoch: int) -> tuple[np.ndarray, float]:
        """``(w, b)`` at the end of ``epoch`` (0 = the start); past the last epoch, the final ones."""
        k = int(np.sum(self.update_epoch <= max(int(epoch), 0)))
        return self.weights[k].copy(), float(self.biases[k])

    def mistakes_until(self, epoch: int) -> int:
        """Mistakes made in epochs ``1 … epoch``."""
        return int(self.mistakes[:max(int(epoch), 0)].sum())

    def epoch_weights(self) -> np.ndarray:
        """Augmented weights ``(w, b)`` at the end of every epoch: shape ``(epochs + 1, d + 1)``."""
        return np.array([np.append(*self.at_epoch(e)) for e in range(self.epochs + 1)])

    @property
    def message(self) -> str:
        if self.converged:
            return (f"converged: epoch {self.epochs} made no mistake; "
                    f"{self.total_mistakes} mistakes (= updates) in all")
        if self.epochs == 0:
            return "not trained: max_epochs=0"
        return (f"did NOT converge: epoch {self.epochs} (the max_epochs cap) still made "
                f"{int(self.mistakes[-1])} mistakes; the data may not be linearly separable")

    def __repr__(self) -> str:
        return f"PerceptronResult({self.message}; w={np.round(self.w, 4)}, b={self.b:.4g})"


def perceptron_train(X: np.ndarray, y: np.ndarray, lr: float = 1.0, max_epochs: int = 100,
                     rng: np.random.Generator | None = None, w0: np.ndarray | None = None,
                     b0: float = 0.0) -> PerceptronResult:
    """Rosenblatt's perceptron on ``X`` (n, d) and labels ``y`` ({0,1} or {-1,+1}).

    Each epoch visits every example once, in a fresh permutation drawn from ``rng``
    (or in the stored order if ``rng`` is None), and applies :func:`perceptron_update`.
    Training stops after the first epoch without a mistake (``converged=True``) or
    after ``max_epochs`` epochs (``converged=False``). Starts from ``w0`` (default 0)
    and ``b0``.
    """
    X, s = _as_data(X, y)
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"the learning rate must be a positive number, got {lr}")
    if max_epochs < 0:
        raise ValueError(f"max_epochs must be >= 0, got {max_epochs}")
    n, d = X.shape
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=np.float64)
    b = float(b0)
    weights, biases, upd_ex, upd_ep, mistakes, orders = [w.copy()], [b], [], [], [], []
    converged = False
    for epoch in range(1, max_epochs + 1):
        order = rng.permutation(n) if rng is not None else np.arange(n)
        orders.append(order)
        count = 0
        for i in order:
            if s[i] * (X[i] @ w + b) <= 0:  # a mistake: move towards the right side
                w = w + lr * s[i] * X[i]
                b = b + lr * s[i]
                weights.append(w.copy())
                biases.append(b)
                upd_ex.append(int(i))
                upd_ep.append(epoch)
                count += 1
        mistakes.append(count)
        if count == 0:
            converged = True
            break
    return PerceptronResult(w=w, b=float(b), weights=np.array(weights), biases=np.array(biases),
                            update_example=np.array(upd_ex, dtype=np.int64),
                            update_epoch=np.array(upd_ep, dtype=np.int64),
                            mistakes=np.array(mistakes, dtype=np.int64), orders=orders,
                            converged=converged, lr=float(lr), max_epochs=int(max_epochs))


def find_cycle(states: np.ndarray) -> tuple[int, int] | None:
    """First exact repetition in a sequence of states (rows): ``(first, period)`` or None.

    With ``states = result.epoch_weights()`` from a run with a fixed order, a
    repetition means training is periodic from epoch ``first`` on.
    """
    seen: dict[bytes, int] = {}
    for j, row in enumerate(np.asarray(states, dtype=np.float64)):
        key = row.tobytes()
        if key in seen:
            return seen[key], j - seen[key]
        seen[key] = j
    return None


# ------------------------------------------------------- margins and bound
def margin(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray) -> float:
    """Geometric margin of the line ``w·x + b = 0`` in input space: ``min_i y_i (w·x_i + b) / ||w||``.

    It is the distance from the line to the closest point when every point is on
    its correct side, and negative when some point is on the wrong side.
    """
    X, s = _as_data(X, y)
    w = np.asarray(w, dtype=np.float64)
    nw = np.linalg.norm(w)
    if nw == 0:
        raise ValueError("w = 0 defines no boundary, so it has no margin")
    return float(np.min(s * (X @ w + b)) / nw)


def augmented_margin(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray) -> float:
    """Margin of the unit vector ``u = (w, b) / ||(w, b)||`` on the augmented points ``(x, 1)``.

    Equals ``margin(w, b, X, y) * ||w|| / ||(w, b)||``: never larger than the
    input-space margin, and this is the ``gamma`` of the perceptron's mistake bound.
    """
    X, s = _as_data(X, y)
    wt = np.append(np.asarray(w, dtype=np.float64), b)
    nwt = np.linalg.norm(wt)
    if nwt == 0:
        raise ValueError("(w, b) = 0 defines no boundary, so it has no margin")
    return float(np.min(s * (augment(X) @ wt)) / nwt)


def radius(X: np.ndarray, augmented: bool = True) -> float:
    """``R = max_i ||x~_i||`` with ``x~ = (x, 1)`` (or ``max_i ||x_i||`` with ``augmented=False``)."""
    X = np.asarray(X, dtype=np.float64)
    return float(np.max(np.linalg.norm(augment(X) if augmented else X, axis=1)))


def mistake_bound(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray) -> float:
    """Novikoff's bound ``(R / gamma)^2`` on the perceptron's mistakes (from zero, any ``lr > 0``, any order).

    ``R = max_i ||(x_i, 1)||`` and ``gamma = augmented_margin(w, b, X, y)``, both in
    the augmented space where the perceptron learns ``(w, b)``. ``(w, b)`` is any
    separator (for example the one that generated the data); returns ``inf`` if it
    does not separate the data (``gamma <= 0``).
    """
    g = augmented_margin(w, b, X, y)
    if g <= 0:
        return float("inf")
    return float((radius(X) / g) ** 2)


def margin_data(n: int, rng: np.random.Generator, margin: float = 0.1):
    """``make_separable`` data with a gap ``margin``; a *negative* margin makes the classes overlap.

    For ``margin < 0`` the two classes of a zero-gap data set are pushed into each
    other by ``|margin|`` along the true normal, so points near the line cross over
    and (almost surely) no line separates them. Returns ``X, y, w_true, b_true``.
    """
    m = float(margin)
    X, y, w, b = make_separable(n, rng, margin=max(m, 0.0), return_separator=True)
    if m < 0:
        X = X - np.outer(to_pm1(y) * abs(m), w)
    return X, y, w, b


def margin_experiment(margins: Sequence[float], n: int, seeds: Sequence[int], lr: float = 1.0,
                      max_epochs: int = 1000) -> dict[str, np.ndarray]:
    """Measured perceptron mistakes vs Novikoff's bound on ``make_separable`` data.

    For every margin and seed: data from ``make_separable(n, rng, margin, return_separator=True)``
    with ``rng = default_rng(seed)``, then training with a random order from the same
    ``rng``; the bound uses the true separator. Returns arrays of shape
    ``(len(margins), len(seeds))``: ``mistakes``, ``bound``, ``gamma`` (augmented
    margin), ``epochs``, ``converged``, and ``margin`` of shape ``(len(margins),)``.
    """
    shape = (len(margins), len(seeds))
    out = {k: np.zeros(shape) for k in ("mistakes", "bound", "gamma", "epochs")}
    out["converged"] = np.zeros(shape, dtype=bool)
    for i, m in enumerate(margins):
        for j, seed in enumerate(seeds):
            rng = np.random.default_rng(seed)
            X, y, w, b = make_separable(n, rng, margin=m, return_separator=True)
            res = perceptron_train(X, y, lr=lr, max_epochs=max_epochs, rng=rng)
            out["mistakes"][i, j] = res.total_mistakes
            out["bound"][i, j] = mistake_bound(w, b, X, y)
            out["gamma"][i, j] = augmented_margin(w, b, X, y)
            out["epochs"][i, j] = res.epochs
            out["converged"][i, j] = res.converged
    out["margin"] = np.asarray(margins, dtype=np.float64)
    return out


# ------------------------------------------------------------------ ADALINE
def adaline_loss(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of the *linear* output: ``(1/n) sum_i 1/2 (y_i - z_i)^2`` with ``y`` in {-1, +1}."""
    X, s = _as_data(X, y)
    r = s - (X @ np.asarray(w, dtype=np.float64) + b)
    return float(0.5 * np.mean(r ** 2))


def adaline_gradient(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Gradient of :func:`adaline_loss`: ``(-(1/n) X^T (y - z), -(1/n) sum_i (y_i - z_i))``."""
    X, s = _as_data(X, y)
    r = s - (X @ np.asarray(w, dtype=np.float64) + b)
    return -(X.T @ r) / len(X), float(-np.mean(r))


def adaline_update(w: np.ndarray, b: float, x: np.ndarray, y: float,
                   lr: float) -> tuple[np.ndarray, float]:
    """Widrow–Hoff delta rule on one example (``y`` in {-1, +1}): ``w + lr (y - z) x``, ``b + lr (y - z)``.

    ``z = w·x + b`` is the linear output *before* any threshold. This is one step of
    gradient descent with rate ``lr`` on ``1/2 (y - z)^2``.
    """
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    delta = y - (w @ x + b)
    return w + lr * delta * x, float(b + lr * delta)


def adaline_max_lr(X: np.ndarray) -> float:
    """``2 / lambda_max`` of the Hessian ``X~^T X~ / n`` of :func:`adaline_loss`.

    Full-batch gradient descent on the ADALINE loss converges for ``0 < lr < 2 / lambda_max``
    and diverges (from a generic start) for ``lr > 2 / lambda_max``.
    """
    Xt = augment(X)
    return float(2.0 / np.linalg.eigvalsh(Xt.T @ Xt / len(Xt))[-1])


@dataclass
class AdalineResult:
    """History of :func:`adaline_train`: ``losses[e]``, ``weights[e]``, ``biases[e]`` after epoch ``e`` (0 = start)."""

    w: np.ndarray
    b: float
    losses: np.ndarray
    weights: np.ndarray
    biases: np.ndarray
    diverged: bool
    lr: float
    mode: str
    max_lr: float = field(default=float("nan"))

    @property
    def message(self) -> str:
        if self.diverged:
            extra = (f" > 2/lambda_max = {self.max_lr:.3g}" if self.mode == "batch" and self.lr > self.max_lr else "")
            return (f"diverged: with learning rate {self.lr:g}{extra} the loss blew up "
                    f"to {self.losses[-1]:.3g} after {len(self.losses) - 1} epochs")
        return f"loss {self.losses[0]:.4g} -> {self.losses[-1]:.4g} in {len(self.losses) - 1} epochs ({self.mode})"

    def __repr__(self) -> str:
        return f"AdalineResult({self.message})"


def adaline_train(X: np.ndarray, y: np.ndarray, lr: float = 0.05, epochs: int = 50, mode: str = "sgd",
                  rng: np.random.Generator | None = None, w0: np.ndarray | None = None,
                  b0: float = 0.0, blowup: float = 1e8) -> AdalineResult:
    """ADALINE trained on the squared error of its linear output (targets ``y`` mapped to ±1).

    ``mode="sgd"``: the Widrow–Hoff rule :func:`adaline_update` on one example at a
    time (order from ``rng``, or the stored order). ``mode="batch"``: one gradient
    step ``w -= lr * adaline_gradient(...)`` per epoch on the mean loss. Stops early
    with ``diverged=True`` when the loss is not finite or exceeds ``blowup`` times
    its starting value (at least 1).
    """
    if mode not in ("sgd", "batch"):
        raise ValueError(f"mode must be 'sgd' or 'batch', got {mode!r}")
    X, s = _as_data(X, y)
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"the learning rate must be a positive number, got {lr}")
    n, d = X.shape
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=np.float64)
    b = float(b0)
    losses, weights, biases = [adaline_loss(w, b, X, s)], [w.copy()], [b]
    limit = blowup * max(losses[0], 1.0)
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            if mode == "batch":
                gw, gb = adaline_gradient(w, b, X, s)
                w, b = w - lr * gw, b - lr * gb
            else:
                for i in (rng.permutation(n) if rng is not None else range(n)):
                    w, b = adaline_update(w, b, X[i], s[i], lr)
            losses.append(adaline_loss(w, b, X, s))
            weights.append(w.copy())
            biases.append(b)
            if not np.isfinite(losses[-1]) or losses[-1] > limit:
                diverged = True
                break
    return AdalineResult(w=w, b=float(b), losses=np.array(losses), weights=np.array(weights),
                         biases=np.array(biases), diverged=diverged, lr=float(lr), mode=mode,
                         max_lr=adaline_max_lr(X))


# ---------------------------------------------------------- Boolean gates
def threshold_unit(w: Sequence[float], b: float) -> Callable[[np.ndarray], np.ndarray]:
    """A McCulloch–Pitts unit: ``f(X) = 1 if w·x + b > 0 else 0`` for ``X`` of shape ``(n, len(w))``."""
    w = np.asarray(w, dtype=np.float64).ravel()
    b = float(b)

    def unit(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(w):
            raise ValueError(f"this unit has {len(w)} input(s): X must have shape (n, {len(w)}), got {X.shape}")
        return (X @ w + b > 0).astype(np.int64)

    return unit


#: Hand-set weights ``(w, b)`` of threshold units computing Boolean gates on {0, 1} inputs.
GATES: dict[str, tuple[np.ndarray, float]] = {
    "AND": (np.array([1.0, 1.0]), -1.5),   # fires only when x1 + x2 > 1.5
    "OR": (np.array([1.0, 1.0]), -0.5),    # fires when x1 + x2 > 0.5
    "NAND": (np.array([-1.0, -1.0]), 1.5),  # NOT AND: the AND unit with every sign flipped
    "NOT": (np.array([-1.0]), 0.5),        # fires when x < 0.5
}

#: The Boolean function each gate must compute, for checking truth tables.
BOOLEAN = {
    "AND": lambda X: np.all(X == 1, axis=1).astype(np.int64),
    "OR": lambda X: np.any(X == 1, axis=1).astype(np.int64),
    "NAND": lambda X: 1 - np.all(X == 1, axis=1).astype(np.int64),
    "NOT": lambda X: (X[:, 0] == 0).astype(np.int64),
    "XOR": lambda X: (X.sum(axis=1) % 2).astype(np.int64),
}


def binary_inputs(k: int) -> np.ndarray:
    """All ``2**k`` binary input rows in truth-table order (``00, 01, 10, 11`` for k = 2), int64."""
    return np.array(list(itertools.product([0, 1], repeat=k)), dtype=np.int64)


def truth_table(f: Callable[[np.ndarray], np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, outputs)`` of ``f`` on every binary input of length ``k``."""
    X = binary_inputs(k)
    return X, np.asarray(f(X)).astype(np.int64)


#: A two-layer threshold network for XOR: hidden units OR and NAND, output AND of the two.
XOR_WEIGHTS: dict[str, np.ndarray] = {
    "W1": np.stack([GATES["OR"][0], GATES["NAND"][0]]),  # (2 hidden, 2 inputs)
    "b1": np.array([GATES["OR"][1], GATES["NAND"][1]]),
    "w2": GATES["AND"][0].copy(),
    "b2": np.array(GATES["AND"][1]),
}


def two_layer_threshold(X: np.ndarray, W1: np.ndarray, b1: np.ndarray, w2: np.ndarray,
                        b2: float) -> tuple[np.ndarray, np.ndarray]:
    """Two layers of threshold units: ``h = [W1 x + b1 > 0]``, ``out = [w2·h + b2 > 0]``; returns ``(out, h)``."""
    X = np.asarray(X, dtype=np.float64)
    h = (X @ np.asarray(W1, dtype=np.float64).T + b1 > 0).astype(np.int64)
    out = (h @ np.asarray(w2, dtype=np.float64) + float(b2) > 0).astype(np.int64)
    return out, h


def xor_network(X: np.ndarray) -> np.ndarray:
    """XOR of two binary inputs computed as AND(OR(x), NAND(x)) with :data:`XOR_WEIGHTS`."""
    return two_layer_threshold(X, **XOR_WEIGHTS)[0]


# ---------------------------------------------------------------- drawing
def plot_boundary(w: np.ndarray, b: float, ax, offset: float = 0.0, **kwargs):
    """Draw the line ``w·x + b = offset * ||w||`` (``offset=0``: the boundary) across the current axes limits.

    Set the axes limits first. Draws nothing if ``w = 0``. Returns the line (or None).
    """
    w = np.asarray(w, dtype=np.float64)
    nw = np.linalg.norm(w)
    if nw == 0:
        return None
    c = offset * nw - b  # the line is w·x = c
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    if abs(w[1]) >= abs(w[0]):
        xs = np.array([x0, x1])
        ys = (c - w[0] * xs) / w[1]
    else:
        ys = np.array([y0, y1])
        xs = (c - w[1] * ys) / w[0]
    kwargs.setdefault("color", "k")
    (line,) = ax.plot(xs, ys, **kwargs)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    return line


def _strip(w, b, lo: float, hi: float, far: float) -> np.ndarray:
    """Corners of the strip ``lo <= (w·x + b)/||w|| <= hi``, cut off ``far`` away along the line."""
    w = np.asarray(w, dtype=np.float64)
    nw = np.linalg.norm(w)
    n = w / nw
    t = np.array([-n[1], n[0]])
    foot = -b / nw * n  # the point of the line closest to the origin
    return np.array([foot + lo * n - far * t, foot + lo * n + far * t,
                     foot + hi * n + far * t, foot + hi * n - far * t])


def _shade(ax, w, b, lim, alpha=0.12):
    """Tint the two half-planes of ``w·x + b = 0`` (class 1 side red) inside the square ``lim``."""
    far = 4 * (abs(lim[0]) + abs(lim[1]) + abs(b) / np.linalg.norm(w))
    for (lo, hi), c in (((-far, 0.0), COLORS[0]), ((0.0, far), COLORS[1])):
        ax.fill(*_strip(w, b, lo, hi, far).T, color=c, alpha=alpha, lw=0, zorder=0)
    ax.set_xlim(*lim)
    ax.set_ylim(*lim)


def plot_geometry(w: np.ndarray, b: float, points: np.ndarray, ax=None, lim: float = 2.0):
    """The line ``w·x + b = 0``, its normal ``w``, and the signed distance of each point to it."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 5.0))
    w = np.asarray(w, dtype=np.float64)
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    nw = np.linalg.norm(w)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    _shade(ax, w, b, (-lim, lim))
    plot_boundary(w, b, ax, lw=2, label=r"$\mathbf{w}^\top\mathbf{x} + b = 0$")
    foot = -b * w / nw ** 2  # the point of the line closest to the origin
    ax.annotate("", xy=foot + w / nw, xytext=foot,
                arrowprops=dict(arrowstyle="-|>", color="k", lw=2))
    ax.text(*(foot + 1.1 * w / nw), r"$\mathbf{w}$", fontsize=13, ha="center", va="center")
    for p in points:
        dist = (w @ p + b) / nw
        proj = p - dist * w / nw
        ax.plot(*zip(p, proj), ls="--", color="0.3", lw=1)
        ax.scatter(*p, s=45, color=COLORS[int(dist > 0)], edgecolor="k", zorder=5)
        ax.text(p[0] + 0.08, p[1] + 0.08, f"d = {dist:+.2f}", fontsize=9)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(r"signed distance $d(\mathbf{x}) = (\mathbf{w}^\top\mathbf{x} + b)/\|\mathbf{w}\|$")
    ax.legend(loc="lower left")
    return ax


def plot_perceptron_state(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, ax=None,
                          true_wb: tuple[np.ndarray, float] | None = None, gap: float = 0.0,
                          title: str | None = None, lim: float | None = None, label: str = "boundary",
                          legend_loc: str = "lower left"):
    """Points, the half-planes and boundary of ``(w, b)``, and its mistakes (``y z <= 0``) ringed in black.

    ``true_wb``: a reference separator drawn dashed, with a grey band of half-width
    ``gap`` around it (the data's margin).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 5.0))
    X, s = _as_data(X, y)
    w = np.asarray(w, dtype=np.float64)
    lim = lim if lim is not None else 1.08 * float(np.max(np.abs(X)))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    if np.any(w != 0):
        _shade(ax, w, b, (-lim, lim))
    if true_wb is not None:
        tw, tb = true_wb
        if gap > 0:
            ax.fill(*_strip(tw, tb, -gap, gap, 4 * lim + abs(tb)).T, color="0.6", alpha=0.25, lw=0, zorder=0)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
        plot_boundary(tw, tb, ax, color="0.45", ls="--", lw=1.2, label="true line")
    scatter_classes(X, (s > 0).astype(int), ax=ax)
    wrong = s * (X @ w + b) <= 0
    if wrong.any():
        ax.scatter(X[wrong, 0], X[wrong, 1], s=90, facecolor="none", edgecolor="k", linewidth=1.5,
                   label=f"mistakes ({int(wrong.sum())})", zorder=4)
    plot_boundary(w, b, ax, lw=2.2, label=label)
    ax.grid(False)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    ax.legend(loc=legend_loc, fontsize=8)
    return ax


def plot_mistakes(result: PerceptronResult, ax=None, upto: int | None = None, xmax: int | None = None,
                  title: str | None = None):
    """Mistakes per epoch (epochs ``1 … upto``) as bars, the last one highlighted; a line beyond 40 epochs."""
    if ax is None:
        _, ax = plt.subplots()
    upto = result.epochs if upto is None else min(int(upto), result.epochs)
    m = result.mistakes[:upto]
    if len(m) > 40:
        ax.plot(np.arange(1, len(m) + 1), m, color=COLORS[7], lw=1.2)
    else:
        colors = [COLORS[7]] * len(m)
        if len(m):
            colors[-1] = COLORS[3]
        ax.bar(np.arange(1, len(m) + 1), m, color=colors, width=0.8)
    ax.set_xlim(0.4, max(xmax or 0, len(m), 1) + 0.6)
    ax.set_ylim(0, max(int(m.max()) if len(m) else 1, 1) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("mistakes in the epoch")
    if title:
        ax.set_title(title)
    return ax


def plot_boundaries(X: np.ndarray, y: np.ndarray, wbs: Sequence[tuple[np.ndarray, float]],
                    labels: Sequence[str] | None = None, ax=None, lim: float | None = None):
    """Several boundaries ``(w, b)`` over the same data, one colour each."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 5.0))
    X = np.asarray(X, dtype=np.float64)
    lim = lim if lim is not None else 1.08 * float(np.max(np.abs(X)))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    scatter_classes(X, (to_pm1(y) > 0).astype(int), ax=ax, alpha=0.6)
    line_colors = ["k", COLORS[2], COLORS[3], COLORS[4], COLORS[5], COLORS[6], COLORS[8], COLORS[9]]
    for i, (w, b) in enumerate(wbs):
        label = labels[i] if labels is not None else f"solution {i + 1}"
        plot_boundary(w, b, ax, color=line_colors[i % len(line_colors)], lw=1.8, label=label)
    ax.grid(False)
    ax.legend(loc="lower left", fontsize=8)
    return ax


def plot_margin_experiment(result: dict[str, np.ndarray], ax=None):
    """Measured mistakes and Novikoff's bound against the data margin (log–log)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    m = result["margin"]
    k = result["mistakes"].shape[1]
    jitter = np.exp(np.linspace(-0.06, 0.06, k)) if k > 1 else np.ones(1)
    for i, mi in enumerate(m):
        ax.scatter(mi * jitter, result["mistakes"][i], s=12, color=COLORS[0], alpha=0.5,
                   label="measured mistakes (one per seed)" if i == 0 else None)
        ax.scatter(mi * jitter, result["bound"][i], s=12, color=COLORS[1], alpha=0.5, marker="s",
                   label=r"bound $(R/\gamma)^2$ (one per seed)" if i == 0 else None)
    ax.plot(m, np.median(result["mistakes"], axis=1), color=COLORS[0], label="median mistakes")
    ax.plot(m, np.median(result["bound"], axis=1), color=COLORS[1], label="median bound")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(m, [f"{v:g}" for v in m])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(r"margin of the data (gap around the true line)")
    ax.set_ylabel("mistakes until convergence")
    ax.set_title("the perceptron always stays below Novikoff's bound")
    ax.legend(fontsize=8)
    return ax


def _square_axes(ax, title):
    ax.set_xlim(-0.35, 1.35)
    ax.set_ylim(-0.35, 1.35)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.grid(False)


def _binary_points(ax, X, out, size=110):
    for p, o in zip(X, out):
        ax.scatter(*p, s=size, color=COLORS[int(o)], edgecolor="k", zorder=5)
        ax.text(p[0] + 0.07, p[1] + 0.07, str(int(o)), fontsize=10)


def plot_gates(names: Sequence[str] = ("AND", "OR", "NAND", "NOT"),
               gates: dict[str, tuple[np.ndarray, float]] | None = None):
    """One panel per gate: the inputs coloured by the unit's output (red = 1) and the unit's line."""
    gates = GATES if gates is None else gates
    fig, axes = plt.subplots(1, len(names), figsize=(3.0 * len(names), 3.3))
    for ax, name in zip(np.atleast_1d(axes), names):
        w, b = gates[name]
        w = np.asarray(w, dtype=np.float64)
        X, out = truth_table(threshold_unit(w, b), len(w))
        if len(w) == 1:  # a 1-input gate lives on a line: draw it on the x1 axis
            ax.set_xlim(-0.35, 1.35)
            ax.set_ylim(-0.6, 0.6)
            ax.axvline(-b / w[0], color="k", lw=2)
            for p, o in zip(X[:, 0], out):
                ax.scatter(p, 0, s=110, color=COLORS[int(o)], edgecolor="k", zorder=5)
                ax.text(p + 0.07, 0.08, str(int(o)), fontsize=10)
            ax.set_yticks([])
            ax.set_title(f"{name}: w = {w[0]:g}, b = {b:g}")
            ax.grid(False)
            ax.set_xlabel("$x_1$")
            continue
        _square_axes(ax, f"{name}: w = ({w[0]:g}, {w[1]:g}), b = {b:g}")
        _shade(ax, w, b, (-0.35, 1.35), alpha=0.15)
        plot_boundary(w, b, ax, lw=2)
        _binary_points(ax, X, out)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
    return fig


def plot_xor_network():
    """XOR in two layers: the two hidden lines in input space, then the points in hidden space."""
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(8.4, 4.0))
    X = binary_inputs(2)
    out, h = two_layer_threshold(X, **XOR_WEIGHTS)
    _square_axes(a0, "input space: two hidden units")
    for (w, b), name, c in zip(zip(XOR_WEIGHTS["W1"], XOR_WEIGHTS["b1"]), ["OR", "NAND"], [COLORS[2], COLORS[4]]):
        plot_boundary(w, b, a0, color=c, lw=2, label=f"$h$ = {name}")
    _binary_points(a0, X, out)
    a0.legend(loc="center", fontsize=8)
    a0.set_xlabel("$x_1$")
    a0.set_ylabel("$x_2$")
    _square_axes(a1, "hidden space: one AND unit separates")
    _shade(a1, XOR_WEIGHTS["w2"], float(XOR_WEIGHTS["b2"]), (-0.35, 1.35), alpha=0.15)
    plot_boundary(XOR_WEIGHTS["w2"], float(XOR_WEIGHTS["b2"]), a1, lw=2)
    for hp, o, text, at in [((0, 1), 0, "x = (0, 0)", (0.02, 0.8)), ((1, 1), 1, "x = (0, 1), (1, 0)", (0.98, 1.12)),
                            ((1, 0), 0, "x = (1, 1)", (0.98, 0.12))]:
        a1.scatter(*hp, s=110, color=COLORS[o], edgecolor="k", zorder=5)
        a1.text(*at, f"{text} → {o}", fontsize=9, ha="left" if hp[0] == 0 else "right",
                bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1))
    a1.set_xlabel("$h_1$ = OR($x$)")
    a1.set_ylabel("$h_2$ = NAND($x$)")
    return fig


# ---------------------------------------------------------------- widgets
def draw_perceptron(epoch: int = 3, lr: float = 1.0, margin: float = 0.1, n: int = 60, seed: int = 0,
                    epoch_axis: int = 30):
    """Widget frame: the perceptron after ``epoch`` epochs on data with gap ``margin``.

    Left: the data (gap around the true line in grey), the current boundary and
    its mistakes. Right: mistakes per epoch so far and Novikoff's bound. A negative
    ``margin`` makes the classes overlap. Never raises: bad settings become messages.
    """
    try:
        lr, margin, epoch = float(lr), round(float(margin), 6), int(round(float(epoch)))
        if not np.isfinite(lr) or lr <= 0:
            return message_figure(f"learning rate {lr:g}: it must be positive", kind="warning")
        if epoch < 0:
            return message_figure(f"epoch {epoch}: pick an epoch >= 0", kind="warning")
        if margin >= 1:
            return message_figure(f"margin {margin:g} is too large: the data fill a disk of radius 1, "
                                  "so the gap must be below 1", kind="warning")
        X, y, w_true, b_true = margin_data(n, np.random.default_rng(seed), margin)
        res = perceptron_train(X, y, lr=lr, max_epochs=epoch, rng=np.random.default_rng(seed + 1))
        w, b = res.at_epoch(epoch)
        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10.5, 4.6), gridspec_kw=dict(width_ratios=[1.05, 1]),
                                       layout="none")  # fixed margins: many frames, no per-frame layout pass
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.11, top=0.92, wspace=0.22)
        norm = float(np.hypot(np.linalg.norm(w), b))
        plot_perceptron_state(X, y, w, b, ax=ax0, true_wb=(w_true, b_true), gap=max(margin, 0.0),
                              lim=1.3, label="perceptron",
                              title=f"after epoch {epoch}   (η = {lr:g}, ‖(w, b)‖ = {norm:.2f})")
        if margin > 0:
            bound_text = f"bound (R/γ)² = {mistake_bound(w_true, b_true, X, y):.0f}"
        elif margin == 0:
            bound_text = "margin 0: no useful bound"
        else:
            bound_text = "overlap: no bound"
        plot_mistakes(res, ax=ax1, upto=epoch, xmax=max(epoch_axis, epoch),
                      title=f"mistakes so far: {res.mistakes_until(epoch)}   ({bound_text})")
        notes = []
        if epoch == 0:
            notes.append(("epoch 0: w = 0 and b = 0, so there is\nno boundary yet and every point\n"
                          "counts as a mistake: move the epoch slider", "info"))
        if res.converged and epoch >= res.epochs:
            notes.append((f"converged: epoch {res.epochs} was a full pass\nwithout a mistake, so later "
                          "epochs\nchange nothing", "info"))
        if margin == 0:
            g = augmented_margin(w_true, b_true, X, y)
            notes.append((f"margin 0: no guaranteed gap (γ = {g:.1e}),\nso the bound (R/γ)² = "
                          f"{mistake_bound(w_true, b_true, X, y):.1e} says little:\nconvergence can take many epochs",
                          "warning"))
        if margin < 0 and not res.converged and epoch > 0:
            notes.append(("the classes overlap: no line separates\nthem, so the perceptron never stops\n"
                          "making mistakes and its boundary\nkeeps moving", "warning"))
        if notes:
            kind = "warning" if any(k == "warning" for _, k in notes) else "info"
            show_message(ax1, "\n\n".join(t for t, _ in notes), kind=kind)
        return fig
    except Exception as exc:  # a widget shows problems, it does not raise
        plt.close("all")
        return message_figure(f"cannot draw this setting: {exc}")


def draw_adaline(lr: float = 0.5, mode: str = "batch", epochs: int = 40, n: int = 60, seed: int = 0,
                 margin: float = 0.1):
    """Widget frame: ADALINE's loss per epoch (left) and its final boundary (right) for a learning rate.

    The title gives ``2 / lambda_max``, the largest stable rate of full-batch
    gradient descent. A run that diverged, or whose loss ended above where it
    started, is drawn with a message instead of a boundary. Never raises.
    """
    try:
        lr = float(lr)
        if not np.isfinite(lr) or lr <= 0:
            return message_figure(f"learning rate {lr:g}: it must be positive", kind="warning")
        X, y, w_true, b_true = margin_data(n, np.random.default_rng(seed), margin)
        res = adaline_train(X, y, lr=lr, epochs=int(epochs), mode=mode, rng=np.random.default_rng(seed + 1))
        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10.5, 4.4), gridspec_kw=dict(width_ratios=[1.1, 1]),
                                       layout="none")
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.92, wspace=0.22)
        ep = np.arange(len(res.losses))
        with np.errstate(over="ignore", invalid="ignore"):
            ax0.semilogy(ep, np.clip(res.losses, 1e-12, 1e300), marker="o", ms=2.5)
        ax0.set_xlim(0, epochs)
        ax0.set_xlabel("epoch")
        ax0.set_ylabel(r"loss: mean of $\frac{1}{2}(y - z)^2$")
        ax0.set_title(f"{mode}, η = {lr:g}   (2/λ_max = {res.max_lr:.3g})")
        growing = res.diverged or not res.losses[-1] <= res.losses[0]  # ended above where it started
        if growing:
            ax1.set_xlim(-1.3, 1.3)
            ax1.set_ylim(-1.3, 1.3)
            ax1.set_aspect("equal")
            scatter_classes(X, y, ax=ax1)
            ax1.set_title("no usable boundary")
            compare = (f"η = {lr:g} > 2/λ_max = {res.max_lr:.3g}" if mode == "batch" and lr > res.max_lr
                       else f"η = {lr:g} is too large for one-example steps")
            what = "diverged" if res.diverged else "is growing"
            show_message(ax0, f"learning rate too large: the loss {what}\n({res.losses[0]:.2g} → "
                              f"{res.losses[-1]:.1e} in {len(res.losses) - 1} epochs)\n{compare}", kind="warning")
            show_message(ax1, "the weights blow up:\nno boundary to show", kind="warning")
        else:
            acc = float(np.mean(predict(X, res.w, res.b) == y))
            plot_perceptron_state(X, y, res.w, res.b, ax=ax1, true_wb=(w_true, b_true), gap=margin, lim=1.3,
                                  label="ADALINE", title=f"ADALINE's boundary: training accuracy {acc:.0%}")
        return fig
    except Exception as exc:
        plt.close("all")
        return message_figure(f"cannot draw this setting: {exc}")


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
