"""course_utils.chapters.ch02_perceptron: experiments, figures, widget frames at their extremes, exercise checks."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from helpers import assert_checker  # noqa: E402

from course_utils import checks  # noqa: E402
from course_utils.chapters import ch02_perceptron as ch  # noqa: E402
from course_utils.chapters.ch02_perceptron import checks as ch_checks  # noqa: E402
from course_utils.data import make_separable, make_xor  # noqa: E402
from course_utils.scratch import perceptron as P  # noqa: E402
from course_utils.scratch import threshold as T  # noqa: E402
from course_utils.widgets import figure_texts  # noqa: E402


def _text(fig) -> str:
    return " ".join(figure_texts(fig))


# ------------------------------------------------------------- experiments
def test_margin_experiment_shapes_and_bound():
    out = ch.margin_experiment([0.05, 0.2], n=40, seeds=[0, 1, 2])
    assert out["mistakes"].shape == out["bound"].shape == (2, 3)
    assert out["converged"].all() and np.all(out["mistakes"] <= out["bound"])
    assert np.all(out["bound"][0] > out["bound"][1])  # smaller margin, larger bound


def test_margin_data_negative_margin_overlaps():
    X, y, w, b = ch.margin_data(200, np.random.default_rng(0), -0.2)
    s = P.to_pm1(y)
    assert np.any(s * (X @ w + b) < 0)  # some points crossed the true line
    res = P.perceptron_train(X, y, max_epochs=100, rng=np.random.default_rng(0))
    assert not res.converged


# ----------------------------------------------------------------- figures
@pytest.mark.parametrize("kw, words", [
    (dict(epoch=0), "epoch 0"),
    (dict(epoch=30, margin=0.0), "margin 0"),
    (dict(epoch=30, margin=-0.2), "overlap"),
    (dict(epoch=30, margin=0.3), "converged"),
    (dict(epoch=30, margin=0.3, lr=0.05), "converged"),
    (dict(lr=0.0), "learning rate must be a positive finite number"),
    (dict(lr=-1.0), "learning rate must be a positive finite number"),
    (dict(lr=float("nan")), "learning rate must be a positive finite number"),
    (dict(epoch=-1), "pick an epoch >= 0"),
    (dict(margin=1.5), "the gap must be a number below 1"),
    (dict(margin=float("nan")), "the gap must be a number below 1"),
])
def test_draw_perceptron_extremes_draw_messages(kw, words):
    fig = ch.draw_perceptron(**kw)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert words in _text(fig)


def test_draw_perceptron_normal_frame_and_lr_invariance():
    t1, t2 = _text(ch.draw_perceptron(epoch=2, lr=1.0)), _text(ch.draw_perceptron(epoch=2, lr=0.1))
    assert "mistakes so far" in t1 and "bound" in t1
    assert t1.split("mistakes so far")[1] == t2.split("mistakes so far")[1]  # same mistakes for any lr
    assert _text(ch.draw_perceptron(epoch=2)) != _text(ch.draw_perceptron(epoch=3))


def test_draw_adaline_extremes():
    assert "diverged" in _text(ch.draw_adaline(lr=2.5, mode="batch"))
    assert "diverged" in _text(ch.draw_adaline(lr=3.0, mode="sgd"))
    assert "too large" in _text(ch.draw_adaline(lr=2.2, mode="batch"))  # above 2/lambda_max, not yet blown up
    assert "too large" in _text(ch.draw_adaline(lr=1.2, mode="sgd"))   # the per-example rule fails earlier
    assert "too large" not in _text(ch.draw_adaline(lr=1.8, mode="batch"))
    assert "learning rate must be a positive finite number" in _text(ch.draw_adaline(lr=0))
    assert "training accuracy 100%" in _text(ch.draw_adaline(lr=0.5))
    assert "mode must be 'sgd' or 'batch'" in _text(ch.draw_adaline(mode="newton"))


def test_plots_draw_what_they_say():
    rng = np.random.default_rng(0)
    X, y, w, b = make_separable(30, rng, margin=0.1, return_separator=True)
    ax = ch.plot_geometry(w, b, X[:3])
    assert ax.get_xlabel() == "$x_1$" and "signed distance" in ax.get_title()
    d = (X[:3] @ w + b) / np.linalg.norm(w)
    assert {f"d = {v:+.2f}" for v in d} <= {t.get_text() for t in ax.texts}
    ax = ch.plot_perceptron_state(X, y, -w, -b)  # the true line with its sides swapped: every point is wrong
    assert f"mistakes ({len(X)})" in [t.get_text() for t in ax.get_legend().get_texts()]
    labels = [t.get_text() for t in ch.plot_boundaries(X, y, [(w, b), (-w, -b)], labels=["a", "b"]).get_legend().get_texts()]
    assert labels[-2:] == ["a", "b"]
    res = P.perceptron_train(X, y, rng=rng)
    ax = ch.plot_mistakes(res)
    assert ax.get_xlabel() == "epoch" and [p.get_height() for p in ax.patches] == res.mistakes.tolist()
    ax = ch.plot_margin_experiment(ch.margin_experiment([0.1, 0.2], 20, [0, 1]))
    assert ax.get_yscale() == "log" and "Novikoff" in ax.get_title()
    titles = [a.get_title() for a in ch.plot_gates()]
    assert titles == ["AND: w = (1, 1), b = -1.5", "OR: w = (1, 1), b = -0.5", "NAND: w = (-1, -1), b = 1.5",
                      "NOT: w = -1, b = 0.5"]
    a0, a1 = ch.plot_xor_network()
    assert a1.get_xlabel() == "$h_1$ = OR($x$)" and "x = (0, 1), (1, 0) → 1" in [t.get_text() for t in a1.texts]


# ------------------------------------------------------------------ checks
def _perceptron_always_updates(w, b, x, y, lr=1.0):
    return w + lr * y * x, b + lr * y


def _perceptron_in_place(w, b, x, y, lr=1.0):
    if y * (w @ x + b) <= 0:
        w += lr * y * x
        b = b + lr * y
    return w, b


def _perceptron_strict(w, b, x, y, lr=1.0):  # forgets that z = 0 is a mistake
    if y * (w @ x + b) < 0:
        return w + lr * y * x, b + lr * y
    return w.copy(), b


def _bound_not_augmented(w, b, X, y):
    R = np.max(np.linalg.norm(X, axis=1))
    g = np.min(y * (X @ w + b)) / np.linalg.norm(w)
    return (R / g) ** 2 if g > 0 else np.inf


def _adaline_thresholded(w, b, x, y, lr):  # uses the thresholded output: that is the perceptron
    y_hat = 1.0 if w @ x + b > 0 else -1.0
    return w + lr * (y - y_hat) * x, b + lr * (y - y_hat)


def _adaline_no_bias(w, b, x, y, lr):
    return w + lr * (y - (w @ x + b)) * x, b


@pytest.mark.parametrize("check, reference, wrongs", [
    (ch.check_perceptron_update, P.perceptron_update,
     [_perceptron_always_updates, _perceptron_in_place, _perceptron_strict]),
    (ch.check_mistake_bound, P.mistake_bound, [_bound_not_augmented]),
    (ch.check_adaline_update, P.adaline_update, [_adaline_thresholded, _adaline_no_bias]),
    (ch.check_nand_weights, lambda: T.GATES["NAND"], [lambda: T.GATES["AND"], lambda: ([1.0, 1.0, 1.0], 0.0)]),
])
def test_checks_pass_reference_fail_wrong_and_spot_stubs(check, reference, wrongs):
    assert_checker(check, reference, wrongs)


def test_check_messages_say_what_is_wrong():
    assert "modified its input in place" in ch.check_perceptron_update(_perceptron_in_place).message
    assert "is wrong" in ch.check_adaline_update(_adaline_no_bias).message
    assert "raised ValueError" in ch.check_nand_weights(lambda: ([1.0, 1.0, 1.0], 0.0)).message


def test_nand_check_accepts_any_valid_weights():
    assert ch.check_nand_weights(lambda: (np.array([-2.0, -2.0]), 3.0))
    assert ch.check_nand_weights(lambda: ([-1, -1], 1.9))


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_adaline_update(_adaline_thresholded)
    assert ch.check_adaline_update(P.adaline_update)


# ------------------------------------------- negative controls for the notebook's headline asserts
def test_the_bound_assert_passes_on_separable_data():
    exp = ch.margin_experiment([0.02, 0.1, 0.4], n=60, seeds=range(3), max_epochs=200)  # the quick run's setting
    assert ch.bound_violations(exp) == 0


def test_the_bound_assert_fails_when_the_data_are_not_separable():
    exp = ch.margin_experiment([-0.1], n=60, seeds=[0, 1], max_epochs=50)
    assert np.isinf(exp["bound"]).all() and not exp["converged"].any()
    assert ch.bound_violations(exp) == 2


def test_the_bound_assert_fails_in_the_wrong_space():
    """Radius and margin measured in input space (the bias forgotten) break the 'bound' on data in a small
    disk, where the constant input 1 dominates ||(x, 1)||; the augmented bound holds on the same runs."""
    kw = dict(margins=[0.0125, 0.025, 0.05], n=100, seeds=range(3), radius=0.25, max_epochs=2000)
    wrong, right = ch.margin_experiment(space="input", **kw), ch.margin_experiment(**kw)
    assert ch.bound_violations(right) == 0
    assert ch.bound_violations(wrong) >= 3
    with pytest.raises(ValueError, match="space"):
        ch.margin_experiment([0.1], 10, [0], space="R^d")


def test_the_slope_assert_fails_for_mistakes_that_follow_the_bound():
    exp = ch.margin_experiment([0.02, 0.1, 0.4], n=60, seeds=range(3), max_epochs=200)
    slopes = ch.mistake_slopes(exp)
    assert abs(slopes["bound"] + 2) < 0.05 and slopes["mistakes"] > slopes["bound"] + ch.MISTAKE_SLOPE_GAP
    tight = dict(exp, mistakes=exp["bound"] / 3)  # a learner as slow as the worst case allows
    fake = ch.mistake_slopes(tight)
    assert not fake["mistakes"] > fake["bound"] + ch.MISTAKE_SLOPE_GAP


def test_the_xor_assert_fails_for_models_that_solve_xor():
    X, y = make_xor(100, np.random.default_rng(0))
    res = P.perceptron_train(X, y, max_epochs=40, rng=np.random.default_rng(0))
    assert ch.fails_to_separate(res)
    # the two-layer threshold network's hidden features make XOR separable: the perceptron converges on them
    H = T.two_layer_threshold((X > 0).astype(int), **T.XOR_WEIGHTS)[1]
    on_hidden = P.perceptron_train(H, y, max_epochs=40, rng=np.random.default_rng(0))
    assert on_hidden.converged and not ch.fails_to_separate(on_hidden)
    # so does the product feature x1·x2
    on_product = P.perceptron_train(np.c_[X, X[:, 0] * X[:, 1]], y, max_epochs=40, rng=np.random.default_rng(0))
    assert on_product.converged and not ch.fails_to_separate(on_product)
    # the best-line assert: XOR data need a quarter wrong; the XOR network and separable data need none
    assert ch.best_line_errors(X, y) == 25 >= ch.XOR_BEST_LINE_ERROR_MIN * len(X)
    assert np.sum(T.xor_network((X > 0).astype(int)) != y) == 0
    Xs, ys = make_separable(100, np.random.default_rng(0))
    assert ch.best_line_errors(Xs, ys) == 0 < ch.XOR_BEST_LINE_ERROR_MIN * len(Xs)


# ----------------------------------------------------- exercises of other kinds
def _lenient(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)


def test_predict_the_or_run(monkeypatch):
    _lenient(monkeypatch)
    assert ch.or_by_hand().total_mistakes == 9 and ch.or_by_hand().mistakes.tolist() == [3, 1, 2, 2, 1, 0]
    assert ch.check_or_prediction(9)
    r = ch.check_or_prediction(27)  # the bound is not the count
    assert not r and r.attempted and "bound" in r.message and "[3, 1, 2, 2, 1, 0]" in r.message
    assert not ch.check_or_prediction(...).attempted


def _one_sign_fixed(X, y, epochs=10):  # maps the labels in the test but not in the update
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(epochs):
        for x_i, y_i in zip(X, y):
            if (2 * y_i - 1) * (w @ x_i + b) <= 0:
                w, b = w + y_i * x_i, b + y_i
    return w, b


def test_debug_perceptron_check():
    assert_checker(ch.check_perceptron_epochs, ch.perceptron_epochs,
                   [ch_checks._labels_as_signs_bug, ch_checks._delta_rule_on_01, _one_sign_fixed])


def test_debug_perceptron_check_names_each_bug(monkeypatch):
    _lenient(monkeypatch)
    assert "class-0 examples never move the weights" in ch.check_perceptron_epochs(ch_checks._labels_as_signs_bug).message
    assert "on the boundary" in ch.check_perceptron_epochs(ch_checks._delta_rule_on_01).message
    assert "raised ZeroDivisionError" in ch.check_perceptron_epochs(lambda X, y, epochs: 1 / 0).message


def test_design_adaline_check(monkeypatch):
    _lenient(monkeypatch)
    X, y = make_separable(100, np.random.default_rng(0), margin=0.1)  # the notebook's data
    Xt = P.augment(X)
    lam = np.linalg.eigvalsh(Xt.T @ Xt / len(X))
    assert ch.check_adaline_design(dict(lr=2 / (lam[0] + lam[-1])), X, y)
    for lr, words in [(0.5, "too small"), (1.95, "too large"), (2.5, "2/λ_max")]:
        r = ch.check_adaline_design(dict(lr=lr), X, y)
        assert not r and r.attempted and words in r.message, r.message
    assert not ch.check_adaline_design(dict(lr=...), X, y).attempted
    assert not ch.check_adaline_design(..., X, y).attempted
    assert "positive finite" in ch.check_adaline_design(dict(lr=-1.0), X, y).message
    assert "dict(lr=" in ch.check_adaline_design([1.0], X, y).message
    assert ch.adaline_gap(X, y, 2 / (lam[0] + lam[-1]), ch.ADALINE_DESIGN["epochs"]) <= ch.ADALINE_DESIGN["gap"]
