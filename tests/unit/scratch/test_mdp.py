"""course_utils.scratch.mdp: Bellman solves agree (exact, iterative, torch), planners agree, validation, FrozenLake."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from course_utils.scratch import mdp as M
from course_utils.scratch import tabular_rl


def random_mdp(seed: int, gamma: float = 0.9, n_terminal: int = 0) -> M.MDP:
    rng = np.random.default_rng(seed)
    S, A = int(rng.integers(3, 9)), int(rng.integers(2, 5))
    P = M.random_transition_matrix(rng, S, A)
    R = rng.normal(size=(S, A))
    terminal = np.zeros(S, bool)
    terminal[S - n_terminal:] = True
    for s in np.flatnonzero(terminal):
        P[s] = 0.0
        P[s, :, s] = 1.0
        R[s] = 0.0
    return M.MDP(P, R, gamma, terminal)


# ------------------------------------------------------------- Bellman solves
@pytest.mark.parametrize("seed", range(6))
def test_exact_equals_iterative_equals_torch_solve(seed):
    mdp = random_mdp(seed, gamma=0.8 + 0.03 * seed, n_terminal=seed % 2)
    rng = np.random.default_rng(100 + seed)
    pi = rng.dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
    v_exact = M.evaluate_policy_exact(mdp, pi)
    v_iter, deltas = M.evaluate_policy_iterative(mdp, pi, tol=1e-13)
    np.testing.assert_allclose(v_iter, v_exact, atol=1e-10)
    assert deltas[-1] < 1e-13 and len(deltas) > 5
    # torch twin: solve the same linear system independently
    P_pi, R_pi = M.policy_matrices(mdp, pi)
    live = ~mdp.terminal
    A = torch.eye(int(live.sum()), dtype=torch.float64) - mdp.gamma * torch.from_numpy(P_pi[np.ix_(live, live)])
    np.testing.assert_allclose(torch.linalg.solve(A, torch.from_numpy(R_pi[live])).numpy(), v_exact[live], atol=1e-10)
    # Bellman expectation equation holds
    np.testing.assert_allclose(M.bellman_expectation_backup(mdp, pi, v_exact), v_exact, atol=1e-10)


def test_mrp_value_matches_the_series_of_expected_rewards():
    names, P, R = M.example_mrp()
    v = M.mrp_value(P, R, 0.9)
    series = sum(0.9 ** k * np.linalg.matrix_power(P, k) @ R for k in range(600))
    np.testing.assert_allclose(v, series, atol=1e-10)


def test_random_walk_values_are_exit_probabilities():
    mdp = M.random_walk_mdp(5)
    v = M.evaluate_policy_exact(mdp, np.zeros(mdp.n_states, np.int64))
    np.testing.assert_allclose(v[1:-1], np.arange(1, 6) / 6, atol=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_policy_iteration_equals_value_iteration(seed):
    mdp = random_mdp(seed, gamma=0.95, n_terminal=seed % 3)
    pi_pi, v_pi, _ = M.policy_iteration(mdp)
    pi_vi, v_vi, _ = M.value_iteration(mdp, tol=1e-12)
    np.testing.assert_allclose(v_vi, v_pi, atol=1e-9)
    assert np.array_equal(pi_pi, pi_vi)
    assert M.bellman_optimality_residual(mdp, v_pi) < 1e-9
    # the optimal policy's exact value is the fixed point value iteration found
    np.testing.assert_allclose(M.evaluate_policy_exact(mdp, pi_vi), v_vi, atol=1e-9)
    # and no deterministic single-state change improves on it
    rng = np.random.default_rng(seed)
    for _ in range(5):
        other = pi_vi.copy()
        other[rng.integers(mdp.n_states)] = rng.integers(mdp.n_actions)
        assert np.all(M.evaluate_policy_exact(mdp, other) <= v_vi + 1e-9)


def test_value_iteration_fixed_point_equals_exact_solve_of_its_policy_on_gridworld():
    mdp = M.gridworld_mdp(slip=0.2, gamma=0.9)
    pi, v, _ = M.value_iteration(mdp)
    np.testing.assert_allclose(M.evaluate_policy_exact(mdp, pi), v, atol=1e-9)


def test_bellman_optimality_backup_is_one_sweep_of_value_iteration():
    mdp = random_mdp(3, gamma=0.9)
    v = np.random.default_rng(0).normal(size=mdp.n_states)
    np.testing.assert_allclose(M.bellman_optimality_backup(mdp.P, mdp.R, mdp.gamma, v), M.q_from_v(mdp, v).max(1))


def test_random_transition_matrix_rows_are_distributions():
    P = M.random_transition_matrix(np.random.default_rng(0), 5, 3)
    assert P.shape == (5, 3, 5) and np.all(P >= 0) and (P == 0).any()
    np.testing.assert_allclose(P.sum(-1), 1.0)


# ------------------------------------------------------------------ validation
def test_mdp_validation_names_the_bad_row():
    P = np.full((3, 2, 3), 1 / 3)
    P[1, 0] = [0.5, 0.2, 0.2]
    with pytest.raises(ValueError, match=r"from state '1' under action '0' \(P\[1, 0, :\]\) sum to 0.9"):
        M.MDP(P, np.zeros((3, 2)), 0.9)
    P[1, 0] = [1.2, -0.2, 0.0]
    with pytest.raises(ValueError, match=r"P\[1, 0, 1\] = -0.2 is negative"):
        M.MDP(P, np.zeros((3, 2)), 0.9)
    P[1, 0] = 1 / 3
    with pytest.raises(ValueError, match="shape"):
        M.MDP(P, np.zeros((3, 3)), 0.9)
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\]"):
        M.MDP(P, np.zeros((3, 2)), 1.5)
    with pytest.raises(ValueError, match="terminal state '2' must be absorbing"):
        M.MDP(P, np.zeros((3, 2)), 0.9, terminal=[False, False, True])
    with pytest.raises(ValueError, match="slip probability"):
        M.gridworld_mdp(slip=1.5)


def test_gamma_one_without_exit_says_the_system_is_singular_not_that_the_return_is_undefined():
    mdp = M.gridworld_mdp(slip=0.0, gamma=1.0)
    right = np.full(mdp.n_states, 1, np.int64)
    with pytest.raises(ValueError) as err:
        M.evaluate_policy_exact(mdp, right)
    msg = str(err.value)
    assert "never reaches an exit from state (0,0) and 15 other state(s)" in msg
    assert "I - gamma P_pi is singular" in msg and "no unique solution" in msg and "return there is 0" in msg
    # the same loops with a step cost: now the return itself diverges
    costly = M.gridworld_mdp(slip=0.0, gamma=1.0, step_reward=-1.0)
    with pytest.raises(ValueError, match="does not converge"):
        M.evaluate_policy_exact(costly, right)
    # and the singularity itself: the 17 non-terminal states leave 5 free constants (one per loop)
    P_pi, _ = M.policy_matrices(mdp, right)
    live = ~mdp.terminal
    assert np.linalg.matrix_rank(np.eye(live.sum()) - P_pi[np.ix_(live, live)]) == live.sum() - 5
    names, P, R = M.example_mrp()
    with pytest.raises(ValueError, match="closed set of states it never leaves .* no unique solution"):
        M.mrp_value(P, R, 1.0)  # the office state loops forever (with reward 0)


def test_gridworld_rows_and_slip():
    mdp = M.gridworld_mdp(slip=0.2, gamma=0.9)
    np.testing.assert_allclose(mdp.P.sum(2), 1.0)
    s = 2 * 6 + 2  # (2, 2): up is free, right free, down is a pit, left free
    np.testing.assert_allclose(mdp.P[s, 0, s - 6], 0.8)
    np.testing.assert_allclose(mdp.P[s, 0, [s + 1, s - 1]], [0.1, 0.1])
    np.testing.assert_allclose(mdp.R[s, 1], 0.1 * -1.0)  # moving right slips into the pit with 0.1


# -------------------------------------------------------------- gymnasium link
def test_frozenlake_converter_matches_gymnasium_dynamics():
    env = gym.make("FrozenLake-v1", map_name="4x4", is_slippery=True)
    mdp = M.frozenlake_mdp(env, gamma=0.99)
    assert mdp.P.shape == (16, 4, 16) and mdp.terminal.sum() == 5
    u = env.unwrapped
    for s in range(16):
        for a in range(4):
            if mdp.terminal[s]:
                continue
            expected = np.zeros(16)
            for p, s2, _r, _d in u.P[s][a]:
                expected[s2] += p
            np.testing.assert_allclose(mdp.P[s, a], expected, atol=1e-12)
    # empirical transitions from the real env agree with P
    env.reset(seed=0)
    counts = np.zeros(16)
    for _ in range(3000):
        u.s = 6  # put the agent on (1, 2) and press "down"
        s2, *_ = env.step(1)
        counts[s2] += 1
    np.testing.assert_allclose(counts / 3000, mdp.P[6, 1], atol=0.03)
    # the known optimum: success probability 0.8235 (= 14/17) without a time limit
    pi, v, _ = M.value_iteration(mdp.with_gamma(1.0), tol=1e-12)
    assert abs(M.success_probability(mdp, pi) - 14 / 17) < 1e-6


def test_success_probability_horizon_matches_simulation():
    env = gym.make("FrozenLake-v1", map_name="4x4", is_slippery=True)
    mdp = M.frozenlake_mdp(env)
    pi, _, _ = M.value_iteration(mdp)
    exact = M.success_probability(mdp, pi, horizon=100)
    sim = tabular_rl.evaluate_env_policy(env, pi, 600, seed=0).mean()
    assert abs(sim - exact) < 4 * np.sqrt(exact * (1 - exact) / 600)


def test_intended_route_and_optimal_success_within():
    grid = M.gridworld_mdp(slip=0.0, gamma=0.9)
    pi, _, _ = M.value_iteration(grid, tol=1e-12)
    assert M.intended_route(grid, pi) == [(3, 0), (2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (2, 5), (3, 5)]
    assert M.intended_route(grid, np.full(grid.n_states, 3, np.int64)) == [(3, 0)]  # left: blocked at once
    with pytest.raises(ValueError, match="grid MDP"):
        M.intended_route(random_mdp(0), np.zeros(3, np.int64))
    env = gym.make("FrozenLake-v1", map_name="4x4", is_slippery=True)
    lake = M.frozenlake_mdp(env)
    pi, _, _ = M.value_iteration(lake.with_gamma(1.0), tol=1e-12)
    best, stationary = M.optimal_success_within(lake, 100), M.success_probability(lake, pi, 100)
    assert stationary <= best + 1e-12 and best - stationary < 0.01
    assert M.optimal_success_within(lake, 10_000) == pytest.approx(14 / 17, abs=1e-6)  # no limit in effect
