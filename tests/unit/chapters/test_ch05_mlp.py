"""course_utils.chapters.ch05_mlp: the activation zoo, experiments, figures, widget frames, exercise checks."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import assert_checker  # noqa: E402

from course_utils import checks  # noqa: E402
from course_utils.chapters import ch05_mlp as ch  # noqa: E402
from course_utils.scratch import layers  # noqa: E402
from course_utils.scratch import mlp as M
from course_utils.scratch import threshold as T  # noqa: E402
from course_utils.widgets import figure_texts  # noqa: E402


def _text(fig) -> str:
    return " ".join(figure_texts(fig))


# ------------------------------------------------------------ activation zoo
@pytest.mark.parametrize("name", list(ch.ZOO))
def test_zoo_derivatives_equal_autograd(name):
    z = np.random.default_rng(0).uniform(-4, 4, size=500)
    f, d = ch.zoo_value_and_derivative(name, z)
    np.testing.assert_allclose(f, ch.zoo_torch(name)(torch.from_numpy(z)).numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(d, ch.autograd_derivative(name, z), rtol=1e-13, atol=1e-15)


def test_zoo_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown activation"):
        ch.zoo_value_and_derivative("swish", np.zeros(3))
    with pytest.raises(ValueError, match="unknown activation"):
        ch.zoo_torch("swish")


# ------------------------------------------------------------ experiments
@pytest.mark.parametrize("kind", ["ReLU", "sigmoid"])
@pytest.mark.parametrize("target", list(M.TARGETS))
def test_hand_built_networks_meet_their_bounds(kind, target):
    tg = M.TARGETS[target]
    table = ch.error_table(tg, [1, 2, 3, 5, 8, 16, 32, 64, 100], kind)
    assert np.all(table["error"] <= table["bound"])
    assert table["error"][-1] < table["error"][4] / 4      # it keeps improving with width


def test_width_vs_depth_counts():
    t = ch.width_vs_depth(range(1, 8))
    np.testing.assert_array_equal(t["deep_pieces"], 2 ** t["depth"])
    np.testing.assert_array_equal(t["shallow_pieces"], 2 ** t["depth"])
    np.testing.assert_array_equal(t["deep_units"], 2 * t["depth"])
    assert np.all(t["shallow_pieces"] <= M.shallow_pieces_bound(t["shallow_units"]))


def test_train_xor_solves_it_with_four_units():
    run = M.train_xor(hidden=4, steps=1000, seed=0)
    assert run.solved and run.losses[-1] < 0.01 and run.hidden == 4
    assert run.losses[-1] < run.losses[0]
    a0, a1 = ch.plot_xor_training(run)
    assert a0.get_title() == "trained 2-4-2 MLP: table [0, 1, 1, 0]" and a1.get_yscale() == "log"
    assert run.message.endswith("(solved)") and not run.diverged


# ------------------------------------------------------------------- widgets
@pytest.mark.parametrize("kw, words", [
    (dict(units=0), "whole number"),
    (dict(units=513), "whole number"),
    (dict(units=2.5), "whole number"),
    (dict(units=float("nan")), "whole number"),
    (dict(kind="swish"), "unknown kind 'swish'"),
    (dict(target="cosh"), "unknown target 'cosh'"),
    (dict(units=2, target="wiggly"), "too few units"),
])
def test_draw_approximation_extremes(kw, words):
    fig = ch.draw_approximation(**kw)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert words in _text(fig)


@pytest.mark.parametrize("units", [1, 64, 512])
@pytest.mark.parametrize("kind", ["ReLU", "sigmoid"])
def test_draw_approximation_frames_state_error_and_bound(units, kind):
    text = _text(ch.draw_approximation(units=units, kind=kind, target="sine"))
    assert "max error" in text and "≤  bound" in text and "EXCEEDS" not in text


def test_draw_sawtooth_extremes():
    assert "2 linear pieces" in _text(ch.draw_sawtooth(1))
    assert "4096 linear pieces" in _text(ch.draw_sawtooth(12))
    assert "whole number" in _text(ch.draw_sawtooth(0))
    assert "whole number" in _text(ch.draw_sawtooth(13))
    assert "whole number" in _text(ch.draw_sawtooth(float("nan")))


def test_static_plots_draw_what_they_say():
    titles = [ax.get_title() for ax in ch.plot_activation_zoo().ravel()]
    assert [t.split(":")[0] for t in titles] == [v[0] for v in ch.ZOO.values()]
    a0, a1 = ch.plot_building_blocks()
    assert a0.get_title() == "square pulse = step up − step down" and a1.get_title() == "tent = three ReLU ramps"
    tent = a1.get_lines()[-1].get_ydata()
    assert tent.max() == pytest.approx(1.0, abs=1e-3) and tent.min() == pytest.approx(0.0, abs=1e-12)
    tables = {"ReLU": ch.error_table(M.TARGETS["sine"], [1, 4, 16])}
    ax = ch.plot_error_vs_units(tables)
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), tables["ReLU"]["error"])


# -------------------------------------------------------------------- checks
def _leaky_seed_table(z, slope):        # the lecture table's typo: a constant 0.01 for z < 0
    return np.where(z > 0, z, 0.01), np.where(z > 0, 1.0, 0.0)


def _leaky_no_derivative_slope(z, slope):
    return np.where(z > 0, z, slope * z), (z > 0).astype(float)


def _mlp_relu_on_output(X, params):
    h = X
    for W, b in params:
        h = np.maximum(h @ W + b, 0)
    return h


def _mlp_forgets_bias(X, params):
    h = X
    for i, (W, _b) in enumerate(params):
        h = h @ W
        if i < len(params) - 1:
            h = np.maximum(h, 0)
    return h


def _hat_half_height(c, w):
    w1, b1, w2, b2 = M.hat_weights(c, w)
    return w1, b1, w2 / 2, b2


def _hat_two_units(c, w):
    return np.ones(2), -np.array([c - w, c]), np.array([1.0, -1.0]) / w, 0.0


def _dnf_and_instead_of_or(truth):
    net = T.dnf_network(truth)
    return net["W1"], net["b1"], net["w2"], 0.5 - len(net["w2"])


def _dnf_wrong_bias(truth):
    net = T.dnf_network(truth)
    return net["W1"], net["b1"] + 1, net["w2"], net["b2"]


@pytest.mark.parametrize("check, reference, wrongs", [
    (ch.check_leaky_relu, ch.leaky_relu_reference, [_leaky_seed_table, _leaky_no_derivative_slope]),
    (ch.check_mlp_forward, lambda X, p: M.mlp_forward(X, p)[0], [_mlp_relu_on_output, _mlp_forgets_bias]),
    (ch.check_hat_weights, M.hat_weights, [_hat_half_height, _hat_two_units]),
    (ch.check_dnf_weights, lambda t: tuple(T.dnf_network(t).values()), [_dnf_and_instead_of_or, _dnf_wrong_bias]),
])
def test_checks_pass_reference_fail_wrong_and_spot_stubs(check, reference, wrongs):
    assert_checker(check, reference, wrongs)


def test_checks_accept_other_valid_answers():
    # a hat from four ReLUs (one with zero output weight) and a DNF network with doubled weights
    def hat4(c, w):
        w1, b1, w2, b2 = M.hat_weights(c, w)
        return np.append(w1, 1.0), np.append(b1, 0.0), np.append(w2, 0.0), b2

    def dnf_doubled(truth):
        net = T.dnf_network(truth)
        return 2 * net["W1"], 2 * net["b1"], 2 * net["w2"], 2 * net["b2"]

    assert ch.check_hat_weights(hat4)
    assert ch.check_dnf_weights(dnf_doubled)


def test_check_messages_say_what_is_wrong():
    assert "is wrong" in ch.check_mlp_forward(_mlp_relu_on_output).message
    assert "is wrong" in ch.check_leaky_relu(_leaky_seed_table).message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_mlp_forward(_mlp_forgets_bias)
    assert ch.check_mlp_forward(lambda X, p: M.mlp_forward(X, p)[0])


# ------------------------------------------- negative controls for the notebook's headline asserts
UNITS = [1, 2, 4, 8, 16, 32, 64, 128]  # the notebook's UNITS_LIST


def _bound_in_mean_norm(tg, K):
    """h² M / 8 with M the *average* |f''| (an L1 norm) instead of the maximum: too small a bound."""
    x = np.linspace(tg.a, tg.b, 20001)
    f2 = np.diff(tg.f(x), 2) / (x[1] - x[0]) ** 2
    return ((tg.b - tg.a) / K) ** 2 * np.mean(np.abs(f2)) / 8


def _one_knot_short(tg, K):
    """An off-by-one: K − 1 units built where the bound is for K (too few units)."""
    return M.relu_interpolant(tg.f, tg.a, tg.b, max(K - 1, 1))


def _slopes_not_changes(tg, K):
    """Output weights equal to the slopes instead of the slope changes."""
    (W1, b1), (_, b2) = M.relu_interpolant(tg.f, tg.a, tg.b, K)
    t = np.linspace(tg.a, tg.b, K + 1)
    return [(W1, b1), ((np.diff(tg.f(t)) / np.diff(t)).reshape(-1, 1), b2)]


def test_the_approximation_bound_assert_passes_for_the_construction():
    tg = M.TARGETS["wiggly"]
    assert ch.bound_violations(ch.error_table(tg, UNITS, "ReLU")) == []
    assert ch.bound_violations(ch.error_table(tg, UNITS, "sigmoid")) == []


@pytest.mark.parametrize("wrong, kwargs", [
    ("a bound in the wrong norm", dict(bound=_bound_in_mean_norm)),
    ("too few units", dict(build=_one_knot_short)),
    ("a wrong construction", dict(build=_slopes_not_changes)),
])
def test_the_approximation_bound_assert_fails_for_wrong_models(wrong, kwargs):
    violations = ch.bound_violations(ch.error_table(M.TARGETS["wiggly"], UNITS, "ReLU", **kwargs))
    assert len(violations) >= 4, (wrong, violations)


def test_the_trained_xor_asserts_fail_for_untrained_and_linear_models():
    assert M.train_xor(hidden=4, steps=1000, seed=0).solved                   # the notebook's run
    assert not M.train_xor(hidden=4, steps=0, seed=0).solved                  # untrained
    assert "not trained" in M.train_xor(hidden=4, steps=0, seed=0).message
    linear = ch.restart_study([8], 10, 300, activation="identity")         # no nonlinearity: a linear model
    assert ch.solved_counts(linear)[8] == 0
    assert ch.solved_counts(ch.restart_study([8], 10, 300))[8] == 10


def test_failed_two_unit_runs_stay_at_the_plateau():
    """The notebook's prose: the failures are a plateau at ln 2 / 2, not slow progress."""
    run = M.train_xor(hidden=2, steps=5000, seed=1)
    assert not run.solved and abs(run.losses[-1] - ch.XOR_PLATEAU_LOSS) < 1e-3
    assert abs(run.losses[300] - ch.XOR_PLATEAU_LOSS) < 0.01


