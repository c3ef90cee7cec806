"""Metrics: ``name(pred, target) -> float``, for NumPy arrays and torch tensors alike.

- ``accuracy(pred, y)``: the fraction of examples classified correctly. ``pred``
  may be integer labels ``(n,)``, a score matrix ``(n, C)`` (arg-max is the
  prediction) or one score per example for a binary problem (``(n,)`` or
  ``(n, 1)`` floats: the prediction is ``score > 0``, i.e. a logit; pass
  ``threshold=0.5`` for probabilities).
- ``top_k_accuracy(scores, y, k)``: the label is among the ``k`` largest scores.
"""
from __future__ import annotations

import numpy as np


def _numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def predicted_labels(pred, threshold: float = 0.0) -> np.ndarray:
    """Integer labels from labels, a score matrix, or one score (logit) per example."""
    p = _numpy(pred)
    if p.ndim == 2 and p.shape[1] > 1:
        return p.argmax(axis=1)
    p = p.reshape(-1) if p.ndim == 2 else p
    if p.dtype.kind in "iub":
        return p.astype(np.int64)
    return (p > threshold).astype(np.int64)


def accuracy(pred, y, threshold: float = 0.0) -> float:
    """Fraction of rows whose predicted label (see module docstring) equals ``y``."""
    labels, y = predicted_labels(pred, threshold), _numpy(y).reshape(-1)
    if labels.shape != y.shape:
        raise ValueError(f"accuracy: {labels.shape[0]} predictions for {y.shape[0]} labels")
    if len(y) == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return float(np.mean(labels == y))


def top_k_accuracy(scores, y, k: int = 5) -> float:
    """Fraction of rows whose label is among the ``k`` highest of ``scores (n, C)``."""
    s, y = _numpy(scores), _numpy(y).reshape(-1)
    if s.ndim != 2 or len(s) != len(y):
        raise ValueError(f"top_k_accuracy: scores {s.shape} need shape (n, C) with n = {len(y)}")
    if not 1 <= k <= s.shape[1]:
        raise ValueError(f"k must be between 1 and the {s.shape[1]} classes, got {k}")
    top = np.argpartition(-s, k - 1, axis=1)[:, :k]
    return float(np.mean(np.any(top == y[:, None], axis=1)))
