"""Tests for course_utils.mlp (chapter 05): the activation zoo, the MLP, Boolean networks,
hand-built approximators, width vs depth, widgets and exercise checks.

Every from-scratch layer is compared with PyTorch in float64, forward and backward;
the approximation bounds and piece counts are compared with exact closed forms.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from helpers import assert_checker  # noqa: E402

from course_utils import checks, linear  # noqa: E402
from course_utils import mlp as M  # noqa: E402
from course_utils.widgets import figure_texts  # noqa: E402


def _text(fig) -> str:
    return " ".join(figure_texts(fig))


def _t(a, grad=True):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ------------------------------------------------------------ activation zoo
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("slope", [0.01, 0.2])
def test_leaky_relu_matches_torch(seed, slope):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=2, size=(5, 4))
    x[0, 0] = 0.0                                     # the kink: both take the slope there
    dout = rng.normal(size=x.shape)
    out, cache = M.leaky_relu_forward(x, slope)
    xt = _t(x)
    ot = F.leaky_relu(xt, slope)
    ot.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, ot.detach().numpy(), rtol=1e-14, atol=0)
    np.testing.assert_allclose(M.leaky_relu_backward(dout, cache), xt.grad.numpy(), rtol=1e-14, atol=0)


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_prelu_and_its_slope_gradient_match_torch(shared, seed):
    rng = np.random.default_rng(seed)
    n, d = rng.integers(2, 7, size=2)
    x, dout = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    a = rng.uniform(0.05, 0.5, size=1 if shared else d)
    out, cache = M.prelu_forward(x, a)
    dx, da = M.prelu_backward(dout, cache)
    layer = torch.nn.PReLU(num_parameters=a.size, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(a))
    xt = _t(x)
    ot = layer(xt)
    ot.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, ot.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-13, atol=1e-15)
    assert da.shape == a.shape
    np.testing.assert_allclose(da, layer.weight.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_prelu_rejects_wrong_slope_shape():
    with pytest.raises(ValueError, match="shape"):
        M.prelu_forward(np.ones((2, 3)), np.ones(2))


@pytest.mark.parametrize("seed", range(4))
def test_maxout_matches_torch_reshape_max(seed):
    rng = np.random.default_rng(seed)
    n, d, m, k = (int(v) for v in rng.integers(1, 5, size=4))
    x, w, b = rng.normal(size=(n, d)), rng.normal(size=(d, m * k)), rng.normal(size=m * k)
    out, cache = M.maxout_forward(x, w, b, k)
    dout = rng.normal(size=out.shape)
    ts = [_t(v) for v in (x, w, b)]
    ot = (ts[0] @ ts[1] + ts[2]).reshape(n, m, k).max(dim=2).values
    ot.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, ot.detach().numpy(), rtol=1e-13)
    for mine, t in zip(M.maxout_backward(dout, cache), ts):
        np.testing.assert_allclose(mine, t.grad.numpy(), rtol=1e-12, atol=1e-13)


def test_maxout_contains_relu_and_abs():
    x = np.linspace(-3, 3, 13).reshape(-1, 1)
    relu, _ = M.maxout_forward(x, np.array([[1.0, 0.0]]), np.zeros(2), 2)
    absx, _ = M.maxout_forward(x, np.array([[1.0, -1.0]]), np.zeros(2), 2)
    np.testing.assert_array_equal(relu, np.maximum(x, 0))
    np.testing.assert_array_equal(absx, np.abs(x))
    with pytest.raises(ValueError, match="groups of"):
        M.maxout_forward(x, np.ones((1, 5)), np.zeros(5), 2)


@pytest.mark.parametrize("seed", range(3))
def test_softmax_backward_and_jacobian_match_torch(seed):
    rng = np.random.default_rng(seed)
    z, dout = rng.normal(scale=3, size=(4, 5)), rng.normal(size=(4, 5))
    s, cache = M.softmax_forward(z)
    zt = _t(z)
    st = torch.softmax(zt, dim=1)
    st.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(s, st.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(M.softmax_backward(dout, cache), zt.grad.numpy(), rtol=1e-11, atol=1e-14)
    J = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, 0), torch.from_numpy(z[0]))
    np.testing.assert_allclose(M.softmax_jacobian(z[0]), J.numpy(), rtol=1e-12, atol=1e-15)


def test_two_class_softmax_is_the_sigmoid():
    z = np.linspace(-20, 20, 41)
    s = M.softmax_forward(np.c_[z, np.zeros_like(z)])[0][:, 0]
    np.testing.assert_allclose(s, M.layers.sigmoid(z), rtol=1e-12)


@pytest.mark.parametrize("name", list(M.ZOO))
def test_zoo_derivatives_equal_autograd(name):
    z = np.random.default_rng(0).uniform(-4, 4, size=500)
    f, d = M.zoo_value_and_derivative(name, z)
    np.testing.assert_allclose(f, M.zoo_torch(name)(torch.from_numpy(z)).numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(d, M.autograd_derivative(name, z), rtol=1e-13, atol=1e-15)


def test_zoo_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown activation"):
        M.zoo_value_and_derivative("swish", np.zeros(3))
    with pytest.raises(ValueError, match="unknown activation"):
        M.zoo_torch("swish")


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
    X = linear.binary_inputs(2)
    out = M.mlp_forward(X, M.XOR_RELU_PARAMS, "relu")[0].ravel()
    np.testing.assert_array_equal(out, [0, 1, 1, 0])
    np.testing.assert_array_equal(M.torch_forward(M.to_torch(M.XOR_RELU_PARAMS), X).ravel(), [0, 1, 1, 0])


def test_train_xor_equals_torch_sgd_step_by_step():
    steps, lr = 40, 1.0
    run = M.train_xor(hidden=3, steps=steps, lr=lr, seed=5)
    model = M.to_torch(M.init_mlp([2, 3, 2], np.random.default_rng(5), bias_scale=0.5), "tanh")
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    X = torch.tensor(linear.binary_inputs(2), dtype=torch.float64)
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


def test_train_xor_solves_it_with_four_units():
    run = M.train_xor(hidden=4, steps=1000, seed=0)
    assert run.solved and run.losses[-1] < 0.01 and run.hidden == 4
    assert run.losses[-1] < run.losses[0]
    assert len(M.plot_xor_training(run).axes) >= 2


# ------------------------------------------------------------ Boolean circuits
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_dnf_network_computes_any_truth_table(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        truth = M.random_truth_table(n, rng)
        net = M.dnf_network(truth)
        assert net["W1"].shape == (truth.sum(), n)
        out, h = linear.two_layer_threshold(linear.binary_inputs(n), **net)
        np.testing.assert_array_equal(out, truth)
        assert np.all(h.sum(axis=1) <= 1)            # at most one term fires: each unit matches one row


def test_dnf_network_constant_functions_and_errors():
    for const in (0, 1):
        truth = np.full(8, const)
        out, _ = linear.two_layer_threshold(linear.binary_inputs(3), **M.dnf_network(truth))
        np.testing.assert_array_equal(out, truth)
    with pytest.raises(ValueError, match="2\\*\\*N"):
        M.dnf_network(np.ones(6))
    with pytest.raises(ValueError, match="0/1"):
        M.dnf_network(np.array([0, 2, 1, 0]))


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_parity_chain(n):
    X = linear.binary_inputs(n)
    parity, units = M.parity_chain(X)
    np.testing.assert_array_equal(parity, X.sum(axis=1) % 2)
    assert units == 3 * (n - 1)
    assert M.dnf_network(parity)["W1"].shape[0] == 2 ** (n - 1)   # the DNF recipe's worst case
    counting = M.parity_counting_network(n)
    assert counting["W1"].shape == (n, n)
    np.testing.assert_array_equal(linear.two_layer_threshold(X, **counting)[0], parity)


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


@pytest.mark.parametrize("kind", ["ReLU", "sigmoid"])
@pytest.mark.parametrize("target", list(M.TARGETS))
def test_hand_built_networks_meet_their_bounds(kind, target):
    tg = M.TARGETS[target]
    table = M.error_table(tg, [1, 2, 3, 5, 8, 16, 32, 64, 100], kind)
    assert np.all(table["error"] <= table["bound"])
    assert table["error"][-1] < table["error"][4] / 4      # it keeps improving with width


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


def test_width_vs_depth_counts():
    t = M.width_vs_depth(range(1, 8))
    np.testing.assert_array_equal(t["deep_pieces"], 2 ** t["depth"])
    np.testing.assert_array_equal(t["shallow_pieces"], 2 ** t["depth"])
    np.testing.assert_array_equal(t["deep_units"], 2 * t["depth"])
    assert np.all(t["shallow_pieces"] <= M.shallow_pieces_bound(t["shallow_units"]))


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


# ------------------------------------------------------------------- widgets
@pytest.mark.parametrize("kw, words", [
    (dict(units=0), "whole number"),
    (dict(units=513), "whole number"),
    (dict(units=2.5), "whole number"),
    (dict(units=float("nan")), "cannot draw"),
    (dict(kind="swish"), "cannot draw"),
    (dict(target="cosh"), "cannot draw"),
    (dict(units=2, target="wiggly"), "too few units"),
])
def test_draw_approximation_extremes(kw, words):
    fig = M.draw_approximation(**kw)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert words in _text(fig)


@pytest.mark.parametrize("units", [1, 64, 512])
@pytest.mark.parametrize("kind", ["ReLU", "sigmoid"])
def test_draw_approximation_frames_state_error_and_bound(units, kind):
    text = _text(M.draw_approximation(units=units, kind=kind, target="sine"))
    assert "max error" in text and "≤  bound" in text and "EXCEEDS" not in text


def test_draw_sawtooth_extremes():
    assert "2 linear pieces" in _text(M.draw_sawtooth(1))
    assert "4096 linear pieces" in _text(M.draw_sawtooth(12))
    assert "whole number" in _text(M.draw_sawtooth(0))
    assert "whole number" in _text(M.draw_sawtooth(13))
    assert "cannot draw" in _text(M.draw_sawtooth(float("nan")))


def test_static_plots():
    assert len(M.plot_activation_zoo().axes) == 6
    assert len(M.plot_building_blocks().axes) == 2
    tables = {"ReLU": M.error_table(M.TARGETS["sine"], [1, 4, 16])}
    assert M.plot_error_vs_units(tables).get_xscale() == "log"


# -------------------------------------------------------------------- checks
def _leaky_seed_table(z, slope):        # the lecture table's typo: a constant 0.01 for z < 0
    return np.where(z > 0, z, 0.01), np.where(z > 0, 1.0, 0.0)


def _leaky_no_derivative_slope(z, slope):
    return np.where(z > 0, z, slope * z), (z > 0).astype(float)


def _mlp_relu_on_output(X, params):
    h = X
    for W, b in params:
        h = np.maximum(h @ W + b, 0)
    return h


def _mlp_forgets_bias(X, params):
    h = X
    for i, (W, _b) in enumerate(params):
        h = h @ W
        if i < len(params) - 1:
            h = np.maximum(h, 0)
    return h


def _hat_half_height(c, w):
    w1, b1, w2, b2 = M.hat_weights(c, w)
    return w1, b1, w2 / 2, b2


def _hat_two_units(c, w):
    return np.ones(2), -np.array([c - w, c]), np.array([1.0, -1.0]) / w, 0.0


def _dnf_and_instead_of_or(truth):
    net = M.dnf_network(truth)
    return net["W1"], net["b1"], net["w2"], 0.5 - len(net["w2"])


def _dnf_wrong_bias(truth):
    net = M.dnf_network(truth)
    return net["W1"], net["b1"] + 1, net["w2"], net["b2"]


@pytest.mark.parametrize("check, reference, wrongs", [
    (M.check_leaky_relu, M._leaky_reference, [_leaky_seed_table, _leaky_no_derivative_slope]),
    (M.check_mlp_forward, lambda X, p: M.mlp_forward(X, p)[0], [_mlp_relu_on_output, _mlp_forgets_bias]),
    (M.check_hat_weights, M.hat_weights, [_hat_half_height, _hat_two_units]),
    (M.check_dnf_weights, lambda t: tuple(M.dnf_network(t).values()), [_dnf_and_instead_of_or, _dnf_wrong_bias]),
])
def test_checks_pass_reference_fail_wrong_and_spot_stubs(check, reference, wrongs):
    assert_checker(check, reference, wrongs)


def test_checks_accept_other_valid_answers():
    # a hat from four ReLUs (one with zero output weight) and a DNF network with doubled weights
    def hat4(c, w):
        w1, b1, w2, b2 = M.hat_weights(c, w)
        return np.append(w1, 1.0), np.append(b1, 0.0), np.append(w2, 0.0), b2

    def dnf_doubled(truth):
        net = M.dnf_network(truth)
        return 2 * net["W1"], 2 * net["b1"], 2 * net["w2"], 2 * net["b2"]

    assert M.check_hat_weights(hat4)
    assert M.check_dnf_weights(dnf_doubled)


def test_check_messages_say_what_is_wrong():
    assert "is wrong" in M.check_mlp_forward(_mlp_relu_on_output).message
    assert "is wrong" in M.check_leaky_relu(_leaky_seed_table).message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        M.check_mlp_forward(_mlp_forgets_bias)
    assert M.check_mlp_forward(lambda X, p: M.mlp_forward(X, p)[0])
