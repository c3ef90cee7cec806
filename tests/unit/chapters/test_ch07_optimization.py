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


def _backtracking_shrinks_first(f, g, w, d, lr0, rho, c):   # a do-while loop: never tries lr0 itself
    f0, lr = f(w), lr0
    while True:
        lr *= rho
        if f(w + lr * d) <= f0 + c * lr * float(g @ d):
            return lr


@pytest.mark.parametrize("wrong", [*CHECKS["backtracking"][2], _backtracking_shrinks_first],
                         ids=["never shrinks", "rho fixed at 0.5", "shrinks first"])
def test_backtracking_check_catches_each_wrong_search_every_time(wrong):
    """rho was one of 0.5, 0.3, 0.8 and lr0 needed no shrinking in 4 % of draws: the search with rho fixed at
    0.5 passed about 1 in 3,000 checks and the one that shrinks before its first test 70 % of them. The first
    trial now accepts lr0 as it is, the next three must shrink it, and rho is continuous: two trials suffice."""
    for trials in (2, 8):
        passed = sum(bool(ch.check_backtracking(wrong, trials=trials)) for _ in range(300))
        assert passed == 0, f"the wrong search passed {passed} of 300 {trials}-trial checks"


# -------------------------------------------- negative controls of the notebook's asserts
def test_gd_limit_assert_passes_below_and_fails_above():
    H, w0 = np.diag([1.0, 20.0]), np.array([1.5, 1.0])
    assert ch.gd_final_error(H, w0, 0.99 * 2 / 20, 2000) < ch.CONVERGED
    assert not ch.gd_final_error(H, w0, 1.01 * 2 / 20, 2000) < ch.CONVERGED
    assert ch.gd_final_error(H, w0, 1.01 * 2 / 20, 2000) > ch.DIVERGED


def test_rate_prediction_assert_fails_for_a_suboptimal_step():
    kappas = [2, 5, 10, 20, 50, 100]
    measured, predicted = ch.condition_number_steps(kappas)
    assert all(abs(m - p) <= 1 for m, p in zip(measured, predicted))
    measured, predicted = ch.condition_number_steps(kappas, lr_rule=lambda lo, hi: 1 / hi)
    assert not all(abs(m - p) <= 1 for m, p in zip(measured, predicted))


def test_momentum_constant_gradient_assert_fails_with_dampening():
    run = optimizers.run(optimizers.sgd_momentum, lambda w: np.ones(1), np.zeros(1), 200, lr=0.1, momentum=0.9,
                         dampening=0.9)
    steps = -np.diff(run.points[:, 0]) / 0.1
    assert not np.isclose(steps[-1], 10, rtol=1e-8)


def test_classic_nesterov_equals_pytorch_form_but_not_heavy_ball():
    surf = ch.SURFACES["Rosenbrock"]
    w0 = np.array(surf.starts["A"])
    classic = optimizers.classic_nesterov(surf.grad, w0, 5e-4, 0.9, 100)
    nest = optimizers.run(optimizers.nesterov, surf.grad, w0, 100, lr=5e-4, momentum=0.9).points
    heavy = optimizers.run(optimizers.sgd_momentum, surf.grad, w0, 100, lr=5e-4, momentum=0.9).points
    assert np.allclose(classic, nest, rtol=1e-10, atol=1e-12)
    assert not np.allclose(classic, heavy, rtol=1e-10, atol=1e-12)


def test_stability_assert_fails_for_the_wrong_limits():
    assert all(b and not a for b, a in ch.stability_table([0.5]).values())
    shared = ch.stability_table([0.5], limit=lambda mu, lam, nesterov: ch.momentum_lr_limit(mu, lam))
    assert not all(b and not a for b, a in shared.values())     # "Nesterov shares heavy ball's limit"
    gd_only = ch.stability_table([0.5], limit=lambda mu, lam, nesterov: 2 / lam)
    assert not all(b and not a for b, a in gd_only.values())    # "momentum keeps GD's limit"


def test_adam_ratio_asserts():
    ratios = ch.adam_step_ratios(steps=200)
    for name, (cm, cv) in ch.ADAM_VARIANTS.items():
        assert np.isclose(ratios[name][0], ch.adam_first_step_ratio(correct_m=cm, correct_v=cv), rtol=1e-12)
    assert np.isclose(ratios["neither corrected"][0], np.sqrt(10), rtol=1e-6)
    # the old claim ("≈ 30 times too large") holds only for a corrected m over an uncorrected v
    assert np.isclose(ratios["only m corrected"][0], 30, rtol=0.2) and not np.isclose(ratios["neither corrected"][0], 30, rtol=0.2)
    assert not np.isclose(ratios["neither corrected"][0], 0.1 / 0.999, rtol=1e-3)   # a formula without the square root


def _identity_hessian(w):
    return np.eye(len(w))


