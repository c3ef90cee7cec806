"""course_utils.chapters.ch20_reinforcement_learning: widgets at their extremes, experiments, exercise checks."""
from __future__ import annotations

from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from helpers import assert_checker

from course_utils.chapters import ch20_reinforcement_learning as ch
from course_utils.scratch import dqn, policy_gradient
from course_utils.scratch import mdp as M
from course_utils.scratch import tabular_rl as T
from course_utils.widgets import Slider, figure_texts, interactive_figure


# ------------------------------------------------------------------- widgets
@pytest.mark.parametrize("gamma,slip,policy", [(0.0, 0.0, "optimal"), (1.0, 0.0, "optimal"), (1.0, 1.0, "optimal"),
                                               (0.9, 0.5, "uniform random"), (1.0, 0.2, "uniform random"),
                                               (0.99, 1.0, "always right")])
def test_gridworld_widget_draws_at_extremes(gamma, slip, policy):
    texts = figure_texts(ch.draw_gridworld(gamma=gamma, slip=slip, policy=policy))
    assert any(f"slip = {slip:g}" in t for t in texts)
    assert not any("never reaches" in t for t in texts)


def test_gridworld_widget_explains_the_singular_system():
    texts = " ".join(figure_texts(ch.draw_gridworld(gamma=1.0, slip=0.0, policy="always right")))
    assert "never reaches an exit" in texts and "singular" in texts and "no unique solution" in texts
    assert "return there is 0" in texts and "gamma < 1" in texts
    texts = " ".join(figure_texts(ch.draw_gridworld(policy="bogus")))
    assert "policy must be one of" in texts


def test_episode_replay_widget():
    env = gym.make("FrozenLake-v1", map_name="4x4", is_slippery=True)
    mdp = M.frozenlake_mdp(env)
    pi, _, _ = M.value_iteration(mdp)
    ep = T.record_episode(env, pi, seed=3)
    n = len(ep["actions"])
    draw = ch.episode_drawer(mdp, ep)
    assert "step 0: start" in figure_texts(draw(0))
    assert any(t.startswith(f"step {n}/{n}") for t in figure_texts(draw(n)))
    assert any("outside this episode" in t for t in figure_texts(draw(n + 5)))
    fig = interactive_figure(draw, step=Slider(0, n, 1, play=True))
    assert fig.render(step=1).startswith(b"\x89PNG")


def test_find_episode_returns_a_success_of_bounded_length():
    env = gym.make("FrozenLake-v1", map_name="4x4", is_slippery=True)
    pi, _, _ = M.value_iteration(M.frozenlake_mdp(env))
    ep = ch.find_episode(env, pi, success=True, max_steps=40)
    assert sum(ep["rewards"]) == 1 and len(ep["actions"]) <= 40
    with pytest.raises(ValueError, match="no such episode"):
        ch.find_episode(env, pi, success=True, max_steps=1, seeds=5)


def test_learning_curve_plots_the_moving_average_from_the_first_full_window():
    ax = ch.plot_learning_curve(np.arange(10.0), window=4, reference=3.0)
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(x, np.arange(4, 11))
    np.testing.assert_allclose(y, np.arange(1.5, 8.5))
    assert ax.get_legend().get_texts()[1].get_text() == "optimum"


