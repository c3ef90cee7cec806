"""Chapter 06 · backpropagation: the graph widget, the experiments and the exercise checks.

- ``example_graph`` and ``draw_graph_step``: the chapter's widget, a small graph whose
  values fill in forward and whose gradients fill in backward, one node per step.
- ``finite_difference_errors`` and ``plot_finite_difference_errors``: the gradient
  check's error against the step ``h`` in float32 and float64.
- ``random_program``, ``run_program``, ``engine_program_grads`` and
  ``torch_program_grads``: random expression graphs replayed on
  :class:`course_utils.scratch.autodiff.Value` and on torch scalars (the property test).
- ``check_*``: the exercise checks, against the references in
  :mod:`course_utils.scratch.autodiff`, :mod:`course_utils.scratch.backprop` and
  :mod:`course_utils.scratch.gradcheck`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .. import checks
from ..plotting import COLORS, show_message
from ..scratch.autodiff import Value, topological_order, unbroadcast, zero_grad
from ..scratch.backprop import init_two_layer, two_layer_grads
from ..scratch.gradcheck import norm_rel_error, numerical_gradient
from ..widgets import frame


# ------------------------------------------------------------ gradient checking
def finite_difference_errors(f: Callable[[np.ndarray], float], x: np.ndarray, exact: np.ndarray,
                             hs: Sequence[float], dtype=np.float64) -> np.ndarray:
    """``gradcheck.norm_rel_error`` of the central-difference gradient of ``f`` at ``x`` for each step ``h``.

    ``x`` is cast to ``dtype`` first, so ``f`` computes in that precision.
    """
    return np.array([norm_rel_error(numerical_gradient(f, x.astype(dtype), h=h), exact) for h in hs])


def plot_finite_difference_errors(hs: Sequence[float], errors: dict, ax=None):
    """Log-log plot of gradient-check error against the step ``h`` (one line per precision)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    for name, err in errors.items():
        ax.loglog(hs, np.maximum(err, 1e-16), "-o", ms=3, label=name)
    ax.axhline(1e-7, color="k", lw=0.8, ls="--")
    ax.text(hs[0], 1.5e-7, "typical pass threshold 1e-7", fontsize=8)
    ax.set_xlabel("finite-difference step $h$")
    ax.set_ylabel("relative error vs exact gradient")
    ax.set_title("central differences: truncation vs round-off")
    ax.legend()
    return ax


# --------------------------------------------------- random expression graphs
UNARY_OPS = ["exp", "log", "tanh", "relu", "pow", "neg", "const"]
BINARY_OPS = ["+", "-", "×", "/"]


def random_program(rng: np.random.Generator, n_inputs: int = 3, n_ops: int = 12) -> tuple[list, np.ndarray]:
    """A random expression over ``n_inputs`` leaves: ``(program, input values)``.

    ``program`` is a list of ``(op, i, j, c)``: apply ``op`` to earlier nodes ``i``
    (and ``j``) with constant ``c``. Ops are chosen so that every intermediate stays
    in its domain and moderate (``log`` of positive numbers, division by numbers away
    from 0, ``exp`` of arguments below 3). The output is the sum of all nodes that
    nothing else uses, so every node contributes to the gradient.
    """
    x = rng.uniform(-2, 2, n_inputs)
    x[np.abs(x) < 0.2] += 0.5                      # keep inputs away from relu's kink
    vals = list(x)
    program = []
    while len(program) < n_ops:
        i, j = (int(k) for k in rng.integers(0, len(vals), 2))
        a, b = vals[i], vals[j]
        op = str(rng.choice(UNARY_OPS + BINARY_OPS))
        c = float(rng.choice([-1.5, -0.5, 0.5, 2.0, 3.0]))
        ok = {"exp": abs(a) < 3, "log": a > 0.1, "relu": abs(a) > 1e-3, "pow": a > 0.1 and abs(a) < 10,
              "/": abs(b) > 0.2, "×": abs(a * b) < 50, "const": True, "neg": True, "tanh": True,
              "+": True, "-": True}[op]
        if not ok:
            continue
        program.append((op, i, j, c))
        vals.append(_apply(op, a, b, c))
    return program, x


_FLOAT_OPS = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "relu": lambda v: max(v, 0.0)}


def _apply(op: str, a, b, c):
    """One program step on any numbers with ``.exp() .log() .tanh() .relu()`` (Value, torch) or floats."""
    if op in ("exp", "log", "tanh", "relu"):
        return getattr(a, op)() if not isinstance(a, float) else _FLOAT_OPS[op](a)
    return {"pow": lambda: a ** c, "neg": lambda: -a, "const": lambda: c * a + c,
            "+": lambda: a + b, "-": lambda: a - b, "×": lambda: a * b, "/": lambda: a / b}[op]()


