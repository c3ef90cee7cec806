"""course_utils.scratch.perceptron (chapter 02): the perceptron, Novikoff's bound and ADALINE.

Every from-scratch rule is compared with a PyTorch twin (float64): the perceptron
update by update, ADALINE's delta rule against one ``torch.optim.SGD`` step on
1/2 (y - z)^2, and the batch gradient against autograd.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.data import make_separable, make_xor
from course_utils.scratch import perceptron as L
from course_utils.scratch import threshold


# ------------------------------------------------------------------ labels
def test_to_pm1_maps_explicitly_and_rejects_other_labels():
    assert L.to_pm1(np.array([0, 1, 1, 0])).tolist() == [-1.0, 1.0, 1.0, -1.0]
    assert L.to_pm1(np.array([-1, 1])).tolist() == [-1.0, 1.0]
    with pytest.raises(ValueError):
        L.to_pm1(np.array([0, 2]))
    with pytest.raises(ValueError):
        L.to_pm1(np.array([0, -1, 1]))


def test_augment_turns_the_bias_into_a_weight():
    rng = np.random.default_rng(0)
    X, w, b = rng.standard_normal((7, 3)), rng.standard_normal(3), 0.7
    np.testing.assert_allclose(L.augment(X) @ np.append(w, b), X @ w + b, rtol=1e-14)


# -------------------------------------------------------------- perceptron
def _torch_perceptron(X, s, orders, lr):
    """The same rule, written again with torch tensors."""
    Xt, st = torch.tensor(X, dtype=torch.float64), torch.tensor(s, dtype=torch.float64)
    w, b = torch.zeros(X.shape[1], dtype=torch.float64), torch.zeros((), dtype=torch.float64)
    ws, bs, who = [w.clone()], [b.clone()], []
    for order in orders:
        for i in order.tolist():
            if st[i] * (Xt[i] @ w + b) <= 0:
                w = w + lr * st[i] * Xt[i]
                b = b + lr * st[i]
                ws.append(w.clone())
                bs.append(b.clone())
                who.append(i)
    return torch.stack(ws), torch.stack(bs), who


@pytest.mark.parametrize("seed", range(8))
def test_perceptron_equals_torch_twin_update_by_update(seed):
    rng = np.random.default_rng(seed)
    d = [2, 3, 5, 2, 4, 2, 6, 3][seed]
    w_true = rng.standard_normal(d)
    X = rng.standard_normal((80, d))
    z = X @ w_true + 0.3
    keep = np.abs(z) / np.linalg.norm(w_true) > 0.05  # a gap, so training converges
    X, y = X[keep], (z[keep] > 0).astype(int)
    lr = float(rng.choice([0.1, 0.5, 1.0, 3.0]))
    res = L.perceptron_train(X, y, lr=lr, max_epochs=500, rng=rng)
    assert res.converged
    ws, bs, who = _torch_perceptron(X, L.to_pm1(y), res.orders, lr)
    assert ws.shape == res.weights.shape and len(who) == res.total_mistakes > 0
    assert torch.equal(ws, torch.from_numpy(res.weights))  # exactly, after every update
    assert torch.equal(bs, torch.from_numpy(res.biases))
    assert who == res.update_example.tolist()


def test_perceptron_update_rule_and_no_in_place_change():
    w, x = np.array([1.0, -2.0]), np.array([0.5, 0.5])
    w_copy = w.copy()
    w2, b2 = L.perceptron_update(w, 0.25, x, 1.0, lr=2.0)  # z = -0.25: a mistake
    np.testing.assert_array_equal(w2, w + 2.0 * x)
    assert b2 == 2.25 and isinstance(b2, float)
    np.testing.assert_array_equal(w, w_copy)
    w3, b3 = L.perceptron_update(w, 0.25, x, -1.0, lr=2.0)  # correct: unchanged
    np.testing.assert_array_equal(w3, w)
    assert b3 == 0.25
    w4, b4 = L.perceptron_update(np.zeros(2), 0.0, x, -1.0)  # on the boundary: a mistake
    np.testing.assert_array_equal(w4, -x)
    assert b4 == -1.0


def test_perceptron_update_matches_the_0_1_delta_rule_off_the_boundary():
    """With labels and predictions in {0, 1}, w += lr (y - y_hat) x is the same rule."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        w, b, x, lr = rng.standard_normal(3), rng.standard_normal(), rng.standard_normal(3), rng.uniform(0.1, 2)
        y01 = int(rng.integers(0, 2))
        y_hat = int(w @ x + b > 0)
        delta = y01 - y_hat
        w_ref, b_ref = L.perceptron_update(w, b, x, 2.0 * y01 - 1.0, lr)
        np.testing.assert_allclose(w_ref, w + lr * delta * x, rtol=1e-14, atol=1e-15)
        assert b_ref == pytest.approx(b + lr * delta, rel=1e-14, abs=1e-15)


