"""Chapter 06: backpropagation, by hand and as a tiny reverse-mode autodiff engine.

Contract:

- ``Value`` is a scalar node of a computational graph (in the style of
  karpathy/micrograd). Every operation returns a new node that remembers its
  inputs (``_prev``) and a closure ``_backward`` that adds the operation's local
  chain-rule contribution to its inputs' ``.grad``. The forward computation and
  that closure sit side by side in each method. ``node.backward()`` sets
  ``node.grad = 1``, sorts the graph topologically and walks it in reverse.
  Gradients *accumulate* (``+=``), so a node used twice receives both
  contributions; call ``zero_grad`` (or build a fresh graph) before reusing one.
- ``Tensor`` does the same for NumPy arrays (float64): ``+ - *`` broadcast like
  NumPy, and their backward passes sum the gradient over the broadcast axes
  (:func:`unbroadcast`); ``@`` is 2-D matrix multiplication; ``sum``, ``mean``,
  ``relu``, ``tanh`` and :func:`cross_entropy` (mean log-softmax cross-entropy of
  integer labels) complete what an MLP needs.
- The vectorised two-layer backprop of the lecture notes, with examples as
  *rows* (``X`` is ``(n, d)``): :func:`two_layer_grads`, and the general δ
  recursion for any depth: :func:`mlp_grads`.
- :func:`random_program` / :func:`run_program` build random expressions that
  can be replayed on ``Value`` leaves or on torch scalars (the property test).
- :func:`draw_graph_step` is the chapter's widget: one small graph, its values
  filled in forward and its gradients backward, one node per step.
- ``check_*``: the exercise checks (thin wrappers over ``course_utils.checks``).

Every gradient here is compared with ``torch.autograd`` in
``tests/test_autograd.py`` (float64, to 1e-10).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np

from . import checks
from .plotting import COLORS, show_message
from .scratch.gradcheck import numerical_gradient
from .scratch.layers import relu_backward, relu_forward, softmax
from .scratch.losses import softmax_cross_entropy


# ------------------------------------------------------------------ graph walk
def topological_order(root) -> list:
    """Every node that ``root`` depends on, each after all of its inputs (``root`` last).

    Iterative depth-first search, so long chains do not hit Python's recursion limit.
    """
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node._prev) if id(child) not in seen)
    return order


def _backprop(root, seed) -> None:
    root.grad = seed
    for node in reversed(topological_order(root)):
        node._backward()


# ---------------------------------------------------------------- scalar engine
class Value:
    """A scalar in a computational graph, with its gradient ``∂(output)/∂(this)``."""

    def __init__(self, data: float, _prev: tuple = (), _op: str = "", label: str = ""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = _prev
        self._op = _op
        self._backward: Callable[[], None] = lambda: None
        self.label = label

    def __repr__(self) -> str:
        return f"Value({self.label + '=' if self.label else ''}{self.data:.6g}, grad={self.grad:.6g})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():                       # ∂(a+b)/∂a = ∂(a+b)/∂b = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "×")

        def _backward():                       # ∂(ab)/∂a = b, ∂(ab)/∂b = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k: float):
        if isinstance(k, Value):
            raise TypeError("only constant exponents are supported: use exp(k * log(x)) for x ** Value")
        out = Value(self.data ** k, (self,), f"**{k:g}")

        def _backward():                       # ∂(a^k)/∂a = k a^(k-1)
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():                       # (e^a)' = e^a
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log of a non-positive number ({self.data})")
        out = Value(math.log(self.data), (self,), "log")

        def _backward():                       # (log a)' = 1/a
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():                       # tanh' = 1 - tanh²
            self.grad += (1 - out.data ** 2) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():                       # 1 where the input was positive
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    def backward(self) -> None:
        """Fill ``.grad`` of every node this one depends on with ``∂self/∂node``."""
        _backprop(self, 1.0)

    # the rest is expressed through the operations above
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return self * other ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return Value(other) - self

    def __rtruediv__(self, other):
        return Value(other) / self


def zero_grad(root) -> None:
    """Reset ``.grad`` of every node ``root`` depends on (Value or Tensor graphs)."""
    for node in topological_order(root):
        node.grad = np.zeros_like(node.data) if isinstance(node, Tensor) else 0.0


# ---------------------------------------------------------------- tensor engine
def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: undo NumPy broadcasting in the backward pass.

    Broadcasting prepends axes of length 1 and stretches axes of length 1; the
    gradient of a stretched input is the sum over the copies it was stretched to.
    """
    grad = np.asarray(grad)
    while grad.ndim > len(shape):                     # axes that were prepended
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):               # axes of length 1 that were stretched
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Tensor:
    """A NumPy array (float64) in a computational graph, with its gradient."""

    def __init__(self, data, _prev: tuple = (), _op: str = "", label: str = ""):
        self.data = np.array(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self._prev = _prev
        self._op = _op
        self._backward: Callable[[], None] = lambda: None
        self.label = label

    @property
    def shape(self) -> tuple:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape}, op={self._op or 'leaf'!r})"

    def __add__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += unbroadcast(out.grad, self.shape)
            other.grad += unbroadcast(out.grad, other.shape)
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data * other.data, (self, other), "×")

        def _backward():
            self.grad += unbroadcast(other.data * out.grad, self.shape)
            other.grad += unbroadcast(self.data * out.grad, other.shape)
        out._backward = _backward
        return out

    def __matmul__(self, other):
        if self.data.ndim != 2 or other.data.ndim != 2:
            raise ValueError(f"@ takes 2-D tensors, got shapes {self.shape} and {other.shape}")
        out = Tensor(self.data @ other.data, (self, other), "@")

        def _backward():                       # C = AB: ∂/∂A = G Bᵀ, ∂/∂B = Aᵀ G
            self.grad += out.grad @ other.data.T
            other.grad += self.data.T @ out.grad
        out._backward = _backward
        return out

    def sum(self, axis: int | None = None, keepdims: bool = False):
        out = Tensor(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum")

        def _backward():                       # every summed entry gets the same gradient
            g = out.grad if keepdims or axis is None else np.expand_dims(out.grad, axis)
            self.grad += np.broadcast_to(g, self.shape)
        out._backward = _backward
        return out

    def relu(self):
        data, mask = relu_forward(self.data)
        out = Tensor(data, (self,), "relu")

        def _backward():
            self.grad += relu_backward(out.grad, mask)
        out._backward = _backward
        return out

    def tanh(self):
        out = Tensor(np.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1 - out.data ** 2) * out.grad
        out._backward = _backward
        return out

    def backward(self) -> None:
        """Backpropagate from this tensor, which must hold a single number."""
        if self.data.size != 1:
            raise ValueError(f"backward() needs a scalar output, got shape {self.shape}; reduce it with .sum() or .mean()")
        _backprop(self, np.ones_like(self.data))

    def mean(self, axis: int | None = None, keepdims: bool = False):
        count = self.data.size if axis is None else self.data.shape[axis]
        return self.sum(axis=axis, keepdims=keepdims) * (1.0 / count)

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other if isinstance(other, Tensor) else -np.asarray(other, dtype=np.float64))

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return Tensor(other) - self


