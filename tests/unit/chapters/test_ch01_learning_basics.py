"""course_utils.chapters.ch01_learning_basics: the widget at its extremes and the exercise checks."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_checker

from course_utils import checks, data
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


def _ref_pairwise_l2(A, B):
    return np.sqrt(((A[:, None, :] - B[None, :, :]) ** 2).sum(-1))


def _l2_broadcast_bug(A, B):  # the exercise's starting point: (m,) + (n,) does not make an (m, n) matrix
    return np.sqrt(np.maximum(np.sum(A**2, 1) + np.sum(B**2, 1) - 2 * A @ B.T, 0))


def _l2_no_clip(A, B):  # broadcasting fixed, but sqrt of a round-off negative is NaN
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.sum(A**2, 1)[:, None] + np.sum(B**2, 1)[None, :] - 2 * A @ B.T)


def _ref_knn(X_train, y_train, X_query, k):
    D = ((X_query[:, None, :] - X_train[None]) ** 2).sum(-1)
    idx = np.argsort(D, axis=1, kind="stable")[:, :k]
    return np.array([np.bincount(row).argmax() for row in y_train[idx]])


def _ref_choose_k(ks, acc):
    acc = np.asarray(acc)
    return int(np.asarray(ks)[np.flatnonzero(acc == acc.max())[-1]])


WRONG = {
    "p_norm": lambda v, p: np.max(v) if np.isinf(p) else np.sum(v ** p) ** (1 / p),  # no absolute value
    "pairwise_l2": lambda A, B: np.abs(A[:, None] - B[None]).sum(-1),               # L1, not L2
    "knn_predict": lambda Xt, yt, Xq, k: _ref_knn(Xt, yt, Xq, 1),                    # ignores k
    "choose_k": lambda ks, acc: int(np.asarray(ks)[np.argmax(acc)]),                 # ties to smallest k
}
CHECKS = {
    "p_norm": (ch.check_p_norm, _ref_p_norm),
    "pairwise_l2": (ch.check_pairwise_l2, _ref_pairwise_l2),
    "knn_predict": (ch.check_knn_predict, _ref_knn),
    "choose_k": (ch.check_choose_k, _ref_choose_k),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_checker_passes_reference_rejects_wrong_and_spots_stub(name):
    check, reference = CHECKS[name]
    assert_checker(check, reference, [WRONG[name]])


def test_check_reports_wrong_shape_and_crash(lenient):
    r = ch.check_pairwise_l2(lambda A, B: _ref_pairwise_l2(A, B).T)
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


def test_unit_spheres_are_at_norm_one():
    ax = ch.plot_unit_spheres([0.5, 1, 2, np.inf])
    for line, p in zip(ax.get_lines(), [0.5, 1, 2, np.inf]):
        np.testing.assert_allclose(knn.p_norm(np.c_[line.get_xdata(), line.get_ydata()], p), 1.0, rtol=1e-12)
    assert "not a norm" in ax.get_lines()[0].get_label()


def test_the_debug_exercise_starting_code_fails_and_each_bug_is_named(lenient):
    r = ch.check_pairwise_l2(_l2_broadcast_bug)
    assert not r and "could not be broadcast" in r.message
    r = ch.check_pairwise_l2(_l2_no_clip)
    assert not r and "NaN" in r.message


def _l2_no_clip_einsum(A, B):  # the same bug with the squared norms from einsum (they round differently)
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", B, B)[None, :] - 2 * A @ B.T)


def _l2_no_clip_all_einsum(A, B):  # norms and products from einsum: exactly 0 on exact copies, not on near-copies
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", B, B)[None, :]
                       - 2 * np.einsum("ik,jk->ij", A, B))


@pytest.mark.parametrize("wrong", [_l2_no_clip, _l2_no_clip_einsum, _l2_no_clip_all_einsum])
def test_pairwise_l2_check_catches_a_forgotten_clip_every_time(wrong):
    """Only about a third of random draws made the unclipped expansion round below 0, so the forgotten clip
    passed 8 % of checks; every draw now has a negative entry (the check redraws until it does), so even a
    one-trial check catches it. Computing everything with einsum cancels exactly on exact copies: the near-copies
    catch that version."""
    with np.errstate(all="ignore"):
        for trials in (1, 6):
            passed = sum(bool(ch.check_pairwise_l2(wrong, trials=trials)) for _ in range(300))
            assert passed == 0, f"the unclipped pairwise_l2 passed {passed} of 300 {trials}-trial checks"


def test_predict_and_derive_checks(lenient):
    y_train, y_val = np.repeat(np.arange(10), 30), np.repeat(np.arange(10), 8)
    actual = ch.all_neighbours_accuracy(y_train, y_val)
    assert actual == pytest.approx(0.1)
    assert ch.check_all_neighbours_prediction(0.11, y_train, y_val)
    r = ch.check_all_neighbours_prediction(0.98, y_train, y_val)  # "k-NN is good, so still ~98 %"
    assert not r and "same vote" in r.message
    assert not ch.check_all_neighbours_prediction(..., y_train, y_val).attempted
    assert ch.check_two_tests_posterior(0.785)
    r = ch.check_two_tests_posterior(0.161)  # forgot to update the prior
    assert not r and "prior" in r.message
    assert ch.check_two_tests_posterior(0.95 ** 2 * 0.01 / (0.95 ** 2 * 0.01 + 0.05 ** 2 * 0.99))  # joint form


# ------------------------------------------------- negative controls for the notebook's asserts
@pytest.fixture(scope="module")
def digits_split():
    X, y = data.load_digits()
    return data.split(X, y, np.random.default_rng(0), val=0.2, test=0.2)


def test_trivial_models_fail_the_accuracy_asserts(digits_split):
    p = digits_split
    majority = ch.all_neighbours_accuracy(p.y_train, p.y_val)  # ignores the input
    shuffled = knn.KNNClassifier(3).fit(p.X_train, np.random.default_rng(0).permutation(p.y_train)).score(p.X_val, p.y_val)
    real = knn.KNNClassifier(3).fit(p.X_train, p.y_train).score(p.X_val, p.y_val)
    assert real >= ch.VAL_ACCURACY_MIN
    for acc in (majority, shuffled):
        assert acc < ch.VAL_ACCURACY_MIN and acc < ch.TEST_ACCURACY_MIN


def test_a_model_that_ignores_experience_fails_the_learning_curve_assert(digits_split):
    p = digits_split
    sizes = [10, 50, len(p.X_train)]
    # predicts the majority label of the training images it has seen, whatever the query
    curve = [np.mean(p.y_val == np.bincount(p.y_train[:s]).argmax()) for s in sizes]
    assert not curve[-1] > curve[0] + ch.LEARNING_GAIN_MIN
    real = knn.learning_curve(p.X_train, p.y_train, p.X_val, p.y_val, sizes, np.random.default_rng(0), k=1)
    assert real[-1] > real[0] + ch.LEARNING_GAIN_MIN


def test_choosing_k_on_the_training_set_fails_the_selection_assert():
    X, y = data.load_digits()
    study = ch.k_selection_study(X, y, n_splits=4, seed=1000)
    assert np.all(study["k_train"] == 1)
    # the wrong procedure (choose on the training set) never differs from itself: 0 < the threshold
    assert np.mean(study["k_train"] != 1) < ch.DIFFERENT_CHOICE_MIN
    assert np.all(study["acc_at_k_val"] >= study["acc_at_k_train"])
