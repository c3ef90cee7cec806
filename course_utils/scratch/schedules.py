"""Learning-rate schedules and the learning-rate range test.

Contract:

- A schedule is ``<name>(lr0, steps, ...) -> lrs``: the float64 array of the ``steps``
  learning rates used at steps ``t = 0 … steps−1``. Each equals the rate that the
  PyTorch scheduler of the same name gives an optimiser before its ``t``-th step
  (``tests/unit/scratch/test_schedules.py`` checks every one):

  ===========================  ===============================================  =========================================
  schedule                     η_t                                              torch.optim.lr_scheduler
  ===========================  ===============================================  =========================================
  ``constant``                 η₀                                               ``LambdaLR(lambda t: 1)``
  ``inverse_time_decay``       η₀ / (1 + decay · t)                             ``LambdaLR(lambda t: 1 / (1 + decay t))``
  ``step_decay``               η₀ γ^⌊t / step_size⌋                             ``StepLR(step_size, gamma)``
  ``exponential_decay``        η₀ γᵗ                                            ``ExponentialLR(gamma)``
  ``cosine_annealing``         η_min + ½(η₀ − η_min)(1 + cos(π t / T))          ``CosineAnnealingLR(T_max=T, eta_min)``
  ``linear_warmup``            η₀ (s + (1 − s) min(t, W) / W)                   ``LinearLR(start_factor=s, total_iters=W)``
  ``one_cycle``                cosine up from η_max/25 to η_max, then down      ``OneCycleLR(max_lr, total_steps)``
                               to η_max/(25·10⁴)
  ===========================  ===============================================  =========================================

- ``schedule(name, lr0, steps, **options)`` picks one by name (``SCHEDULES``).
- The range test (Smith, 2017): ``range_test_lrs(lr_min, lr_max, steps)`` are
  geometrically spaced rates to try one after the other while training, and
  ``suggest_lr(lrs, losses)`` reads the recorded losses: it smooths them, stops where
  the loss has blown up, and returns the rate of the steepest descent.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..base import check_learning_rate, ewma


def _steps(steps: int) -> np.ndarray:
    if int(steps) < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return np.arange(int(steps), dtype=np.float64)


def _check_gamma(gamma: float) -> None:
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must be in (0, 1], got {gamma}")


def constant(lr0: float, steps: int) -> np.ndarray:
    """The same rate at every step (``LambdaLR(lambda t: 1)``): the baseline."""
    return np.full(len(_steps(steps)), check_learning_rate(lr0), dtype=np.float64)


def inverse_time_decay(lr0: float, steps: int, decay: float = 0.01) -> np.ndarray:
    """``η₀ / (1 + decay · t)`` (``LambdaLR``): Σ η_t diverges while Σ η_t² converges, the classic
    (Robbins–Monro) condition under which SGD converges."""
    if decay < 0:
        raise ValueError(f"decay must be >= 0, got {decay}")
    return check_learning_rate(lr0) / (1 + decay * _steps(steps))


def step_decay(lr0: float, steps: int, step_size: int = 30, gamma: float = 0.1) -> np.ndarray:
    """Multiply the rate by ``gamma`` every ``step_size`` steps."""
    lr0 = check_learning_rate(lr0)
    _check_gamma(gamma)
    if int(step_size) < 1:
        raise ValueError(f"step_size must be >= 1, got {step_size}")
    return lr0 * gamma ** np.floor(_steps(steps) / int(step_size))


def exponential_decay(lr0: float, steps: int, gamma: float = 0.99) -> np.ndarray:
    """Multiply the rate by ``gamma`` every step: ``η₀ γᵗ``."""
    lr0 = check_learning_rate(lr0)
    _check_gamma(gamma)
    return lr0 * gamma ** _steps(steps)


def cosine_annealing(lr0: float, steps: int, t_max: int | None = None, eta_min: float = 0.0) -> np.ndarray:
    """Half a cosine from ``lr0`` down to ``eta_min`` over ``t_max`` steps (default: all of them).

    Loshchilov & Hutter (2017). Only ``t ≤ t_max`` is the usual use; beyond it the
    formula rises again, as PyTorch's scheduler does without restarts.
    """
    lr0, t = check_learning_rate(lr0), _steps(steps)
    t_max = int(steps if t_max is None else t_max)
    if t_max < 1:
        raise ValueError(f"t_max must be >= 1, got {t_max}")
    return eta_min + 0.5 * (lr0 - eta_min) * (1 + np.cos(np.pi * t / t_max))


def linear_warmup(lr0: float, steps: int, warmup: int = 10, start_factor: float = 1.0 / 3) -> np.ndarray:
    """Ramp linearly from ``start_factor · lr0`` to ``lr0`` over ``warmup`` steps, then stay at ``lr0``."""
    lr0 = check_learning_rate(lr0)
    if int(warmup) < 1:
        raise ValueError(f"warmup must be >= 1 step, got {warmup}")
    if not 0 < start_factor <= 1:
        raise ValueError(f"start_factor must be in (0, 1], got {start_factor}")
    return lr0 * (start_factor + (1 - start_factor) * np.minimum(_steps(steps), warmup) / warmup)


def one_cycle(max_lr: float, steps: int, pct_start: float = 0.3, div_factor: float = 25.0,
              final_div_factor: float = 1e4) -> np.ndarray:
    """Smith & Topin's one-cycle policy (2019), as ``OneCycleLR(anneal_strategy="cos")``.

    A cosine ramp from ``max_lr / div_factor`` up to ``max_lr`` during the first
    ``pct_start`` of the steps, then a cosine down to ``max_lr / (div_factor · final_div_factor)``
    at the last step.
    """
    max_lr = check_learning_rate(max_lr, "max_lr")
    t = _steps(steps)
    if not 0 < pct_start < 1:
        raise ValueError(f"pct_start must be in (0, 1), got {pct_start}")
    initial, final = max_lr / div_factor, max_lr / div_factor / final_div_factor
    peak, last = pct_start * len(t) - 1, len(t) - 1
    if not 0 < peak < last:
        raise ValueError(f"{len(t)} steps with pct_start={pct_start} leave no room for the two phases")

    def cos_anneal(start, end, pct):
        return end + (start - end) / 2 * (np.cos(np.pi * pct) + 1)

    return np.where(t <= peak, cos_anneal(initial, max_lr, t / peak),
                    cos_anneal(max_lr, final, (t - peak) / (last - peak)))


#: every schedule by name: ``name -> (lr0, steps, **options) -> lrs``
SCHEDULES: dict[str, Callable[..., np.ndarray]] = {
    "constant": constant,
    "step": step_decay,
    "inverse": inverse_time_decay,
    "exponential": exponential_decay,
    "cosine": cosine_annealing,
    "warmup": linear_warmup,
    "one_cycle": one_cycle,
}


def schedule(name: str, lr0: float, steps: int, **options) -> np.ndarray:
    """The learning rates of the schedule ``name`` (see :data:`SCHEDULES`)."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {list(SCHEDULES)}")
    return SCHEDULES[name](lr0, steps, **options)


