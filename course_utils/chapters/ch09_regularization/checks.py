"""ch09_regularization: the exercise checks (re-exported by the chapter package)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ... import checks
from ...scratch import norms
from ...scratch import regularization as reg
from . import sparse_regression


# ------------------------------------------------------------------ exercise checks
def _verdict(name: str, ok: bool, message: str) -> checks.CheckResult:
    return checks._emit(checks.CheckResult(name, ok, True, message))


def _bn_reference(dout, xhat, gamma, inv_std):
    cache = {"xhat": xhat, "inv_std": inv_std, "gamma": gamma, "axes": (0,)}
    return norms.batchnorm_backward(dout, cache)


def check_batchnorm_backward(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Check ``fn(dout, xhat, gamma, inv_std) -> (dx, dgamma, dbeta)`` for ``(n, C)`` inputs."""
    def make_inputs(rng):
        n, c = int(rng.integers(3, 9)), int(rng.integers(2, 6))
        x = rng.normal(2, 3, (n, c))
        _, cache = norms.batchnorm_forward(x, np.ones(c), np.zeros(c))
        return (rng.normal(size=(n, c)), cache["xhat"], rng.normal(1, 0.5, c), cache["inv_std"])

    return checks.check_function(fn, _bn_reference, make_inputs, name="batchnorm_backward", trials=trials,
                                 rtol=1e-7, atol=1e-10)


def check_running_stats(fn: Callable, trials: int = 4) -> checks.CheckResult:
    """Debug-this: ``fn(x, running_mean, running_var, momentum) -> (new_mean, new_var)`` must follow
    ``torch.nn.BatchNorm1d``; says which of the two statistics is wrong, and how."""
    name = "update_running"
    rng = np.random.default_rng(0)
    for _ in range(trials):
        n, c = int(rng.integers(4, 12)), int(rng.integers(2, 5))
        x, rm, rv = rng.normal(3, 2, (n, c)), rng.normal(size=c), rng.uniform(0.5, 2, c)
        bn = nn.BatchNorm1d(c, momentum=0.1, dtype=torch.float64)
        with torch.no_grad():
            bn.running_mean.copy_(torch.tensor(rm))
            bn.running_var.copy_(torch.tensor(rv))
        bn(torch.tensor(x))
        want_m, want_v = bn.running_mean.numpy(), bn.running_var.numpy()
        try:
            got_m, got_v = fn(x.copy(), rm.copy(), rv.copy(), 0.1)
        except Exception as exc:
            return _verdict(name, False, f"update_running raised {type(exc).__name__}: {exc}")
        got_m, got_v = np.asarray(got_m, dtype=float), np.asarray(got_v, dtype=float)
        if got_m.shape != want_m.shape or got_v.shape != want_v.shape:
            return _verdict(name, False, f"the statistics should have shape {want_m.shape}, got {got_m.shape} and {got_v.shape}")
        problems = []
        if not np.allclose(got_m, want_m, rtol=1e-8):
            problems.append("the running mean is wrong: PyTorch's momentum 0.1 is the weight of the *new* batch "
                            "mean, r ← 0.9·r + 0.1·mean(x)")
        if not np.allclose(got_v, want_v, rtol=1e-8):
            batch_var = x.var(axis=0)
            biased = (1 - 0.1) * rv + 0.1 * batch_var
            why = (": it stores the biased variance; the running variance keeps the unbiased one, "
                   f"var·n/(n−1) with n = {n}" if np.allclose(got_v, biased, rtol=1e-8) else
                   ": check the momentum and that the variance is taken over the batch axis")
            problems.append("the running variance is wrong" + why)
        if problems:
            return _verdict(name, False, "Still wrong: " + "; ".join(problems) + ".")
    return _verdict(name, True, f"Correct on {trials} random batches: matches torch.nn.BatchNorm1d's running statistics.")


def adam_first_step(lam: float = 0.01, lr: float = 0.1, decoupled: bool = False) -> float:
    """w after one step from w = 1 with zero data gradient: Adam(weight_decay=λ) or AdamW(weight_decay=λ)."""
    w = torch.ones(1, dtype=torch.float64, requires_grad=True)
    opt = (torch.optim.AdamW if decoupled else torch.optim.Adam)([w], lr=lr, weight_decay=lam)
    w.grad = torch.zeros(1, dtype=torch.float64)
    opt.step()
    return float(w.item())


