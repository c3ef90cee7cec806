"""course_utils.chapters.ch18_gans: negative controls for every headline assert, the widget at its extremes,
and the exercise checks."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import Close, assert_checker, assert_ships

from course_utils import checks, data
from course_utils.chapters import ch18_gans as ch
from course_utils.scratch import gan, sample_quality
from course_utils.widgets import Choice, Slider, figure_texts, interactive_figure


# ------------------------------------------------------ the optimal discriminator
def test_the_fitted_discriminator_is_dstar_and_fails_against_the_wrong_generator():
    for seed in (0, 1):
        assert ch.dstar_matches(ch.optimal_discriminator_study(n=5_000, seed=seed))
    # fitted on samples of a generator other than p_g: a plausible D, but not D* of the section's game
    assert not ch.dstar_matches(ch.optimal_discriminator_study(n=5_000, seed=0, fake_from=(1.5, 0.5)))
    assert not ch.dstar_matches(ch.optimal_discriminator_study(n=5_000, seed=0, fake_from=(1.0, 0.6)))


def test_value_at_optimum_is_minus_log_4_plus_twice_js():
    val = ch.value_at_optimum(n=50_000, seed=0)
    assert abs(val["V(D*, G), Monte Carlo"] - val["−log 4 + 2 JS"]) < 4 * val["standard error"]
    assert 0 < val["JS"] < np.log(2)
    same = ch.value_at_optimum(p_g=ch.P_DATA, n=50_000, seed=0)       # a perfect generator: V = −log 4, JS = 0
    assert same["JS"] == pytest.approx(0, abs=1e-12) and same["−log 4 + 2 JS"] == pytest.approx(-np.log(4))
    # the wrong identity (V = 2 JS, without −log 4) misses the Monte Carlo value by far
    assert abs(val["V(D*, G), Monte Carlo"] - 2 * val["JS"]) > 100 * val["standard error"]


# --------------------------------------------------------- generator losses
def test_saturating_gradient_vanishes_only_against_a_trained_discriminator():
    start = ch.generator_gradient_study(d_steps=300, seed=0)
    assert start["mean D(G(z))"] < 0.05 and ch.saturating_vanishes(start)
    # the control: an untrained discriminator (D(G(z)) near 1/2) gives both losses similar gradients
    control = ch.generator_gradient_study(d_steps=0, seed=0)
    assert 0.3 < control["mean D(G(z))"] < 0.7 and not ch.saturating_vanishes(control)


def test_plot_generator_losses_labels():
    ax = ch.plot_generator_losses()
    assert ax.get_xlabel().startswith("D(G(z))") and len(ax.get_legend().get_texts()) == 2


# ------------------------------------------------------------------ the ring
@pytest.fixture(scope="module")
def ring_runs():
    main = ch.ring_run(*ch.ring_lrs(1.0), steps=2000, seed=0)
    collapse = ch.ring_run(*ch.ring_lrs(10.0), steps=ch.COLLAPSE_STEPS, seed=0)
    return {name: ch.evaluate_ring(gan.sample_generator(r.generator, ch.N_EVAL, seed=1))
            for name, r in (("main", main), ("collapse", collapse))}


def test_covers_modes_passes_the_main_run_and_fails_the_controls(ring_runs):
    assert ch.covers_modes(ring_runs["main"]) and not ch.collapsed(ring_runs["main"])
    # the collapsed run
    assert not ch.covers_modes(ring_runs["collapse"]) and ch.collapsed(ring_runs["collapse"])
    # a Gaussian fitted to the ring: every mode is "occupied", almost no sample is near one (low quality)
    gauss = ch.evaluate_ring(sample_quality.fitted_gaussian(ch.ring_data(), ch.N_EVAL, np.random.default_rng(0)))
    assert not ch.covers_modes(gauss) and not ch.collapsed(gauss) and gauss.high_quality < 0.05
    # an untrained generator: a blob near the origin
    G, _ = gan.build_gan(2, ch.RING_GAN["z_dim"], ch.RING_GAN["hidden"], ch.RING_GAN["depth"], seed=0)
    assert not ch.covers_modes(ch.evaluate_ring(gan.sample_generator(G, ch.N_EVAL, seed=1)))
    # the real data pass (a sanity check of the measure, not a control)
    real, _ = data.make_ring_of_gaussians(ch.N_EVAL, np.random.default_rng(3), **ch.RING)
    assert ch.covers_modes(ch.evaluate_ring(real))


def test_ring_lrs_and_a_bad_ratio():
    assert ch.ring_lrs(10.0) == (ch.LR_G, ch.LR_G / 10)
    with pytest.raises(ValueError, match="positive"):
        ch.ring_lrs(0.0)


def test_ring_figures(ring_runs):
    runs = {"main": ch.ring_run(*ch.ring_lrs(1.0), steps=2000, seed=0)}
    fig = ch.plot_snapshots(runs, steps=[0, 1000, 2000])
    assert "step 1000" in " ".join(figure_texts(fig))
    ax = ch.plot_dynamics(runs)
    assert ax.get_xlabel() == "training step"
    ax = ch.plot_ring_samples(np.zeros((5, 2)), title="t", verdict=ring_runs["main"])
    assert "/8 modes" in ax.get_title()


# ------------------------------------------------------------------- widget
@pytest.mark.parametrize("ratio", [min(ch.RATIOS), 1.0, max(ch.RATIOS)])
def test_widget_draws_the_extremes(ratio):
    for step in (0, max(ch.SNAPSHOT_STEPS)):
        texts = " ".join(figure_texts(ch.draw_gan_ring(ratio, step)))
        assert f"lr_G : lr_D = {ratio:g}" in texts and f"step {step}" in texts
    final = " ".join(figure_texts(ch.draw_gan_ring(ratio, max(ch.SNAPSHOT_STEPS))))
    assert ("mode collapse" in final) == (ratio == max(ch.RATIOS))


def test_the_widgets_runs_ship_with_the_course_and_are_what_the_code_trains(monkeypatch, tmp_path):
    """Every ratio's run is in the shipped file with this code's version; retrained (one thread, as the notebook's
    runs are), ratio 1's snapshots (the main run, which the module's other tests have trained already) are the shipped
    ones (bit for bit on a machine that rounds like the one that made the file).
    With another version the widget trains instead of reading the file."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    ratio = 1.0
    assert_ships(ch.WIDGET_RUNS_FILE, ch.WIDGET_RUNS_SHA256, [f"ch18-ring-ratio{r:g}" for r in ch.RATIOS],
                 ch._widget_version(), (f"ch18-ring-ratio{ratio:g}", ch._widget_arrays(ratio)),
                 # another CPU: 2e-6 apart after 250 steps, then the chaotic run goes elsewhere (AMD vs Intel)
                 close={"snapshot/0": Close(atol=1e-5), "snapshot/250": Close(atol=1e-4), "snapshot/*": None})
    ch.widget_run.cache_clear()
    assert ch.widget_run(ratio).snapshots.keys() == set(ch.SNAPSHOT_STEPS)
    calls = []
    monkeypatch.setattr(ch, "_widget_version", lambda: "other-code")
    monkeypatch.setattr(ch, "_widget_arrays", lambda ratio: calls.append(ratio) or {"diverged": np.asarray(False),
                                                                                   "message": np.asarray("")})
    ch.widget_run.cache_clear()
    ch.widget_run(1.0)
    ch.widget_run.cache_clear()
    assert calls == [1.0]


