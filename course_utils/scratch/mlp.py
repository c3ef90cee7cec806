"""Multilayer perceptrons in NumPy: forward and backward, XOR, and what one hidden layer can represent (chapter 05).

Contract
--------
- Layers are those of :mod:`course_utils.scratch.layers` (``<name>_forward(x, *params)
  -> (out, cache)``, ``<name>_backward(dout, cache)``); an MLP's hidden and output
  activations are named entries of ``layers.ACTIVATIONS`` (``"relu"``, ``"sigmoid"``,
  ``"tanh"``, ``"leaky_relu"``, ``"identity"``). ``x`` is a batch of rows ``(n, d)``.
- An MLP's parameters are a list of ``(W, b)`` pairs, ``W`` of shape
  ``(d_in, d_out)`` (a layer computes ``x @ W + b``, as ``layers.affine_forward``).
  :func:`mlp_forward` applies the hidden ``activation`` after every layer except
  the last, which gets ``output``. :func:`to_torch` loads the same numbers into an
  ``nn.Sequential`` (``nn.Linear`` stores ``W`` transposed) so the two can be compared.
- :func:`train_xor` is full-batch gradient descent on the four XOR rows; it returns
  an :class:`XorResult` (``losses`` per step, ``diverged`` and ``message``: the
  divergence test is ``base.blew_up``).
- Universal approximation without training: :func:`relu_interpolant` (one ReLU per
  knot: piecewise-linear interpolation, error ≤ h²·max|f''|/8) and
  :func:`sigmoid_staircase` (steep sigmoid steps, error ≤ max|f'|·h·(1 + ε)). Both
  return ordinary MLP parameters; :func:`approximate` pairs each with its bound.
- Width vs depth: :func:`sawtooth_params` composes the ReLU tent map ``depth``
  times (2 units per layer, 2^depth linear pieces); :func:`count_linear_pieces`
  counts the pieces of any sampled 1-D function.
- Randomness only through an explicit ``rng`` (NumPy); torch models are
  initialised from NumPy arrays, so they are reproducible too.

Boolean networks of threshold units (any truth table in two layers, parity) are in
:mod:`course_utils.scratch.threshold`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..base import blew_up, check_learning_rate, divergence_message
from . import layers
from .losses import softmax_cross_entropy
from .threshold import BOOLEAN, binary_inputs

Params = list[tuple[np.ndarray, np.ndarray]]

#: The torch module of each activation in ``layers.ACTIVATIONS``, for :func:`to_torch`.
TORCH_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "identity": nn.Identity,
}


# ------------------------------------------------------------------- the MLP
def init_mlp(sizes: Sequence[int], rng: np.random.Generator, bias_scale: float = 0.1) -> Params:
    """Random parameters for layer widths ``sizes = [d, h1, …, out]``.

    ``W ~ N(0, 1/d_in)`` (chapter 08 explains this choice) and ``b ~ N(0, bias_scale²)``.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"init_mlp: need at least an input and an output size, all ≥ 1, got {sizes}")
    return [(rng.standard_normal((a, b)) / np.sqrt(a), bias_scale * rng.standard_normal(b))
            for a, b in zip(sizes[:-1], sizes[1:])]


def mlp_forward(x: np.ndarray, params: Params, activation: str = "relu", output: str = "identity"):
    """Forward pass ``x (n, d) -> (n, out)``: affine, ``activation``, …, affine, ``output``.

    Returns ``(out, cache)``; the cache (one ``(affine, activation, name)`` triple per
    layer) is what :func:`mlp_backward` needs.
    """
    if not params:
        raise ValueError("mlp_forward: params is empty; an MLP needs at least one layer")
    caches, h = [], np.asarray(x)
    if h.dtype.kind not in "fc":  # integers and booleans compute in float64; float32 stays float32
        h = h.astype(np.float64)
    for i, (W, b) in enumerate(params):
        name = activation if i < len(params) - 1 else output
        z, aff = layers.affine_forward(h, W, b)
        h, act = layers.activation(name)[0](z)
        caches.append((aff, act, name))
    return h, caches