def cross_entropy(logits: Tensor, y: np.ndarray) -> Tensor:
    """Mean of ``-log softmax(logits)[i, y_i]`` over the rows, as one graph node.

    Fusing log-softmax with the loss keeps it stable (log-sum-exp) and its
    backward simple: ``(softmax(logits) - onehot(y)) / n``.
    """
    y = np.asarray(y)
    loss, dlogits = softmax_cross_entropy(logits.data, y)
    out = Tensor(loss, (logits,), "CE")

    def _backward():
        logits.grad += dlogits * out.grad
    out._backward = _backward
    return out


# ------------------------------------------------------------ an MLP on Tensor
class TensorMLP:
    """A ReLU MLP built from :class:`Tensor` operations; weights ``(d_in, d_out)``."""

    def __init__(self, sizes: Sequence[int], rng: np.random.Generator):
        self.params = []
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            W = Tensor(rng.standard_normal((d_in, d_out)) * np.sqrt(2.0 / d_in), label="W")
            self.params += [W, Tensor(np.zeros(d_out), label="b")]

    def __call__(self, X) -> Tensor:
        h = X if isinstance(X, Tensor) else Tensor(X)
        n_layers = len(self.params) // 2
        for i in range(n_layers):
            h = h @ self.params[2 * i] + self.params[2 * i + 1]
            if i < n_layers - 1:
                h = h.relu()
        return h

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = np.zeros_like(p.data)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self(X).data.argmax(axis=1)