def test_widget_rejects_settings_it_has_not_precomputed():
    for bad in (ch.draw_gan_ring(2.0, 2000), ch.draw_gan_ring(1.0, 123)):
        assert getattr(bad, "_course_exception", None) is ValueError
        assert "must be one of" in " ".join(figure_texts(bad))


def test_widget_static_frames_fit_the_book():
    fig = interactive_figure(ch.draw_gan_ring, ratio=Choice(list(ch.RATIOS), value=1.0),
                             step=Slider(0, 2000, 250, value=2000, play=True))
    n = len(fig.controls["ratio"].static_values()) * len(fig.controls["step"].static_values())
    assert n <= 80


# ------------------------------------------------------------------- digits
def test_digit_gan_passes_and_the_controls_fail():
    yard = ch.yardstick()
    trained = ch.digit_gan(0)
    fd_gauss = yard.score(yard.gaussian_baseline(ch.N_SCORE, np.random.default_rng(0))).frechet
    fd_gan = yard.score(trained.sample(ch.N_SCORE, np.random.default_rng(1))).frechet
    assert ch.digit_gan_passes(fd_gan, fd_gauss)
    # the yardstick's negative control: another draw of the fitted Gaussian itself
    fd_gauss_again = yard.score(yard.gaussian_baseline(ch.N_SCORE, np.random.default_rng(1))).frechet
    assert not ch.digit_gan_passes(fd_gauss_again, fd_gauss)
    # an untrained generator, and the same GAN stopped after 300 steps
    untrained, _ = gan.build_gan(64, gan.DIGIT_GAN["z_dim"], gan.DIGIT_GAN["hidden"], gan.DIGIT_GAN["depth"], 0,
                                 out="sigmoid")
    assert not ch.digit_gan_passes(yard.score(gan.sample_generator(untrained, ch.N_SCORE, seed=1)).frechet, fd_gauss)
    short = gan.train_gan(yard.train_images, seed=0, show_progress=False, **{**gan.DIGIT_GAN, "steps": 300})
    assert not ch.digit_gan_passes(yard.score(gan.sample_generator(short.generator, ch.N_SCORE, seed=1)).frechet,
                                   fd_gauss)
    # blurred real digits
    assert not ch.digit_gan_passes(yard.score(sample_quality.blur(yard.train_images[:ch.N_SCORE])).frechet, fd_gauss)
    # the chapter's "the recipe matters": learning rates 2e-3 for 1,500 steps end worse than the Gaussian itself
    hot = gan.train_gan(yard.train_images, seed=0, show_progress=False,
                        **{**gan.DIGIT_GAN, "lr_g": 2e-3, "lr_d": 2e-3, "steps": 1500})
    assert yard.score(gan.sample_generator(hot.generator, ch.N_SCORE, seed=1)).frechet > fd_gauss