def mlp_backward(dout: np.ndarray, cache, input_grad: bool = True) -> tuple[np.ndarray | None, Params]:
    """Returns ``(dx, grads)`` with ``grads[i] = (dW_i, db_i)``: the layers' backward passes in reverse.

    Chapter 06 derives it: ``δ_m = δ_{m+1} W_{m+1}ᵀ ⊙ g'(Z_m)``, ``∂L/∂W_m = A_{m−1}ᵀ δ_m``,
    ``∂L/∂b_m = Σ_rows δ_m``: two matrix products per layer against one in the forward pass.
    With ``input_grad=False`` the first layer's ``δ W₁ᵀ`` (the gradient for the input, which
    training does not need) is skipped and ``dx`` is ``None``.
    """
    grads: Params = []
    for i, (aff, act, name) in reversed(list(enumerate(cache))):
        dz = layers.activation(name)[1](dout, act)
        if i == 0 and not input_grad:
            x, _ = aff
            dout, dW, db = None, x.T @ dz, dz.sum(axis=0)
        else:
            dout, dW, db = layers.affine_backward(dz, aff)
        grads.append((dW, db))
    return dout, grads[::-1]


def to_torch(params: Params, activation: str = "relu", output: str = "identity",
             dtype: torch.dtype = torch.float64) -> nn.Sequential:
    """An ``nn.Sequential`` of ``nn.Linear`` + activation modules holding exactly ``params``."""
    mods: list[nn.Module] = []
    for i, (W, b) in enumerate(params):
        name = activation if i < len(params) - 1 else output
        if name not in TORCH_ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; choose one of {sorted(TORCH_ACTIVATIONS)}")
        lin = nn.Linear(W.shape[0], W.shape[1], dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.as_tensor(W.T, dtype=dtype))   # nn.Linear stores (out, in)
            lin.bias.copy_(torch.as_tensor(b, dtype=dtype))
        mods += [lin, TORCH_ACTIVATIONS[name]()]
    return nn.Sequential(*mods)


def torch_forward(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Run ``model`` on a NumPy array (in the model's dtype) and return a NumPy array."""
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(x), dtype=dtype)).numpy()


def count_parameters(params: Params) -> int:
    """Number of weights and biases."""
    return int(sum(W.size + b.size for W, b in params))


# ------------------------------------------------------------------------ XOR
#: XOR with real ReLU units and no threshold (Goodfellow, Bengio & Courville, 2016, §6.1):
#: h = relu(x1 + x2, x1 + x2 − 1), y = h1 − 2 h2.
XOR_RELU_PARAMS: Params = [(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([0.0, -1.0])),
                           (np.array([[1.0], [-2.0]]), np.array([0.0]))]


def xor_probabilities(params: Params, activation: str, X: np.ndarray | None = None) -> np.ndarray:
    """P(XOR = 1 | x) of a 2-…-2 MLP: the softmax of its two output logits, class 1 (rows of ``X``, default the 4 corners)."""
    X = binary_inputs(2) if X is None else X
    return layers.softmax(mlp_forward(X, params, activation)[0], axis=1)[:, 1]


def solves_xor(params: Params, activation: str) -> bool:
    """True when the 2-…-2 MLP gives class 1 (probability above 1/2) exactly to the corners 01 and 10."""
    table = (xor_probabilities(params, activation) > 0.5).astype(np.int64)
    return bool(np.array_equal(table, BOOLEAN["XOR"](binary_inputs(2))))


