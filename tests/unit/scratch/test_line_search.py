"""course_utils.scratch.line_search: Armijo and Wolfe steps satisfy their conditions."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils.chapters import ch07_optimization as ch
from course_utils.scratch import line_search as LS


def test_backtracking_satisfies_armijo_and_is_the_first_such_step():
    f = ch.SURFACES["Rosenbrock"].value
    g_fn = ch.SURFACES["Rosenbrock"].grad
    w = np.array([-1.2, 1.0])
    g = g_fn(w)
    lr = LS.backtracking(f, g, w, -g)
    assert f(w - lr * g) <= f(w) - 1e-4 * lr * g @ g
    assert f(w - 2 * lr * g) > f(w) - 1e-4 * 2 * lr * g @ g
    with pytest.raises(ValueError, match="descent"):
        LS.backtracking(f, g, w, g)


def test_wolfe_line_search_gives_positive_curvature():
    surf = ch.SURFACES["Rosenbrock"]
    w = np.array([-1.0, 1.05])
    d = -surf.grad(w) / np.linalg.norm(surf.grad(w)) * 1e-3      # a far too short direction
    lr = LS.wolfe_line_search(surf.value, surf.grad, w, d)
    assert surf.grad(w + lr * d) @ d >= 0.9 * surf.grad(w) @ d and lr > 1
    with pytest.raises(ValueError, match="descent"):
        LS.wolfe_line_search(surf.value, surf.grad, w, -d)


def test_gd_line_search_never_increases_the_loss():
    surf = ch.SURFACES["Rosenbrock"]
    res = LS.gd_line_search(surf.value, surf.grad, np.array(surf.starts["A"]), 200)
    assert len(res.points) == 201 and np.all(np.diff(res.losses) <= 0)


def test_armijo_gd_needs_about_ten_thousand_iterations_on_rosenbrock():
    """The chapter's claim (section 7): 10,616 iterations to get below 1e-10 from (−1.2, 1)."""
    from course_utils.scratch.optimizers import steps_to_reach

    surf = ch.SURFACES["Rosenbrock"]
    res = LS.gd_line_search(surf.value, surf.grad, np.array(surf.starts["A"]), 12000)
    assert steps_to_reach(res.losses, 0.0, 1e-10) == 10616
