"""course_utils.chapters.ch06_backprop: the graph widget, the experiments and the exercise checks."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_checker

from course_utils.chapters import ch06_backprop as ch
from course_utils.scratch import autodiff, backprop, gradcheck
from course_utils.widgets import Choice, Slider, figure_texts, interactive_figure


# ------------------------------------------------------- random programs
def test_random_programs_use_every_operation():
    ops = {op for s in range(50) for op, *_ in ch.random_program(np.random.default_rng(s))[0]}
    assert ops == set(ch.UNARY_OPS + ch.BINARY_OPS)


def test_engine_vs_torch_is_round_off():
    assert ch.engine_vs_torch(10) < 1e-12


# ------------------------------------------------------- gradient checking
def test_float32_finite_differences_fail_and_float64_pass():
    rng = np.random.default_rng(5)
    X, y, W1, b1, W2, b2 = ch.two_layer_inputs(rng)
    exact = backprop.two_layer_grads(X, y, W1, b1, W2, b2)[0]

    def f(W):
        return backprop.two_layer_loss(X.astype(W.dtype), y, W, b1.astype(W.dtype), W2.astype(W.dtype), b2.astype(W.dtype))
    err = {dt: ch.finite_difference_errors(f, W1, exact, [1e-6], dtype=dt)[0] for dt in (np.float32, np.float64)}
    assert err[np.float64] < 1e-6 and err[np.float32] > 1e-2


def test_plot_finite_difference_errors_labels():
    ax = ch.plot_finite_difference_errors([1e-2, 1e-4], {"float64": np.array([1e-5, 1e-9])})
    assert "finite-difference step $h$" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["float64"]


# -------------------------------------------------------------------- widget
@pytest.mark.parametrize("graph", ["neuron", "shared input"])
@pytest.mark.parametrize("step", [-3, 0, 1, 7, 12, 20, 100])
def test_widget_draws_every_step(graph, step):
    fig = ch.draw_graph_step(step, graph)
    text = " ".join(figure_texts(fig))
    n = len(autodiff.topological_order(ch.example_graph(graph)))
    if step <= 0:
        assert "press ▶" in text and "grad ?" in text
    elif step <= n:
        assert f"forward step {step}/{n}" in text
    elif step < 2 * n:
        assert f"backward step {step - n}/{n}" in text
    else:
        assert "?" not in text.replace("nothing computed", "")
        assert f"backward step {n}/{n}" in text


def test_widget_shows_accumulated_gradient_of_the_shared_input():
    fig = ch.draw_graph_step(12, "shared input")
    # L = (ab + a)c with a=2, b=-3, c=0.5: dL/da = (b + 1) c = -1
    assert "grad -1" in " ".join(figure_texts(fig))


def test_unknown_graph_is_a_message_not_a_traceback():
    with pytest.raises(ValueError, match="unknown graph"):
        ch.example_graph("nope")
    assert "unknown graph" in " ".join(figure_texts(ch.draw_graph_step(3, "nope")))


def test_widget_static_frames_render():
    fig_def = interactive_figure(ch.draw_graph_step, step=Slider(0, 20, 1, value=0, play=True),
                                 graph=Choice(["neuron", "shared input"]))
    assert fig_def.render(step=20, graph="shared input")[:4] == b"\x89PNG"


def test_widget_frames_are_the_same_pixels_every_time():
    """The arrows used to be drawn in a set's order, which changes with the nodes' addresses: the same step then
    gave a slightly different picture (where arrows overlap) and the book stored duplicate frames."""
    fig = interactive_figure(ch.draw_graph_step, step=Slider(0, 20, 1, value=0), graph=Choice(["neuron", "shared input"]))
    for graph in ("neuron", "shared input"):
        assert len({fig.render(cache=False, step=20, graph=graph) for _ in range(12)}) == 1, graph


# -------------------------------------------------------------------- checks
def _no_mean(X, y, W1, b1, W2, b2):            # forgets the 1/n
    return tuple(g * len(X) for g in backprop.two_layer_grads(X, y, W1, b1, W2, b2))


def _no_relu_mask(X, y, W1, b1, W2, b2):       # backprop through the ReLU as if it were the identity
    _, dWs, dbs = backprop.mlp_grads([W1, W2], [b1, b2], X, y, "identity")
    return (dWs[0], dbs[0], *backprop.two_layer_grads(X, y, W1, b1, W2, b2)[2:])


def _one_sided(f, x, h):                        # one-sided differences: O(h) error
    base, g = f(x), np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp = x.copy()
        xp[i] += h
        g[i] = (f(xp) - base) / h
    return g


CHECKS = {
    "unbroadcast": (ch.check_unbroadcast, autodiff.unbroadcast,
                    [lambda g, shape: g.sum(axis=0)[None] if g.ndim else g,       # always sums axis 0
                     lambda g, shape: g.sum(axis=tuple(range(g.ndim - len(shape))))]),  # forgets stretched axes
    "two_layer_grads": (ch.check_two_layer_grads, backprop.two_layer_grads, [_no_mean, _no_relu_mask]),
    "central_difference": (ch.check_central_difference, lambda f, x, h: gradcheck.numerical_gradient(f, x, h),
                           [_one_sided]),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_checker_passes_reference_rejects_wrong_and_spots_stub(name):
    check, reference, wrongs = CHECKS[name]
    assert_checker(check, reference, wrongs)


# -------------------------------------------- negative controls of the notebook's asserts
def _value_tanh_wrong(self):
    """A plausible slip: tanh' written as 1 − tanh instead of 1 − tanh²."""
    import math
    out = autodiff.Value(math.tanh(self.data), (self,), "tanh")

    def _backward():
        self.grad += (1 - out.data) * out.grad
    out._backward = _backward
    return out


