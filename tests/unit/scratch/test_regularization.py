"""course_utils.scratch.regularization and .augmentation: dropout on the layer harness and against
torch's own masks, penalties against autograd, ISTA against scikit-learn's Lasso, ridge's closed form,
early stopping, bagging and the ambiguity decomposition."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from layer_harness import LayerCase, run_layer_case
from sklearn.linear_model import Lasso, Ridge

from course_utils.scratch import augmentation
from course_utils.scratch import regularization as reg


def _dropout_inputs(rng):
    n, d = (int(v) for v in rng.integers(1, 8, size=2))
    p = float(rng.choice([0.1, 0.5, 0.8]))
    return {"x": rng.normal(size=(n, d))}, {"p": p, "mask": rng.random((n, d)) >= p}


DROPOUT = [
    LayerCase("dropout", reg.dropout_forward, reg.dropout_backward,
              lambda x, p, mask: x * torch.as_tensor(mask) / (1 - p), _dropout_inputs),
    LayerCase("dropout_eval", lambda x, p, mask: reg.dropout_forward(x, p, mask, train=False), reg.dropout_backward,
              lambda x, p, mask: F.dropout(x, p, training=False), _dropout_inputs),
]


@pytest.mark.parametrize("case", DROPOUT, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(3))
def test_dropout_matches_its_twin_and_finite_differences(case, seed):
    run_layer_case(case, np.random.default_rng(seed))


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_with_torchs_own_mask_reproduces_torch_forward_and_backward(p):
    x = np.random.default_rng(0).normal(size=(50, 40))
    xt = torch.tensor(x, requires_grad=True)
    torch.manual_seed(3)
    out_t = F.dropout(xt, p, training=True)
    dout = np.random.default_rng(1).normal(size=x.shape)
    out_t.backward(torch.tensor(dout))
    mask = out_t.detach().numpy() != 0  # the units torch kept
    out, cache = reg.dropout_forward(x, p, mask=mask)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(reg.dropout_backward(dout, cache), xt.grad.numpy(), rtol=1e-12)
    assert abs(1 - mask.mean() - p) < 0.05  # torch drops a fraction p


def test_dropout_mask_statistics_and_expectation():
    rng = np.random.default_rng(2)
    x = np.full((400, 500), 3.0)
    out, _ = reg.dropout_forward(x, 0.3, rng=rng)
    assert abs(np.mean(out == 0) - 0.3) < 0.005
    assert abs(out.mean() - 3.0) < 0.02  # inverted dropout keeps the expectation
    np.testing.assert_allclose(out[out != 0], 3.0 / 0.7)


def test_dropout_errors():
    with pytest.raises(ValueError, match="\\[0, 1\\)"):
        reg.dropout_forward(np.ones(3), 1.0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="needs a mask or an rng"):
        reg.dropout_forward(np.ones(3), 0.5)
    with pytest.raises(ValueError, match="mask has shape"):
        reg.dropout_forward(np.ones(3), 0.5, mask=np.ones(2, bool))


@pytest.mark.parametrize("name", ["l2", "l1"])
def test_penalties_match_autograd(name):
    rng = np.random.default_rng(3)
    w = rng.normal(size=(4, 5))
    value, grad = (reg.l2_penalty if name == "l2" else reg.l1_penalty)(w, 0.3)
    wt = torch.tensor(w, requires_grad=True)
    t = 0.15 * (wt ** 2).sum() if name == "l2" else 0.3 * wt.abs().sum()
    t.backward()
    assert value == pytest.approx(t.item(), rel=1e-12)
    np.testing.assert_allclose(grad, wt.grad.numpy(), rtol=1e-12)


def test_soft_threshold_is_the_proximal_step():
    w = np.array([-3.0, -0.5, 0.0, 0.2, 2.0])
    np.testing.assert_allclose(reg.soft_threshold(w, 1.0), [-2.0, 0.0, 0.0, 0.0, 1.0])
    # prox: argmin_z ½(z − w)² + t|z|, checked by brute force on a grid
    z = np.linspace(-4, 4, 80001)
    for wi in w:
        assert reg.soft_threshold(np.array([wi]), 1.0)[0] == pytest.approx(z[np.argmin(0.5 * (z - wi) ** 2 + np.abs(z))], abs=1e-4)


def _sparse_problem(seed=0, n=80, d=30, k=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = np.zeros(d)
    w[:k] = rng.choice([-2.0, 2.0], k)
    return X, X @ w + 0.5 * rng.normal(size=n)


@pytest.mark.parametrize("lam", [0.05, 0.3])
def test_ista_equals_sklearn_lasso_and_is_sparse(lam):
    X, y = _sparse_problem()
    ours = reg.penalized_least_squares(X, y, lam, "l1", steps=5000)
    sk = Lasso(alpha=lam, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y).coef_
    np.testing.assert_allclose(ours.w, sk, atol=1e-6)
    assert np.array_equal(ours.w == 0, np.abs(sk) < 1e-12)  # the same exact zeros
    assert np.sum(ours.w == 0) > 10
    assert np.all(np.diff(ours.losses) <= 1e-12)  # ISTA never increases the objective at step 1/L


def test_l2_gradient_descent_reaches_the_closed_form_and_sklearn_ridge():
    X, y = _sparse_problem(1)
    lam = 0.2
    closed = reg.ridge(X, y, lam)
    np.testing.assert_allclose(reg.penalized_least_squares(X, y, lam, "l2", steps=3000).w, closed, atol=1e-8)
    sk = Ridge(alpha=lam * len(X), fit_intercept=False, solver="cholesky").fit(X, y).coef_
    np.testing.assert_allclose(closed, sk, rtol=1e-10)
    assert np.sum(closed == 0) == 0


def test_subgradient_l1_hovers_but_never_reaches_zero():
    X, y = _sparse_problem(2)
    lam, lr = 0.3, 0.1
    sub = reg.penalized_least_squares(X, y, lam, "l1_subgradient", steps=3000, lr=lr).w
    ista = reg.penalized_least_squares(X, y, lam, "l1", steps=3000, lr=lr).w
    assert np.sum(sub == 0) == 0 and np.sum(ista == 0) > 10
    assert np.max(np.abs(sub[ista == 0])) < 2 * lr * lam  # zig-zags around 0 with steps of about lr·lam


def test_penalized_errors_and_divergence():
    X, y = _sparse_problem()
    with pytest.raises(ValueError, match="unknown penalty"):
        reg.penalized_least_squares(X, y, 0.1, "elastic")
    res = reg.penalized_least_squares(X, y, 0.1, "l2", steps=500, lr=10.0)
    assert res.diverged and "diverged" in res.message


def _stop_epoch(stopper, losses):
    return next(i for i, v in enumerate(losses) if stopper.step(v))


def test_early_stopping_waits_patience_epochs_after_the_best():
    losses = [5, 4, 3, 3.5, 3.2, 3.1, 2.9, 3.0, 3.0, 3.0, 3.0, 1.0]
    stopper = reg.EarlyStopping(patience=3)
    assert _stop_epoch(stopper, losses) == 5 and stopper.best_epoch == 2 and stopper.best_loss == 3
    stopper = reg.EarlyStopping(patience=4)  # more patience survives the bump and finds 2.9
    assert _stop_epoch(stopper, losses) == 10 and stopper.best_epoch == 6 and not stopper.improved
    s2 = reg.EarlyStopping(patience=2, min_delta=0.5)
    assert [s2.step(v) for v in [3.0, 2.8, 2.7]] == [False, False, True]  # improvements under 0.5 do not count
    with pytest.raises(ValueError, match="patience"):
        reg.EarlyStopping(0)


def test_bootstrap_leaves_out_about_a_third():
    idx = reg.bootstrap_indices(10_000, np.random.default_rng(0))
    assert abs(len(np.unique(idx)) / 10_000 - (1 - np.exp(-1))) < 0.01


def test_ambiguity_decomposition_is_an_identity():
    rng = np.random.default_rng(4)
    P, t = rng.normal(size=(7, 30)), rng.normal(size=30)
    d = reg.ambiguity_decomposition(P, t)
    assert d["member_mse"] == pytest.approx(d["ensemble_mse"] + d["ambiguity"], rel=1e-12)
    same = reg.ambiguity_decomposition(np.repeat(P[:1], 5, axis=0), t)  # identical members: no gain
    assert same["ambiguity"] == pytest.approx(0, abs=1e-25) and same["ensemble_mse"] == pytest.approx(same["member_mse"])
    with pytest.raises(ValueError, match="shape"):
        reg.ambiguity_decomposition(P, t[:5])


# ------------------------------------------------------------------ augmentation
def test_shift_moves_pixels_and_fills_the_border():
    img = np.arange(16.0).reshape(4, 4)
    out = augmentation.shift(img, 1, -1)
    np.testing.assert_array_equal(out[1:, :3], img[:3, 1:])
    assert np.all(out[0] == 0) and np.all(out[:, 3] == 0)
    np.testing.assert_array_equal(augmentation.shift(img, 0, 0), img)


def test_random_shift_keeps_shapes_labels_and_mass():
    rng = np.random.default_rng(0)
    X = np.zeros((50, 64))
    X[:, 27] = 1.0  # one bright pixel near the centre of each 8x8 image
    out = augmentation.random_shift(X, rng, max_shift=1)
    assert out.shape == X.shape and np.all(out.sum(1) == 1.0)
    moved = np.argwhere(out.reshape(50, 8, 8) == 1)[:, 1:] - np.array([3, 3])
    assert np.abs(moved).max() == 1 and len({tuple(m) for m in moved}) > 5
    Xa, ya = augmentation.augment(X, np.arange(50), copies=2, rng=rng)
    assert Xa.shape == (150, 64) and np.array_equal(ya, np.tile(np.arange(50), 3))
    assert np.array_equal(Xa[:50], X)


def test_augmentation_errors_and_noise():
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match="max_shift"):
        augmentation.random_shift(np.zeros((2, 4, 4)), rng, max_shift=4)
    with pytest.raises(ValueError, match="square"):
        augmentation.random_shift(np.zeros((2, 10)), rng)
    noisy = augmentation.random_noise(np.full((10, 9), 0.5), rng, std=0.1)
    assert noisy.min() >= 0 and noisy.max() <= 1 and 0.05 < noisy.std() < 0.15
