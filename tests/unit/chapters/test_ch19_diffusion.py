"""course_utils.chapters.ch19_diffusion: the chapter's data, the widgets at their extremes, the exercise checks."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_checker

from course_utils import checks
from course_utils.chapters import ch19_diffusion as ch
from course_utils.scratch import diffusion
from course_utils.widgets import Choice, Slider, figure_texts, interactive_figure


# ----------------------------------------------------------------------- data
def test_swiss_roll_and_digits():
    X = ch.make_swiss_roll(300, np.random.default_rng(0))
    assert X.shape == (300, 2) and np.abs(X).max() < 2
    radius = np.linalg.norm(ch.make_swiss_roll(2000, np.random.default_rng(1), noise=0.0), axis=1)
    # u = 1.5π(1 + 2U) sweeps [1.5π, 4.5π], and the radius is u/10
    assert radius.min() == pytest.approx(0.15 * np.pi, abs=0.01) and radius.max() == pytest.approx(0.45 * np.pi, abs=0.01)
    with pytest.raises(ValueError):
        ch.make_swiss_roll(0, np.random.default_rng(0))
    imgs = ch.digits_as_images()
    assert imgs.shape == (1797, 1, 8, 8) and imgs.min() == -1 and imgs.max() == 1


# -------------------------------------------------------------------- figures
def test_tile_layout():
    t = ch.tile(np.zeros((5, 1, 2, 2)), ncols=3)
    assert t.shape == (2 * 3 - 1, 3 * 3 - 1) and np.isnan(t[2, 0]) and t[0, 0] == 0


def test_plot_points_labels_and_limits():
    ax = ch.plot_points(np.zeros((3, 2)), reference=np.ones((4, 2)), title="samples", lim=1.5)
    assert ax.get_title() == "samples" and ax.get_xlim() == (-1.5, 1.5)
    assert ax.get_xlabel() == "$x_1$" and len(ax.collections) == 2


# -------------------------------------------------------------------- widgets
@pytest.mark.parametrize("schedule", diffusion.SCHEDULES)
@pytest.mark.parametrize("T", [1, 2, 5, 10, 100, 1000])
def test_draw_noising_at_extremes(schedule, T):
    fig = ch.draw_noising(schedule, T)
    texts = " ".join(figure_texts(fig))
    assert f"T = {T}" in texts
    if T < 10:
        assert "far from Gaussian" in texts
    else:
        assert "far from Gaussian" not in texts and "still carries" not in texts


def test_draw_noising_bad_schedule_is_a_message():
    fig = ch.draw_noising("quadratic", 10)
    assert any("unknown schedule" in s for s in figure_texts(fig))


def test_draw_reverse_at_extremes():
    T = 10
    rng = np.random.default_rng(0)
    tr2, trimg = rng.standard_normal((T + 1, 50, 2)), rng.standard_normal((T + 1, 4, 1, 8, 8))
    ref = rng.standard_normal((30, 2))
    for step in (0, 5, T):
        texts = " ".join(figure_texts(ch.draw_reverse(step, tr2, trimg, ref)))
        assert f"t = {T - step}" in texts
    assert any("outside" in s for s in figure_texts(ch.draw_reverse(T + 1, tr2, trimg)))
    assert any("outside" in s for s in figure_texts(ch.draw_reverse(-1, tr2, None)))
    assert any("no trajectory" in s for s in figure_texts(ch.draw_reverse(0)))
    bad = tr2.copy()
    bad[0, 0] = np.nan
    assert any("NaN" in s for s in figure_texts(ch.draw_reverse(T, bad, None)))
    assert "digits at t = 7" in " ".join(figure_texts(ch.draw_reverse(3, None, trimg)))


def test_widgets_through_interactive_figure():
    w = interactive_figure(ch.draw_noising, schedule=Choice(list(diffusion.SCHEDULES)),
                           T=Slider(1, 1000, 1, value=100, static=[1, 10, 100, 1000]))
    assert w.render(schedule="cosine", T=1)[:4] == b"\x89PNG"


# ------------------------------------------------------------ exercise checks
def _ref_q_sample(x0, t, alpha_bar, eps):
    return np.sqrt(alpha_bar[t]) * x0 + np.sqrt(1 - alpha_bar[t]) * eps


def _ref_posterior(x0, xt, t, beta, alpha_bar):
    ab, ab_prev = alpha_bar[t], alpha_bar[t - 1]
    mean = (np.sqrt(ab_prev) * beta[t] * x0 + np.sqrt(1 - beta[t]) * (1 - ab_prev) * xt) / (1 - ab)
    return mean, (1 - ab_prev) / (1 - ab) * beta[t]


def _ref_ddpm_step(xt, eps_hat, t, beta, alpha_bar, z):
    mean = (xt - beta[t] / np.sqrt(1 - alpha_bar[t]) * eps_hat) / np.sqrt(1 - beta[t])
    var = (1 - alpha_bar[t - 1]) / (1 - alpha_bar[t]) * beta[t]
    return mean + np.sqrt(var) * z


def _ref_time_embedding(t, dim):
    h = dim // 2
    ang = np.asarray(t, float)[:, None] * 10000.0 ** (-np.arange(h) / h)
    return np.hstack([np.sin(ang), np.cos(ang)])


WRONG = {
    # the seed notes' error: ᾱ one step off (product starting at s = 0 of a shifted array)
    "q_sample": lambda x0, t, ab, eps: np.sqrt(ab[t - 1]) * x0 + np.sqrt(1 - ab[t - 1]) * eps,
    "posterior": lambda x0, xt, t, beta, ab: (_ref_posterior(x0, xt, t, beta, ab)[0], beta[t]),  # β_t, not β̃_t
    "ddpm_step": lambda xt, e, t, beta, ab, z: _ref_ddpm_step(xt, e, t, beta, ab, 0 * z) + np.sqrt(beta[t]) * z,  # σ² = β_t
    "time_embedding": lambda t, dim: _ref_time_embedding(t, dim)[:, ::-1],                      # cos first
}
CHECKS = {
    "q_sample": (ch.check_q_sample, _ref_q_sample),
    "posterior": (ch.check_posterior, _ref_posterior),
    "ddpm_step": (ch.check_ddpm_step, _ref_ddpm_step),
    "time_embedding": (ch.check_time_embedding, _ref_time_embedding),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_checker_passes_reference_rejects_wrong_and_spots_stub(name):
    check, reference = CHECKS[name]
    assert_checker(check, reference, [WRONG[name]], must_say='wrong')


def test_check_reports_a_crash(lenient):
    r = ch.check_posterior(lambda *a: 1 / 0)
    assert not r and "ZeroDivisionError" in r.message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_time_embedding(WRONG["time_embedding"])