def run_program(program: list, leaves: Sequence):
    """Replay ``program`` on ``leaves`` (``Value``s, torch scalars, floats); returns the output."""
    nodes, used = list(leaves), set()
    for op, i, j, c in program:
        nodes.append(_apply(op, nodes[i], nodes[j], c))
        used.add(i)
        if op in BINARY_OPS:
            used.add(j)
    sinks = [n for k, n in enumerate(nodes) if k not in used]
    out = sinks[0]
    for n in sinks[1:]:
        out = out + n
    return out


def engine_program_grads(program: list, x: np.ndarray, value_cls: type = Value) -> tuple[float, np.ndarray]:
    """Output and input gradients of ``program`` at ``x`` computed by ``value_cls`` (the engine's ``Value``)."""
    leaves = [value_cls(v) for v in x]
    out = run_program(program, leaves)
    out.backward()
    return out.data, np.array([v.grad for v in leaves])


def torch_program_grads(program: list, x: np.ndarray) -> tuple[float, np.ndarray]:
    """The same with ``torch.autograd`` (float64); unused inputs get gradient 0."""
    import torch

    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in x]
    out = run_program(program, leaves)
    grads = torch.autograd.grad(out, leaves, allow_unused=True)
    return out.item(), np.array([0.0 if g is None else g.item() for g in grads])


def engine_vs_torch(n_graphs: int, seed: int = 1000, n_inputs: int = 3, n_ops: int = 15,
                    value_cls: type = Value) -> float:
    """Largest difference between ``value_cls`` and torch over ``n_graphs`` random programs.

    Output values are compared absolutely, input gradients relative to ``max(1, |torch's|)``.
    """
    worst = 0.0
    for k in range(n_graphs):
        program, x0 = random_program(np.random.default_rng(seed + k), n_inputs=n_inputs, n_ops=n_ops)
        out_e, g_e = engine_program_grads(program, x0, value_cls)
        out_t, g_t = torch_program_grads(program, x0)
        worst = max(worst, abs(out_e - out_t), float(np.max(np.abs(g_e - g_t) / np.maximum(1, np.abs(g_t)))))
    return float(worst)


# --------------------------------------------------------------------- widget
def example_graph(name: str = "neuron") -> Value:
    """The small labelled graphs the widget steps through; returns the output node."""
    if name == "neuron":                       # o = tanh(x1 w1 + x2 w2 + b)
        x1, w1 = Value(2.0, label="x₁"), Value(-3.0, label="w₁")
        x2, w2 = Value(0.0, label="x₂"), Value(1.0, label="w₂")
        b = Value(6.8813735870195432, label="b")
        p1, p2 = x1 * w1, x2 * w2
        p1.label, p2.label = "x₁w₁", "x₂w₂"
        s = p1 + p2
        s.label = "s"
        z = s + b
        z.label = "z"
        out = z.tanh()
        out.label = "o"
        return out
    if name == "shared input":                 # L = (a b + a) c: a feeds two nodes
        a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(0.5, label="c")
        d = a * b
        d.label = "d"
        e = d + a
        e.label = "e"
        out = e * c
        out.label = "L"
        return out
    raise ValueError(f"unknown graph {name!r}; choose 'neuron' or 'shared input'")


def _layout(order: list) -> dict:
    """x = depth (longest path from a leaf; leaves next to their first user), y = slot in that column."""
    depth, users = {}, {}
    for node in order:
        depth[id(node)] = 1 + max((depth[id(c)] for c in node._prev), default=-1)
        for c in node._prev:
            users.setdefault(id(c), []).append(node)
    for node in order:                         # a leaf sits just left of its first user
        if not node._prev and id(node) in users:
            depth[id(node)] = min(depth[id(u)] for u in users[id(node)]) - 1
    pos, slots = {}, {}
    for node in order:
        d = depth[id(node)]
        pos[id(node)] = (d, -slots.get(d, 0))
        slots[d] = slots.get(d, 0) + 1
    for node in order:                         # centre each column vertically
        d, y = pos[id(node)]
        pos[id(node)] = (d, y + (slots[d] - 1) / 2)
    return pos


