r"""Deep Q-learning (DQN): a replay buffer, a Q-network, a target network, in PyTorch (chapter 20).

Contract:

- A Q-network is a torch ``nn.Sequential`` from an observation ``(n_obs,)`` to one
  value per action ``(n_actions,)``; the greedy action is the arg-max.
- A transition is ``(obs, action, reward, next_obs, terminated)``. ``terminated``
  means the environment reached a terminal state (the pole fell, the agent fell in
  a hole): the return after it is 0, so the target does not bootstrap. A time-limit
  *truncation* is not termination: the state after it still has a value, so the
  target bootstraps as usual (the ``(1 - terminated)`` mask, never ``(1 - done)``).
- The regression target of one transition is
  :math:`y = r + \gamma\,(1 - \mathrm{terminated})\,\max_{a'} Q_{\theta^-}(s', a')`
  with the *target network* :math:`\theta^-`, a copy of the online network
  :math:`\theta` refreshed every few updates; the loss is the Huber loss between
  :math:`Q_\theta(s, a)` and :math:`y` (quadratic within 1 of the target, linear
  beyond, so one surprising return does not produce a huge gradient).
- Randomness comes from explicit generators only: ``np.random.Generator`` for the
  buffer's sampling and for exploration, ``torch.manual_seed(seed)`` for the
  initial weights, ``env.reset(seed=...)`` for the environment. A run is
  reproducible (on one thread).
- Discrete observations (FrozenLake's state index) are fed to the network as
  one-hot vectors (``one_hot``).

Contents: :class:`ReplayBuffer`, ``make_q_net``, ``linear_epsilon``, ``one_hot``,
``dqn_targets``, ``dqn_loss``, ``copy_to_target``, :class:`DQNResult`, ``train_dqn``,
``greedy_actions``.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import base
from .rollouts import lockstep_episodes, numpy_forward


# ======================================================================= pieces
class ReplayBuffer:
    """A fixed-size store of transitions; the oldest is overwritten once it is full.

    ``add`` stores one transition; ``sample(batch_size)`` draws indices uniformly
    *with replacement* from the transitions stored so far, using the generator given
    at construction, and returns float32/int64 tensors ``(obs, actions, rewards,
    next_obs, terminated)``.
    """

    def __init__(self, capacity: int, n_obs: int, rng: np.random.Generator):
        if capacity < 1:
            raise ValueError(f"the buffer needs room for at least one transition, got capacity {capacity}")
        self.capacity, self.rng = int(capacity), rng
        self.obs = np.zeros((capacity, n_obs), np.float32)
        self.next_obs = np.zeros((capacity, n_obs), np.float32)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.float32)
        self.size, self.pos = 0, 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action: int, reward: float, next_obs, terminated: bool) -> None:
        i = self.pos
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, float(terminated)
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> tuple[torch.Tensor, ...]:
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer: add transitions first")
        idx = self.rng.integers(self.size, size=batch_size)
        return (torch.from_numpy(self.obs[idx]), torch.from_numpy(self.actions[idx]),
                torch.from_numpy(self.rewards[idx]), torch.from_numpy(self.next_obs[idx]),
                torch.from_numpy(self.terminated[idx]))


def make_q_net(n_obs: int = 4, n_actions: int = 2, hidden: Sequence[int] = (128, 128), seed: int = 0) -> nn.Sequential:
    """An MLP ``n_obs -> hidden... -> n_actions`` with ReLU, PyTorch's default initialisation seeded by ``seed``."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for n_in, n_out in zip((n_obs, *hidden), hidden):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    layers.append(nn.Linear(hidden[-1] if hidden else n_obs, n_actions))
    return nn.Sequential(*layers)


def linear_epsilon(step: int, start: float = 1.0, end: float = 0.04, decay_steps: int = 8000) -> float:
    """Exploration rate after ``step`` environment steps: linear from ``start`` to ``end``, then constant."""
    if decay_steps <= 0:
        return float(end)
    frac = min(max(step / decay_steps, 0.0), 1.0)
    return float(start + frac * (end - start))


def one_hot(states, n: int) -> np.ndarray:
    """Integer states ``(m,)`` (or one integer) as float32 one-hot rows ``(m, n)`` (or ``(n,)``)."""
    return np.eye(n, dtype=np.float32)[np.asarray(states, np.int64)]


