"""Chapter 05 · multilayer perceptrons: figures, widget frames, experiments and exercise checks.

The algorithms are in :mod:`course_utils.scratch.mlp` (the MLP, XOR training, the
hand-built approximators, the sawtooth), :mod:`course_utils.scratch.threshold`
(Boolean networks of threshold units) and :mod:`course_utils.scratch.layers` (every
activation, once).

- The activation zoo: ``ZOO`` (what is plotted), ``zoo_value_and_derivative`` (our
  forward and backward passes), ``zoo_torch`` / ``autograd_derivative`` (the torch
  twins), ``plot_activation_zoo``.
- Figures: ``plot_xor_training``, ``plot_building_blocks``, ``plot_error_vs_units``.
- Experiments: ``error_table`` (measured error and proven bound per width),
  ``width_vs_depth`` (linear pieces of deep and shallow ReLU nets).
- Widget frames: ``draw_approximation``, ``draw_sawtooth``.
- Exercise checks: ``check_leaky_relu``, ``check_mlp_forward``, ``check_hat_weights``,
  ``check_dnf_weights``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from .. import checks
from ..plotting import COLORS
from ..scratch import layers
from ..scratch.mlp import (
    TARGETS,
    Target,
    XorResult,
    approximate,
    count_linear_pieces,
    fold_params,
    hat,
    hat_weights,
    init_mlp,
    max_error,
    mlp_forward,
    one_hidden_relu,
    relu_interpolant,
    sawtooth,
    sawtooth_params,
    train_xor,
)
from ..scratch.threshold import binary_inputs, random_truth_table, two_layer_threshold
from ..widgets import frame

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
        out, cache = layers.prelu_forward(x, np.array([ZOO_PRELU_A]))
        d = layers.prelu_backward(np.ones_like(out), cache)[0]
    elif name == "maxout":
        out, cache = layers.maxout_forward(x, *ZOO_MAXOUT, pieces=3)
        d = layers.maxout_backward(np.ones_like(out), cache)[0]
    elif name == "leaky_relu":
        out, cache = layers.leaky_relu_forward(x, ZOO_SLOPE)
        d = layers.leaky_relu_backward(np.ones_like(out), cache)
    elif name in ZOO:
        fwd, bwd = layers.activation(name)
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


def plot_activation_zoo(lo: float = -4.0, hi: float = 4.0, n: int = 801, axes=None) -> np.ndarray:
    """One panel per :data:`ZOO` activation: the function and its derivative.

    Draws on six given Axes (a new 2×3 grid if None) and returns them as an array.
    """
    z = np.linspace(lo, hi, n)
    if axes is None:
        _, axes = plt.subplots(2, 3, figsize=(11.0, 6.2), sharex=True)
    axes = np.asarray(axes)
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
    return axes


# ------------------------------------------------------------------------ XOR
def plot_xor_training(run: XorResult, axes=None) -> np.ndarray:
    """Left: the learned probability over the square with the four corners. Right: the loss.

    Draws on two given Axes (new ones if None) and returns them as an array.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10.0, 4.0))
    a0, a1 = axes
    fig = a0.figure
    g = np.linspace(-0.5, 1.5, 101)
    xx, yy = np.meshgrid(g, g)
    p = run.predict_proba(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    cs = a0.contourf(xx, yy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.7)
    a0.contour(xx, yy, p, levels=[0.5], colors="k", linewidths=1.5)
    fig.colorbar(cs, ax=a0, label="P(XOR = 1)")
    X = binary_inputs(2)
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
    return np.asarray(axes)


#: The loss where 2-unit XOR training gets stuck: two corners right with certainty, two at probability 1/2,
#: so the mean cross-entropy is (ln 2 + ln 2) / 4.
XOR_PLATEAU_LOSS = float(np.log(2) / 2)


def restart_study(hidden_sizes: Sequence[int], restarts: int, steps: int, lr: float = 1.0,
                  activation: str = "tanh") -> dict[int, list[XorResult]]:
    """``train_xor`` from seeds ``0 … restarts − 1`` for each width: ``{hidden: [runs]}``."""
    return {int(h): [train_xor(hidden=int(h), steps=steps, lr=lr, seed=s, activation=activation)
                     for s in range(restarts)] for h in hidden_sizes}


def solved_counts(study: dict[int, list[XorResult]]) -> dict[int, int]:
    """How many runs of each width compute XOR."""
    return {h: sum(r.solved for r in runs) for h, runs in study.items()}


# ------------------------------------------------------ universal approximation
def error_table(target: Target, units: Sequence[int], kind: str = "ReLU", build: Callable | None = None,
                bound: Callable | None = None) -> dict[str, np.ndarray]:
    """Measured max error and proven bound for each width in ``units``.

    ``build(target, K) -> params`` and ``bound(target, K) -> float`` replace the
    construction or the bound of ``kind`` (the tests use them to run wrong ones
    through the notebook's assert, :func:`bound_violations`).
    """
    errs, bounds = [], []
    for k in units:
        params, act, b = approximate(target, k, kind)
        if build is not None:
            params = build(target, k)
        errs.append(max_error(target, params, act))
        bounds.append(b if bound is None else bound(target, k))
    return {"units": np.asarray(units), "error": np.array(errs), "bound": np.array(bounds)}


def bound_violations(table: dict[str, np.ndarray]) -> list[int]:
    """Widths of :func:`error_table` whose measured max error exceeds the bound (the notebook asserts none)."""
    return [int(k) for k, e, b in zip(table["units"], table["error"], table["bound"]) if not e <= b]


def plot_building_blocks(centre: float = 0.0, width: float = 1.0, sharpness: float = 10.0, axes=None) -> np.ndarray:
    """Left: a square pulse from two steep sigmoids. Right: a tent from three ReLUs.

    Draws on two given Axes (new ones if None) and returns them as an array.
    """
    x = np.linspace(centre - 3 * width, centre + 3 * width, 601)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10.0, 3.8))
    a0, a1 = axes
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
    return np.asarray(axes)


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


