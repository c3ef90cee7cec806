"""The foundation: small helpers that every tier of ``course_utils`` may use.

Nothing here knows about a chapter, a plot or an exercise; this module imports
only NumPy (and tqdm, lazily). The from-scratch algorithms (``scratch``), the
platform (data, plotting, widgets, training loop) and the chapters all build on it.

- ``blew_up(value, reference)``: the one divergence test: a loss that is NaN/inf
  or has grown ``factor`` times past its reference.
- ``divergence_message(...)``: the one sentence every tier shows for it.
- ``check_learning_rate(lr)``: a clear ``ValueError`` for a rate that is not a
  positive finite number.
- ``progress(iterable, ...)``: a tqdm progress bar that closes even when the loop
  is interrupted (``COURSE_PROGRESS_BARS=0`` hides every bar).
- ``timed(fn, ...)``: best wall-clock time over a few runs, and the result.
- ``running_mean(v, window)`` and ``ewma(v, beta)``: the two moving averages the
  course uses to smooth noisy curves.
"""
from __future__ import annotations

import os
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import numpy as np

T = TypeVar("T")

#: how much a loss may grow past its reference before we call the run diverged
BLOWUP_FACTOR = 1e8


def blew_up(value: float, reference: float = 1.0, factor: float = BLOWUP_FACTOR) -> bool:
    """True when ``value`` is NaN/inf or larger than ``factor · max(|reference|, 1)``."""
    value = float(value)
    return not np.isfinite(value) or value > factor * max(abs(float(reference)), 1.0)


def divergence_message(what: str, step: int, value: float, hint: str = "try a smaller learning rate") -> str:
    """The course's one sentence for a run that blew up, e.g. in a widget or a ``History``."""
    shown = f"{value:.3g}" if np.isfinite(value) else str(float(value))
    return f"{what} diverged: the loss reached {shown} at step {step} ({hint})"


def check_learning_rate(lr: float, name: str = "learning rate") -> float:
    """``lr`` as a float, or a ``ValueError`` saying why it cannot be used."""
    try:
        value = float(lr)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {lr!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {lr!r}")
    return value


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None, unit: str = "it",
             show: bool = True) -> Iterator[T]:
    """Iterate with a progress bar (tqdm) that is closed however the loop ends.

    Closing matters in notebooks: a bar left open by an interrupted cell (the
    student pressed stop) keeps redrawing under later cells.
    """
    if not show or os.environ.get("COURSE_PROGRESS_BARS", "1").strip().lower() in {"0", "false", "no", "off"}:
        yield from iterable
        return
    from tqdm.auto import tqdm

    bar = tqdm(iterable, desc=desc, total=total, unit=unit, leave=False, mininterval=0.5)
    _OPEN_BARS.add(bar)
    try:
        yield from bar
    finally:
        bar.close()


#: the bars :func:`progress` opened; an interrupted loop's generator stays alive in the traceback,
#: so its ``finally`` does not run until :func:`close_progress_bars` (called after every cell)
_OPEN_BARS: weakref.WeakSet = weakref.WeakSet()


def close_progress_bars() -> int:
    """Close every progress bar of :func:`progress` that is still open; returns how many there were.

    ``config.setup_notebook`` runs this after every notebook cell, so a loop the student
    interrupted (KeyboardInterrupt) does not leave its bar drawn under later cells.
    """
    still_open = [bar for bar in list(_OPEN_BARS) if not bar.disable]
    for bar in still_open:
        bar.close()
    _OPEN_BARS.clear()
    return len(still_open)


def timed(fn: Callable[..., T], *args, repeat: int = 3, **kwargs) -> tuple[float, T]:
    """``(best wall-clock seconds over repeat runs, result of the last run)`` of ``fn(*args, **kwargs)``."""
    best, result = np.inf, None
    for _ in range(max(1, int(repeat))):
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return float(best), result


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    """``with stopwatch() as t: ...`` then ``t["seconds"]`` holds the elapsed wall-clock time."""
    box = {"seconds": float("nan")}
    t0 = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - t0


def running_mean(v, window: int = 100) -> np.ndarray:
    """Mean of the last ``window`` values at each position (shorter windows at the start)."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    v = np.asarray(v, dtype=np.float64)
    c = np.cumsum(np.concatenate([[0.0], v]))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[1:] - c[lo]) / (idx - lo)


def ewma(v, beta: float, bias_correction: bool = True) -> np.ndarray:
    """Exponentially weighted moving average ``m_t = β m_{t−1} + (1 − β) v_t`` with ``m_0 = 0``.

    Starting from 0 biases the early averages towards 0: the weights sum to
    ``1 − βᵗ``, not 1. ``bias_correction`` divides by that sum.
    """
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    m, out = 0.0, []
    for t, x in enumerate(np.asarray(v, dtype=np.float64), start=1):
        m = beta * m + (1 - beta) * x
        out.append(m / (1 - beta ** t) if bias_correction else m)
    return np.array(out)


def as_images(images, shape: tuple[int, int] | None = None) -> np.ndarray:
    """``(n, h, w)`` images from ``(n, h, w)`` or flattened ``(n, h*w)`` rows (square unless ``shape`` is given)."""
    images = np.asarray(images)
    if images.ndim == 2:
        if shape is None:
            side = int(round(np.sqrt(images.shape[1])))
            if side * side != images.shape[1]:
                raise ValueError(f"rows of length {images.shape[1]} are not square images; pass shape=(h, w)")
            shape = (side, side)
        return images.reshape(len(images), *shape)
    if images.ndim != 3:
        raise ValueError(f"images must have shape (n, h, w) or (n, h*w), got {images.shape}")
    return images