def test_rosenbrock_race_assert_fails_for_newton_without_curvature():
    s = ch.SURFACES["Rosenbrock"]
    w0 = np.array(s.starts["A"])
    real = second_order.newton(s.value, s.grad, s.hess, w0, 100)
    fake = second_order.newton(s.value, s.grad, _identity_hessian, w0, 100)
    assert optimizers.steps_to_reach(real.losses, 0.0, 1e-10) < 30
    assert not optimizers.steps_to_reach(fake.losses, 0.0, 1e-10) < 30


def _unscaled(g, S, Y):
    """The two-loop recursion with H₀ = I instead of γI (a plausible omission)."""
    q, alphas = np.array(g, dtype=float), []
    for s, y in zip(reversed(S), reversed(Y)):
        a = (s @ q) / (y @ s)
        alphas.append(a)
        q = q - a * y
    r = q
    for (s, y), a in zip(zip(S, Y), reversed(alphas)):
        r = r + s * (a - (y @ r) / (y @ s))
    return -r


def test_torch_lbfgs_direction_assert_fails_without_the_gamma_scaling():
    s = ch.SURFACES["Rosenbrock"]
    good = ch.torch_lbfgs(s, np.array(s.starts["A"]), 15)
    bad = ch.torch_lbfgs(s, np.array(s.starts["A"]), 15, two_loop=_unscaled)
    assert good.direction_error < 1e-10 < bad.direction_error


def test_curve_fit_and_gauss_newton_story_asserts():
    t, y = ch.make_curve_data(np.random.default_rng(0))
    r, J = ch.curve_problem(t, y)
    bad = np.array([1.0, 1.0, 2.0])
    gn = second_order.gauss_newton(r, J, bad, 30)
    lm = second_order.levenberg_marquardt(r, J, bad, 100)
    assert ch.jtj_condition(J, bad) < 10
    assert ch.first_increase(gn.losses) == 2 and ch.first_negative(gn.points[:, 1]) == 4
    # the same asserts applied to LM fail: it never raises the loss and b stays positive
    assert ch.first_increase(lm.losses) is None and ch.first_negative(lm.points[:, 1]) is None
    gd = second_order.least_squares_gd(r, J, np.array([1.0, 0.3, 2.5]), 1000, 0.055)
    best = second_order.levenberg_marquardt(r, J, np.array([1.0, 0.3, 2.5]), 100).losses[-1]
    k = optimizers.steps_to_reach(gd.losses, best, 1e-8)
    assert not k * 5 < k                                  # GD in place of LM fails "LM × 5 < GD"


def _fake_run(loss):
    return ch.NetworkRun([1.0, loss], 0.9, 20, False)


def test_race_findings_hold_for_the_measured_pattern_and_fail_otherwise():
    full = {name: _fake_run(v) for name, v in [("SGD", 0.18), ("Adam", 0.045), ("L-BFGS", 0.0104)]}
    mini = {name: _fake_run(v) for name, v in [("SGD", 0.032), ("Adam", 0.005), ("L-BFGS", 0.0093)]}
    assert all(ch.race_findings(full, mini).values())
    lbfgs_is_sgd = {**full, "L-BFGS": full["SGD"]}
    assert not ch.race_findings(lbfgs_is_sgd, mini)["full batch: L-BFGS < 0.6 × best first-order"]
    assert not ch.race_findings(full, full)["minibatches: SGD and Adam < 0.25 × their full batch"]
    diverged = {**mini, "Adam": ch.NetworkRun([1.0, 1e12], 0.1, 20, True)}
    assert not ch.race_findings(full, diverged)["nothing diverged"]


def test_train_digits_mlp_counts_gradients_and_learns():
    tensors = ch.digits_tensors(0)
    sgd = ch.train_digits_mlp("SGD", None, 3, tensors)
    assert sgd.gradient_evaluations == 3 and len(sgd.losses) == 4 and sgd.losses[-1] < sgd.losses[0]
    lbfgs = ch.train_digits_mlp("L-BFGS", None, 3, tensors)
    assert lbfgs.gradient_evaluations >= 3 and lbfgs.losses[-1] < lbfgs.losses[0]
    mini = ch.train_digits_mlp("Adam", 64, 1, tensors)
    assert mini.gradient_evaluations == int(np.ceil(len(tensors[0]) / 64))
    with pytest.raises(ValueError, match="unknown optimiser"):
        ch.make_torch_optimizer("Lion", [], 0.1)


# -------------------------------------------------------- exercises of other kinds
def test_check_nesterov_limit():
    right = ch.momentum_lr_limit(ch.DERIVE_MU, ch.DERIVE_LAM, nesterov=True)
    heavy = ch.momentum_lr_limit(ch.DERIVE_MU, ch.DERIVE_LAM)
    assert_checker(ch.check_nesterov_limit, lambda: right, [lambda: heavy, lambda: 2 / ch.DERIVE_LAM, lambda: None,
                                                            lambda: float("nan"), lambda: [right, right]])
    assert "heavy ball" in ch.check_nesterov_limit(lambda: heavy).message
    assert "plain gradient descent" in ch.check_nesterov_limit(lambda: 2 / ch.DERIVE_LAM).message


