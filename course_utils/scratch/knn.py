"""Norms, pairwise distances and k-nearest neighbours, in NumPy (chapter 01).

Contract:

- Points are rows. ``A`` of shape ``(m, d)`` and ``B`` of shape ``(n, d)`` give a
  distance matrix ``D`` of shape ``(m, n)`` with ``D[i, j] = dist(A[i], B[j])``.
- ``metric`` is ``"l1"`` (sum of absolute differences), ``"l2"`` (Euclidean) or
  ``"l2_squared"``; upper case (``"L1"``, ``"L2"``) is accepted too. Anything
  else, or rows of different lengths, raises ``ValueError``.
- Labels are integers ``0 … C-1``.
- Determinism. Neighbours are ordered by distance, equal distances by the
  smaller training index (a stable sort). A vote that ends in a tie goes to the
  **smallest label** among the most frequent ones.
- ``k`` must satisfy ``1 <= k <= n_train``; otherwise ``ValueError``.

Contents: ``p_norm``; ``pairwise_distances`` (vectorised) and
``pairwise_distances_loops`` (two Python loops, for teaching and timing);
``nearest_neighbours``, ``majority_vote``, ``knn_predict`` and the thin
``KNNClassifier``; model selection (``accuracy_vs_k``, ``choose_k``,
``choose_hyperparameters``, ``learning_curve``). Accuracy is
:func:`course_utils.scratch.metrics.accuracy`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .metrics import accuracy

METRICS = ("l1", "l2", "l2_squared")

# L1 by broadcasting builds an (m, n, d) array; we do it in blocks of rows of A
# so that no block holds more than this many numbers (32 MB of float64).
_BLOCK_ELEMENTS = 1 << 22


# ----------------------------------------------------------------------- norms
def p_norm(v: np.ndarray, p: float, axis: int = -1) -> np.ndarray:
    r"""The p-norm :math:`(\sum_i |v_i|^p)^{1/p}` along ``axis``; ``p=np.inf`` gives ``max |v_i|``.

    It is a norm only for ``p >= 1``. Values ``0 < p < 1`` are allowed so that
    the chapter can show the triangle inequality failing for them.
    """
    v = np.asarray(v, dtype=np.float64)
    if np.isinf(p):
        return np.max(np.abs(v), axis=axis)
    if not p > 0:
        raise ValueError(f"p must be positive (or np.inf), got {p}")
    return np.sum(np.abs(v) ** p, axis=axis) ** (1.0 / p)


# ------------------------------------------------------------------- distances
def _metric(metric: str) -> str:
    m = str(metric).lower()
    if m not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    return m


def _as_points(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"A and B must be 2-D arrays of points (rows), got shapes {A.shape} and {B.shape}")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A has {A.shape[1]} features per point but B has {B.shape[1]}; "
                         "both need the same number of columns")
    return A, B


def pairwise_distances(A: np.ndarray, B: np.ndarray, metric: str = "l2") -> np.ndarray:
    """All distances between the rows of ``A`` (m, d) and the rows of ``B`` (n, d): shape (m, n).

    - ``"l1"``: broadcasting, ``|A[:, None, :] - B[None, :, :]|`` summed over features
      (computed in blocks of rows to bound memory).
    - ``"l2_squared"``: the expansion ``|a|² + |b|² - 2 a·b``, one matrix product;
      round-off can make it slightly negative, so it is clipped at 0.
    - ``"l2"``: the square root of ``"l2_squared"``. For identical points the
      round-off leaves about ``1e-8`` instead of 0.
    """
    metric = _metric(metric)
    A, B = _as_points(A, B)
    if metric == "l1":
        D = np.empty((len(A), len(B)))
        rows = max(1, _BLOCK_ELEMENTS // max(1, B.shape[0] * B.shape[1]))
        for start in range(0, len(A), rows):
            block = A[start:start + rows]
            D[start:start + rows] = np.abs(block[:, None, :] - B[None, :, :]).sum(axis=2)
        return D
    sq = np.sum(A * A, axis=1)[:, None] + np.sum(B * B, axis=1)[None, :] - 2.0 * (A @ B.T)
    np.maximum(sq, 0.0, out=sq)
    return sq if metric == "l2_squared" else np.sqrt(sq)


def pairwise_distances_loops(A: np.ndarray, B: np.ndarray, metric: str = "l2") -> np.ndarray:
    """The same as :func:`pairwise_distances`, with two Python loops (slow; for teaching)."""
    metric = _metric(metric)
    A, B = _as_points(A, B)
    D = np.empty((len(A), len(B)))
    for i in range(len(A)):
        for j in range(len(B)):
            diff = A[i] - B[j]
            if metric == "l1":
                D[i, j] = np.sum(np.abs(diff))
            elif metric == "l2_squared":
                D[i, j] = np.sum(diff * diff)
            else:
                D[i, j] = np.sqrt(np.sum(diff * diff))
    return D


# ------------------------------------------------------------------------ k-NN
def _check_k(k: int, n_train: int | None = None) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be a whole number, got {k!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got k={k}")
    if n_train is not None and k > n_train:
        raise ValueError(f"k={k} is larger than the {n_train} training points: "
                         "there are not enough neighbours to vote")
    return int(k)


def _check_labels(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y_train must have one label per training point: shape ({n},), got {y.shape}")
    if y.dtype.kind not in "iu" or (len(y) and y.min() < 0):
        raise ValueError("labels must be non-negative integers 0 … C-1")
    return y


def nearest_neighbours(X_train: np.ndarray, X_query: np.ndarray, k: int,
                       metric: str = "l2") -> tuple[np.ndarray, np.ndarray]:
    """Indices (m, k) into ``X_train`` of each query's ``k`` nearest points, nearest first, and their distances."""
    X_query, X_train = _as_points(X_query, X_train)
    k = _check_k(k, len(X_train))
    D = pairwise_distances(X_query, X_train, metric)
    idx = np.argsort(D, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(D, idx, axis=1)


def majority_vote(neighbour_labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """Most frequent label in each row of ``neighbour_labels`` (m, k); ties go to the smallest label."""
    labels = np.asarray(neighbour_labels)
    if labels.ndim != 2:
        raise ValueError(f"neighbour_labels must have shape (m, k), got {labels.shape}")
    if labels.dtype.kind not in "iu" or (labels.size and labels.min() < 0):
        raise ValueError("labels must be non-negative integers 0 … C-1")
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if labels.size else 1
    counts = np.zeros((labels.shape[0], n_classes), dtype=np.int64)
    rows = np.repeat(np.arange(labels.shape[0]), labels.shape[1])
    np.add.at(counts, (rows, labels.ravel()), 1)
    return counts.argmax(axis=1)  # argmax returns the first maximum: the smallest tied label


def knn_predict(X_train: np.ndarray, y_train: np.ndarray, X_query: np.ndarray, k: int = 1,
                metric: str = "l2") -> np.ndarray:
    """Label each row of ``X_query`` by a majority vote of its ``k`` nearest training points: shape (m,)."""
    y_train = _check_labels(y_train, len(np.asarray(X_train)))
    idx, _ = nearest_neighbours(X_train, X_query, k, metric)
    return majority_vote(y_train[idx], n_classes=int(y_train.max()) + 1)


class KNNClassifier:
    """k-nearest-neighbour classifier. ``fit`` only stores the data; ``predict`` calls :func:`knn_predict`.

    The hyperparameters ``k`` and ``metric`` are chosen by us; the "parameters"
    are the stored training set itself.
    """

    def __init__(self, k: int = 1, metric: str = "l2"):
        _check_k(k)
        self.k = int(k)
        self.metric = _metric(metric)
        self.X_train: np.ndarray | None = None
        self.y_train: np.ndarray | None = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> KNNClassifier:
        X = np.array(X, dtype=np.float64)  # a copy: later edits to X do not change the model
        if X.ndim != 2:
            raise ValueError(f"X must have shape (n, d), got {X.shape}")
        self.y_train = _check_labels(np.array(y), len(X))
        _check_k(self.k, len(X))
        self.X_train = X
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.X_train is None:
            raise ValueError("call fit(X, y) before predict")
        return knn_predict(self.X_train, self.y_train, X, self.k, self.metric)

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy on ``(X, y)``."""
        return accuracy(self.predict(X), y)

    def __repr__(self) -> str:
        n = 0 if self.X_train is None else len(self.X_train)
        return f"KNNClassifier(k={self.k}, metric={self.metric!r}, training points stored: {n})"


# ------------------------------------------------------------- model selection
def accuracy_vs_k(X_train: np.ndarray, y_train: np.ndarray, X_eval: np.ndarray, y_eval: np.ndarray,
                  ks: Sequence[int], metric: str = "l2") -> np.ndarray:
    """Accuracy on ``(X_eval, y_eval)`` of k-NN for every ``k`` in ``ks``.

    The distances and the neighbour order are computed once, so a sweep costs
    about as much as one prediction. Equal to calling :func:`knn_predict` per k.
    """
    ks = [int(k) for k in ks]
    if not ks:
        raise ValueError("ks is empty")
    y_train = _check_labels(y_train, len(np.asarray(X_train)))
    for k in ks:
        _check_k(k, len(y_train))
    idx, _ = nearest_neighbours(X_train, X_eval, max(ks), metric)
    n_classes = int(y_train.max()) + 1
    return np.array([accuracy(majority_vote(y_train[idx[:, :k]], n_classes), y_eval) for k in ks])


def choose_k(ks: Sequence[int], accuracies: Sequence[float]) -> int:
    """The ``k`` with the highest accuracy; among equally good ones, the **largest** k (the smoothest model)."""
    ks, acc = np.asarray(ks), np.asarray(accuracies, dtype=np.float64)
    if ks.shape != acc.shape or ks.ndim != 1 or len(ks) == 0:
        raise ValueError(f"need one accuracy per k, got {ks.shape} ks and {acc.shape} accuracies")
    best = ks[acc == acc.max()]
    return int(best.max())


def choose_hyperparameters(ks: Sequence[int], curves: Mapping[str, Sequence[float]]) -> tuple[str, int, float]:
    """Best ``(metric, k, accuracy)`` over validation ``curves`` (metric -> accuracy per k).

    A metric replaces an earlier-listed one only if it is strictly better, so
    ties go to the metric listed first (list the default first); within a
    metric, ties go to the larger k (:func:`choose_k`).
    """
    best: tuple[str, int, float] | None = None
    for metric, acc in curves.items():
        k = choose_k(ks, acc)
        a = float(np.max(acc))
        if best is None or a > best[2]:
            best = (metric, k, a)
    if best is None:
        raise ValueError("curves is empty")
    return best


def learning_curve(X_train: np.ndarray, y_train: np.ndarray, X_eval: np.ndarray, y_eval: np.ndarray,
                   sizes: Sequence[int], rng: np.random.Generator, k: int = 1,
                   metric: str = "l2") -> np.ndarray:
    """Accuracy on ``(X_eval, y_eval)`` when k-NN sees only the first ``size`` points of one random shuffle.

    The subsets are nested: each size adds examples to the previous one.
    """
    order = rng.permutation(len(X_train))
    X_train, y_train = np.asarray(X_train)[order], np.asarray(y_train)[order]
    out = []
    for s in sizes:
        if not 1 <= s <= len(X_train):
            raise ValueError(f"size {s} is outside 1 … {len(X_train)}")
        out.append(accuracy(knn_predict(X_train[:s], y_train[:s], X_eval, min(k, s), metric), y_eval))
    return np.array(out)
