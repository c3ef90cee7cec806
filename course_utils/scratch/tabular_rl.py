"""Learning from experience without a model: returns, MC and TD evaluation, Q-learning (chapter 20).

Contract:

- An episode is ``(states, actions, rewards)``: ``states`` has one more entry than
  the others (the final state) and ``rewards[t]`` follows ``actions[t]`` (the
  chapter's :math:`R_{t+1}`).
- Value estimates are float64 arrays ``(S,)``; histories of estimates are
  ``(n_episodes, S)``. Terminal states keep the value 0.
- Update rules (``td0_update``, ``q_learning_update``) return a new array and
  never modify their input.
- Randomness comes in as an explicit ``np.random.Generator``; gymnasium
  environments are seeded through ``env.reset(seed=...)`` and
  ``env.action_space.seed(...)``. A time-limit *truncation* is not a terminal
  state: its target still bootstraps from the next state.

Contents: ``discounted_returns``, ``sample_episode``, ``sample_episodes``, ``td0_update``,
``mc_evaluation``, ``td0_evaluation`` (constant or array-valued steps), batch updating
(``batch_mc_evaluation``, ``batch_td0``, ``certainty_equivalence_evaluation``), ``rms_error``, ``q_learning_update``,
``epsilon_greedy``, :class:`QLearningResult`, ``q_learning``,
``evaluate_env_policy``, ``record_episode``. The MDPs and planners are in
:mod:`course_utils.scratch.mdp`.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .. import base
from .mdp import MDP, TIE_TOL, as_stochastic, greedy_policy


def discounted_returns(rewards: Sequence[float], gamma: float) -> np.ndarray:
    r"""Returns of every step of one episode, :math:`G_t = r_{t+1} + \gamma G_{t+1}`, computed backwards.

    ``rewards[t]`` is the reward received after the action at step ``t``; the result
    has the same length (``G`` after the last reward is 0).
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    G = np.zeros_like(rewards)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        G[t] = running
    return G