def torch_rates(make_scheduler: Callable, lr0: float, steps: int) -> np.ndarray:
    """The rate a ``torch.optim.lr_scheduler`` gives before each of ``steps`` steps (an SGD optimiser on one
    parameter, ``make_scheduler(optimizer)`` builds the scheduler): the PyTorch twin of a schedule above."""
    import torch

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    scheduler, out = make_scheduler(opt), []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return np.array(out)


# ------------------------------------------------------------------ range test
def range_test_lrs(lr_min: float = 1e-5, lr_max: float = 10.0, steps: int = 100) -> np.ndarray:
    """``steps`` rates from ``lr_min`` to ``lr_max``, equally spaced on a log scale."""
    lr_min, lr_max = check_learning_rate(lr_min, "lr_min"), check_learning_rate(lr_max, "lr_max")
    if not lr_max > lr_min or int(steps) < 2:
        raise ValueError(f"need lr_min < lr_max and steps >= 2, got {lr_min}, {lr_max}, {steps}")
    return np.geomspace(lr_min, lr_max, int(steps))


def suggest_lr(lrs: np.ndarray, losses: np.ndarray, beta: float = 0.9, blowup: float = 4.0) -> float:
    """The rate at the steepest descent of the smoothed range-test loss.

    The losses are smoothed with a bias-corrected moving average (``base.ewma``); the
    curve is cut where the smoothed loss exceeds ``blowup`` times its lowest value so far
    (or turns NaN); the slope ``d loss / d log η`` is computed with ``np.gradient``, and the rate
    where it is most negative is returned. Before its minimum the curve is searched only.
    """
    lrs, losses = np.asarray(lrs, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    if lrs.shape != losses.shape or len(lrs) < 5:
        raise ValueError(f"need at least 5 (lr, loss) pairs of equal length, got {lrs.shape} and {losses.shape}")
    finite = np.isfinite(losses)
    stop = len(losses) if finite.all() else int(np.argmin(finite))
    if stop < 5:
        raise ValueError("the loss was NaN/inf within the first 5 rates: start the range test lower")
    smooth = ewma(losses[:stop], beta)
    over = np.flatnonzero(smooth > blowup * np.minimum.accumulate(smooth))
    end = int(over[0]) if len(over) else stop
    best = int(np.argmin(smooth[:end]))
    if best < 2:
        raise ValueError("the loss never decreased: start the range test lower or check the model")
    slope = np.gradient(smooth[:best + 1], np.log(lrs[:best + 1]))
    return float(lrs[int(np.argmin(slope))])
