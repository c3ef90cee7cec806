"""Tests for course_utils.rl: Bellman solves agree, planners agree, gymnasium conversion, learning, figures, checks."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils import rl  # noqa: E402
from course_utils.widgets import Slider, figure_texts, interactive_figure  # noqa: E402


def random_mdp(seed: int, gamma: float = 0.9, n_terminal: int = 0) -> rl.MDP:
    rng = np.random.default_rng(seed)
    S, A = int(rng.integers(3, 9)), int(rng.integers(2, 5))
    P = rl._random_P(rng, S, A)
    R = rng.normal(size=(S, A))
    terminal = np.zeros(S, bool)
    terminal[S - n_terminal:] = True
    for s in np.flatnonzero(terminal):
        P[s] = 0.0
        P[s, :, s] = 1.0
        R[s] = 0.0
    return rl.MDP(P, R, gamma, terminal)


# ------------------------------------------------------------- Bellman solves
@pytest.mark.parametrize("seed", range(6))
def test_exact_equals_iterative_equals_torch_solve(seed):
    mdp = random_mdp(seed, gamma=0.8 + 0.03 * seed, n_terminal=seed % 2)
    rng = np.random.default_rng(100 + seed)
    pi = rng.dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
    v_exact = rl.evaluate_policy_exact(mdp, pi)
    v_iter, deltas = rl.evaluate_policy_iterative(mdp, pi, tol=1e-13)
    np.testing.assert_allclose(v_iter, v_exact, atol=1e-10)
    assert deltas[-1] < 1e-13 and len(deltas) > 5
    # torch twin: solve the same linear system independently
    P_pi, R_pi = rl.policy_matrices(mdp, pi)
    live = ~mdp.terminal
    M = torch.eye(int(live.sum()), dtype=torch.float64) - mdp.gamma * torch.from_numpy(P_pi[np.ix_(live, live)])
    np.testing.assert_allclose(torch.linalg.solve(M, torch.from_numpy(R_pi[live])).numpy(), v_exact[live], atol=1e-10)
    # Bellman expectation equation holds
    np.testing.assert_allclose(rl.bellman_expectation_backup(mdp, pi, v_exact), v_exact, atol=1e-10)


def test_mrp_value_matches_definition_by_simulation_free_series():
    names, P, R = rl.example_mrp()
    v = rl.mrp_value(P, R, 0.9)
    series = sum(0.9 ** k * np.linalg.matrix_power(P, k) @ R for k in range(600))
    np.testing.assert_allclose(v, series, atol=1e-10)
    with pytest.raises(ValueError, match="singular"):
        rl.mrp_value(P, R, 1.0)  # the office state loops forever


def test_random_walk_values_are_exit_probabilities():
    mdp = rl.random_walk_mdp(5)
    v = rl.evaluate_policy_exact(mdp, np.zeros(mdp.n_states, np.int64))
    np.testing.assert_allclose(v[1:-1], np.arange(1, 6) / 6, atol=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_policy_iteration_equals_value_iteration(seed):
    mdp = random_mdp(seed, gamma=0.95, n_terminal=seed % 3)
    pi_pi, v_pi, _ = rl.policy_iteration(mdp)
    pi_vi, v_vi, _ = rl.value_iteration(mdp, tol=1e-12)
    np.testing.assert_allclose(v_vi, v_pi, atol=1e-9)
    assert np.array_equal(pi_pi, pi_vi)
    assert rl.bellman_optimality_residual(mdp, v_pi) < 1e-9
    # the optimal policy's exact value is the fixed point value iteration found
    np.testing.assert_allclose(rl.evaluate_policy_exact(mdp, pi_vi), v_vi, atol=1e-9)
    # and no deterministic single-state change improves on it
    rng = np.random.default_rng(seed)
    for _ in range(5):
        other = pi_vi.copy()
        other[rng.integers(mdp.n_states)] = rng.integers(mdp.n_actions)
        assert np.all(rl.evaluate_policy_exact(mdp, other) <= v_vi + 1e-9)


def test_value_iteration_fixed_point_equals_exact_solve_of_its_policy_on_gridworld():
    mdp = rl.gridworld_mdp(slip=0.2, gamma=0.9)
    pi, v, _ = rl.value_iteration(mdp)
    np.testing.assert_allclose(rl.evaluate_policy_exact(mdp, pi), v, atol=1e-9)


# ------------------------------------------------------------------ validation
def test_mdp_validation_names_the_bad_row():
    P = np.full((3, 2, 3), 1 / 3)
    P[1, 0] = [0.5, 0.2, 0.2]
    with pytest.raises(ValueError, match=r"from state '1' under action '0' \(P\[1, 0, :\]\) sum to 0.9"):
        rl.MDP(P, np.zeros((3, 2)), 0.9)
    P[1, 0] = [1.2, -0.2, 0.0]
    with pytest.raises(ValueError, match=r"P\[1, 0, 1\] = -0.2 is negative"):
        rl.MDP(P, np.zeros((3, 2)), 0.9)
    P[1, 0] = 1 / 3
    with pytest.raises(ValueError, match="shape"):
        rl.MDP(P, np.zeros((3, 3)), 0.9)
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\]"):
        rl.MDP(P, np.zeros((3, 2)), 1.5)
    with pytest.raises(ValueError, match="terminal state '2' must be absorbing"):
        rl.MDP(P, np.zeros((3, 2)), 0.9, terminal=[False, False, True])
    with pytest.raises(ValueError, match="slip probability"):
        rl.gridworld_mdp(slip=1.5)


def test_gamma_one_without_exit_is_a_clear_error():
    mdp = rl.gridworld_mdp(slip=0.0, gamma=1.0)
    with pytest.raises(ValueError, match="never reaches an exit from state"):
        rl.evaluate_policy_exact(mdp, np.full(mdp.n_states, 1, np.int64))


def test_gridworld_rows_and_slip():
    mdp = rl.gridworld_mdp(slip=0.2, gamma=0.9)
    np.testing.assert_allclose(mdp.P.sum(2), 1.0)
    s = 2 * 6 + 2  # (2, 2): up is free, right free, down is a pit, left free
    np.testing.assert_allclose(mdp.P[s, 0, s - 6], 0.8)
    np.testing.assert_allclose(mdp.P[s, 0, [s + 1, s - 1]], [0.1, 0.1])
    np.testing.assert_allclose(mdp.R[s, 1], 0.1 * -1.0)  # moving right slips into the pit with 0.1


# -------------------------------------------------------------- gymnasium link
def test_frozenlake_converter_matches_gymnasium_dynamics():
    env = gym.make("FrozenLake-v1", map_name="4x4", is_slippery=True)
    mdp = rl.frozenlake_mdp(env, gamma=0.99)
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
    pi, v, _ = rl.value_iteration(mdp.with_gamma(1.0), tol=1e-12)
    assert abs(rl.success_probability(mdp, pi) - 14 / 17) < 1e-6


def test_success_probability_horizon_matches_simulation():
    env = gym.make("FrozenLake-v1", map_name="4x4", is_slippery=True)
    mdp = rl.frozenlake_mdp(env)
    pi, _, _ = rl.value_iteration(mdp)
    exact = rl.success_probability(mdp, pi, horizon=100)
    sim = rl.evaluate_env_policy(env, pi, 600, seed=0).mean()
    assert abs(sim - exact) < 4 * np.sqrt(exact * (1 - exact) / 600)


# -------------------------------------------------------------- learning
class ChainEnv:
    """A tiny deterministic gymnasium-style chain: right moves on, left stays; +1 at the end."""

    def __init__(self, n=4):
        self.n = n
        self.observation_space = gym.spaces.Discrete(n + 1)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, seed=None):
        self.s = 0
        return 0, {}

    def step(self, a):
        self.s = self.s + 1 if a == 1 else self.s
        done = self.s == self.n
        return self.s, float(done), done, False, {}


def test_q_learning_converges_on_tiny_deterministic_mdp():
    env = ChainEnv(4)
    res = rl.q_learning(env, 300, gamma=0.9, alpha=0.5, epsilon=0.2, seed=0)
    expected = np.array([0.9 ** (3 - s) for s in range(4)])
    np.testing.assert_allclose(res.Q[:4, 1], expected, atol=1e-3)
    assert np.array_equal(res.policy[:4], [1, 1, 1, 1])
    again = rl.q_learning(env, 300, gamma=0.9, alpha=0.5, epsilon=0.2, seed=0)
    assert np.array_equal(res.Q, again.Q)  # seeded: reproducible


def test_q_learning_update_and_td0_update_formulas():
    Q = np.arange(6.0).reshape(3, 2)
    new = rl.q_learning_update(Q, 0, 1, 1.0, 2, False, 0.5, 0.9)
    assert new[0, 1] == pytest.approx(1 + 0.5 * (1 + 0.9 * 5 - 1)) and Q[0, 1] == 1.0
    assert rl.q_learning_update(Q, 0, 1, 1.0, 2, True, 0.5, 0.9)[0, 1] == pytest.approx(1.0)
    v = np.array([0.0, 1.0, 2.0])
    assert rl.td0_update(v, 1, 0.5, 2, False, 0.1, 0.9)[1] == pytest.approx(1 + 0.1 * (0.5 + 1.8 - 1))


def test_epsilon_greedy_frequencies():
    rng = np.random.default_rng(0)
    q = np.array([0.0, 2.0, 1.0])
    assert all(rl.epsilon_greedy(q, 0.0, rng) == 1 for _ in range(50))
    picks = np.bincount([rl.epsilon_greedy(q, 0.3, rng) for _ in range(6000)], minlength=3) / 6000
    np.testing.assert_allclose(picks, [0.1, 0.8, 0.1], atol=0.02)


def test_sampled_commute_returns_average_to_the_exact_value():
    names, P, R = rl.example_mrp()
    mrp = rl.mrp_as_mdp(P, R, 0.9, terminal=[False, False, False, True], state_names=names)
    rng = np.random.default_rng(0)
    G0 = [rl.discounted_returns(rl.sample_episode(mrp, np.zeros(4, np.int64), rng)[2], 0.9)[0] for _ in range(3000)]
    exact = rl.mrp_value(P, R, 0.9)[0]
    assert abs(np.mean(G0) - exact) < 4 * np.std(G0) / np.sqrt(len(G0))


def test_discounted_returns_against_direct_sum():
    rng = np.random.default_rng(0)
    r = rng.normal(size=9)
    G = rl.discounted_returns(r, 0.8)
    direct = [sum(0.8 ** k * r[t + k] for k in range(len(r) - t)) for t in range(len(r))]
    np.testing.assert_allclose(G, direct, atol=1e-12)


def test_mc_and_td_converge_on_random_walk():
    mdp = rl.random_walk_mdp(5)
    pi = np.zeros(mdp.n_states, np.int64)
    true = np.arange(1, 6) / 6
    mc = rl.mc_evaluation(mdp, pi, 400, np.random.default_rng(0))
    td = rl.td0_evaluation(mdp, pi, 400, np.random.default_rng(1), alpha=0.05, v0=0.5)
    assert np.abs(mc[-1, 1:-1] - true).max() < 0.08
    assert np.abs(td[200:, 1:-1].mean(0) - true).max() < 0.06  # constant-step TD hovers: average its tail


def test_adam_matches_torch():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(3, 2).double(), torch.nn.Linear(3, 2).double()
    b.load_state_dict(a.state_dict())
    o1, o2 = rl.Adam(a.parameters(), lr=0.05), torch.optim.Adam(b.parameters(), lr=0.05)
    for _ in range(15):
        x = torch.randn(4, 3, dtype=torch.float64)
        for net, opt in ((a, o1), (b, o2)):
            opt.zero_grad()
            (net(x) ** 2).sum().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)


def test_numpy_acting_copy_equals_torch_forward():
    net = rl.make_policy_net(hidden=8, seed=3)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(rl._numpy_mlp(net)(x), net(torch.from_numpy(x)).detach().numpy(), atol=1e-5)


def test_reinforce_smoke_and_greedy_eval():
    res = rl.reinforce_cartpole(max_updates=3, batch_episodes=2, eval_every=1, eval_episodes=2, progress=False)
    assert res.updates == 3 and len(res.history["train_return"]) == 3 and not res.solved
    scores = rl.evaluate_cartpole(res.policy, 3, seed=5)
    assert scores.shape == (3,) and np.all((scores >= 8) & (scores <= 500))


# ------------------------------------------------------------------- widgets
@pytest.mark.parametrize("gamma,slip,policy", [(0.0, 0.0, "optimal"), (1.0, 0.0, "optimal"), (1.0, 1.0, "optimal"),
                                               (0.9, 0.5, "uniform random"), (1.0, 0.2, "uniform random"),
                                               (0.99, 1.0, "always right")])
def test_gridworld_widget_draws_at_extremes(gamma, slip, policy):
    texts = figure_texts(rl.draw_gridworld(gamma=gamma, slip=slip, policy=policy))
    assert any(f"slip = {slip:g}" in t for t in texts)
    assert not any("never reaches" in t for t in texts)


def test_gridworld_widget_shows_message_when_value_undefined():
    texts = " ".join(figure_texts(rl.draw_gridworld(gamma=1.0, slip=0.0, policy="always right")))
    assert "never reaches an exit" in texts and "gamma < 1" in texts
    texts = " ".join(figure_texts(rl.draw_gridworld(policy="bogus")))
    assert "policy must be one of" in texts


def test_episode_replay_widget():
    env = gym.make("FrozenLake-v1", map_name="4x4", is_slippery=True)
    mdp = rl.frozenlake_mdp(env)
    pi, _, _ = rl.value_iteration(mdp)
    ep = rl.record_episode(env, pi, seed=3)
    T = len(ep["actions"])
    draw = rl.episode_drawer(mdp, ep)
    assert "step 0: start" in figure_texts(draw(0))
    assert any(t.startswith(f"step {T}/{T}") for t in figure_texts(draw(T)))
    assert any("outside this episode" in t for t in figure_texts(draw(T + 5)))
    fig = interactive_figure(draw, step=Slider(0, T, 1, play=True))
    assert fig.render(step=1).startswith(b"\x89PNG")


# -------------------------------------------------------------------- checks
def _stub(*args):
    raise NotImplementedError


CHECKS = [
    (rl.check_discounted_returns, rl.discounted_returns, lambda r, g: np.cumsum(r)),
    (rl.check_mrp_value, rl.mrp_value, lambda P, R, g: np.linalg.solve(np.eye(len(R)) - g * P.T, R)),
    (rl.check_bellman_optimality_backup, rl.bellman_optimality_backup, lambda P, R, g, v: (R + g * P @ v).mean(1)),
    (rl.check_q_learning_update, rl.q_learning_update,
     lambda Q, s, a, r, s2, done, al, g: rl.q_learning_update(Q, s, a, r, s2, False, al, g)),
]


@pytest.mark.parametrize("check,reference,wrong", CHECKS, ids=lambda x: getattr(x, "__name__", "fn"))
def test_checks_pass_reference_fail_wrong_and_detect_stub(check, reference, wrong, lenient):
    assert check(reference).passed
    bad = check(wrong)
    assert not bad.passed and bad.attempted
    stub = check(_stub)
    assert not stub.passed and not stub.attempted and "not written" in stub.message


def test_q_learning_update_check_catches_in_place_edit(lenient):
    def in_place(Q, s, a, r, s2, done, alpha, gamma):
        Q[s, a] += alpha * (r + (0 if done else gamma * Q[s2].max()) - Q[s, a])
        return Q
    res = rl.check_q_learning_update(in_place)
    assert not res.passed and "in place" in res.message
