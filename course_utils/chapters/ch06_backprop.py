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
from functools import partial

import matplotlib.pyplot as plt
import numpy as np

from .. import checks
from ..base import timed
from ..plotting import COLORS, show_message
from ..scratch.autodiff import Dual, Tensor, Value, cross_entropy, topological_order, unbroadcast, zero_grad
from ..scratch.backprop import cached_bytes, init_two_layer, two_layer_grads, two_layer_loss
from ..scratch.gradcheck import norm_rel_error, numerical_gradient
from ..scratch.mlp import mlp_backward, mlp_forward
from ..widgets import frame

#: engine and hand-written gradients must equal torch's (float64) to this (absolute) tolerance
TORCH_MATCH_TOL = 1e-10
#: a float64 central-difference check of a correct gradient stays below this relative error
GRADCHECK_TOL = 1e-7
#: the engine-trained MLP's test accuracy on the digits must reach this
ENGINE_MIN_TEST_ACCURACY = 0.92


# ------------------------------------------------------------ against torch
def _torch_mlp(Ws, bs, X, activation_name: str):
    import torch
    import torch.nn.functional as F

    act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
           "identity": lambda z: z, "leaky_relu": lambda z: F.leaky_relu(z, 0.01)}[activation_name]
    h = torch.as_tensor(X)
    for m, (W, b) in enumerate(zip(Ws, bs)):
        h = h @ W + b
        if m < len(Ws) - 1:
            h = act(h)
    return h


def mlp_grads_vs_torch(grads_fn: Callable, Ws, bs, X, y, activation_name: str = "tanh") -> float:
    """Largest absolute difference between ``grads_fn(Ws, bs, X, y, activation) -> (loss, dWs, dbs)`` and torch."""
    import torch
    import torch.nn.functional as F

    loss, dWs, dbs = grads_fn(Ws, bs, X, y, activation_name)
    tW = [torch.tensor(W, requires_grad=True) for W in Ws]
    tb = [torch.tensor(b, requires_grad=True) for b in bs]
    loss_t = F.cross_entropy(_torch_mlp(tW, tb, X, activation_name), torch.as_tensor(y))
    loss_t.backward()
    diffs = [abs(loss - loss_t.item())] + [float(np.max(np.abs(g - t.grad.numpy()))) for g, t in zip(dWs + dbs, tW + tb)]
    return max(diffs)


def two_layer_vs_torch(grads_fn: Callable, X, y, params) -> float:
    """Largest absolute difference between ``grads_fn(X, y, W1, b1, W2, b2)`` and torch's gradients."""
    import torch
    import torch.nn.functional as F

    tp = [torch.tensor(p, requires_grad=True) for p in params]
    logits = torch.relu(torch.as_tensor(X) @ tp[0] + tp[1]) @ tp[2] + tp[3]
    F.cross_entropy(logits, torch.as_tensor(y)).backward()
    return max(float(np.max(np.abs(g - t.grad.numpy()))) for g, t in zip(grads_fn(X, y, *params), tp))


def gradient_check_W2(grads_fn: Callable, X, y, params, dtype=np.float64, h: float = 1e-6) -> float:
    """``gradcheck.norm_rel_error`` between ``grads_fn``'s ``dW2`` and central differences computed in ``dtype``."""
    analytic = grads_fn(X, y, *params)[2]
    cast = [p.astype(dtype) for p in params]

    def loss_of_W2(W2):
        return two_layer_loss(X.astype(dtype), y, cast[0], cast[1], W2, cast[3])
    return norm_rel_error(numerical_gradient(loss_of_W2, params[2].astype(dtype), h=h), analytic)


