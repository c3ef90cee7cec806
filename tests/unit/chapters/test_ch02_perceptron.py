"""course_utils.chapters.ch02_perceptron: experiments, figures, widget frames at their extremes, exercise checks."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from helpers import assert_checker  # noqa: E402

from course_utils import checks  # noqa: E402
from course_utils.chapters import ch02_perceptron as ch  # noqa: E402
from course_utils.data import make_separable  # noqa: E402
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
