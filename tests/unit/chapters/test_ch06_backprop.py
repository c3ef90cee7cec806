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
