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

Contents: ``make_policy_net``, :class:`ReinforceResult`, ``reinforce_weights``,
``reinforce_cartpole``, ``fit_value`` and ``gradient_estimates`` (the estimator's spread at a fixed policy).
"""
from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

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
    """What :func:`reinforce_cartpole` returns.

    ``history`` holds per update ``update``, ``train_return`` (the batch's mean return),
    ``env_steps`` (environment steps so far) and ``seconds`` (wall time so far), and per
    greedy evaluation ``eval_update``/``eval_return``/``eval_passed``. ``snapshots`` maps an
    update number to copies of the policy's and the value network's weights *before*
    that update.
    """

    policy: nn.Sequential
    value: nn.Sequential
    history: dict[str, list[float]]
    solved: bool
    updates: int
    episodes: int
    seconds: float
    message: str = ""
    snapshots: dict[int, tuple[dict, dict]] = field(default_factory=dict, repr=False)


def reinforce_weights(returns: torch.Tensor, baseline: torch.Tensor, times: torch.Tensor, gamma: float,
                      discount_states: bool = False, standardise: bool = True) -> torch.Tensor:
    r"""The weight of each :math:`\nabla\log\pi(A_t|S_t)` in the REINFORCE estimate, shape ``(N,)``.

    :math:`A_t = G_t - b(S_t)` (reward-to-go minus baseline), times :math:`\gamma^t` when
    ``discount_states`` (the exact gradient of :math:`J = \mathbb{E}[G_0]`); without it, the
    common *undiscounted state weighting*, which is not the gradient of :math:`J` but of
    the undiscounted objective with :math:`\gamma` shortening the credit horizon.
    ``standardise`` then rescales the batch to mean 0 and standard deviation 1.
    """
    adv = (returns - baseline).detach()
    if discount_states:
        adv = adv * gamma ** times
    if standardise:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    return adv


def _batch_tensors(traj, gamma: float):
    obs = torch.from_numpy(np.concatenate([np.array(t[0]) for t in traj]))
    actions = torch.as_tensor(np.concatenate([t[1] for t in traj]))
    G = torch.from_numpy(np.concatenate([discounted_returns(t[2], gamma) for t in traj])).float()
    times = torch.from_numpy(np.concatenate([np.arange(len(t[2])) for t in traj])).float()
    return obs, actions, G, times


def _sampler(policy: nn.Sequential, rng: np.random.Generator):
    forward = numpy_forward(policy)

    def act(obs):  # sample a ~ softmax(logits) by inverting the CDF with explicit uniforms
        z = forward(obs)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return (rng.random((len(obs), 1)) > np.cumsum(p, axis=1)[:, :-1]).sum(axis=1)

    return act


def reinforce_cartpole(max_updates: int = 300, batch_episodes: int = 8, gamma: float = 0.99, lr: float = 0.01,
                       hidden: int = 32, baseline: bool = True, discount_states: bool = False,
                       standardise: bool = True, seed: int = 0, eval_every: int = 5, eval_episodes: int = 10,
                       target: float = 475.0, snapshot_at: Sequence[int] = (), progress: bool = True
                       ) -> ReinforceResult:
    r"""REINFORCE with a learned baseline on CartPole-v1.

    Each update plays ``batch_episodes`` episodes with the stochastic policy
    :math:`\pi_\theta(a|s) = \mathrm{softmax}(f_\theta(s))`, computes every step's
    reward-to-go :math:`G_t`, and takes one Adam step on
    :math:`-\frac{1}{N}\sum_t \log\pi_\theta(a_t|s_t)\,w_t` with the weights
    :math:`w_t` of :func:`reinforce_weights` (by default: :math:`G_t - b(s_t)`, no
    :math:`\gamma^t`, standardised over the batch). The baseline :math:`b` is a value
    network fitted to :math:`G_t` by mean squared error, divided by the batch variance of
    :math:`G_t` so its scale does not depend on the episode lengths (``baseline=False``
    uses :math:`b = 0`). Every ``eval_every`` updates the *greedy* policy plays
    ``eval_episodes`` validation episodes (seeds ``10_000 + i``); training stops once their
    mean return reaches ``target``, or after ``max_updates`` updates. Training episodes
    use seeds ``1_000_000 * (seed + 1) + episode``; actions are sampled with
    ``np.random.default_rng(seed)`` from a NumPy copy of the policy net (acting needs no
    gradients).
    """
    policy = make_policy_net(hidden=hidden, seed=seed)
    value = make_policy_net(n_actions=1, hidden=hidden, seed=seed + 1)
    opt = torch.optim.Adam(list(policy.parameters()) + list(value.parameters()), lr=lr)
    rng = np.random.default_rng(seed)
    envs = make_envs(max(batch_episodes, eval_episodes))
    hist: dict[str, list[float]] = {"update": [], "train_return": [], "env_steps": [], "seconds": [],
                                    "eval_update": [], "eval_return": [], "eval_passed": []}
    snapshots: dict[int, tuple[dict, dict]] = {}

    t0, episodes, steps, solved, k = time.perf_counter(), 0, 0, False, 0
    for k in base.progress(range(1, max_updates + 1), desc="REINFORCE", unit="update", show=progress):
        if k in snapshot_at:
            snapshots[k] = (copy.deepcopy(policy.state_dict()), copy.deepcopy(value.state_dict()))
        seeds = [1_000_000 * (seed + 1) + episodes + i for i in range(batch_episodes)]
        traj = lockstep_episodes(envs[:batch_episodes], seeds, _sampler(policy, rng))
        episodes += batch_episodes
        obs, actions, G, times = _batch_tensors(traj, gamma)
        logp = torch.log_softmax(policy(obs), dim=1).gather(1, actions[:, None]).squeeze(1)
        b = value(obs).squeeze(1) if baseline else torch.zeros_like(G)
        w = reinforce_weights(G, b, times, gamma, discount_states, standardise)
        loss = -(logp * w).mean() + (((G - b) ** 2).mean() / (G.var() + 1e-8) if baseline else 0.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += len(G)
        hist["update"].append(k)
        hist["train_return"].append(float(np.mean([len(t[2]) for t in traj])))
        hist["env_steps"].append(steps)
        hist["seconds"].append(time.perf_counter() - t0)
        if k % eval_every == 0:
            score = float(evaluate_greedy(policy, eval_episodes, seed=10_000, envs=envs, target=target).mean())
            hist["eval_update"].append(k)
            hist["eval_return"].append(score)
            hist["eval_passed"].append(score >= target)
            if score >= target:
                solved = True
                break
    message = "" if solved else f"not solved within {max_updates} updates"
    return ReinforceResult(policy, value, hist, solved, k, episodes, time.perf_counter() - t0, message, snapshots)


def fit_value(policy: nn.Sequential, n_episodes: int = 40, gamma: float = 0.99, hidden: int = 32, steps: int = 300,
              lr: float = 1e-2, seed: int = 0) -> nn.Sequential:
    """A value network fitted by mean squared error to the reward-to-go of ``n_episodes`` episodes of ``policy``.

    An estimate of :math:`v_\\pi` for a *fixed* policy (full-batch Adam, ``steps`` steps,
    episodes seeded apart from those of :func:`gradient_estimates`).
    """
    envs = make_envs(n_episodes)
    seeds = [3_000_000_000 + seed * 100_000 + j for j in range(n_episodes)]
    obs, _, G, _ = _batch_tensors(lockstep_episodes(envs, seeds, _sampler(policy, np.random.default_rng(seed))), gamma)
    value = make_policy_net(n_obs=obs.shape[1], n_actions=1, hidden=hidden, seed=seed)
    opt = torch.optim.Adam(value.parameters(), lr=lr)
    scale = float(G.std()) + 1e-8
    for _ in range(steps):  # fit G / scale: targets of order 1 suit the default initialisation
        loss = ((value(obs).squeeze(1) - G / scale) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():  # fold the scale into the last layer
        value[-1].weight.mul_(scale)
        value[-1].bias.mul_(scale)
    return value


def gradient_estimates(policy: nn.Sequential, values: dict[str, nn.Module], n_batches: int,
                       batch_episodes: int = 4, gamma: float = 0.99, seed: int = 0) -> dict[str, np.ndarray]:
    r"""Raw REINFORCE gradient estimates of a *fixed* policy, one per batch, with several baselines.

    For each of ``n_batches`` batches of ``batch_episodes`` sampled episodes the estimate is
    :math:`\hat g = \frac{1}{M}\sum_{\text{episodes}} \sum_t \nabla_\theta \log\pi_\theta(A_t|S_t)\,(G_t - b(S_t))`
    (undiscounted state weighting, no standardisation), with :math:`b = 0` (``"none"``),
    :math:`b` = the batch's mean reward-to-go (``"batch mean"``, what standardising
    subtracts) and :math:`b = v(S_t)` for each network of ``values`` (by its name). All use
    the *same* episodes (common random numbers), so their spread differs only through
    the baseline. Returns ``{name: (n_batches, n_parameters)}``.
    """
    envs = make_envs(batch_episodes)
    act = _sampler(policy, np.random.default_rng(seed))
    params = list(policy.parameters())
    out: dict[str, list[np.ndarray]] = {name: [] for name in ["none", "batch mean", *values]}
    for i in range(n_batches):
        seeds = [2_000_000_000 + seed * 100_000 + i * batch_episodes + j for j in range(batch_episodes)]
        obs, actions, G, _ = _batch_tensors(lockstep_episodes(envs, seeds, act), gamma)
        logp = torch.log_softmax(policy(obs), dim=1).gather(1, actions[:, None]).squeeze(1)
        with torch.no_grad():
            baselines = {"none": torch.zeros_like(G), "batch mean": G.mean().expand_as(G)}
            baselines.update({name: net(obs).squeeze(1) for name, net in values.items()})
        for name, b in baselines.items():
            grads = torch.autograd.grad((logp * (G - b)).sum() / batch_episodes, params, retain_graph=True)
            out[name].append(torch.cat([g.reshape(-1) for g in grads]).numpy().copy())
    return {name: np.array(v) for name, v in out.items()}
