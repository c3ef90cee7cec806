"""Chapter 20: reinforcement learning, from Markov chains to policy gradients.

Contract:

- An :class:`MDP` holds ``P`` of shape ``(S, A, S)`` with ``P[s, a, s2]`` the
  probability of moving from state ``s`` to ``s2`` under action ``a``, ``R`` of
  shape ``(S, A)`` with the *expected* reward of taking ``a`` in ``s``, the
  discount ``gamma`` in ``[0, 1]`` and a boolean ``terminal`` mask. Terminal
  states are absorbing with zero reward, so their value is 0. Construction
  validates everything and names the offending state and action in the error.
- A policy is either deterministic, an integer array ``(S,)`` of actions, or
  stochastic, an array ``(S, A)`` whose rows are probabilities.
- Values are float64 arrays: ``v`` of shape ``(S,)``, ``q`` of shape ``(S, A)``.
- Greedy choices are deterministic: among actions whose value is within
  ``TIE_TOL`` of the best, the smallest index wins. So policy iteration and
  value iteration agree exactly when their values agree to that tolerance.
- Randomness comes in as an explicit ``np.random.Generator``; gymnasium
  environments are seeded through ``env.reset(seed=...)`` and
  ``env.action_space.seed(...)``; torch through ``torch.Generator``/``manual_seed``.
- Figure functions (``draw_gridworld``, ``draw_frozenlake_episode``) never
  raise for any setting a widget can reach: bad settings (``gamma = 1`` with a
  policy that never stops) are drawn as a message with ``plotting.show_message``.

Contents: the container (:class:`MDP`, ``policy_matrices``, ``as_stochastic``);
worlds (``example_mrp``, ``mrp_as_mdp``, ``random_walk_mdp``, ``gridworld_mdp``, ``frozenlake_mdp``);
planning (``mrp_value``, ``evaluate_policy_exact``, ``bellman_expectation_backup``,
``evaluate_policy_iterative``, ``q_from_v``, ``greedy_policy``,
``bellman_optimality_residual``, ``policy_iteration``, ``value_iteration``,
``success_probability``); model-free learning (``discounted_returns``,
``sample_episode``, ``td0_update``, ``mc_evaluation``, ``td0_evaluation``,
``mc_vs_td``, ``q_learning_update``, ``epsilon_greedy``, ``q_learning``,
``evaluate_env_policy``, ``record_episode``, ``find_episode``); deep RL on
CartPole-v1 (``make_policy_net``, ``Adam``, ``reinforce_cartpole``,
``evaluate_cartpole``); figures (``plot_values``, ``draw_gridworld`` for the
widget, ``episode_drawer`` for the replay widget, ``plot_sweeps``,
``plot_learning_curve``); exercise checks (``check_discounted_returns``,
``check_mrp_value``, ``check_bellman_optimality_backup``, ``check_q_learning_update``).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np

from . import checks, plotting

TIE_TOL = 1e-9
ROW_TOL = 1e-8
ARROWS = {0: (-1, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1)}  # grid world actions: (d_row, d_col)
GRID_ACTIONS = ("up", "right", "down", "left")
FROZEN_ACTIONS = ("left", "down", "right", "up")  # gymnasium's FrozenLake order
FROZEN_MOVES = {0: (0, -1), 1: (1, 0), 2: (0, 1), 3: (-1, 0)}


# ==================================================================== container
@dataclass
class MDP:
    """A finite Markov decision process (see the module docstring for the shapes)."""

    P: np.ndarray
    R: np.ndarray
    gamma: float
    terminal: np.ndarray | None = None
    state_names: Sequence[str] | None = None
    action_names: Sequence[str] | None = None
    shape: tuple[int, int] | None = None  # grid layout, for drawing
    start: int = 0
    layout: Sequence[str] | None = field(default=None, repr=False)
    transition_reward: np.ndarray | None = field(default=None, repr=False)  # (S, A, S), for sampling

    def __post_init__(self):
        self.P = np.asarray(self.P, dtype=np.float64)
        self.R = np.asarray(self.R, dtype=np.float64)
        if self.P.ndim != 3 or self.P.shape[0] != self.P.shape[2]:
            raise ValueError(f"P must have shape (S, A, S), got {self.P.shape}")
        S, A, _ = self.P.shape
        if S == 0 or A == 0:
            raise ValueError(f"an MDP needs at least one state and one action, got P of shape {self.P.shape}")
        if self.R.shape != (S, A):
            raise ValueError(f"R must have shape (S, A) = {(S, A)} to match P, got {self.R.shape}")
        if not (np.all(np.isfinite(self.P)) and np.all(np.isfinite(self.R))):
            raise ValueError("P and R must be finite (no NaN or inf)")
        if not 0.0 <= float(self.gamma) <= 1.0:
            raise ValueError(f"the discount gamma must be in [0, 1], got {self.gamma}")
        self.gamma = float(self.gamma)
        self.state_names = list(self.state_names) if self.state_names is not None else [str(s) for s in range(S)]
        self.action_names = list(self.action_names) if self.action_names is not None else [str(a) for a in range(A)]
        if len(self.state_names) != S or len(self.action_names) != A:
            raise ValueError(f"need {S} state names and {A} action names, got "
                             f"{len(self.state_names)} and {len(self.action_names)}")
        neg = np.argwhere(self.P < 0)
        if len(neg):
            s, a, s2 = neg[0]
            raise ValueError(f"P[{s}, {a}, {s2}] = {self.P[s, a, s2]:.4g} is negative: probabilities are >= 0 "
                             f"(state {self.state_names[s]!r}, action {self.action_names[a]!r})")
        sums = self.P.sum(axis=2)
        bad = np.argwhere(np.abs(sums - 1.0) > ROW_TOL)
        if len(bad):
            s, a = bad[0]
            raise ValueError(f"the transition probabilities from state {self.state_names[s]!r} under action "
                             f"{self.action_names[a]!r} (P[{s}, {a}, :]) sum to {sums[s, a]:.6g}, not 1 "
                             f"({len(bad)} such row(s))")
        self.terminal = (np.zeros(S, bool) if self.terminal is None else np.asarray(self.terminal, bool).copy())
        if self.terminal.shape != (S,):
            raise ValueError(f"terminal must be a boolean mask of shape ({S},), got {self.terminal.shape}")
        for s in np.flatnonzero(self.terminal):
            if not np.allclose(self.P[s, :, s], 1.0) or np.any(self.R[s] != 0):
                raise ValueError(f"terminal state {self.state_names[s]!r} must be absorbing (P[s, a, s] = 1) "
                                 "with zero reward")
        if not 0 <= self.start < S:
            raise ValueError(f"start state {self.start} is not one of the {S} states")
        if self.transition_reward is not None:
            self.transition_reward = np.asarray(self.transition_reward, dtype=np.float64)
            if self.transition_reward.shape != self.P.shape:
                raise ValueError(f"transition_reward must have the shape of P {self.P.shape}, "
                                 f"got {self.transition_reward.shape}")
            expected = np.einsum("sat,sat->sa", self.P, self.transition_reward)
            if not np.allclose(expected, self.R, atol=1e-9):
                s, a = np.argwhere(~np.isclose(expected, self.R, atol=1e-9))[0]
                raise ValueError(f"R[{s}, {a}] = {self.R[s, a]:.6g} is not the expected transition reward "
                                 f"{expected[s, a]:.6g}")

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]

    def with_gamma(self, gamma: float) -> MDP:
        """The same MDP with another discount."""
        return MDP(self.P, self.R, gamma, self.terminal, self.state_names, self.action_names,
                   self.shape, self.start, self.layout, self.transition_reward)


def as_stochastic(policy: np.ndarray, n_actions: int) -> np.ndarray:
    """A policy as an ``(S, A)`` matrix of probabilities (one-hot rows for a deterministic one)."""
    policy = np.asarray(policy)
    if policy.ndim == 1:
        if policy.dtype.kind not in "iu" or np.any(policy < 0) or np.any(policy >= n_actions):
            raise ValueError(f"a deterministic policy holds action indices 0..{n_actions - 1}, got {policy}")
        return np.eye(n_actions)[policy]
    policy = policy.astype(np.float64)
    if policy.ndim != 2 or policy.shape[1] != n_actions:
        raise ValueError(f"a stochastic policy has shape (S, {n_actions}), got {policy.shape}")
    if np.any(policy < 0) or np.any(np.abs(policy.sum(1) - 1) > ROW_TOL):
        s = int(np.flatnonzero((policy < 0).any(1) | (np.abs(policy.sum(1) - 1) > ROW_TOL))[0])
        raise ValueError(f"the policy's row for state {s} is not a probability distribution: {policy[s]}")
    return policy


def policy_matrices(mdp: MDP, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""The Markov reward process of ``policy``: :math:`P_\pi` ``(S, S)`` and :math:`R_\pi` ``(S,)``.

    :math:`P_\pi[s, s'] = \sum_a \pi(a|s) P[s, a, s']` and :math:`R_\pi[s] = \sum_a \pi(a|s) R[s, a]`.
    """
    pi = as_stochastic(policy, mdp.n_actions)
    if pi.shape[0] != mdp.n_states:
        raise ValueError(f"the policy covers {pi.shape[0]} states, the MDP has {mdp.n_states}")
    return np.einsum("sa,sat->st", pi, mdp.P), np.einsum("sa,sa->s", pi, mdp.R)


