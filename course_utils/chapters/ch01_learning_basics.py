"""Chapter 01 · learning basics: the figures, the widget, the experiments and the exercise checks.

- ``plot_unit_spheres``: the unit spheres ``‖x‖_p = 1`` (boundaries of the unit balls) of several p-norms.
- ``knn_toy_data`` and ``draw_knn_regions``: the chapter's widget, k-NN decision
  regions on noisy two moons with training and validation accuracy.
- ``k_selection_study``: choose k on many random splits, on the validation set and on
  the training set, to see how often the two choices differ.
- The chapter's thresholds (``VAL_ACCURACY_MIN``, ``TEST_ACCURACY_MIN``,
  ``LEARNING_GAIN_MIN``, ``DIFFERENT_CHOICE_MIN``) live here so that the tests can run
  trivial models against exactly the asserts the notebook makes.
- Checks: ``check_p_norm``, ``check_pairwise_l2`` (debug-this), ``check_knn_predict``,
  ``check_choose_k``, ``check_all_neighbours_prediction`` (predict-then-run) and
  ``check_two_tests_posterior`` (derive-then-check), against the references in
  :mod:`course_utils.scratch.knn`.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .. import checks, data, plotting
from ..scratch.knn import KNNClassifier, accuracy_vs_k, choose_k, knn_predict, p_norm, pairwise_distances
from ..widgets import frame

#: the notebook's asserts: validation accuracy of the chosen k-NN, test accuracy of the final model,
#: gain in validation accuracy from 10 training images to all of them, and the share of random
#: splits on which the validation set picks a different k than the training set would.
VAL_ACCURACY_MIN = 0.97
TEST_ACCURACY_MIN = 0.96
LEARNING_GAIN_MIN = 0.3
DIFFERENT_CHOICE_MIN = 0.5


# --------------------------------------------------------------------- figures
def plot_unit_spheres(ps: Sequence[float] = (0.5, 1, 2, np.inf), ax=None):
    """The unit sphere ``{x in R² : ||x||_p = 1}`` (the boundary of the unit ball) for each p; dashed when p < 1."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.4))
    t = np.linspace(0, 2 * np.pi, 721)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1)
    for i, p in enumerate(ps):
        pts = circle / p_norm(circle, p)[:, None]  # rescale each direction to length 1 in the p-norm
        name = r"$\infty$" if np.isinf(p) else f"{p:g}"
        ax.plot(pts[:, 0], pts[:, 1], ls="--" if p < 1 else "-", color=plotting.COLORS[i % len(plotting.COLORS)],
                label=f"p = {name}" + (" (not a norm)" if p < 1 else ""))
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(r"unit spheres: points at distance 1 from the origin, $\|\mathbf{x}\|_p = 1$")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return ax


