"""course_utils.chapters.ch14_rnn: the widget at its extremes, the exercise checks, and a negative
control for every headline assert of the notebook (the same chapter function and threshold, a
plausible wrong model, and it fails)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_checker
from torch import nn

from course_utils import checks, data
from course_utils.chapters import ch14_rnn as ch
from course_utils.scratch import language_models as lm
from course_utils.scratch import recurrent as rec
from course_utils.widgets import Choice, Slider, figure_texts, interactive_figure


@pytest.fixture(scope="module")
def corpus():
    return data.load_char_corpus()


# ------------------------------------------------------------------ widget
@pytest.mark.parametrize("rho,nl,says", [(0.5, "linear", "vanishing"), (1.5, "linear", "exploding"),
                                         (1.5, "tanh", "measured factor"), (1.0, "linear", "measured factor")])
def test_gradient_widget_extremes(rho, nl, says):
    texts = " ".join(figure_texts(ch.draw_gradient_flow(spectral_radius=rho, nonlinearity=nl)))
    assert says in texts and f"ρ = {rho:g}" in texts


def test_gradient_widget_bad_settings_draw_a_message():
    assert "outside (0, 3]" in " ".join(figure_texts(ch.draw_gradient_flow(spectral_radius=5.0)))
    assert "nonlinearity must be" in " ".join(figure_texts(ch.draw_gradient_flow(nonlinearity="relu")))
    fig = interactive_figure(ch.draw_gradient_flow, spectral_radius=Slider(0.5, 1.5, 0.05, value=0.9),
                             nonlinearity=Choice(["linear", "tanh"]))
    assert fig.render(spectral_radius=1.5, nonlinearity="tanh")[:4] == b"\x89PNG"


def test_the_linear_widget_title_reports_rho():
    norms = ch.gradient_norms(1.1, "linear", steps=60)
    assert ch.fitted_decay_rate(norms) == pytest.approx(1.1, abs=ch.DECAY_RATE_TOL)


# ------------------------------------------------------------ exercise checks
def _lstm_ref(x, h, c, Wx, Wh, b):
    return rec.lstm_cell_forward(x, h, c, Wx, Wh, b)[0]


def _lstm_ifog(x, h, c, Wx, Wh, b):  # the gate order of some papers (i, f, o, g), not PyTorch's (i, f, g, o)
    H = h.shape[1]
    a = x @ Wx + h @ Wh + b
    i, f, o = rec.sigmoid(a[:, :H]), rec.sigmoid(a[:, H:2 * H]), rec.sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    c2 = f * c + i * g
    return o * np.tanh(c2), c2


def _lstm_no_tanh(x, h, c, Wx, Wh, b):  # h = o * c (forgot the tanh on the cell)
    h2, c2 = _lstm_ref(x, h, c, Wx, Wh, b)
    H = h.shape[1]
    o = rec.sigmoid((x @ Wx + h @ Wh + b)[:, 3 * H:])
    return o * c2, c2


def test_check_lstm_cell():
    assert_checker(ch.check_lstm_cell, _lstm_ref, [_lstm_ifog, _lstm_no_tanh])


def test_check_gradient_horizon():
    assert ch.check_gradient_horizon(np.log(1000) / np.log(1 / 0.9))
    assert ch.check_gradient_horizon(66)
    r = ch.check_gradient_horizon(0.9 ** 1000)
    assert not r and "ln 1000" in r.message
    assert not ch.check_gradient_horizon(np.log(1000) / np.log(0.9 ** -1) * 2)
    assert not ch.check_gradient_horizon(...).attempted


def test_check_untrained_bits(corpus):
    assert ch.check_untrained_bits(np.log2(103), corpus)
    r = ch.check_untrained_bits(0.0, corpus)  # "it knows nothing, so zero"
    assert not r and "log₂ 103" in r.message
    assert not ch.check_untrained_bits(3.35, corpus)  # the bigram's score
    assert not ch.check_untrained_bits(..., corpus).attempted


def _broken_clip(grads, max_norm):  # the exercise's starting code
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    return [g * max_norm / np.linalg.norm(g) for g in grads], norm


def _per_tensor_clip(grads, max_norm):  # bug 2 fixed, bug 1 left
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads], norm


def _always_rescale(grads, max_norm):  # bug 1 fixed, bug 2 left
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    return [g * max_norm / norm for g in grads], norm


def test_check_clip_names_each_bug():
    assert_checker(ch.check_clip_by_global_norm, rec.clip_by_global_norm, [_broken_clip, _per_tensor_clip,
                                                                          _always_rescale])
    assert "already below max_norm" in ch.check_clip_by_global_norm(_broken_clip).message
    assert "already below max_norm" in ch.check_clip_by_global_norm(_always_rescale).message
    assert "ONE factor" in ch.check_clip_by_global_norm(_per_tensor_clip).message


def test_check_esn_design():
    good = dict(spectral_radius=0.95, input_scale=1.0, leak=1.0, ridge=1e-6)
    assert ch.check_esn_design(good)
    r = ch.check_esn_design({**good, "spectral_radius": 0.0})
    assert not r and r.attempted and "NRMSE" in r.name
    r = ch.check_esn_design({**good, "bias": 1})
    assert not r and "exactly the keys" in r.message
    assert not ch.check_esn_design(dict(spectral_radius=..., input_scale=..., leak=..., ridge=...)).attempted
    assert not ch.check_esn_design(...).attempted


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_gradient_horizon(1.0)


# ------------------------------------------- negative controls for the headline asserts
def test_tanh_rates_fail_the_linear_rate_assert():
    for rho in (0.8, 1.2):
        lin = ch.fitted_decay_rate(ch.gradient_norms(rho, "linear", steps=200))
        tanh = ch.fitted_decay_rate(ch.gradient_norms(rho, "tanh", steps=200))
        assert abs(lin - rho) < ch.DECAY_RATE_TOL
        assert not abs(tanh - rho) < ch.DECAY_RATE_TOL


def test_unclipped_run_fails_the_clipping_assert():
    unclipped, clipped = ch.clipping_run(None), ch.clipping_run(ch.CLIP_SETTINGS["max_norm"])
    assert unclipped.diverged and not ch.final_loss(unclipped) <= ch.CLIPPED_LOSS_MAX
    assert ch.final_loss(clipped) <= ch.CLIPPED_LOSS_MAX


def test_a_leaky_unit_without_leak_is_vanilla_and_fails_the_reach_assert():
    lengths = [1, 61]
    vanilla = ch.gradient_reach(lengths, "vanilla")
    no_leak = ch.gradient_reach(lengths, "leaky", alpha=0.0)
    np.testing.assert_allclose(no_leak, vanilla, rtol=1e-10)
    assert not no_leak[-1] > 1e3 * vanilla[-1]
    assert ch.gradient_reach(lengths, "leaky")[-1] > 1e3 * vanilla[-1]


def test_baselines_fail_the_echo_state_assert():
    res = ch.forecast_study()
    assert res["echo state network"].nrmse <= ch.ESN_NRMSE_MAX
    for name in ("reservoir without recurrence", "linear AR(20)", "repeat the last value"):
        assert not res[name].nrmse <= ch.ESN_NRMSE_MAX, name


def test_order_blind_model_fails_the_many_to_one_assert(corpus):
    assert not ch.shuffle_task_run(corpus, "bag", steps=80) >= ch.SHUFFLE_ACC_MIN


def test_one_directional_tagger_fails_the_bidirectional_assert(corpus):
    assert not ch.word_end_run(corpus, False, steps=120) >= ch.WORD_END_ACC_MIN


def test_an_untrained_generator_fails_the_one_to_many_assert():
    _, mse_untrained, zero = ch.sine_generator_run(steps=1)
    assert not mse_untrained <= ch.SINE_MSE_MAX and not zero <= ch.SINE_MSE_MAX


def test_bigram_and_untrained_lstm_fail_the_lstm_assert(corpus):
    base = ch.text_baselines(corpus)
    assert base["bigram"] == pytest.approx(3.352, abs=1e-3) and base["unigram"] == pytest.approx(4.671, abs=1e-3)
    assert not base["bigram"] <= ch.LSTM_BITS_MAX
    assert not ch.untrained_bits(corpus) <= ch.LSTM_BITS_MAX


class Uniform(nn.Module):
    def __init__(self, V):
        super().__init__()
        self.z = nn.Parameter(torch.zeros(V))

    def step(self, x, state=None):
        return self.z.expand(*x.shape, len(self.z)), state

    def forward(self, x):
        return self.step(x)[0]


def test_a_uniform_model_fails_the_temperature_assert(corpus):
    words = {"the", "of", "a", "is", "to"}
    samples = ch.temperature_samples(Uniform(len(corpus.vocab)), corpus.vocab, "The ", 300, [0.5, 1.5])
    known = {t: ch.known_word_fraction(s, words) for t, s in samples.items()}
    assert not known[0.5] > known[1.5] + ch.KNOWN_WORD_GAP_MIN


def test_parameter_counts_and_known_words():
    rows = ch.parameter_counts([10, 100], d=64, H=128)
    assert rows[0]["rnn"] == rows[1]["rnn"] == 64 * 128 + 128 * 128 + 128 and rows[1]["mlp"] == 100 * 64 * 128 + 128
    assert ch.known_word_fraction("the cat sat", {"the", "sat"}) == pytest.approx(2 / 3)
    assert ch.known_word_fraction("123 !!", {"the"}) == 0.0
    assert lm.count_parameters(lm.CharLSTM(103)) == 119_207
