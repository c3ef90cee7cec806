"""course_utils.chapters.ch04_classification: the widgets at their extremes, the figures, the exercise checks."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_checker

from course_utils import checks
from course_utils.chapters import ch04_classification as ch
from course_utils.scratch import glm, logistic
from course_utils.scratch.layers import logsumexp
from course_utils.widgets import figure_texts


def _text(fig) -> str:
    return " | ".join(figure_texts(fig))


# ---------------------------------------------------------------------- figures
def test_temperature_widget_extremes():
    t_small, t_one, t_big = (_text(ch.draw_temperature(T)) for T in (0.05, 1.0, 5.0))
    assert "arg-max" in t_small and "1.00" in t_small
    assert "uniform" in t_big
    assert "entropy" in t_one and "arg-max" not in t_one
    for bad in (0.0, -1.0, float("nan")):
        assert "must be positive" in _text(ch.draw_temperature(bad))


def test_logistic_widget_extremes():
    assert "diverged" in _text(ch.draw_logistic_training(epoch=60, lr=30.0))
    ok = _text(ch.draw_logistic_training(epoch=60, lr=1.0))
    assert "accuracy" in ok and "diverged" not in ok
    assert "no boundary yet" in _text(ch.draw_logistic_training(epoch=0, lr=1.0))
    assert "must be positive" in _text(ch.draw_logistic_training(lr=0.0))
    assert "epoch" in _text(ch.draw_logistic_training(epoch=-1))
    assert "accuracy" in _text(ch.draw_logistic_training(epoch=80, lr=0.3))  # beyond max_epochs still draws


def test_plots_return_figures_and_axes():
    fig = ch.plot_sigmoid_and_bce()
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "logit $z$"
    X, y = ch.shared_gaussian_data(30, np.random.default_rng(0))
    ax, _ = ch.plot_probability_map(X, y, np.array([1.0, 0.0]), 0.0)
    assert ax.get_xlabel() == "$x_1$"
    assert ch.plot_posterior_comparison(np.linspace(0, 1, 5), {"a": np.zeros(5)}).get_legend() is not None
    Xc, yc = ch.make_counts(30, np.random.default_rng(0))
    assert ch.plot_poisson_fit(Xc[:, 1], yc, {"fit": np.ones(30)}).get_ylabel() == "count"
    fig = ch.plot_templates(np.arange(640.0).reshape(64, 10) - 320)
    assert [f"class {c}" for c in range(10)] == [t for t in figure_texts(fig) if t.startswith("class")]
    assert fig.axes[0].images[0].get_clim() == (-320.0, 320.0)  # symmetric: white means 0


# ----------------------------------------------------------------------- checks
def _bce_grad_sum(w, b, X, y):  # forgets to divide by n
    p = 1 / (1 + np.exp(-(X @ w + b)))
    return X.T @ (p - y), float(np.sum(p - y))


def _bce_grad_sign(w, b, X, y):  # the gradient of the log-likelihood (the seed's sign slip)
    p = 1 / (1 + np.exp(-(X @ w + b)))
    return X.T @ (y - p) / len(y), float(np.mean(y - p))


def _lse_naive(z):
    return np.log(np.sum(np.exp(z), axis=-1))


def _lse_wrong_axis(z):
    m = np.max(z)
    return m + np.log(np.sum(np.exp(z - m), axis=-1))  # a global max underflows other rows


def _softmax_grad_no_mean(W, b, X, y):
    Z = X @ W + b
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    P[np.arange(len(y)), y] -= 1
    return X.T @ P, P.sum(0)


def _softmax_grad_no_onehot(W, b, X, y):
    Z = X @ W + b
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    return X.T @ P / len(y), P.mean(0)


def _poisson_identity_link(w, X, y):
    z = X @ w
    return float(np.mean(z - y * z)), X.T @ (1 - y) / len(y)


def _poisson_no_gradient_mean(w, X, y):
    z = X @ w
    return float(np.mean(np.exp(z) - y * z)), X.T @ (np.exp(z) - y)


@pytest.mark.parametrize("check, reference, wrongs", [
    (ch.check_bce_gradient, logistic.bce_gradient, [_bce_grad_sum, _bce_grad_sign]),
    (ch.check_logsumexp, lambda z: logsumexp(z, axis=-1), [_lse_naive, _lse_wrong_axis]),
    (ch.check_softmax_gradient, logistic.softmax_regression_grad, [_softmax_grad_no_mean, _softmax_grad_no_onehot]),
    (ch.check_poisson_nll, glm.poisson_nll, [_poisson_identity_link, _poisson_no_gradient_mean]),
])
def test_checks_pass_reference_fail_wrong_and_spot_stubs(check, reference, wrongs):
    assert_checker(check, reference, wrongs)


def test_check_messages_say_what_is_wrong():
    with np.errstate(all="ignore"):
        assert "NaN/inf" in ch.check_logsumexp(_lse_naive).message
    assert "is wrong" in ch.check_bce_gradient(_bce_grad_sign).message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_softmax_gradient(_softmax_grad_no_onehot)
    assert ch.check_softmax_gradient(logistic.softmax_regression_grad)