# ======================================================================= worlds
def example_mrp() -> tuple[list[str], np.ndarray, np.ndarray]:
    """A four-state Markov reward process (a commute): names, ``P`` (4, 4), ``R`` (4,); state 3 ends it."""
    names = ["home", "road", "jam", "office"]
    P = np.array([[0.0, 0.9, 0.1, 0.0],
                  [0.0, 0.0, 0.3, 0.7],
                  [0.0, 0.5, 0.4, 0.1],
                  [0.0, 0.0, 0.0, 1.0]])
    R = np.array([-1.0, -1.0, -3.0, 0.0])
    return names, P, R


def mrp_as_mdp(P: np.ndarray, R: np.ndarray, gamma: float, terminal: Sequence[bool] | None = None,
               state_names: Sequence[str] | None = None) -> MDP:
    """A Markov reward process as an :class:`MDP` with a single action (so it can be sampled and solved).

    The reward ``R[s]`` is received on leaving ``s``, whatever the next state.
    """
    P, R = np.asarray(P, float), np.asarray(R, float)
    n = len(R)
    return MDP(P[:, None, :], R[:, None], gamma, terminal, state_names, ["next"],
               transition_reward=np.broadcast_to(R[:, None, None], (n, 1, n)))


def random_walk_mdp(n: int = 5) -> MDP:
    """The random walk: ``n`` inner states in a row, two terminal ends, one action (a fair coin).

    States are ``0`` (left end), ``1..n`` (inner) and ``n+1`` (right end). Leaving to the
    right pays +1, everything else 0, ``gamma = 1``, start in the middle. The value of
    inner state ``i`` is the probability of leaving right, ``i / (n + 1)``.
    """
    if n < 1:
        raise ValueError(f"the random walk needs at least one inner state, got n={n}")
    S = n + 2
    P = np.zeros((S, 1, S))
    R = np.zeros((S, 1))
    P[0, 0, 0] = P[S - 1, 0, S - 1] = 1.0
    for s in range(1, n + 1):
        P[s, 0, s - 1] = P[s, 0, s + 1] = 0.5
    Rsas = np.zeros((S, 1, S))
    Rsas[n, 0, S - 1] = 1.0
    R[n, 0] = 0.5  # expected reward: half the time we step onto the right end and get +1
    terminal = np.zeros(S, bool)
    terminal[[0, S - 1]] = True
    names = ["left end"] + [chr(ord("A") + i) if n <= 26 else str(i + 1) for i in range(n)] + ["right end"]
    return MDP(P, R, 1.0, terminal, names, ["coin"], start=(n + 1) // 2, transition_reward=Rsas)


CLIFF = ("......",
         ".#..#.",
         "......",
         "SXXXXG")


def gridworld_mdp(slip: float = 0.2, gamma: float = 0.9, layout: Sequence[str] = CLIFF,
                  step_reward: float = 0.0, goal_reward: float = 1.0, pit_reward: float = -1.0) -> MDP:
    """A grid world with explicit transition matrices.

    ``layout`` rows use ``.`` free, ``#`` wall, ``S`` start, ``G`` goal, ``X`` pit.
    Actions are up, right, down, left. The intended move happens with probability
    ``1 - slip``; with ``slip / 2`` each the agent moves to one of the two
    perpendicular directions instead. Bumping into a wall or the border keeps it in
    place. Entering ``G`` pays ``goal_reward``, entering ``X`` pays ``pit_reward``,
    every other move pays ``step_reward``; ``G`` and ``X`` then end the episode.
    Walls are states too (for a simple layout), absorbing and never entered.
    """
    if not 0.0 <= slip <= 1.0:
        raise ValueError(f"the slip probability must be in [0, 1], got {slip}")
    rows = [str(r) for r in layout]
    H, W = len(rows), len(rows[0]) if rows else 0
    if H == 0 or any(len(r) != W for r in rows):
        raise ValueError("layout must be a non-empty list of rows of equal length")
    chars = "".join(rows)
    if set(chars) - set(".#SGX"):
        raise ValueError(f"layout may only use . # S G X, found {sorted(set(chars) - set('.#SGX'))}")
    if chars.count("S") != 1:
        raise ValueError("layout needs exactly one start S")
    S, A = H * W, 4
    P = np.zeros((S, A, S))
    R = np.zeros((S, A))
    terminal = np.array([c in "GX#" for c in chars])
    reward_in = np.array([goal_reward if c == "G" else pit_reward if c == "X" else step_reward for c in chars])

    def move(s, a):
        r, c = divmod(s, W)
        dr, dc = ARROWS[a]
        r2, c2 = r + dr, c + dc
        if 0 <= r2 < H and 0 <= c2 < W and rows[r2][c2] != "#":
            return r2 * W + c2
        return s

    for s in range(S):
        if terminal[s]:
            P[s, :, s] = 1.0
            continue
        for a in range(A):
            for a2, p in ((a, 1.0 - slip), ((a + 1) % 4, slip / 2), ((a + 3) % 4, slip / 2)):
                P[s, a, move(s, a2)] += p
            R[s, a] = P[s, a] @ reward_in
    Rsas = np.where(terminal[:, None, None], 0.0, np.broadcast_to(reward_in, (S, A, S)))
    names = [f"({r},{c})" for r in range(H) for c in range(W)]
    return MDP(P, R, gamma, terminal, names, GRID_ACTIONS, shape=(H, W), start=chars.index("S"), layout=rows,
               transition_reward=Rsas)


def frozenlake_mdp(env, gamma: float = 0.99) -> MDP:
    """Convert gymnasium's FrozenLake (``env.unwrapped.P``) to an :class:`MDP`.

    ``env.unwrapped.P[s][a]`` lists ``(probability, next_state, reward, terminated)``;
    the same next state may appear more than once, so probabilities are added up.
    Holes and the goal become terminal (absorbing, zero reward); the reward of 1
    is earned on the move *into* the goal.
    """
    u = getattr(env, "unwrapped", env)
    table = u.P
    S, A = len(table), len(table[0])
    P = np.zeros((S, A, S))
    R = np.zeros((S, A))
    Rsas = np.zeros((S, A, S))
    desc = ["".join(ch.decode() if isinstance(ch, bytes) else str(ch) for ch in row) for row in np.asarray(u.desc)]
    chars = "".join(desc)
    terminal = np.array([c in "HG" for c in chars])
    for s in range(S):
        for a in range(A):
            if terminal[s]:
                P[s, a, s] = 1.0
                continue
            for p, s2, r, _done in table[s][a]:
                P[s, a, s2] += p
                R[s, a] += p * r
                Rsas[s, a, s2] = r  # FrozenLake's reward depends on the next state only
    H, W = len(desc), len(desc[0])
    names = [f"({r},{c}) {chars[r * W + c]}" for r in range(H) for c in range(W)]
    return MDP(P, R, gamma, terminal, names, FROZEN_ACTIONS, shape=(H, W), start=chars.index("S"), layout=desc,
               transition_reward=Rsas)


# ===================================================================== planning
def mrp_value(P: np.ndarray, R: np.ndarray, gamma: float) -> np.ndarray:
    r"""Solve the Bellman equation of a Markov reward process, :math:`v = (I - \gamma P)^{-1} R`.

    Uses ``np.linalg.solve`` (never an explicit inverse). Raises ``ValueError`` when
    :math:`I - \gamma P` is singular (``gamma = 1`` and a chain that never ends).
    """
    P, R = np.asarray(P, float), np.asarray(R, float)
    n = len(R)
    M = np.eye(n) - gamma * P
    if np.linalg.cond(M) > 1e12:
        raise ValueError(f"I - gamma P is singular (gamma = {gamma}): some states never stop collecting reward, "
                         "so their return is undefined; use gamma < 1")
    return np.linalg.solve(M, R)


def _never_terminating(P_pi: np.ndarray, terminal: np.ndarray) -> np.ndarray:
    """States from which the chain ``P_pi`` reaches no terminal state (a boolean mask)."""
    reach = terminal.copy()
    while True:
        new = reach | (P_pi[:, reach].sum(1) > 0)
        if np.array_equal(new, reach):
            return ~reach
        reach = new


def evaluate_policy_exact(mdp: MDP, policy: np.ndarray) -> np.ndarray:
    r"""Exact :math:`v_\pi` by one linear solve, :math:`(I - \gamma P_\pi) v = R_\pi` on non-terminal states.

    With ``gamma = 1`` the return is only defined when every state reaches a terminal
    state with probability 1; otherwise ``ValueError`` names one state that never does.
    """
    P_pi, R_pi = policy_matrices(mdp, policy)
    live = ~mdp.terminal
    if mdp.gamma >= 1.0:
        stuck = _never_terminating(P_pi, mdp.terminal)
        if stuck.any():
            s = int(np.flatnonzero(stuck)[0])
            more = f" and {int(stuck.sum()) - 1} other state(s)" if stuck.sum() > 1 else ""
            raise ValueError(f"with gamma = 1 this policy never reaches an exit from state {mdp.state_names[s]}{more}: "
                             "the return keeps adding up forever, so v is undefined (I - gamma P_pi is singular). "
                             "Use gamma < 1.")
    v = np.zeros(mdp.n_states)
    idx = np.flatnonzero(live)
    if len(idx):
        M = np.eye(len(idx)) - mdp.gamma * P_pi[np.ix_(idx, idx)]
        v[idx] = np.linalg.solve(M, R_pi[idx])
    return v


def bellman_expectation_backup(mdp: MDP, policy: np.ndarray, v: np.ndarray) -> np.ndarray:
    r"""One sweep of the Bellman expectation operator, :math:`R_\pi + \gamma P_\pi v` (terminal states stay 0)."""
    P_pi, R_pi = policy_matrices(mdp, policy)
    out = R_pi + mdp.gamma * P_pi @ np.asarray(v, float)
    out[mdp.terminal] = 0.0
    return out


def evaluate_policy_iterative(mdp: MDP, policy: np.ndarray, tol: float = 1e-10, max_sweeps: int = 100_000,
                              v0: np.ndarray | None = None) -> tuple[np.ndarray, list[float]]:
    r"""Iterative policy evaluation: repeat :math:`v \leftarrow R_\pi + \gamma P_\pi v` from ``v0`` (zeros).

    Stops when the largest change of a sweep is below ``tol``. Returns ``(v, deltas)``
    with ``deltas[k]`` the sup-norm change of sweep ``k``. Raises ``ValueError`` if it
    has not converged after ``max_sweeps`` sweeps.
    """
    P_pi, R_pi = policy_matrices(mdp, policy)
    v = np.zeros(mdp.n_states) if v0 is None else np.array(v0, float)
    deltas: list[float] = []
    for _ in range(max_sweeps):
        new = R_pi + mdp.gamma * P_pi @ v
        new[mdp.terminal] = 0.0
        deltas.append(float(np.max(np.abs(new - v))))
        v = new
        if deltas[-1] < tol:
            return v, deltas
    raise ValueError(f"iterative policy evaluation did not converge in {max_sweeps} sweeps "
                     f"(last change {deltas[-1]:.3g}); with gamma = 1 the policy may never stop")


def q_from_v(mdp: MDP, v: np.ndarray) -> np.ndarray:
    r"""Action values of a one-step look-ahead, :math:`q(s, a) = R(s, a) + \gamma \sum_{s'} P(s'|s, a) v(s')`."""
    return mdp.R + mdp.gamma * mdp.P @ np.asarray(v, float)


def greedy_policy(q: np.ndarray, tol: float = TIE_TOL) -> np.ndarray:
    """The greedy deterministic policy of ``q`` ``(S, A)``: ties (within ``tol``) go to the smallest action."""
    q = np.asarray(q, float)
    best = q.max(axis=1, keepdims=True)
    scale = max(1.0, float(np.max(np.abs(q))) if q.size else 1.0)
    return np.argmax(q >= best - tol * scale, axis=1).astype(np.int64)


def bellman_optimality_residual(mdp: MDP, v: np.ndarray) -> float:
    r"""How far ``v`` is from the Bellman optimality equation: :math:`\max_s |\max_a q(s, a) - v(s)|`."""
    backup = q_from_v(mdp, v).max(axis=1)
    backup[mdp.terminal] = 0.0
    return float(np.max(np.abs(backup - v)))


def policy_iteration(mdp: MDP, policy0: np.ndarray | None = None, max_iter: int = 1000
                     ) -> tuple[np.ndarray, np.ndarray, int]:
    """Policy iteration: exact evaluation, then greedy improvement, until the policy is stable.

    Returns ``(policy, v, n_improvements)``. The initial policy (default: action 0
    everywhere) must have a defined value (with ``gamma = 1`` it must reach an exit).
    """
    policy = np.zeros(mdp.n_states, np.int64) if policy0 is None else np.asarray(policy0, np.int64).copy()
    for k in range(1, max_iter + 1):
        v = evaluate_policy_exact(mdp, policy)
        q = q_from_v(mdp, v)
        new = greedy_policy(q)
        # keep the current action when it is as good as the best one (no cycling between ties)
        keep = q[np.arange(mdp.n_states), policy] >= q.max(1) - TIE_TOL * max(1.0, np.abs(q).max())
        new = np.where(keep, policy, new)
        if np.array_equal(new, policy):
            return greedy_policy(q), v, k
        policy = new
    raise ValueError(f"policy iteration did not converge in {max_iter} improvements")


def value_iteration(mdp: MDP, tol: float = 1e-10, max_sweeps: int = 100_000
                    ) -> tuple[np.ndarray, np.ndarray, list[float]]:
    r"""Value iteration: repeat :math:`v \leftarrow \max_a (R + \gamma P v)` until a sweep changes less than ``tol``.

    Returns ``(policy, v, deltas)`` with the greedy policy of the final ``v``.
    Raises ``ValueError`` if it does not converge within ``max_sweeps``.
    """
    v = np.zeros(mdp.n_states)
    deltas: list[float] = []
    for _ in range(max_sweeps):
        new = q_from_v(mdp, v).max(axis=1)
        new[mdp.terminal] = 0.0
        deltas.append(float(np.max(np.abs(new - v))))
        v = new
        if deltas[-1] < tol:
            return greedy_policy(q_from_v(mdp, v)), v, deltas
    raise ValueError(f"value iteration did not converge in {max_sweeps} sweeps (last change {deltas[-1]:.3g}); "
                     "with gamma = 1 some values may grow without bound")


def success_probability(mdp: MDP, policy: np.ndarray, horizon: int | None = None,
                        goal_reward: float = 1.0) -> float:
    """Exact probability that ``policy`` collects the goal reward from ``mdp.start``.

    For an MDP whose only reward is ``goal_reward`` on entering a goal (FrozenLake), the
    undiscounted expected return is the success probability. ``horizon=None`` means no
    time limit (a linear solve); an integer counts steps, like gymnasium's ``TimeLimit``.
    """
    P_pi, R_pi = policy_matrices(mdp, policy)
    if horizon is None:
        return float(evaluate_policy_exact(mdp.with_gamma(1.0), policy)[mdp.start] / goal_reward)
    v = np.zeros(mdp.n_states)
    for _ in range(int(horizon)):  # v_k = R_pi + P_pi v_{k-1}: expected reward within k steps
        v = R_pi + P_pi @ v
    return float(v[mdp.start] / goal_reward)


# ========================================================== model-free learning
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
    Rewards come from ``mdp.transition_reward`` when present, else the expected ``R``.
    """
    pi = as_stochastic(policy, mdp.n_actions)
    cum_pi, cum_P = np.cumsum(pi, 1), np.cumsum(mdp.P, 2)
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


def mc_evaluation(mdp: MDP, policy: np.ndarray, n_episodes: int, rng: np.random.Generator,
                  alpha: float | None = None, v0: float = 0.0) -> np.ndarray:
    r"""First-visit Monte Carlo evaluation; returns the estimates after each episode, ``(n_episodes, S)``.

    ``alpha=None`` averages the returns seen so far (the first return replaces the start
    value); a number uses a constant step :math:`v(s) \leftarrow v(s) + \alpha (G - v(s))`.
    Non-terminal estimates start at ``v0``; terminal states stay 0.
    """
    v = np.where(mdp.terminal, 0.0, v0)
    counts = np.zeros(mdp.n_states)
    history = np.zeros((n_episodes, mdp.n_states))
    for k in range(n_episodes):
        states, _, rewards = sample_episode(mdp, policy, rng)
        G = discounted_returns(rewards, mdp.gamma)
        seen = set()
        for t, s in enumerate(states[:-1]):
            if s in seen:
                continue
            seen.add(s)
            counts[s] += 1
            step = 1.0 / counts[s] if alpha is None else alpha
            v[s] += step * (G[t] - v[s])
        history[k] = v
    return history


def td0_evaluation(mdp: MDP, policy: np.ndarray, n_episodes: int, rng: np.random.Generator,
                   alpha: float = 0.1, v0: float = 0.0) -> np.ndarray:
    """TD(0) evaluation with a constant step ``alpha``; estimates after each episode, ``(n_episodes, S)``.

    Non-terminal estimates start at ``v0``; terminal states stay 0.
    """
    v = np.where(mdp.terminal, 0.0, v0)
    history = np.zeros((n_episodes, mdp.n_states))
    for k in range(n_episodes):
        states, _, rewards = sample_episode(mdp, policy, rng)
        for t in range(len(rewards)):
            s, s2 = states[t], states[t + 1]
            target = rewards[t] + (0.0 if mdp.terminal[s2] else mdp.gamma * v[s2])
            v[s] += alpha * (target - v[s])
        history[k] = v
    return history


def rms_error(history: np.ndarray, v_true: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Root-mean-square error of each row of ``history`` against ``v_true`` (over ``mask`` states)."""
    mask = np.ones(len(v_true), bool) if mask is None else np.asarray(mask, bool)
    return np.sqrt(np.mean((np.asarray(history)[..., mask] - v_true[mask]) ** 2, axis=-1))


def mc_vs_td(mdp: MDP, policy: np.ndarray, n_episodes: int, n_runs: int, seed: int,
             alpha_mc: float | None = None, alpha_td: float = 0.1, v0: float = 0.5) -> dict[str, np.ndarray]:
    """Average RMS error per episode of MC and TD(0) over ``n_runs`` seeded runs (non-terminal states).

    Both methods start from ``v0`` on every non-terminal state (MC's first return
    replaces it when ``alpha_mc`` is ``None``). Returns ``{"MC": (n_episodes,), "TD(0)": (n_episodes,)}``.
    """
    v_true = evaluate_policy_exact(mdp, policy)
    live = ~mdp.terminal
    out = {"MC": np.zeros(n_episodes), "TD(0)": np.zeros(n_episodes)}
    for run in range(n_runs):
        mc = mc_evaluation(mdp, policy, n_episodes, np.random.default_rng([seed, run, 0]), alpha_mc, v0)
        td = td0_evaluation(mdp, policy, n_episodes, np.random.default_rng([seed, run, 1]), alpha_td, v0)
        out["MC"] += rms_error(mc, v_true, live) / n_runs
        out["TD(0)"] += rms_error(td, v_true, live) / n_runs
    return out


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
    episodes = range(n_episodes)
    if progress:
        from tqdm.auto import tqdm
        episodes = tqdm(episodes, desc="Q-learning", unit="episode", leave=False)
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


# ============================================================ deep RL: CartPole
def make_policy_net(n_obs: int = 4, n_actions: int = 2, hidden: int = 32, seed: int = 0):
    """A small MLP from observations to action logits (or, with ``n_actions=1``, to a value)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_obs, hidden), nn.Tanh(), nn.Linear(hidden, n_actions))


class Adam:
    """Adam (Kingma & Ba) over a list of torch parameters: the same update as ``torch.optim.Adam``.

    Written out because creating the first ``torch.optim`` optimiser of a session
    imports torch's compiler, which takes seconds; ``tests/test_rl.py`` checks that
    the steps equal ``torch.optim.Adam``'s.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        import torch

        self.params = [p for p in params]
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        import torch

        self.t += 1
        b1, b2 = self.betas
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                if p.grad is None:
                    continue
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                denom = (v / (1 - b2 ** self.t)).sqrt_().add_(self.eps)
                p.addcdiv_(m, denom, value=-self.lr / (1 - b1 ** self.t))


def _cartpole_envs(n: int):
    import gymnasium as gym

    return [gym.make("CartPole-v1") for _ in range(n)]


def _numpy_mlp(net) -> Callable[[np.ndarray], np.ndarray]:
    """A NumPy copy of a ``Linear-Tanh-Linear`` net's forward pass (acting needs no autograd, and is ~20x faster)."""
    W1, b1 = net[0].weight.detach().numpy().T.copy(), net[0].bias.detach().numpy().copy()
    W2, b2 = net[2].weight.detach().numpy().T.copy(), net[2].bias.detach().numpy().copy()
    return lambda obs: np.tanh(obs @ W1 + b1) @ W2 + b2


def _lockstep(envs, seeds: Sequence[int], act: Callable[[np.ndarray], np.ndarray], max_return: float = 500.0,
              target: float | None = None):
    """Run one episode in each env side by side; ``act(obs (m, 4)) -> actions (m,)`` for the live ones.

    Returns per env the lists of observations, actions and rewards. With ``target``, stops
    early (returning the partial episodes) once the mean return can no longer reach it.
    """
    obs = np.stack([e.reset(seed=int(sd))[0] for e, sd in zip(envs, seeds)]).astype(np.float32)
    live = list(range(len(envs)))
    traj = [([], [], []) for _ in envs]
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


def evaluate_cartpole(policy_net, n_episodes: int = 20, seed: int = 10_000, envs=None,
                      target: float | None = None) -> np.ndarray:
    """Returns of the *greedy* policy (arg-max of the logits) on ``n_episodes`` seeded episodes (seeds ``seed + i``).

    With ``target``, play stops as soon as the mean return can no longer reach it;
    the returns are then lower bounds (enough to say "not yet").
    """
    envs = envs if envs is not None and len(envs) >= n_episodes else _cartpole_envs(n_episodes)
    forward = _numpy_mlp(policy_net)
    traj = _lockstep(envs[:n_episodes], [seed + i for i in range(n_episodes)],
                     lambda obs: forward(obs).argmax(axis=1), target=target)
    return np.array([sum(t[2]) for t in traj])


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
    import torch

    policy = make_policy_net(hidden=hidden, seed=seed)
    value = make_policy_net(n_actions=1, hidden=hidden, seed=seed + 1)
    opt = Adam(list(policy.parameters()) + list(value.parameters()), lr=lr)
    rng = np.random.default_rng(seed)
    envs = _cartpole_envs(max(batch_episodes, eval_episodes))
    hist: dict[str, list[float]] = {"update": [], "train_return": [], "eval_update": [], "eval_passed": []}

    bar = range(1, max_updates + 1)
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(bar, desc="REINFORCE", unit="update", leave=False)
    t0, episodes, solved, message, k = time.perf_counter(), 0, False, "", 0
    for k in bar:
        seeds = [1_000_000 * (seed + 1) + episodes + i for i in range(batch_episodes)]
        forward = _numpy_mlp(policy)

        def act(obs):  # sample a ~ softmax(logits) by inverting the CDF with explicit uniforms
            z = forward(obs)  # noqa: B023 (act is used within this iteration only)
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            return (rng.random((len(obs), 1)) > np.cumsum(p, axis=1)[:, :-1]).sum(axis=1)

        traj = _lockstep(envs[:batch_episodes], seeds, act)
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
        if progress:
            bar.set_postfix(train_return=f"{hist['train_return'][-1]:.0f}")
        if k % eval_every == 0:
            score = float(evaluate_cartpole(policy, eval_episodes, seed=10_000, envs=envs, target=target).mean())
            hist["eval_update"].append(k)
            hist["eval_passed"].append(score >= target)
            if score >= target:
                solved = True
                break
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            message = f"stopped after {time_limit:.0f} s"
            break
    if progress:
        bar.close()
    if not solved and not message:
        message = f"not solved within {max_updates} updates"
    return ReinforceResult(policy, value, hist, solved, k, episodes, time.perf_counter() - t0, message)


# ====================================================================== figures
_TILE_COLORS = {"S": "#dbe9f6", "F": "#f4f8fb", ".": "#f4f8fb", "H": "#2b3a55", "X": "#d62728",
                "G": "#2ca02c", "#": "#555555"}
_DELTAS = {"up": (-1, 0), "right": (0, 1), "down": (1, 0), "left": (0, -1)}


def _tied_actions(q_row: np.ndarray, tol: float = 1e-6) -> list[int]:
    return [int(a) for a in np.flatnonzero(q_row >= q_row.max() - tol * max(1.0, np.abs(q_row).max()))]


def plot_values(mdp: MDP, v: np.ndarray | None, ax=None, q: np.ndarray | None = None, title: str | None = None,
                annotate: bool = True, vmax: float | None = None):
    """Draw a grid MDP: colour = ``v``, numbers = ``v``, arrows = every greedy action of ``q``.

    Terminal cells show their letter (``G`` goal, ``X``/``H`` pit or hole), walls are grey.
    ``v=None`` draws the map only. Returns the axes.
    """
    if mdp.shape is None or mdp.layout is None:
        raise ValueError("plot_values needs a grid MDP (made by gridworld_mdp or frozenlake_mdp)")
    ax = plotting._axes(ax, figsize=(6.0, 4.2))
    H, W = mdp.shape
    chars = "".join(mdp.layout)
    if v is not None:
        grid = np.asarray(v, float).reshape(H, W)
        vmax = vmax or max(1e-9, float(np.max(np.abs(grid))))
        im = ax.imshow(np.ma.masked_where(mdp.terminal.reshape(H, W), grid), cmap="RdBu", vmin=-vmax,
                       vmax=vmax, interpolation="nearest")
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="value $v(s)$")
    else:
        ax.imshow(np.zeros((H, W)), cmap="Greys", vmin=0, vmax=1)
    for s, c in enumerate(chars):
        r, col = divmod(s, W)
        if mdp.terminal[s] or c == "S" and v is None:
            ax.add_patch(plt.Rectangle((col - 0.5, r - 0.5), 1, 1, color=_TILE_COLORS.get(c, "white"), zorder=2))
            if c != "#":
                ax.text(col, r, c, ha="center", va="center", color="white" if c != "S" else "black",
                        fontsize=13, fontweight="bold", zorder=3)
            continue
        if annotate and v is not None:
            ax.text(col, r + 0.33, f"{v[s]:.2f}", ha="center", va="center", fontsize=7.5, zorder=3)
        if c == "S":
            ax.text(col - 0.38, r - 0.36, "S", fontsize=8, fontweight="bold", zorder=3)
        if q is not None:
            for a in _tied_actions(q[s]):
                dr, dc = _DELTAS[mdp.action_names[a]]
                ax.annotate("", xy=(col + 0.32 * dc, r + 0.32 * dr - 0.05), xytext=(col, r - 0.05),
                            arrowprops=dict(arrowstyle="->", lw=1.6, color="black"), zorder=4)
    ax.set_xticks(range(W))
    ax.set_yticks(range(H))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_xlim(-0.5, W - 0.5)
    ax.set_ylim(H - 0.5, -0.5)
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax


