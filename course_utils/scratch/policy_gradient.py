r"""Policy gradients: REINFORCE with a learned baseline, in PyTorch (chapter 20).

Contract:

- A policy is a torch ``nn.Sequential`` from observations to action logits,
  :math:`\pi_\theta(a|s) = \mathrm{softmax}(f_\theta(s))_a`; a value network is the
  same shape with one output.
- Training runs return a :class:`ReinforceResult`; randomness comes from the
  ``seed`` argument only (torch's initialisation, a NumPy generator for sampling
  actions, and the environments' episode seeds), so a run is reproducible.
- Episodes are played with :mod:`course_utils.scratch.rollouts` (several side by
  side, acting through a NumPy copy of the policy).

Contents: ``make_policy_net``, :class:`ReinforceResult`, ``reinforce_cartpole``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import base
from .rollouts import evaluate_greedy, lockstep_episodes, make_envs, numpy_forward
from .tabular_rl import discounted_returns


def make_policy_net(n_obs: int = 4, n_actions: int = 2, hidden: int = 32, seed: int = 0) -> nn.Sequential:
    """A small MLP from observations to action logits (or, with ``n_actions=1``, to a value)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_obs, hidden), nn.Tanh(), nn.Linear(hidden, n_actions))


@dataclass
class ReinforceResult:
    """What :func:`reinforce_cartpole` returns."""

    policy: object
    value: object
    history: dict[str, list[float]]
    solved: bool
    updates: int
    episodes: int
    seconds: float
    message: str = ""


def reinforce_cartpole(max_updates: int = 300, batch_episodes: int = 8, gamma: float = 0.99, lr: float = 0.01,
                       hidden: int = 32, baseline: bool = True, seed: int = 0, eval_every: int = 5,
                       eval_episodes: int = 10, target: float = 475.0, time_limit: float | None = None,
                       progress: bool = True) -> ReinforceResult:
    r"""REINFORCE with a learned baseline on CartPole-v1.

    Each update plays ``batch_episodes`` episodes with the stochastic policy
    :math:`\pi_\theta(a|s) = \mathrm{softmax}(f_\theta(s))`, computes every step's return
    :math:`G_t`, and takes one Adam step on
    :math:`-\frac{1}{N}\sum_t \log\pi_\theta(a_t|s_t)\,(G_t - b(s_t))`; the baseline
    :math:`b` is a value network fitted to :math:`G_t` by mean squared error (``baseline=False``
    uses :math:`b = 0`). Advantages are standardised per batch. Every ``eval_every``
    updates the *greedy* policy plays ``eval_episodes`` validation episodes (seeds
    ``10_000 + i``); training stops once their mean return reaches ``target``, or after
    ``max_updates`` updates or ``time_limit`` seconds. Training episodes use seeds
    ``1_000_000 * (seed + 1) + episode``; actions are sampled with ``np.random.default_rng(seed)``
    from a NumPy copy of the policy net (acting needs no gradients). ``history`` holds
    ``update``, ``train_return`` (the batch's mean return) and ``eval_update``/``eval_passed``.
    """
    policy = make_policy_net(hidden=hidden, seed=seed)
    value = make_policy_net(n_actions=1, hidden=hidden, seed=seed + 1)
    opt = torch.optim.Adam(list(policy.parameters()) + list(value.parameters()), lr=lr)
    rng = np.random.default_rng(seed)
    envs = make_envs(max(batch_episodes, eval_episodes))
    hist: dict[str, list[float]] = {"update": [], "train_return": [], "eval_update": [], "eval_passed": []}

    t0, episodes, solved, message, k = time.perf_counter(), 0, False, "", 0
    for k in base.progress(range(1, max_updates + 1), desc="REINFORCE", unit="update", show=progress):
        seeds = [1_000_000 * (seed + 1) + episodes + i for i in range(batch_episodes)]
        forward = numpy_forward(policy)

        def act(obs):  # sample a ~ softmax(logits) by inverting the CDF with explicit uniforms
            z = forward(obs)  # noqa: B023 (act is used within this iteration only)
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            return (rng.random((len(obs), 1)) > np.cumsum(p, axis=1)[:, :-1]).sum(axis=1)

        traj = lockstep_episodes(envs[:batch_episodes], seeds, act)
        episodes += batch_episodes
        obs = torch.from_numpy(np.concatenate([np.array(t[0]) for t in traj]))
        actions = torch.as_tensor(np.concatenate([t[1] for t in traj]))
        G = torch.from_numpy(np.concatenate([discounted_returns(t[2], gamma) for t in traj])).float()
        logp = torch.log_softmax(policy(obs), dim=1).gather(1, actions[:, None]).squeeze(1)
        b = value(obs).squeeze(1) if baseline else torch.zeros_like(G)
        adv = (G - b).detach()
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        loss = -(logp * adv).mean() + (((G - b) ** 2).mean() / (G.var() + 1e-8) if baseline else 0.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        hist["update"].append(k)
        hist["train_return"].append(float(np.mean([len(t[2]) for t in traj])))
        if k % eval_every == 0:
            score = float(evaluate_greedy(policy, eval_episodes, seed=10_000, envs=envs, target=target).mean())
            hist["eval_update"].append(k)
            hist["eval_passed"].append(score >= target)
            if score >= target:
                solved = True
                break
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            message = f"stopped after {time_limit:.0f} s"
            break
    if not solved and not message:
        message = f"not solved within {max_updates} updates"
    return ReinforceResult(policy, value, hist, solved, k, episodes, time.perf_counter() - t0, message)

