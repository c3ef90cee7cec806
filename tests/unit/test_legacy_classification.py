"""Chapter 04: every from-scratch piece against its PyTorch twin (float64), widgets at their extremes, checks."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_checker  # noqa: E402

from course_utils import checks
from course_utils import classification as C
from course_utils.scratch.layers import logsumexp
from course_utils.widgets import figure_texts


def _text(fig) -> str:
    return " | ".join(figure_texts(fig))


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ------------------------------------------------------------------ binary BCE
@pytest.mark.parametrize("seed", range(6))
def test_sigmoid_bce_equals_torch_forward_and_backward(seed):
    rng = np.random.default_rng(seed)
    shape = [(int(rng.integers(1, 30)),), (int(rng.integers(1, 20)), int(rng.integers(1, 5)))][seed % 2]
    z = rng.standard_normal(shape) * rng.choice([1.0, 30.0, 1000.0])
    t = rng.integers(0, 2, shape).astype(np.float64)
    zt = _t(z, True)
    ref = F.binary_cross_entropy_with_logits(zt, _t(t))
    ref.backward()
    loss, dz = C.sigmoid_bce(z, t)
    assert np.isfinite(loss) and loss == pytest.approx(ref.item(), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(dz, zt.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("seed", range(5))
def test_logistic_gradient_equals_autograd(seed):
    rng = np.random.default_rng(seed)
    w, b, X, y = C._binary_problem(rng)
    wt, bt = _t(w, True), _t(b, True)
    p = torch.sigmoid(_t(X) @ wt + bt)
    yt = _t(y)
    loss = -(yt * torch.log(p) + (1 - yt) * torch.log(1 - p)).mean()  # the textbook formula
    loss.backward()
    value, gw, gb = C.logistic_loss_grad(w, b, X, y)
    assert value == pytest.approx(loss.item(), rel=1e-10)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert gb == pytest.approx(bt.grad.item(), rel=1e-10, abs=1e-13)
    gw2, gb2 = C.bce_gradient(w, b, X, y)
    np.testing.assert_allclose(gw2, gw)
    # the closed form X^T (sigma(Xw + b) - y) / n
    np.testing.assert_allclose(gw, X.T @ (1 / (1 + np.exp(-(X @ w + b))) - y) / len(y), rtol=1e-10, atol=1e-13)


def test_multilabel_gradient_equals_autograd():
    rng = np.random.default_rng(3)
    X, Y, _ = C.make_multilabel(50, rng)
    W, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    Wt, bt = _t(W, True), _t(b, True)
    loss = F.binary_cross_entropy_with_logits(_t(X) @ Wt + bt, _t(Y))
    loss.backward()
    value, gW, gb = C.logistic_loss_grad(W, b, X, Y)
    assert value == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(gW, Wt.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gb, bt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_logistic_train_equals_torch_sgd_and_detects_divergence():
    X, y = C.shared_gaussian_data(80, np.random.default_rng(0))
    res = C.logistic_train(X, y, lr=0.7, epochs=15)
    wt = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    bt = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([wt, bt], lr=0.7)
    for _ in range(15):
        opt.zero_grad()
        F.binary_cross_entropy_with_logits(_t(X) @ wt + bt, _t(y)).backward()
        opt.step()
    np.testing.assert_allclose(res.w, wt.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert res.b == pytest.approx(bt.item(), rel=1e-10)
    assert not res.diverged and res.losses.shape == (16,) and np.all(np.diff(res.losses) < 0)
    # below 2/L the loss falls at every step (descent lemma); far above it, it rises
    safe = C.logistic_train(X, y, lr=0.99 * C.logistic_max_lr(X), epochs=40)
    assert np.all(np.diff(safe.losses) <= 1e-15)
    bad = C.logistic_train(X, y, lr=200.0, epochs=10)
    assert bad.diverged and "diverged" in bad.message
    with pytest.raises(ValueError):
        C.logistic_train(X, y, lr=0.0)


# -------------------------------------------------- generative vs discriminative
def test_gaussian_density_and_posterior_equal_torch_distributions():
    rng = np.random.default_rng(1)
    mu0, mu1 = rng.standard_normal(3), rng.standard_normal(3)
    A = rng.standard_normal((3, 3))
    cov = A @ A.T + 0.5 * np.eye(3)
    X = rng.standard_normal((40, 3)) * 2
    d0 = torch.distributions.MultivariateNormal(_t(mu0), covariance_matrix=_t(cov))
    d1 = torch.distributions.MultivariateNormal(_t(mu1), covariance_matrix=_t(cov))
    np.testing.assert_allclose(C.gaussian_log_density(X, mu0, cov), d0.log_prob(_t(X)).numpy(), rtol=1e-12)
    prior1 = 0.3
    l0 = d0.log_prob(_t(X)) + np.log(1 - prior1)
    l1 = d1.log_prob(_t(X)) + np.log(prior1)
    ref = torch.softmax(torch.stack([l0, l1], 1), 1)[:, 1].numpy()
    post = C.bayes_posterior(X, mu0, mu1, cov, prior1)
    np.testing.assert_allclose(post, ref, rtol=1e-11, atol=1e-14)
    # shared covariance: the posterior is exactly a logistic function of a linear score
    w, b = C.gaussian_posterior_weights(mu0, mu1, cov, prior1)
    np.testing.assert_allclose(post, torch.sigmoid(_t(X @ w + b)).numpy(), rtol=1e-11, atol=1e-14)


def test_fit_shared_gaussian_recovers_parameters_and_agrees_with_logistic():
    X, y = C.shared_gaussian_data(20000, np.random.default_rng(2), prior1=0.3)
    mu0, mu1, cov, p1 = C.fit_shared_gaussian(X, y)
    np.testing.assert_allclose(mu0, [0, 0], atol=0.05)
    np.testing.assert_allclose(mu1, [2, 1], atol=0.05)
    np.testing.assert_allclose(cov, [[1, 0.5], [0.5, 1.5]], atol=0.05)
    assert p1 == pytest.approx(0.3, abs=0.02)
    w_true, b_true = C.gaussian_posterior_weights([0, 0], [2, 1], [[1, 0.5], [0.5, 1.5]], 0.3)
    disc = C.glm_fit("logistic", C.add_intercept(X), y, "newton", steps=15)
    np.testing.assert_allclose(disc.w, np.r_[b_true, w_true], atol=0.15)


# --------------------------------------------------------------- softmax regression
@pytest.mark.parametrize("seed", range(5))
def test_softmax_regression_equals_autograd(seed):
    rng = np.random.default_rng(seed)
    W, b, X, y = C._softmax_problem(rng)
    wd = [0.0, 0.1][seed % 2]
    Wt, bt = _t(W, True), _t(b, True)
    loss = F.cross_entropy(_t(X) @ Wt + bt, torch.as_tensor(y)) + 0.5 * wd * (Wt ** 2).sum()
    loss.backward()
    value, dW, db = C.softmax_regression_loss_grad(W, b, X, y, weight_decay=wd)
    assert value == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(dW, Wt.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(db, bt.grad.numpy(), rtol=1e-10, atol=1e-14)
    # the closed form X^T (P - Y) / n
    P = torch.softmax(_t(X @ W + b), 1).numpy()
    np.testing.assert_allclose(C.softmax_regression_grad(W, b, X, y)[0], X.T @ (P - C.one_hot(y, len(b))) / len(y),
                               rtol=1e-10, atol=1e-14)


def test_one_hot_and_standardize():
    assert C.one_hot(np.array([3, 0, 2]), 4).tolist() == [[0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 1, 0]]
    np.testing.assert_array_equal(C.one_hot(np.array([1, 0]), 2), F.one_hot(torch.tensor([1, 0]), 2).numpy())
    with pytest.raises(ValueError):
        C.one_hot(np.array([0, 4]), 4)
    rng = np.random.default_rng(0)
    A, B = rng.normal(3, 2, (50, 3)), rng.normal(3, 2, (10, 3))
    A[:, 2] = 1.0
    As, Bs = C.standardize(A, B)
    np.testing.assert_allclose(As.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(As[:, :2].std(0), 1, rtol=1e-12)
    np.testing.assert_allclose(Bs, (B - A.mean(0)) / np.where(A.std(0) > 0, A.std(0), 1))


def test_softmax_train_equals_torch_minibatch_sgd():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((45, 4)), rng.integers(0, 3, 45)
    res = C.softmax_train(X, y, 3, lr=0.3, epochs=3, batch_size=8, rng=np.random.default_rng(5), weight_decay=0.01)
    lin = torch.nn.Linear(4, 3, dtype=torch.float64)
    torch.nn.init.zeros_(lin.weight)
    torch.nn.init.zeros_(lin.bias)
    opt = torch.optim.SGD(lin.parameters(), lr=0.3)
    order_rng = np.random.default_rng(5)
    for _ in range(3):
        order = order_rng.permutation(45)
        for s in range(0, 45, 8):
            idx = torch.as_tensor(order[s:s + 8])
            opt.zero_grad()
            (F.cross_entropy(lin(_t(X)[idx]), torch.as_tensor(y)[idx]) + 0.005 * (lin.weight ** 2).sum()).backward()
            opt.step()
    np.testing.assert_allclose(res.W, lin.weight.detach().numpy().T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.b, lin.bias.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_softmax_regression_learns_digits():
    from course_utils.data import load_digits, split

    X, y = load_digits()
    s = split(X, y, np.random.default_rng(1))
    Xtr, Xte = C.standardize(s.X_train, s.X_test)
    res = C.softmax_train(Xtr, s.y_train, 10, lr=0.1, epochs=15, rng=np.random.default_rng(0),
                          X_val=Xte, y_val=s.y_test)
    assert res.val_acc[-1] > 0.93 and res.train_loss[-1] < res.train_loss[0]


# ----------------------------------------------------------------------- GLMs
@pytest.mark.parametrize("kind", ["linear", "logistic", "poisson"])
def test_glm_loss_gradient_hessian_equal_autograd(kind):
    rng = np.random.default_rng({"linear": 0, "logistic": 1, "poisson": 2}[kind])
    X = C.add_intercept(rng.uniform(-1, 1, (60, 2)))
    w = 0.7 * rng.standard_normal(3)
    y = {"linear": rng.standard_normal(60), "logistic": rng.integers(0, 2, 60).astype(float),
         "poisson": rng.poisson(2.0, 60).astype(float)}[kind]

    def torch_loss(wt):
        z = _t(X) @ wt
        if kind == "linear":
            return 0.5 * F.mse_loss(z, _t(y))
        if kind == "logistic":
            return F.binary_cross_entropy_with_logits(z, _t(y))
        return torch.nn.PoissonNLLLoss(log_input=True, full=False)(z, _t(y))

    wt = _t(w, True)
    loss = torch_loss(wt)
    loss.backward()
    value, grad = C.glm_loss_grad(kind, w, X, y)
    assert value == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(grad, wt.grad.numpy(), rtol=1e-10, atol=1e-14)
    H = torch.autograd.functional.hessian(torch_loss, _t(w)).numpy()
    np.testing.assert_allclose(C.glm_hessian(kind, w, X), H, rtol=1e-10, atol=1e-14)
    assert np.all(np.linalg.eigvalsh(H) >= -1e-12)  # convex


def test_poisson_fit_newton_gd_and_torch_lbfgs_agree():
    X, y = C.make_counts(400, np.random.default_rng(0))
    newton = C.glm_fit("poisson", X, y, "newton", steps=12)
    gd = C.glm_fit("poisson", X, y, "gd", lr=0.3, steps=400)
    assert newton.grad_norms[-1] < 1e-10 and not gd.diverged
    np.testing.assert_allclose(gd.w, newton.w, atol=1e-6)
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=200, tolerance_grad=1e-12, tolerance_change=1e-15,
                            line_search_fn="strong_wolfe")
    loss_fn = torch.nn.PoissonNLLLoss(log_input=True)

    def closure():
        opt.zero_grad()
        loss = loss_fn(_t(X) @ w, _t(y))
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(newton.w, w.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(newton.w, [0.5, 0.8, -0.4], atol=0.15)
    assert C.poisson_nll(newton.w, X, y)[0] == pytest.approx(newton.losses[-1])
    # the linear GLM's Newton step is the least-squares solution in one step
    yl = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * np.random.default_rng(1).standard_normal(len(X))
    lin = C.glm_fit("linear", X, yl, "newton", steps=1)
    np.testing.assert_allclose(lin.w, np.linalg.lstsq(X, yl, rcond=None)[0], atol=1e-12)


def test_glm_fit_reports_divergence_and_bad_arguments():
    X, y = C.make_counts(200, np.random.default_rng(0))
    bad = C.glm_fit("poisson", X, y, "gd", lr=2.0, steps=100)
    assert bad.diverged and "diverged" in repr(bad)
    with pytest.raises(ValueError):
        C.glm_fit("gamma", X, y)
    with pytest.raises(ValueError):
        C.glm_fit("poisson", X, y, method="adam")


# ---------------------------------------------------------------------- figures
def test_temperature_widget_extremes():
    t_small, t_one, t_big = (_text(C.draw_temperature(T)) for T in (0.05, 1.0, 5.0))
    assert "arg-max" in t_small and "1.00" in t_small
    assert "uniform" in t_big
    assert "entropy" in t_one and "arg-max" not in t_one
    for bad in (0.0, -1.0, float("nan")):
        assert "must be positive" in _text(C.draw_temperature(bad))


def test_logistic_widget_extremes():
    assert "diverged" in _text(C.draw_logistic_training(epoch=60, lr=30.0))
    ok = _text(C.draw_logistic_training(epoch=60, lr=1.0))
    assert "accuracy" in ok and "diverged" not in ok
    assert "no boundary yet" in _text(C.draw_logistic_training(epoch=0, lr=1.0))
    assert "must be positive" in _text(C.draw_logistic_training(lr=0.0))
    assert "epoch" in _text(C.draw_logistic_training(epoch=-1))
    assert "accuracy" in _text(C.draw_logistic_training(epoch=80, lr=0.3))  # beyond max_epochs still draws


def test_plots_return_figures_and_axes():
    fig = C.plot_sigmoid_and_bce()
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "logit $z$"
    X, y = C.shared_gaussian_data(30, np.random.default_rng(0))
    ax, _ = C.plot_probability_map(X, y, np.array([1.0, 0.0]), 0.0)
    assert ax.get_xlabel() == "$x_1$"
    assert C.plot_posterior_comparison(np.linspace(0, 1, 5), {"a": np.zeros(5)}).get_legend() is not None
    Xc, yc = C.make_counts(30, np.random.default_rng(0))
    assert C.plot_poisson_fit(Xc[:, 1], yc, {"fit": np.ones(30)}).get_ylabel() == "count"
    fig = C.plot_templates(np.arange(640.0).reshape(64, 10) - 320)
    assert [f"class {c}" for c in range(10)] == [t for t in figure_texts(fig) if t.startswith("class")]
    assert fig.axes[0].images[0].get_clim() == (-320.0, 320.0)  # symmetric: white means 0


# ----------------------------------------------------------------------- checks
def _bce_grad_sum(w, b, X, y):  # forgets to divide by n
    p = 1 / (1 + np.exp(-(X @ w + b)))
    return X.T @ (p - y), float(np.sum(p - y))


def _bce_grad_sign(w, b, X, y):  # the gradient of the log-likelihood (the seed's sign slip)
    p = 1 / (1 + np.exp(-(X @ w + b)))
    return X.T @ (y - p) / len(y), float(np.mean(y - p))


def _lse_naive(z):
    return np.log(np.sum(np.exp(z), axis=-1))


def _lse_wrong_axis(z):
    m = np.max(z)
    return m + np.log(np.sum(np.exp(z - m), axis=-1))  # a global max underflows other rows


def _softmax_grad_no_mean(W, b, X, y):
    Z = X @ W + b
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    P[np.arange(len(y)), y] -= 1
    return X.T @ P, P.sum(0)


def _softmax_grad_no_onehot(W, b, X, y):
    Z = X @ W + b
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    return X.T @ P / len(y), P.mean(0)


def _poisson_identity_link(w, X, y):
    z = X @ w
    return float(np.mean(z - y * z)), X.T @ (1 - y) / len(y)


def _poisson_no_gradient_mean(w, X, y):
    z = X @ w
    return float(np.mean(np.exp(z) - y * z)), X.T @ (np.exp(z) - y)


@pytest.mark.parametrize("check, reference, wrongs", [
    (C.check_bce_gradient, C.bce_gradient, [_bce_grad_sum, _bce_grad_sign]),
    (C.check_logsumexp, lambda z: logsumexp(z, axis=-1), [_lse_naive, _lse_wrong_axis]),
    (C.check_softmax_gradient, C.softmax_regression_grad, [_softmax_grad_no_mean, _softmax_grad_no_onehot]),
    (C.check_poisson_nll, C.poisson_nll, [_poisson_identity_link, _poisson_no_gradient_mean]),
])
def test_checks_pass_reference_fail_wrong_and_spot_stubs(check, reference, wrongs):
    assert_checker(check, reference, wrongs)


def test_check_messages_say_what_is_wrong():
    with np.errstate(all="ignore"):
        assert "NaN/inf" in C.check_logsumexp(_lse_naive).message
    assert "is wrong" in C.check_bce_gradient(_bce_grad_sign).message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        C.check_softmax_gradient(_softmax_grad_no_onehot)
    assert C.check_softmax_gradient(C.softmax_regression_grad)
