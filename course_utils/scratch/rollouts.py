"""Playing episodes of a neural policy in gymnasium environments, many side by side (chapter 20).

Contract:

- Environments are gymnasium ones with a vector observation (CartPole-v1); each
  episode is seeded through ``env.reset(seed=...)``, so the same seeds replay the
  same episodes for the same actions.
- ``act(obs)`` maps a batch of observations ``(m, n_obs)`` (float32) to ``m``
  integer actions; it is called once per time step for the episodes still running.
- Acting needs no gradients: ``numpy_forward`` copies a torch ``nn.Sequential`` of
  ``Linear`` layers and ``Tanh``/``ReLU`` activations into a NumPy function, which is
  about 20× faster than calling torch on one observation at a time.

Contents: ``make_envs``, ``numpy_forward``, ``lockstep_episodes``, ``evaluate_greedy``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from torch import nn

_NUMPY_ACTIVATIONS = {nn.Tanh: np.tanh, nn.ReLU: lambda x: np.maximum(x, 0.0)}


def make_envs(n: int, env_id: str = "CartPole-v1") -> list:
    """``n`` independent gymnasium environments (no download: the classic-control ones ship with gymnasium)."""
    import gymnasium as gym

    return [gym.make(env_id) for _ in range(n)]


def numpy_forward(net: nn.Sequential) -> Callable[[np.ndarray], np.ndarray]:
    """A NumPy copy of the forward pass of ``net`` (``Linear`` layers with ``Tanh``/``ReLU`` between them).

    The weights are copied now: later training of ``net`` does not change the copy.
    """
    steps: list[Callable[[np.ndarray], np.ndarray]] = []
    for layer in net:
        if isinstance(layer, nn.Linear):
            W = layer.weight.detach().numpy().T.copy()
            b = layer.bias.detach().numpy().copy()
            steps.append(lambda x, W=W, b=b: x @ W + b)
        elif type(layer) in _NUMPY_ACTIVATIONS:
            steps.append(_NUMPY_ACTIVATIONS[type(layer)])
        else:
            raise ValueError(f"numpy_forward handles Linear, Tanh and ReLU layers, not {type(layer).__name__}")

    def forward(obs: np.ndarray) -> np.ndarray:
        for f in steps:
            obs = f(obs)
        return obs

    return forward


def lockstep_episodes(envs: Sequence, seeds: Sequence[int], act: Callable[[np.ndarray], np.ndarray],
                      max_return: float = 500.0, target: float | None = None) -> list[tuple[list, list, list]]:
    """Run one episode in each env side by side; ``act(obs (m, n_obs)) -> actions (m,)`` for the live ones.

    Returns per env the lists of observations, actions and rewards. With ``target``, stops
    early (returning the partial episodes) once the mean return can no longer reach it.
    """
    obs = np.stack([e.reset(seed=int(sd))[0] for e, sd in zip(envs, seeds)]).astype(np.float32)
    live = list(range(len(envs)))
    traj: list[tuple[list, list, list]] = [([], [], []) for _ in envs]
    lost = 0.0  # return that finished episodes fell short of max_return
    while live:
        actions = act(obs[live])
        still = []
        for i, a in zip(live, actions):
            o, r, terminated, truncated, _ = envs[i].step(int(a))
            traj[i][0].append(obs[i].copy())
            traj[i][1].append(int(a))
            traj[i][2].append(float(r))
            obs[i] = o
            if not (terminated or truncated):
                still.append(i)
            else:
                lost += max_return - sum(traj[i][2])
        live = still
        if target is not None and max_return - lost / len(envs) < target:
            break
    return traj


def evaluate_greedy(net: nn.Sequential, n_episodes: int = 20, seed: int = 10_000, envs: Sequence | None = None,
                    target: float | None = None, env_id: str = "CartPole-v1") -> np.ndarray:
    """Returns of the *greedy* policy (arg-max of ``net``'s outputs) on ``n_episodes`` episodes, seeds ``seed + i``.

    ``net`` may output action logits (a policy) or action values (a Q-network): the
    greedy action is the arg-max either way. With ``target``, play stops as soon as the
    mean return can no longer reach it; the returns are then lower bounds (enough to say
    "not yet").
    """
    envs = envs if envs is not None and len(envs) >= n_episodes else make_envs(n_episodes, env_id)
    forward = numpy_forward(net)
    traj = lockstep_episodes(envs[:n_episodes], [seed + i for i in range(n_episodes)],
                             lambda obs: forward(obs).argmax(axis=1), target=target)
    return np.array([sum(t[2]) for t in traj])