def knn_toy_data(n_train: int, seed: int = 0, n_val: int = 300,
                 noise: float = 0.3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Noisy two-moons training and validation sets for the widget (the first ``n_train`` points of a fixed draw)."""
    rng = np.random.default_rng(seed)
    X_val, y_val = data.make_moons(n_val, rng, noise=noise)
    X, y = data.make_moons(400, rng, noise=noise)
    order = rng.permutation(len(X))[:n_train]
    return X[order], y[order], X_val, y_val


@frame
def draw_knn_regions(k: int = 5, metric: str = "L2", n_train: int = 100, seed: int = 0,
                     resolution: int = 90, noise: float = 0.3):
    """The chapter's widget: k-NN decision regions on noisy two moons, with train and validation accuracy.

    When ``k > n_train`` the figure carries a message instead of the regions.
    """
    if not 1 <= n_train <= 400:
        raise ValueError(f"n_train must be between 1 and 400, got {n_train}")
    fig, ax = plt.subplots(figsize=(6.0, 4.4))
    # Fixed margins instead of the style's automatic layout: the book pre-renders many frames.
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.12, top=0.92)
    X, y, X_val, y_val = knn_toy_data(n_train, seed, noise=noise)
    if k > n_train:
        plotting.scatter_classes(X, y, ax=ax)
        ax.set_title(f"k = {k}, {metric}: no prediction")
        plotting.show_message(ax, f"k = {k} is larger than the {n_train} training points:\n"
                                  "there are not enough neighbours to vote.\nLower k or add points.")
        return fig
    model = KNNClassifier(k, metric).fit(X, y)
    train_acc, val_acc = model.score(X, y), model.score(X_val, y_val)
    plotting.decision_regions(model.predict, X, y, ax=ax, resolution=resolution, legend=False,
                              title=f"k = {k}, {metric}:  train acc {train_acc:.0%},  validation acc {val_acc:.0%}")
    return fig


# ----------------------------------------------------------------- experiments
def k_selection_study(X: np.ndarray, y: np.ndarray, n_splits: int, seed: int = 0, ks: Sequence[int] = range(1, 26),
                      metric: str = "l2", val: float = 0.2, test: float = 0.2) -> dict[str, np.ndarray]:
    """Choose k (``choose_k``: best accuracy, ties to the larger k) on ``n_splits`` random splits.

    Returns per split the k chosen on the validation set (``"k_val"``), the k the training
    set would choose (``"k_train"``), and the validation accuracies at both (``"acc_at_k_val"``,
    ``"acc_at_k_train"``).
    """
    ks = np.asarray(list(ks))
    out: dict[str, list] = {"k_val": [], "k_train": [], "acc_at_k_val": [], "acc_at_k_train": []}
    for i in range(n_splits):
        parts = data.split(X, y, np.random.default_rng(seed + i), val=val, test=test)
        acc_val = accuracy_vs_k(parts.X_train, parts.y_train, parts.X_val, parts.y_val, ks, metric)
        acc_train = accuracy_vs_k(parts.X_train, parts.y_train, parts.X_train, parts.y_train, ks, metric)
        k_val, k_train = choose_k(ks, acc_val), choose_k(ks, acc_train)
        out["k_val"].append(k_val)
        out["k_train"].append(k_train)
        out["acc_at_k_val"].append(acc_val[list(ks).index(k_val)])
        out["acc_at_k_train"].append(acc_val[list(ks).index(k_train)])
    return {k: np.asarray(v) for k, v in out.items()}


def all_neighbours_accuracy(y_train: np.ndarray, y_eval: np.ndarray) -> float:
    """Accuracy of k-NN with k = every training point: each query gets the training set's majority label."""
    return float(np.mean(np.asarray(y_eval) == np.bincount(y_train).argmax()))


# ------------------------------------------------------------ exercise checks
def check_p_norm(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(v, p) -> float`` for 1-D ``v`` with negative entries and ``p`` in {1, 1.5, 3, inf}."""
    ps = itertools.cycle([1, 3, 1.5, np.inf, 2])  # p = 1 first: it exposes a missing absolute value

    def make_inputs(rng):
        v = rng.standard_normal(int(rng.integers(2, 9)))
        v[0] = -abs(v[0]) - 0.5  # at least one clearly negative entry
        return (v, next(ps))

    return checks.check_function(fn, lambda v, p: float(p_norm(v, p)), make_inputs,
                                 name="p_norm", trials=trials)


def check_pairwise_l2(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(A, B) -> D`` (m, n) of L2 distances: m ≠ n, B holding copies and near-copies of A's rows.

    The copies make some true distances exactly 0 and the near-copies (rows moved by about
    1e-9) make them tiny, where the expansion ``|a|² + |b|² − 2a·b`` can round to a tiny
    negative number: without clipping, its square root is NaN. A draw is redrawn until the
    unclipped expansion has a negative entry however it is computed: squared norms from
    ``np.sum(A**2, axis=1)`` (the exercise's code) or ``np.einsum``, products from ``A @ B.T``
    or ``np.einsum`` (norms and products both from ``einsum`` cancel exactly on exact copies,
    which is why the near-copies are there). Every trial then catches a forgotten clip. The
    check compares with ``atol=1e-6`` (round-off of the expansion).
    """
    def expansions(A, B):
        by_matmul, by_einsum = 2 * A @ B.T, 2 * np.einsum("ik,jk->ij", A, B)
        norms = [(np.sum(A**2, axis=1), np.sum(B**2, axis=1)),
                 (np.einsum("ij,ij->i", A, A), np.einsum("ij,ij->i", B, B))]
        return [a[:, None] + b[None, :] - ab for a, b in norms for ab in (by_matmul, by_einsum)]

    def make_inputs(rng):
        for _ in range(200):  # a draw is kept with probability ~0.25: 200 misses in a row never happen
            m, d = int(rng.integers(2, 7)), int(rng.integers(2, 6))
            A = rng.standard_normal((m, d)) * 3
            near = A[: int(rng.integers(1, m + 1))] + 1e-9 * rng.standard_normal((1, d))
            other = rng.standard_normal((int(rng.integers(0, 3)), d)) * 3
            B = np.vstack([A[::-1], near, other])  # n > m: catches a broadcast that only works when m == n
            if all(np.any(e < 0) for e in expansions(A, B)):  # without a clip, these entries become NaN
                break
        return (A, B)

    return checks.check_function(fn, lambda A, B: pairwise_distances(A, B, "l2"), make_inputs,
                                 name="pairwise_l2", trials=trials, rtol=1e-6, atol=1e-6)


def check_knn_predict(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(X_train, y_train, X_query, k) -> labels`` (L2 distance; vote ties to the smallest label)."""
    ks = itertools.cycle([1, 3, 2, 4, 5, 6])  # even k makes tied votes likely

    def make_inputs(rng):
        n, d, c = int(rng.integers(10, 30)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
        y = np.arange(n) % c  # every class present
        rng.shuffle(y)
        return (rng.standard_normal((n, d)), y.astype(np.int64), rng.standard_normal((int(rng.integers(5, 20)), d)),
                next(ks))

    return checks.check_function(fn, lambda Xt, yt, Xq, k: knn_predict(Xt, yt, Xq, k, "l2"), make_inputs,
                                 name="knn_predict", trials=trials)


def check_choose_k(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(ks, accuracies) -> k`` on sweeps that contain ties."""
    def make_inputs(rng):
        ks = np.sort(rng.choice(np.arange(1, 40), size=int(rng.integers(3, 12)), replace=False))
        acc = rng.integers(15, 20, size=len(ks)) / 20
        i, j = rng.choice(len(ks), size=2, replace=False)
        acc[i] = acc[j] = acc.max()  # always a tie for the best accuracy
        return (ks, acc)

    return checks.check_function(fn, choose_k, make_inputs, name="choose_k", trials=trials)


def check_all_neighbours_prediction(prediction, y_train: np.ndarray, y_eval: np.ndarray,
                                    tol: float = 0.02) -> checks.CheckResult:
    """Predict-then-run: the validation accuracy of k-NN with k = the number of training points."""
    actual = all_neighbours_accuracy(y_train, y_eval)
    majority = int(np.bincount(y_train).argmax())
    hint = (f"with k = n every query hears the same vote, the whole training set's, so every prediction is its "
            f"most frequent label ({majority}); the accuracy is the share of that label in the validation set, "
            f"{actual:.3f} (about 1/10 for ten balanced classes)")
    return checks.check_value(prediction, actual, name="your prediction", rtol=0, atol=tol, hint=hint)


#: the derive-then-check exercise: the test of the Bayes section, taken twice, independently
TWO_TESTS = dict(prevalence=0.01, sensitivity=0.95, false_alarm=0.05)


def two_tests_posterior(prevalence: float, sensitivity: float, false_alarm: float) -> float:
    """P(sick | two independent positive tests): Bayes' rule with the first posterior as the new prior."""
    p1 = sensitivity * prevalence / (sensitivity * prevalence + false_alarm * (1 - prevalence))
    return sensitivity * p1 / (sensitivity * p1 + false_alarm * (1 - p1))


def check_two_tests_posterior(answer) -> checks.CheckResult:
    """Derive-then-check: P(D | +, +) for :data:`TWO_TESTS`, to 3 decimals."""
    exact = two_tests_posterior(**TWO_TESTS)
    hint = ("use P(D | +) ≈ 0.161 from the first test as the prior for the second: "
            "P(D | +, +) = 0.95·0.161 / (0.95·0.161 + 0.05·0.839)")
    return checks.check_value(answer, exact, name="P(D | +, +)", rtol=0, atol=5e-4, hint=hint)
