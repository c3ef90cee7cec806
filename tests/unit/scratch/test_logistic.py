"""course_utils.scratch.logistic against PyTorch (float64): logistic and softmax regression, the Gaussian generative model."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils import data
from course_utils.scratch import glm, logistic


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _gaussian_classes(n, rng, prior1=0.5, mu0=(0.0, 0.0), mu1=(2.0, 1.0), cov=((1.0, 0.5), (0.5, 1.5))):
    """``y ~ Bernoulli(prior1)``, ``x | y ~ N(mu_y, cov)``."""
    y = (rng.uniform(size=n) < prior1).astype(np.int64)
    X = np.where(y[:, None] == 1, mu1, mu0) + rng.standard_normal((n, 2)) @ np.linalg.cholesky(cov).T
    return X, y


def _binary_problem(rng):
    n, d = int(rng.integers(5, 40)), int(rng.integers(1, 6))
    X = rng.standard_normal((n, d)) * rng.choice([1.0, 5.0])
    return rng.standard_normal(d), float(rng.standard_normal()), X, rng.integers(0, 2, n).astype(np.float64)


@pytest.mark.parametrize("seed", range(5))
def test_logistic_gradient_equals_autograd(seed):
    rng = np.random.default_rng(seed)
    w, b, X, y = _binary_problem(rng)
    wt, bt = _t(w, True), _t(b, True)
    p = torch.sigmoid(_t(X) @ wt + bt)
    yt = _t(y)
    loss = -(yt * torch.log(p) + (1 - yt) * torch.log(1 - p)).mean()  # the textbook formula
    loss.backward()
    value, gw, gb = logistic.logistic_loss_grad(w, b, X, y)
    assert value == pytest.approx(loss.item(), rel=1e-10)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert gb == pytest.approx(bt.grad.item(), rel=1e-10, abs=1e-13)
    gw2, gb2 = logistic.bce_gradient(w, b, X, y)
    np.testing.assert_allclose(gw2, gw)
    # the closed form X^T (sigma(Xw + b) - y) / n
    np.testing.assert_allclose(gw, X.T @ (1 / (1 + np.exp(-(X @ w + b))) - y) / len(y), rtol=1e-10, atol=1e-13)


def test_multilabel_gradient_equals_autograd():
    rng = np.random.default_rng(3)
    X, Y = rng.uniform(-2, 2, (50, 2)), rng.integers(0, 2, (50, 3)).astype(np.float64)
    W, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    Wt, bt = _t(W, True), _t(b, True)
    loss = F.binary_cross_entropy_with_logits(_t(X) @ Wt + bt, _t(Y))
    loss.backward()
    value, gW, gb = logistic.logistic_loss_grad(W, b, X, Y)
    assert value == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(gW, Wt.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gb, bt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_logistic_train_equals_torch_sgd_and_detects_divergence():
    X, y = _gaussian_classes(80, np.random.default_rng(0))
    res = logistic.logistic_train(X, y, lr=0.7, epochs=15)
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
    safe = logistic.logistic_train(X, y, lr=0.99 * logistic.logistic_max_lr(X), epochs=40)
    assert np.all(np.diff(safe.losses) <= 1e-15)
    bad = logistic.logistic_train(X, y, lr=200.0, epochs=10)
    assert bad.diverged and "diverged" in bad.message
    with pytest.raises(ValueError):
        logistic.logistic_train(X, y, lr=0.0)


# -------------------------------------------------- generative vs discriminative
def test_gaussian_density_and_posterior_equal_torch_distributions():
    rng = np.random.default_rng(1)
    mu0, mu1 = rng.standard_normal(3), rng.standard_normal(3)
    A = rng.standard_normal((3, 3))
    cov = A @ A.T + 0.5 * np.eye(3)
    X = rng.standard_normal((40, 3)) * 2
    d0 = torch.distributions.MultivariateNormal(_t(mu0), covariance_matrix=_t(cov))
    d1 = torch.distributions.MultivariateNormal(_t(mu1), covariance_matrix=_t(cov))
    np.testing.assert_allclose(logistic.gaussian_log_density(X, mu0, cov), d0.log_prob(_t(X)).numpy(), rtol=1e-12)
    prior1 = 0.3
    l0 = d0.log_prob(_t(X)) + np.log(1 - prior1)
    l1 = d1.log_prob(_t(X)) + np.log(prior1)
    ref = torch.softmax(torch.stack([l0, l1], 1), 1)[:, 1].numpy()
    post = logistic.bayes_posterior(X, mu0, mu1, cov, prior1)
    np.testing.assert_allclose(post, ref, rtol=1e-11, atol=1e-14)
    # shared covariance: the posterior is exactly a logistic function of a linear score
    w, b = logistic.gaussian_posterior_weights(mu0, mu1, cov, prior1)
    np.testing.assert_allclose(post, torch.sigmoid(_t(X @ w + b)).numpy(), rtol=1e-11, atol=1e-14)


def test_fit_shared_gaussian_recovers_parameters_and_agrees_with_logistic():
    X, y = _gaussian_classes(20000, np.random.default_rng(2), prior1=0.3)
    mu0, mu1, cov, p1 = logistic.fit_shared_gaussian(X, y)
    np.testing.assert_allclose(mu0, [0, 0], atol=0.05)
    np.testing.assert_allclose(mu1, [2, 1], atol=0.05)
    np.testing.assert_allclose(cov, [[1, 0.5], [0.5, 1.5]], atol=0.05)
    assert p1 == pytest.approx(0.3, abs=0.02)
    w_true, b_true = logistic.gaussian_posterior_weights([0, 0], [2, 1], [[1, 0.5], [0.5, 1.5]], 0.3)
    disc = glm.glm_fit("logistic", glm.add_intercept(X), y, "newton", steps=15)
    np.testing.assert_allclose(disc.w, np.r_[b_true, w_true], atol=0.15)


# --------------------------------------------------------------- softmax regression
@pytest.mark.parametrize("seed", range(5))
def test_softmax_regression_equals_autograd(seed):
    rng = np.random.default_rng(seed)
    n, d, c = int(rng.integers(2, 30)), int(rng.integers(1, 8)), int(rng.integers(2, 7))
    W, b, X, y = rng.standard_normal((d, c)), rng.standard_normal(c), rng.standard_normal((n, d)), rng.integers(0, c, n)
    wd = [0.0, 0.1][seed % 2]
    Wt, bt = _t(W, True), _t(b, True)
    loss = F.cross_entropy(_t(X) @ Wt + bt, torch.as_tensor(y)) + 0.5 * wd * (Wt ** 2).sum()
    loss.backward()
    value, dW, db = logistic.softmax_regression_loss_grad(W, b, X, y, weight_decay=wd)
    assert value == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(dW, Wt.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(db, bt.grad.numpy(), rtol=1e-10, atol=1e-14)
    # the closed form X^T (P - Y) / n
    P = torch.softmax(_t(X @ W + b), 1).numpy()
    np.testing.assert_allclose(logistic.softmax_regression_grad(W, b, X, y)[0], X.T @ (P - logistic.one_hot(y, len(b))) / len(y),
                               rtol=1e-10, atol=1e-14)


def test_one_hot_equals_torch_and_rejects_bad_labels():
    assert logistic.one_hot(np.array([3, 0, 2]), 4).tolist() == [[0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 1, 0]]
    np.testing.assert_array_equal(logistic.one_hot(np.array([1, 0]), 2), F.one_hot(torch.tensor([1, 0]), 2).numpy())
    with pytest.raises(ValueError):
        logistic.one_hot(np.array([0, 4]), 4)


def test_softmax_train_equals_torch_minibatch_sgd():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((45, 4)), rng.integers(0, 3, 45)
    res = logistic.softmax_train(X, y, 3, lr=0.3, epochs=3, batch_size=8, rng=np.random.default_rng(5), weight_decay=0.01)
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
    X, y = data.load_digits()
    s = data.split(X, y, np.random.default_rng(1))
    Xtr, Xte = data.standardize(s.X_train, s.X_test)
    res = logistic.softmax_train(Xtr, s.y_train, 10, lr=0.1, epochs=15, rng=np.random.default_rng(0),
                          X_val=Xte, y_val=s.y_test)
    assert res.val_accuracies[-1] > 0.93 and res.train_losses[-1] < res.train_losses[0]


def test_separable_data_has_no_finite_minimum():
    """Section 3's aside: on separable data gradient descent drives the loss to 0 and the weights grow without bound."""
    X, y = data.make_separable(100, np.random.default_rng(0), margin=0.2)
    short = logistic.logistic_train(X, y, lr=2.0, epochs=200)
    long = logistic.logistic_train(X, y, lr=2.0, epochs=2000, w0=short.w, b0=short.b)
    assert not long.diverged and long.losses[-1] < short.losses[-1] < 0.1
    assert np.linalg.norm(long.w) > 1.5 * np.linalg.norm(short.w)
