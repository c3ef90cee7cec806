"""Reverse-mode automatic differentiation, small enough to read in one sitting (chapter 06).

Contract:

- ``Value`` is a scalar node of a computational graph (in the style of
  karpathy/micrograd). Every operation returns a new node that remembers its
  inputs (``_prev``) and a closure ``_backward`` that adds the operation's local
  chain-rule contribution to its inputs' ``.grad``. The forward computation and
  that closure sit side by side in each method: that pairing is the lesson.
  ``node.backward()`` sets ``node.grad = 1``, sorts the graph topologically and
  walks it in reverse. Gradients *accumulate* (``+=``), so a node used twice
  receives both contributions; call :func:`zero_grad` (or build a fresh graph)
  before reusing one.
- ``Tensor`` does the same for NumPy arrays (float64): ``+ - *`` broadcast like
  NumPy, and their backward passes sum the gradient over the broadcast axes
  (:func:`unbroadcast`); ``@`` is 2-D matrix multiplication; ``sum``, ``mean``,
  ``relu``, ``tanh`` and :func:`cross_entropy` (mean log-softmax cross-entropy of
  integer labels) complete what an MLP needs. The elementwise rules reuse the
  layers of :mod:`course_utils.scratch.layers`.
- ``Dual`` is forward mode, for contrast: a number carrying its derivative along one
  input direction, each rule computed beside the value; no graph, one direction per pass.
- ``TensorMLP`` is a ReLU network made of ``Tensor`` operations and
  :func:`train_engine_mlp` trains it by minibatch SGD with gradients from the
  engine alone; it returns an ``EngineTrainingResult``.

Every gradient here is compared with ``torch.autograd`` in float64 to 1e-10 in
``tests/unit/scratch/test_autodiff.py``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..base import progress
from .batches import minibatches
from .layers import relu_backward, relu_forward, tanh_backward, tanh_forward
from .losses import softmax_cross_entropy
from .metrics import accuracy


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


def backprop(root, seed) -> None:
    """Seed ``root.grad`` and call every node's backward closure in reverse topological order."""
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
        backprop(self, 1.0)

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


# ----------------------------------------------------------------- forward mode
class Dual:
    """A number and its derivative along one chosen input direction: forward-mode autodiff.

    ``Dual(x, 1.0)`` seeds the input we differentiate by; every operation computes its
    value and, beside it, the derivative of that value by the chain rule applied
    *forward* (``(ab)' = a'b + ab'``). No graph is kept, so memory stays constant, but one
    pass gives the derivatives along one input direction only (a Jacobian-vector product):
    a full gradient of ``f: Rⁿ → R`` takes ``n`` passes, where reverse mode takes one.
    """

    def __init__(self, value: float, tangent: float = 0.0):
        self.value = float(value)
        self.tangent = float(tangent)

    def __repr__(self) -> str:
        return f"Dual({self.value:.6g}, tangent={self.tangent:.6g})"

    @staticmethod
    def _lift(other):
        return other if isinstance(other, Dual) else Dual(other)

    def __add__(self, other):
        other = self._lift(other)
        return Dual(self.value + other.value, self.tangent + other.tangent)

    def __mul__(self, other):
        other = self._lift(other)
        return Dual(self.value * other.value, self.tangent * other.value + self.value * other.tangent)

    def __pow__(self, k: float):
        if isinstance(k, Dual):
            raise TypeError("only constant exponents are supported")
        return Dual(self.value ** k, k * self.value ** (k - 1) * self.tangent)

    def exp(self):
        e = math.exp(self.value)
        return Dual(e, e * self.tangent)

    def log(self):
        if self.value <= 0:
            raise ValueError(f"log of a non-positive number ({self.value})")
        return Dual(math.log(self.value), self.tangent / self.value)

    def tanh(self):
        t = math.tanh(self.value)
        return Dual(t, (1 - t * t) * self.tangent)

    def relu(self):
        return Dual(max(self.value, 0.0), self.tangent if self.value > 0 else 0.0)

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __truediv__(self, other):
        return self * self._lift(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return Dual(other) - self

    def __rtruediv__(self, other):
        return Dual(other) / self


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

        def _backward():                       # the layer's own backward rule
            self.grad += relu_backward(out.grad, mask)
        out._backward = _backward
        return out

    def tanh(self):
        data, cache = tanh_forward(self.data)
        out = Tensor(data, (self,), "tanh")

        def _backward():                       # tanh' = 1 - tanh²
            self.grad += tanh_backward(out.grad, cache)
        out._backward = _backward
        return out

    def backward(self) -> None:
        """Backpropagate from this tensor, which must hold a single number."""
        if self.data.size != 1:
            raise ValueError(f"backward() needs a scalar output, got shape {self.shape}; reduce it with .sum() or .mean()")
        backprop(self, np.ones_like(self.data))

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
    backward simple: ``(softmax(logits) - onehot(y)) / n``
    (:func:`course_utils.scratch.losses.softmax_cross_entropy`).
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
    """A ReLU MLP built from :class:`Tensor` operations; weights ``(d_in, d_out)``, He initialisation."""

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
class EngineTrainingResult:
    """What :func:`train_engine_mlp` returns: the model and one entry per epoch."""

    model: TensorMLP
    losses: list = field(default_factory=list)          # mean training loss per epoch
    val_accuracies: list = field(default_factory=list)  # validation accuracy per epoch


def train_engine_mlp(X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                     hidden: Sequence[int] = (64,), epochs: int = 20, lr: float = 0.5,
                     batch_size: int = 64, rng: np.random.Generator | None = None,
                     show_progress: bool = True) -> EngineTrainingResult:
    """Minibatch SGD on :func:`cross_entropy` with gradients from the engine only.

    Batches come from :func:`course_utils.scratch.batches.minibatches` (a fresh
    shuffle per epoch, drawn from ``rng`` after the initial weights).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    n_classes = int(max(y.max(), y_val.max())) + 1
    model = TensorMLP([X.shape[1], *hidden, n_classes], rng)
    result = EngineTrainingResult(model)
    for _ in progress(range(epochs), desc="engine MLP", unit="epoch", show=show_progress):
        total = 0.0
        for idx in minibatches(len(X), batch_size, rng):
            loss = cross_entropy(model(X[idx]), y[idx])
            model.zero_grad()
            loss.backward()
            for p in model.params:
                p.data -= lr * p.grad
            total += loss.data.item() * len(idx)
        result.losses.append(total / len(X))
        result.val_accuracies.append(accuracy(model(X_val).data, y_val))
    return result
