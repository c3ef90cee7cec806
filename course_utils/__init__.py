"""Helpers for the course notebooks.

One module per concept, each opening with the contract it keeps:

- ``config``: quick mode, seeding, device choice, notebook set-up
- ``data``: offline data sets (2-D toys, digits, MNIST sample, photo, text)
- ``plotting``: the house style and the course's standard figures
- ``widgets``: interactive figures that also work in the static book
- ``training``: a small PyTorch training loop with a progress bar and history
- ``gradcheck``: finite-difference gradient checking for the from-scratch code
- ``layers``: from-scratch layers: ``forward -> (out, cache)``, ``backward``
- ``knn``: chapter 01: norms, pairwise distances and k-nearest neighbours
- ``linear``: chapter 02: perceptron, mistake bound, ADALINE, threshold gates
- ``regression``: chapter 03: least squares, GD/SGD, ridge, cross-validation
- ``classification``: chapter 04: logistic/softmax regression, GLMs
- ``mlp``: chapter 05: activation zoo, MLP forward pass, hand-built approximators
- ``autograd``: chapter 06: a scalar and a tensor reverse-mode autodiff engine
- ``optim``: chapter 07: update rules, schedules, line search, (L-)BFGS, LM
- ``diffusion``: chapter 19: schedules, forward/posterior, DDPM/DDIM, denoisers
- ``scratch.mdp``, ``scratch.tabular_rl``, ``scratch.policy_gradient``, ``scratch.rollouts``:
  chapter 20: MDPs and Bellman solves, Q-learning, REINFORCE
- ``notebooks``: student copies and output stripping (``python -m course_utils``)
- ``checks``: exercise checkers with precise feedback
- ``results``: recording a notebook's asserted numbers (determinism test)
- ``doctor``: ``python -m course_utils doctor``: is this machine ready?

Math functions are pure: arrays in, arrays out, randomness through an explicit
``rng`` (``np.random.default_rng(seed)``) or ``torch.Generator``.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .config import get_device, quick_mode, seed_everything, setup_notebook  # noqa: F401