@frame
def draw_approximation(units: int = 8, kind: str = "ReLU", target: str = "wiggly"):
    """Widget frame: a hand-built network of ``units`` hidden units of ``kind`` against ``target``.

    Top: target, approximation, knots or steps. Bottom: each hidden unit's
    contribution (output weight × activation). A setting that cannot be drawn
    raises a ``ValueError`` that ``@frame`` shows as a message.
    """
    units = _whole_number(units, 1, 512, "the number of hidden units")
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose from {list(TARGETS)}")
    tg = TARGETS[target]
    params, act, bound = approximate(tg, units, kind)
    x = np.linspace(tg.a, tg.b, 2001)
    out = mlp_forward(x[:, None], params, act)[0].ravel()
    err = float(np.max(np.abs(out - tg.f(x))))
    fig, (a0, a1) = plt.subplots(2, 1, figsize=(7.0, 5.6), sharex=True, height_ratios=[2, 1], layout="none")
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.09, top=0.9, hspace=0.08)
    a0.plot(x, tg.f(x), color="k", lw=1.5, label=f"target {tg.formula}")
    a0.plot(x, out, color=COLORS[1], lw=1.8, label=f"network, {units} {kind} unit{'s' * (units > 1)}")
    (W1, b1), (W2, _) = params
    kinks = -b1 / W1[0]
    a0.plot(kinks, np.interp(kinks, x, out), "|", color=COLORS[1], ms=10, mew=1.5)
    a0.set_ylabel("f(x)")
    title = (f"max error {err:.4f}  ≤  bound {bound:.4f}" if err <= bound
             else f"max error {err:.4f} EXCEEDS bound {bound:.4f}")
    if units > 1 and err > 0.25 * np.ptp(tg.f(x)):
        title += "\ntoo few units: the network cannot follow the wiggles yet"
    a0.set_title(title)
    a0.legend(loc="upper left", fontsize=8)
    h = layers.activation(act)[0](x[:, None] @ W1 + b1)[0] * W2[:, 0]
    a1.plot(x, h, lw=0.8, alpha=0.6)
    a1.set_xlabel("x")
    a1.set_ylabel("unit outputs")
    return fig


# ------------------------------------------------------------ width vs depth
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