def dqn_targets(rewards: torch.Tensor, next_q: torch.Tensor, terminated: torch.Tensor, gamma: float) -> torch.Tensor:
    r"""Regression targets :math:`r + \gamma (1 - \mathrm{terminated}) \max_{a'} Q^-(s', a')`, shape ``(batch,)``.

    ``next_q`` ``(batch, n_actions)`` are the *target network's* values of the next states.
    """
    return rewards + gamma * (1.0 - terminated) * next_q.max(dim=1).values


def dqn_loss(q_net: nn.Module, target_net: nn.Module, batch: Sequence[torch.Tensor], gamma: float,
             double: bool = False) -> torch.Tensor:
    """The Huber loss between :math:`Q_\\theta(s, a)` and the targets of ``dqn_targets`` (no gradient through them).

    ``double`` uses the Double-DQN target: the online network chooses the next action,
    the target network values it.
    """
    obs, actions, rewards, next_obs, terminated = batch
    q = q_net(obs).gather(1, actions[:, None]).squeeze(1)
    with torch.no_grad():
        next_q = target_net(next_obs)
        if double:
            best = q_net(next_obs).argmax(dim=1, keepdim=True)
            next_q = next_q.gather(1, best)
        y = dqn_targets(rewards, next_q, terminated, gamma)
    return nn.functional.smooth_l1_loss(q, y)


def copy_to_target(q_net: nn.Module, target_net: nn.Module) -> None:
    """Hard update: the target network's weights become a copy of the online network's (no shared storage)."""
    target_net.load_state_dict(q_net.state_dict())


def greedy_actions(q_net: nn.Module, obs: np.ndarray) -> np.ndarray:
    """Arg-max actions of ``q_net`` for a batch of observations ``(m, n_obs)`` (ties to the smallest action)."""
    with torch.no_grad():
        return q_net(torch.as_tensor(np.asarray(obs, np.float32))).argmax(dim=1).numpy()


# ===================================================================== training
@dataclass
class DQNResult:
    """What :func:`train_dqn` returns.

    ``q_net`` holds the weights with the best greedy evaluation (``best_return``, found
    after ``best_step`` environment steps). ``episode_steps``/``episode_returns`` are the
    training episodes (ε-greedy) by the environment step at which they ended
    (``episode_seconds``: the wall time since the start of training);
    ``eval_steps``/``eval_returns``/``eval_times`` the periodic greedy evaluations (``eval_times``:
    wall time since the start, when the evaluation ended);
    ``losses`` the mean Huber loss of each round of updates.
    """

    q_net: nn.Module
    best_return: float
    best_step: int
    env_steps: int
    updates: int
    seconds: float
    episode_steps: np.ndarray
    episode_seconds: np.ndarray
    episode_returns: np.ndarray
    eval_steps: np.ndarray
    eval_returns: np.ndarray
    losses: np.ndarray
    eval_times: np.ndarray
    solved: bool = False
    message: str = ""