# -------------------------------------------------------------------- checks
CHECKS = {
    "discounted_returns": (ch.check_discounted_returns, T.discounted_returns, lambda r, g: np.cumsum(r)),
    "mrp_value": (ch.check_mrp_value, M.mrp_value, lambda P, R, g: np.linalg.solve(np.eye(len(R)) - g * P.T, R)),
    "bellman_optimality_backup": (ch.check_bellman_optimality_backup, M.bellman_optimality_backup,
                                  lambda P, R, g, v: (R + g * P @ v).mean(1)),
    "q_learning_update": (ch.check_q_learning_update, T.q_learning_update,
                          lambda Q, s, a, r, s2, done, al, g: T.q_learning_update(Q, s, a, r, s2, False, al, g)),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_checker_passes_reference_rejects_wrong_and_spots_stub(name):
    check, reference, wrong = CHECKS[name]
    assert_checker(check, reference, [wrong])


def test_q_learning_update_check_catches_in_place_edit():
    def in_place(Q, s, a, r, s2, done, alpha, gamma):
        Q[s, a] += alpha * (r + (0 if done else gamma * Q[s2].max()) - Q[s, a])
        return Q
    res = ch.check_q_learning_update(in_place)
    assert not res.passed and "in place" in res.message


# -------------------------------------------------------- new exercise checks
def _hand_ref():
    return 16 / 7


@pytest.mark.parametrize("wrong, says", [(lambda: 4.0, "gamma = 1"), (lambda: 2.0, "only the first reward"),
                                         (lambda: 8 / 3, "missing a factor 0.5"), (lambda: 3.0, "v(A)")])
def test_check_hand_value(wrong, says):
    assert ch.hand_mrp_value() == pytest.approx(16 / 7)
    assert_checker(ch.check_hand_value, _hand_ref, [wrong], must_say=says)


@pytest.mark.parametrize("wrong, says", [(lambda: (7, 7), "two rows"), (lambda: (11, 11), "hugs them"),
                                         (lambda: (7,), "2 items"), (lambda: None, "None")])
def test_check_route_prediction(wrong, says):
    assert_checker(ch.check_route_prediction, lambda: (7, 11), [wrong], must_say=says)


def test_greedy_route_shapes():
    assert ch.route_lengths((0.0, 0.1)) == (7, 11)
    assert ch.greedy_route(0.0)[-1] == (3, 5)  # the goal
    assert ch.greedy_route(0.2) == [(3, 0)]  # pushes into the wall at the start


def _targets_online_masked(r, qo, qt, term, g):
    return r + g * (1 - term) * qo.max(dim=1).values


def _targets_target_unmasked(r, qo, qt, term, g):
    return r + g * qt.max(dim=1).values


def _targets_buggy(r, qo, qt, term, g):
    return r + g * qo.max(dim=1).values


def _targets_no_gamma(r, qo, qt, term, g):
    return r + (1 - term) * qt.max(dim=1).values


@pytest.mark.parametrize("wrong, says", [(_targets_online_masked, "online network"),
                                         (_targets_target_unmasked, "terminal states"),
                                         (_targets_buggy, "two bugs"), (_targets_no_gamma, "wrong")])
def test_check_dqn_targets_names_the_bug(wrong, says):
    assert_checker(ch.check_dqn_targets, ch.reference_dqn_targets, [wrong], must_say=says)


WRONG_DESIGNS = [(lambda: {"gamma": 0.8, "epsilon": 0.1}, "even the optimal policy only succeeds 0.447"),
                 (lambda: {"gamma": 0.99, "epsilon": 0.6}, "explore less"),
                 (lambda: {"gamma": 1.0, "epsilon": 0.1}, "walking in circles"),
                 (lambda: {"gamma": 1.5, "epsilon": 0.1}, "must both lie in [0, 1]"),
                 (lambda: {"gamma": 0.99}, "return a dict"),
                 (lambda: (0.99, 0.1), "return a dict"), (lambda: __import__("torch").zeros(3), "got Tensor")]


def test_check_q_learning_design():
    assert_checker(ch.check_q_learning_design, lambda: {"gamma": 0.99, "epsilon": 0.1}, [w for w, _ in WRONG_DESIGNS])
    for wrong, says in WRONG_DESIGNS:  # the designs were run above: these checks are cached
        assert says in ch.check_q_learning_design(wrong).message


# -------------------------------------------------------- experiments and their asserts' negative controls
def test_commute_series_assert_rejects_a_transposed_solve():
    names, P, R = M.example_mrp()
    series = sum(0.9 ** k * np.linalg.matrix_power(P, k) @ R for k in range(400))
    assert np.abs(M.mrp_value(P, R, 0.9) - series).max() < 1e-10
    wrong = np.linalg.solve(np.eye(4) - 0.9 * P.T, R)
    assert not np.abs(wrong - series).max() < 1e-10


def test_evaluation_and_optimality_asserts_reject_unconverged_iterations():
    grid = M.gridworld_mdp(slip=0.2, gamma=0.9)
    uniform = np.full((grid.n_states, 4), 0.25)
    v_rough, _ = M.evaluate_policy_iterative(grid, uniform, tol=1e-3)
    assert not np.abs(M.evaluate_policy_exact(grid, uniform) - v_rough).max() < 1e-10
    _, v_vi, _ = M.value_iteration(grid, tol=1e-3)
    assert not M.bellman_optimality_residual(grid, v_vi) < 1e-10


def test_geometric_rate_and_its_assert():
    assert ch.geometric_rate(0.5 ** np.arange(1, 40)) == pytest.approx(0.5)
    assert not ch.geometric_rate(0.95 ** np.arange(1, 40)) < 0.9  # slower than gamma: the assert fails


def test_mc_vs_td_claims_hold_and_fail_when_td_is_replaced_by_mc():
    walk = M.random_walk_mdp(5)
    res = ch.mc_vs_td(walk, np.zeros(7, np.int64), n_episodes=100, n_runs=20, seed=0)
    assert res.constant_mc.shape == res.constant_td.shape == (100, 4) and res.batch_td.shape == (100,)
    claims = ch.mc_vs_td_claims(res)
    assert claims["td_wins"] == list(res.alphas) and claims["best_mc"] / claims["best_td"] > 1.5
    # negative control: "TD" that is really MC passes none of the claims
    same = ch.MCvsTD(res.alphas, res.constant_mc, res.constant_mc.copy(), res.batch_mc, res.batch_mc.copy(), 20)
    c = ch.mc_vs_td_claims(same)
    assert c["td_wins"] == [] and c["best_mc"] / c["best_td"] == 1.0 and c["batch_td_lower_from"] is None
    ax = ch.plot_mc_vs_td(res)[1]
    assert ax.get_title() == "batch updating on all episodes so far" and ax.get_xlabel() == "episodes"


def test_q_learning_asserts_reject_a_policy_one_action_off():
    env = ch.frozenlake_env()
    lake = M.frozenlake_mdp(env, 0.99)
    pi, v, _ = M.value_iteration(lake, tol=1e-12)
    assert ch.success_gap(lake, pi, pi) == 0.0
    off = pi.copy()
    off[lake.start] = 2  # "right" at the start instead of "left"
    assert ch.success_gap(lake, off, pi) > 0.02
    q = M.q_from_v(lake, v)
    assert not np.isclose(q[lake.start, off[lake.start]], q[lake.start, pi[lake.start]], atol=1e-9)


def test_cartpole_assert_rejects_random_and_untrained_agents():
    assert ch.random_policy_returns().mean() < ch.CARTPOLE_SOLVED
    assert ch.cartpole_test(dqn.make_q_net(seed=0)).mean() < ch.CARTPOLE_SOLVED
    assert ch.cartpole_test(policy_gradient.make_policy_net(seed=0)).mean() < ch.CARTPOLE_SOLVED


def test_baseline_variance_and_its_assert_rejects_a_harmful_baseline():
    agent = policy_gradient.reinforce_cartpole(max_updates=3, batch_episodes=2, eval_every=10, snapshot_at=(2,),
                                               progress=False)
    var = ch.baseline_variance(agent, update=2, n_batches=8)
    assert set(var) == {"none", "batch mean", "agent's value net", "value net fitted to this policy"}
    assert var["batch mean"] < var["none"]

    class Constant(torch.nn.Module):  # a baseline far from every return
        def forward(self, obs):
            return torch.full((len(obs), 1), 300.0)

    est = policy_gradient.gradient_estimates(agent.policy, {"bad": Constant()}, 8)
    tv = {k: ((g - g.mean(0)) ** 2).sum(1).mean() for k, g in est.items()}
    assert not tv["bad"] / tv["none"] < 1


def test_first_solved_reads_both_histories():
    d = SimpleNamespace(eval_returns=np.array([10.0, 480.0, 500.0]), eval_steps=np.array([1000, 2000, 3000]),
                        eval_times=np.array([1.0, 2.0, 3.0]))
    a = SimpleNamespace(history={"eval_update": [5, 10], "eval_return": [200.0, 490.0], "env_steps": list(range(100, 1100, 100)),
                                 "seconds": [0.1 * k for k in range(1, 11)]})
    assert ch.first_solved(d, a) == {"DQN": (2000, 2.0), "REINFORCE": (1000, pytest.approx(1.0))}
    d.eval_returns = np.array([10.0, 20.0, 30.0])
    assert ch.first_solved(d, a)["DQN"][0] == -1


def test_clock_assert_rejects_two_runs_of_the_same_algorithm():
    """The chapter asserts REINFORCE reaches a 475 evaluation CLOCK_FACTOR_MIN times sooner than DQN. Two REINFORCE
    runs with the chapter's settings and different seeds must not pass that assert against each other. Seeds 0-3
    took 0.40, 0.46, 1.10 and 0.49 s here (at most 2.75 times apart); the test runs 1 and 3, which are fast and
    leave room for a busy CI machine, since a timing test must not be flaky. Each seed's time is the faster of two
    runs: under pytest-xdist without the Makefile's one-thread setting, a test on the other core once made one seed
    at least 5 times slower than the other (the assert failed; the times were not kept)."""
    no_dqn = SimpleNamespace(eval_returns=np.array([0.0]), eval_steps=np.array([0]), eval_times=np.array([0.0]))
    times = []
    for seed in (1, 3):
        runs = [policy_gradient.reinforce_cartpole(max_updates=300, target=500.0, eval_episodes=20, seed=seed,
                                                   progress=False) for _ in range(2)]
        times.append(min(ch.first_solved(no_dqn, agent)["REINFORCE"][1] for agent in runs))
    assert np.all(np.isfinite(times)), times
    assert not ch.far_sooner(times[0], times[1]) and not ch.far_sooner(times[1], times[0]), times
    assert ch.far_sooner(0.4, 15.0) and not ch.far_sooner(float("nan"), 15.0)


def test_dqn_vs_reinforce_figure_axes():
    d = SimpleNamespace(episode_steps=np.array([20, 50, 90]), episode_seconds=np.array([0.1, 0.2, 0.3]),
                        episode_returns=np.array([20.0, 30.0, 40.0]), eval_steps=np.array([50]),
                        eval_returns=np.array([100.0]))
    a = SimpleNamespace(history={"env_steps": [100, 200], "seconds": [0.1, 0.2], "train_return": [20.0, 40.0],
                                 "eval_update": [2], "eval_return": [150.0]})
    left, right = ch.plot_dqn_vs_reinforce(d, a)
    assert left.get_xlabel() == "environment steps" and right.get_xlabel() == "wall-clock seconds of training"
    assert left.get_ylabel() == "return"


def test_baseline_order_is_stable_across_measurement_seeds():
    """The notebook's claim: every baseline helps, the batch mean most, whatever the measurement's seed."""
    agent = policy_gradient.reinforce_cartpole(max_updates=10, target=500.0, eval_every=100, snapshot_at=(10,),
                                               progress=False)
    for seed in (1, 2):
        var = ch.baseline_variance(agent, update=10, n_batches=60, seed=seed)
        ratios = {k: v / var["none"] for k, v in var.items()}
        assert all(r < 1 for k, r in ratios.items() if k != "none") and min(ratios, key=ratios.get) == "batch mean"


def test_replay_count_assert_rejects_an_agent_that_learns_from_one_transition_per_step():
    """The chapter asserts DQN's minibatch examples per environment step, updates * DQN_BATCH / env_steps, exceed 10.

    A Q-network that takes one gradient step on one stored transition per environment step (online learning,
    as tabular Q-learning does) uses each step about once, and fails it.
    """
    batch = 1
    res = dqn.train_dqn(max_steps=600, batch_size=batch, train_every=1, updates_per_round=1, learning_starts=1,
                        eval_every=10**9, stop_at=None, hidden=(16,), progress=False)
    replays = res.updates * batch / res.env_steps
    assert replays == pytest.approx(1.0, abs=0.01)
    assert not replays > 10