@dataclass
class XorResult:
    """A tiny MLP trained on the four XOR rows: final parameters and the loss before each step."""

    params: Params
    losses: np.ndarray
    activation: str
    lr: float = 1.0
    diverged: bool = False

    @property
    def hidden(self) -> int:
        return self.params[0][0].shape[1]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(XOR = 1 | x): the softmax of the two output logits, class 1."""
        return xor_probabilities(self.params, self.activation, X)

    @property
    def truth_table(self) -> np.ndarray:
        return (self.predict_proba(binary_inputs(2)) > 0.5).astype(np.int64)

    @property
    def solved(self) -> bool:
        return solves_xor(self.params, self.activation)

    @property
    def message(self) -> str:
        if self.diverged:
            return divergence_message("XOR training", len(self.losses), float(self.losses[-1]))
        if len(self.losses) == 0:
            return f"not trained (0 steps); truth table {self.truth_table.tolist()}"
        return (f"loss {self.losses[0]:.3g} → {self.losses[-1]:.3g} in {len(self.losses)} steps; "
                f"truth table {self.truth_table.tolist()} ({'solved' if self.solved else 'not solved'})")


def train_xor(hidden: int = 4, steps: int = 1000, lr: float = 1.0, seed: int = 0,
              activation: str = "tanh") -> XorResult:
    """Full-batch gradient descent on a 2-``hidden``-2 MLP over the 4 XOR rows (softmax cross-entropy).

    Gradients come from :func:`mlp_backward` (chapter 06 derives it; the tests
    check the whole run against ``torch.optim.SGD``). The weights start from
    :func:`init_mlp` with ``np.random.default_rng(seed)``, so the run is reproducible.
    ``losses[t]`` is the loss before step ``t``; a run whose loss blows up stops early
    with ``diverged=True``.
    """
    lr = check_learning_rate(lr)
    X = binary_inputs(2).astype(np.float64)
    y = BOOLEAN["XOR"](X)
    params = init_mlp([2, hidden, 2], np.random.default_rng(seed), bias_scale=0.5)
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            logits, cache = mlp_forward(X, params, activation)
            loss, dlogits = softmax_cross_entropy(logits, y)
            losses.append(loss)
            if blew_up(loss, losses[0]):
                return XorResult(params, np.array(losses), activation, lr, diverged=True)
            grads = mlp_backward(dlogits, cache)[1]
            params = [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
    return XorResult(params, np.array(losses), activation, lr)


# ------------------------------------------------------ universal approximation
@dataclass(frozen=True)
class Target:
    """A smooth 1-D target on ``[a, b]`` with upper bounds on ``max|f'|`` and ``max|f''|``.

    The bounds come from the triangle inequality on the formula (see ``TARGETS``),
    so they are guaranteed, not estimated.
    """

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    a: float
    b: float
    max_d1: float
    max_d2: float
    formula: str


#: Targets for the approximation demos. For sin(2x) + 0.5 cos(5x):
#: |f'| = |2 cos 2x − 2.5 sin 5x| ≤ 4.5 and |f''| = |−4 sin 2x − 12.5 cos 5x| ≤ 16.5.
TARGETS: dict[str, Target] = {
    "wiggly": Target("wiggly", lambda x: np.sin(2 * x) + 0.5 * np.cos(5 * x), -np.pi, np.pi, 4.5, 16.5,
                     r"$\sin 2x + \frac{1}{2}\cos 5x$"),
    "sine": Target("sine", np.sin, -np.pi, np.pi, 1.0, 1.0, r"$\sin x$"),
}


def relu_interpolant(f: Callable[[np.ndarray], np.ndarray], a: float, b: float, units: int) -> Params:
    """One hidden layer of ``units`` ReLUs computing the piecewise-linear interpolant of ``f``.

    Knots ``t_k = a + k h``, ``h = (b − a)/units``, ``k = 0 … units``. Unit ``k`` is
    ``relu(x − t_k)``; its output weight is the change of slope at ``t_k``
    (the first slope for ``k = 0``), and the output bias is ``f(a)``. On ``[a, b]`` the
    network equals ``f`` at every knot and is linear between knots.
    """
    units = int(units)
    if units < 1:
        raise ValueError(f"need at least 1 hidden unit, got {units}")
    t = np.linspace(a, b, units + 1)
    slopes = np.diff(f(t)) / np.diff(t)
    c = np.diff(slopes, prepend=0.0)
    return [(np.ones((1, units)), -t[:-1]), (c.reshape(-1, 1), np.array([float(f(np.array([a]))[0])]))]


def relu_interpolation_bound(target: Target, units: int) -> float:
    """``h² · max|f''| / 8`` with ``h = (b − a)/units``: the worst error of linear interpolation."""
    h = (target.b - target.a) / units
    return h ** 2 * target.max_d2 / 8


def sigmoid_staircase(f: Callable[[np.ndarray], np.ndarray], a: float, b: float, units: int,
                      sharpness: float = 20.0) -> Params:
    """One hidden layer of ``units`` steep sigmoids computing a staircase through ``f``.

    ``[a, b]`` is cut into ``units + 1`` cells of width ``h`` with centres ``c_k``. Unit
    ``k`` is a step ``σ(s (x − t_k))`` at the border ``t_k`` between cells ``k − 1`` and ``k``,
    of height ``f(c_k) − f(c_{k−1})``; the output bias is ``f(c_0)``. Steepness ``s = sharpness / h``.
    Each cell is one "square pulse" (the difference of two steps); neighbouring pulses share a step.
    """
    units = int(units)
    if units < 1:
        raise ValueError(f"need at least 1 hidden unit, got {units}")
    h = (b - a) / (units + 1)
    centres = a + (np.arange(units + 1) + 0.5) * h
    borders = a + np.arange(1, units + 1) * h
    s = sharpness / h
    fc = f(centres)
    return [(np.full((1, units), s), -s * borders), (np.diff(fc).reshape(-1, 1), np.array([fc[0]]))]


def sigmoid_staircase_bound(target: Target, units: int, sharpness: float = 20.0) -> float:
    """``max|f'| · h · (1 + e^{−S/2} + 2e^{−S}/(1 − e^{−S}))``, ``S`` the sharpness, ``h = (b − a)/(units + 1)``.

    Derivation: the ideal staircase is within ``max|f'|·h/2`` of ``f``; each step's
    height is at most ``max|f'|·h``, and a sigmoid differs from a step by
    ``σ(−s|x − t|)``: at most 1/2 for the nearest border, ``e^{−S/2}`` for the
    second nearest, and a geometric series ``e^{−S}, e^{−2S}, …`` on each side for the rest.
    """
    h = (target.b - target.a) / (units + 1)
    e = np.exp(-sharpness)
    return float(target.max_d1 * h * (1 + np.exp(-sharpness / 2) + 2 * e / (1 - e)))


APPROXIMATORS = {"ReLU": ("relu", relu_interpolant, relu_interpolation_bound),
                 "sigmoid": ("sigmoid", sigmoid_staircase, sigmoid_staircase_bound)}


def approximate(target: Target, units: int, kind: str = "ReLU") -> tuple[Params, str, float]:
    """Hand-built one-hidden-layer network for ``target``: ``(params, activation, error bound)``."""
    if kind not in APPROXIMATORS:
        raise ValueError(f"unknown kind {kind!r}; choose from {list(APPROXIMATORS)}")
    act, build, bound = APPROXIMATORS[kind]
    return build(target.f, target.a, target.b, units), act, bound(target, units)


def max_error(target: Target, params: Params, activation: str, n: int = 20001) -> float:
    """``max |f(x) − net(x)|`` on ``n`` evenly spaced points of ``[a, b]``."""
    x = np.linspace(target.a, target.b, n)
    return float(np.max(np.abs(mlp_forward(x[:, None], params, activation)[0].ravel() - target.f(x))))


def hat(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    """The tent ``max(0, 1 − |x − centre| / width)``: 1 at the centre, 0 beyond ``width``."""
    return np.maximum(0.0, 1 - np.abs(np.asarray(x, dtype=np.float64) - centre) / width)


def hat_weights(centre: float, width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(w1, b1, w2, b2)`` of three ReLUs summing to :func:`hat`: ``(r(x−t+w) − 2r(x−t) + r(x−t−w)) / w``."""
    return (np.ones(3), -np.array([centre - width, centre, centre + width]),
            np.array([1.0, -2.0, 1.0]) / width, 0.0)


