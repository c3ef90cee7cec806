"""Shuffled minibatches: the loop every stochastic method shares.

Contract: ``minibatches(n, batch_size, rng)`` yields index arrays that together
cover ``0 … n−1`` exactly once per call (one epoch). With ``rng`` the order is a
fresh permutation; with ``rng=None`` it is ``0, 1, …`` (full-batch and
deterministic runs). The last batch is shorter when ``batch_size`` does not
divide ``n``, unless ``drop_last``.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def minibatches(n: int, batch_size: int, rng: np.random.Generator | None = None,
                drop_last: bool = False) -> Iterator[np.ndarray]:
    """Index arrays of one epoch over ``n`` examples in batches of ``batch_size``."""
    n, batch_size = int(n), int(batch_size)
    if n < 1:
        raise ValueError(f"need at least one example, got n={n}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = rng.permutation(n) if rng is not None else np.arange(n)
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]
