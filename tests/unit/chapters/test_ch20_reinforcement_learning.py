"""course_utils.chapters.ch20_reinforcement_learning: widgets at their extremes, experiments, exercise checks."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from helpers import assert_checker

from course_utils.chapters import ch20_reinforcement_learning as ch
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


def test_gridworld_widget_shows_message_when_value_undefined():
    texts = " ".join(figure_texts(ch.draw_gridworld(gamma=1.0, slip=0.0, policy="always right")))
    assert "never reaches an exit" in texts and "gamma < 1" in texts
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
