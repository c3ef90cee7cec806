"""Argument checks shared by the data generators."""
from __future__ import annotations

import numpy as np


def _check_n(n: int, minimum: int = 1) -> None:
    if not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"n must be an integer >= {minimum}, got {n!r}")


def _check_noise(noise: float) -> None:
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