def tensor_engine_vs_torch(X, y, params) -> float:
    """One graph with broadcasting, ``@``, ``tanh``, ``relu``, ``mean``, ``sum`` and the cross-entropy,
    built from ``autodiff.Tensor`` and from torch: the largest difference of the parameter gradients."""
    import torch
    import torch.nn.functional as F

    engine = [Tensor(p) for p in params]
    hid = (Tensor(X) @ engine[0] + engine[1]).tanh()
    logits = hid.relu() @ engine[2] + engine[3]
    (cross_entropy(logits, y) + (hid * hid).mean(axis=0).sum()).backward()
    tp = [torch.tensor(p, requires_grad=True) for p in params]
    hid_t = torch.tanh(torch.as_tensor(X) @ tp[0] + tp[1])
    logits_t = torch.relu(hid_t) @ tp[2] + tp[3]
    (F.cross_entropy(logits_t, torch.as_tensor(y)) + (hid_t * hid_t).mean(dim=0).sum()).backward()
    return max(float(np.max(np.abs(p.grad - t.grad.numpy()))) for p, t in zip(engine, tp))


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


# ------------------------------------------------------------ what backprop costs
def matmul_multiplications(sizes: Sequence[int], n: int, input_grad: bool = False) -> tuple[int, int]:
    """Multiplications inside the matrix products of an MLP ``sizes[0] → … → sizes[-1]`` on ``n`` rows.

    Forward: ``Z_m = A_{m−1} W_m`` costs ``n·d_{m−1}·d_m`` per layer. Backward: ``∂L/∂W_m = A_{m−1}ᵀ δ_m``
    costs the same, and ``δ_m W_mᵀ`` (the gradient passed down) the same again, except for the first
    layer unless the input's gradient is wanted. Returns ``(forward, backward)``.
    """
    per_layer = [n * a * b for a, b in zip(sizes[:-1], sizes[1:])]
    down = per_layer if input_grad else per_layer[1:]
    return int(sum(per_layer)), int(sum(per_layer) + sum(down))