@frame
def draw_graph_step(step: int = 0, graph: str = "neuron"):
    """The graph of ``example_graph(graph)`` after ``step`` steps of forward then backward.

    Steps ``1…N`` compute the values in topological order; steps ``N+1…2N`` the
    gradients in reverse order (``N`` nodes). Larger steps show the finished pass.
    """
    root = example_graph(graph)
    order = topological_order(root)
    zero_grad(root)
    root.backward()
    n = len(order)
    step = int(np.clip(step, 0, 2 * n))
    pos = _layout(order)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9)
    for node in order:                         # edges first, under the boxes
        for child in set(node._prev):
            (x0, y0), (x1, y1) = pos[id(child)], pos[id(node)]
            ax.annotate("", xy=(x1 - 0.28, y1), xytext=(x0 + 0.28, y0),
                        arrowprops=dict(arrowstyle="->", color="#7f7f7f", lw=1.2))
    for k, node in enumerate(order):
        has_value, has_grad = k < step, (n - 1 - k) < step - n
        current = (k == step - 1) or (step > n and n - 1 - k == step - n - 1)
        lines = [node.label + (f" = {node._op}" if node._op else "")]
        lines.append(f"value {node.data:.4g}" if has_value else "value ?")
        lines.append(f"grad {node.grad:.4g}" if has_grad else "grad ?")
        edge = COLORS[1] if current else (COLORS[0] if has_value else "#bbbbbb")
        face = "#fde0dd" if has_grad else ("#deebf7" if has_value else "white")
        x, y = pos[id(node)]
        ax.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=8.5, family="monospace",
                bbox=dict(boxstyle="round,pad=0.35", facecolor=face, edgecolor=edge, lw=2.2 if current else 1.2))
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.set_axis_off()
    ax.set_title(_step_caption(order, step), fontsize=10)
    if step == 0:
        show_message(ax, "press ▶: values flow forward, then gradients flow backward", kind="info")
    return fig


def _step_caption(order: list, step: int) -> str:
    n = len(order)
    if step == 0:
        return f"{n} nodes in topological order, nothing computed yet"
    if step <= n:
        node = order[step - 1]
        what = "an input (leaf)" if not node._op else f"{node._op} of its inputs"
        return f"forward step {step}/{n}: {node.label} = {node.data:.4g}  ({what})"
    k = step - n
    node = order[n - k]
    if k == 1:
        return f"backward step 1/{n}: ∂{node.label}/∂{node.label} = 1 (the seed)"
    return f"backward step {k}/{n}: ∂{order[-1].label}/∂{node.label} = {node.grad:.4g}  (sum over the arrows leaving it)"


# ------------------------------------------------------------------ exercises
def unbroadcast_inputs(rng: np.random.Generator):
    """A random gradient and a shape it could have been broadcast from (for the check and its tests)."""
    shape = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 4))))
    small = tuple(1 if rng.uniform() < 0.5 else s for s in shape)
    small = small[int(rng.integers(0, len(small) + 1)):] or ()   # maybe drop leading axes
    return rng.standard_normal(shape), small


def check_unbroadcast(fn: Callable) -> checks.CheckResult:
    """Check ``fn(grad, shape) -> grad summed down to shape`` against ``autodiff.unbroadcast``."""
    return checks.check_function(fn, unbroadcast, unbroadcast_inputs, name="unbroadcast", trials=12)


def two_layer_inputs(rng: np.random.Generator):
    """Random ``(X, y, W1, b1, W2, b2)`` of random small sizes."""
    n, d, h, C = (int(v) for v in rng.integers(2, 7, size=4))
    X = rng.standard_normal((n, d))
    return (X, rng.integers(0, C, n), *init_two_layer(d, h, C, rng))


def check_two_layer_grads(fn: Callable) -> checks.CheckResult:
    """Check ``fn(X, y, W1, b1, W2, b2) -> (dW1, db1, dW2, db2)`` against ``backprop.two_layer_grads``."""
    return checks.check_function(fn, two_layer_grads, two_layer_inputs, name="two_layer_grads",
                                 rtol=1e-6, atol=1e-9)


def _quadratic_form(A: np.ndarray):
    return lambda v: float(np.sin(v).sum() + v.ravel() @ A @ v.ravel())


def check_central_difference(fn: Callable) -> checks.CheckResult:
    """Check ``fn(f, x, h) -> gradient array`` against ``gradcheck.numerical_gradient``."""
    def make(rng):
        shape = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 3))))
        size = int(np.prod(shape))
        return _quadratic_form(rng.standard_normal((size, size))), rng.standard_normal(shape), 1e-5

    return checks.check_function(fn, lambda f, x, h: numerical_gradient(f, x, h), make,
                                 name="central_difference", rtol=1e-5, atol=1e-7)
