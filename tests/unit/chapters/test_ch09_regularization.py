"""course_utils.chapters.ch09_regularization: figures, the widget at its extremes, the exercise checks, and a
negative control for every headline assert of the notebook (the same function and threshold, a wrong model)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import Close, assert_checker, assert_ships
from torch import nn

from course_utils import checks
from course_utils.chapters import ch09_regularization as ch
from course_utils.scratch import norms
from course_utils.widgets import Choice, figure_texts, interactive_figure


def _texts(fig) -> str:
    return " ".join(figure_texts(fig))


# ------------------------------------------------------------------ the running example and the widget
def test_running_example_has_the_stated_label_noise():
    noisy, clean = ch.small_digits(0), ch.small_digits(0, label_noise=0.0)
    assert len(noisy.y_train) == ch.N_TRAIN and np.array_equal(noisy.X_train, clean.X_train)
    assert 0.15 < np.mean(noisy.y_train != clean.y_train) < 0.35  # about LABEL_NOISE · 9/10 in expectation
    assert np.array_equal(noisy.y_val, clean.y_val)


@pytest.mark.parametrize("dropout", [min(ch.DROPOUTS), max(ch.DROPOUTS)])
@pytest.mark.parametrize("weight_decay", [min(ch.WEIGHT_DECAYS), max(ch.WEIGHT_DECAYS)])
def test_widget_draws_the_corners_of_the_grid(dropout, weight_decay):
    text = _texts(ch.draw_regularization(dropout, weight_decay))
    assert f"dropout {dropout:g}, weight decay {weight_decay:g}: final validation accuracy" in text


def test_the_widgets_runs_ship_with_the_course_and_are_what_the_code_trains(monkeypatch, tmp_path):
    """The nine histories are in the shipped file with this code's version, and the headline setting's, retrained,
    is the shipped one (bit for bit on a machine that rounds like the one that made it).
    With another version the widget trains instead of reading the file."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    names = [f"ch09-dropout{p:g}-wd{wd:g}" for p in ch.DROPOUTS for wd in ch.WEIGHT_DECAYS]
    p, wd = ch.REGULARIZED["dropout"], ch.REGULARIZED["weight_decay"]
    assert_ships(ch.WIDGET_RUNS_FILE, ch.WIDGET_RUNS_SHA256, names, ch._widget_version(),
                 (f"ch09-dropout{p:g}-wd{wd:g}", ch._history_arrays(p, wd)),
                 # another CPU: losses 2e-7 apart (AMD EPYC against the Intel machine that made the file)
                 close={"*_loss": Close(rtol=1e-5), "*_acc": Close(atol=0.01)})
    calls = []
    monkeypatch.setattr(ch, "_widget_version", lambda: "other-code")
    monkeypatch.setattr(ch, "_history_arrays", lambda p, wd: calls.append((p, wd)) or {"val_acc": np.zeros(3)})
    ch.widget_history.cache_clear()
    assert len(ch.widget_history(0.0, 0.0)["val_acc"]) == 3
    ch.widget_history.cache_clear()
    assert calls == [(0.0, 0.0)]


def test_widget_refuses_settings_without_a_run_and_fits_the_book():
    assert "this figure has runs for" in _texts(ch.draw_regularization(0.3, 0.0))
    fig = interactive_figure(ch.draw_regularization, dropout=Choice(list(ch.DROPOUTS), value=0.5),
                             weight_decay=Choice(list(ch.WEIGHT_DECAYS), value=0.01))
    assert len(ch.DROPOUTS) * len(ch.WEIGHT_DECAYS) <= 80
    assert fig.render()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="dropout must be"):
        ch.train_regularized(dropout=1.0)


# ------------------------------------------------------------------ headline: regularisation gain
def test_headline_assert_and_its_negative_control():
    seeds = [0, 1]
    result = ch.regularization_gain(ch.REGULARIZED, seeds)
    assert np.all(result["gain"] >= ch.GAIN_MIN)
    # the unregularised model through the same comparison: it gains exactly nothing
    none = ch.regularization_gain(dict(dropout=0.0, weight_decay=0.0), seeds)
    assert not np.all(none["gain"] >= ch.GAIN_MIN) and np.all(none["gain"] == 0)