def random_mlp(sizes: Sequence[int], rng: np.random.Generator) -> tuple[list, list]:
    """Weights ``(d_in, d_out)`` scaled by ``1/√d_in`` and small random biases for an MLP of ``sizes``."""
    Ws = [rng.standard_normal((a, b)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [0.1 * rng.standard_normal(b) for b in sizes[1:]]
    return Ws, bs


def torch_flops(sizes: Sequence[int], n: int, seed: int = 0) -> tuple[int, int]:
    """Floating-point operations torch counts (``torch.utils.flop_counter``) in the forward and the
    backward pass of a ReLU MLP on ``n`` rows (leaf input: no gradient for it). ``(forward, backward)``;
    a multiply-add counts as 2."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    Ws, bs = random_mlp(sizes, np.random.default_rng(seed))
    tW = [torch.tensor(W, requires_grad=True) for W in Ws]
    tb = [torch.tensor(b, requires_grad=True) for b in bs]
    X = torch.as_tensor(np.random.default_rng(seed + 1).standard_normal((n, sizes[0])))
    with FlopCounterMode(display=False) as counter:
        out = _torch_mlp(tW, tb, X, "relu")
        forward = counter.get_total_flops()
        out.sum().backward()
        total = counter.get_total_flops()
    return int(forward), int(total - forward)


def time_forward_backward(sizes: Sequence[int], n: int, rng: np.random.Generator,
                          repeat: int = 5) -> tuple[float, float]:
    """Best-of-``repeat`` seconds of ``mlp.mlp_forward`` and of ``mlp.mlp_backward`` (ReLU MLP, NumPy)."""
    Ws, bs = random_mlp(sizes, rng)
    X = rng.standard_normal((n, sizes[0]))
    t_forward, (logits, caches) = timed(mlp_forward, X, list(zip(Ws, bs)), "relu", repeat=repeat)
    dlogits = rng.standard_normal(logits.shape) / n
    t_backward, _ = timed(mlp_backward, dlogits, caches, False, repeat=repeat)
    return t_forward, t_backward


def activation_memory(depths: Sequence[int], width: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Bytes ``backprop.cached_bytes`` finds in the caches of a ReLU MLP with ``depth`` hidden layers of ``width``."""
    out = []
    for depth in depths:
        Ws, bs = random_mlp([width] * (depth + 1) + [10], rng)
        _, caches = mlp_forward(rng.standard_normal((n, width)), list(zip(Ws, bs)), "relu")
        out.append(cached_bytes(caches, Ws))
    return np.array(out)


def torch_saved_bytes(depth: int, width: int, n: int, seed: int = 0, grad: bool = True) -> int:
    """Bytes of the tensors torch's autograd saves for backward in the same MLP, parameters excluded
    (``torch.autograd.graph.saved_tensors_hooks``); ``grad=False`` runs it under ``torch.no_grad()``."""
    import torch

    Ws, bs = random_mlp([width] * (depth + 1) + [10], np.random.default_rng(seed))
    tW = [torch.tensor(W, requires_grad=True) for W in Ws]
    tb = [torch.tensor(b, requires_grad=True) for b in bs]
    params = {p.data_ptr() for p in tW + tb}
    saved = {}

    def pack(t):
        if t.data_ptr() not in params:
            saved[(t.data_ptr(), tuple(t.shape))] = t.element_size() * t.nelement()
        return t
    X = torch.as_tensor(np.random.default_rng(seed + 1).standard_normal((n, width)))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.set_grad_enabled(grad):
        _torch_mlp(tW, tb, X, "relu").sum()
    return int(sum(saved.values()))


# ------------------------------------------------------ forward vs reverse mode
def many_to_one(xs: Sequence) -> list:
    """``f: Rⁿ → R``: every input feeds a shared chain of 20 operations; one output."""
    s = sum(x.tanh() * x for x in xs)
    for _ in range(20):
        s = s.tanh() * 0.9 + s * 0.1
    return [s]


def one_to_many(xs: Sequence, m: int) -> list:
    """``g: R → Rᵐ``: one input through the same chain of 20 operations, then ``m`` outputs."""
    s = xs[0]
    for _ in range(20):
        s = s.tanh() * 0.9 + s * 0.1
    return [(s * ((k + 1) / m)).tanh() for k in range(m)]


def jacobian_forward_mode(f: Callable[[list], list], x: np.ndarray) -> tuple[np.ndarray, int]:
    """The Jacobian of ``f`` at ``x`` with ``autodiff.Dual``: one pass per input (a column each)."""
    columns = []
    for i in range(len(x)):
        outs = f([Dual(v, 1.0 if j == i else 0.0) for j, v in enumerate(x)])
        columns.append([o.tangent for o in outs])
    return np.array(columns).T, len(x)


def jacobian_reverse_mode(f: Callable[[list], list], x: np.ndarray) -> tuple[np.ndarray, int]:
    """The Jacobian of ``f`` at ``x`` with ``autodiff.Value``: one graph, one backward sweep per output (a row each)."""
    leaves = [Value(v) for v in x]
    outs = f(leaves)
    nodes = {id(n): n for o in outs for n in topological_order(o)}.values()
    rows = []
    for out in outs:
        for node in nodes:                     # a fresh sweep: forget the previous output's gradients
            node.grad = 0.0
        out.backward()
        rows.append([v.grad for v in leaves])
    return np.array(rows), len(outs)


def mode_costs(sizes: Sequence[int], repeat: int = 3) -> dict:
    """Passes and best-of-``repeat`` seconds of both modes on ``many_to_one`` (n inputs) and
    ``one_to_many`` (m outputs), for each size. Values: ``{(function, mode): (passes, seconds)}`` lists."""
    rng = np.random.default_rng(0)
    out: dict = {}
    for size in sizes:
        x_many = rng.uniform(-1, 1, size)
        x_one = rng.uniform(-1, 1, 1)
        cases = {("many_to_one", "forward"): (jacobian_forward_mode, many_to_one, x_many),
                 ("many_to_one", "reverse"): (jacobian_reverse_mode, many_to_one, x_many),
                 ("one_to_many", "forward"): (jacobian_forward_mode, partial(one_to_many, m=size), x_one),
                 ("one_to_many", "reverse"): (jacobian_reverse_mode, partial(one_to_many, m=size), x_one)}
        for key, (method, f, x) in cases.items():
            seconds, (_, passes) = timed(method, f, x, repeat=repeat)
            out.setdefault(key, []).append((passes, seconds))
    return out


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


def engine_program_grads(program: list, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Output and input gradients of ``program`` at ``x`` computed by the engine's ``Value``."""
    leaves = [Value(v) for v in x]
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


def engine_vs_torch(n_graphs: int, seed: int = 1000, n_inputs: int = 3, n_ops: int = 15) -> float:
    """Largest difference between the engine's ``Value`` and torch over ``n_graphs`` random programs.

    Output values are compared absolutely, input gradients relative to ``max(1, |torch's|)``.
    """
    worst = 0.0
    for k in range(n_graphs):
        program, x0 = random_program(np.random.default_rng(seed + k), n_inputs=n_inputs, n_ops=n_ops)
        out_e, g_e = engine_program_grads(program, x0)
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
    rank = {id(node): k for k, node in enumerate(order)}
    for node in order:                         # edges first, under the boxes, in a fixed order (a set's is not)
        for child in sorted(set(node._prev), key=lambda c: rank[id(c)]):
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
    """A random gradient and a shape it could have been broadcast from (for the check and its tests).

    Leading axes may be dropped and kept axes may be 1. In 4 draws out of 5 one kept axis of size 1
    was stretched to 2 or 3: the case that a sum over the leading axes alone gets wrong. That mistake
    passes one draw 43% of the time (70% with the earlier draws, so that it passed all 12 of the
    check's tests 1.5% of the time); the check now draws 24: about 2 in 10^9.
    """
    shape = [int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 4)))]
    small = [1 if rng.uniform() < 0.5 else s for s in shape][int(rng.integers(0, len(shape) + 1)):]
    if small and rng.uniform() < 0.8:
        j = int(rng.integers(0, len(small)))
        small[j], shape[len(shape) - len(small) + j] = 1, int(rng.integers(2, 4))
    return rng.standard_normal(tuple(shape)), tuple(small)


