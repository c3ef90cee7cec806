"""Hyperparameter search on the unit cube: grid versus random (Bergstra & Bengio, 2012).

Contract:

- Hyperparameters are rescaled to ``[0, 1]`` (a log learning rate from 10⁻⁵ to 1 becomes
  ``u = (log10 η + 5) / 5``); a search proposes ``budget`` points ``(budget, d)``.
- ``grid_points(budget, d)``: a ``k × … × k`` grid (``budget = k^d``) at the centres of the
  cells, the grid's most favourable placement; ``random_points(budget, d, rng)``: uniform draws.
- ``best_found(objective, points)``: the smallest objective value among the points, i.e.
  the configuration a search would pick (the objective maps ``(..., d)`` to ``(...)``).
- ``bumps(U, optimum, weights, width)``: a stand-in validation error, a sum of one inverted
  Gaussian bump per dimension, ``Σ_j weights_j (1 − exp(−(u_j − a_j)² / 2·width²))``, minimum 0
  at ``optimum``; the ``weights`` say how much each hyperparameter matters.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def grid_points(budget: int, d: int = 2) -> np.ndarray:
    """The ``k^d = budget`` centres of a regular grid of cells on ``[0, 1]^d``."""
    k = int(round(budget ** (1 / d)))
    if k ** d != budget:
        raise ValueError(f"a {d}-D grid needs a budget that is a {d}-th power (4, 9, 16, … for d = 2), got {budget}")
    axis = (np.arange(k) + 0.5) / k
    return np.stack(np.meshgrid(*[axis] * d, indexing="ij"), axis=-1).reshape(-1, d)


def random_points(budget: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``budget`` points drawn uniformly from ``[0, 1]^d``."""
    if int(budget) < 1:
        raise ValueError(f"budget must be >= 1, got {budget}")
    return rng.uniform(0.0, 1.0, (int(budget), d))


def best_found(objective: Callable[[np.ndarray], np.ndarray], points: np.ndarray) -> float:
    """The lowest objective value among ``points``: what the search reports."""
    return float(np.min(objective(points)))


def bumps(U: np.ndarray, optimum: Sequence[float], weights: Sequence[float], width: float = 0.1) -> np.ndarray:
    """``Σ_j weights_j · (1 − exp(−(u_j − optimum_j)² / (2 width²)))`` over the last axis of ``U``."""
    U, a, w = np.asarray(U, dtype=np.float64), np.asarray(optimum, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    if U.shape[-1] != len(a) or len(a) != len(w):
        raise ValueError(f"points of dimension {U.shape[-1]}, optimum {len(a)} and weights {len(w)} must agree")
    return np.sum(w * (1 - np.exp(-(U - a) ** 2 / (2 * width ** 2))), axis=-1)