@frame
def draw_sawtooth(depth: int = 3, max_depth: int = 8):
    """Widget frame: the tent map composed ``depth`` times, and the units a deep and a shallow net need."""
    depth = _whole_number(depth, 1, 12, "depth")
    x = np.linspace(0.0, 1.0, 16 * 2 ** depth + 1)
    y = mlp_forward(x[:, None], sawtooth_params(depth), "relu")[0].ravel()
    pieces = count_linear_pieces(y, x)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="none")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.9, wspace=0.25)
    a0.plot(x, y, lw=1.2 if depth < 6 else 0.7)
    a0.set_xlabel("x")
    a0.set_ylabel(f"T applied {depth} time{'s' * (depth > 1)}")
    a0.set_title(f"depth {depth}: {pieces} linear pieces from {2 * depth} ReLUs")
    ds = np.arange(1, max(max_depth, depth) + 1)
    a1.semilogy(ds, 2 * ds, "o-", label="deep: 2 units × depth")
    a1.semilogy(ds, 2.0 ** ds - 1, "s-", label="one hidden layer: ≥ 2^depth − 1 units")
    a1.axvline(depth, color="k", lw=0.8, ls=":")
    a1.set_xlabel("depth L of the sawtooth")
    a1.set_ylabel("hidden ReLU units needed")
    a1.set_title("the same function, deep vs wide")
    a1.legend(fontsize=8)
    return fig


# ---------------------------------------------------------------------- checks
def leaky_relu_reference(z: np.ndarray, slope: float):
    """``(leaky_relu(z), its derivative)`` from ``layers.leaky_relu_forward`` / ``layers.leaky_relu_backward``."""
    out, cache = layers.leaky_relu_forward(z, slope)
    return out, layers.leaky_relu_backward(np.ones_like(z), cache)


def check_leaky_relu(fn: Callable) -> checks.CheckResult:
    """Check ``fn(z, slope) -> (values, derivatives)`` elementwise on random ``z`` and slopes."""
    def make(rng):
        z = rng.standard_normal(tuple(rng.integers(1, 6, size=2))) * 3
        return z, float(rng.choice([0.01, 0.1, 0.2, 0.3]))

    return checks.check_function(fn, leaky_relu_reference, make, name="leaky_relu", trials=5)


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
    """Check that ``fn(truth) -> (W1, b1, w2, b2)`` makes :func:`two_layer_threshold` reproduce ``truth`` on all inputs."""
    def student(truth):
        W1, b1, w2, b2 = fn(truth)
        n = int(np.log2(len(truth)))
        return two_layer_threshold(binary_inputs(n), np.asarray(W1, dtype=np.float64).reshape(-1, n),
                                          np.asarray(b1, dtype=np.float64).ravel(), w2, b2)[0]

    def make(rng):
        truth = random_truth_table(int(rng.integers(1, 5)), rng)
        truth[rng.integers(len(truth))] = 1     # at least one true row
        return (truth,)

    return checks.check_function(student, lambda truth: truth.astype(np.int64), make, name="dnf_weights", trials=6)


# ------------------------------------------- exercises of other kinds: debug, derive, design
def dense_tanh_backward(dout: np.ndarray, x: np.ndarray, W: np.ndarray, b: np.ndarray):
    """Reference for the debug exercise: ``(dx, dW, db)`` of ``h = tanh(x W + b)``, from ``scratch.layers``."""
    z, aff = layers.affine_forward(x, W, b)
    _, act = layers.tanh_forward(z)
    return layers.affine_backward(layers.tanh_backward(dout, act), aff)


def _tanh_derivative_at_output(dout, x, W, b):
    h = np.tanh(x @ W + b)
    dz = dout * (1 - np.tanh(h) ** 2)
    return dz @ W.T, x.T @ dz, dz.sum(axis=0)


def _dense_inputs(rng: np.random.Generator):
    n, d = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    m = d + int(rng.integers(1, 3))          # d ≠ m: a transposed dW has the wrong shape
    return (rng.standard_normal((n, m)), rng.standard_normal((n, d)), rng.standard_normal((d, m)),
            rng.standard_normal(m))