def check_unbroadcast(fn: Callable) -> checks.CheckResult:
    """Check ``fn(grad, shape) -> grad summed down to shape`` against ``autodiff.unbroadcast``."""
    return checks.check_function(fn, unbroadcast, unbroadcast_inputs, name="unbroadcast", trials=24)


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
    """Check ``fn(f, x, h) -> gradient array`` against ``gradcheck.numerical_gradient``.

    A one-sided difference is off by about ``h/2 · f''``; the check's ``rtol=1e-5`` only sees that when
    ``h · |f''|`` exceeds ``2e-5 · |∂f/∂xᵢ|``. So the check uses ``h = 1e-4`` and a quadratic form whose
    diagonal is at least 1 in size (so ``|f''| = |2 A_ii − sin xᵢ| ≥ 1`` in every coordinate): with ``h = 1e-5`` and any
    diagonal, a one-sided difference passed half the draws.
    """
    def make(rng):
        shape = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 3))))
        size = int(np.prod(shape))
        A = rng.standard_normal((size, size))
        diag = np.diagonal(A)
        A[np.diag_indices(size)] = np.sign(diag) * (1.0 + np.abs(diag))  # |A_ii| ≥ 1: f'' = 2 A_ii − sin xᵢ
        return _quadratic_form(A), rng.standard_normal(shape), 1e-4

    return checks.check_function(fn, lambda f, x, h: numerical_gradient(f, x, h), make,
                                 name="central_difference", rtol=1e-5, atol=1e-7)


# -------------------------------------------------- exercises of other kinds
def reference_mul(a: Value, b: Value) -> Value:
    """``a * b`` with its backward rule (what ``Value.__mul__`` does), as a free function."""
    return a * b