@dataclass
class EngineTraining:
    """What :func:`train_engine_mlp` returns."""

    model: TensorMLP
    losses: list = field(default_factory=list)      # mean training loss per epoch
    val_acc: list = field(default_factory=list)     # validation accuracy per epoch


def train_engine_mlp(X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                     hidden: Sequence[int] = (64,), epochs: int = 20, lr: float = 0.5,
                     batch_size: int = 64, rng: np.random.Generator | None = None,
                     progress: bool = True) -> EngineTraining:
    """Minibatch SGD on :func:`cross_entropy` with gradients from the engine only."""
    rng = rng if rng is not None else np.random.default_rng(0)
    n_classes = int(max(y.max(), y_val.max())) + 1
    model = TensorMLP([X.shape[1], *hidden, n_classes], rng)
    result = EngineTraining(model)
    bar = range(epochs)
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(bar, desc="engine MLP", unit="epoch", leave=False)
    for _ in bar:
        order, total = rng.permutation(len(X)), 0.0
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            loss = cross_entropy(model(X[idx]), y[idx])
            model.zero_grad()
            loss.backward()
            for p in model.params:
                p.data -= lr * p.grad
            total += loss.data.item() * len(idx)
        result.losses.append(total / len(X))
        result.val_acc.append(float(np.mean(model.predict(X_val) == y_val)))
    return result


# ------------------------------------------------ backprop by hand (vectorised)
def two_layer_loss(X, y, W1, b1, W2, b2) -> float:
    """Mean cross-entropy of ``softmax(relu(X W1 + b1) W2 + b2)``."""
    return softmax_cross_entropy(np.maximum(X @ W1 + b1, 0) @ W2 + b2, y)[0]


def two_layer_grads(X, y, W1, b1, W2, b2):
    """Gradients ``(dW1, db1, dW2, db2)`` of :func:`two_layer_loss`, one batch at once.

    Rows are examples (the lecture notes use columns, hence their transposes):
    ``dZ2 = P − Y``, ``dW2 = A1ᵀ dZ2 / n``, ``db2 = Σ_rows dZ2 / n``,
    ``dZ1 = dZ2 W2ᵀ ⊙ relu'(Z1)``, ``dW1 = Xᵀ dZ1 / n``, ``db1 = Σ_rows dZ1 / n``.
    """
    n = X.shape[0]
    Z1 = X @ W1 + b1
    A1 = np.maximum(Z1, 0)
    P = softmax(A1 @ W2 + b2, axis=1)
    Y = np.eye(W2.shape[1])[y]
    dZ2 = P - Y
    dW2 = A1.T @ dZ2 / n
    db2 = dZ2.sum(axis=0) / n
    dZ1 = (dZ2 @ W2.T) * (Z1 > 0)
    dW1 = X.T @ dZ1 / n
    db1 = dZ1.sum(axis=0) / n
    return dW1, db1, dW2, db2


_ACTIVATIONS = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(np.float64)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
}


def mlp_grads(Ws: Sequence[np.ndarray], bs: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray,
              activation: str = "tanh"):
    """Loss and gradients of an MLP of any depth by the δ recursion (softmax CE output).

    ``δ_M = (P − Y)/n``; going down, ``∂L/∂W_m = A_{m−1}ᵀ δ_m``, ``∂L/∂b_m = Σ_rows δ_m``
    and ``δ_{m−1} = δ_m W_mᵀ ⊙ g'(Z_{m−1})``. Returns ``(loss, dWs, dbs)``.
    """
    g, dg = _ACTIVATIONS[activation]
    A, Zs = [X], []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        Zs.append(A[-1] @ W + b)
        A.append(g(Zs[-1]) if i < len(Ws) - 1 else Zs[-1])
    loss, delta = softmax_cross_entropy(Zs[-1], y)
    dWs, dbs = [None] * len(Ws), [None] * len(Ws)
    for m in reversed(range(len(Ws))):
        dWs[m], dbs[m] = A[m].T @ delta, delta.sum(axis=0)
        if m > 0:
            delta = (delta @ Ws[m].T) * dg(Zs[m - 1])
    return loss, dWs, dbs


