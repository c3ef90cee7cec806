"""course_utils.scratch.optimizers: every update rule against torch.optim, quadratics, noise, schedules.

Each rule is compared step by step with its ``torch.optim`` twin in float64 (to
1e-10, far inside the chapter's 1e-6); schedules with ``torch.optim.lr_scheduler``.
"""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import base
from course_utils.chapters import ch07_optimization as ch
from course_utils.scratch import optimizers as O
from course_utils.scratch import schedules

HYPER = {
    "gd": [dict(lr=0.01), dict(lr=0.003)],
    "momentum": [dict(lr=0.01, momentum=0.9), dict(lr=0.002, momentum=0.5, dampening=0.3)],
    "nesterov": [dict(lr=0.01, momentum=0.9), dict(lr=0.003, momentum=0.7)],
    "adagrad": [dict(lr=0.1), dict(lr=0.05, eps=1e-6, lr_decay=0.01)],
    "rmsprop": [dict(lr=0.01), dict(lr=0.003, alpha=0.9, eps=1e-3)],
    "adam": [dict(lr=0.05), dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-4)],
    "adamw": [dict(lr=0.05), dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-4, weight_decay=0.3)],
}


@pytest.mark.parametrize("surface", list(ch.SURFACES))
@pytest.mark.parametrize("name", list(O.RULES))
def test_rules_match_torch_optim(name, surface):
    surf = ch.SURFACES[surface]
    for hyper in HYPER[name]:
        if surface == "Rosenbrock" and name in ("gd", "momentum", "nesterov"):
            hyper = {**hyper, "lr": hyper["lr"] / 20}     # curvature ~1000 near the valley
        w0 = np.array(surf.starts["B"])
        mine = O.run(O.RULES[name], surf.grad, w0, 200, **hyper)
        assert not mine.diverged
        theirs = O.torch_path(name, surf.grad, w0, 200, **hyper)
        np.testing.assert_allclose(mine.points, theirs, rtol=1e-10, atol=1e-10)


def test_rules_match_torch_on_a_random_vector_problem():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((6, 6))
    H = M @ M.T / 6 + 0.1 * np.eye(6)
    w0 = rng.standard_normal(6)
    for name in O.RULES:
        mine = O.run(O.RULES[name], lambda w: H @ w + np.sin(w), w0, 100, lr=0.02)
        theirs = O.torch_path(name, lambda w: H @ w + np.sin(w), w0, 100, lr=0.02)
        np.testing.assert_allclose(mine.points, theirs, rtol=1e-10, atol=1e-12)


def test_rules_are_pure():
    w, g = np.ones(3), np.arange(3.0)
    for rule in O.RULES.values():
        state = {}
        w1, s1 = rule(w, g, state, lr=0.1)
        w2, s2 = rule(w1, g, s1, lr=0.1)
        assert np.all(w == 1) and np.all(g == np.arange(3.0)) and state == {}
        assert s1 is not s2 and w2 is not w1