def test_softmax_jacobian_rows_and_columns_for_different_reasons():
    rng = np.random.default_rng(0)
    z = rng.normal(size=5) * 2
    J = layers.softmax_jacobian(z)
    np.testing.assert_allclose(J.sum(axis=1), 0, atol=1e-15)   # shift invariance
    np.testing.assert_allclose(J.sum(axis=0), 0, atol=1e-15)   # outputs sum to 1
    J_sq = torch.autograd.functional.jacobian(lambda v: v ** 2 / (v ** 2).sum(), torch.tensor(z)).numpy()
    np.testing.assert_allclose(J_sq.sum(axis=0), 0, atol=1e-12)  # sums to 1 too ...
    assert np.abs(J_sq.sum(axis=1)).max() > 1e-2                 # ... but is not shift invariant


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "prelu"])
def test_zoo_derivative_at_the_kink_matches_torch(name):
    ours = ch.zoo_value_and_derivative(name, np.zeros(1))[1]
    np.testing.assert_array_equal(ours, ch.autograd_derivative(name, np.zeros(1)))
    assert ours[0] == {"relu": 0.0, "leaky_relu": ch.ZOO_SLOPE, "prelu": ch.ZOO_PRELU_A}[name]


# ----------------------------------------------------- exercises of other kinds
def _dense_start(dout, x, W, b):  # the exercise's starting code: both bugs
    h = np.tanh(x @ W + b)
    dz = dout * (1 - np.tanh(h) ** 2)
    return dz @ W.T, dz.T @ x, dz.sum(axis=0)