def test_history_is_consistent():
    rng = np.random.default_rng(1)
    X, y = make_separable(50, rng, margin=0.1)
    res = L.perceptron_train(X, y, rng=rng)
    assert res.converged and res.mistakes[-1] == 0 and np.all(res.mistakes[:-1] > 0)
    w, b = res.at_epoch(res.epochs)
    np.testing.assert_array_equal(w, res.w)
    assert b == res.b
    assert res.at_epoch(0)[0].tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(res.at_epoch(10 ** 6)[0], res.w)
    assert res.epoch_weights().shape == (res.epochs + 1, 3)
    assert res.mistakes_until(res.epochs) == res.total_mistakes == len(res.update_example)
    assert np.all(np.diff(res.update_epoch) >= 0)
    assert np.all(L.predict(X, res.w, res.b) == y)
    assert "converged" in res.message and "NOT" not in res.message


@pytest.mark.parametrize("margin_value", [0.02, 0.05, 0.1, 0.2, 0.4])
def test_converges_within_novikoff_bound_on_many_seeds(margin_value):
    for seed in range(40):
        rng = np.random.default_rng(seed)
        X, y, w_true, b_true = make_separable(int(rng.integers(20, 200)), rng, margin=margin_value,
                                              return_separator=True)
        lr = float(rng.choice([0.01, 1.0, 10.0]))
        res = L.perceptron_train(X, y, lr=lr, max_epochs=2000, rng=rng)
        bound = L.mistake_bound(w_true, b_true, X, y)
        assert res.converged, (seed, res.message)
        assert np.all(L.predict(X, res.w, res.b) == y)
        assert 0 < res.total_mistakes <= bound, (seed, res.total_mistakes, bound)
        # The two inequalities of the proof, along the whole run (augmented space):
        u = np.append(w_true, b_true) / np.linalg.norm(np.append(w_true, b_true))
        gamma, R = L.augmented_margin(w_true, b_true, X, y), L.radius(X)
        wt = np.column_stack([res.weights, res.biases])
        k = np.arange(len(wt))
        assert np.all(wt @ u >= k * lr * gamma * (1 - 1e-12))
        assert np.all(np.sum(wt ** 2, axis=1) <= k * lr ** 2 * R ** 2 * (1 + 1e-12))


def test_learning_rate_only_rescales_the_weights_from_zero():
    rng = np.random.default_rng(5)
    X, y = make_separable(120, rng, margin=0.05)
    runs = {lr: L.perceptron_train(X, y, lr=lr, rng=np.random.default_rng(9)) for lr in (1e-3, 0.1, 1.0, 7.3)}
    ref = runs[1.0]
    for lr, res in runs.items():
        assert res.update_example.tolist() == ref.update_example.tolist()
        assert res.mistakes.tolist() == ref.mistakes.tolist()
        np.testing.assert_allclose(res.weights, lr * ref.weights, rtol=1e-12, atol=1e-15)


def test_perceptron_never_converges_on_xor():
    X, y = make_xor(120, np.random.default_rng(0))
    res = L.perceptron_train(X, y, max_epochs=200, rng=np.random.default_rng(1))
    assert not res.converged and res.epochs == 200
    assert np.all(res.mistakes > 0)
    assert "did NOT converge" in res.message
    assert np.max(np.abs(res.epoch_weights())) < 50  # it cycles in a bounded region


def test_boolean_xor_cycles_exactly():
    Xb = threshold.binary_inputs(2)
    res = L.perceptron_train(Xb, threshold.BOOLEAN["XOR"](Xb), max_epochs=30)
    assert not res.converged
    first, period = L.find_cycle(res.epoch_weights())
    assert period >= 1 and first + period <= 30
    assert L.find_cycle(np.arange(6.0).reshape(3, 2)) is None


def test_bad_arguments_raise():
    X, y = make_separable(10, np.random.default_rng(0))
    for lr in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="learning rate must be a positive finite number"):
            L.perceptron_train(X, y, lr=lr)
        with pytest.raises(ValueError, match="learning rate must be a positive finite number"):
            L.adaline_train(X, y, lr=lr)
    with pytest.raises(ValueError):
        L.perceptron_train(X[:, 0], y)
    with pytest.raises(ValueError):
        L.margin(np.zeros(2), 1.0, X, y)


# --------------------------------------------------------- margins, bound
def test_margin_is_the_distance_to_the_closest_point():
    rng = np.random.default_rng(2)
    for _ in range(20):
        X, y, w, b = make_separable(40, rng, margin=0.1, return_separator=True)
        c = rng.uniform(0.2, 5.0)
        m = L.margin(c * w, c * b, X, y)
        assert m == pytest.approx(L.margin(w, b, X, y), rel=1e-12)  # scale-free
        assert m >= 0.1 - 1e-12  # make_separable's promise
        # Brute force: project each point on the line and measure the distance.
        s = L.to_pm1(y)
        proj = X - np.outer(X @ w + b, w) / (w @ w)
        np.testing.assert_allclose(proj @ w + b, 0, atol=1e-12)
        assert m == pytest.approx(np.min(np.linalg.norm(X - proj, axis=1)), rel=1e-10)
        assert np.all(s * (X @ w + b) > 0)
        # Augmented margin = input margin * ||w|| / ||(w, b)||, and never larger.
        ga = L.augmented_margin(c * w, c * b, X, y)
        assert ga == pytest.approx(m * np.linalg.norm(w) / np.hypot(np.linalg.norm(w), b), rel=1e-12)
        assert ga <= m + 1e-15
        assert L.radius(X) == pytest.approx(np.sqrt(np.max(np.sum(X ** 2, 1)) + 1), rel=1e-12)
        assert L.radius(X, augmented=False) <= 1 + 1e-12
        assert L.mistake_bound(c * w, c * b, X, y) == pytest.approx((L.radius(X) / ga) ** 2, rel=1e-12)
    assert L.margin(-w, -b, X, y) < 0
    assert L.mistake_bound(-w, -b, X, y) == float("inf")