def _tensor_tanh_wrong(self):
    out = autodiff.Tensor(np.tanh(self.data), (self,), "tanh")

    def _backward():
        self.grad += (1 - out.data) * out.grad
    out._backward = _backward
    return out


def _neuron_assert_holds() -> bool:
    x1, w1, x2, w2, b = (autodiff.Value(v) for v in (2.0, -3.0, 0.0, 1.0, 6.8813735870195432))
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    return bool(np.isclose(w1.grad, (1 - o.data ** 2) * x1.data, rtol=1e-14))


def test_engine_asserts_catch_a_wrong_tanh_derivative(monkeypatch):
    rng = np.random.default_rng(0)
    X, y, *params = ch.two_layer_inputs(rng)
    assert _neuron_assert_holds() and ch.engine_vs_torch(20) < ch.TORCH_MATCH_TOL
    assert ch.tensor_engine_vs_torch(X, y, params) < ch.TORCH_MATCH_TOL
    monkeypatch.setattr(autodiff.Value, "tanh", _value_tanh_wrong)
    monkeypatch.setattr(autodiff.Tensor, "tanh", _tensor_tanh_wrong)
    assert not _neuron_assert_holds() and ch.engine_vs_torch(20) > ch.TORCH_MATCH_TOL
    assert ch.tensor_engine_vs_torch(X, y, params) > ch.TORCH_MATCH_TOL


def test_sum_over_paths_assert_catches_overwriting_gradients():
    for mul, ok in ((ch.reference_mul, True), (ch._overwriting_mul, False)):
        a, b_, c = autodiff.Value(2.0), autodiff.Value(-3.0), autodiff.Value(0.5)
        L = mul(mul(a, b_) + a, c)
        L.backward()
        assert (a.grad == c.data * b_.data + c.data) == ok


def _no_derivative(Ws, bs, X, y, activation_name):   # δ recursion that forgets ⊙ g'(Z)
    return backprop.mlp_grads(Ws, bs, X, y, "identity") if activation_name == "tanh" else None


def test_mlp_and_two_layer_asserts_catch_wrong_gradients():
    rng = np.random.default_rng(1)
    Ws, bs = ch.random_mlp([6, 5, 4, 5, 3], rng)
    X, y = rng.standard_normal((9, 6)), rng.integers(0, 3, 9)
    assert ch.mlp_grads_vs_torch(backprop.mlp_grads, Ws, bs, X, y, "tanh") < ch.TORCH_MATCH_TOL
    assert ch.mlp_grads_vs_torch(_no_derivative, Ws, bs, X, y, "tanh") > ch.TORCH_MATCH_TOL
    X2, y2, *params = ch.two_layer_inputs(rng)
    assert ch.two_layer_vs_torch(backprop.two_layer_grads, X2, y2, params) < ch.TORCH_MATCH_TOL
    assert ch.two_layer_vs_torch(_no_mean, X2, y2, params) > ch.TORCH_MATCH_TOL