def _dense_only_derivative_fixed(dout, x, W, b):
    h = np.tanh(x @ W + b)
    dz = dout * (1 - h ** 2)
    return dz @ W.T, dz.T @ x, dz.sum(axis=0)


def _dense_only_transpose_fixed(dout, x, W, b):
    h = np.tanh(x @ W + b)
    dz = dout * (1 - np.tanh(h) ** 2)
    return dz @ W.T, x.T @ dz, dz.sum(axis=0)


def _dense_db_not_summed(dout, x, W, b):
    dz = dout * (1 - np.tanh(x @ W + b) ** 2)
    return dz @ W.T, x.T @ dz, dz.mean(axis=0)


def test_debug_dense_tanh_check():
    assert_checker(ch.check_dense_tanh_backward, ch.dense_tanh_backward,
                   [_dense_start, _dense_only_derivative_fixed, _dense_only_transpose_fixed, _dense_db_not_summed])


def test_debug_dense_tanh_check_names_each_bug(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)
    both = ch.check_dense_tanh_backward(_dense_start).message
    assert "shape of Wᵀ" in both and "1 − h²" in both
    assert "shape of Wᵀ" in ch.check_dense_tanh_backward(_dense_only_derivative_fixed).message
    only_derivative = ch.check_dense_tanh_backward(_dense_only_transpose_fixed).message
    assert "1 − h²" in only_derivative and "shape of Wᵀ" not in only_derivative


def test_derive_fold_pieces_check():
    assert_checker(ch.check_fold_pieces, lambda depth: 3 ** depth,
                   [lambda depth: 2 ** depth, lambda depth: 3 * depth, lambda depth: 3 ** depth - 1,
                    lambda depth: float(3 ** depth) + 0.5])
    assert [ch.measured_fold_pieces(L) for L in (1, 2, 3)] == [3, 9, 27]


def test_design_xor_check(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)
    assert ch.check_xor_design(dict(hidden=4, lr=2.5))
    slow = ch.check_xor_design(dict(hidden=4, lr=1.0))
    assert not slow and "still descending" in slow.message and "got 9" in slow.message
    fast = ch.check_xor_design(dict(hidden=4, lr=4.0))
    assert not fast and "too large" in fast.message
    assert "between 1 and 4, got 8" in ch.check_xor_design(dict(hidden=8, lr=1.0)).message
    assert "positive number" in ch.check_xor_design(dict(hidden=3, lr=0.0)).message
    assert "a dict like dict(hidden=…, lr=…), got list" in ch.check_xor_design([4, 2.5]).message
    assert not ch.check_xor_design(dict(hidden=..., lr=...)).attempted
