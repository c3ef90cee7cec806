"""A small, readable PyTorch training loop.

Contract::

    history = fit(model, train_loader, loss_fn, optimizer, epochs=10,
                  val_loader=val_loader, metrics={"acc": metrics.accuracy})
    plotting.training_curves(history, keys=["train_loss", "val_loss"])

- ``fit`` runs ``epochs`` passes over ``train_loader`` (batches of ``(x, y)``),
  moving model and batches to ``device`` (default ``config.get_device()``), and
  records per epoch ``train_loss`` (mean over examples), ``val_loss`` and each
  metric as ``train_<name>`` / ``val_<name>`` in a :class:`History`.
- A progress bar (``base.progress``) shows the epochs (``progress=False``
  hides it); it is closed even when the student interrupts the cell.
- If the loss becomes NaN or infinite, training stops, ``history.diverged`` is
  set and ``history.message`` (``base.divergence_message``) says at which epoch:
  widgets draw that message.
- Metrics are functions ``(outputs, targets) -> float``, e.g.
  ``course_utils.scratch.metrics.accuracy``.
- ``make_loader`` wraps NumPy arrays in a seeded ``DataLoader``
  (``num_workers=0``: works everywhere, and small data is faster without workers).
- ``train_steps`` is the step-based twin of ``fit``, for runs sized in optimiser steps and
  fed by a batch sampler (random text windows, generated tasks, class-balanced batches,
  random augmentations): ``train_steps(model, next_batch, loss_fn, optimizer, steps=300)``
  with ``next_batch(step) -> (x, y)``, optional gradient clipping (``clip``: the largest
  global gradient norm) and a ``scheduler`` that steps after every update (e.g. cosine
  over ``steps``); it records ``train_loss``, ``grad_norm`` (before clipping) and ``lr`` at
  every step, and stops with ``history.diverged`` on a non-finite loss. The model is left
  in eval mode.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .base import divergence_message
from .base import progress as progress_bar
from .config import get_device

Metric = Callable[[torch.Tensor, torch.Tensor], float]


class History:
    """Per-epoch numbers from :func:`fit`, as lists keyed by name."""

    def __init__(self) -> None:
        self._data: dict[str, list[float]] = defaultdict(list)
        self.diverged = False
        self.message = ""

    def append(self, **values: float) -> None:
        for k, v in values.items():
            self._data[k].append(float(v))

    def __getitem__(self, key: str) -> list[float]:
        if key not in self._data:
            raise KeyError(f"no {key!r} in history; recorded: {sorted(self._data)}")
        return self._data[key]

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def keys(self):
        return self._data.keys()

    def as_dict(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self._data.items()}

    def best(self, key: str, mode: str = "min") -> tuple[int, float]:
        """``(epoch index, value)`` of the best entry of ``key``."""
        v = np.asarray(self[key])
        i = int(np.nanargmin(v) if mode == "min" else np.nanargmax(v))
        return i, float(v[i])

    def __len__(self) -> int:
        return max((len(v) for v in self._data.values()), default=0)

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self._data.items() if v}
        return f"History({len(self)} epochs, last={last}{', diverged' if self.diverged else ''})"


def make_loader(X, y, batch_size: int = 64, shuffle: bool = True, seed: int = 0,
                x_dtype: torch.dtype = torch.float32) -> DataLoader:
    """A ``DataLoader`` over NumPy arrays (or tensors); integer ``y`` stays ``long``."""
    Xt = torch.as_tensor(np.asarray(X), dtype=x_dtype)
    y_np = np.asarray(y)
    yt = torch.as_tensor(y_np, dtype=torch.long if y_np.dtype.kind in "iub" else x_dtype)
    if len(Xt) != len(yt):
        raise ValueError(f"X has {len(Xt)} rows but y has {len(yt)}")
    g = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(Xt, yt), batch_size=batch_size, shuffle=shuffle, generator=g, num_workers=0)


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, loss_fn: Callable, metrics: Mapping[str, Metric] | None = None,
             device: torch.device | str | None = None) -> dict[str, float]:
    """Mean loss and metrics of ``model`` over ``loader`` (weighted by batch size)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    totals: dict[str, float] = defaultdict(float)
    n = 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        out = model(xb)
        m = len(xb)
        totals["loss"] += loss_fn(out, yb).item() * m
        for name, fn in (metrics or {}).items():
            totals[name] += fn(out, yb) * m
        n += m
    model.train(was_training)
    return {k: v / max(n, 1) for k, v in totals.items()}


def fit(model: nn.Module, train_loader: DataLoader, loss_fn: Callable, optimizer: torch.optim.Optimizer,
        epochs: int = 10, val_loader: DataLoader | None = None, metrics: Mapping[str, Metric] | None = None,
        scheduler=None, device: torch.device | str | None = None, progress: bool = True,
        history: History | None = None) -> History:
    """Train ``model`` and return its :class:`History` (see module docstring)."""
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    history = history if history is not None else History()  # an empty History is falsy
    bar = progress_bar(range(epochs), desc="training", unit="epoch", show=progress)
    for epoch in bar:
        model.train()
        total, n = 0.0, 0
        sums: dict[str, float] = defaultdict(float)
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            loss = loss_fn(out, yb)
            if not torch.isfinite(loss):
                history.diverged = True
                history.message = divergence_message("training", epoch + 1, loss.item())
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            m = len(xb)
            total += loss.item() * m
            n += m
            with torch.no_grad():
                for name, fn in (metrics or {}).items():
                    sums[name] += fn(out, yb) * m
        if history.diverged:
            break
        row = {"train_loss": total / max(n, 1)}
        row.update({f"train_{k}": v / max(n, 1) for k, v in sums.items()})
        if val_loader is not None:
            row.update({f"val_{k}": v for k, v in evaluate(model, val_loader, loss_fn, metrics, device).items()})
        history.append(**row)
        if scheduler is not None:
            scheduler.step()
    return history


def train_steps(model: nn.Module, next_batch: Callable[[int], tuple], loss_fn: Callable,
                optimizer: torch.optim.Optimizer, steps: int, clip: float | None = None, scheduler=None,
                device: torch.device | str | None = None, progress: bool = True, desc: str = "training",
                history: History | None = None) -> History:
    """Train ``model`` for ``steps`` optimiser steps on ``next_batch(step) -> (x, y)``; returns its per-step
    :class:`History` (``train_loss``, ``grad_norm`` before clipping, ``lr``). See the module docstring."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    model.train()
    history = history if history is not None else History()
    max_norm = clip if clip is not None else float("inf")
    for step in progress_bar(range(steps), desc=desc, unit="step", show=progress):
        xb, yb = next_batch(step)
        loss = loss_fn(model(xb.to(device)), yb.to(device))
        if not torch.isfinite(loss):
            history.diverged = True
            history.message = divergence_message(desc, step + 1, loss.item())
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        history.append(train_loss=loss.item(), grad_norm=float(norm), lr=optimizer.param_groups[0]["lr"])
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    model.eval()
    return history