# ----------------------------------------------------------------- ADALINE
def _random_example(rng, d):
    return (rng.standard_normal(d), float(rng.standard_normal()), rng.standard_normal(d),
            float(rng.choice([-1.0, 1.0])), float(rng.uniform(0.01, 1.0)))


@pytest.mark.parametrize("seed", range(10))
def test_delta_rule_is_one_sgd_step_on_half_squared_error(seed):
    rng = np.random.default_rng(seed)
    w, b, x, y, lr = _random_example(rng, int(rng.integers(1, 6)))
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([wt, bt], lr=lr)
    z = torch.tensor(x) @ wt + bt
    loss = 0.5 * (y - z) ** 2
    loss.backward()
    opt.step()
    w_new, b_new = L.adaline_update(w, b, x, y, lr)
    np.testing.assert_allclose(w_new, wt.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert b_new == pytest.approx(bt.item(), rel=1e-12, abs=1e-14)
    # Without the 1/2 the gradient doubles: the same step needs half the learning rate.
    wt2 = torch.tensor(w, requires_grad=True)
    bt2 = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    opt2 = torch.optim.SGD([wt2, bt2], lr=lr)
    ((y - (torch.tensor(x) @ wt2 + bt2)) ** 2).backward()
    opt2.step()
    np.testing.assert_allclose(L.adaline_update(w, b, x, y, 2 * lr)[0], wt2.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert not np.allclose(w_new, wt2.detach().numpy())


@pytest.mark.parametrize("seed", range(6))
def test_batch_gradient_and_loss_equal_autograd(seed):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(1, 50)), int(rng.integers(1, 6))
    X, y = rng.standard_normal((n, d)), rng.integers(0, 2, n)
    w, b = rng.standard_normal(d), float(rng.standard_normal())
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(L.to_pm1(y))
    loss = (0.5 * (yt - (torch.tensor(X) @ wt + bt)) ** 2).mean()
    loss.backward()
    assert L.adaline_loss(w, b, X, y) == pytest.approx(loss.item(), rel=1e-12)
    gw, gb = L.adaline_gradient(w, b, X, y)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert gb == pytest.approx(bt.grad.item(), rel=1e-10, abs=1e-13)


@pytest.mark.parametrize("mode", ["batch", "sgd"])
def test_adaline_training_equals_torch_sgd(mode):
    rng = np.random.default_rng(4)
    X, y = make_separable(30, rng, margin=0.1)
    s = torch.tensor(L.to_pm1(y))
    epochs, lr = 5, 0.2
    res = L.adaline_train(X, y, lr=lr, epochs=epochs, mode=mode, rng=np.random.default_rng(7))
    wt = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    bt = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([wt, bt], lr=lr)
    Xt = torch.tensor(X)
    order_rng = np.random.default_rng(7)
    for _ in range(epochs):
        batches = [np.arange(len(X))] if mode == "batch" else [[i] for i in order_rng.permutation(len(X))]
        for idx in batches:
            opt.zero_grad()
            idx = torch.as_tensor(np.asarray(idx))
            (0.5 * (s[idx] - (Xt[idx] @ wt + bt)) ** 2).mean().backward()
            opt.step()
    np.testing.assert_allclose(res.w, wt.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert res.b == pytest.approx(bt.item(), rel=1e-10, abs=1e-12)
    assert res.losses.shape == (epochs + 1,) and not res.diverged


def test_adaline_batch_threshold_and_least_squares_limit():
    rng = np.random.default_rng(0)
    X, y = make_separable(80, rng, margin=0.1)
    crit = L.adaline_max_lr(X)
    ok = L.adaline_train(X, y, lr=0.9 * crit, epochs=400, mode="batch")
    bad = L.adaline_train(X, y, lr=1.1 * crit, epochs=400, mode="batch")
    assert not ok.diverged and bad.diverged
    assert "ADALINE (batch) diverged" in bad.message and "2/lambda_max" in bad.message
    assert "diverged" not in ok.message and "400 epochs" in ok.message
    sol, *_ = np.linalg.lstsq(L.augment(X), L.to_pm1(y), rcond=None)  # ADALINE's target
    np.testing.assert_allclose(np.append(ok.w, ok.b), sol, atol=1e-8)
    assert np.all(np.diff(ok.losses) <= 1e-15)  # on a quadratic, GD below 2/lambda_max never raises the loss
    with pytest.raises(ValueError):
        L.adaline_train(X, y, mode="adam")