def test_on_clean_labels_the_gain_is_below_the_margin():
    # the notebook's remark: with clean labels dropout and weight decay change accuracy by under a point
    clean = ch.regularization_gain(ch.REGULARIZED, [0, 1, 2], label_noise=0.0)
    assert np.all(np.abs(clean["gain"]) < 0.015)
    assert not np.all(clean["gain"] >= ch.GAIN_MIN)


# ------------------------------------------------------------------ penalties
def test_sparsity_assert_and_its_negative_control():
    X, y, w_true = ch.sparse_regression(0)
    lam = [0.2]
    l1, l2 = ch.penalty_paths(X, y, lam, "l1")[0], ch.penalty_paths(X, y, lam, "l2")[0]
    assert np.sum(l1 == 0) >= ch.SPARSE_MIN and np.all(l1[w_true != 0] != 0)
    assert not np.sum(l2 == 0) >= ch.SPARSE_MIN  # L2 in the same assert: no exact zeros
    sub = ch.reg.penalized_least_squares(X, y, 0.2, "l1_subgradient", steps=400).w  # L1 without the proximal step
    assert not np.sum(sub == 0) >= ch.SPARSE_MIN


def test_penalty_path_figure_counts_zeros():
    X, y, w = ch.sparse_regression(0)
    lams = np.geomspace(1e-2, 3, 5)
    fig = ch.plot_penalty_paths(lams, {"L2": ch.penalty_paths(X, y, lams, "l2"), "L1": ch.penalty_paths(X, y, lams, "l1")}, w)
    assert "L2: exact zeros go from 0 to 0 of 50" in _texts(fig)


# ------------------------------------------------------------------ weight decay under Adam
def test_adam_l2_depends_on_the_gradient_scale_adamw_does_not():
    coupled = ch.decay_under_adam([0.01, 1.0, 100.0], decoupled=False, per_scale=30)
    decoupled = ch.decay_under_adam([0.01, 1.0, 100.0], decoupled=True, per_scale=30)
    target = (1 - 1e-4) ** 2000
    assert coupled[0] < 0.1 and coupled[-1] > 0.95
    assert np.all(np.abs(decoupled / target - 1) < 0.05)
    assert not np.all(np.abs(coupled / target - 1) < 0.05)  # Adam + L2 fails the AdamW assert


def test_sgd_equivalence_and_adamw_difference():
    pairs = ch.coupled_vs_decoupled()
    assert pairs["SGD: weight_decay vs L2 in the loss"] < 1e-12
    assert pairs["Adam: weight_decay vs L2 in the loss"] < 1e-12
    assert pairs["AdamW vs Adam(weight_decay)"] > 1e-3


# ------------------------------------------------------------------ early stopping
def test_early_stopping_assert_and_its_negative_control():
    run = ch.train_with_early_stopping(seed=1, patience=10)
    assert run.stop_epoch == run.best_epoch + 10
    assert run.kept_val_acc >= run.last_val_acc + ch.EARLY_STOP_GAIN_MIN
    assert run.history.best("val_loss")[0] == run.best_epoch
    # "keeping" the last weights instead of the best ones is no early stopping: no gain
    assert not run.last_val_acc >= run.last_val_acc + ch.EARLY_STOP_GAIN_MIN
    assert "kept: epoch" in " ".join(t.get_text() for t in ch.plot_early_stopping(run).get_legend().get_texts())


# ------------------------------------------------------------------ ensembles
def test_ensemble_assert_and_its_negative_control():
    bagged = ch.train_ensemble(members=6, seed=1, steps=300)
    parts = ch.reg.ambiguity_decomposition(bagged["predictions"], bagged["f"])
    assert parts["ensemble_mse"] / parts["member_mse"] <= ch.ENSEMBLE_RATIO_MAX
    clones = ch.train_ensemble(members=6, seed=1, steps=300, bootstrap=False, same_init=True)
    same = ch.reg.ambiguity_decomposition(clones["predictions"], clones["f"])
    assert not same["ensemble_mse"] / same["member_mse"] <= ch.ENSEMBLE_RATIO_MAX  # identical members: ratio 1
    assert same["ambiguity"] < 1e-12


