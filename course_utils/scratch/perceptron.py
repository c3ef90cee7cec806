"""Linear threshold units that learn: the perceptron, its mistake bound, and ADALINE (chapter 02).

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
- Training functions return a ``<Name>Result`` holding the whole history (weights
  after every update, mistakes per epoch, losses). Non-convergence
  (``PerceptronResult.converged``) and divergence (``AdalineResult.diverged``, the
  test is ``base.blew_up``) are reported with a plain-English ``.message``; they
  are not exceptions. A learning rate that is not a positive number raises
  ``ValueError`` (``base.check_learning_rate``).

Threshold units with hand-set weights (Boolean gates, the two-layer XOR network)
are in :mod:`course_utils.scratch.threshold`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..base import blew_up, check_learning_rate, divergence_message

__all__ = [
    "to_pm1", "augment", "as_data", "predict", "perceptron_update", "perceptron_train", "PerceptronResult",
    "find_cycle", "margin", "augmented_margin", "radius", "mistake_bound",
    "adaline_loss", "adaline_gradient", "adaline_update", "adaline_train", "adaline_max_lr", "AdalineResult",
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


def as_data(X, y) -> tuple[np.ndarray, np.ndarray]:
    """``(X as float64 (n, d), labels as ±1 floats (n,))``, with a ``ValueError`` for wrong shapes."""
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
    X, s = as_data(X, y)
    lr = check_learning_rate(lr)
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
                            converged=converged, lr=lr, max_epochs=int(max_epochs))


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
    X, s = as_data(X, y)
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
    X, s = as_data(X, y)
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


# ------------------------------------------------------------------ ADALINE
def adaline_loss(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of the *linear* output: ``(1/n) sum_i 1/2 (y_i - z_i)^2`` with ``y`` in {-1, +1}."""
    X, s = as_data(X, y)
    r = s - (X @ np.asarray(w, dtype=np.float64) + b)
    return float(0.5 * np.mean(r ** 2))


def adaline_gradient(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Gradient of :func:`adaline_loss`: ``(-(1/n) X^T (y - z), -(1/n) sum_i (y_i - z_i))``."""
    X, s = as_data(X, y)
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
            hint = (f"η = {self.lr:g} > 2/lambda_max = {self.max_lr:.3g}: try a smaller learning rate"
                    if self.mode == "batch" and self.lr > self.max_lr else "try a smaller learning rate")
            return divergence_message(f"ADALINE ({self.mode})", len(self.losses) - 1, float(self.losses[-1]), hint)
        return f"loss {self.losses[0]:.4g} -> {self.losses[-1]:.4g} in {len(self.losses) - 1} epochs ({self.mode})"

    def __repr__(self) -> str:
        return f"AdalineResult({self.message})"


def adaline_train(X: np.ndarray, y: np.ndarray, lr: float = 0.05, epochs: int = 50, mode: str = "sgd",
                  rng: np.random.Generator | None = None, w0: np.ndarray | None = None,
                  b0: float = 0.0) -> AdalineResult:
    """ADALINE trained on the squared error of its linear output (targets ``y`` mapped to ±1).

    ``mode="sgd"``: the Widrow–Hoff rule :func:`adaline_update` on one example at a
    time (order from ``rng``, or the stored order). ``mode="batch"``: one gradient
    step ``w -= lr * adaline_gradient(...)`` per epoch on the mean loss. Stops early
    with ``diverged=True`` when the loss blows up past its start (``base.blew_up``).
    """
    if mode not in ("sgd", "batch"):
        raise ValueError(f"mode must be 'sgd' or 'batch', got {mode!r}")
    X, s = as_data(X, y)
    lr = check_learning_rate(lr)
    n, d = X.shape
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=np.float64)
    b = float(b0)
    losses, weights, biases = [adaline_loss(w, b, X, s)], [w.copy()], [b]
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
            if blew_up(losses[-1], losses[0]):
                diverged = True
                break
    return AdalineResult(w=w, b=float(b), losses=np.array(losses), weights=np.array(weights),
                         biases=np.array(biases), diverged=diverged, lr=lr, mode=mode,
                         max_lr=adaline_max_lr(X))
