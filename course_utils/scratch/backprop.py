"""Backpropagation by hand, vectorised over a minibatch (chapter 06).

Contract:

- Examples are *rows*: ``X`` is ``(n, d)``, weights ``W_m`` are ``(d_{m−1}, d_m)``,
  biases ``b_m`` are ``(d_m,)`` and labels ``y`` are integers ``(n,)``. (The
  lecture notes store examples as columns, hence their transposes.)
- The networks are chapter 05's MLPs (:func:`course_utils.scratch.mlp.mlp_forward` and
  its backward pass :func:`course_utils.scratch.mlp.mlp_backward`, built from the layers of
  :mod:`course_utils.scratch.layers`) with the softmax cross-entropy of
  :mod:`course_utils.scratch.losses` on top, averaged over the batch.
- :func:`two_layer_grads` is the lecture's six equations for a ReLU network with one
  hidden layer; :func:`mlp_grads` is the δ recursion for any depth and activation
  (the forward pass, the loss, the backward pass). Both return gradients in the
  order and shapes of the parameters.
- :func:`cached_bytes` measures what the forward pass stores for the backward pass.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .layers import affine_backward, affine_forward, relu_backward, relu_forward
from .losses import softmax_cross_entropy
from .mlp import mlp_backward, mlp_forward


def mlp_loss(Ws: Sequence[np.ndarray], bs: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray,
             activation_name: str = "relu") -> float:
    """Mean softmax cross-entropy of the MLP's logits."""
    return softmax_cross_entropy(mlp_forward(X, list(zip(Ws, bs)), activation_name)[0], y)[0]


def mlp_grads(Ws: Sequence[np.ndarray], bs: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray,
              activation_name: str = "tanh"):
    """Loss and gradients of an MLP of any depth by the δ recursion (softmax CE output).

    :func:`mlp_forward`, then the loss's ``δ_M = (P − Y)/n``, then :func:`mlp_backward`.
    Returns ``(loss, dWs, dbs)``.
    """
    logits, caches = mlp_forward(X, list(zip(Ws, bs)), activation_name)
    loss, delta = softmax_cross_entropy(logits, y)
    _, grads = mlp_backward(delta, caches, input_grad=False)
    return loss, [dW for dW, _ in grads], [db for _, db in grads]


def cached_bytes(caches: list, params: Sequence[np.ndarray] = ()) -> int:
    """Bytes of the arrays the forward pass kept for the backward pass (the activations).

    Arrays that are one of ``params`` (the weights the affine caches point to) are not
    counted: they exist whether or not we train. This is the memory price of reverse mode.
    """
    skip = {id(p) for p in params}

    def walk(obj) -> int:
        if isinstance(obj, np.ndarray):
            return 0 if id(obj) in skip else obj.nbytes
        if isinstance(obj, (tuple, list)):
            return sum(walk(o) for o in obj)
        return 0
    return walk(caches)


def two_layer_loss(X, y, W1, b1, W2, b2) -> float:
    """Mean cross-entropy of ``softmax(relu(X W1 + b1) W2 + b2)``."""
    return mlp_loss([W1, W2], [b1, b2], X, y, "relu")


def two_layer_grads(X, y, W1, b1, W2, b2):
    """Gradients ``(dW1, db1, dW2, db2)`` of :func:`two_layer_loss`, one batch at once.

    The lecture's equations, each one a layer call: ``dZ2 = (P − Y)/n`` (the loss),
    ``dW2 = A1ᵀ dZ2``, ``db2 = Σ_rows dZ2``, ``dA1 = dZ2 W2ᵀ`` (the output affine layer),
    ``dZ1 = dA1 ⊙ relu'(Z1)`` (the ReLU), ``dW1 = Xᵀ dZ1``, ``db1 = Σ_rows dZ1`` (the hidden
    affine layer). The ``1/n`` of the mean loss enters once, in ``dZ2``.
    """
    Z1, aff1 = affine_forward(X, W1, b1)
    A1, relu_cache = relu_forward(Z1)
    Z2, aff2 = affine_forward(A1, W2, b2)
    _, dZ2 = softmax_cross_entropy(Z2, y)
    dA1, dW2, db2 = affine_backward(dZ2, aff2)
    dZ1 = relu_backward(dA1, relu_cache)
    _, dW1, db1 = affine_backward(dZ1, aff1)
    return dW1, db1, dW2, db2


def init_two_layer(d: int, h: int, C: int, rng: np.random.Generator):
    """Random ``(W1, b1, W2, b2)`` for :func:`two_layer_grads` (non-zero biases, to test them)."""
    return (rng.standard_normal((d, h)) / np.sqrt(d), 0.1 * rng.standard_normal(h),
            rng.standard_normal((h, C)) / np.sqrt(h), 0.1 * rng.standard_normal(C))