def test_format_scores_lists_every_set():
    yard = ch.yardstick()
    table = ch.format_scores(ch.score_sets({"real": yard.train_images[:100], "blurred":
                                            sample_quality.blur(yard.train_images[:100])}))
    assert "Fréchet distance" in table and "real" in table and "blurred" in table


# ------------------------------------------------------------------- checks
def _disc_ref(r, f):
    return float(np.mean(np.logaddexp(0, -r)) + np.mean(np.logaddexp(0, f)))


def _broken_generator_loss(fake_logits):
    """The debug exercise's cell, verbatim."""
    d = 1 / (1 + np.exp(-fake_logits))
    loss = np.mean(np.log(d))
    dlogits = (1 - d) / len(fake_logits)
    return loss, dlogits


def _generator_loss_ref(fake_logits):
    loss = np.mean(np.logaddexp(0, -fake_logits))
    return loss, (np.exp(-np.logaddexp(0, -fake_logits)) - 1) / len(fake_logits)


def test_checkers_pass_references_and_reject_wrong_answers():
    assert_checker(ch.check_discriminator_loss, _disc_ref, [
        lambda r, f: float(-np.mean(np.log(1 / (1 + np.exp(-r)))) - np.mean(np.log(1 - 1 / (1 + np.exp(-f))))),  # unstable
        lambda r, f: float(np.mean(np.logaddexp(0, -np.concatenate([r, -f])))),         # one mean over both groups
        lambda r, f: float(np.mean(np.logaddexp(0, r)) + np.mean(np.logaddexp(0, -f))),  # labels swapped
        lambda r, f: [_disc_ref(r, f)],                                                  # a list, not a float
    ])
    assert_checker(ch.check_generator_loss, _generator_loss_ref, [
        _broken_generator_loss,
        lambda f: (np.mean(np.logaddexp(0, -f)), (1 - np.exp(-np.logaddexp(0, -f))) / len(f)),   # gradient's sign
        lambda f: (-np.mean(np.log(1 / (1 + np.exp(-f)))), (1 / (1 + np.exp(-f)) - 1) / len(f)),  # unstable at -1000
    ])


def test_the_debug_exercise_fails_on_the_broken_cell(lenient):
    with np.errstate(all="ignore"):
        r = ch.check_generator_loss(_broken_generator_loss)
    assert not r and r.attempted


def test_predict_and_derive_checks(lenient):
    d3 = float(gan.optimal_discriminator(gan.normal_logpdf(3.0, *ch.P_DATA), gan.normal_logpdf(3.0, *ch.P_G)))
    assert 0.9 < d3 < 0.99
    assert ch.check_dstar_prediction(0.94)
    r = ch.check_dstar_prediction(0.01)          # "both densities are tiny, so D* is near 0": the trap
    assert not r and "ratio" in r.message
    assert not ch.check_dstar_prediction(...).attempted
    assert ch.check_equilibrium_value(-np.log(4))
    r = ch.check_equilibrium_value(0.0)          # forgot that log ½ is negative
    assert not r and "log 4" in r.message
    assert not ch.check_equilibrium_value(np.array([np.nan]))


def test_design_check(lenient):
    assert ch.check_ring_design(dict(lr_g=2e-3, lr_d=2e-3, steps=2000, r1_gamma=0.1))
    slow_d = ch.check_ring_design(dict(lr_g=2e-3, lr_d=2e-4, steps=ch.COLLAPSE_STEPS, r1_gamma=0.1))   # cached collapse
    assert not slow_d and slow_d.attempted and "modes" in slow_d.message
    r = ch.check_ring_design(dict(lr_g=2e-3, lr_d=2e-3, steps=5000, r1_gamma=0.1))
    assert not r and "budget" in r.message
    r = ch.check_ring_design(dict(lr=2e-3))
    assert not r and "keys" in r.message
    assert not ch.check_ring_design(dict(lr_g=..., lr_d=..., steps=..., r1_gamma=...)).attempted
    assert not ch.check_ring_design(...).attempted


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_equilibrium_value(1.0)
