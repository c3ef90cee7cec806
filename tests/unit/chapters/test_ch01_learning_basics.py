"""course_utils.chapters.ch01_learning_basics: the widget at its extremes and the exercise checks."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_checker

from course_utils import checks
from course_utils.chapters import ch01_learning_basics as ch
from course_utils.scratch import knn
from course_utils.widgets import Choice, Slider, figure_texts, interactive_figure


# ------------------------------------------------------------ widget
def test_widget_regular_setting_has_accuracies_in_title():
    fig = ch.draw_knn_regions(k=1, metric="L1", n_train=50)
    texts = " ".join(figure_texts(fig))
    assert "train acc 100%" in texts and "validation acc" in texts


@pytest.mark.parametrize("k,n", [(61, 20), (21, 20)])
def test_widget_k_larger_than_data_shows_message(k, n):
    fig = ch.draw_knn_regions(k=k, metric="L2", n_train=n)
    texts = " ".join(figure_texts(fig))
    assert f"k = {k} is larger than the {n} training points" in texts


def test_widget_extremes_and_static_frames():
    fig_def = interactive_figure(ch.draw_knn_regions,
                                 k=Slider(1, 61, 1, value=5, static=[1, 61]),
                                 metric=Choice(["L2", "L1"]),
                                 n_train=Slider(20, 200, 20, value=100, static=[20, 200]))
    for params in ({"k": 1, "n_train": 20}, {"k": 61, "n_train": 200, "metric": "L1"}, {"k": 20, "n_train": 20}):
        assert "k = " in " ".join(figure_texts(fig_def.figure(**params)))
    assert "not enough neighbours" in " ".join(figure_texts(fig_def.figure(k=61, n_train=20)))
    assert fig_def.render(k=61, n_train=20)[:4] == b"\x89PNG"
    bad = ch.draw_knn_regions(n_train=0)
    assert "n_train must be between" in " ".join(figure_texts(bad))


# ------------------------------------------------------------ exercise checks
def _ref_p_norm(v, p):
    return knn.p_norm(v, p)


def _ref_pairwise_l1(A, B):
    return np.abs(A[:, None, :] - B[None, :, :]).sum(-1)


def _ref_knn(X_train, y_train, X_query, k):
    D = ((X_query[:, None, :] - X_train[None]) ** 2).sum(-1)
    idx = np.argsort(D, axis=1, kind="stable")[:, :k]
    return np.array([np.bincount(row).argmax() for row in y_train[idx]])


def _ref_choose_k(ks, acc):
    acc = np.asarray(acc)
    return int(np.asarray(ks)[np.flatnonzero(acc == acc.max())[-1]])


WRONG = {
    "p_norm": lambda v, p: np.max(v) if np.isinf(p) else np.sum(v ** p) ** (1 / p),  # no absolute value
    "pairwise_l1": lambda A, B: np.sqrt(((A[:, None] - B[None]) ** 2).sum(-1)),      # L2, not L1
    "knn_predict": lambda Xt, yt, Xq, k: _ref_knn(Xt, yt, Xq, 1),                    # ignores k
    "choose_k": lambda ks, acc: int(np.asarray(ks)[np.argmax(acc)]),                 # ties to smallest k
}
CHECKS = {
    "p_norm": (ch.check_p_norm, _ref_p_norm),
    "pairwise_l1": (ch.check_pairwise_l1, _ref_pairwise_l1),
    "knn_predict": (ch.check_knn_predict, _ref_knn),
    "choose_k": (ch.check_choose_k, _ref_choose_k),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_checker_passes_reference_rejects_wrong_and_spots_stub(name):
    check, reference = CHECKS[name]
    assert_checker(check, reference, [WRONG[name]])


def test_check_reports_wrong_shape_and_crash(lenient):
    r = ch.check_pairwise_l1(lambda A, B: _ref_pairwise_l1(A, B).T)
    assert not r and ("shape" in r.message or "wrong" in r.message)
    r = ch.check_knn_predict(lambda Xt, yt, Xq, k: 1 / 0)
    assert not r and "ZeroDivisionError" in r.message


def test_check_knn_predict_catches_the_wrong_tie_rule(lenient):
    def largest_label_wins(X_train, y_train, X_query, k):
        D = ((X_query[:, None, :] - X_train[None]) ** 2).sum(-1)
        idx = np.argsort(D, axis=1, kind="stable")[:, :k]
        return np.array([len(c) - 1 - np.argmax(c[::-1]) for c in (np.bincount(r) for r in y_train[idx])])
    r = ch.check_knn_predict(largest_label_wins)
    assert not r and "wrong" in r.message


def test_check_p_norm_catches_missing_abs_with_p_one(lenient):
    # Without absolute values p = 1 just sums the entries, and the check's first trial uses p = 1.
    r = ch.check_p_norm(lambda v, p: np.max(np.abs(v)) if np.isinf(p) else np.sum(v ** p) ** (1 / p))
    assert not r and "p_norm" in r.name


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_choose_k(WRONG["choose_k"])


def test_unit_balls_are_on_the_unit_sphere_of_each_norm():
    ax = ch.plot_unit_balls([0.5, 1, 2, np.inf])
    for line, p in zip(ax.get_lines(), [0.5, 1, 2, np.inf]):
        np.testing.assert_allclose(knn.p_norm(np.c_[line.get_xdata(), line.get_ydata()], p), 1.0, rtol=1e-12)
    assert "not a norm" in ax.get_lines()[0].get_label()
