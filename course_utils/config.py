"""Run-time configuration shared by every notebook.

- ``quick_mode()`` is true when the environment variable ``COURSE_QUICK`` is set
  to ``1``/``true``/``yes``. Notebooks read it in their ``parameters`` cell to
  pick smaller sizes; CI uses it where a second run of a notebook proves nothing new.
- ``seed_everything(seed)`` seeds Python, NumPy's legacy global state and torch,
  for code we do not control. Our own functions take an explicit ``rng``.
- ``preserved_rng()`` puts every global random state back after a block (widget frames).
- ``get_device()`` picks CUDA, then Apple's MPS, then the CPU.
- ``setup_notebook()`` is the one call at the top of every chapter;
  ``warm_torch=True`` also pays ``torch.optim``'s one-time import up front
  (:func:`warm_torch_optim`).
"""
from __future__ import annotations

import os
import random
from contextlib import contextmanager

import numpy as np

_TRUE = {"1", "true", "yes", "on"}


def env_flag(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable (``1/true/yes/on`` mean true)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in _TRUE


def quick_mode() -> bool:
    """True when ``COURSE_QUICK`` asks for the small, fast version of each notebook."""
    return env_flag("COURSE_QUICK")


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (seeding the legacy global state is the point: code we do not control reads it)
    try:
        import torch
    except ImportError:  # torch is a dependency, but doctor must work without it
        return
    torch.manual_seed(seed)


@contextmanager
def preserved_rng():
    """Run the block, then put back the state of Python's ``random``, NumPy's global generator and torch's.

    For work that runs at a time the notebook does not choose, such as a widget frame drawn
    because a slider moved: a frame function may call ``torch.manual_seed``, and the cells
    run after it must get the same random numbers whether or not a student touched the slider.
    torch's generator is restored only if torch is already imported (its CPU generator; a
    frame does not draw on a GPU).
    """
    import sys

    state = random.getstate(), np.random.get_state()  # noqa: NPY002 (the legacy global state is what we protect)
    torch = sys.modules.get("torch")
    torch_state = torch.random.get_rng_state() if torch is not None else None
    try:
        yield
    finally:
        random.setstate(state[0])
        np.random.set_state(state[1])  # noqa: NPY002
        if torch_state is not None:
            torch.random.set_rng_state(torch_state)


def get_device(prefer: str | None = None):
    """Return a ``torch.device``: ``prefer`` if given, else CUDA, MPS or CPU.

    The environment variable ``COURSE_DEVICE`` overrides the automatic choice,
    e.g. ``COURSE_DEVICE=cpu`` to compare against the tested results.
    """
    import torch

    choice = prefer or os.environ.get("COURSE_DEVICE")
    if choice:
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def warm_torch_optim() -> None:
    """Import what ``torch.optim`` needs on its first ``step()``, now.

    Every ``torch.optim`` optimiser's ``step`` (and its constructor) imports
    ``torch._dynamo``, PyTorch's compiler front end, on first use: about 1.3 s on a
    2-core laptop (2–5 s when the machine is busy), once per process. The course never
    compiles, but the import cannot be skipped; paying it here, in the set-up cell,
    keeps it out of the first training cell, where it would look like slow training.
    """
    import torch._dynamo  # noqa: F401


def _close_bars_after_each_cell() -> None:
    """In IPython, close progress bars a cell left open (it was interrupted) once the cell ends."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "_course_closes_bars", False):
        return
    from .base import close_progress_bars

    shell.events.register("post_run_cell", lambda result=None: close_progress_bars())
    shell._course_closes_bars = True


def setup_notebook(seed: int = 0, threads: int | None = None, warm_torch: bool = False) -> None:
    """Apply the house plotting style, seed every library, cap torch's threads.

    ``threads`` defaults to ``COURSE_THREADS`` or, failing that, torch's choice.
    Small models on a laptop are often *faster* with few threads. ``warm_torch``
    calls :func:`warm_torch_optim` (chapters that train with ``torch.optim``).
    The first call in a process then freezes what is alive (:func:`freeze_imports`).
    """
    from . import plotting

    plotting.use_style()
    _close_bars_after_each_cell()
    seed_everything(seed)
    n = threads or (int(os.environ["COURSE_THREADS"]) if os.environ.get("COURSE_THREADS") else None)
    if n:
        import torch

        torch.set_num_threads(n)
    if warm_torch:
        warm_torch_optim()
    freeze_imports()


@contextmanager
def one_thread():
    """Run the block with torch on one thread, then restore the thread count.

    For results that must be the same whatever the notebook's thread setting: what is
    kept in the disk cache or shipped under ``data/`` and read back in other chapters.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


_FROZEN = []


def freeze_imports() -> bool:
    """``gc.freeze()`` once per process: the cyclic garbage collector stops re-scanning what exists now.

    After the set-up cell that is mostly imported code (torch, torch._dynamo, Matplotlib: about
    330,000 objects), which lives as long as the kernel. Python's full collections scan every
    tracked object, so each took about 0.2 s here, and a chapter triggers 4–9 of them (in training
    loops and in the middle of widget frames). Measured on chapter 17: 1.6–1.7 s in full
    collections, 0.9–1.2 s after freezing. Only the first call freezes: on a second Run All,
    the first run's figures and arrays are alive or garbage, and freezing garbage would keep it
    forever. Returns whether this call froze.
    """
    import gc

    if _FROZEN:
        return False
    gc.freeze()
    _FROZEN.append(True)
    return True