def _overwriting_mul(a: Value, b: Value) -> Value:
    """The bug of the debug exercise: the backward rule assigns instead of accumulating."""
    out = Value(a.data * b.data, (a, b), "×")

    def _backward():
        a.grad = b.data * out.grad
        b.grad = a.data * out.grad
    out._backward = _backward
    return out


def _reuse_graph(mul: Callable, a: float, b: float, c: float) -> tuple[float, float, float]:
    """``L = a·a·b + a·c`` built with ``mul``: ``a`` feeds three products. Returns ``(∂L/∂a, ∂L/∂b, ∂L/∂c)``."""
    va, vb, vc = Value(a), Value(b), Value(c)
    L = mul(mul(va, va), vb) + mul(va, vc)
    L.backward()
    return va.grad, vb.grad, vc.grad


def check_mul_backward(mul: Callable, trials: int = 5) -> checks.CheckResult:
    """Check a repaired ``mul(a, b) -> Value`` on ``L = a·a·b + a·c``, a graph that reuses ``a``.

    Run on the exercise's broken code it fails and says which bug is left.
    """
    rng = np.random.default_rng(0)
    got = expected = None
    for _ in range(trials):
        a, b, c = (float(v) for v in rng.uniform(0.5, 2.0, 3) * rng.choice([-1, 1], 3))
        try:
            got = _reuse_graph(mul, a, b, c)
        except Exception:  # the student's exception, reported by check_function
            return checks.check_function(partial(_reuse_graph, mul, a, b, c), lambda: None, lambda rng: (),
                                         name="mul", trials=1)
        expected = _reuse_graph(reference_mul, a, b, c)
        if checks.compare(got, expected, rtol=1e-9, atol=1e-12) is None:
            continue
        if checks.compare(got, _reuse_graph(_overwriting_mul, a, b, c), rtol=1e-9, atol=1e-12) is None:
            hint = ("a node used several times keeps only the last contribution: the backward rule still "
                    "assigns .grad (=) where it must add to it (+=)")
        else:
            hint = "check the local derivatives: ∂(ab)/∂a = b and ∂(ab)/∂b = a, each times out.grad, added with +="
        return checks.check_value(got, expected, name=f"(∂L/∂a, ∂L/∂b, ∂L/∂c) of L = a·a·b + a·c at "
                                                      f"a={a:.3g}, b={b:.3g}, c={c:.3g}", rtol=1e-9, atol=1e-12,
                                  hint=hint)
    return checks.check_value(got, expected, name=f"mul, on {trials} random graphs that reuse a node")


#: the network and batch of the multiplication-count exercise
COUNT_SIZES = (64, 32, 10)
COUNT_BATCH = 100


def check_multiplication_count(answer) -> checks.CheckResult:
    """Check ``answer = (forward, backward)`` multiplications for ``COUNT_SIZES`` on ``COUNT_BATCH`` rows.

    ``answer`` may also be a function returning the pair; ``...`` (or a stub) is "not written yet".
    """
    expected = matmul_multiplications(COUNT_SIZES, COUNT_BATCH)
    if callable(answer):
        try:
            answer = answer()
        except Exception:  # a stub's NotImplementedError ("not written yet") or the student's bug
            return checks.check_function(answer, lambda: None, lambda rng: (), name="answer", trials=1)
    hints = {matmul_multiplications(COUNT_SIZES, COUNT_BATCH, input_grad=True):
             "the first layer's δ W₁ᵀ would be the gradient for the input pixels, which nobody needs",
             (expected[0], expected[0]):
             "each layer's backward needs two products: A_{m−1}ᵀ δ_m for the weights and δ_m W_mᵀ to go down"}
    try:
        hint = hints.get(tuple(int(v) for v in answer))
    except (TypeError, ValueError):
        hint = None
    return checks.check_value(answer, expected, name="(forward, backward) multiplications", rtol=0, atol=0.5,
                              hint=hint or "count n·d_in·d_out for each matrix product")
