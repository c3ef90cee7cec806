"""Tests for course_utils.optim (chapter 07).

Each first-order rule is compared step by step with its ``torch.optim`` twin in
float64 (to 1e-10, far inside the chapter's 1e-6); schedules with
``torch.optim.lr_scheduler``; the curve-fit Jacobian with ``torch.autograd``; the
L-BFGS two-loop recursion with the explicit BFGS matrix it stands for.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils import optim as O  # noqa: E402
from course_utils.widgets import figure_texts  # noqa: E402

HYPER = {
    "gd": [dict(lr=0.01), dict(lr=0.003)],
    "momentum": [dict(lr=0.01, momentum=0.9), dict(lr=0.002, momentum=0.5, dampening=0.3)],
    "nesterov": [dict(lr=0.01, momentum=0.9), dict(lr=0.003, momentum=0.7)],
    "rmsprop": [dict(lr=0.01), dict(lr=0.003, alpha=0.9, eps=1e-3)],
    "adam": [dict(lr=0.05), dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-4)],
}


@pytest.mark.parametrize("surface", list(O.SURFACES))
@pytest.mark.parametrize("name", list(O.RULES))
def test_rules_match_torch_optim(name, surface):
    surf = O.SURFACES[surface]
    for hyper in HYPER[name]:
        if surface == "Rosenbrock" and name in ("gd", "momentum", "nesterov"):
            hyper = {**hyper, "lr": hyper["lr"] / 20}     # curvature ~1000 near the valley
        w0 = np.array(surf.starts["B"])
        mine = O.run(O.RULES[name], surf.grad, w0, 200, **hyper)
        assert not mine.diverged
        theirs = O.torch_path(name, surf.grad, w0, 200, **hyper)
        np.testing.assert_allclose(mine.path, theirs, rtol=1e-10, atol=1e-10)


def test_rules_match_torch_on_a_random_vector_problem():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((6, 6))
    H = M @ M.T / 6 + 0.1 * np.eye(6)
    w0 = rng.standard_normal(6)
    for name in O.RULES:
        mine = O.run(O.RULES[name], lambda w: H @ w + np.sin(w), w0, 100, lr=0.02)
        theirs = O.torch_path(name, lambda w: H @ w + np.sin(w), w0, 100, lr=0.02)
        np.testing.assert_allclose(mine.path, theirs, rtol=1e-10, atol=1e-12)


def test_rules_are_pure():
    w, g = np.ones(3), np.arange(3.0)
    for rule in O.RULES.values():
        state = {}
        w1, s1 = rule(w, g, state, lr=0.1)
        w2, s2 = rule(w1, g, s1, lr=0.1)
        assert np.all(w == 1) and np.all(g == np.arange(3.0)) and state == {}
        assert s1 is not s2 and w2 is not w1


def test_torch_path_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown optimiser"):
        O.torch_path("lion", lambda w: w, np.ones(2), 3)


def test_adam_first_step_has_size_lr():
    """With bias correction, Adam's first step is lr·sign(g) (up to eps), whatever the gradient's scale."""
    for scale in (1e-6, 1.0, 1e6):
        w, _ = O.adam(np.zeros(3), scale * np.array([1.0, -2.0, 3.0]), {}, lr=0.1)
        np.testing.assert_allclose(w, -0.1 * np.array([1, -1, 1]), rtol=1e-2)


# ----------------------------------------------------------------- quadratics
def test_gd_step_limit_two_over_lambda_max():
    H = np.diag([1.0, 20.0])
    lr_max = 2 / 20.0
    below = O.quadratic_gd(H, np.array([1.0, 1.0]), 0.99 * lr_max, 3000)
    above = O.quadratic_gd(H, np.array([1.0, 1.0]), 1.01 * lr_max, 3000)
    assert np.linalg.norm(below[-1]) < 1e-10 and np.linalg.norm(above[-1]) > 1e10
    np.testing.assert_allclose(above[1:, 1] / above[:-1, 1], 1 - 1.01 * lr_max * 20.0, rtol=1e-12)


def test_preconditioning_with_the_inverse_hessian_converges_in_one_step():
    H = np.diag([1.0, 20.0])
    path = O.quadratic_gd(H, np.array([1.0, -2.0]), 1.0, 1, P=np.linalg.inv(H))
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


def test_least_squares_sgd_reduces_the_loss():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    seen, losses = O.least_squares_sgd(X, y, 10, 0.1, 5, rng)
    assert seen[-1] == 1000 and losses[-1] < 1e-3 * losses[0]


# --------------------------------------------------- averages and schedules
def test_ewma_bias_correction():
    x = np.full(50, 3.0)
    np.testing.assert_allclose(O.ewma(x, 0.9), 3.0, rtol=1e-12)
    raw = O.ewma(x, 0.9, bias_correction=False)
    np.testing.assert_allclose(raw, 3.0 * (1 - 0.9 ** np.arange(1, 51)), rtol=1e-12)


def _torch_lrs(make, steps):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


def test_schedules_match_torch_schedulers():
    S = torch.optim.lr_scheduler
    pairs = {
        "step": (dict(step_size=7, gamma=0.5), lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
        "exponential": (dict(gamma=0.95), lambda o: S.ExponentialLR(o, gamma=0.95)),
        "inverse": (dict(decay=0.1), lambda o: S.LambdaLR(o, lambda t: 1 / (1 + 0.1 * t))),
        "cosine": (dict(eta_min=0.001), lambda o: S.CosineAnnealingLR(o, T_max=40, eta_min=0.001)),
        "constant": ({}, lambda o: S.LambdaLR(o, lambda t: 1.0)),
    }
    for name, (kw, make) in pairs.items():
        np.testing.assert_allclose(O.lr_schedule(name, 0.1, 40, **kw), _torch_lrs(make, 40), rtol=1e-9, err_msg=name)
    with pytest.raises(ValueError, match="unknown schedule"):
        O.lr_schedule("warm", 0.1, 5)


# --------------------------------------------------------------- line search
def test_backtracking_satisfies_armijo_and_is_the_first_such_step():
    f = O.SURFACES["Rosenbrock"].value
    g_fn = O.SURFACES["Rosenbrock"].grad
    w = np.array([-1.2, 1.0])
    g = g_fn(w)
    lr = O.backtracking(f, g, w, -g)
    assert f(w - lr * g) <= f(w) - 1e-4 * lr * g @ g
    assert f(w - 2 * lr * g) > f(w) - 1e-4 * 2 * lr * g @ g
    with pytest.raises(ValueError, match="descent"):
        O.backtracking(f, g, w, g)


def test_wolfe_line_search_gives_positive_curvature():
    surf = O.SURFACES["Rosenbrock"]
    w = np.array([-1.0, 1.05])
    d = -surf.grad(w) / np.linalg.norm(surf.grad(w)) * 1e-3      # a far too short direction
    lr = O.wolfe_line_search(surf.value, surf.grad, w, d)
    assert surf.grad(w + lr * d) @ d >= 0.9 * surf.grad(w) @ d and lr > 1


# -------------------------------------------------------------- second order
def test_lbfgs_two_loop_equals_explicit_bfgs_matrix():
    rng = np.random.default_rng(2)
    for _ in range(10):
        d, m = int(rng.integers(2, 7)), int(rng.integers(1, 6))
        M = rng.standard_normal((d, d))
        H = M @ M.T + 0.5 * np.eye(d)
        S = [rng.standard_normal(d) for _ in range(m)]
        Y = [H @ s for s in S]
        g = rng.standard_normal(d)
        np.testing.assert_allclose(O.lbfgs_direction(g, S, Y), -O.lbfgs_matrix(S, Y) @ g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(O.lbfgs_direction(np.ones(3), [], []), -np.ones(3))


def test_bfgs_recovers_the_inverse_hessian_of_a_quadratic():
    rng = np.random.default_rng(3)
    M = rng.standard_normal((4, 4))
    H = M @ M.T + np.eye(4)
    tr = O.bfgs(lambda w: 0.5 * w @ H @ w, lambda w: H @ w, rng.standard_normal(4), 50)
    assert np.linalg.norm(tr.path[-1]) < 1e-8 and len(tr.path) < 20


@pytest.mark.parametrize("start", ["A", "B", "C"])
def test_second_order_methods_solve_rosenbrock_fast(start):
    s = O.SURFACES["Rosenbrock"]
    w0 = np.array(s.starts[start])
    for tr in (O.newton(s.value, s.grad, s.hess, w0, 100), O.bfgs(s.value, s.grad, w0, 200),
               O.lbfgs(s.value, s.grad, w0, 200)):
        assert O.steps_to_reach(tr.losses, 0.0, 1e-10) < 60
        np.testing.assert_allclose(tr.path[-1], [1, 1], atol=1e-5)


def test_surface_gradients_and_hessians_match_torch():
    rng = np.random.default_rng(4)
    for surf in O.SURFACES.values():
        for _ in range(5):
            w = rng.uniform(-1.5, 1.5, 2)
            wt = torch.tensor(w, requires_grad=True)
            f = lambda v: surf.f(v[0], v[1])  # noqa: E731, B023
            np.testing.assert_allclose(surf.grad(w), torch.autograd.grad(f(wt), wt)[0].numpy(), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(surf.hess(w), torch.autograd.functional.hessian(f, wt).numpy(), rtol=1e-12, atol=1e-12)


def test_curve_jacobian_matches_torch():
    t = np.linspace(0, 4, 11)
    theta = np.array([1.5, 0.4, 2.5])
    jac = torch.autograd.functional.jacobian(
        lambda th: th[0] * torch.exp(-th[1] * torch.tensor(t)) * torch.cos(th[2] * torch.tensor(t)), torch.tensor(theta))
    np.testing.assert_allclose(O.curve_jacobian(theta, t), jac.numpy(), rtol=1e-12, atol=1e-14)


def test_levenberg_marquardt_beats_gradient_descent_and_survives_where_gauss_newton_fails():
    t, y = O.make_curve_data(np.random.default_rng(0))
    lm = O.levenberg_marquardt(t, y, np.array([1.0, 0.3, 2.5]), 100)
    best = lm.losses[-1]
    gd = O.curve_gd(t, y, np.array([1.0, 0.3, 2.5]), 3000, lr=0.02)
    assert O.steps_to_reach(lm.losses, best, 1e-8) * 5 < O.steps_to_reach(gd.losses, best, 1e-8)
    np.testing.assert_allclose(lm.path[-1], [2.0, 0.6, 3.0], atol=0.1)
    gn = O.levenberg_marquardt(t, y, np.array([1.0, 1.0, 2.0]), 30, mu=0.0)
    lm2 = O.levenberg_marquardt(t, y, np.array([1.0, 1.0, 2.0]), 100)
    assert not np.isfinite(gn.losses[-1]) and abs(lm2.losses[-1] - best) < 1e-9


# -------------------------------------------------------------------- widget
@pytest.mark.parametrize("surface", list(O.SURFACES))
@pytest.mark.parametrize("optimizer", list(O.RULES))
def test_widget_extremes(surface, optimizer):
    big = " ".join(figure_texts(O.draw_optimizer(surface, optimizer, log_lr=0.5, beta=0.99, start="C")))
    small = " ".join(figure_texts(O.draw_optimizer(surface, optimizer, log_lr=-4.0, beta=0.0, start="A")))
    assert "too large" not in small and "gap" in small
    if optimizer in ("gd", "momentum", "nesterov"):
        assert "learning rate too large" in big and "diverged after" in big


def test_widget_never_raises_on_any_start():
    for surface in O.SURFACES:
        for start in "ABC":
            assert figure_texts(O.draw_optimizer(surface, "adam", log_lr=-1.0, start=start))


# -------------------------------------------------------------------- checks
def _stub(*args, **kwargs):
    raise NotImplementedError


def test_check_momentum():
    assert O.check_momentum(O.sgd_momentum)

    def textbook(w, dw, state, lr, momentum):   # v ← μv − η g, w ← w + v: the same iterates for constant η
        v = momentum * state.get("v", np.zeros_like(w)) - lr * dw
        return w + v, {"v": v}
    assert O.check_momentum(textbook)

    def averaged(w, dw, state, lr, momentum):   # b ← μb + (1 − μ)g: an EWMA, a different method
        b = momentum * state.get("b", np.zeros_like(w)) + (1 - momentum) * dw
        return w - lr * b, {"b": b}
    r = O.check_momentum(averaged)
    assert r.attempted and not r
    assert "not written" in O.check_momentum(_stub).message


def test_check_adam():
    assert O.check_adam(O.adam)

    def no_bias_correction(w, dw, state, lr, beta1, beta2, eps):
        m = beta1 * state.get("m", 0) + (1 - beta1) * dw
        v = beta2 * state.get("v", 0) + (1 - beta2) * dw ** 2
        return w - lr * m / (np.sqrt(v) + eps), {"m": m, "v": v}
    r = O.check_adam(no_bias_correction)
    assert r.attempted and not r
    assert "not written" in O.check_adam(_stub).message


def test_check_backtracking():
    assert O.check_backtracking(O.backtracking)
    r = O.check_backtracking(lambda f, g, w, d, lr0, rho, c: lr0)
    assert r.attempted and not r
    assert "not written" in O.check_backtracking(_stub).message


def test_check_lbfgs_direction():
    assert O.check_lbfgs_direction(O.lbfgs_direction)
    r = O.check_lbfgs_direction(lambda g, S, Y: -g)
    assert r.attempted and not r
    assert "not written" in O.check_lbfgs_direction(_stub).message
