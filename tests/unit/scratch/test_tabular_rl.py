"""course_utils.scratch.tabular_rl: returns, sampling, MC and TD(0) evaluation, Q-learning."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from course_utils.scratch import mdp as M
from course_utils.scratch import tabular_rl as T


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
    res = T.q_learning(env, 300, gamma=0.9, alpha=0.5, epsilon=0.2, seed=0)
    expected = np.array([0.9 ** (3 - s) for s in range(4)])
    np.testing.assert_allclose(res.Q[:4, 1], expected, atol=1e-3)
    assert np.array_equal(res.policy[:4], [1, 1, 1, 1])
    again = T.q_learning(env, 300, gamma=0.9, alpha=0.5, epsilon=0.2, seed=0)
    assert np.array_equal(res.Q, again.Q)  # seeded: reproducible


def test_q_learning_update_and_td0_update_formulas():
    Q = np.arange(6.0).reshape(3, 2)
    new = T.q_learning_update(Q, 0, 1, 1.0, 2, False, 0.5, 0.9)
    assert new[0, 1] == pytest.approx(1 + 0.5 * (1 + 0.9 * 5 - 1)) and Q[0, 1] == 1.0
    assert T.q_learning_update(Q, 0, 1, 1.0, 2, True, 0.5, 0.9)[0, 1] == pytest.approx(1.0)
    v = np.array([0.0, 1.0, 2.0])
    assert T.td0_update(v, 1, 0.5, 2, False, 0.1, 0.9)[1] == pytest.approx(1 + 0.1 * (0.5 + 1.8 - 1))


def test_epsilon_greedy_frequencies():
    rng = np.random.default_rng(0)
    q = np.array([0.0, 2.0, 1.0])
    assert all(T.epsilon_greedy(q, 0.0, rng) == 1 for _ in range(50))
    picks = np.bincount([T.epsilon_greedy(q, 0.3, rng) for _ in range(6000)], minlength=3) / 6000
    np.testing.assert_allclose(picks, [0.1, 0.8, 0.1], atol=0.02)


def test_sampled_commute_returns_average_to_the_exact_value():
    names, P, R = M.example_mrp()
    mrp = M.mrp_as_mdp(P, R, 0.9, terminal=[False, False, False, True], state_names=names)
    rng = np.random.default_rng(0)
    G0 = [T.discounted_returns(T.sample_episode(mrp, np.zeros(4, np.int64), rng)[2], 0.9)[0] for _ in range(3000)]
    exact = M.mrp_value(P, R, 0.9)[0]
    assert abs(np.mean(G0) - exact) < 4 * np.std(G0) / np.sqrt(len(G0))


def test_discounted_returns_against_direct_sum():
    rng = np.random.default_rng(0)
    r = rng.normal(size=9)
    G = T.discounted_returns(r, 0.8)
    direct = [sum(0.8 ** k * r[t + k] for k in range(len(r) - t)) for t in range(len(r))]
    np.testing.assert_allclose(G, direct, atol=1e-12)


def test_mc_and_td_converge_on_random_walk():
    mdp = M.random_walk_mdp(5)
    pi = np.zeros(mdp.n_states, np.int64)
    true = np.arange(1, 6) / 6
    mc = T.mc_evaluation(mdp, pi, 400, np.random.default_rng(0))
    td = T.td0_evaluation(mdp, pi, 400, np.random.default_rng(1), alpha=0.05, v0=0.5)
    assert np.abs(mc[-1, 1:-1] - true).max() < 0.08
    assert np.abs(td[200:, 1:-1].mean(0) - true).max() < 0.06  # constant-step TD hovers: average its tail


def test_record_episode_follows_the_policy_and_ends():
    env = gym.make("FrozenLake-v1", map_name="4x4", is_slippery=True)
    pi = np.full(16, 2, np.int64)  # always right
    ep = T.record_episode(env, pi, seed=3)
    assert len(ep["states"]) == len(ep["actions"]) + 1 == len(ep["rewards"]) + 1
    assert set(ep["actions"]) == {2} and ep["seed"] == 3
    assert ep == T.record_episode(env, pi, seed=3)  # the seed fixes the slips


# ------------------------------------------------------------ step sizes side by side, batch updating
def _walk():
    return M.random_walk_mdp(5), np.zeros(7, np.int64)


def test_sample_episodes_equals_repeated_sample_episode():
    walk, pi = _walk()
    many = T.sample_episodes(walk, pi, 5, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    for states, rewards in many:
        s2, _, r2 = T.sample_episode(walk, pi, rng)
        np.testing.assert_array_equal(states, s2)
        np.testing.assert_array_equal(rewards, r2)


@pytest.mark.parametrize("method", ["mc", "td"])
def test_array_of_step_sizes_equals_separate_runs(method):
    walk, pi = _walk()
    eps = T.sample_episodes(walk, pi, 20, np.random.default_rng(0))
    alphas = np.array([0.05, 0.2])
    run = (lambda a: T.mc_evaluation(walk, pi, 20, alpha=a, v0=0.5, first_visit=False, episodes=eps)) if method == "mc" \
        else (lambda a: T.td0_evaluation(walk, pi, 20, alpha=a, v0=0.5, episodes=eps))
    both = run(alphas)
    assert both.shape == (20, 2, 7)
    for k, a in enumerate(alphas):
        np.testing.assert_allclose(both[:, k], run(float(a)), atol=1e-12)


def test_every_visit_and_first_visit_differ_only_on_revisits():
    walk, pi = _walk()
    eps = [(np.array([3, 2, 3, 4, 5, 6]), np.array([0.0, 0, 0, 0, 1]))]  # C B C D E, right end
    first = T.mc_evaluation(walk, pi, 1, alpha=1.0, episodes=eps)[0]
    every = T.mc_evaluation(walk, pi, 1, alpha=1.0, first_visit=False, episodes=eps)[0]
    np.testing.assert_allclose(first[1:-1], [0, 1, 1, 1, 1])
    np.testing.assert_allclose(every, first)
    half = T.mc_evaluation(walk, pi, 1, alpha=0.5, first_visit=False, episodes=eps, v0=0.0)[0]
    assert half[3] == pytest.approx(0.75)  # C moved halfway to 1, twice


def test_batch_td0_converges_to_the_certainty_equivalence_estimate():
    walk, pi = _walk()
    eps = T.sample_episodes(walk, pi, 25, np.random.default_rng(1))
    v, sweeps = T.batch_td0(eps, walk, v0=0.5)
    ce = T.certainty_equivalence_evaluation(walk, eps, v0=0.5)
    assert ce.shape == (25, 7) and sweeps > 10
    np.testing.assert_allclose(v, ce[-1], atol=1e-9)
    # by hand on one episode C -> D -> E -> right end: every observed transition is certain, so all three are worth 1
    one = [(np.array([3, 4, 5, 6]), np.array([0.0, 0.0, 1.0]))]
    np.testing.assert_allclose(T.certainty_equivalence_evaluation(walk, one, v0=0.5)[0], [0, 0.5, 0.5, 1, 1, 1, 0])
    with pytest.raises(ValueError, match="did not converge"):
        T.batch_td0(eps, walk, max_sweeps=3)


def test_batch_mc_is_the_average_return_of_every_visit():
    walk, pi = _walk()
    eps = [(np.array([3, 4, 5, 6]), np.array([0.0, 0.0, 1.0])), (np.array([3, 2, 1, 0]), np.array([0.0, 0.0, 0.0]))]
    h = T.batch_mc_evaluation(walk, eps, v0=0.5)
    np.testing.assert_allclose(h[0], [0, 0.5, 0.5, 1, 1, 1, 0])
    np.testing.assert_allclose(h[1], [0, 0, 0, 0.5, 1, 1, 0])  # C: returns 1 and 0
    # where the two batch answers differ: TD(0) uses that C leads to D or B half the time each
    ce = T.certainty_equivalence_evaluation(walk, eps, v0=0.5)[1]
    np.testing.assert_allclose(ce[3], 0.5)
    np.testing.assert_allclose(ce[[2, 4]], [0, 1])
