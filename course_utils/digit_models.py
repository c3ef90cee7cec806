"""The 8×8 digits, the digit yardstick, and the digit VAE and GAN that chapters 17, 18 and 19 share.

Chapters never import each other, so what several of them show with lives here: one tier
below the chapters, above the algorithms (``scratch``) and the platform (``data``), as the
import contracts in ``pyproject.toml`` state. Each object is built once per kernel: a second
Run All reuses it, and so does chapter 19's table, which puts chapter 17's VAE and chapter
18's GAN beside its diffusion model.

- :func:`digits`: scikit-learn's 1,797 digits ``(n, 64)`` in ``[0, 1]`` and their labels, read-only.
- :func:`yardstick`: ``sample_quality.digit_yardstick`` on them (classifier seed 0, 1,000 held-out digits).
- :func:`digit_vae`, :func:`digit_gan`: ``vae.train_digit_vae`` and ``gan.train_digit_gan``, each with the
  recipe its chapter chose, on the yardstick's 797 training digits.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import data
from .scratch import gan, sample_quality, vae


@lru_cache(maxsize=1)
def digits() -> tuple[np.ndarray, np.ndarray]:
    """``data.load_digits()`` once per kernel, as read-only arrays (a caller cannot change another's digits)."""
    X, y = data.load_digits()
    X.flags.writeable = y.flags.writeable = False
    return X, y


def yardstick() -> sample_quality.DigitYardstick:
    """The course's digit yardstick (classifier seed 0, 1,000 held-out digits); trained once per kernel."""
    return sample_quality.digit_yardstick(*digits())


@lru_cache(maxsize=2)
def digit_vae(seed: int = 0) -> sample_quality.TrainedSampler:
    """Chapter 17's chosen VAE: :func:`course_utils.scratch.vae.train_digit_vae` on the yardstick's 797 training
    digits; trained once per kernel."""
    return vae.train_digit_vae(yardstick().train_images, seed=seed)


@lru_cache(maxsize=4)
def digit_gan(seed: int = 0) -> sample_quality.TrainedSampler:
    """Chapter 18's digit GAN: :func:`course_utils.scratch.gan.train_digit_gan` on the yardstick's 797 training
    digits; trained once per kernel."""
    return gan.train_digit_gan(yardstick().train_images, seed=seed)