def test_adamw_is_not_adam_with_l2_and_adagrad_is_not_rmsprop():
    """The torch-equality assert catches the two classic confusions (and a sign error)."""
    surf = ch.SURFACES["ill-conditioned quadratic"]
    w0 = np.array(surf.starts["B"])

    def adam_l2(w, dw, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
        return O.adam(w, dw + weight_decay * w, state, lr=lr, beta1=beta1, beta2=beta2, eps=eps)

    def adagrad_ewma(w, dw, state, lr=0.01, eps=1e-10, lr_decay=0.0):
        return O.rmsprop(w, dw, state, lr=lr, eps=eps)

    def sgd_sign_error(w, dw, state, lr=0.01):
        return w + lr * dw, dict(state)
    assert ch.rule_vs_torch("adamw", surf.grad, w0, 100, lr=0.05, weight_decay=0.3) < ch.TORCH_MATCH_TOL
    assert ch.rule_vs_torch("adamw", surf.grad, w0, 100, rule=adam_l2, lr=0.05, weight_decay=0.3) > ch.TORCH_MATCH_TOL
    assert ch.rule_vs_torch("adagrad", surf.grad, w0, 100, rule=adagrad_ewma, lr=0.1) > ch.TORCH_MATCH_TOL
    assert ch.rule_vs_torch("gd", surf.grad, w0, 100, rule=sgd_sign_error, lr=0.01) > ch.TORCH_MATCH_TOL


def test_adagrad_steps_only_shrink():
    w, state, steps = np.zeros(1), {}, []
    for _ in range(50):
        w_new, state = O.adagrad(w, np.ones(1), state, lr=0.1)
        steps.append(float((w - w_new)[0]))
        w = w_new
    np.testing.assert_allclose(steps, 0.1 / np.sqrt(np.arange(1, 51)), rtol=1e-8)


def test_torch_path_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown optimiser"):
        O.torch_path("lion", lambda w: w, np.ones(2), 3)


def test_adam_first_step_has_size_lr():
    """With bias correction, Adam's first step is lr·sign(g) (up to eps), whatever the gradient's scale."""
    for scale in (1e-6, 1.0, 1e6):
        w, _ = O.adam(np.zeros(3), scale * np.array([1.0, -2.0, 3.0]), {}, lr=0.1)
        np.testing.assert_allclose(w, -0.1 * np.array([1, -1, 1]), rtol=1e-2)


# ------------------------------------------------------------------ run()
def test_run_reports_divergence_with_the_shared_message():
    f = lambda w: 0.5 * float(w @ w)  # noqa: E731
    res = O.run(O.sgd, lambda w: w, np.ones(2), 500, loss=f, lr=3.1)   # |1 − η| = 2.1 per step
    assert res.diverged and "sgd diverged: the loss reached" in res.message
    k = len(res.points)                         # the iterate that blew up is not kept
    assert base.blew_up(f(np.ones(2) * (1 - 3.1) ** k), f(np.ones(2)))
    assert not base.blew_up(res.losses[-1], res.losses[0])
    ok = O.run(O.sgd, lambda w: w, np.ones(2), 50, loss=f, lr=0.5)
    assert not ok.diverged and ok.message == "" and len(ok.points) == len(ok.losses) == 51


def test_run_without_a_loss_watches_the_iterate():
    res = O.run(O.sgd, lambda w: w, np.ones(2), 500, lr=3.1, name="plain GD")
    assert res.diverged and res.message.startswith("plain GD diverged") and res.losses.size == 0


# ----------------------------------------------------------------- quadratics
def test_gd_step_limit_two_over_lambda_max():
    H = np.diag([1.0, 20.0])
    lr_max = 2 / 20.0
    below = O.quadratic_gd(H, np.array([1.0, 1.0]), 0.99 * lr_max, 3000)
    above = O.quadratic_gd(H, np.array([1.0, 1.0]), 1.01 * lr_max, 3000)
    assert np.linalg.norm(below.points[-1]) < 1e-10 and np.linalg.norm(above.points[-1]) > 1e10
    assert above.diverged and not below.diverged and "diverged" in above.message
    np.testing.assert_allclose(above.points[1:, 1] / above.points[:-1, 1], 1 - 1.01 * lr_max * 20.0, rtol=1e-12)
    np.testing.assert_allclose(below.losses, [0.5 * p @ H @ p for p in below.points], rtol=1e-12)


def test_preconditioning_with_the_inverse_hessian_converges_in_one_step():
    H = np.diag([1.0, 20.0])
    path = O.quadratic_gd(H, np.array([1.0, -2.0]), 1.0, 1, P=np.linalg.inv(H)).points
    np.testing.assert_allclose(path[-1], 0, atol=1e-15)


def test_minibatch_noise_follows_the_sampling_formula():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((400, 3)), rng.standard_normal(400)
    w = np.ones(3)
    g_i = X * (X @ w - y)[:, None]
    var = np.mean(np.sum((g_i - g_i.mean(0)) ** 2, axis=1))
    Bs = np.array([1, 10, 100])
    noise = O.minibatch_gradient_noise(X, y, w, Bs, rng, trials=2000)
    np.testing.assert_allclose(noise, var / Bs * (400 - Bs) / 399, rtol=0.15)


def test_noise_formula_assert_rejects_sampling_with_replacement():
    """Negative control of the notebook's assert (rtol 0.3, and zero noise at B = n): with replacement it fails."""
    rng = np.random.default_rng(0)
    n = 500
    X = rng.standard_normal((n, 5))
    y = X @ rng.standard_normal(5) + 0.5 * rng.standard_normal(n)
    w = np.zeros(5)
    g_i = X * (X @ w - y)[:, None]
    sigma2 = np.mean(np.sum((g_i - g_i.mean(axis=0)) ** 2, axis=1))
    Bs = np.array([1, 2, 5, 10, 20, 50, 100, 200, 500])
    theory = sigma2 / Bs * (n - Bs) / (n - 1)
    ok = O.minibatch_gradient_noise(X, y, w, Bs, np.random.default_rng(0), trials=100)
    bad = O.minibatch_gradient_noise(X, y, w, Bs, np.random.default_rng(0), trials=100, replace=True)
    assert np.allclose(ok[:-1], theory[:-1], rtol=0.3) and ok[-1] < 1e-20
    assert not (np.allclose(bad[:-1], theory[:-1], rtol=0.3) and bad[-1] < 1e-20)


def test_least_squares_sgd_reduces_the_loss():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    res = O.least_squares_sgd(X, y, 10, 0.1, 5, rng)
    assert res.examples_seen[-1] == 1000 and res.losses[-1] < 1e-3 * res.losses[0]
    np.testing.assert_allclose(res.weights, [1.0, -2.0, 0.5], atol=1e-2)


# ------------------------------------------------------------------ schedules
def _torch_lrs(make, steps):
    return schedules.torch_rates(make, 0.1, steps)


