"""Regularisation: penalties, dropout, early stopping and ensembles, from scratch.

Contracts:

- **Penalties** ``<name>_penalty(w, lam) -> (value, grad)``: ``l2_penalty`` is
  ``(λ/2)‖w‖²`` with gradient ``λw``; ``l1_penalty`` is ``λ‖w‖₁`` with the subgradient
  ``λ sign(w)``. ``soft_threshold(w, t)`` is the proximal step of ``t‖w‖₁``: it shrinks
  every entry towards 0 by ``t`` and sets the small ones *exactly* to 0.
- **Penalised least squares** ``penalized_least_squares(X, y, lam, penalty, steps, lr)``
  minimises ``(1/2n)‖Xw − y‖² + penalty(w)`` by gradient descent (``"l2"``), by the
  proximal gradient method ISTA (``"l1"``) or by subgradient descent
  (``"l1_subgradient"``), and returns a ``PenalizedResult``; ``ridge(X, y, lam)`` is
  the L2 problem's closed form. ISTA's answer equals scikit-learn's ``Lasso(alpha=λ)``.
- **Dropout** on the layer contract: ``dropout_forward(x, p, mask=None, rng=None,
  train=True) -> (out, cache)`` and ``dropout_backward(dout, cache) -> dx``. *Inverted*
  dropout: kept units are divided by ``1 − p`` during training, so that at test time
  (``train=False``) the layer is the identity. Pass a fixed boolean ``mask`` (True =
  kept) or an ``rng`` to draw one (``dropout_mask``).
- **Early stopping** ``EarlyStopping(patience)``: feed it one validation loss per epoch;
  ``step`` returns True when it is time to stop; ``best_epoch`` says which weights to keep.
- **Ensembles** ``bootstrap_indices(n, rng)`` draws a bootstrap sample (bagging,
  Breiman 1996) and ``ambiguity_decomposition(predictions, target)`` splits the members'
  mean squared error into the ensemble's error plus their spread (Krogh & Vedelsby, 1995).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base import blew_up, check_learning_rate, divergence_message


# -------------------------------------------------------------------- penalties
def l2_penalty(w: np.ndarray, lam: float) -> tuple[float, np.ndarray]:
    """``(λ/2)‖w‖²`` and its gradient ``λ w``."""
    return 0.5 * lam * float(np.sum(w ** 2)), lam * w


def l1_penalty(w: np.ndarray, lam: float) -> tuple[float, np.ndarray]:
    """``λ‖w‖₁`` and the subgradient ``λ sign(w)`` (0 at exactly 0)."""
    return lam * float(np.sum(np.abs(w))), lam * np.sign(w)


def soft_threshold(w: np.ndarray, t: float) -> np.ndarray:
    """``sign(w)·max(|w| − t, 0)``: the proximal operator of ``t‖·‖₁``; entries with ``|w| ≤ t`` become 0."""
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


@dataclass
class PenalizedResult:
    """Gradient-based fit of penalised least squares: the final weights and the objective per step."""

    w: np.ndarray
    losses: np.ndarray
    diverged: bool = False
    message: str = ""


def _objective(X, y, w, lam, penalty):
    r = X @ w - y
    pen = l2_penalty(w, lam)[0] if penalty == "l2" else l1_penalty(w, lam)[0]
    return 0.5 * float(np.mean(r ** 2)) + pen


def penalized_least_squares(X: np.ndarray, y: np.ndarray, lam: float, penalty: str = "l2", steps: int = 2000,
                            lr: float | None = None) -> PenalizedResult:
    """Minimise ``(1/2n)‖Xw − y‖² + penalty`` from ``w = 0`` (``X (n, d)``, no intercept).

    ``lr`` defaults to ``1/L`` with ``L = λ_max(XᵀX/n)`` (+ λ for L2), the largest step for
    which gradient descent on the smooth part never overshoots.
    - ``"l2"``: ``w ← w − η(∇f(w) + λw)``.
    - ``"l1"`` (ISTA): ``w ← soft_threshold(w − η∇f(w), ηλ)``: exact zeros.
    - ``"l1_subgradient"``: ``w ← w − η(∇f(w) + λ sign(w))``: hovers around 0, never exactly 0.
    """
    if penalty not in ("l2", "l1", "l1_subgradient"):
        raise ValueError(f"unknown penalty {penalty!r}; choose 'l2', 'l1' or 'l1_subgradient'")
    n, d = X.shape
    smooth = float(np.linalg.eigvalsh(X.T @ X / n)[-1]) + (lam if penalty == "l2" else 0.0)
    lr = check_learning_rate(lr) if lr is not None else 1.0 / smooth
    w, losses = np.zeros(d), []
    kind = "l2" if penalty == "l2" else "l1"
    for step in range(int(steps)):
        grad = X.T @ (X @ w - y) / n
        if penalty == "l2":
            w = w - lr * (grad + lam * w)
        elif penalty == "l1":
            w = soft_threshold(w - lr * grad, lr * lam)
        else:
            w = w - lr * (grad + lam * np.sign(w))
        losses.append(_objective(X, y, w, lam, kind))
        if blew_up(losses[-1], losses[0]):
            return PenalizedResult(w, np.array(losses), True, divergence_message(penalty, step + 1, losses[-1]))
    return PenalizedResult(w, np.array(losses))


def ridge(X: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """The minimiser of ``(1/2n)‖Xw − y‖² + (λ/2)‖w‖²``: ``(XᵀX/n + λI)⁻¹ Xᵀy/n``."""
    n, d = X.shape
    return np.linalg.solve(X.T @ X / n + lam * np.eye(d), X.T @ y / n)


# ---------------------------------------------------------------------- dropout
def dropout_mask(shape: tuple[int, ...], p: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask, True (kept) with probability ``1 − p``, independently per entry."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout rate p must be in [0, 1), got {p}")
    return rng.random(shape) >= p


def dropout_forward(x: np.ndarray, p: float, mask: np.ndarray | None = None, rng: np.random.Generator | None = None,
                    train: bool = True):
    """Inverted dropout: ``x · mask / (1 − p)`` in training, ``x`` unchanged at test time.

    Dividing by the keep probability makes ``E[out] = x`` during training, so the test-time
    network needs no rescaling (the "weight-scaling rule" is built in).
    """
    if not 0 <= p < 1:
        raise ValueError(f"dropout rate p must be in [0, 1), got {p}")
    if not train or p == 0:
        return x, None
    if mask is None:
        if rng is None:
            raise ValueError("dropout_forward in training mode needs a mask or an rng to draw one")
        mask = dropout_mask(x.shape, p, rng)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != x.shape:
        raise ValueError(f"dropout mask has shape {mask.shape}, x has {x.shape}")
    scale = mask / (1.0 - p)
    return x * scale, scale


def dropout_backward(dout: np.ndarray, cache):
    """The same mask and scale on the way back (identity when the forward was)."""
    return dout if cache is None else dout * cache


# --------------------------------------------------------------- early stopping
class EarlyStopping:
    """Stop when the validation loss has not improved by ``min_delta`` for ``patience`` epochs.

    ``step(val_loss)`` returns True when training should stop; ``best_epoch`` (0-based)
    and ``best_loss`` are those of the best epoch seen, whose weights should be kept.
    """

    def __init__(self, patience: int = 10, min_delta: float = 0.0):
        if int(patience) < 1:
            raise ValueError(f"patience must be >= 1 epoch, got {patience}")
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.best_loss, self.best_epoch, self.epoch = np.inf, -1, -1

    def step(self, val_loss: float) -> bool:
        self.epoch += 1
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch = float(val_loss), self.epoch
        return self.epoch - self.best_epoch >= self.patience

    @property
    def improved(self) -> bool:
        """True if the last ``step`` was the best epoch so far (time to save the weights)."""
        return self.best_epoch == self.epoch


# -------------------------------------------------------------------- ensembles
def bootstrap_indices(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices drawn with replacement from ``0 … n−1``: one bagging replicate
    (about 1 − 1/e ≈ 63 % of the examples appear in it)."""
    return rng.integers(0, int(n), size=int(n))


def ambiguity_decomposition(predictions: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Krogh & Vedelsby's identity for the average of ``K`` regressors.

    ``predictions (K, n)``, ``target (n,)``. With ``f̄`` the ensemble mean,
    ``mean_k MSE(f_k) = MSE(f̄) + mean_k mean_i (f_k − f̄)²``: the ensemble's error is the
    members' average error minus their *ambiguity* (spread), so it is never worse.
    Returns ``member_mse`` (average over members), ``ensemble_mse`` and ``ambiguity``.
    """
    P, t = np.asarray(predictions, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] != t.shape[0]:
        raise ValueError(f"predictions must have shape (K, n) with n = {t.shape[0]}, got {P.shape}")
    mean = P.mean(axis=0)
    return {"member_mse": float(np.mean((P - t) ** 2)), "ensemble_mse": float(np.mean((mean - t) ** 2)),
            "ambiguity": float(np.mean((P - mean) ** 2))}
