"""course_utils.scratch.glm against PyTorch's losses, autograd and L-BFGS (float64)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.scratch import glm


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _counts(n, rng, w_true=(0.5, 0.8, -0.4)):
    X = glm.add_intercept(rng.uniform(-1.5, 1.5, (n, len(w_true) - 1)))
    return X, rng.poisson(np.exp(X @ np.asarray(w_true))).astype(np.float64)


# ----------------------------------------------------------------------- GLMs
@pytest.mark.parametrize("kind", ["linear", "logistic", "poisson"])
def test_glm_loss_gradient_hessian_equal_autograd(kind):
    rng = np.random.default_rng({"linear": 0, "logistic": 1, "poisson": 2}[kind])
    X = glm.add_intercept(rng.uniform(-1, 1, (60, 2)))
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
    value, grad = glm.glm_loss_grad(kind, w, X, y)
    assert value == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(grad, wt.grad.numpy(), rtol=1e-10, atol=1e-14)
    H = torch.autograd.functional.hessian(torch_loss, _t(w)).numpy()
    np.testing.assert_allclose(glm.glm_hessian(kind, w, X), H, rtol=1e-10, atol=1e-14)
    assert np.all(np.linalg.eigvalsh(H) >= -1e-12)  # convex


def test_poisson_fit_newton_gd_and_torch_lbfgs_agree():
    X, y = _counts(400, np.random.default_rng(0))
    newton = glm.glm_fit("poisson", X, y, "newton", steps=12)
    gd = glm.glm_fit("poisson", X, y, "gd", lr=0.3, steps=400)
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
    assert glm.poisson_nll(newton.w, X, y)[0] == pytest.approx(newton.losses[-1])
    # the linear GLM's Newton step is the least-squares solution in one step
    yl = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * np.random.default_rng(1).standard_normal(len(X))
    lin = glm.glm_fit("linear", X, yl, "newton", steps=1)
    np.testing.assert_allclose(lin.w, np.linalg.lstsq(X, yl, rcond=None)[0], atol=1e-12)


def test_glm_fit_reports_divergence_and_bad_arguments():
    X, y = _counts(200, np.random.default_rng(0))
    bad = glm.glm_fit("poisson", X, y, "gd", lr=2.0, steps=100)
    assert bad.diverged and "diverged" in repr(bad)
    with pytest.raises(ValueError):
        glm.glm_fit("gamma", X, y)
    with pytest.raises(ValueError):
        glm.glm_fit("poisson", X, y, method="adam")
