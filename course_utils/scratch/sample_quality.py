"""How good are generated samples? Distances between a set of samples and real data.

Contract: a sample set and a data set are arrays of rows, ``(n, d)`` points; every
function returns a float that is 0 for identical sets and grows as they differ.
Compare sets of equal size: these distances shrink as the sets grow.

- :func:`nn_distance`: symmetric mean nearest-neighbour distance between two point sets.
"""
from __future__ import annotations

import numpy as np

from .knn import pairwise_distances


# ------------------------------------------------------------------ point sets
def nn_distance(A: np.ndarray, B: np.ndarray) -> float:
    """Symmetric mean nearest-neighbour distance between point sets ``A`` and ``B``.

    ½ (mean over a of min_b ‖a − b‖ + mean over b of min_a ‖a − b‖). The first term
    is small when every sample lies near data (no junk), the second when every data
    point has a sample near it (no missing regions). Compare sets of equal size.
    """
    D = pairwise_distances(np.asarray(A, float), np.asarray(B, float), "l2")
    return float(0.5 * (D.min(axis=1).mean() + D.min(axis=0).mean()))