def test_gradient_check_catches_a_gradient_one_percent_off():
    rng = np.random.default_rng(2)
    X, y, *params = ch.two_layer_inputs(rng)

    def one_percent_off(*args):
        dW1, db1, dW2, db2 = backprop.two_layer_grads(*args)
        return dW1, db1, 1.01 * dW2, db2
    assert ch.gradient_check_W2(backprop.two_layer_grads, X, y, params) < ch.GRADCHECK_TOL
    assert ch.gradient_check_W2(one_percent_off, X, y, params) > ch.GRADCHECK_TOL
    assert ch.gradient_check_W2(backprop.two_layer_grads, X, y, params, np.float32) > 1e-2


def test_engine_mlp_accuracy_assert_fails_for_an_untrained_model():
    from course_utils import data
    from course_utils.scratch.metrics import accuracy

    X, y = data.load_digits()
    parts = data.split(X, y, np.random.default_rng(0))
    run = autodiff.train_engine_mlp(parts.X_train, parts.y_train, parts.X_val, parts.y_val, hidden=(16,), epochs=1,
                                    lr=0.0, rng=np.random.default_rng(0), show_progress=False)
    assert accuracy(run.model(parts.X_test).data, parts.y_test) < ch.ENGINE_MIN_TEST_ACCURACY
    assert max(run.val_accuracies) < 0.95          # the "95 % within 8 epochs" assert fails too


# ------------------------------------------------------------- costs of backprop
def test_flop_count_is_twice_the_multiplications_and_refutes_equal_cost():
    for sizes, n in [((64, 32, 10), 100), ((8, 16, 16, 4), 7)]:
        fwd, bwd = ch.matmul_multiplications(sizes, n)
        assert ch.torch_flops(sizes, n) == (2 * fwd, 2 * bwd)
        assert bwd != fwd                            # "backward costs about as much as forward" is wrong
    fwd, bwd = ch.matmul_multiplications((64, 32, 10), 100)
    assert not 1.8 < bwd / fwd < 2                   # the ratio assert fails when the first layer dominates
    assert ch.matmul_multiplications((3, 4), 5, input_grad=True) == (60, 120)


def test_forward_and_reverse_modes_agree_and_the_cost_assert_can_fail():
    x = np.random.default_rng(3).uniform(-1, 1, 6)
    for f, xs in ((ch.many_to_one, x), (lambda v: ch.one_to_many(v, 5), x[:1])):
        J_fwd, n_fwd = ch.jacobian_forward_mode(f, xs)
        J_rev, n_rev = ch.jacobian_reverse_mode(f, xs)
        np.testing.assert_allclose(J_fwd, J_rev, rtol=1e-12, atol=1e-14)
    small = ch.mode_costs([2], repeat=3)
    slow_fwd = small[("many_to_one", "forward")][0][1] / small[("many_to_one", "reverse")][0][1]
    assert not slow_fwd > 5                          # with two inputs forward mode is no slower


def test_memory_is_linear_in_depth_and_zero_without_gradients():
    rng = np.random.default_rng(4)
    depths = [1, 2, 3]
    ours = ch.activation_memory(depths, 16, 8, rng)
    assert np.all(np.diff(ours) == 2 * 16 * 8 * 8)
    assert np.all(np.diff([ch.torch_saved_bytes(d, 16, 8) for d in depths]) == 16 * 8 * 8)
    assert ch.torch_saved_bytes(3, 16, 8, grad=False) == 0 < ch.torch_saved_bytes(3, 16, 8)


# -------------------------------------------------------- exercises of other kinds
def _forgets_b(a, b):                            # repaired for a, still overwrites b's gradient
    out = autodiff.Value(a.data * b.data, (a, b), "×")

    def _backward():
        a.grad += b.data * out.grad
        b.grad = a.data * out.grad
    out._backward = _backward
    return out


