"""Chapter 05: multilayer perceptrons, the activation zoo and what networks can represent.

Contract
--------
- Layers follow :mod:`course_utils.layers`: ``<name>_forward(x, *params) ->
  (out, cache)`` and ``<name>_backward(dout, cache)`` returning ``dx`` (or
  ``(dx, dparam, ...)`` in the order of the forward arguments). ``x`` is a batch
  of rows ``(n, d)``. New here: leaky ReLU, PReLU (with the gradient of its
  learnable slope), maxout, and softmax's backward pass. Every one is checked
  against PyTorch (``tests/test_mlp.py``).
- An MLP's parameters are a list of ``(W, b)`` pairs, ``W`` of shape
  ``(d_in, d_out)`` (so a layer computes ``x @ W + b``, as in ``layers.affine_forward``).
  :func:`mlp_forward` applies the hidden ``activation`` after every layer except
  the last. :func:`to_torch` loads the same numbers into an ``nn.Sequential``
  (``nn.Linear`` stores ``W`` transposed) so the two can be compared.
- Boolean networks reuse chapter 02 (:mod:`course_utils.linear`): threshold
  units, the hand-set XOR network and ``two_layer_threshold`` (whose ``W1`` is
  ``(hidden, inputs)``, one row per unit). :func:`dnf_network` gives any truth
  table its two-layer network, one hidden unit per true row.
- Universal approximation is made concrete without training:
  :func:`relu_interpolant` (one ReLU per knot: piecewise-linear interpolation,
  error ≤ h²·max|f''|/8) and :func:`sigmoid_staircase` (steep sigmoid steps,
  error ≤ max|f'|·h·(1 + ε)). Both return ordinary MLP parameters.
- Width vs depth: :func:`sawtooth_params` composes the ReLU tent map ``depth``
  times (2 units per layer, 2^depth linear pieces); :func:`count_linear_pieces`
  counts pieces of any 1-D function numerically.
- Randomness only through an explicit ``rng`` (NumPy) — torch models are
  initialised from NumPy arrays, so they are reproducible too.
- ``draw_*`` functions are widget frames: they return a figure and draw a
  message (:func:`course_utils.plotting.message_figure`) instead of raising.
  ``check_*`` are the exercise checks, thin wrappers over :mod:`course_utils.checks`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from . import checks, linear
from .plotting import COLORS, message_figure
from .scratch import layers
from .scratch.losses import softmax_cross_entropy

Params = list[tuple[np.ndarray, np.ndarray]]


# ------------------------------------------------------------ the activation zoo
def leaky_relu_forward(x: np.ndarray, slope: float = 0.01):
    """``x`` where ``x > 0``, ``slope · x`` elsewhere (``slope`` fixed, typically 0.01)."""
    return np.where(x > 0, x, slope * x), (x, slope)


def leaky_relu_backward(dout: np.ndarray, cache):
    """Derivative 1 where ``x > 0`` and ``slope`` elsewhere (at exactly 0 we take ``slope``, like torch)."""
    x, slope = cache
    return dout * np.where(x > 0, 1.0, slope)


def prelu_forward(x: np.ndarray, a: np.ndarray):
    """Parametric ReLU: ``x`` where ``x > 0``, ``a · x`` elsewhere, with a *learned* slope ``a``.

    ``a`` has shape ``(1,)`` (one slope shared by all units) or ``(d,)`` (one per
    column), like ``torch.nn.PReLU(num_parameters)``.
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 1 or a.size not in (1, x.shape[1]):
        raise ValueError(f"prelu_forward: a must have shape (1,) or ({x.shape[1]},), got {a.shape}")
    return np.where(x > 0, x, a * x), (x, a)


def prelu_backward(dout: np.ndarray, cache):
    """Returns ``(dx, da)``: ``dx = dout·[1 or a]``; ``da = Σ dout · min(x, 0)`` over the rows (and units if shared)."""
    x, a = cache
    dx = dout * np.where(x > 0, 1.0, a)
    da_cols = np.sum(dout * np.minimum(x, 0.0), axis=0)
    return dx, (da_cols if a.size > 1 else np.array([da_cols.sum()]))


