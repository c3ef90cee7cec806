"""course_utils.chapters.ch07_optimization: the surfaces, the widget and the exercise checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_checker

from course_utils.chapters import ch07_optimization as ch
from course_utils.scratch import line_search, optimizers, second_order
from course_utils.widgets import figure_texts


def test_surface_gradients_and_hessians_match_torch():
    rng = np.random.default_rng(4)
    for surf in ch.SURFACES.values():
        for _ in range(5):
            w = rng.uniform(-1.5, 1.5, 2)
            wt = torch.tensor(w, requires_grad=True)
            f = lambda v: surf.f(v[0], v[1])  # noqa: E731, B023
            np.testing.assert_allclose(surf.grad(w), torch.autograd.grad(f(wt), wt)[0].numpy(), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(surf.hess(w), torch.autograd.functional.hessian(f, wt).numpy(), rtol=1e-12, atol=1e-12)
        for w_min in surf.minima:
            assert np.isclose(surf.value(np.array(w_min)), surf.f_min)
            np.testing.assert_allclose(surf.grad(np.array(w_min)), 0, atol=1e-12)


# -------------------------------------------------------------------- widget
@pytest.mark.parametrize("surface", list(ch.SURFACES))
@pytest.mark.parametrize("optimizer", list(optimizers.RULES))
def test_widget_extremes(surface, optimizer):
    big = " ".join(figure_texts(ch.draw_optimizer(surface, optimizer, log_lr=0.5, beta=0.99, start="C")))
    small = " ".join(figure_texts(ch.draw_optimizer(surface, optimizer, log_lr=-4.0, beta=0.0, start="A")))
    assert "too large" not in small and "gap" in small
    if optimizer in ("gd", "momentum", "nesterov"):
        assert "learning rate too large" in big and f"{optimizer} diverged: the loss reached" in big


def test_widget_never_raises_on_any_start_and_explains_bad_settings():
    for surface in ch.SURFACES:
        for start in "ABC":
            assert "gap" in " ".join(figure_texts(ch.draw_optimizer(surface, "adam", log_lr=-1.0, start=start)))
    assert "unknown start" in " ".join(figure_texts(ch.draw_optimizer(start="D")))
    assert "unknown optimizer" in " ".join(figure_texts(ch.draw_optimizer(optimizer="lion")))


# -------------------------------------------------------------------- checks
def _textbook_momentum(w, dw, state, lr, momentum):   # v ← μv − η g, w ← w + v: the same iterates for constant η
    v = momentum * state.get("v", np.zeros_like(w)) - lr * dw
    return w + v, {"v": v}


def _averaged_momentum(w, dw, state, lr, momentum):   # b ← μb + (1 − μ)g: an EWMA, a different method
    b = momentum * state.get("b", np.zeros_like(w)) + (1 - momentum) * dw
    return w - lr * b, {"b": b}


def _adam_no_bias_correction(w, dw, state, lr, beta1, beta2, eps):
    m = beta1 * state.get("m", 0) + (1 - beta1) * dw
    v = beta2 * state.get("v", 0) + (1 - beta2) * dw ** 2
    return w - lr * m / (np.sqrt(v) + eps), {"m": m, "v": v}


def _adam_eps_inside(w, dw, state, lr, beta1, beta2, eps):   # ε under the root: not torch's convention
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", 0) + (1 - beta1) * dw
    v = beta2 * state.get("v", 0) + (1 - beta2) * dw ** 2
    return w - lr * (m / (1 - beta1 ** t)) / np.sqrt(v / (1 - beta2 ** t) + eps), {"t": t, "m": m, "v": v}


CHECKS = {
    "momentum": (ch.check_momentum, optimizers.sgd_momentum, [_averaged_momentum]),
    "adam": (ch.check_adam, optimizers.adam, [_adam_no_bias_correction, _adam_eps_inside]),
    "backtracking": (ch.check_backtracking, line_search.backtracking,
                     [lambda f, g, w, d, lr0, rho, c: lr0,
                      lambda f, g, w, d, lr0, rho, c: line_search.backtracking(f, g, w, d, lr0, 0.5, c)]),
    "lbfgs_direction": (ch.check_lbfgs_direction, second_order.lbfgs_direction,
                        [lambda g, S, Y: -g, lambda g, S, Y: second_order.lbfgs_direction(g, S[-1:], Y[-1:])]),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_checker_passes_reference_rejects_wrong_and_spots_stub(name):
    check, reference, wrongs = CHECKS[name]
    assert_checker(check, reference, wrongs)


def test_textbook_momentum_form_is_accepted():
    assert ch.check_momentum(_textbook_momentum)