def train_dqn(env_id: str = "CartPole-v1", max_steps: int = 60_000, gamma: float = 0.99, lr: float = 2.3e-3,
              hidden: Sequence[int] = (128, 128), batch_size: int = 64, buffer_size: int = 100_000,
              train_every: int = 256, updates_per_round: int = 128, target_every: int = 128,
              max_grad_norm: float | None = 10.0, double: bool = False,
              eps_start: float = 1.0, eps_end: float = 0.04, eps_decay_steps: int = 8000,
              learning_starts: int = 1000, eval_every: int = 2000, eval_episodes: int = 20, eval_seed: int = 10_000,
              stop_at: float | None = 500.0, one_hot_states: bool = False, seed: int = 0,
              env_kwargs: dict | None = None, progress: bool = True,
              make_env: Callable[[], object] | None = None) -> DQNResult:
    """Train a DQN; keep the weights of the best periodic greedy evaluation.

    The agent acts ε-greedily with the online network (ε from :func:`linear_epsilon`)
    and stores every transition in a :class:`ReplayBuffer`. Once ``learning_starts``
    transitions are stored, every ``train_every`` environment steps it takes
    ``updates_per_round`` Adam steps on :func:`dqn_loss` with minibatches of
    ``batch_size``; after every ``target_every`` Adam steps it copies the online
    network into the target network. Every ``eval_every`` environment steps the
    *greedy* policy plays ``eval_episodes`` episodes (seeds ``eval_seed + i``); the best
    weights so far are kept, and training stops early once an evaluation averages
    ``stop_at`` (``None``: never). Training episodes use seeds ``1_000_000 * (seed + 1) + k``.

    ``one_hot_states`` feeds a discrete observation (FrozenLake's state) as a one-hot
    vector. ``make_env`` overrides ``gym.make(env_id, **env_kwargs)``.
    """
    import gymnasium as gym

    def new_env():
        return make_env() if make_env is not None else gym.make(env_id, **(env_kwargs or {}))

    env = new_env()
    eval_envs = [new_env() for _ in range(eval_episodes)]
    n_actions = int(env.action_space.n)
    n_obs = int(env.observation_space.n) if one_hot_states else int(np.prod(env.observation_space.shape))
    encode = (lambda s: one_hot(s, n_obs)) if one_hot_states else (lambda s: np.asarray(s, np.float32))

    rng = np.random.default_rng(seed)
    q_net = make_q_net(n_obs, n_actions, hidden, seed=seed)
    target_net = make_q_net(n_obs, n_actions, hidden, seed=seed)
    copy_to_target(q_net, target_net)
    best = make_q_net(n_obs, n_actions, hidden, seed=seed)
    copy_to_target(q_net, best)
    opt = torch.optim.Adam(q_net.parameters(), lr=lr, fused=True)  # fused: one kernel per step, ~2x faster here
    buffer = ReplayBuffer(buffer_size, n_obs, rng)
    forward = numpy_forward(q_net)  # acting copy, refreshed after every round of updates

    ep_steps, ep_secs, ep_returns, ev_steps, ev_returns, ev_times, losses = [], [], [], [], [], [], []
    best_return, best_step, updates, episode, solved = -np.inf, 0, 0, 0, False
    obs = encode(env.reset(seed=1_000_000 * (seed + 1))[0])
    total = 0.0
    t0 = time.perf_counter()
    step = 0
    for step in base.progress(range(1, max_steps + 1), desc="DQN", unit="step", show=progress):
        if rng.random() < linear_epsilon(step - 1, eps_start, eps_end, eps_decay_steps):
            a = int(rng.integers(n_actions))
        else:
            a = int(np.argmax(forward(obs)))
        s2, r, terminated, truncated, _ = env.step(a)
        next_obs = encode(s2)
        buffer.add(obs, a, r, next_obs, terminated)
        obs, total = next_obs, total + r
        if terminated or truncated:
            episode += 1
            ep_steps.append(step)
            ep_secs.append(time.perf_counter() - t0)
            ep_returns.append(total)
            obs, total = encode(env.reset(seed=1_000_000 * (seed + 1) + episode)[0]), 0.0
        if step % train_every == 0 and len(buffer) >= learning_starts:
            round_loss = 0.0
            for _ in range(updates_per_round):
                loss = dqn_loss(q_net, target_net, buffer.sample(batch_size), gamma, double)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if max_grad_norm is not None:
                    nn.utils.clip_grad_norm_(q_net.parameters(), max_grad_norm)
                opt.step()
                round_loss += loss.item()
                updates += 1
                if updates % target_every == 0:
                    copy_to_target(q_net, target_net)
            losses.append(round_loss / updates_per_round)
            forward = numpy_forward(q_net)
        if step % eval_every == 0:
            score = _greedy_score(forward, eval_envs, eval_seed, encode)
            ev_times.append(time.perf_counter() - t0)
            ev_steps.append(step)
            ev_returns.append(score)
            if score > best_return:
                best_return, best_step = score, step
                copy_to_target(q_net, best)
            if stop_at is not None and score >= stop_at:
                solved = True
                break
    message = "" if solved or stop_at is None else f"no greedy evaluation reached {stop_at:g} in {max_steps} steps"
    return DQNResult(best, float(best_return), best_step, step, updates, time.perf_counter() - t0,
                     np.array(ep_steps), np.array(ep_secs), np.array(ep_returns), np.array(ev_steps), np.array(ev_returns),
                     np.array(losses), np.array(ev_times), solved, message)


def _greedy_score(forward, envs, seed: int, encode) -> float:
    """Mean return of the greedy policy of ``forward`` on one episode per env (seeds ``seed + i``)."""
    traj = lockstep_episodes(envs, [seed + i for i in range(len(envs))],
                             lambda obs: forward(encode(obs)).argmax(axis=1))
    return float(np.mean([sum(t[2]) for t in traj]))