def maxout_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, pieces: int):
    """Maxout: each of ``m`` units takes the max of ``pieces`` affine functions.

    ``w`` is ``(d, m·pieces)`` and ``b`` ``(m·pieces,)``; columns ``j·pieces … (j+1)·pieces − 1``
    belong to unit ``j``. Returns ``out (n, m)``.
    """
    z, aff_cache = layers.affine_forward(x, w, b)
    if z.shape[1] % pieces:
        raise ValueError(f"maxout_forward: {z.shape[1]} affine outputs do not split into groups of {pieces}")
    zr = z.reshape(len(x), -1, pieces)
    arg = zr.argmax(axis=2)
    return np.take_along_axis(zr, arg[..., None], axis=2)[..., 0], (aff_cache, arg, pieces)


def maxout_backward(dout: np.ndarray, cache):
    """Returns ``(dx, dw, db)``: the gradient flows only through the winning piece of each unit."""
    aff_cache, arg, pieces = cache
    dz = np.zeros(dout.shape + (pieces,))
    np.put_along_axis(dz, arg[..., None], dout[..., None], axis=2)
    return layers.affine_backward(dz.reshape(len(dout), -1), aff_cache)


def softmax_forward(z: np.ndarray):
    """Row-wise softmax (stable, :func:`layers.softmax`); the cache is the output."""
    s = layers.softmax(z, axis=1)
    return s, s


def softmax_backward(dout: np.ndarray, cache):
    """``dz = s ⊙ (dout − Σ_j dout_j s_j)``: the Jacobian ``diag(s) − s sᵀ`` applied row by row."""
    s = cache
    return s * (dout - np.sum(dout * s, axis=1, keepdims=True))


def softmax_jacobian(z: np.ndarray) -> np.ndarray:
    """The ``(C, C)`` Jacobian ``∂s_i/∂z_j = s_i (δ_ij − s_j)`` of softmax at one logit vector ``z (C,)``."""
    s = layers.softmax(np.asarray(z, dtype=np.float64))
    return np.diag(s) - np.outer(s, s)


def identity_forward(x: np.ndarray):
    return x, None


def identity_backward(dout: np.ndarray, cache):
    return dout


#: Elementwise activations an MLP can use: name -> (forward, backward, torch module factory).
ACTIVATIONS: dict[str, tuple[Callable, Callable, Callable[[], nn.Module]]] = {
    "relu": (layers.relu_forward, layers.relu_backward, nn.ReLU),
    "sigmoid": (layers.sigmoid_forward, layers.sigmoid_backward, nn.Sigmoid),
    "tanh": (layers.tanh_forward, layers.tanh_backward, nn.Tanh),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward, lambda: nn.LeakyReLU(0.01)),
    "identity": (identity_forward, identity_backward, nn.Identity),
}

#: The zoo as plotted: name -> (pretty name, formula). Leaky ReLU uses slope 0.1 and PReLU a = 0.25 so both show.
ZOO = {
    "sigmoid": ("sigmoid", r"$\sigma(z) = 1/(1+e^{-z})$"),
    "tanh": ("tanh", r"$\tanh z$"),
    "relu": ("ReLU", r"$\max(0, z)$"),
    "leaky_relu": ("leaky ReLU", r"$\max(0.1z, z)$"),
    "prelu": ("PReLU", r"$\max(az, z)$, $a = 0.25$ learned"),
    "maxout": ("maxout (3 pieces)", r"$\max_i (w_i z + b_i)$"),
}
ZOO_SLOPE, ZOO_PRELU_A = 0.1, 0.25
ZOO_MAXOUT = (np.array([[-0.5, 0.25, 1.5]]), np.array([-0.5, 0.0, -1.0]))  # w (1, 3), b (3,): one unit