def sample_episode(mdp: MDP, policy: np.ndarray, rng: np.random.Generator, start: int | None = None,
                   max_steps: int = 10_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample one episode ``(states, actions, rewards)`` of ``policy`` in ``mdp``.

    ``states`` has one more entry than ``actions`` and ``rewards`` (the final state).
    Rewards come from the MDP's ``transition_reward`` when present, else the expected ``R``.
    """
    return _episode(mdp, *_cumulative(mdp, policy), rng, start, max_steps)


def _cumulative(mdp: MDP, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.cumsum(as_stochastic(policy, mdp.n_actions), 1), np.cumsum(mdp.P, 2)


def _episode(mdp: MDP, cum_pi: np.ndarray, cum_P: np.ndarray, rng: np.random.Generator, start: int | None,
             max_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = mdp.start if start is None else int(start)
    states, actions, rewards = [s], [], []
    for _ in range(max_steps):
        if mdp.terminal[s]:
            break
        u1, u2 = rng.random(2)
        a = min(int(np.searchsorted(cum_pi[s], u1, side="right")), mdp.n_actions - 1)
        s2 = min(int(np.searchsorted(cum_P[s, a], u2, side="right")), mdp.n_states - 1)
        r = mdp.transition_reward[s, a, s2] if mdp.transition_reward is not None else mdp.R[s, a]
        actions.append(a)
        rewards.append(float(r))
        states.append(s2)
        s = s2
    return np.array(states), np.array(actions, np.int64), np.array(rewards)


def td0_update(v: np.ndarray, s: int, r: float, s_next: int, terminated: bool, alpha: float,
               gamma: float) -> np.ndarray:
    r"""One TD(0) step on a copy of ``v``: :math:`v(s) \leftarrow v(s) + \alpha\,(r + \gamma v(s') - v(s))`.

    When the episode ``terminated`` at ``s_next`` its value counts as 0.
    """
    v = np.array(v, dtype=np.float64)
    target = r + (0.0 if terminated else gamma * v[s_next])
    v[s] += alpha * (target - v[s])
    return v


def sample_episodes(mdp: MDP, policy: np.ndarray, n_episodes: int, rng: np.random.Generator,
                    max_steps: int = 10_000) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_episodes`` episodes of ``policy`` as ``(states, rewards)`` pairs (the input of the evaluators below).

    The same random numbers as ``n_episodes`` calls of :func:`sample_episode`.
    """
    cum_pi, cum_P = _cumulative(mdp, policy)
    out = []
    for _ in range(n_episodes):
        states, _, rewards = _episode(mdp, cum_pi, cum_P, rng, None, max_steps)
        out.append((states, rewards))
    return out


def _start_values(mdp: MDP, alpha, v0: float) -> np.ndarray:
    shape = np.shape(alpha) + (mdp.n_states,)
    return np.broadcast_to(np.where(mdp.terminal, 0.0, float(v0)), shape).copy()


def mc_evaluation(mdp: MDP, policy: np.ndarray, n_episodes: int, rng: np.random.Generator | None = None,
                  alpha: float | np.ndarray | None = None, v0: float = 0.0, first_visit: bool = True,
                  episodes: list | None = None) -> np.ndarray:
    r"""Monte Carlo evaluation; returns the estimates after each episode, ``(n_episodes, S)``.

    After each episode, each visited state moves towards the return that followed it:
    :math:`v(s) \leftarrow v(s) + \alpha\,(G_t - v(s))`. ``alpha=None`` uses
    :math:`\alpha = 1/n(s)` (the average of the returns seen so far; the first return
    replaces the start value); a number is a constant step; a 1-D array of ``k`` steps
    runs ``k`` evaluations side by side on the same episodes, giving ``(n_episodes, k, S)``.
    ``first_visit`` counts only the first visit of a state in an episode (otherwise
    every visit). Non-terminal estimates start at ``v0``; terminal states stay 0.
    ``episodes`` (from :func:`sample_episodes`) replaces sampling with ``rng``.
    """
    episodes = episodes if episodes is not None else sample_episodes(mdp, policy, n_episodes, rng)
    step = None if alpha is None else np.asarray(alpha, float)
    v = _start_values(mdp, 0.0 if step is None else step, v0)
    counts = np.zeros(mdp.n_states)
    history = np.zeros((n_episodes,) + v.shape)
    for k, (states, rewards) in enumerate(episodes[:n_episodes]):
        G = discounted_returns(rewards, mdp.gamma)
        seen = set()
        for t, s in enumerate(states[:-1]):
            if first_visit and s in seen:
                continue
            seen.add(s)
            counts[s] += 1
            a = 1.0 / counts[s] if step is None else step
            v[..., s] += a * (G[t] - v[..., s])
        history[k] = v
    return history


def td0_evaluation(mdp: MDP, policy: np.ndarray, n_episodes: int, rng: np.random.Generator | None = None,
                   alpha: float | np.ndarray = 0.1, v0: float = 0.0, episodes: list | None = None) -> np.ndarray:
    r"""TD(0) evaluation with a constant step ``alpha``; estimates after each episode, ``(n_episodes, S)``.

    After every step, :math:`v(s) \leftarrow v(s) + \alpha\,(r + \gamma v(s') - v(s))`, with
    :math:`v(s') = 0` when :math:`s'` is terminal. A 1-D array of ``k`` steps runs ``k``
    evaluations side by side on the same episodes, giving ``(n_episodes, k, S)``.
    Non-terminal estimates start at ``v0``; terminal states stay 0. ``episodes`` (from
    :func:`sample_episodes`) replaces sampling with ``rng``.
    """
    episodes = episodes if episodes is not None else sample_episodes(mdp, policy, n_episodes, rng)
    step = np.asarray(alpha, float)
    v = _start_values(mdp, step, v0)
    history = np.zeros((n_episodes,) + v.shape)
    for k, (states, rewards) in enumerate(episodes[:n_episodes]):
        for t in range(len(rewards)):
            s, s2 = states[t], states[t + 1]
            target = rewards[t] + (0.0 if mdp.terminal[s2] else mdp.gamma * v[..., s2])
            v[..., s] += step * (target - v[..., s])
        history[k] = v
    return history


def _transitions(episodes: list, terminal: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    s = np.concatenate([st[:-1] for st, _ in episodes]).astype(np.int64)
    s2 = np.concatenate([st[1:] for st, _ in episodes]).astype(np.int64)
    r = np.concatenate([rw for _, rw in episodes]).astype(float)
    return s, r, s2, np.asarray(terminal, bool)[s2]


def batch_mc_evaluation(mdp: MDP, episodes: list, v0: float = 0.0) -> np.ndarray:
    """Batch Monte Carlo after each episode, ``(n_episodes, S)``.

    Row ``k`` is what batch MC converges to on the first ``k + 1`` episodes: every
    state's average return over all its visits (every-visit; repeated constant-step MC
    sweeps over a fixed batch converge to these averages). Unvisited non-terminal
    states keep ``v0``; terminal states are 0.
    """
    total, count = np.zeros(mdp.n_states), np.zeros(mdp.n_states)
    v = np.where(mdp.terminal, 0.0, float(v0))
    history = np.zeros((len(episodes), mdp.n_states))
    for k, (states, rewards) in enumerate(episodes):
        np.add.at(total, states[:-1], discounted_returns(rewards, mdp.gamma))
        np.add.at(count, states[:-1], 1.0)
        seen = count > 0
        v[seen] = total[seen] / count[seen]
        history[k] = v
    return history


def certainty_equivalence_evaluation(mdp: MDP, episodes: list, v0: float = 0.0) -> np.ndarray:
    r"""Batch TD(0) after each episode, ``(n_episodes, S)``: the certainty-equivalence estimates.

    Row ``k`` is the exact value of the Markov reward process *estimated* from the first
    ``k + 1`` episodes: :math:`\hat P(s'|s)` and :math:`\hat R(s)` are the observed
    transition frequencies and mean rewards, and the row solves
    :math:`v = \hat R + \gamma \hat P v` on the visited states (a linear solve). This is
    the fixed point of :func:`batch_td0`. Unvisited non-terminal states keep ``v0``;
    terminal states are 0.
    """
    S = mdp.n_states
    counts, reward_sum = np.zeros((S, S)), np.zeros(S)
    v = np.where(mdp.terminal, 0.0, float(v0))
    history = np.zeros((len(episodes), S))
    for k, (states, rewards) in enumerate(episodes):
        np.add.at(counts, (states[:-1], states[1:]), 1.0)
        np.add.at(reward_sum, states[:-1], rewards)
        n = counts.sum(1)
        seen = np.flatnonzero((n > 0) & ~mdp.terminal)
        if len(seen):
            P_hat = counts[seen] / n[seen, None]
            A = np.eye(len(seen)) - mdp.gamma * P_hat[:, seen]
            v[seen] = np.linalg.solve(A, reward_sum[seen] / n[seen])  # other next states are terminal: value 0
        history[k] = v
    return history


def batch_td0(episodes: list, mdp: MDP, alpha: float = 0.5, v0: float = 0.0, tol: float = 1e-12,
              max_sweeps: int = 100_000) -> tuple[np.ndarray, int]:
    r"""Batch TD(0): sweep the same ``episodes`` again and again until the estimates stop moving.

    Each sweep computes the TD error :math:`r + \gamma v(s') - v(s)` of every stored
    transition with the *current* ``v``, averages them per state, and moves each state by
    ``alpha`` times its average (Sutton & Barto's batch updating sums the increments with a
    small step instead; the fixed point is the same, averaging just converges in fewer
    sweeps). Returns ``(v, sweeps)``. The fixed point is
    :func:`certainty_equivalence_evaluation` (its last row). Raises ``ValueError`` if it does not converge.
    """
    s, r, s2, term = _transitions(episodes, mdp.terminal)
    n = np.bincount(s, minlength=mdp.n_states).astype(float)
    v = np.where(mdp.terminal, 0.0, float(v0))
    visited = n > 0
    for sweep in range(1, max_sweeps + 1):
        delta = r + mdp.gamma * np.where(term, 0.0, v[s2]) - v[s]
        step = np.zeros(mdp.n_states)
        step[visited] = alpha * np.bincount(s, weights=delta, minlength=mdp.n_states)[visited] / n[visited]
        v += step
        if np.max(np.abs(step)) < tol:
            return v, sweep
    raise ValueError(f"batch TD(0) did not converge in {max_sweeps} sweeps; use a smaller alpha")


def rms_error(history: np.ndarray, v_true: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Root-mean-square error of each row of ``history`` against ``v_true`` (over ``mask`` states)."""
    mask = np.ones(len(v_true), bool) if mask is None else np.asarray(mask, bool)
    return np.sqrt(np.mean((np.asarray(history)[..., mask] - v_true[mask]) ** 2, axis=-1))


def q_learning_update(Q: np.ndarray, s: int, a: int, r: float, s_next: int, terminated: bool,
                      alpha: float, gamma: float) -> np.ndarray:
    r"""One Q-learning step on a copy of ``Q``:
    :math:`Q(s,a) \leftarrow Q(s,a) + \alpha\,(r + \gamma \max_{a'} Q(s', a') - Q(s,a))`, no bootstrap if terminated.
    """
    Q = np.array(Q, dtype=np.float64)
    target = r + (0.0 if terminated else gamma * np.max(Q[s_next]))
    Q[s, a] += alpha * (target - Q[s, a])
    return Q


def epsilon_greedy(q_row: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """With probability ``epsilon`` a uniformly random action, otherwise a greedy one (random among ties)."""
    if rng.random() < epsilon:
        return int(rng.integers(len(q_row)))
    best = np.flatnonzero(q_row >= np.max(q_row) - TIE_TOL)
    return int(best[0] if len(best) == 1 else rng.choice(best))


@dataclass
class QLearningResult:
    """What :func:`q_learning` returns: the table, per-episode returns and lengths, and the wall time."""

    Q: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray
    seconds: float

    @property
    def policy(self) -> np.ndarray:
        return greedy_policy(self.Q)


def q_learning(env, n_episodes: int, gamma: float = 0.99, alpha: float | Callable[[int], float] = 0.1,
               epsilon: float | Callable[[int], float] = 0.1, seed: int = 0, q_init: float = 0.0,
               visit_power: float | None = None, progress: bool = False) -> QLearningResult:
    r"""Tabular Q-learning with :math:`\varepsilon`-greedy exploration on a gymnasium environment.

    ``alpha`` and ``epsilon`` are numbers or functions of the episode index. With
    ``visit_power`` = :math:`\omega` the step for a pair is
    :math:`\max(\alpha, n(s, a)^{-\omega})`, where :math:`n(s, a)` counts its updates
    (large steps for rarely tried pairs, small ones later). ``q_init`` fills the initial
    table: an *optimistic* value (above any true value) makes untried actions attractive.
    The environment is seeded once (``env.reset(seed=seed)``, ``env.action_space.seed(seed)``);
    our own choices (exploration, random actions, ties) use ``np.random.default_rng(seed)``,
    so a run is reproducible. A time-limit truncation is *not* a terminal state: its
    target still bootstraps from the next state.
    """
    nS, nA = env.observation_space.n, env.action_space.n
    Q = np.full((nS, nA), float(q_init))
    counts = [[0] * nA for _ in range(nS)]
    rng = np.random.default_rng(seed)
    env.action_space.seed(seed)
    returns, lengths = np.zeros(n_episodes), np.zeros(n_episodes, np.int64)
    alpha_fn = alpha if callable(alpha) else (lambda k: alpha)
    eps_fn = epsilon if callable(epsilon) else (lambda k: epsilon)
    episodes = base.progress(range(n_episodes), desc="Q-learning", unit="episode", show=progress)
    t0 = time.perf_counter()
    table = Q.tolist()  # plain lists: ~10x faster than NumPy for 4-element rows
    for k in episodes:
        s, _ = env.reset(seed=seed) if k == 0 else env.reset()
        lr, eps = float(alpha_fn(k)), float(eps_fn(k))
        explore = rng.random(1000) < eps  # pre-drawn coin flips and random actions for this episode
        random_a = rng.integers(nA, size=1000)
        tie = rng.random(1000)
        total, steps, done = 0.0, 0, False
        while not done:
            row = table[s]
            if explore[steps % 1000]:
                a = int(random_a[steps % 1000])
            else:
                m = max(row)
                best = [i for i, x in enumerate(row) if x == m]
                a = best[int(tie[steps % 1000] * len(best))]
            s2, r, terminated, truncated, _ = env.step(a)
            target = r if terminated else r + gamma * max(table[s2])
            step = lr
            if visit_power is not None:
                counts[s][a] += 1
                step = max(lr, counts[s][a] ** -visit_power)
            row[a] += step * (target - row[a])
            s, total, steps = s2, total + r, steps + 1
            done = terminated or truncated
        returns[k], lengths[k] = total, steps
    Q = np.array(table)
    return QLearningResult(Q, returns, lengths, time.perf_counter() - t0)


def evaluate_env_policy(env, policy: np.ndarray, n_episodes: int, seed: int = 0) -> np.ndarray:
    """Returns of ``n_episodes`` episodes of a deterministic tabular ``policy``; episode ``i`` uses seed ``seed + i``.

    Seeding every episode gives *common random numbers*: two policies evaluated with the
    same ``seed`` meet the same slips wherever they take the same actions.
    """
    policy = np.asarray(policy)
    out = np.zeros(n_episodes)
    for i in range(n_episodes):
        s, _ = env.reset(seed=seed + i)
        done, total = False, 0.0
        while not done:
            s, r, terminated, truncated, _ = env.step(int(policy[s]))
            total += r
            done = terminated or truncated
        out[i] = total
    return out


def record_episode(env, policy: np.ndarray, seed: int) -> dict[str, list]:
    """One episode of a tabular ``policy`` with ``env.reset(seed=seed)``: states, actions, rewards."""
    s, _ = env.reset(seed=seed)
    states, actions, rewards = [int(s)], [], []
    done = False
    while not done:
        a = int(np.asarray(policy)[s])
        s, r, terminated, truncated, _ = env.step(a)
        states.append(int(s))
        actions.append(a)
        rewards.append(float(r))
        done = terminated or truncated
    return {"states": states, "actions": actions, "rewards": rewards, "seed": seed}