def check_dense_tanh_backward(fn: Callable) -> checks.CheckResult:
    """Debug-this: ``fn(dout, x, W, b) -> (dx, dW, db)`` for ``h = tanh(x W + b)`` (``x (n, d)``, ``W (d, m)``).

    Shapes are never square, so a transposed ``dW`` is reported as a shape error; the
    derivative evaluated at the output instead of the pre-activation is named.
    """
    probe = _dense_inputs(np.random.default_rng(2024))
    try:
        got = fn(*[a.copy() for a in probe])
    except Exception:  # noqa: BLE001 - check_function reports it
        got = None
    bugs = []
    if isinstance(got, tuple) and len(got) == 3:
        if np.shape(got[1]) == probe[2].T.shape:
            bugs.append("dW has the shape of Wᵀ: with x (n, d) and dz (n, m), dW = xᵀ dz has shape (d, m), like W")
        if checks.compare(got[0], _tanh_derivative_at_output(*probe)[0], rtol=1e-9, atol=1e-12) is None:
            bugs.append("tanh'(z) = 1 − tanh(z)² must be taken at the pre-activation z; with h = tanh(z) "
                        "already computed it is 1 − h², not 1 − tanh(h)²")
    if bugs:
        return checks.check_value(got, dense_tanh_backward(*probe), name="(dx, dW, db)", hint="; ".join(bugs))
    return checks.check_function(fn, dense_tanh_backward, _dense_inputs, name="dense_tanh_backward", trials=5,
                                 rtol=1e-9, atol=1e-12)


#: Derive-then-check: the fold map with 3 pieces composed ``depth`` times; its pieces are counted on the network.
FOLD_PIECES = 3


def measured_fold_pieces(depth: int, pieces: int = FOLD_PIECES) -> int:
    """Linear pieces of :func:`course_utils.scratch.mlp.fold_params` counted on a fine grid of [0, 1]."""
    x = np.linspace(0.0, 1.0, 16 * pieces ** int(depth) + 1)
    return count_linear_pieces(mlp_forward(x[:, None], fold_params(depth, pieces), "relu")[0].ravel(), x)


def check_fold_pieces(fn: Callable) -> checks.CheckResult:
    """Derive-then-check: ``fn(depth) -> int``, the linear pieces of the 3-piece fold composed ``depth`` times."""
    depths = iter([1, 2, 5, 3, 4, 6])
    return checks.check_function(fn, lambda depth: np.int64(measured_fold_pieces(depth)),
                                 lambda rng: (next(depths),), name="fold_pieces", trials=6)


#: Design-to-a-target: XOR from every one of ``seeds`` random starts in ``steps`` full-batch steps,
#: with at most ``max_hidden`` tanh units (measured: 4 units solve all ten for η from 1.5 to 3.25;
#: η = 1 leaves one start unsolved, η = 4 six).
XOR_DESIGN = dict(steps=50, seeds=10, max_hidden=4)


def check_xor_design(choice) -> checks.CheckResult:
    """Design-to-a-target: ``choice = dict(hidden=..., lr=...)`` must meet :data:`XOR_DESIGN`."""
    parsed = checks.parse_choice(choice, {"hidden": (1, XOR_DESIGN["max_hidden"]), "lr": (0, 1e3)}, "your design",
                                 integers=("hidden",))
    if isinstance(parsed, checks.CheckResult):
        return parsed
    hidden, lr, steps, seeds = parsed["hidden"], parsed["lr"], XOR_DESIGN["steps"], XOR_DESIGN["seeds"]
    if lr <= 0:
        return checks.verdict("your design", False, f"lr should be a positive number, got {lr:g}.")
    runs = restart_study([hidden], seeds, steps, lr)[int(hidden)]
    solved = sum(r.solved for r in runs)
    failed = [r for r in runs if not r.solved]
    if not failed:
        return checks.check_value(solved, solved, name="your design")
    rising = sum(bool(np.any(np.diff(r.losses[-10:]) > 0)) for r in failed)
    stuck = sum(abs(r.losses[-1] - XOR_PLATEAU_LOSS) < 0.02 for r in failed)
    why = (f"{rising} of the {len(failed)} failed runs have a loss that still jumps up: η is too large"
           if rising > len(failed) / 2 else
           f"{len(failed) - rising} of the {len(failed)} failed runs are still descending (or stuck near "
           f"ln 2 / 2 = {XOR_PLATEAU_LOSS:.3f}: {stuck}); a larger η or more units help")
    return checks.check_value(solved, seeds, name=f"starts solved with hidden={hidden}, η={lr:g} in {steps} steps",
                              hint=why)

