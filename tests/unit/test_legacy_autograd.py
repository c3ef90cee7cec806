"""Tests for course_utils.autograd (chapter 06): the engines, backprop by hand, widget, checks.

Every gradient is compared with ``torch.autograd`` in float64 to 1e-10: the scalar
engine on hundreds of random expression graphs, the tensor engine on random shapes
with broadcasting, the vectorised two-layer and deep δ backprop, and one training step.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from course_utils import autograd as A  # noqa: E402
from course_utils.scratch.gradcheck import numerical_gradient  # noqa: E402
from course_utils.widgets import figure_texts  # noqa: E402

TOL = dict(rtol=1e-10, atol=1e-10)




def _t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


# ------------------------------------------------------------- scalar engine
@pytest.mark.parametrize("seed", range(200))
def test_value_matches_torch_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    program, x = A.random_program(rng, n_inputs=int(rng.integers(1, 5)), n_ops=int(rng.integers(3, 30)))
    out, grads = A.engine_program_grads(program, x)
    out_t, grads_t = A.torch_program_grads(program, x)
    assert math.isfinite(out)
    np.testing.assert_allclose(out, out_t, **TOL)
    np.testing.assert_allclose(grads, grads_t, **TOL)


def test_random_programs_use_every_operation():
    ops = {op for s in range(50) for op, *_ in A.random_program(np.random.default_rng(s))[0]}
    assert ops == set(A._UNARY + A._BINARY)


def test_each_value_op_against_torch():
    a, b = 1.3, -0.7
    cases = {
        "add": lambda u, v: u + v, "sub": lambda u, v: u - v, "rsub": lambda u, v: 2.0 - u * v,
        "mul": lambda u, v: u * v, "div": lambda u, v: u / v, "rdiv": lambda u, v: 3.0 / v + u,
        "pow": lambda u, v: u ** 3 + v ** 2, "neg": lambda u, v: -u * v, "exp": lambda u, v: (u * v).exp(),
        "log": lambda u, v: (u * u + v * v).log(), "tanh": lambda u, v: (u + v).tanh(),
        "relu": lambda u, v: u.relu() + v.relu(),
    }
    for name, f in cases.items():
        u, v = A.Value(a), A.Value(b)
        out = f(u, v)
        out.backward()
        ut, vt = _t(a), _t(b)
        out_t = f(ut, vt)
        out_t.backward()
        np.testing.assert_allclose([out.data, u.grad, v.grad], [out_t.item(), ut.grad.item(), vt.grad.item()],
                                   err_msg=name, **TOL)


def test_gradients_accumulate_when_a_node_is_reused():
    a = A.Value(3.0)
    out = a * a + a                             # d/da = 2a + 1
    out.backward()
    assert a.grad == 7.0
    A.zero_grad(out)
    assert a.grad == 0.0


def test_topological_order_puts_inputs_first_and_handles_deep_chains():
    x = A.Value(0.5)
    y = x
    for _ in range(5000):                       # deeper than Python's recursion limit
        y = y * 1.0001
    y.backward()
    assert np.isclose(x.grad, 1.0001 ** 5000)
    root = A.example_graph("neuron")
    order = A.topological_order(root)
    position = {id(n): i for i, n in enumerate(order)}
    assert order[-1] is root and len(order) == 10
    assert all(position[id(c)] < position[id(n)] for n in order for c in n._prev)


def test_value_errors_are_clear():
    with pytest.raises(ValueError, match="non-positive"):
        A.Value(-1.0).log()
    with pytest.raises(TypeError, match="constant exponents"):
        A.Value(2.0) ** A.Value(2.0)


# ------------------------------------------------------------- tensor engine
BROADCAST_CASES = [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((5,), ()), ((2, 1, 3), (4, 1)), ((1,), (3, 2))]


@pytest.mark.parametrize("sa,sb", BROADCAST_CASES)
def test_tensor_broadcasting_ops_match_torch(sa, sb):
    rng = np.random.default_rng(len(sa) * 10 + len(sb))
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    w = rng.standard_normal(np.broadcast_shapes(sa, sb))
    ta, tb = A.Tensor(a), A.Tensor(b)
    out = (((ta * tb + ta - tb) * w).relu() + (2.0 - ta) * 0.5).sum()
    out.backward()
    xa, xb = _t(a), _t(b)
    out_t = (((xa * xb + xa - xb) * torch.tensor(w)).relu() + (2.0 - xa) * 0.5).sum()
    out_t.backward()
    np.testing.assert_allclose(out.data, out_t.item(), **TOL)
    np.testing.assert_allclose(ta.grad, xa.grad.numpy(), **TOL)
    np.testing.assert_allclose(tb.grad, xb.grad.numpy(), **TOL)


@pytest.mark.parametrize("seed", range(20))
def test_tensor_mlp_graph_matches_torch(seed):
    rng = np.random.default_rng(seed)
    n, d, h, C = (int(v) for v in rng.integers(2, 8, size=4))
    X, y = rng.standard_normal((n, d)), rng.integers(0, C, n)
    W1, b1, W2, b2 = A.init_two_layer(d, h, C, rng)
    axis = int(rng.integers(0, 2))
    params = [A.Tensor(p) for p in (W1, b1, W2, b2)]
    hidden = (A.Tensor(X) @ params[0] + params[1]).tanh()
    logits = hidden.relu() @ params[2] + params[3]
    loss = A.cross_entropy(logits, y) + (hidden * hidden).mean(axis=axis).sum() + logits.mean()
    loss.backward()
    tp = [_t(p) for p in (W1, b1, W2, b2)]
    hid_t = (torch.tensor(X) @ tp[0] + tp[1]).tanh()
    logit_t = hid_t.relu() @ tp[2] + tp[3]
    loss_t = F.cross_entropy(logit_t, torch.tensor(y)) + (hid_t * hid_t).mean(dim=axis).sum() + logit_t.mean()
    loss_t.backward()
    np.testing.assert_allclose(loss.data, loss_t.item(), **TOL)
    for p, q in zip(params, tp):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), **TOL)


def test_tensor_sum_with_keepdims_and_negation():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 4))
    ta, xa = A.Tensor(a), _t(a)
    (-(ta.sum(axis=1, keepdims=True) * ta)).sum().backward()
    (-(xa.sum(dim=1, keepdim=True) * xa)).sum().backward()
    np.testing.assert_allclose(ta.grad, xa.grad.numpy(), **TOL)


def test_tensor_errors_are_clear():
    with pytest.raises(ValueError, match="scalar output"):
        A.Tensor(np.ones(3)).backward()
    with pytest.raises(ValueError, match="2-D"):
        A.Tensor(np.ones(3)) @ A.Tensor(np.ones(3))


def test_unbroadcast_matches_torch_reduction():
    rng = np.random.default_rng(2)
    for _ in range(30):
        g, shape = A._unbroadcast_inputs(rng)
        x = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        (x.expand(g.shape) * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(A.unbroadcast(g, shape), x.grad.numpy(), **TOL)


def test_engine_sgd_step_equals_torch_sgd_step():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((16, 5)), rng.integers(0, 3, 16)
    model = A.TensorMLP([5, 7, 3], np.random.default_rng(0))
    tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in model.params]
    opt = torch.optim.SGD(tparams, lr=0.3)
    for _ in range(3):
        loss = A.cross_entropy(model(X), y)
        model.zero_grad()
        loss.backward()
        for p in model.params:
            p.data -= 0.3 * p.grad
        h = torch.relu(torch.tensor(X) @ tparams[0] + tparams[1])
        loss_t = F.cross_entropy(h @ tparams[2] + tparams[3], torch.tensor(y))
        opt.zero_grad()
        loss_t.backward()
        opt.step()
        np.testing.assert_allclose(loss.data, loss_t.item(), **TOL)
    for p, q in zip(model.params, tparams):
        np.testing.assert_allclose(p.data, q.detach().numpy(), **TOL)


def test_engine_mlp_learns_digits_subset():
    from course_utils.data import load_digits
    X, y = load_digits()
    res = A.train_engine_mlp(X[:600], y[:600], X[600:900], y[600:900], hidden=(32,), epochs=8,
                             rng=np.random.default_rng(0), progress=False)
    assert res.losses[-1] < res.losses[0] and res.val_acc[-1] > 0.7


# ------------------------------------------------------- backprop by hand
@pytest.mark.parametrize("seed", range(5))
def test_two_layer_grads_match_torch(seed):
    rng = np.random.default_rng(seed)
    X, y, W1, b1, W2, b2 = A._two_layer_inputs(rng)
    tp = [_t(p) for p in (W1, b1, W2, b2)]
    loss_t = F.cross_entropy(torch.relu(torch.tensor(X) @ tp[0] + tp[1]) @ tp[2] + tp[3], torch.tensor(y))
    loss_t.backward()
    np.testing.assert_allclose(A.two_layer_loss(X, y, W1, b1, W2, b2), loss_t.item(), **TOL)
    for g, q in zip(A.two_layer_grads(X, y, W1, b1, W2, b2), tp):
        np.testing.assert_allclose(g, q.grad.numpy(), **TOL)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_delta_recursion_matches_torch_for_deep_nets(activation):
    rng = np.random.default_rng(4)
    sizes = [6, 5, 4, 5, 3]
    Ws = [rng.standard_normal((a, b)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [0.1 * rng.standard_normal(b) for b in sizes[1:]]
    X, y = rng.standard_normal((9, 6)), rng.integers(0, 3, 9)
    loss, dWs, dbs = A.mlp_grads(Ws, bs, X, y, activation)
    act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[activation]
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


def test_float32_finite_differences_fail_and_float64_pass():
    rng = np.random.default_rng(5)
    X, y, W1, b1, W2, b2 = A._two_layer_inputs(rng)
    exact = A.two_layer_grads(X, y, W1, b1, W2, b2)[0]

    def f(W):
        return A.two_layer_loss(X.astype(W.dtype), y, W, b1.astype(W.dtype), W2.astype(W.dtype), b2.astype(W.dtype))
    err = {dt: A.finite_difference_errors(f, W1, exact, [1e-6], dtype=dt)[0] for dt in (np.float32, np.float64)}
    assert err[np.float64] < 1e-6 and err[np.float32] > 1e-2


def test_plot_finite_difference_errors_labels():
    ax = A.plot_finite_difference_errors([1e-2, 1e-4], {"float64": np.array([1e-5, 1e-9])})
    assert "finite-difference step $h$" in ax.get_xlabel()


# -------------------------------------------------------------------- widget
@pytest.mark.parametrize("graph", ["neuron", "shared input"])
@pytest.mark.parametrize("step", [-3, 0, 1, 7, 12, 20, 100])
def test_widget_draws_every_step(graph, step):
    fig = A.draw_graph_step(step, graph)
    text = " ".join(figure_texts(fig))
    n = len(A.topological_order(A.example_graph(graph)))
    if step <= 0:
        assert "press ▶" in text and "grad ?" in text
    elif step >= 2 * n:
        assert "?" not in text.replace("nothing computed", "")
        assert f"backward step {n}/{n}" in text


def test_widget_shows_accumulated_gradient_of_the_shared_input():
    fig = A.draw_graph_step(12, "shared input")
    # L = (ab + a)c with a=2, b=-3, c=0.5: dL/da = (b + 1) c = -1
    assert "grad -1" in " ".join(figure_texts(fig))


def test_unknown_graph_is_an_error():
    with pytest.raises(ValueError, match="unknown graph"):
        A.example_graph("nope")


# -------------------------------------------------------------------- checks
def _stub(*args):
    raise NotImplementedError


def test_check_unbroadcast():
    assert A.check_unbroadcast(A.unbroadcast)
    r = A.check_unbroadcast(lambda g, shape: g.sum(axis=0)[None] if g.ndim else g)
    assert not r and r.attempted
    r = A.check_unbroadcast(_stub)
    assert not r and "not written" in r.message


def test_check_two_layer_grads():
    assert A.check_two_layer_grads(A.two_layer_grads)

    def no_mean(X, y, W1, b1, W2, b2):          # forgets the 1/n
        return tuple(g * len(X) for g in A.two_layer_grads(X, y, W1, b1, W2, b2))
    r = A.check_two_layer_grads(no_mean)
    assert not r and "wrong" in r.message
    assert "not written" in A.check_two_layer_grads(_stub).message


def test_check_central_difference():
    assert A.check_central_difference(lambda f, x, h: numerical_gradient(f, x, h))

    def forward(f, x, h):                       # one-sided differences: O(h) error
        base, g = f(x), np.zeros_like(x)
        for i in np.ndindex(x.shape):
            xp = x.copy()
            xp[i] += h
            g[i] = (f(xp) - base) / h
        return g
    r = A.check_central_difference(forward)
    assert not r and r.attempted
    assert "not written" in A.check_central_difference(_stub).message
