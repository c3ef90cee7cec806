"""Chapter 20 · reinforcement learning: the figures, the widgets, the experiments and the exercise checks.

- Figures: ``plot_values`` (a grid MDP's value map with greedy arrows),
  ``plot_sweeps`` (convergence of iterative methods), ``plot_learning_curve``
  (a moving average of per-episode numbers).
- Widgets: ``draw_gridworld`` (discount, slip and policy → values and greedy
  policy of the cliff grid world) and ``episode_drawer`` (replays a recorded
  FrozenLake episode step by step).
- Experiments: ``mc_vs_td`` (RMS error of MC and TD(0) on the random walk),
  ``find_episode`` (a successful episode to replay).
- Exercise checks: ``check_discounted_returns``, ``check_mrp_value``,
  ``check_bellman_optimality_backup``, ``check_q_learning_update``.

The algorithms are in :mod:`course_utils.scratch.mdp`,
:mod:`course_utils.scratch.tabular_rl`, :mod:`course_utils.scratch.rollouts` and
:mod:`course_utils.scratch.policy_gradient`.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .. import base, checks, plotting
from ..scratch.mdp import (
    CLIFF,
    MDP,
    bellman_optimality_backup,
    evaluate_policy_exact,
    gridworld_mdp,
    mrp_value,
    q_from_v,
    random_transition_matrix,
    value_iteration,
)
from ..scratch.tabular_rl import discounted_returns, mc_evaluation, q_learning_update, record_episode, rms_error, td0_evaluation
from ..widgets import frame

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
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.2))
    H, W = mdp.shape
    chars = "".join(mdp.layout)
    if v is not None:
        grid = np.asarray(v, float).reshape(H, W)
        vmax = vmax or max(1e-9, float(np.max(np.abs(grid))))
        im = ax.imshow(np.ma.masked_where(mdp.terminal.reshape(H, W), grid), cmap="RdBu", vmin=-vmax,
                       vmax=vmax, interpolation="nearest")
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="value v(s)")
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


@frame
def draw_gridworld(gamma: float = 0.9, slip: float = 0.2, policy: str = "optimal", layout: Sequence[str] = CLIFF):
    """The chapter's widget: the grid world's values and greedy arrows for ``gamma``, ``slip`` and ``policy``.

    ``"optimal"`` shows :math:`v_*` (value iteration); the other policies show their own
    :math:`v_\\pi` (exact solve) with the arrows of the greedy policy with respect to it,
    i.e. one step of policy improvement. A setting without a unique value raises
    ``ValueError``, which ``@frame`` draws as a message.
    """
    if policy not in GRID_POLICIES:
        raise ValueError(f"policy must be one of {GRID_POLICIES}, got {policy!r}")
    mdp = gridworld_mdp(slip=slip, gamma=gamma, layout=layout)
    if policy == "optimal":
        _, v, deltas = value_iteration(mdp, tol=1e-8, max_sweeps=20_000)
        what = f"optimal values v* ({len(deltas)} sweeps of value iteration)"
    else:
        pi = (np.full((mdp.n_states, 4), 0.25) if policy == "uniform random"
              else np.full(mdp.n_states, 1, np.int64))
        v = evaluate_policy_exact(mdp, pi)
        what = f"vπ of '{policy}'; arrows: greedy improvement"
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="none")
    fig.subplots_adjust(left=0.1, right=0.92, bottom=0.12, top=0.86)
    note = "\nγ = 0: only the next reward counts, so away from the exits all actions tie" if gamma == 0 else ""
    plot_values(mdp, v, ax=ax, q=q_from_v(mdp, v), title=f"γ = {gamma:g}, slip = {slip:g}: {what}{note}")
    ax.title.set_fontsize(9.5)
    return fig


def episode_drawer(mdp: MDP, episode: dict) -> Callable[..., object]:
    """A widget frame ``draw(step=0)`` replaying ``episode`` (from ``tabular_rl.record_episode``) on a grid ``mdp``.

    It shows the path so far, the agent, and whether the last move went where the
    agent intended (FrozenLake's ice makes it slip). A step beyond the end raises
    ``ValueError``, which ``@frame`` draws as a message.
    """
    states, actions, rewards = episode["states"], episode["actions"], episode["rewards"]
    T = len(actions)
    H, W = mdp.shape

    @frame
    def draw(step: int = 0):
        step = int(step)
        if not 0 <= step <= T:
            raise ValueError(f"step {step} is outside this episode: it has steps 0 to {T}")
        fig, ax = plt.subplots(figsize=(5.2, 4.4), layout="none")
        fig.subplots_adjust(left=0.12, right=0.97, bottom=0.11, top=0.9)
        plot_values(mdp, None, ax=ax)
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
        if step == T:
            text += " (goal reached)" if sum(rewards) > 0 else " (episode over)"
        ax.set_title(text, fontsize=10)
        return fig

    return draw


def plot_sweeps(curves: dict[str, Sequence[float]], ax=None, ylabel: str = r"largest change $\max_s |v_{k+1}(s) - v_k(s)|$"):
    """Sup-norm change per sweep of iterative methods, on a log scale."""
    if ax is None:
        _, ax = plt.subplots()
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
    """A moving average (``window``, via ``base.running_mean``) of per-episode numbers, with an optional reference.

    The curve starts at the first full window.
    """
    if ax is None:
        _, ax = plt.subplots()
    v = np.asarray(values, float)
    w = max(1, min(window, len(v)))
    ax.plot(np.arange(w, len(v) + 1), base.running_mean(v, w)[w - 1:], label=label or f"moving average of {w}")
    if reference is not None:
        ax.axhline(reference, color=plotting.COLORS[1], ls="--", lw=1.5, label=reference_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


# ================================================================ experiments
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


def find_episode(env, policy: np.ndarray, success: bool = True, max_steps: int = 40, seeds: int = 200) -> dict:
    """The first episode (seeds 0, 1, ...) of ``policy`` that ends in success (or failure) within ``max_steps``."""
    for seed in range(seeds):
        ep = record_episode(env, policy, seed)
        if (sum(ep["rewards"]) > 0) == success and len(ep["actions"]) <= max_steps:
            return ep
    raise ValueError(f"no such episode among the first {seeds} seeds")


# ================================================================ exercise checks
def check_discounted_returns(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(rewards, gamma) -> G`` (returns of every step) on random episodes, including gamma 0 and 1."""
    gammas = itertools.cycle([0.9, 0.0, 1.0, 0.5, 0.99, 0.7])

    def make_inputs(rng):
        return (rng.integers(-2, 3, size=int(rng.integers(1, 12))).astype(float), next(gammas))

    return checks.check_function(fn, discounted_returns, make_inputs, name="discounted_returns", trials=trials)


def check_mrp_value(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Check ``fn(P, R, gamma) -> v`` against the exact solve on random Markov reward processes."""
    def make_inputs(rng):
        S = int(rng.integers(2, 7))
        return (random_transition_matrix(rng, S), rng.normal(size=S), float(rng.uniform(0.0, 0.95)))

    return checks.check_function(fn, mrp_value, make_inputs, name="mrp_value", trials=trials, rtol=1e-6, atol=1e-8)


def check_bellman_optimality_backup(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Check ``fn(P, R, gamma, v) -> max_a (R + gamma P v)`` on random MDPs."""
    def make_inputs(rng):
        S, A = int(rng.integers(2, 7)), int(rng.integers(2, 5))
        return (random_transition_matrix(rng, S, A), rng.normal(size=(S, A)), float(rng.uniform(0.1, 0.99)), rng.normal(size=S))

    return checks.check_function(fn, bellman_optimality_backup, make_inputs, name="bellman_optimality_backup",
                                 trials=trials)


def check_q_learning_update(fn: Callable, trials: int = 8) -> checks.CheckResult:
    """Check ``fn(Q, s, a, r, s_next, terminated, alpha, gamma) -> new Q`` (a copy; terminal targets do not bootstrap)."""
    terminated = itertools.cycle([False, True])  # both branches of the target in every check

    def make_inputs(rng):
        S, A = int(rng.integers(2, 6)), int(rng.integers(2, 5))
        return (rng.normal(size=(S, A)), int(rng.integers(S)), int(rng.integers(A)), float(rng.normal()),
                int(rng.integers(S)), next(terminated), float(rng.uniform(0.05, 1.0)), float(rng.uniform(0.5, 0.99)))

    return checks.check_function(fn, q_learning_update, make_inputs, name="q_learning_update", trials=trials)