def one_hidden_relu(x: np.ndarray, w1, b1, w2, b2) -> np.ndarray:
    """``relu(x w1 + b1) · w2 + b2`` for scalar inputs ``x (n,)`` and ``m`` hidden units (``w1, b1, w2`` of shape ``(m,)``)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    params = [(np.asarray(w1, dtype=np.float64).reshape(1, -1), np.asarray(b1, dtype=np.float64).ravel()),
              (np.asarray(w2, dtype=np.float64).reshape(-1, 1), np.asarray(b2, dtype=np.float64).reshape(1))]
    return mlp_forward(x, params, "relu")[0].ravel()


# ------------------------------------------------------------ width vs depth
def tent_map(x: np.ndarray) -> np.ndarray:
    """``T(x) = 2 relu(x) − 4 relu(x − 1/2)``: on [0, 1] it rises 0 → 1 and falls back 1 → 0."""
    return 2 * np.maximum(x, 0) - 4 * np.maximum(x - 0.5, 0)


def sawtooth(x: np.ndarray, depth: int) -> np.ndarray:
    """Closed form of the tent map composed ``depth`` times on [0, 1]: ``1 − |2·frac(2^{depth−1} x) − 1|``, with value 0 at x = 1."""
    u = (2.0 ** (depth - 1)) * np.asarray(x, dtype=np.float64)
    return 1 - np.abs(2 * (u - np.floor(u)) - 1)


def sawtooth_params(depth: int) -> Params:
    """A ReLU MLP with ``depth`` hidden layers of 2 units computing ``T∘T∘…∘T`` (``depth`` times).

    Layer 1 computes ``(relu(x), relu(x − 1/2))``; every later layer reads ``T`` of the
    previous pair (weights ``2, −4``) and feeds it to a new pair; the output layer applies the last ``2, −4``.
    """
    return fold_params(depth, 2)


def fold_params(depth: int, pieces: int) -> Params:
    """A ReLU MLP with ``depth`` hidden layers of ``pieces`` units composing the fold map ``F`` ``depth`` times.

    ``F(x) = k·relu(x) + Σ_{j=1}^{k−1} (−1)^j 2k·relu(x − j/k)`` (``k = pieces``) zigzags
    between 0 and 1 on ``[0, 1]``: ``k`` linear pieces, each sweeping ``[0, 1]`` once.
    ``k = 2`` is the tent map of :func:`sawtooth_params`.
    """
    depth, k = int(depth), int(pieces)
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    if k < 2:
        raise ValueError(f"a fold needs at least 2 pieces, got {k}")
    j = np.arange(k)
    kinks = 0.0 - j / k                                      # biases 0, −1/k, −2/k, …
    c = np.where(j == 0, float(k), 2.0 * k * (-1.0) ** j)   # output weights k, −2k, +2k, …
    first = (np.ones((1, k)), kinks)
    middle = (np.outer(c, np.ones(k)), kinks)
    last = (c.reshape(-1, 1), np.array([0.0]))
    return [first] + [middle] * (depth - 1) + [last]


def count_linear_pieces(y: np.ndarray, x: np.ndarray, rtol: float = 1e-6) -> int:
    """Number of linear pieces of a continuous piecewise-linear function sampled as ``y = f(x)`` on a fine grid.

    A kink shows up as a change of slope between neighbouring grid intervals;
    a kink strictly inside an interval changes the slope twice in a row, so runs
    of consecutive changes count once. Needs several grid points per piece.
    """
    slope = np.diff(y) / np.diff(x)
    tol = rtol * max(1.0, float(np.max(np.abs(slope))))
    change = np.abs(np.diff(slope)) > tol
    runs = np.count_nonzero(change[1:] & ~change[:-1]) + int(change[0]) if change.size else 0
    return int(runs + 1)


def shallow_pieces_bound(units):
    """A one-hidden-layer ReLU net on a scalar input has at most ``units + 1`` linear pieces (one kink per unit)."""
    return np.asarray(units) + 1
