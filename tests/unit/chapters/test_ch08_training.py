"""course_utils.chapters.ch08_training: figures, the widget at its extremes, the exercise checks, and a
negative control for every headline assert of the notebook (the same function and threshold, a wrong model)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_checker
from torch import nn

from course_utils import checks
from course_utils.chapters import ch08_training as ch
from course_utils.scratch import losses, schedules
from course_utils.widgets import Choice, Slider, figure_texts, interactive_figure


def _texts(fig) -> str:
    return " ".join(figure_texts(fig))


# ------------------------------------------------------------------ widget
@pytest.mark.parametrize("scheme", ["zero", "small", "large", "xavier", "xavier_tanh", "kaiming"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_widget_draws_every_scheme_at_both_depth_extremes(scheme, activation):
    for depth in (2, 30):
        text = _texts(ch.draw_signal_propagation(scheme, activation, depth))
        assert f"{activation}, {depth} layers" in text
        assert ("all zero" in text) == (scheme == "zero")


def test_widget_zero_init_says_why_and_bad_settings_explain_themselves():
    assert "are identical" in _texts(ch.draw_signal_propagation("zero", "relu", 5))
    assert "unknown initialisation" in _texts(ch.draw_signal_propagation("orthogonal", "relu", 5))
    assert "between 1 and 50" in _texts(ch.draw_signal_propagation("kaiming", "relu", 0))
    fig = interactive_figure(ch.draw_signal_propagation, scheme=Choice(list(ch.ini.SCHEMES), value="kaiming"),
                             activation=Choice(["relu", "tanh"]), depth=Slider(2, 30, 1, value=20, static=[5, 20]))
    assert fig.render(scheme="large", activation="tanh", depth=2)[:4] == b"\x89PNG"
    n_frames = np.prod([len(c.static_values()) for c in fig.controls.values()])
    assert n_frames <= 80


def test_widget_frame_does_not_depend_on_the_frames_before_it():
    """The frame draws into one kept figure (widgets.kept_figure): every setting must reset what it shows."""
    fig = interactive_figure(ch.draw_signal_propagation, scheme=Choice(list(ch.ini.SCHEMES), value="kaiming"),
                             activation=Choice(["relu", "tanh"]), depth=Slider(2, 30, 1, value=20))
    small = fig.render(cache=False, scheme="small", activation="tanh", depth=5)
    zero = fig.render(cache=False, scheme="zero", depth=5)  # no data: the variance axis must not keep old limits
    assert "are identical" in _texts(fig.figure(scheme="zero", depth=30))
    assert "are identical" not in _texts(fig.figure(scheme="large", depth=2))
    fig.render(cache=False, scheme="small", depth=20)
    assert fig.render(cache=False, scheme="zero", depth=5) == zero
    assert fig.render(cache=False, scheme="small", activation="tanh", depth=5) == small


def test_widget_title_reports_the_measured_spread():
    text = _texts(ch.draw_signal_propagation("small", "relu", 20))
    assert "activation variance ×" in text and "e+" in text  # tens of orders of magnitude


# ------------------------------------------------------------------ losses
def test_loss_figure():
    fig = ch.plot_losses(delta=1.0)
    huber = next(line for line in fig.axes[0].get_lines() if "Huber" in line.get_label())
    assert huber.get_ydata()[-1] == pytest.approx(2.5)  # δ(|r| − δ/2) at r = 3
    hinge_grad = next(line for line in fig.axes[3].get_lines() if "hinge" in line.get_label())
    assert np.all(hinge_grad.get_ydata()[hinge_grad.get_xdata() > 1.01] == 0)


def test_robust_regression_assert_and_its_negative_control():
    study = ch.robust_regression_study(range(3), steps=1500)
    ratio = study["errors"]["L2"] / study["errors"]["Huber"]
    assert np.all(ratio >= ch.ROBUST_RATIO_MIN)
    clean = ch.robust_regression_study(range(3), outlier_fraction=0.0, steps=1500)  # no outliers: no advantage
    clean_ratio = clean["errors"]["L2"] / clean["errors"]["Huber"]
    assert not np.all(clean_ratio >= ch.ROBUST_RATIO_MIN)
    np.testing.assert_allclose(clean_ratio, 1.0, rtol=1e-6)  # every residual inside δ: Huber is L2
    assert clean["errors"]["L1"].mean() > clean["errors"]["L2"].mean()  # without outliers L1 is the least precise
    assert "L2: ŷ" in " ".join(t.get_text() for t in ch.plot_robust_fits(study).get_legend().get_texts())


def test_fit_line_reaches_least_squares():
    x, y, _ = ch.make_outlier_line(0)
    w, b = ch.fit_line(x, y, losses.mse_loss, steps=3000)
    np.testing.assert_allclose([w, b], np.polyfit(x, y, 1), atol=1e-6)


# ------------------------------------------------------------------ initialisation
def test_symmetry_assert_and_its_negative_control():
    sym = ch.symmetry_study(steps=30)
    assert sym["zero"]["spread"] <= ch.SYMMETRY_TOL and sym["constant"]["spread"] <= ch.SYMMETRY_TOL
    assert not sym["random"]["spread"] <= ch.SYMMETRY_TOL  # random init breaks the symmetry


def test_variance_asserts_and_their_negative_controls():
    good = {c: ch.variance_over_depth(*c) for c in [("xavier_tanh", "tanh"), ("kaiming", "relu")]}
    for res in good.values():
        assert ch.spread(res["activations"]) < ch.VARIANCE_SPREAD_MAX
        assert not max(ch.spread(res["activations"]), ch.spread(res["gradients"])) > ch.EXPLODE_VANISH_MIN
    # Xavier's gain 1 with ReLU halves the variance per layer: it fails the "within 2" assert
    assert not ch.spread(ch.variance_over_depth("xavier", "relu", draws=4)["activations"]) < ch.VARIANCE_SPREAD_MAX
    for bad in [("small", "tanh"), ("large", "relu"), ("large", "tanh")]:
        res = ch.variance_over_depth(*bad, draws=2)
        assert max(ch.spread(res["activations"]), ch.spread(res["gradients"])) > ch.EXPLODE_VANISH_MIN


def test_pooling_matters_one_relu_network_drifts():
    single = [ch.spread(ch.variance_over_depth("kaiming", "relu", draws=1, seed=s)["activations"]) for s in range(10)]
    assert max(single) > ch.VARIANCE_SPREAD_MAX  # why the notebook pools 32 networks


def test_spread_and_variance_plot():
    assert ch.spread(np.array([1.0, 4.0])) == 4.0 and ch.spread(np.array([0.0, 1.0])) == np.inf
    res = {("kaiming", "relu"): ch.variance_over_depth("kaiming", "relu", depth=5, draws=2)}
    ax = ch.plot_variance_over_depth(res, key="gradients", legend=False)
    assert ax.get_title() == "Gradients through 5 layers" and ax.get_legend() is None


# ------------------------------------------------------------------ schedules and the range test
@pytest.mark.parametrize("name", list(schedules.SCHEDULES))
def test_torch_twin_of_every_schedule(name):
    np.testing.assert_allclose(schedules.schedule(name, 0.1, 60), ch.torch_schedule_lrs(name, 0.1, 60), rtol=1e-10)


def test_plot_schedules_and_range_test_figure():
    assert len(ch.plot_schedules(0.1, 50).get_lines()) == len(schedules.SCHEDULES)
    r = ch.RangeTestResult(schedules.range_test_lrs(1e-4, 1, 20), np.linspace(2.3, 0.5, 20), 0.01)
    assert "suggested η = 0.01" in " ".join(t.get_text() for t in ch.plot_range_test(r).get_legend().get_texts())


@pytest.fixture(scope="module")
def finder():
    return ch.lr_range_test(seed=1)


def test_range_test_assert_and_its_negative_control(finder):
    assert 0.02 < finder.suggestion < 1.0
    good = ch.final_accuracy(ch.train_digits(finder.suggestion, epochs=8, seed=1))
    assert good >= ch.LR_GOOD_ACC_MIN
    # a rate the finder did not pick: far too small trains far worse, and fails the same assert
    far = ch.final_accuracy(ch.train_digits(finder.suggestion / 1000, epochs=8, seed=1))
    assert not far >= ch.LR_GOOD_ACC_MIN and far <= good - ch.LR_FAR_GAP_MIN


# ------------------------------------------------------------------ learning curves
@pytest.fixture(scope="module")
def gallery():
    return ch.learning_curve_gallery(seed=1)


def test_every_run_is_diagnosed_as_what_it_is(gallery):
    assert {label: ch.diagnose(h) for label, h in gallery.items()} == {label: label for label in gallery}
    fig = ch.plot_learning_curves(gallery)
    assert all("read as:" in ax.get_title() for ax in fig.axes)


def _train_loss_only(history):  # a plausible wrong reading: "the training loss went down, so all is well"
    tr = history["train_loss"] if len(history) else [np.inf]
    return "good" if np.isfinite(tr[-1]) and tr[-1] < 0.3 else "learning rate too high"


def test_reading_only_the_training_loss_fails_the_diagnosis_assert(gallery):
    verdicts = {label: _train_loss_only(h) for label, h in gallery.items()}
    assert not all(verdicts[label] == label for label in gallery)
    assert verdicts["overfitting"] == "good"  # it cannot see overfitting at all


def test_diagnose_handles_an_empty_diverged_history():
    h = ch.training.History()
    h.diverged = True
    assert ch.diagnose(h) == "learning rate too high"
    assert "diverged" in " ".join(figure_texts(ch.plot_learning_curves({"learning rate too high": h})))


# ------------------------------------------------------------------ hyperparameter search
def test_search_assert_and_its_negative_control():
    one = ch.search_study(0.05, 16, seeds=400)
    assert one["ratio"] >= ch.SEARCH_RATIO_MIN and one["random_wins"] >= ch.SEARCH_WIN_MIN
    both = ch.search_study(1.0, 16, seeds=400)  # both dimensions matter: random search's edge is gone
    assert not (both["ratio"] >= ch.SEARCH_RATIO_MIN or both["random_wins"] >= ch.SEARCH_WIN_MIN)


def test_search_figure():
    assert "4 distinct u₁" in _texts(ch.plot_search())


# ------------------------------------------------------------------ debugging recipe
@pytest.fixture(scope="module")
def recipe_reports():
    return {bug: ch.debugging_recipe(bug=bug, seed=1) for bug in (None, *ch.BUGS)}


def test_recipe_passes_the_correct_model_and_each_bug_fails_its_check(recipe_reports):
    assert all(recipe_reports[None].passed.values())
    failing = {bug: [k for k, ok in r.passed.items() if not ok] for bug, r in recipe_reports.items() if bug}
    assert failing == {"softmax_twice": ["overfits one batch"],
                       "shuffled_labels": ["learns (validation above chance)"],
                       "large_last_layer": ["initial loss ≈ log C"]}
    assert recipe_reports["softmax_twice"].one_batch_loss == pytest.approx(ch.softmax_twice_floor(10), abs=0.06)
    with pytest.raises(ValueError, match="unknown bug"):
        ch.debugging_recipe(bug="off_by_one")


# ------------------------------------------------------------------ exercise checks
def _huber_mean_forgotten(pred, target, delta):
    loss, grad = losses.huber_loss(pred, target, delta)
    return loss, grad * grad.size


def _huber_l2_gradient(pred, target, delta):
    loss, _ = losses.huber_loss(pred, target, delta)
    return loss, (pred - target) / pred.size


def _huber_wrong_linear_piece(pred, target, delta):
    r = pred - target
    a = np.abs(r)
    return float(np.mean(np.where(a <= delta, 0.5 * r ** 2, delta * a))), np.clip(r, -delta, delta) / r.size


def test_check_huber_loss():
    assert_checker(ch.check_huber_loss, losses.huber_loss,
                   [_huber_mean_forgotten, _huber_l2_gradient, _huber_wrong_linear_piece])


def test_check_relu_xavier_prediction():
    assert ch.check_relu_xavier_prediction(19 * np.log10(0.5))
    r = ch.check_relu_xavier_prediction(0.0)  # "Xavier keeps the variance"
    assert not r and "halves" in r.message
    assert not ch.check_relu_xavier_prediction(...).attempted


def test_check_softmax_twice_floor():
    assert ch.check_softmax_twice_floor(np.log(1 + 9 / np.e))
    assert ch.softmax_twice_floor(10) == pytest.approx(1.4612, abs=1e-4)
    r = ch.check_softmax_twice_floor(np.log(10))  # "the loss cannot leave log C"
    assert not r and "one-hot" in r.message
    assert not ch.check_softmax_twice_floor(...).attempted


def _broken_factory():
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10), nn.Softmax(dim=1))
    with torch.no_grad():
        model[2].weight.mul_(20.0)
    return model


def _half_fixed_factory():  # softmax removed, the scaling kept
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    with torch.no_grad():
        model[2].weight.mul_(20.0)
    return model


def test_check_model_factory_names_each_remaining_bug():
    r = ch.check_model_factory(_broken_factory)  # the softmax hides the scaling: fixing it reveals the next bug
    assert not r and "log(1 + 9/e)" in r.message
    r = ch.check_model_factory(_half_fixed_factory)
    assert not r and "untrained loss" in r.message and "log(1 + 9/e)" not in r.message
    assert ch.check_model_factory(lambda: nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)))
    r = ch.check_model_factory(lambda: nn.Linear(3, 10))
    assert not r and "raised" in r.message


def test_check_tanh_gain():
    assert ch.check_tanh_gain(dict(gain=1.4))
    r = ch.check_tanh_gain(dict(gain=1.0))
    assert not r and "raise it" in r.message
    r = ch.check_tanh_gain(dict(gain=5 / 3))
    assert not r and "lower it" in r.message
    assert not ch.check_tanh_gain(dict(gain=...)).attempted
    assert "dict like" in ch.check_tanh_gain([1.4]).message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_softmax_twice_floor(2.0)
