"""Helpers for the course notebooks, in three tiers on a small foundation (CONTRIBUTING.md).

- ``course_utils.scratch``: what students read, the from-scratch algorithms (NumPy, with
  PyTorch twins), one module per concept: ``layers``, ``losses``, ``metrics``, ``knn``,
  ``perceptron``, ``regression``, ``logistic``, ``mlp``, ``autodiff``, ``optimizers``, …
- ``course_utils.chapters``: one module per chapter (``ch01_learning_basics`` …): its
  figures, widget frames, experiments and exercise checks.
- The platform: ``config`` (quick mode, seeding, device), ``data`` (offline data sets),
  ``plotting`` (the house style), ``widgets`` (interactive figures that also work in the
  static book), ``checks`` (exercise checks), ``training`` (a PyTorch training loop),
  ``results`` (recorded numbers), ``notebooks`` (student copies), ``tracking`` (a
  student's progress), ``grading``, ``profiles`` (course subsets), ``cache`` (per-user
  disk cache), ``doctor`` and ``offline_guard``.
- ``base``: the foundation every tier may import (divergence test, progress bars,
  timers, moving averages).

Math functions are pure: arrays in, arrays out, randomness through an explicit
``rng`` (``np.random.default_rng(seed)``) or ``torch.Generator``.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .config import get_device, quick_mode, seed_everything, setup_notebook  # noqa: F401
