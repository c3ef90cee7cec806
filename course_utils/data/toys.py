"""2-D toy sets for classification and 1-D regression, generated from a seed (see the package docstring)."""
from __future__ import annotations

import numpy as np

from ._common import _check_n, _check_noise


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
