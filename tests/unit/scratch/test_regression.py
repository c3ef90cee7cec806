"""course_utils.scratch.regression against PyTorch, scikit-learn or an exact closed form."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.scratch import regression


def _problem(seed: int, n: int | None = None, d: int | None = None):
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(10, 60))
    d = d if d is not None else int(rng.integers(1, 6))
    X = regression.with_bias(rng.standard_normal((n, d)))
    return rng, X, rng.standard_normal(n)


def _linear_data(n: int, d: int, rng: np.random.Generator, noise: float = 0.5):
    """``X`` (n, d) standard normal, ``y = [1, X] theta + noise``, ``theta`` standard normal."""
    X = rng.standard_normal((n, d))
    theta = rng.standard_normal(d + 1)
    return X, regression.with_bias(X) @ theta + noise * rng.standard_normal(n), theta


# ---------------------------------------------------------------- features
@pytest.mark.parametrize("degree", [0, 1, 2, 5, 9])
def test_polynomial_features_equal_torch_vander(degree):
    x = np.random.default_rng(degree).uniform(-2, 2, 17)
    expected = torch.vander(torch.tensor(x), N=degree + 1, increasing=True).numpy()
    got = regression.polynomial_features(x, degree)
    assert got.shape == (17, degree + 1) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    with pytest.raises(ValueError):
        regression.polynomial_features(x, -1)


def test_with_bias_prepends_ones():
    X = np.arange(6.0).reshape(3, 2)
    A = regression.with_bias(X)
    assert A.shape == (3, 3) and np.all(A[:, 0] == 1) and np.all(A[:, 1:] == X)
    assert regression.with_bias(np.arange(3.0)).shape == (3, 2)


# ------------------------------------------------------------------ solvers
@pytest.mark.parametrize("seed", range(6))
def test_least_squares_solvers_equal_torch_lstsq(seed):
    _, X, y = _problem(seed)
    ref = torch.linalg.lstsq(torch.tensor(X), torch.tensor(y)[:, None]).solution[:, 0].numpy()
    for solver in (regression.normal_equations, regression.lstsq_qr, regression.ridge_fit):
        np.testing.assert_allclose(solver(X, y), ref, rtol=1e-9, atol=1e-11)
    # The optimality condition: the residual is orthogonal to every column.
    np.testing.assert_allclose(X.T @ (y - X @ ref), 0, atol=1e-10)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("penalize_bias", [False, True])
def test_ridge_closed_form_equals_torch_solve_and_stable_fit(seed, penalize_bias):
    rng, X, y = _problem(seed)
    lam = float(10 ** rng.uniform(-3, 2))
    M = torch.eye(X.shape[1], dtype=torch.float64)
    if not penalize_bias:
        M[0, 0] = 0
    Xt, yt = torch.tensor(X), torch.tensor(y)
    ref = torch.linalg.solve(Xt.T @ Xt + lam * M, Xt.T @ yt).numpy()
    np.testing.assert_allclose(regression.ridge_closed_form(X, y, lam, penalize_bias), ref, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(regression.ridge_fit(X, y, lam, penalize_bias), ref, rtol=1e-8, atol=1e-10)


def test_ridge_with_unpenalised_bias_equals_sklearn_ridge():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(3)
    X_raw = rng.standard_normal((40, 4)) + 2.0   # off-centre, so the bias matters
    y = rng.standard_normal(40) + 5.0
    for lam in (0.1, 3.0, 100.0):
        sk = Ridge(alpha=lam, fit_intercept=True).fit(X_raw, y)
        theta = regression.ridge_fit(regression.with_bias(X_raw), y, lam)
        assert theta[0] == pytest.approx(sk.intercept_, rel=1e-9)
        np.testing.assert_allclose(theta[1:], sk.coef_, rtol=1e-9, atol=1e-12)


def test_ridge_shift_invariance_only_without_bias_penalty():
    _, X, y = _problem(1, n=50, d=3)
    a, b = regression.ridge_closed_form(X, y, 20.0), regression.ridge_closed_form(X, y + 7.0, 20.0)
    assert b[0] - a[0] == pytest.approx(7.0) and np.allclose(a[1:], b[1:])
    a, b = regression.ridge_closed_form(X, y, 20.0, True), regression.ridge_closed_form(X, y + 7.0, 20.0, True)
    assert abs((b[0] - a[0]) - 7.0) > 0.5


def test_bad_lambda_raises():
    _, X, y = _problem(0)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            regression.ridge_fit(X, y, bad)


def test_polynomial_fit_and_predict():
    x = np.linspace(-1, 1, 30)
    coef_true = np.array([0.5, -1.0, 2.0, 0.3])
    coef = regression.fit_polynomial(x, regression.predict_polynomial(coef_true, x), 3)
    np.testing.assert_allclose(coef, coef_true, atol=1e-12)
    np.testing.assert_allclose(regression.predict_polynomial(coef_true, np.array([2.0])), [0.5 - 2 + 8 + 2.4])


# -------------------------------------------------------- loss, gradient
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("lam, penalize_bias", [(0.0, False), (2.5, False), (2.5, True)])
def test_loss_gradient_hessian_equal_autograd(seed, lam, penalize_bias):
    rng, X, y = _problem(seed)
    theta = rng.standard_normal(X.shape[1])
    m = torch.tensor(regression.penalty_mask(X.shape[1], penalize_bias))
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def J(t):
        return torch.nn.functional.mse_loss(Xt @ t, yt) + lam * torch.sum((m * t) ** 2) / len(X)

    tt = torch.tensor(theta, requires_grad=True)
    loss = J(tt)
    loss.backward()
    assert regression.least_squares_loss(theta, X, y, lam, penalize_bias) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(regression.least_squares_gradient(theta, X, y, lam, penalize_bias), tt.grad.numpy(), rtol=1e-10, atol=1e-12)
    H = torch.autograd.functional.hessian(J, torch.tensor(theta)).numpy()
    np.testing.assert_allclose(regression.least_squares_hessian(X, lam, penalize_bias), H, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ GD and SGD
@pytest.mark.parametrize("lam", [0.0, 4.0])
def test_gd_equals_torch_sgd_full_batch_with_weight_decay(lam):
    rng = np.random.default_rng(0)
    X_raw, y, _ = _linear_data(60, 3, rng)
    X = regression.with_bias(X_raw)
    lr, epochs = 0.3, 25
    res = regression.gd_fit(X, y, lr=lr, epochs=epochs, lam=lam)
    model = torch.nn.Linear(3, 1, dtype=torch.float64)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    opt = torch.optim.SGD([{"params": [model.weight], "weight_decay": 2 * lam / len(X)},
                           {"params": [model.bias], "weight_decay": 0.0}], lr=lr)
    Xt, yt = torch.tensor(X_raw), torch.tensor(y)
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(Xt)[:, 0], yt).backward()
        opt.step()
    theta_t = np.concatenate([model.bias.detach().numpy(), model.weight.detach().numpy()[0]])
    np.testing.assert_allclose(res.theta, theta_t, rtol=1e-10, atol=1e-12)
    assert res.losses.shape == (epochs + 1,) and not res.diverged
    long = regression.gd_fit(X, y, lr=0.5 * regression.max_stable_lr(X, lam), epochs=400, lam=lam)
    np.testing.assert_allclose(long.theta, regression.ridge_closed_form(X, y, lam), atol=1e-9)


@pytest.mark.parametrize("batch_size, decay", [(7, 0.0), (16, 0.5), (1, 1.0)])
def test_sgd_equals_torch_sgd_on_the_same_minibatches(batch_size, decay):
    rng = np.random.default_rng(1)
    X_raw, y, _ = _linear_data(45, 2, rng)
    X = regression.with_bias(X_raw)
    lr, epochs, lam = 0.05, 4, 1.5
    res = regression.sgd_fit(X, y, lr=lr, epochs=epochs, batch_size=batch_size, rng=np.random.default_rng(9),
                    lam=lam, decay=decay)
    theta = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64)
    opt = torch.optim.SGD([theta], lr=lr)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    order_rng = np.random.default_rng(9)
    for e in range(epochs):
        for group in opt.param_groups:
            group["lr"] = lr / (1 + decay * e)
        order = order_rng.permutation(len(X))
        for s in range(0, len(X), batch_size):
            idx = torch.as_tensor(order[s:s + batch_size])
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(Xt[idx] @ theta, yt[idx]) + lam * torch.sum((mask * theta) ** 2) / len(idx)
            loss.backward()
            opt.step()
    np.testing.assert_allclose(res.theta, theta.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_sgd_with_decay_converges_to_closed_form_and_constant_step_does_not():
    rng = np.random.default_rng(0)
    X_raw, y, _ = _linear_data(200, 3, rng)
    X = regression.with_bias(X_raw)
    exact = regression.normal_equations(X, y)
    dec = regression.sgd_fit(X, y, lr=0.2, epochs=60, batch_size=20, rng=np.random.default_rng(0), decay=1.0)
    const = regression.sgd_fit(X, y, lr=0.2, epochs=60, batch_size=20, rng=np.random.default_rng(0))
    assert np.abs(dec.theta - exact).max() < 2e-3
    assert np.abs(const.theta - exact).max() > 3 * np.abs(dec.theta - exact).max()


def test_learning_rate_threshold_and_divergence_messages():
    _, X, y = _problem(2, n=40, d=3)
    crit = regression.max_stable_lr(X)
    ok = regression.gd_fit(X, y, lr=0.95 * crit, epochs=500)
    bad = regression.gd_fit(X, y, lr=1.05 * crit, epochs=2000)
    assert not ok.diverged and bad.diverged
    assert "diverged" in bad.message and "diverged" not in ok.message
    sgd_bad = regression.sgd_fit(X, y, lr=50.0, epochs=50, batch_size=5, rng=np.random.default_rng(0))
    assert sgd_bad.diverged and "lower the learning rate" in sgd_bad.message
    with pytest.raises(ValueError):
        regression.gd_fit(X, y, lr=0.0, epochs=3)


# -------------------------------------------------------------- Gaussian MLE
@pytest.mark.parametrize("seed", range(5))
def test_gaussian_nll_and_gradient_equal_torch_normal(seed):
    rng, X, y = _problem(seed)
    theta, log_sigma = rng.standard_normal(X.shape[1]), float(rng.uniform(-1, 1))
    tt = torch.tensor(theta, requires_grad=True)
    ls = torch.tensor(log_sigma, dtype=torch.float64, requires_grad=True)
    nll = -torch.distributions.Normal(torch.tensor(X) @ tt, ls.exp()).log_prob(torch.tensor(y)).mean()
    nll.backward()
    assert regression.gaussian_nll(theta, log_sigma, X, y) == pytest.approx(nll.item(), rel=1e-12)
    g_theta, g_ls = regression.gaussian_nll_grad(theta, log_sigma, X, y)
    np.testing.assert_allclose(g_theta, tt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert g_ls == pytest.approx(ls.grad.item(), rel=1e-10, abs=1e-12)


def test_maximum_likelihood_is_least_squares_and_rss_over_n():
    rng = np.random.default_rng(4)
    X_raw, y, _ = _linear_data(120, 4, rng, noise=0.7)
    X = regression.with_bias(X_raw)
    theta_ml, var_ml = regression.maximize_likelihood_torch(X, y)
    theta_ls = regression.normal_equations(X, y)
    rss = np.sum((y - X @ theta_ls) ** 2)
    np.testing.assert_allclose(theta_ml, theta_ls, atol=1e-6)
    assert var_ml == pytest.approx(rss / len(y), rel=1e-6)
    theta_c, var_c = regression.gaussian_mle(X, y)
    np.testing.assert_allclose(theta_c, theta_ls, atol=1e-12)
    assert var_c == pytest.approx(rss / len(y), rel=1e-12)
    # the closed form really is the maximum: nudging any parameter raises the NLL
    base = regression.gaussian_nll(theta_c, 0.5 * np.log(var_c), X, y)
    for j in range(X.shape[1] + 1):
        for step in (-1e-3, 1e-3):
            t, s = theta_c.copy(), 0.5 * np.log(var_c)
            if j < X.shape[1]:
                t[j] += step
            else:
                s += step
            assert regression.gaussian_nll(t, s, X, y) > base


# --------------------------------------------------------- complexity, CV
@pytest.mark.parametrize("n, k", [(10, 2), (17, 5), (20, 20), (23, 4)])
def test_kfold_indices_equal_sklearn_kfold(n, k):
    from sklearn.model_selection import KFold

    for fold, (tr, va) in enumerate(KFold(n_splits=k).split(np.zeros(n))):
        my_tr, my_va = regression.kfold_indices(n, k, fold)
        assert my_tr.tolist() == tr.tolist() and my_va.tolist() == va.tolist()
    with pytest.raises(ValueError):
        regression.kfold_indices(n, k, k)
    with pytest.raises(ValueError):
        regression.kfold_indices(n, 1, 0)


def test_kfold_cv_is_the_mean_of_fold_errors():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, 23), rng.standard_normal(23)
    X = regression.polynomial_features(x, 5)
    lams = [1e-4, 1e-1, 10.0]
    scores = regression.kfold_cv(X, y, lams, k=4, rng=np.random.default_rng(7))
    assert scores.shape == (3, 4)
    order = np.random.default_rng(7).permutation(23)
    Xs, ys = X[order], y[order]
    for i, lam in enumerate(lams):
        for f in range(4):
            tr, va = regression.kfold_indices(23, 4, f)
            theta = regression.ridge_closed_form(Xs[tr], ys[tr], lam)
            assert scores[i, f] == pytest.approx(np.mean((Xs[va] @ theta - ys[va]) ** 2), rel=1e-8)
