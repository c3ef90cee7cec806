"""Seeded train/validation/test splits and standardisation with the training set's statistics."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
