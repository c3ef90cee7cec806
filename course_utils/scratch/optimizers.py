"""First-order optimisers from scratch in NumPy, with their PyTorch twins (chapter 07).

Contract for the update rules (as in cs231n's ``optim.py``)::

    w_next, state = rule(w, dw, state, **hyper)

- ``w`` and ``dw`` are arrays of the same shape (parameters and the gradient of
  the loss at ``w``); ``state`` is a dict, ``{}`` before the first step, that the
  rule fills with what it must remember (momentum buffer, averages, step count).
- Rules are pure: they never modify ``w``, ``dw`` or ``state`` in place and
  return a new array and a new dict.
- Hyperparameter names and conventions follow ``torch.optim`` exactly (where ε
  goes, how momentum and dampening enter, the first momentum step), so that the
  iterates agree with PyTorch to round-off (``tests/unit/scratch/test_optimizers.py``):
  :func:`sgd`, :func:`sgd_momentum` (``torch.optim.SGD(momentum=…)``), :func:`nesterov`
  (``nesterov=True``), :func:`adagrad`, :func:`rmsprop`, :func:`adam`, :func:`adamw`.
  ``RULES`` maps names to them and :func:`torch_path` runs the matching ``torch.optim`` class.
  :func:`classic_nesterov` is Sutskever's two-point form of Nesterov (the same points as
  :func:`nesterov`); :func:`tuned_heavy_ball` is Polyak's (η, μ) for a quadratic.
- :func:`run` applies a rule for ``steps`` steps to a gradient function and
  returns an :class:`OptimizationResult`; it stops early and reports divergence
  (``base.blew_up``, ``base.divergence_message``) when the loss (or, without a
  loss, the iterate) blows up.

Also here: gradient descent on a quadratic (:func:`quadratic_gd`, the step-size
limit), the gradient noise of minibatches and minibatch SGD on least squares
(batches from :func:`course_utils.scratch.batches.minibatches`). Learning-rate schedules
are :mod:`course_utils.scratch.schedules`. Moving averages are ``base.ewma``. Line search lives in
:mod:`course_utils.scratch.line_search`, curvature-based methods in
:mod:`course_utils.scratch.second_order`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..base import blew_up, divergence_message
from .batches import minibatches

Array = np.ndarray


# ------------------------------------------------------- first-order update rules
def sgd(w: Array, dw: Array, state: dict, lr: float = 0.01):
    """Plain gradient step ``w − η ∇``."""
    return w - lr * dw, dict(state)


def sgd_momentum(w: Array, dw: Array, state: dict, lr: float = 0.01, momentum: float = 0.9,
                 dampening: float = 0.0, nesterov: bool = False):
    """Heavy-ball momentum in PyTorch's form.

    ``b ← μ b + (1 − dampening) g`` (the first step sets ``b = g``), then
    ``w ← w − η b``; with ``nesterov`` the step uses ``g + μ b`` instead of ``b``.
    """
    buf = dw.copy() if "buf" not in state else momentum * state["buf"] + (1 - dampening) * dw
    step = dw + momentum * buf if nesterov else buf
    return w - lr * step, {**state, "buf": buf}


def nesterov(w: Array, dw: Array, state: dict, lr: float = 0.01, momentum: float = 0.9):
    """Nesterov momentum as PyTorch writes it (``SGD(nesterov=True)``): a look-ahead step ``g + μ b``."""
    return sgd_momentum(w, dw, state, lr=lr, momentum=momentum, nesterov=True)


def adagrad(w: Array, dw: Array, state: dict, lr: float = 0.01, eps: float = 1e-10, lr_decay: float = 0.0):
    """``s ← s + g²`` (the *sum* of all squared gradients so far), ``w ← w − η_t g / (√s + ε)``.

    ``η_t = η / (1 + (t − 1)·lr_decay)`` as in ``torch.optim.Adagrad``. Every coordinate's
    step can only shrink: good for sparse features, too cautious for long non-convex runs.
    """
    t = state.get("t", 0) + 1
    s = state.get("sum", np.zeros_like(w)) + dw ** 2
    clr = lr / (1 + (t - 1) * lr_decay)
    return w - clr * dw / (np.sqrt(s) + eps), {"t": t, "sum": s}


def rmsprop(w: Array, dw: Array, state: dict, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8):
    """``s ← α s + (1 − α) g²``, ``w ← w − η g / (√s + ε)`` (no bias correction, as in torch)."""
    s = alpha * state.get("square_avg", np.zeros_like(w)) + (1 - alpha) * dw ** 2
    return w - lr * dw / (np.sqrt(s) + eps), {**state, "square_avg": s}


def adam(w: Array, dw: Array, state: dict, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
         eps: float = 1e-8):
    """Adam with bias correction: ``w ← w − η m̂ / (√v̂ + ε)``, ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``."""
    t = state.get("t", 0) + 1
    m = beta1 * state.get("m", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * state.get("v", np.zeros_like(w)) + (1 - beta2) * dw ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v}


def adamw(w: Array, dw: Array, state: dict, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
          eps: float = 1e-8, weight_decay: float = 1e-2):
    """AdamW: Adam on the gradient of the loss alone, plus a *decoupled* shrink ``w ← (1 − ηλ) w``.

    Adding ``λ w`` to the gradient instead (L2 regularisation inside Adam) is not the same:
    the decay would then be divided by ``√v̂`` like everything else. Defaults as ``torch.optim.AdamW``.
    """
    return adam(w * (1 - lr * weight_decay), dw, state, lr=lr, beta1=beta1, beta2=beta2, eps=eps)


def classic_nesterov(grad: Callable[[Array], Array], w0: Array, lr: float, mu: float, steps: int) -> Array:
    """Sutskever's Nesterov momentum, ``v ← μv − η∇f(w + μv)``, ``w ← w + v``, returning the look-ahead
    points ``w + μv`` (the iterates of PyTorch's form, which never evaluates a second point)."""
    w, v = np.asarray(w0, dtype=np.float64), np.zeros(len(w0))
    out = [w + mu * v]
    for _ in range(steps):
        v = mu * v - lr * grad(w + mu * v)
        w = w + v
        out.append(w + mu * v)
    return np.array(out)


def tuned_heavy_ball(lam_min: float, lam_max: float) -> tuple[float, float]:
    """Polyak's tuning for a quadratic: ``η = 4/(√λ_max + √λ_min)²``, ``μ = ((√κ − 1)/(√κ + 1))²``."""
    r = (np.sqrt(lam_max) - np.sqrt(lam_min)) / (np.sqrt(lam_max) + np.sqrt(lam_min))
    return 4.0 / (np.sqrt(lam_max) + np.sqrt(lam_min)) ** 2, float(r ** 2)


RULES: dict[str, Callable] = {"gd": sgd, "momentum": sgd_momentum, "nesterov": nesterov,
                              "adagrad": adagrad, "rmsprop": rmsprop, "adam": adam, "adamw": adamw}


@dataclass
class OptimizationResult:
    """Iterates of an optimiser: row ``k`` of ``points`` is the iterate after ``k`` steps.

    ``losses`` holds the loss at each point when the method was given one (else it is
    empty); ``diverged``/``message`` say whether and when the run blew up.
    """

    points: Array
    losses: Array = field(default_factory=lambda: np.zeros(0))
    diverged: bool = False
    message: str = ""


def run(rule: Callable, grad: Callable[[Array], Array], w0: Array, steps: int,
        loss: Callable[[Array], float] | None = None, name: str | None = None, **hyper) -> OptimizationResult:
    """Apply ``rule`` for ``steps`` steps from ``w0``; stop at the first step that blows up.

    With ``loss`` the run records the loss at every iterate and the divergence test is
    ``base.blew_up(loss(w), loss(w0))``; without it, ``base.blew_up(max |w|, max |w0|)``.
    The diverged iterate itself is not kept in ``points``.
    """
    w = np.asarray(w0, dtype=np.float64)
    state, points = {}, [w]
    losses = [float(loss(w))] if loss is not None else []
    reference = losses[0] if loss is not None else float(np.max(np.abs(w)))
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            w, state = rule(w, grad(w), state, **hyper)
            value = float(loss(w)) if loss is not None else float(np.max(np.abs(w)))
            if not np.all(np.isfinite(w)) or blew_up(value, reference):
                message = divergence_message(name or getattr(rule, "__name__", "the optimiser"), k + 1, value)
                return OptimizationResult(np.array(points), np.array(losses), True, message)
            points.append(w)
            if loss is not None:
                losses.append(value)
    return OptimizationResult(np.array(points), np.array(losses))


def torch_path(name: str, grad: Callable[[Array], Array], w0: Array, steps: int, **hyper) -> Array:
    """The iterates ``(steps + 1, d)`` of the matching ``torch.optim`` class (float64), fed the same gradients."""
    import torch

    p = torch.tensor(np.asarray(w0, dtype=np.float64), requires_grad=True)
    if name in ("gd", "momentum", "nesterov"):
        kw = dict(lr=hyper.get("lr", 0.01))
        if name != "gd":
            kw.update(momentum=hyper.get("momentum", 0.9), nesterov=name == "nesterov",
                      dampening=hyper.get("dampening", 0.0))
        opt = torch.optim.SGD([p], **kw)
    elif name == "adagrad":
        opt = torch.optim.Adagrad([p], lr=hyper.get("lr", 0.01), eps=hyper.get("eps", 1e-10),
                                  lr_decay=hyper.get("lr_decay", 0.0))
    elif name == "rmsprop":
        opt = torch.optim.RMSprop([p], lr=hyper.get("lr", 0.01), alpha=hyper.get("alpha", 0.99), eps=hyper.get("eps", 1e-8))
    elif name in ("adam", "adamw"):
        kw = dict(lr=hyper.get("lr", 1e-3), betas=(hyper.get("beta1", 0.9), hyper.get("beta2", 0.999)),
                  eps=hyper.get("eps", 1e-8))
        opt = (torch.optim.Adam([p], **kw) if name == "adam"
               else torch.optim.AdamW([p], weight_decay=hyper.get("weight_decay", 1e-2), **kw))
    else:
        raise ValueError(f"unknown optimiser {name!r}; choose from {list(RULES)}")
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        p.grad = torch.tensor(grad(p.detach().numpy().copy()))
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


# --------------------------------------------------------------- quadratics
def quadratic_gd(H: Array, w0: Array, lr: float, steps: int, w_star: Array | None = None,
                 P: Array | None = None) -> OptimizationResult:
    """Gradient descent on ``½ (w − w*)ᵀ H (w − w*)`` for exactly ``steps`` steps.

    With a preconditioner ``P`` the step is ``w ← w − η P ∇f``: plain GD in the rescaled
    coordinates ``u = P^{−1/2} w``, whose Hessian is ``P^{1/2} H P^{1/2}``.

    The error obeys ``e_{k+1} = (I − η H) e_k``: along an eigenvector with eigenvalue
    ``λ`` it is multiplied by ``1 − ηλ`` per step, so GD converges iff ``0 < η < 2/λ_max``.
    The run is not cut short (the recurrence is the object of study); ``diverged`` says
    whether the final loss blew up past the first.
    """
    w_star = np.zeros(len(w0)) if w_star is None else w_star
    P = np.eye(len(w0)) if P is None else P
    path = [np.asarray(w0, dtype=np.float64)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            path.append(path[-1] - lr * P @ (H @ (path[-1] - w_star)))
        points = np.array(path)
        err = points - w_star
        losses = 0.5 * np.einsum("ki,ij,kj->k", err, H, err)
    diverged = blew_up(losses[-1], losses[0])
    message = divergence_message("gradient descent", steps, losses[-1]) if diverged else ""
    return OptimizationResult(points, losses, diverged, message)


def steps_to_tolerance(errors: Array, tol: float) -> int:
    """First index where ``errors`` falls below ``tol`` (``len(errors)`` if never)."""
    below = np.flatnonzero(np.asarray(errors) < tol)
    return int(below[0]) if below.size else len(errors)


def steps_to_reach(losses: Array, f_min: float, tol: float) -> int:
    """First iteration whose loss is within ``tol`` of ``f_min`` (``len(losses)`` if none)."""
    return steps_to_tolerance(np.asarray(losses) - f_min, tol)


# ----------------------------------------------------------- gradient noise
def minibatch_gradient_noise(X: Array, y: Array, w: Array, batch_sizes: Sequence[int],
                             rng: np.random.Generator, trials: int = 200, replace: bool = False) -> Array:
    """Mean squared distance between minibatch and full gradients of least squares ``½ mean (Xw − y)²``.

    Batches are drawn without replacement (as an epoch of shuffled minibatches does) unless
    ``replace``; the result is one number per batch size.
    """
    r = X @ w - y
    per_example = X * r[:, None]                 # row i: gradient of example i
    full = per_example.mean(axis=0)
    out = []
    for B in batch_sizes:
        sq = [np.sum((per_example[rng.choice(len(X), B, replace=replace)].mean(axis=0) - full) ** 2)
              for _ in range(trials)]
        out.append(np.mean(sq))
    return np.array(out)


@dataclass
class SGDResult:
    """Minibatch SGD on least squares: the full loss after every update and the examples seen so far."""

    examples_seen: Array
    losses: Array
    weights: Array


def least_squares_sgd(X: Array, y: Array, batch_size: int, lr: float, epochs: int,
                      rng: np.random.Generator) -> SGDResult:
    """Minibatch SGD on ``½ mean (Xw − y)²`` from ``w = 0``, batches from ``minibatches``."""
    n, w = len(X), np.zeros(X.shape[1])
    seen, losses = [0], [0.5 * np.mean(y ** 2)]
    for _ in range(epochs):
        for idx in minibatches(n, batch_size, rng):
            w = w - lr * X[idx].T @ (X[idx] @ w - y[idx]) / len(idx)
            seen.append(seen[-1] + len(idx))
            losses.append(0.5 * np.mean((X @ w - y) ** 2))
    return SGDResult(np.array(seen), np.array(losses), w)
