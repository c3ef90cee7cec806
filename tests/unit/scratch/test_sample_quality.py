"""course_utils.scratch.sample_quality: the distances between generated samples and data."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils.scratch import sample_quality as Q


def test_nn_distance_by_hand():
    X = np.random.default_rng(0).standard_normal((300, 2))
    assert Q.nn_distance(X, X) == pytest.approx(0.0, abs=1e-6)
    A, B = np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0]])
    # A→B: (1 + √2)/2 ; B→A: 1 ; symmetric mean: ((1 + √2)/2 + 1)/2
    assert Q.nn_distance(A, B) == pytest.approx(((1 + np.sqrt(2)) / 2 + 1) / 2)
    assert Q.nn_distance(X, X + 5) > 4
