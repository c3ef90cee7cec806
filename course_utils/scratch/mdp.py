r"""Markov decision processes and planning: the exact side of chapter 20, in NumPy.

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
- A value that does not exist is an error, never a silent number:
  ``mrp_value`` and ``evaluate_policy_exact`` raise ``ValueError`` when
  :math:`I - \gamma P_\pi` is singular.

Contents: the container (:class:`MDP`, ``policy_matrices``, ``as_stochastic``,
``random_transition_matrix``); worlds (``example_mrp``, ``mrp_as_mdp``,
``random_walk_mdp``, ``gridworld_mdp``, ``frozenlake_mdp``); planning (``mrp_value``,
``evaluate_policy_exact``, ``bellman_expectation_backup``, ``evaluate_policy_iterative``,
``q_from_v``, ``greedy_policy``, ``bellman_optimality_backup``,
``bellman_optimality_residual``, ``policy_iteration``, ``value_iteration``,
``success_probability``, ``optimal_success_within``, ``intended_route``). Learning from samples is in
:mod:`course_utils.scratch.tabular_rl`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

TIE_TOL = 1e-9
ROW_TOL = 1e-8
ARROWS = {0: (-1, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1)}  # grid world actions: (d_row, d_col)
GRID_ACTIONS = ("up", "right", "down", "left")
FROZEN_ACTIONS = ("left", "down", "right", "up")  # gymnasium's FrozenLake order


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


def random_transition_matrix(rng: np.random.Generator, S: int, A: int | None = None) -> np.ndarray:
    """A random transition matrix ``(S, S)`` (or ``(S, A, S)`` with ``A`` actions) with some zero entries."""
    shape = (S, S) if A is None else (S, A, S)
    P = rng.random(shape) ** 2
    P[rng.random(shape) < 0.4] = 0.0
    idx = rng.integers(S, size=shape[:-1])
    np.put_along_axis(P, idx[..., None], 1.0, axis=-1)  # every row has some mass
    return P / P.sum(-1, keepdims=True)


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
    :math:`I - \gamma P` is singular: with ``gamma = 1`` every chain has a closed set of
    states it never leaves (an absorbing end state is one), and on it the equation has
    no unique solution, whatever the return is.
    """
    P, R = np.asarray(P, float), np.asarray(R, float)
    n = len(R)
    M = np.eye(n) - gamma * P
    if np.linalg.cond(M) > 1e12:
        raise ValueError(f"I - gamma P is singular (gamma = {gamma:g}): the chain has a closed set of states it never "
                         "leaves (an absorbing end state is one), so v = R + gamma P v has no unique solution there. "
                         "Fix the value of end states to 0 and solve for the others (evaluate_policy_exact does), "
                         "or use gamma < 1.")
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

    Terminal states are fixed at 0. With ``gamma = 1`` the system is singular as soon as
    some state never reaches a terminal state: the Bellman equation then has no unique
    solution there (even when the return exists, e.g. a loop that pays 0 has return 0).
    ``ValueError`` names one such state and says what its return is.
    """
    P_pi, R_pi = policy_matrices(mdp, policy)
    live = ~mdp.terminal
    if mdp.gamma >= 1.0:
        stuck = _never_terminating(P_pi, mdp.terminal)
        if stuck.any():
            s = int(np.flatnonzero(stuck)[0])
            more = f" and {int(stuck.sum()) - 1} other state(s)" if stuck.sum() > 1 else ""
            if np.all(R_pi[stuck] == 0):
                why = "its return there is 0 (the loop pays nothing), but the equations cannot pin that down"
            else:
                why = "its return there does not converge (the loop keeps paying)"
            raise ValueError(f"with gamma = 1 this policy never reaches an exit from state {mdp.state_names[s]}{more}: "
                             f"I - gamma P_pi is singular, so the Bellman equation v = R_pi + gamma P_pi v has no "
                             f"unique solution; {why}. Use gamma < 1, or a policy that reaches an exit.")
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



def bellman_optimality_backup(P: np.ndarray, R: np.ndarray, gamma: float, v: np.ndarray) -> np.ndarray:
    r"""One sweep of value iteration without terminal bookkeeping: :math:`\max_a (R + \gamma P v)`, shape ``(S,)``."""
    return (np.asarray(R, float) + gamma * np.asarray(P, float) @ np.asarray(v, float)).max(axis=1)


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
    """Exact probability that ``policy`` collects the goal reward from the start state (``start`` of the MDP).

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



def optimal_success_within(mdp: MDP, horizon: int, goal_reward: float = 1.0) -> float:
    """The highest probability of collecting the goal reward from the start within ``horizon`` steps.

    Backward induction over the remaining steps: the best policy may depend on the time
    left (a *non-stationary* policy), so this bounds every stationary policy's
    :func:`success_probability` with the same horizon.
    """
    v = np.zeros(mdp.n_states)
    for _ in range(int(horizon)):
        v = (mdp.R + mdp.P @ v).max(axis=1)
        v[mdp.terminal] = 0.0
    return float(v[mdp.start] / goal_reward)


def intended_route(mdp: MDP, policy: np.ndarray, max_moves: int = 100) -> list[tuple[int, int]]:
    """Cells ``(row, column)`` a deterministic ``policy`` visits from the start of a grid MDP if no move slips.

    Uses the grid world's actions (up, right, down, left). Stops at an exit, or when the
    intended move is blocked (the agent pushes into a wall or the border and stays put).
    """
    if mdp.shape is None or mdp.layout is None:
        raise ValueError("intended_route needs a grid MDP (made by gridworld_mdp)")
    H, W = mdp.shape
    r, c = divmod(mdp.start, W)
    route = [(r, c)]
    for _ in range(max_moves):
        s = r * W + c
        if mdp.terminal[s]:
            break
        dr, dc = ARROWS[int(policy[s])]
        if not (0 <= r + dr < H and 0 <= c + dc < W) or mdp.layout[r + dr][c + dc] == "#":
            break
        r, c = r + dr, c + dc
        route.append((r, c))
    return route