def _wrong_local_derivative(a, b):               # accumulates, but uses the wrong factor
    out = autodiff.Value(a.data * b.data, (a, b), "×")

    def _backward():
        a.grad += a.data * out.grad
        b.grad += b.data * out.grad
    out._backward = _backward
    return out


def test_check_mul_backward():
    assert_checker(ch.check_mul_backward, ch.reference_mul, [ch._overwriting_mul, _wrong_local_derivative,
                                                             lambda a, b: None])
    assert "must add to it (+=)" in ch.check_mul_backward(ch._overwriting_mul).message
    assert "local derivatives" in ch.check_mul_backward(_wrong_local_derivative).message
    assert not ch.check_mul_backward(_forgets_b)


def test_check_multiplication_count():
    right = ch.matmul_multiplications(ch.COUNT_SIZES, ch.COUNT_BATCH)
    with_input = ch.matmul_multiplications(ch.COUNT_SIZES, ch.COUNT_BATCH, input_grad=True)
    assert_checker(ch.check_multiplication_count, lambda: right,
                   [lambda: with_input, lambda: (right[0], right[0]), lambda: None, lambda: [right[0]]])
    assert "input pixels" in ch.check_multiplication_count(lambda: with_input).message
    assert "two products" in ch.check_multiplication_count(lambda: (right[0], right[0])).message
    assert ch.check_multiplication_count(lambda: list(right)) and ch.check_multiplication_count(right)
    assert not ch.check_multiplication_count(...).attempted


def test_debug_check_fails_on_the_broken_exercise_code():
    """The exercise cell's code, as the student receives it: the check must report the bug, not pass."""
    import json

    from helpers import ROOT

    cells = json.loads((ROOT / "notebooks" / "06_backprop.ipynb").read_text(encoding="utf-8"))["cells"]
    broken = next("".join(c["source"]) for c in cells if {"exercise", "debug"} <= set(c["metadata"].get("tags", [])))
    namespace = {"Value": autodiff.Value}
    exec(broken, namespace)
    r = ch.check_mul_backward(namespace["mul"])
    assert r.attempted and not r and "must add to it (+=)" in r.message


def test_best_step_scales_like_the_cube_root_of_epsilon_not_the_square_root():
    rng = np.random.default_rng(5)
    X, y, *params = ch.two_layer_inputs(rng)
    exact = backprop.two_layer_grads(X, y, *params)[2]

    def loss_of_W2(W2):
        cast = [p.astype(W2.dtype) for p in params]
        return backprop.two_layer_loss(X.astype(W2.dtype), y, cast[0], cast[1], W2, cast[3])
    hs = np.logspace(-1, -10, 19)
    best = {dt: hs[ch.finite_difference_errors(loss_of_W2, params[2], exact, hs, dtype=dt).argmin()]
            for dt in (np.float32, np.float64)}
    ratio = best[np.float32] / best[np.float64]
    eps_ratio = np.finfo(np.float32).eps / np.finfo(np.float64).eps
    assert eps_ratio ** (1 / 3) / 10 ** 0.5 < ratio < eps_ratio ** (1 / 3) * 10 ** 0.5
    assert not eps_ratio ** (1 / 2) / 10 ** 0.5 < ratio < eps_ratio ** (1 / 2) * 10 ** 0.5   # a one-sided difference's law


def test_unbroadcast_check_catches_a_forgotten_stretched_axis_every_time():
    """Summing only the leading axes passed the check's 12 random draws 1.5% of the time (CI caught it once);
    the draws now stretch a kept axis in most cases and the check takes 24 of them (about 2 in 10^9)."""
    forgets = CHECKS["unbroadcast"][2][1]
    passed = sum(bool(ch.check_unbroadcast(forgets)) for _ in range(300))
    assert passed == 0, f"the wrong unbroadcast passed {passed} of 300 checks"


def test_central_difference_check_catches_a_one_sided_difference_every_time():
    """With h = 1e-5 the one-sided difference's error h·f''/2 hid under rtol=1e-5 in half the draws (4 % of
    checks passed); the check now uses h = 1e-4 and a curvature of at least 1 in every coordinate."""
    passed = sum(bool(ch.check_central_difference(_one_sided)) for _ in range(300))
    assert passed == 0, f"the one-sided difference passed {passed} of 300 checks"
