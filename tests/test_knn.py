"""Tests for course_utils.knn: torch twins, loops vs vectorised, tie-breaking, errors, widget, checks."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils import checks, knn  # noqa: E402
from course_utils.widgets import Choice, Slider, figure_texts, interactive_figure  # noqa: E402
from helpers import assert_checker  # noqa: E402






# ------------------------------------------------------------------ torch twins
def torch_knn_predict(X_train, y_train, X_query, k, p):
    """An independent k-NN: torch.cdist + topk + one-hot vote (first maximum = smallest label)."""
    Xt, Xq = torch.from_numpy(X_train), torch.from_numpy(X_query)
    yt = torch.from_numpy(y_train)
    idx = torch.cdist(Xq, Xt, p=p).topk(k, dim=1, largest=False).indices
    votes = torch.nn.functional.one_hot(yt[idx], int(yt.max()) + 1).sum(dim=1)
    return votes.argmax(dim=1).numpy()


@pytest.mark.parametrize("metric,p", [("l1", 1.0), ("l2", 2.0)])
@pytest.mark.parametrize("seed", range(4))
def test_pairwise_matches_torch_cdist(metric, p, seed):
    rng = np.random.default_rng(seed)
    m, n, d = rng.integers(1, 40, size=3)
    A, B = rng.standard_normal((m, d)) * 3, rng.standard_normal((n, d)) * 3
    ours = knn.pairwise_distances(A, B, metric)
    ref = torch.cdist(torch.from_numpy(A), torch.from_numpy(B), p=p).numpy()
    assert ours.shape == (m, n) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9)


def test_l2_squared_is_square_of_l2():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((7, 5)), rng.standard_normal((9, 5))
    np.testing.assert_allclose(knn.pairwise_distances(A, B, "l2_squared"),
                               knn.pairwise_distances(A, B, "l2") ** 2, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("metric", ["l1", "l2", "l2_squared", "L1", "L2"])
def test_loops_equal_vectorised(metric):
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((13, 6)), rng.standard_normal((11, 6))
    np.testing.assert_allclose(knn.pairwise_distances_loops(A, B, metric),
                               knn.pairwise_distances(A, B, metric), rtol=1e-10, atol=1e-10)


def test_l1_blocking_gives_same_answer(monkeypatch):
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((50, 4)), rng.standard_normal((30, 4))
    whole = knn.pairwise_distances(A, B, "l1")
    monkeypatch.setattr(knn, "_BLOCK_ELEMENTS", 7 * 30 * 4)  # blocks of 7 rows, the last one short
    np.testing.assert_array_equal(knn.pairwise_distances(A, B, "l1"), whole)


def test_timed_returns_time_and_result():
    seconds, result = knn.timed(np.add, 2, 3, repeat=2)
    assert result == 5 and 0 <= seconds < 1


def test_l2_of_identical_points_is_nonnegative_and_tiny():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((20, 64)) * 10
    D = knn.pairwise_distances(A, A, "l2")
    assert np.all(D >= 0) and not np.any(np.isnan(D))
    assert np.max(np.diag(D)) < 1e-5


def test_distances_do_not_modify_inputs():
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    A0, B0 = A.copy(), B.copy()
    for metric in knn.METRICS:
        knn.pairwise_distances(A, B, metric)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(B, B0)


@pytest.mark.parametrize("p", [1, 1.5, 2, 3, np.inf])
def test_p_norm_matches_torch(p):
    rng = np.random.default_rng(6)
    V = rng.standard_normal((10, 7))
    ref = torch.linalg.vector_norm(torch.from_numpy(V), ord=p, dim=1).numpy()
    np.testing.assert_allclose(knn.p_norm(V, p), ref, rtol=1e-12)


def test_p_norm_triangle_inequality_and_its_failure_below_one():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((2, 2000, 4))
    for p in (1, 1.5, 2, 3, np.inf):
        assert np.all(knn.p_norm(x + y, p) <= knn.p_norm(x, p) + knn.p_norm(y, p) + 1e-12)
    e1, e2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert knn.p_norm(e1 + e2, 0.5) == pytest.approx(4.0)  # > 1 + 1: not a norm
    with pytest.raises(ValueError, match="positive"):
        knn.p_norm(e1, 0)


# -------------------------------------------------------------------- k-NN
@pytest.mark.parametrize("metric,p", [("l1", 1.0), ("l2", 2.0)])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 7])
def test_knn_matches_torch(metric, p, k):
    rng = np.random.default_rng(10 + k)
    X_train = rng.standard_normal((60, 3))
    y_train = rng.integers(0, 4, size=60)
    X_query = rng.standard_normal((40, 3))
    ours = knn.knn_predict(X_train, y_train, X_query, k, metric)
    np.testing.assert_array_equal(ours, torch_knn_predict(X_train, y_train, X_query, k, p))


def test_one_nn_on_training_points_is_perfect():
    rng = np.random.default_rng(11)
    X, y = rng.standard_normal((50, 5)), rng.integers(0, 3, size=50)
    for metric in ("l1", "l2"):
        assert knn.KNNClassifier(1, metric).fit(X, y).score(X, y) == 1.0


def test_vote_ties_go_to_smallest_label():
    labels = np.array([[2, 1],   # one vote each: the smaller label, 1
                       [3, 3],   # clear majority: 3
                       [0, 2]])  # one vote each: 0
    np.testing.assert_array_equal(knn.majority_vote(labels), [1, 3, 0])
    np.testing.assert_array_equal(knn.majority_vote(np.array([[4, 2, 2, 4, 1, 1]])), [1])


def test_distance_ties_go_to_smaller_training_index():
    # Query at 0; training points at -1 and +1 are equally far. k=1 takes index 0.
    X_train = np.array([[1.0], [-1.0], [5.0]])
    for y_train, expected in ((np.array([1, 0, 0]), 1), (np.array([0, 1, 1]), 0)):
        assert knn.knn_predict(X_train, y_train, np.array([[0.0]]), k=1)[0] == expected
    idx, dist = knn.nearest_neighbours(X_train, np.array([[0.0]]), k=3)
    np.testing.assert_array_equal(idx, [[0, 1, 2]])
    np.testing.assert_allclose(dist, [[1.0, 1.0, 5.0]])


def test_k_two_tie_uses_smallest_label():
    X_train = np.array([[0.0], [1.0]])
    y_train = np.array([1, 0])
    assert knn.knn_predict(X_train, y_train, np.array([[0.1]]), k=2)[0] == 0


def test_accuracy_vs_k_equals_per_k_predictions():
    rng = np.random.default_rng(12)
    Xt, yt = rng.standard_normal((80, 2)), rng.integers(0, 3, size=80)
    Xv, yv = rng.standard_normal((30, 2)), rng.integers(0, 3, size=30)
    ks = [1, 2, 5, 9, 80]
    for metric in ("l1", "l2"):
        sweep = knn.accuracy_vs_k(Xt, yt, Xv, yv, ks, metric)
        direct = [np.mean(knn.knn_predict(Xt, yt, Xv, k, metric) == yv) for k in ks]
        np.testing.assert_allclose(sweep, direct)


def test_choose_k_and_hyperparameters():
    assert knn.choose_k([1, 3, 5, 7], [0.8, 0.9, 0.9, 0.85]) == 5  # tie: larger k
    assert knn.choose_k(np.array([1, 2]), np.array([0.7, 0.6])) == 1
    assert knn.choose_hyperparameters([1, 3], {"l2": [0.9, 0.8], "l1": [0.7, 0.95]}) == ("l1", 3, 0.95)
    assert knn.choose_hyperparameters([1, 3], {"l2": [0.9, 0.9], "l1": [0.9, 0.8]}) == ("l2", 3, 0.9)
    # a tie between metrics goes to the one listed first, even with a smaller k
    assert knn.choose_hyperparameters([1, 3, 7], {"l2": [0.8, 0.9, 0.7], "l1": [0.7, 0.8, 0.9]}) == ("l2", 3, 0.9)
    assert knn.choose_hyperparameters([1, 3, 7], {"l1": [0.7, 0.8, 0.9], "l2": [0.8, 0.9, 0.7]}) == ("l1", 7, 0.9)
    with pytest.raises(ValueError):
        knn.choose_k([1, 2], [0.5])


def test_learning_curve_is_nested_and_full_size_matches():
    rng = np.random.default_rng(13)
    Xt, yt = rng.standard_normal((40, 2)), rng.integers(0, 2, size=40)
    Xv, yv = rng.standard_normal((20, 2)), rng.integers(0, 2, size=20)
    curve = knn.learning_curve(Xt, yt, Xv, yv, [1, 10, 40], np.random.default_rng(0), k=3)
    assert curve.shape == (3,)
    full = np.mean(knn.knn_predict(Xt, yt, Xv, 3) == yv)
    # With all 40 points the order does not matter except for exact distance ties (none here).
    assert curve[-1] == pytest.approx(full)


# ------------------------------------------------------------ errors
@pytest.mark.parametrize("fn", [knn.pairwise_distances, knn.pairwise_distances_loops])
def test_mismatched_dimensions(fn):
    with pytest.raises(ValueError, match="features"):
        fn(np.zeros((3, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="2-D"):
        fn(np.zeros(3), np.zeros((4, 3)))


def test_unknown_metric():
    with pytest.raises(ValueError, match="unknown metric 'cosine'"):
        knn.pairwise_distances(np.zeros((1, 2)), np.zeros((1, 2)), "cosine")
    with pytest.raises(ValueError, match="unknown metric"):
        knn.KNNClassifier(3, "l3")


@pytest.mark.parametrize("k,match", [(0, "at least 1"), (-2, "at least 1"), (11, "larger than the 10"),
                                     (2.5, "whole number")])
def test_bad_k(k, match):
    X, y = np.zeros((10, 2)), np.zeros(10, dtype=int)
    with pytest.raises(ValueError, match=match):
        knn.knn_predict(X, y, X, k)


def test_classifier_errors():
    with pytest.raises(ValueError, match="at least 1"):
        knn.KNNClassifier(0)
    with pytest.raises(ValueError, match="larger than the 3"):
        knn.KNNClassifier(5).fit(np.zeros((3, 2)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="before predict"):
        knn.KNNClassifier(1).predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="one label per training point"):
        knn.knn_predict(np.zeros((3, 2)), np.zeros(2, dtype=int), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="non-negative integers"):
        knn.knn_predict(np.zeros((3, 2)), np.array([0.0, 1.0, 1.0]), np.zeros((1, 2)))


def test_classifier_copies_training_data():
    X, y = np.eye(3), np.array([0, 1, 2])
    model = knn.KNNClassifier(1).fit(X, y)
    X[:] = 0
    np.testing.assert_array_equal(model.predict(np.eye(3)), [0, 1, 2])


# ------------------------------------------------------------ widget
def test_widget_regular_setting_has_accuracies_in_title():
    fig = knn.draw_knn_regions(k=1, metric="L1", n_train=50)
    texts = " ".join(figure_texts(fig))
    assert "train acc 100%" in texts and "validation acc" in texts


@pytest.mark.parametrize("k,n", [(61, 20), (21, 20)])
def test_widget_k_larger_than_data_shows_message(k, n):
    fig = knn.draw_knn_regions(k=k, metric="L2", n_train=n)
    texts = " ".join(figure_texts(fig))
    assert f"k = {k} is larger than the {n} training points" in texts


def test_widget_extremes_and_static_frames():
    fig_def = interactive_figure(knn.draw_knn_regions,
                                 k=Slider(1, 61, 1, value=5, static=[1, 61]),
                                 metric=Choice(["L2", "L1"]),
                                 n_train=Slider(20, 200, 20, value=100, static=[20, 200]))
    for params in ({"k": 1, "n_train": 20}, {"k": 61, "n_train": 200, "metric": "L1"}, {"k": 20, "n_train": 20}):
        fig = fig_def.figure(**params)
        assert fig is not None
    assert "not enough neighbours" in " ".join(figure_texts(fig_def.figure(k=61, n_train=20)))
    assert fig_def.render(k=61, n_train=20)[:4] == b"\x89PNG"
    bad = knn.draw_knn_regions(n_train=0)
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
    "p_norm": (knn.check_p_norm, _ref_p_norm),
    "pairwise_l1": (knn.check_pairwise_l1, _ref_pairwise_l1),
    "knn_predict": (knn.check_knn_predict, _ref_knn),
    "choose_k": (knn.check_choose_k, _ref_choose_k),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_checker_passes_reference_rejects_wrong_and_spots_stub(name):
    check, reference = CHECKS[name]
    assert_checker(check, reference, [WRONG[name]])


def test_check_reports_wrong_shape_and_crash(lenient):
    r = knn.check_pairwise_l1(lambda A, B: _ref_pairwise_l1(A, B).T)
    assert not r and ("shape" in r.message or "wrong" in r.message)
    r = knn.check_knn_predict(lambda Xt, yt, Xq, k: 1 / 0)
    assert not r and "ZeroDivisionError" in r.message


def test_check_knn_predict_catches_the_wrong_tie_rule(lenient):
    def largest_label_wins(X_train, y_train, X_query, k):
        D = ((X_query[:, None, :] - X_train[None]) ** 2).sum(-1)
        idx = np.argsort(D, axis=1, kind="stable")[:, :k]
        return np.array([len(c) - 1 - np.argmax(c[::-1]) for c in (np.bincount(r) for r in y_train[idx])])
    r = knn.check_knn_predict(largest_label_wins)
    assert not r and "wrong" in r.message


def test_check_p_norm_catches_missing_abs_with_p_one(lenient):
    # Without absolute values p = 1 just sums the entries, and the check's first trial uses p = 1.
    r = knn.check_p_norm(lambda v, p: np.max(np.abs(v)) if np.isinf(p) else np.sum(v ** p) ** (1 / p))
    assert not r and "p_norm" in r.name


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        knn.check_choose_k(WRONG["choose_k"])