def check_adam_step(answer) -> checks.CheckResult:
    """Derive-then-check: ``(w after Adam with L2, w after AdamW)``, one step from w = 1, λ = 0.01, η = 0.1."""
    exact = (adam_first_step(decoupled=False), adam_first_step(decoupled=True))
    hint = ("with L2 the gradient is λw = 0.01, and Adam's first step is η·g/|g| = η whatever g is: w = 1 − 0.1 = 0.9 "
            "(λ does not matter!). AdamW shrinks w directly by ηλ: w = 1·(1 − 0.1·0.01) = 0.999, and its Adam "
            "step is 0 because the data gradient is 0")
    if isinstance(answer, (list, tuple)) and any(a is Ellipsis for a in answer):
        answer = ...
    return checks.check_value(answer, exact, name="(Adam + L2, AdamW)", rtol=0, atol=1e-4, hint=hint)


def ridge_zero_count(lam: float, seed: int = 0) -> int:
    """Exactly-zero weights of ridge regression at ``lam`` on the chapter's sparse problem."""
    X, y, _ = sparse_regression(seed)
    return int(np.sum(reg.ridge(X, y, lam) == 0))


def check_ridge_zeros(prediction, lam: float = 10.0) -> checks.CheckResult:
    """Predict-then-run: how many of the 50 ridge weights are exactly 0 at λ = 10."""
    actual = ridge_zero_count(lam)
    hint = (f"L2 shrinks every weight by a factor (its gradient λw vanishes as w → 0, so nothing pushes the last "
            f"bit to exactly 0); at λ = {lam:g} the weights are tiny but none is 0")
    return checks.check_value(prediction, actual, name="your prediction", rtol=0, atol=0.5, hint=hint)


#: the design exercise's targets for the Lasso on the chapter's sparse problem (seed 0)
LASSO_TARGET = dict(irrelevant_zeros=40, max_error=0.5)


def lasso_outcome(lam: float, seed: int = 0) -> dict[str, float]:
    """ISTA at ``lam`` on ``sparse_regression(seed)``: relevant weights kept (non-zero), irrelevant
    ones set exactly to 0, and the largest error on the relevant weights."""
    X, y, w_true = sparse_regression(seed)
    w = reg.penalized_least_squares(X, y, lam, "l1", steps=1500).w
    rel = w_true != 0
    return {"relevant_kept": int(np.sum(w[rel] != 0)), "irrelevant_zeros": int(np.sum(w[~rel] == 0)),
            "max_error": float(np.max(np.abs(w[rel] - w_true[rel])))}


def check_lasso_choice(choice) -> checks.CheckResult:
    """Design-to-a-target: ``choice = dict(lam=...)`` keeps all 5 relevant weights, zeroes at least 40 of the
    45 others and misses no relevant weight by more than 0.5."""
    name = "your λ"
    if choice is Ellipsis or (isinstance(choice, dict) and choice.get("lam", None) is Ellipsis):
        return checks.check_value(..., 0, name=name)
    try:
        lam = float(choice["lam"])
    except (TypeError, KeyError, ValueError):
        return _verdict(name, False, "choice must be a dict like dict(lam=0.1)")
    if not 0 < lam < 100:
        return _verdict(name, False, f"λ must be between 0 and 100, got {lam}")
    out = lasso_outcome(lam)
    msg = (f"λ = {lam:g}: {out['relevant_kept']} of 5 relevant weights kept, {out['irrelevant_zeros']} of 45 "
           f"irrelevant ones exactly 0, largest error on a relevant weight {out['max_error']:.2f}")
    if out["irrelevant_zeros"] < LASSO_TARGET["irrelevant_zeros"]:
        return _verdict(name, False, msg + ": too many irrelevant weights survive, raise λ.")
    if out["relevant_kept"] < 5 or out["max_error"] > LASSO_TARGET["max_error"]:
        return _verdict(name, False, msg + ": the penalty also crushes the weights that matter, lower λ.")
    return _verdict(name, True, msg + ". On target.")
