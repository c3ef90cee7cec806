"""course_utils.scratch.backprop: the vectorised two-layer equations and the δ recursion against torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.chapters import ch06_backprop as ch
from course_utils.scratch import backprop as B
from course_utils.scratch import mlp

TOL = dict(rtol=1e-10, atol=1e-10)


def _t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


@pytest.mark.parametrize("seed", range(5))
def test_two_layer_grads_match_torch(seed):
    rng = np.random.default_rng(seed)
    X, y, W1, b1, W2, b2 = ch.two_layer_inputs(rng)
    tp = [_t(p) for p in (W1, b1, W2, b2)]
    loss_t = F.cross_entropy(torch.relu(torch.tensor(X) @ tp[0] + tp[1]) @ tp[2] + tp[3], torch.tensor(y))
    loss_t.backward()
    np.testing.assert_allclose(B.two_layer_loss(X, y, W1, b1, W2, b2), loss_t.item(), **TOL)
    for g, q in zip(B.two_layer_grads(X, y, W1, b1, W2, b2), tp):
        np.testing.assert_allclose(g, q.grad.numpy(), **TOL)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "leaky_relu"])
def test_delta_recursion_matches_torch_for_deep_nets(activation):
    rng = np.random.default_rng(4)
    sizes = [6, 5, 4, 5, 3]
    Ws = [rng.standard_normal((a, b)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [0.1 * rng.standard_normal(b) for b in sizes[1:]]
    X, y = rng.standard_normal((9, 6)), rng.integers(0, 3, 9)
    loss, dWs, dbs = B.mlp_grads(Ws, bs, X, y, activation)
    act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
           "leaky_relu": lambda z: F.leaky_relu(z, 0.01)}[activation]
    tW, tb = [_t(W) for W in Ws], [_t(b) for b in bs]
    h = torch.tensor(X)
    for i, (W, b) in enumerate(zip(tW, tb)):
        h = h @ W + b
        h = act(h) if i < len(tW) - 1 else h
    loss_t = F.cross_entropy(h, torch.tensor(y))
    loss_t.backward()
    np.testing.assert_allclose(loss, loss_t.item(), **TOL)
    for g, q in zip(dWs + dbs, tW + tb):
        np.testing.assert_allclose(g, q.grad.numpy(), **TOL)


def test_sigmoid_network_is_stable_for_huge_pre_activations():
    """The old copy used 1/(1 + e^{−z}), which overflows (with a warning) for z ≪ 0; the layer's sigmoid does not."""
    Ws = [np.full((2, 3), 400.0), np.ones((3, 2))]
    bs = [np.zeros(3), np.zeros(2)]
    X = np.array([[-3.0, -1.0], [2.0, 1.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dWs, dbs = B.mlp_grads(Ws, bs, X, np.array([0, 1]), "sigmoid")
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in dWs + dbs)


def test_one_forward_pass_chapter_05_s_serves_loss_and_grads():
    rng = np.random.default_rng(5)
    X, y, W1, b1, W2, b2 = ch.two_layer_inputs(rng)
    logits, caches = mlp.mlp_forward(X, [(W1, b1), (W2, b2)], "relu")
    assert logits.shape == (len(X), W2.shape[1]) and len(caches) == 2 and caches[-1][1] is None
    assert B.mlp_grads([W1, W2], [b1, b2], X, y, "relu")[0] == B.two_layer_loss(X, y, W1, b1, W2, b2)
    assert B.mlp_loss([W1, W2], [b1, b2], X, y, "relu") == B.two_layer_loss(X, y, W1, b1, W2, b2)


def test_mlp_backward_skipping_the_input_gradient_changes_no_parameter_gradient():
    rng = np.random.default_rng(6)
    sizes = [5, 4, 3]
    params = [(rng.standard_normal((a, b)), rng.standard_normal(b)) for a, b in zip(sizes[:-1], sizes[1:])]
    logits, caches = mlp.mlp_forward(rng.standard_normal((7, 5)), params, "tanh")
    dlogits = rng.standard_normal(logits.shape)
    dx, grads = mlp.mlp_backward(dlogits, caches, input_grad=False)
    dx2, grads2 = mlp.mlp_backward(dlogits, caches)
    assert dx is None and dx2.shape == (7, 5)
    for (a, b), (c, d) in zip(grads, grads2):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_cached_bytes_counts_activations_not_weights():
    rng = np.random.default_rng(7)
    Ws = [rng.standard_normal((8, 16)), rng.standard_normal((16, 16)), rng.standard_normal((16, 3))]
    bs = [np.zeros(16), np.zeros(16), np.zeros(3)]
    _, caches = mlp.mlp_forward(rng.standard_normal((10, 8)), list(zip(Ws, bs)), "relu")
    # inputs of the three affine layers (10×8, 10×16, 10×16) and the two ReLU inputs (10×16 each)
    assert B.cached_bytes(caches, Ws) == 8 * (10 * 8 + 4 * 10 * 16)
    assert B.cached_bytes(caches) == B.cached_bytes(caches, Ws) + sum(W.nbytes for W in Ws)