def test_ensemble_members_match_separate_linear_layers():
    torch.manual_seed(0)
    model = ch.EnsembleMLP(3, width=4)
    x = torch.randn(3, 5, 1)
    out = model(x)
    k = 1
    h = x[k]
    for i, (W, b) in enumerate(zip(model.weights, model.biases)):
        h = h @ W[k] + b[k]
        h = torch.tanh(h) if i < 2 else h
    torch.testing.assert_close(out[k], h)
    assert "Bagging 3 networks" in _texts(ch.plot_ensemble({"x": np.zeros(2), "f": np.zeros(2), "predictions": np.zeros((3, 2)),
                                                            "x_train": np.zeros(1), "y_train": np.zeros(1)}).figure)


# ------------------------------------------------------------------ dropout
def test_weight_scaling_assert_and_its_negative_control():
    model, _ = ch.train_regularized(**ch.REGULARIZED, seed=1)
    s = ch.weight_scaling_study(model, ch.small_digits(1).X_val, samples=100, seed=1)
    assert s["prob_diff"] <= ch.SCALING_PROB_DIFF_MAX and s["agree"] >= ch.SCALING_AGREE_MIN
    assert not s["wrong_prob_diff"] <= ch.SCALING_PROB_DIFF_MAX  # double scaling fails the same assert
    assert not model.training  # the study leaves the model in eval mode


@pytest.mark.parametrize("seed", [1, 2])
def test_mc_dropout_assert_and_its_negative_control(seed):
    r = ch.mc_dropout_regression(seed)
    assert ch.std_ratio(r) >= ch.MC_RATIO_MIN
    # two regions inside the data: the same measure does not grow
    assert not ch.std_ratio(r, far=(0.5, 1.0), near=(-0.5, 0.5)) >= ch.MC_RATIO_MIN
    assert "MC dropout" in ch.plot_mc_dropout(r).get_title()


# ------------------------------------------------------------------ augmentation
def test_augmentation_assert_and_its_negative_control():
    aug = ch.augmentation_study([1])
    assert np.all(aug["augmented"] - aug["plain"] > 0)
    none = ch.augmentation_study([1], copies=0)  # "augmenting" with no copies: the same run
    gain = none["augmented"] - none["plain"]
    assert not (np.all(gain > 0) and gain.mean() >= ch.AUGMENT_GAIN_MIN)
    assert "shifts of up to 2 pixels" in _texts(ch.plot_augmented(n=4))


# ------------------------------------------------------------------ normalisation
def test_norm_twins_and_modes():
    rng = np.random.default_rng(3)
    assert max(ch.bn_twin_errors(rng).values()) < 1e-12
    assert max(ch.bn_twin_errors(rng, spatial=True).values()) < 1e-12
    assert max(ch.norm_twin_errors(rng).values()) < 1e-12
    modes = ch.bn_mode_study(seed=1)
    assert modes["eval mode, one digit at a time (first 20)"] == 1.0
    assert modes["eval mode"] - modes["train mode, batches of 2"] >= 0.3
    assert not modes["eval mode"] - modes["train mode, batches of 256"] >= 0.3  # large batches hide the bug
    assert "batch norm" in _texts(ch.plot_norm_axes())


# ------------------------------------------------------------------ exercise checks
def _bn_ref(dout, xhat, gamma, inv_std):
    g = dout * gamma
    return inv_std * (g - g.mean(0) - xhat * (g * xhat).mean(0)), (dout * xhat).sum(0), dout.sum(0)


def _bn_no_mean_terms(dout, xhat, gamma, inv_std):  # treats μ and σ² as constants
    return dout * gamma * inv_std, (dout * xhat).sum(0), dout.sum(0)


def _bn_gamma_forgotten(dout, xhat, gamma, inv_std):
    g = dout
    return inv_std * (g - g.mean(0) - xhat * (g * xhat).mean(0)), (dout * xhat).sum(0), dout.sum(0)