def zoo_value_and_derivative(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(φ(z), φ'(z))`` for 1-D ``z`` and an activation of :data:`ZOO`, via its forward and backward pass."""
    x = np.asarray(z, dtype=np.float64).reshape(-1, 1)
    if name == "prelu":
        out, cache = prelu_forward(x, np.array([ZOO_PRELU_A]))
        d = prelu_backward(np.ones_like(out), cache)[0]
    elif name == "maxout":
        out, cache = maxout_forward(x, *ZOO_MAXOUT, pieces=3)
        d = maxout_backward(np.ones_like(out), cache)[0]
    elif name == "leaky_relu":
        out, cache = leaky_relu_forward(x, ZOO_SLOPE)
        d = leaky_relu_backward(np.ones_like(out), cache)
    elif name in ACTIVATIONS:
        fwd, bwd, _ = ACTIVATIONS[name]
        out, cache = fwd(x)
        d = bwd(np.ones_like(out), cache)
    else:
        raise ValueError(f"unknown activation {name!r}; choose from {list(ZOO)}")
    return out.ravel(), d.ravel()


def zoo_torch(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The PyTorch twin of a :data:`ZOO` activation, as a function of a 1-D tensor."""
    w, b = (torch.from_numpy(a) for a in ZOO_MAXOUT)
    twins = {
        "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
        "leaky_relu": lambda z: nn.functional.leaky_relu(z, ZOO_SLOPE),
        "prelu": lambda z: nn.functional.prelu(z, torch.tensor([ZOO_PRELU_A], dtype=z.dtype)),
        "maxout": lambda z: (z[:, None] @ w + b).max(dim=1).values,
    }
    if name not in twins:
        raise ValueError(f"unknown activation {name!r}; choose from {list(twins)}")
    return twins[name]


def autograd_derivative(name: str, z: np.ndarray) -> np.ndarray:
    """``φ'(z)`` of a :data:`ZOO` activation computed by ``torch.autograd`` (float64)."""
    zt = torch.tensor(np.asarray(z, dtype=np.float64), requires_grad=True)
    zoo_torch(name)(zt).sum().backward()
    return zt.grad.numpy()


def plot_activation_zoo(lo: float = -4.0, hi: float = 4.0, n: int = 801):
    """One panel per :data:`ZOO` activation: the function and its derivative."""
    z = np.linspace(lo, hi, n)
    fig, axes = plt.subplots(2, 3, figsize=(11.0, 6.2), sharex=True)
    for ax, name in zip(axes.ravel(), ZOO):
        f, d = zoo_value_and_derivative(name, z)
        title, formula = ZOO[name]
        ax.plot(z, f, color=COLORS[0], label=r"$\varphi(z)$")
        ax.plot(z, d, color=COLORS[1], ls="--", label=r"$\varphi'(z)$")
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(f"{title}: {formula}", fontsize=10)
        ax.set_ylim(-1.6, 2.6)
        ax.set_xlabel("$z$")
        ax.set_ylabel("value")
        ax.legend(loc="upper left")
    return fig


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


def _activation(name: str):
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {list(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def mlp_forward(x: np.ndarray, params: Params, activation: str = "relu", output: str = "identity"):
    """Forward pass ``x (n, d) -> (n, out)``: affine, ``activation``, …, affine, ``output``.

    Returns ``(out, cache)``; the cache (one ``(affine, activation)`` pair per
    layer) is what :func:`mlp_backward` needs.
    """
    if not params:
        raise ValueError("mlp_forward: params is empty; an MLP needs at least one layer")
    caches, h = [], np.asarray(x, dtype=np.float64)
    for i, (W, b) in enumerate(params):
        z, aff = layers.affine_forward(h, W, b)
        fwd = _activation(activation if i < len(params) - 1 else output)[0]
        h, act = fwd(z)
        caches.append((aff, act, activation if i < len(params) - 1 else output))
    return h, caches


def mlp_backward(dout: np.ndarray, cache) -> tuple[np.ndarray, Params]:
    """Returns ``(dx, grads)`` with ``grads[i] = (dW_i, db_i)``: the layers' backward passes in reverse.

    Chapter 06 derives this; here it lets the tests compare with autograd.
    """
    grads: Params = []
    for aff, act, name in reversed(cache):
        dz = _activation(name)[1](dout, act)
        dout, dW, db = layers.affine_backward(dz, aff)
        grads.append((dW, db))
    return dout, grads[::-1]


def to_torch(params: Params, activation: str = "relu", output: str = "identity",
             dtype: torch.dtype = torch.float64) -> nn.Sequential:
    """An ``nn.Sequential`` of ``nn.Linear`` + activation modules holding exactly ``params``."""
    mods: list[nn.Module] = []
    for i, (W, b) in enumerate(params):
        lin = nn.Linear(W.shape[0], W.shape[1], dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.as_tensor(W.T, dtype=dtype))   # nn.Linear stores (out, in)
            lin.bias.copy_(torch.as_tensor(b, dtype=dtype))
        mods += [lin, _activation(activation if i < len(params) - 1 else output)[2]()]
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


@dataclass
class XorTraining:
    """A tiny MLP trained on the four XOR rows: final parameters and the loss before each step."""

    params: Params
    losses: np.ndarray
    activation: str

    @property
    def hidden(self) -> int:
        return self.params[0][0].shape[1]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(XOR = 1 | x): the softmax of the two output logits, class 1."""
        return layers.softmax(mlp_forward(X, self.params, self.activation)[0], axis=1)[:, 1]

    @property
    def truth_table(self) -> np.ndarray:
        return (self.predict_proba(linear.binary_inputs(2)) > 0.5).astype(np.int64)

    @property
    def solved(self) -> bool:
        return bool(np.array_equal(self.truth_table, [0, 1, 1, 0]))


def train_xor(hidden: int = 4, steps: int = 1000, lr: float = 1.0, seed: int = 0,
              activation: str = "tanh") -> XorTraining:
    """Full-batch gradient descent on a 2-``hidden``-2 MLP over the 4 XOR rows (softmax cross-entropy).

    Gradients come from :func:`mlp_backward` (chapter 06 derives it; the tests
    check the whole run against ``torch.optim.SGD``). The weights start from
    :func:`init_mlp` with ``np.random.default_rng(seed)``, so the run is reproducible.
    """
    X = linear.binary_inputs(2).astype(np.float64)
    y = linear.BOOLEAN["XOR"](X)
    params = init_mlp([2, hidden, 2], np.random.default_rng(seed), bias_scale=0.5)
    losses = np.empty(steps)
    for t in range(steps):
        logits, cache = mlp_forward(X, params, activation)
        losses[t], dlogits = softmax_cross_entropy(logits, y)
        grads = mlp_backward(dlogits, cache)[1]
        params = [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
    return XorTraining(params, losses, activation)


def plot_xor_training(run: XorTraining):
    """Left: the learned probability over the square with the four corners. Right: the loss."""
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10.0, 4.0))
    g = np.linspace(-0.5, 1.5, 101)
    xx, yy = np.meshgrid(g, g)
    p = run.predict_proba(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    cs = a0.contourf(xx, yy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.7)
    a0.contour(xx, yy, p, levels=[0.5], colors="k", linewidths=1.5)
    fig.colorbar(cs, ax=a0, label="P(XOR = 1)")
    X = linear.binary_inputs(2)
    for x, t in zip(X, [0, 1, 1, 0]):
        a0.scatter(*x, s=120, color=COLORS[t], edgecolor="k", zorder=5)
    a0.set_xlabel("$x_1$")
    a0.set_ylabel("$x_2$")
    a0.set_title(f"trained 2-{run.hidden}-2 MLP: table {run.truth_table.tolist()}")
    a0.grid(False)
    a1.semilogy(np.arange(1, len(run.losses) + 1), run.losses)
    a1.set_xlabel("step (full batch of 4 rows)")
    a1.set_ylabel("cross-entropy")
    a1.set_title("training loss")
    return fig


# ------------------------------------------------------------- Boolean circuits
def random_truth_table(n_inputs: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random Boolean function of ``n_inputs`` bits: ``2**n_inputs`` outputs in truth-table order."""
    return rng.integers(0, 2, size=2 ** int(n_inputs)).astype(np.int64)


def dnf_network(truth: np.ndarray) -> dict[str, np.ndarray]:
    """Weights for :func:`linear.two_layer_threshold` computing the Boolean function ``truth``.

    One hidden unit per true row ``r`` (a term of the disjunctive normal form):
    weights ``2r − 1`` (+1 on the bits that must be 1, −1 on those that must be 0)
    and bias ``0.5 − Σ r``, so ``w·x + b > 0`` exactly when ``x = r``. The output
    unit is an OR: weights 1, bias −0.5. ``truth`` has ``2**N`` entries in the order of
    :func:`linear.binary_inputs`.
    """
    truth = np.asarray(truth).ravel()
    n = int(round(np.log2(truth.size))) if truth.size else -1
    if truth.size == 0 or 2 ** n != truth.size or not np.isin(truth, [0, 1]).all():
        raise ValueError(f"dnf_network: truth must hold 0/1 values for all 2**N inputs, got {truth.size} values")
    rows = linear.binary_inputs(n)[truth == 1].astype(np.float64)
    return {"W1": 2 * rows - 1, "b1": 0.5 - rows.sum(axis=1),
            "w2": np.ones(len(rows)), "b2": np.array(-0.5)}


def parity_counting_network(n_inputs: int) -> dict[str, np.ndarray]:
    """Weights for :func:`linear.two_layer_threshold` computing the parity of ``n_inputs`` bits with ``n_inputs`` hidden units.

    Hidden unit ``k`` (``k = 1 … N``) fires when at least ``k`` bits are on; the output
    adds them with alternating signs ``+1, −1, +1, …``, which leaves 1 exactly when the count is odd.
    """
    n = int(n_inputs)
    k = np.arange(1, n + 1)
    return {"W1": np.ones((n, n)), "b1": 0.5 - k, "w2": (-1.0) ** (k + 1), "b2": np.array(-0.5)}


def parity_chain(X: np.ndarray) -> tuple[np.ndarray, int]:
    """Parity of each row of binary ``X (n, N)`` as a chain of chapter 02's XOR networks.

    Returns ``(parity, units)``: ``N − 1`` XOR blocks of 3 threshold units each, ``2(N − 1)`` layers.
    """
    X = np.asarray(X)
    out = X[:, 0]
    for j in range(1, X.shape[1]):
        out = linear.xor_network(np.column_stack([out, X[:, j]]))
    return out.astype(np.int64), 3 * (X.shape[1] - 1)


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


def error_table(target: Target, units: Sequence[int], kind: str = "ReLU") -> dict[str, np.ndarray]:
    """Measured max error and proven bound for each width in ``units``."""
    errs, bounds = [], []
    for k in units:
        params, act, bound = approximate(target, k, kind)
        errs.append(max_error(target, params, act))
        bounds.append(bound)
    return {"units": np.asarray(units), "error": np.array(errs), "bound": np.array(bounds)}


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


def plot_building_blocks(centre: float = 0.0, width: float = 1.0, sharpness: float = 10.0):
    """Left: a square pulse from two steep sigmoids. Right: a tent from three ReLUs."""
    x = np.linspace(centre - 3 * width, centre + 3 * width, 601)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10.0, 3.8))
    s = sharpness / width
    up, down = layers.sigmoid(s * (x - centre + width)), layers.sigmoid(s * (x - centre - width))
    a0.plot(x, up - down, color=COLORS[0], label="difference: a pulse")
    a0.plot(x, up, color=COLORS[2], lw=1.2, ls="--", label=r"$\sigma(s(x - t_1))$")
    a0.plot(x, down, color=COLORS[4], lw=1.2, ls="--", label=r"$\sigma(s(x - t_2))$")
    a0.set_title("square pulse = step up − step down")
    w1, b1, w2, b2 = hat_weights(centre, width)
    for j, c in enumerate([COLORS[2], COLORS[4], COLORS[3]]):
        shift = "" if b1[j] == 0 else f" {'+' if b1[j] > 0 else '−'} {abs(b1[j]):g}"
        a1.plot(x, w2[j] * np.maximum(0, x * w1[j] + b1[j]), color=c, lw=1.2, ls="--",
                label=f"{w2[j]:+g} · relu(x{shift})")
    a1.plot(x, one_hidden_relu(x, w1, b1, w2, b2), color=COLORS[0], label="sum: a tent")
    a1.set_ylim(-2.2, 2.2)
    a1.set_title("tent = three ReLU ramps")
    for ax in (a0, a1):
        ax.set_xlabel("$x$")
        ax.set_ylabel("output")
    a0.legend(loc="upper left", fontsize=8)
    a1.legend(loc="lower left", fontsize=8)
    return fig


def plot_error_vs_units(tables: dict[str, dict[str, np.ndarray]], ax=None):
    """Measured max error (markers) and proven bound (lines) against hidden units, log–log."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (label, t) in enumerate(tables.items()):
        ax.loglog(t["units"], t["bound"], color=COLORS[i], lw=1.5, label=f"{label}: bound")
        ax.loglog(t["units"], t["error"], "o", color=COLORS[i], ms=5, label=f"{label}: measured")
    ax.set_xlabel("hidden units $K$")
    ax.set_ylabel(r"max error $\max_x |f(x) - \hat f(x)|$")
    ax.set_title("hand-built networks: error vs width")
    ax.legend(fontsize=8)
    return ax


def _whole_number(value, lo: int, hi: int, what: str) -> int:
    """``value`` as an int if it is a whole number in ``[lo, hi]``; otherwise a ValueError the widget shows."""
    if not (np.isfinite(value) and float(value).is_integer() and lo <= value <= hi):
        raise ValueError(f"{what} must be a whole number from {lo} to {hi}, got {value}")
    return int(value)


def draw_approximation(units: int = 8, kind: str = "ReLU", target: str = "wiggly"):
    """Widget frame: a hand-built network of ``units`` hidden units of ``kind`` against ``target``.

    Top: target, approximation, knots or steps. Bottom: each hidden unit's
    contribution (output weight × activation). Never raises.
    """
    try:
        units = _whole_number(units, 1, 512, "the number of hidden units")
        tg = TARGETS[target] if target in TARGETS else None
        if tg is None:
            raise ValueError(f"unknown target {target!r}; choose from {list(TARGETS)}")
        params, act, bound = approximate(tg, units, kind)
        x = np.linspace(tg.a, tg.b, 2001)
        out = mlp_forward(x[:, None], params, act)[0].ravel()
        err = float(np.max(np.abs(out - tg.f(x))))
        fig, (a0, a1) = plt.subplots(2, 1, figsize=(7.0, 5.6), sharex=True, height_ratios=[2, 1])
        a0.plot(x, tg.f(x), color="k", lw=1.5, label=f"target {tg.formula}")
        a0.plot(x, out, color=COLORS[1], lw=1.8, label=f"network, {units} {kind} unit{'s' * (units > 1)}")
        (W1, b1), (W2, _) = params
        kinks = -b1 / W1[0]
        a0.plot(kinks, np.interp(kinks, x, out), "|", color=COLORS[1], ms=10, mew=1.5)
        a0.set_ylabel("$f(x)$")
        title = (f"max error {err:.4f}  ≤  bound {bound:.4f}" if err <= bound
                 else f"max error {err:.4f} EXCEEDS bound {bound:.4f}")
        if units > 1 and err > 0.25 * np.ptp(tg.f(x)):
            title += "\ntoo few units: the network cannot follow the wiggles yet"
        a0.set_title(title)
        a0.legend(loc="upper left", fontsize=8)
        h = ACTIVATIONS[act][0](x[:, None] @ W1 + b1)[0] * W2[:, 0]
        a1.plot(x, h, lw=0.8, alpha=0.6)
        a1.set_xlabel("$x$")
        a1.set_ylabel("unit outputs")
        return fig
    except Exception as exc:
        plt.close("all")
        return message_figure(f"cannot draw this setting:\n{exc}", kind="warning")


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
    depth = int(depth)
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    first = (np.array([[1.0, 1.0]]), np.array([0.0, -0.5]))
    middle = (np.array([[2.0, 2.0], [-4.0, -4.0]]), np.array([0.0, -0.5]))
    last = (np.array([[2.0], [-4.0]]), np.array([0.0]))
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


def width_vs_depth(depths: Sequence[int], points_per_piece: int = 16) -> dict[str, np.ndarray]:
    """For each depth: pieces counted on the deep net (2 units/layer) and on a one-hidden-layer net of 2^depth units."""
    rows = {"depth": [], "deep_units": [], "deep_pieces": [], "shallow_units": [], "shallow_pieces": []}
    for L in depths:
        x = np.linspace(0.0, 1.0, points_per_piece * 2 ** L + 1)
        deep = mlp_forward(x[:, None], sawtooth_params(L), "relu")[0].ravel()
        shallow_p = relu_interpolant(lambda t, L=L: sawtooth(t, L), 0.0, 1.0, 2 ** L)
        shallow = mlp_forward(x[:, None], shallow_p, "relu")[0].ravel()
        for k, v in [("depth", L), ("deep_units", 2 * L), ("deep_pieces", count_linear_pieces(deep, x)),
                     ("shallow_units", 2 ** L), ("shallow_pieces", count_linear_pieces(shallow, x))]:
            rows[k].append(v)
    return {k: np.asarray(v) for k, v in rows.items()}


def draw_sawtooth(depth: int = 3, max_depth: int = 8):
    """Widget frame: the tent map composed ``depth`` times, and the units a deep and a shallow net need."""
    try:
        depth = _whole_number(depth, 1, 12, "depth")
        x = np.linspace(0.0, 1.0, 16 * 2 ** depth + 1)
        y = mlp_forward(x[:, None], sawtooth_params(depth), "relu")[0].ravel()
        pieces = count_linear_pieces(y, x)
        fig, (a0, a1) = plt.subplots(1, 2, figsize=(10.0, 4.0))
        a0.plot(x, y, lw=1.2 if depth < 6 else 0.7)
        a0.set_xlabel("$x$")
        a0.set_ylabel(f"$T^{{{depth}}}(x)$")
        a0.set_title(f"depth {depth}: {pieces} linear pieces from {2 * depth} ReLUs")
        ds = np.arange(1, max(max_depth, depth) + 1)
        a1.semilogy(ds, 2 * ds, "o-", label="deep: 2 units × depth")
        a1.semilogy(ds, 2.0 ** ds - 1, "s-", label="one hidden layer: ≥ 2^depth − 1 units")
        a1.axvline(depth, color="k", lw=0.8, ls=":")
        a1.set_xlabel("depth $L$ of the sawtooth")
        a1.set_ylabel("hidden ReLU units needed")
        a1.set_title("the same function, deep vs wide")
        a1.legend(fontsize=8)
        return fig
    except Exception as exc:
        plt.close("all")
        return message_figure(f"cannot draw this setting:\n{exc}", kind="warning")


# ---------------------------------------------------------------------- checks
def _leaky_reference(z: np.ndarray, slope: float):
    out, cache = leaky_relu_forward(z, slope)
    return out, leaky_relu_backward(np.ones_like(z), cache)


def check_leaky_relu(fn: Callable) -> checks.CheckResult:
    """Check ``fn(z, slope) -> (values, derivatives)`` elementwise on random ``z`` and slopes."""
    def make(rng):
        z = rng.standard_normal(tuple(rng.integers(1, 6, size=2))) * 3
        return z, float(rng.choice([0.01, 0.1, 0.2, 0.3]))

    return checks.check_function(fn, _leaky_reference, make, name="leaky_relu", trials=5)


def _random_mlp(rng: np.random.Generator):
    sizes = [int(v) for v in rng.integers(1, 6, size=int(rng.integers(2, 5)))]
    X = rng.standard_normal((int(rng.integers(1, 8)), sizes[0]))
    return X, init_mlp(sizes, rng, bias_scale=0.5)


def check_mlp_forward(fn: Callable) -> checks.CheckResult:
    """Check ``fn(X, params) -> out``: ReLU after every layer but the last, which stays linear."""
    return checks.check_function(fn, lambda X, params: mlp_forward(X, params, "relu")[0], _random_mlp,
                                 name="mlp_forward", trials=6, rtol=1e-9, atol=1e-10)


def check_hat_weights(fn: Callable) -> checks.CheckResult:
    """Check that ``fn(centre, width) -> (w1, b1, w2, b2)`` makes a ReLU layer computing :func:`hat` (any valid weights pass)."""
    def student(centre, width, x):
        return one_hidden_relu(x, *fn(centre, width))

    def make(rng):
        centre, width = float(rng.uniform(-2, 2)), float(rng.uniform(0.2, 2.0))
        return centre, width, centre + width * rng.uniform(-2.5, 2.5, size=50)

    return checks.check_function(student, lambda c, w, x: hat(x, c, w), make, name="hat_weights", trials=5,
                                 rtol=1e-9, atol=1e-9)


def check_dnf_weights(fn: Callable) -> checks.CheckResult:
    """Check that ``fn(truth) -> (W1, b1, w2, b2)`` makes :func:`linear.two_layer_threshold` reproduce ``truth`` on all inputs."""
    def student(truth):
        W1, b1, w2, b2 = fn(truth)
        n = int(np.log2(len(truth)))
        return linear.two_layer_threshold(linear.binary_inputs(n), np.asarray(W1, dtype=np.float64).reshape(-1, n),
                                          np.asarray(b1, dtype=np.float64).ravel(), w2, b2)[0]

    def make(rng):
        truth = random_truth_table(int(rng.integers(1, 5)), rng)
        truth[rng.integers(len(truth))] = 1     # at least one true row
        return (truth,)

    return checks.check_function(student, lambda truth: truth.astype(np.int64), make, name="dnf_weights", trials=6)