def init_two_layer(d: int, h: int, C: int, rng: np.random.Generator):
    """Random ``(W1, b1, W2, b2)`` for :func:`two_layer_grads` (non-zero biases, to test them)."""
    return (rng.standard_normal((d, h)) / np.sqrt(d), 0.1 * rng.standard_normal(h),
            rng.standard_normal((h, C)) / np.sqrt(h), 0.1 * rng.standard_normal(C))


def grad_rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """``‖a − b‖ / (‖a‖ + ‖b‖)``: one number for a whole gradient.

    Unlike the elementwise ``gradcheck.rel_error`` it is not ruined by entries whose
    true gradient is exactly 0 (a pixel that is always blank, a dead ReLU).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def finite_difference_errors(f: Callable[[np.ndarray], float], x: np.ndarray, exact: np.ndarray,
                             hs: Sequence[float], dtype=np.float64) -> np.ndarray:
    """:func:`grad_rel_error` of the central-difference gradient of ``f`` at ``x`` for each step ``h``.

    ``x`` is cast to ``dtype`` first, so ``f`` computes in that precision.
    """
    return np.array([grad_rel_error(numerical_gradient(f, x.astype(dtype), h=h), exact) for h in hs])


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
_UNARY = ["exp", "log", "tanh", "relu", "pow", "neg", "const"]
_BINARY = ["+", "-", "×", "/"]


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
        op = str(rng.choice(_UNARY + _BINARY))
        c = float(rng.choice([-1.5, -0.5, 0.5, 2.0, 3.0]))
        ok = {"exp": abs(a) < 3, "log": a > 0.1, "relu": abs(a) > 1e-3, "pow": a > 0.1 and abs(a) < 10,
              "/": abs(b) > 0.2, "×": abs(a * b) < 50, "const": True, "neg": True, "tanh": True,
              "+": True, "-": True}[op]
        if not ok:
            continue
        program.append((op, i, j, c))
        vals.append(_apply(op, a, b, c))
    return program, x


def _apply(op: str, a, b, c):
    """One program step on any numbers with ``.exp() .log() .tanh() .relu()`` (Value, torch, NumPy wrappers)."""
    if op in ("exp", "log", "tanh", "relu"):
        return getattr(a, op)() if not isinstance(a, float) else _FLOAT_OPS[op](a)
    return {"pow": lambda: a ** c, "neg": lambda: -a, "const": lambda: c * a + c,
            "+": lambda: a + b, "-": lambda: a - b, "×": lambda: a * b, "/": lambda: a / b}[op]()


_FLOAT_OPS = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "relu": lambda v: max(v, 0.0)}


def run_program(program: list, leaves: Sequence):
    """Replay ``program`` on ``leaves`` (``Value``s, torch scalars, floats); returns the output."""
    nodes, used = list(leaves), set()
    for op, i, j, c in program:
        nodes.append(_apply(op, nodes[i], nodes[j], c))
        used.add(i)
        if op in _BINARY:
            used.add(j)
    sinks = [n for k, n in enumerate(nodes) if k not in used]
    out = sinks[0]
    for n in sinks[1:]:
        out = out + n
    return out


def engine_program_grads(program: list, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Output and input gradients of ``program`` at ``x`` computed by :class:`Value`."""
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
def _unbroadcast_inputs(rng: np.random.Generator):
    shape = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 4))))
    small = tuple(1 if rng.uniform() < 0.5 else s for s in shape)
    small = small[int(rng.integers(0, len(small) + 1)):] or ()   # maybe drop leading axes
    return rng.standard_normal(shape), small


def check_unbroadcast(fn: Callable) -> checks.CheckResult:
    """Check ``fn(grad, shape) -> grad summed down to shape`` against :func:`unbroadcast`."""
    return checks.check_function(fn, unbroadcast, _unbroadcast_inputs, name="unbroadcast", trials=12)


def _two_layer_inputs(rng: np.random.Generator):
    n, d, h, C = (int(v) for v in rng.integers(2, 7, size=4))
    X = rng.standard_normal((n, d))
    return (X, rng.integers(0, C, n), *init_two_layer(d, h, C, rng))


def check_two_layer_grads(fn: Callable) -> checks.CheckResult:
    """Check ``fn(X, y, W1, b1, W2, b2) -> (dW1, db1, dW2, db2)`` against :func:`two_layer_grads`."""
    return checks.check_function(fn, two_layer_grads, _two_layer_inputs, name="two_layer_grads",
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
