"""course_utils.scratch.knn: torch twins, loops vs vectorised, tie-breaking, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.scratch import knn


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