def test_check_batchnorm_backward():
    assert_checker(ch.check_batchnorm_backward, _bn_ref, [_bn_no_mean_terms, _bn_gamma_forgotten])


def _running_broken(x, running_mean, running_var, momentum):  # the exercise's starting code
    batch_mean, batch_var = x.mean(axis=0), x.var(axis=0)
    return momentum * running_mean + (1 - momentum) * batch_mean, momentum * running_var + (1 - momentum) * batch_var


def _running_half_fixed(x, running_mean, running_var, momentum):  # momentum fixed, variance still biased
    return (1 - momentum) * running_mean + momentum * x.mean(0), (1 - momentum) * running_var + momentum * x.var(0)


def _running_fixed(x, running_mean, running_var, momentum):
    mean, var, _ = x.mean(0), x.var(0), len(x)
    new_mean, new_var = norms.update_running_stats(running_mean, running_var, mean, var, len(x), momentum)
    return new_mean, new_var


def test_check_running_stats_names_each_bug():
    r = ch.check_running_stats(_running_broken)
    assert not r and "running mean is wrong" in r.message
    r = ch.check_running_stats(_running_half_fixed)
    assert not r and "running mean" not in r.message and "unbiased" in r.message
    assert ch.check_running_stats(_running_fixed)
    r = ch.check_running_stats(lambda *a: 1 / 0)
    assert not r and "ZeroDivisionError" in r.message


def test_check_adam_step():
    assert ch.check_adam_step((0.9, 0.999))
    r = ch.check_adam_step((1 - 0.1 * 0.01, 0.999))  # "Adam + L2 decays by ηλ too"
    assert not r and "λ does not matter" in r.message
    assert not ch.check_adam_step((..., ...)).attempted
    assert ch.adam_first_step() == pytest.approx(0.9, abs=1e-6)


def test_check_ridge_zeros():
    assert ch.ridge_zero_count(10.0) == 0
    assert ch.check_ridge_zeros(0)
    r = ch.check_ridge_zeros(45)  # "like the lasso"
    assert not r and "none is 0" in r.message
    assert not ch.check_ridge_zeros(...).attempted


def test_check_lasso_choice():
    assert ch.check_lasso_choice(dict(lam=0.15))
    r = ch.check_lasso_choice(dict(lam=0.01))
    assert not r and "raise λ" in r.message
    r = ch.check_lasso_choice(dict(lam=1.0))
    assert not r and "lower λ" in r.message
    assert not ch.check_lasso_choice(dict(lam=...)).attempted
    assert "dict like" in ch.check_lasso_choice(0.15).message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_ridge_zeros(45)


def test_make_mlp_layers():
    m = ch.make_mlp(0.5, width=16, batchnorm=True)
    kinds = [type(mod) for mod in m]
    assert kinds.count(nn.Dropout) == 2 and kinds.count(nn.BatchNorm1d) == 2 and m[-1].out_features == 10


def test_the_widget_grid_supports_the_notebooks_reading():
    acc = {(p, wd): ch.train_regularized(p, wd, seed=0)[1]["val_acc"][-1] for p in ch.DROPOUTS for wd in ch.WEIGHT_DECAYS}
    train = {k: ch.train_regularized(*k, seed=0)[1]["train_acc"][-1] for k in acc}
    best = max(acc, key=acc.get)
    assert best == (max(ch.DROPOUTS), max(ch.WEIGHT_DECAYS))  # both knobs at their strongest
    assert acc[(0.0, max(ch.WEIGHT_DECAYS))] < acc[best] and acc[(max(ch.DROPOUTS), 0.0)] < acc[best]
    assert abs(acc[(0.0, 1e-3)] - acc[(0.0, 0.0)]) < 0.01  # 1e-3 barely does anything in 30 epochs
    assert train[(0.0, 0.0)] > 0.99 and train[(0.0, 1e-2)] < train[(0.0, 0.0)]  # memorisation, slowed by decay
    assert train[(0.5, 0.0)] < 0.9  # dropout keeps the training accuracy well below 100 %