GRID_POLICIES = ("optimal", "uniform random", "always right")


def draw_gridworld(gamma: float = 0.9, slip: float = 0.2, policy: str = "optimal", layout: Sequence[str] = CLIFF):
    """The chapter's widget: the grid world's values and greedy arrows for ``gamma``, ``slip`` and ``policy``.

    ``"optimal"`` shows :math:`v_*` (value iteration); the other policies show their own
    :math:`v_\\pi` (exact solve) with the arrows of the greedy policy with respect to it,
    i.e. one step of policy improvement. Settings without a defined value become a message.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    try:
        mdp = gridworld_mdp(slip=slip, gamma=gamma, layout=layout)
        if policy == "optimal":
            _, v, deltas = value_iteration(mdp, tol=1e-8, max_sweeps=20_000)
            what = f"optimal values $v_*$ ({len(deltas)} sweeps of value iteration)"
        elif policy in GRID_POLICIES:
            pi = (np.full((mdp.n_states, 4), 0.25) if policy == "uniform random"
                  else np.full(mdp.n_states, 1, np.int64))
            v = evaluate_policy_exact(mdp, pi)
            what = f"$v_\\pi$ of '{policy}'; arrows: greedy improvement"
        else:
            raise ValueError(f"policy must be one of {GRID_POLICIES}, got {policy!r}")
    except ValueError as exc:
        plot_values(gridworld_mdp(slip=min(max(slip, 0.0), 1.0), gamma=0.5, layout=layout), None, ax=ax,
                    title=f"$\\gamma$ = {gamma:g}, slip = {slip:g}")
        plotting.show_message(ax, _wrap(str(exc)))
        return fig
    q = q_from_v(mdp, v)
    note = "\n$\\gamma$ = 0: only the next reward counts, so away from the exits all actions tie" if gamma == 0 else ""
    plot_values(mdp, v, ax=ax, q=q, title=f"$\\gamma$ = {gamma:g}, slip = {slip:g}: {what}{note}")
    ax.title.set_fontsize(9.5)
    return fig


def _wrap(text: str, width: int = 52) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def episode_drawer(mdp: MDP, episode: dict) -> Callable[..., object]:
    """A widget function ``draw(step=0)`` replaying ``episode`` (from :func:`record_episode`) on a grid ``mdp``.

    It shows the path so far, the agent, and whether the last move went where the
    agent intended (FrozenLake's ice makes it slip). Steps beyond the end show a message.
    """
    states, actions, rewards = episode["states"], episode["actions"], episode["rewards"]
    T = len(actions)
    H, W = mdp.shape

    def draw(step: int = 0):
        fig, ax = plt.subplots(figsize=(5.2, 4.4))
        plot_values(mdp, None, ax=ax)
        step = int(step)
        if not 0 <= step <= T:
            ax.set_title(f"episode of {T} steps")
            plotting.show_message(ax, f"step {step} is outside this episode: it has steps 0 to {T}")
            return fig
        path = np.array([divmod(s, W) for s in states[:step + 1]], float)
        ax.plot(path[:, 1], path[:, 0], "-", color="#ff7f0e", lw=2, alpha=0.7, zorder=5)
        r, c = path[-1]
        ax.plot([c], [r], "o", ms=16, color="#ff7f0e", mec="black", zorder=6)
        if step == 0:
            text = "step 0: start"
        else:
            a = actions[step - 1]
            name = mdp.action_names[a]
            dr, dc = _DELTAS[name]
            r0, c0 = divmod(states[step - 1], W)
            aimed = (min(max(r0 + dr, 0), H - 1), min(max(c0 + dc, 0), W - 1))  # the border stops a move
            where = "moved as intended" if (int(r), int(c)) == aimed else "slipped"
            text = f"step {step}/{T}: chose {name}, {where}, reward {rewards[step - 1]:g}"
        done = step == T
        if done:
            text += " (goal reached)" if sum(rewards) > 0 else " (episode over)"
        ax.set_title(text, fontsize=10)
        return fig

    return draw


def plot_sweeps(curves: dict[str, Sequence[float]], ax=None, ylabel: str = r"largest change $\max_s |v_{k+1}(s) - v_k(s)|$"):
    """Sup-norm change per sweep of iterative methods, on a log scale."""
    ax = plotting._axes(ax)
    for name, d in curves.items():
        d = np.asarray(d, float)
        ax.semilogy(np.arange(1, len(d) + 1), np.maximum(d, 1e-300), label=name)
    ax.set_xlabel("sweep $k$")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def plot_learning_curve(values: Sequence[float], window: int = 100, ax=None, xlabel: str = "episode",
                        ylabel: str = "return", label: str | None = None, reference: float | None = None,
                        reference_label: str = "optimum"):
    """A moving average (``window``) of per-episode numbers, with an optional horizontal reference."""
    ax = plotting._axes(ax)
    v = np.asarray(values, float)
    w = max(1, min(window, len(v)))
    avg = np.convolve(v, np.ones(w) / w, mode="valid")
    ax.plot(np.arange(w, len(v) + 1), avg, label=label or f"moving average of {w}")
    if reference is not None:
        ax.axhline(reference, color=plotting.COLORS[1], ls="--", lw=1.5, label=reference_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


# ================================================================ exercise checks
def bellman_optimality_backup(P: np.ndarray, R: np.ndarray, gamma: float, v: np.ndarray) -> np.ndarray:
    r"""One sweep of value iteration without terminal bookkeeping: :math:`\max_a (R + \gamma P v)`, shape ``(S,)``."""
    return (np.asarray(R, float) + gamma * np.asarray(P, float) @ np.asarray(v, float)).max(axis=1)


def _random_P(rng, S, A=None):
    shape = (S, S) if A is None else (S, A, S)
    P = rng.random(shape) ** 2
    P[rng.random(shape) < 0.4] = 0.0
    idx = rng.integers(S, size=shape[:-1])
    np.put_along_axis(P, idx[..., None], 1.0, axis=-1)  # every row has some mass
    return P / P.sum(-1, keepdims=True)


def check_discounted_returns(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(rewards, gamma) -> G`` (returns of every step) on random episodes, including gamma 0 and 1."""
    gammas = [0.9, 0.0, 1.0, 0.5, 0.99, 0.7]

    def make_inputs(rng):
        t = make_inputs.calls = getattr(make_inputs, "calls", -1) + 1
        return (rng.integers(-2, 3, size=int(rng.integers(1, 12))).astype(float), gammas[t % len(gammas)])

    return checks.check_function(fn, discounted_returns, make_inputs, name="discounted_returns", trials=trials)


def check_mrp_value(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Check ``fn(P, R, gamma) -> v`` against the exact solve on random Markov reward processes."""
    def make_inputs(rng):
        S = int(rng.integers(2, 7))
        return (_random_P(rng, S), rng.normal(size=S), float(rng.uniform(0.0, 0.95)))

    return checks.check_function(fn, mrp_value, make_inputs, name="mrp_value", trials=trials, rtol=1e-6, atol=1e-8)


def check_bellman_optimality_backup(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Check ``fn(P, R, gamma, v) -> max_a (R + gamma P v)`` on random MDPs."""
    def make_inputs(rng):
        S, A = int(rng.integers(2, 7)), int(rng.integers(2, 5))
        return (_random_P(rng, S, A), rng.normal(size=(S, A)), float(rng.uniform(0.1, 0.99)), rng.normal(size=S))

    return checks.check_function(fn, bellman_optimality_backup, make_inputs, name="bellman_optimality_backup",
                                 trials=trials)


def check_q_learning_update(fn: Callable, trials: int = 8) -> checks.CheckResult:
    """Check ``fn(Q, s, a, r, s_next, terminated, alpha, gamma) -> new Q`` (a copy; terminal targets do not bootstrap)."""
    def make_inputs(rng):
        t = make_inputs.calls = getattr(make_inputs, "calls", -1) + 1
        S, A = int(rng.integers(2, 6)), int(rng.integers(2, 5))
        return (rng.normal(size=(S, A)), int(rng.integers(S)), int(rng.integers(A)), float(rng.normal()),
                int(rng.integers(S)), bool(t % 2), float(rng.uniform(0.05, 1.0)), float(rng.uniform(0.5, 0.99)))

    return checks.check_function(fn, q_learning_update, make_inputs, name="q_learning_update", trials=trials)


def find_episode(env, policy: np.ndarray, success: bool = True, max_steps: int = 40, seeds: int = 200) -> dict:
    """The first episode (seeds 0, 1, ...) of ``policy`` that ends in success (or failure) within ``max_steps``."""
    for seed in range(seeds):
        ep = record_episode(env, policy, seed)
        if (sum(ep["rewards"]) > 0) == success and len(ep["actions"]) <= max_steps:
            return ep
    raise ValueError(f"no such episode among the first {seeds} seeds")