def test_check_momentum_steps_prediction():
    measured = ch.heavy_ball_steps()
    assert 85 <= measured <= 105
    assert_checker(ch.check_momentum_steps_prediction, lambda: 69, [lambda: 691, lambda: 10, lambda: None])
    assert ch.check_momentum_steps_prediction(lambda: measured)
    assert "691" in ch.check_momentum_steps_prediction(lambda: 691).message


def _choice(lr, momentum):
    return lambda: dict(lr=lr, momentum=momentum)


def test_check_design():
    assert_checker(ch.check_design, _choice(*optimizers.tuned_heavy_ball(1.0, ch.DESIGN_KAPPA)),
                   [_choice(2 / 101, 0.0), _choice(0.05, 0.5), _choice(0.03, 0.5), lambda: 3, lambda: None,
                    _choice(-0.1, 0.5), _choice(0.01, 1.5), lambda: (0.03, 0.7), _choice("fast", 0.7)])
    assert "orders of magnitude short" in ch.check_design(dict(lr=2 / 101, momentum=0.0)).message
    assert "unstable" in ch.check_design(dict(lr=0.05, momentum=0.5)).message
    assert ch.check_design(dict(lr=0.025, momentum=0.7))       # the target is reachable with other pairs too
    assert not ch.check_design(dict(lr=..., momentum=...)).attempted
    assert not ch.check_design(...).attempted


def test_value_answers_of_the_derive_and_predict_exercises():
    assert ch.check_nesterov_limit(ch.momentum_lr_limit(ch.DERIVE_MU, ch.DERIVE_LAM, nesterov=True))
    assert not ch.check_nesterov_limit(0.9) and not ch.check_nesterov_limit(...).attempted
    assert ch.check_momentum_steps_prediction(80) and not ch.check_momentum_steps_prediction(691)
    assert not ch.check_momentum_steps_prediction(...).attempted


def test_book_frames_include_a_diverging_learning_rate():
    """The widget's static (book) values of log₁₀ η include one where GD and momentum diverge on the quadratic."""
    import json
    import re

    from helpers import ROOT

    cells = json.loads((ROOT / "notebooks" / "07_optimization.ipynb").read_text(encoding="utf-8"))["cells"]
    widget = next("".join(c["source"]) for c in cells if "ch.draw_optimizer," in "".join(c["source"]))
    static = [float(v) for v in re.search(r"log_lr=Slider\([^)]*static=\[([^\]]*)\]", widget).group(1).split(",")]
    diverging = [v for v in static
                 if "learning rate too large" in " ".join(figure_texts(ch.draw_optimizer("ill-conditioned quadratic", "gd",
                                                                                        log_lr=v)))]
    assert diverging, f"no static log_lr in {static} makes GD diverge"
    assert "learning rate too large" in " ".join(figure_texts(ch.draw_optimizer(optimizer="momentum", log_lr=diverging[0])))


def test_preconditioning_ewma_and_batch_size_asserts_can_fail():
    from course_utils import base

    H = np.diag([1.0, 20.0])
    w0 = np.array([-1.8, 1.0])
    assert np.linalg.norm(optimizers.quadratic_gd(H, w0, 1.0, 1, P=np.diag(1 / np.diag(H))).points[1]) < 1e-14
    assert not np.linalg.norm(optimizers.quadratic_gd(H, w0, 1.0, 1).points[1]) < 1e-14     # no preconditioner
    signal = 5 + np.random.default_rng(0).standard_normal(20)
    assert base.ewma(signal, 0.9)[0] == signal[0] and base.ewma(signal, 0.9, bias_correction=False)[0] != signal[0]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 5))
    y = X @ rng.standard_normal(5) + 0.5 * rng.standard_normal(500)
    stochastic = optimizers.least_squares_sgd(X, y, 1, 0.05, 3, np.random.default_rng(0))
    full = optimizers.least_squares_sgd(X, y, 500, 0.05, 3, np.random.default_rng(0))
    assert np.mean(np.diff(stochastic.losses[-500:]) > 0) > 0.3 and not np.all(np.diff(stochastic.losses) < 0)
    assert np.all(np.diff(full.losses) < 0) and not np.mean(np.diff(full.losses) > 0) > 0.3


def test_plain_gd_cannot_reach_the_design_target():
    """Exercise 7's prose: plain GD ends near 0.9 at 2/101 and no constant rate gets below about 0.01."""
    gd = ch.plain_gd_on_design()
    assert 0.85 < gd["at 2/101"] < 0.95 and 0.009 < gd["best"] < 0.012
    assert gd["best"] > 1e6 * ch.DESIGN_TARGET  # far from the target momentum reaches
    assert ch.design_loss(0.04, 0.0)[1]           # past 2/λ_max = 0.02 plain GD diverges
