"""course_utils.scratch.mlp (chapter 05): the MLP against torch, XOR training, hand-built approximators, the sawtooth.

Forward and backward passes are compared with ``nn.Sequential`` in float64; the
approximation bounds and piece counts with exact closed forms. The activations
themselves are rows of the table in ``tests/unit/scratch/test_layers.py``.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.scratch import mlp as M
from course_utils.scratch import threshold


def _t(a, grad=True):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ------------------------------------------------------------------- the MLP
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "leaky_relu"])
@pytest.mark.parametrize("seed", range(3))
def test_mlp_forward_and_backward_match_torch(activation, seed):
    rng = np.random.default_rng(seed)
    sizes = [int(v) for v in rng.integers(1, 7, size=4)]
    params = M.init_mlp(sizes, rng)
    x = rng.normal(size=(6, sizes[0]))
    out, cache = M.mlp_forward(x, params, activation)
    model = M.to_torch(params, activation)
    np.testing.assert_allclose(out, M.torch_forward(model, x), rtol=1e-12, atol=1e-14)
    dout = rng.normal(size=out.shape)
    xt = _t(x)
    model(xt).backward(torch.from_numpy(dout))
    dx, grads = M.mlp_backward(dout, cache)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-13)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for (dW, db), lin in zip(grads, linears):
        np.testing.assert_allclose(dW, lin.weight.grad.numpy().T, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(db, lin.bias.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_mlp_output_activation_and_errors():
    rng = np.random.default_rng(0)
    params = M.init_mlp([3, 4, 2], rng)
    x = rng.normal(size=(5, 3))
    out, _ = M.mlp_forward(x, params, "tanh", output="sigmoid")
    np.testing.assert_allclose(out, M.torch_forward(M.to_torch(params, "tanh", "sigmoid"), x), rtol=1e-12)
    assert M.count_parameters(params) == 3 * 4 + 4 + 4 * 2 + 2
    with pytest.raises(ValueError, match="unknown activation"):
        M.mlp_forward(x, params, "swish")
    with pytest.raises(ValueError, match="empty"):
        M.mlp_forward(x, [])
    with pytest.raises(ValueError, match="at least"):
        M.init_mlp([3], rng)


def test_two_linear_layers_collapse_to_one():
    rng = np.random.default_rng(1)
    (W1, b1), (W2, b2) = M.init_mlp([3, 5, 2], rng)
    x = rng.normal(size=(7, 3))
    deep = M.mlp_forward(x, [(W1, b1), (W2, b2)], "identity")[0]
    np.testing.assert_allclose(deep, x @ (W1 @ W2) + (b1 @ W2 + b2), rtol=1e-12)


# ------------------------------------------------------------------------ XOR
def test_hand_set_relu_xor_is_exact_in_numpy_and_torch():
    X = threshold.binary_inputs(2)
    out = M.mlp_forward(X, M.XOR_RELU_PARAMS, "relu")[0].ravel()
    np.testing.assert_array_equal(out, [0, 1, 1, 0])
    np.testing.assert_array_equal(M.torch_forward(M.to_torch(M.XOR_RELU_PARAMS), X).ravel(), [0, 1, 1, 0])


def test_train_xor_equals_torch_sgd_step_by_step():
    steps, lr = 40, 1.0
    run = M.train_xor(hidden=3, steps=steps, lr=lr, seed=5)
    model = M.to_torch(M.init_mlp([2, 3, 2], np.random.default_rng(5), bias_scale=0.5), "tanh")
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    X = torch.tensor(threshold.binary_inputs(2), dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0])
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(run.losses, losses, rtol=1e-10)
    for (W, _b), lin in zip(run.params, [m for m in model if isinstance(m, torch.nn.Linear)]):
        np.testing.assert_allclose(W, lin.weight.detach().numpy().T, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------ universal approximation
def test_relu_interpolant_is_linear_interpolation():
    rng = np.random.default_rng(0)
    for tg in M.TARGETS.values():
        for K in (1, 3, 10):
            params = M.relu_interpolant(tg.f, tg.a, tg.b, K)
            x = rng.uniform(tg.a, tg.b, 300)
            knots = np.linspace(tg.a, tg.b, K + 1)
            net = M.mlp_forward(x[:, None], params, "relu")[0].ravel()
            np.testing.assert_allclose(net, np.interp(x, knots, tg.f(knots)), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="at least 1"):
        M.relu_interpolant(np.sin, 0, 1, 0)


def test_the_target_derivative_bounds_hold():
    h = 1e-4
    for tg in M.TARGETS.values():
        x = np.linspace(tg.a, tg.b, 20001)
        d1 = (tg.f(x + h) - tg.f(x - h)) / (2 * h)
        d2 = (tg.f(x + h) - 2 * tg.f(x) + tg.f(x - h)) / h ** 2
        assert np.max(np.abs(d1)) <= tg.max_d1 and np.max(np.abs(d2)) <= tg.max_d2 + 1e-4


def test_relu_bound_is_nearly_tight_for_the_sine():
    tg = M.TARGETS["sine"]
    params, act, bound = M.approximate(tg, 64, "ReLU")
    assert 0.95 * bound < M.max_error(tg, params, act) <= bound


def test_hand_built_approximator_equals_torch():
    tg = M.TARGETS["wiggly"]
    x = np.linspace(tg.a, tg.b, 101)[:, None]
    for kind in M.APPROXIMATORS:
        params, act, _ = M.approximate(tg, 12, kind)
        np.testing.assert_allclose(M.mlp_forward(x, params, act)[0], M.torch_forward(M.to_torch(params, act), x),
                                   rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="unknown kind"):
        M.approximate(tg, 4, "tanh")


def test_hat_weights_build_the_hat():
    x = np.linspace(-3, 3, 601)
    for c, w in [(0.0, 1.0), (0.7, 0.3), (-1.5, 2.0)]:
        np.testing.assert_allclose(M.one_hidden_relu(x, *M.hat_weights(c, w)), M.hat(x, c, w), atol=1e-12)
    assert M.hat(np.array([0.5]), 0.5, 1.0)[0] == 1.0


# ------------------------------------------------------------ width vs depth
@pytest.mark.parametrize("depth", range(1, 9))
def test_sawtooth_net_equals_composed_tent_map_and_closed_form(depth):
    x = np.random.default_rng(depth).uniform(0, 1, 500)
    composed = x.copy()
    for _ in range(depth):
        composed = M.tent_map(composed)
    net = M.mlp_forward(x[:, None], M.sawtooth_params(depth), "relu")[0].ravel()
    np.testing.assert_allclose(net, composed, atol=1e-12)
    np.testing.assert_allclose(M.sawtooth(x, depth), composed, atol=1e-10)
    assert len(M.sawtooth_params(depth)) == depth + 1


def test_count_linear_pieces_on_known_functions():
    x = np.linspace(-1, 1, 2001)
    assert M.count_linear_pieces(2 * x + 1, x) == 1
    assert M.count_linear_pieces(np.abs(x - 0.123456), x) == 2      # kink between grid points
    assert M.count_linear_pieces(np.abs(x), x) == 2                 # kink on a grid point
    rng = np.random.default_rng(0)
    for m in (1, 3, 7):                                             # random shallow nets: one piece per kink in range, + 1
        kinks = rng.choice(np.linspace(-0.9, 0.9, 19), size=m, replace=False)   # at least 100 grid cells apart
        w1, w2 = rng.normal(size=m), rng.normal(size=m)
        y = M.one_hidden_relu(x, w1, -kinks * w1, w2, 0.0)
        assert M.count_linear_pieces(y, x) == m + 1 <= M.shallow_pieces_bound(m)
    with pytest.raises(ValueError, match="at least 1"):
        M.sawtooth_params(0)


@pytest.mark.parametrize("pieces", [2, 3, 4])
def test_fold_params_make_pieces_to_the_depth(pieces):
    for depth in (1, 2, 3):
        x = np.linspace(0, 1, 16 * pieces ** depth + 1)
        y = M.mlp_forward(x[:, None], M.fold_params(depth, pieces), "relu")[0].ravel()
        assert M.count_linear_pieces(y, x) == pieces ** depth
        assert y.min() > -1e-12 and y.max() < 1 + 1e-12
    for a, b in zip(M.sawtooth_params(3), M.fold_params(3, 2)):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="at least 2 pieces"):
        M.fold_params(2, 1)


def test_train_xor_validates_and_reports():
    with pytest.raises(ValueError, match="learning rate"):
        M.train_xor(lr=0.0)
    run = M.train_xor(hidden=2, steps=20, lr=1e9, seed=0)  # saturated tanh units, logits of size η
    assert run.diverged and len(run.losses) < 20 and "XOR training diverged" in run.message
    ok = M.train_xor(hidden=2, steps=20, seed=0)
    assert not ok.diverged and "in 20 steps" in ok.message
