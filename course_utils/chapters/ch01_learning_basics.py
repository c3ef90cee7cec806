"""Chapter 01 · learning basics: the figures, the widget and the exercise checks.

- ``plot_unit_balls``: the unit spheres ``‖x‖_p = 1`` of several p-norms.
- ``knn_toy_data`` and ``draw_knn_regions``: the chapter's widget, k-NN decision
  regions on noisy two moons with training and validation accuracy.
- ``check_p_norm``, ``check_pairwise_l1``, ``check_knn_predict``,
  ``check_choose_k``: the exercise checks, against the references in
  :mod:`course_utils.scratch.knn`.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .. import checks, data, plotting
from ..scratch.knn import KNNClassifier, choose_k, knn_predict, p_norm, pairwise_distances
from ..widgets import frame


# --------------------------------------------------------------------- figures
def plot_unit_balls(ps: Sequence[float] = (0.5, 1, 2, np.inf), ax=None):
    """Outline of ``{x in R² : ||x||_p = 1}`` for each p (the unit sphere); dashed when p < 1 (not a norm)."""
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
    ax.set_title(r"points at distance 1 from the origin: $\|\mathbf{x}\|_p = 1$")
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


def check_pairwise_l1(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Check ``fn(A, B) -> D`` (m, n) of L1 distances on random shapes."""
    def make_inputs(rng):
        d = int(rng.integers(2, 7))  # d >= 2: in one dimension L1 and L2 coincide
        return (rng.standard_normal((int(rng.integers(1, 8)), d)),
                rng.standard_normal((int(rng.integers(1, 8)), d)))

    return checks.check_function(fn, lambda A, B: pairwise_distances(A, B, "l1"), make_inputs,
                                 name="pairwise_l1", trials=trials)


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
