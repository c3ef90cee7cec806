"""Data augmentation for small images: label-preserving random transformations.

Contract: ``<transform>(images, rng, ...) -> images`` with ``images`` of shape
``(n, h, w)`` (or ``(n, h·w)`` with ``shape=(h, w)``), returned in the same shape and
dtype as given; ``rng`` draws one transformation per image. The input is never modified.

- ``random_shift``: move each image by up to ``max_shift`` pixels in each direction,
  filling the uncovered border with ``fill`` (0 = background for the digits).
- ``random_noise``: add Gaussian pixel noise and clip to ``[0, 1]``.
- ``augment(X, y, copies, rng)``: the original set plus ``copies`` shifted copies of it
  (a fixed, enlarged training set for loaders that do not transform on the fly).
"""
from __future__ import annotations

import numpy as np

from ..base import as_images


def _as_images(images: np.ndarray, shape: tuple[int, int] | None) -> tuple[np.ndarray, tuple[int, ...]]:
    return as_images(images, shape), np.shape(images)


def shift(image: np.ndarray, dy: int, dx: int, fill: float = 0.0) -> np.ndarray:
    """One ``(h, w)`` image moved ``dy`` pixels down and ``dx`` right; the border is ``fill``."""
    h, w = image.shape
    out = np.full_like(image, fill)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def random_shift(images: np.ndarray, rng: np.random.Generator, max_shift: int = 1, fill: float = 0.0,
                 shape: tuple[int, int] | None = None) -> np.ndarray:
    """Each image shifted by integers ``dy, dx`` drawn uniformly from ``−max_shift … max_shift``."""
    imgs, given = _as_images(images, shape)
    if max_shift < 0 or max_shift >= min(imgs.shape[1:]):
        raise ValueError(f"max_shift must be between 0 and {min(imgs.shape[1:]) - 1}, got {max_shift}")
    moves = rng.integers(-max_shift, max_shift + 1, size=(len(imgs), 2))
    return np.stack([shift(im, int(dy), int(dx), fill) for im, (dy, dx) in zip(imgs, moves)]).reshape(given)


def random_noise(images: np.ndarray, rng: np.random.Generator, std: float = 0.1) -> np.ndarray:
    """Add N(0, std²) noise to every pixel and clip to ``[0, 1]``."""
    images = np.asarray(images)
    return np.clip(images + rng.normal(0.0, std, images.shape), 0.0, 1.0)


def augment(X: np.ndarray, y: np.ndarray, copies: int, rng: np.random.Generator, max_shift: int = 1,
            shape: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``X`` and ``y`` followed by ``copies`` randomly shifted copies of ``X`` (same labels)."""
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    parts = [np.asarray(X)] + [random_shift(X, rng, max_shift, shape=shape) for _ in range(int(copies))]
    return np.concatenate(parts), np.tile(np.asarray(y), int(copies) + 1)
