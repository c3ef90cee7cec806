"""Losses with their gradients: ``<name>(pred, target) -> (loss, dpred)``.

- ``loss`` is a Python float, the *mean* over the batch (and, for element-wise
  losses, over all entries), as PyTorch's losses with ``reduction="mean"``.
- ``dpred = ∂loss/∂pred`` has the shape of ``pred``, ready to be passed to the
  last layer's ``backward``.
- Every loss is computed stably from logits where it takes logits: no
  ``log(0)`` and no overflow, even for logits of ±1000.

``label_smoothing_cross_entropy`` scores the logits against the smoothed target
``(1 − ε) onehot(y) + ε / C`` instead of the one-hot label (Szegedy et al., 2016).

Each loss is compared with PyTorch's loss and autograd gradient in
``tests/unit/scratch/test_losses.py``.
"""
from __future__ import annotations

import numpy as np

from .layers import log_softmax, sigmoid


def mse_loss(pred: np.ndarray, target: np.ndarray):
    """Mean squared error ``mean((pred − target)²)`` and its gradient w.r.t. ``pred``."""
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: pred {pred.shape} and target {target.shape} differ")
    diff = pred - target
    return float(np.mean(diff ** 2)), 2 * diff / diff.size


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray):
    """Mean categorical cross-entropy of integer labels ``y (n,)`` under ``logits (n, C)``.

    Returns ``(loss, dlogits)`` with ``dlogits = (softmax(logits) − onehot(y)) / n``.
    """
    if logits.ndim != 2 or y.shape != (logits.shape[0],):
        raise ValueError(f"softmax_cross_entropy: logits {logits.shape} need shape (n, C) and y {y.shape} shape (n,)")
    n = logits.shape[0]
    logp = log_softmax(logits, axis=1)
    loss = -float(np.mean(logp[np.arange(n), y]))
    d = np.exp(logp)
    d[np.arange(n), y] -= 1
    return loss, d / n


def sigmoid_bce(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean binary cross-entropy of 0/1 ``targets`` under ``σ(logits)``, and its gradient.

    Per entry ``L = −[t log σ(z) + (1 − t) log(1 − σ(z))] = log(1 + e^z) − t z``
    (computed as ``logaddexp(0, z) − t z``: stable for any ``z``). The mean runs over
    *all* entries, as in ``torch.nn.functional.binary_cross_entropy_with_logits``;
    ``dlogits = (σ(z) − t) / z.size``. Any shape: ``(n,)`` for one label, ``(n, K)``
    for ``K`` independent labels.
    """
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if z.shape != t.shape:
        raise ValueError(f"sigmoid_bce: logits {z.shape} and targets {t.shape} differ")
    loss = float(np.mean(np.logaddexp(0.0, z) - t * z))
    return loss, (sigmoid(z) - t) / z.size


def label_smoothing_cross_entropy(logits: np.ndarray, y: np.ndarray, smoothing: float = 0.1):
    """Mean cross-entropy of ``logits (n, C)`` against ``q = (1 − ε) onehot(y) + ε / C``, ``ε = smoothing``.

    Returns ``(loss, dlogits)`` with ``dlogits = (softmax(logits) − q) / n``. The loss is smallest
    when the model puts ``1 − ε + ε/C`` on the label, not 1: the logits stop growing (the
    model is never pushed to infinite confidence). Equals
    ``torch.nn.functional.cross_entropy(…, label_smoothing=ε)``.
    """
    if logits.ndim != 2 or y.shape != (logits.shape[0],):
        raise ValueError(f"label_smoothing_cross_entropy: logits {logits.shape} need shape (n, C) and y {y.shape} shape (n,)")
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    n, C = logits.shape
    q = np.full((n, C), smoothing / C)
    q[np.arange(n), y] += 1 - smoothing
    logp = log_softmax(logits, axis=1)
    return -float(np.sum(q * logp) / n), (np.exp(logp) - q) / n
def l1_loss(pred: np.ndarray, target: np.ndarray):
    """Mean absolute error ``mean(|pred − target|)`` and its gradient ``sign(pred − target) / size``.

    At a residual of exactly 0 the derivative does not exist; like PyTorch we return 0 there.
    """
    if pred.shape != target.shape:
        raise ValueError(f"l1_loss: pred {pred.shape} and target {target.shape} differ")
    diff = pred - target
    return float(np.mean(np.abs(diff))), np.sign(diff) / diff.size


def huber_loss(pred: np.ndarray, target: np.ndarray, delta: float = 1.0):
    """Huber's loss (1964): quadratic for residuals ``|r| ≤ δ``, linear beyond, and its gradient.

    Per entry ``L = r²/2`` if ``|r| ≤ δ`` else ``δ(|r| − δ/2)``, with ``r = pred − target``;
    the two pieces meet with equal value and slope at ``|r| = δ``. The gradient
    ``clip(r, −δ, δ) / size`` is that of L2 near 0 and of δ·L1 far away: an outlier
    pulls with force at most δ. Same as ``torch.nn.functional.huber_loss(pred, target, delta=δ)``.
    """
    if pred.shape != target.shape:
        raise ValueError(f"huber_loss: pred {pred.shape} and target {target.shape} differ")
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    r = pred - target
    a = np.abs(r)
    per_entry = np.where(a <= delta, 0.5 * r ** 2, delta * (a - 0.5 * delta))
    return float(np.mean(per_entry)), np.clip(r, -delta, delta) / r.size


def hinge_loss(scores: np.ndarray, y: np.ndarray):
    """Binary hinge loss ``mean(max(0, 1 − y·s))`` for labels ``y ∈ {−1, +1}`` and real scores ``s``.

    ``y·s`` is the margin: a point classified correctly *with margin at least 1* costs
    nothing and gets no gradient. ``dscores = −y·[y·s < 1] / size`` (0 at exactly 1, like PyTorch).
    The loss of the support vector machine (Cortes & Vapnik, 1995).
    """
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if s.shape != y.shape:
        raise ValueError(f"hinge_loss: scores {s.shape} and labels {y.shape} differ")
    if not np.all(np.abs(y) == 1):
        raise ValueError("hinge_loss: labels must be -1 or +1 (map 0/1 labels with 2*y - 1)")
    slack = 1 - y * s
    return float(np.mean(np.maximum(slack, 0.0))), -y * (slack > 0) / s.size


def multiclass_hinge_loss(scores: np.ndarray, y: np.ndarray):
    """Multiclass hinge loss of integer labels ``y (n,)`` under ``scores (n, C)``, as ``torch.nn.functional.multi_margin_loss``.

    Per example ``(1/C) Σ_{j≠y} max(0, 1 − s_y + s_j)`` (Weston & Watkins, 1999, with PyTorch's
    division by ``C``), averaged over the batch. Each class ``j`` that comes within a margin of 1
    of the true class's score gets gradient ``+1/(nC)``; the true class gets minus their count.
    """
    if scores.ndim != 2 or y.shape != (scores.shape[0],):
        raise ValueError(f"multiclass_hinge_loss: scores {scores.shape} need shape (n, C) and y {y.shape} shape (n,)")
    n, c = scores.shape
    rows = np.arange(n)
    slack = 1 - scores[rows, y][:, None] + scores
    slack[rows, y] = 0.0
    active = (slack > 0).astype(np.float64)
    d = active.copy()
    d[rows, y] = -active.sum(axis=1)
    return float(np.sum(np.maximum(slack, 0.0)) / (n * c)), d / (n * c)
