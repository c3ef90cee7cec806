"""course_utils.scratch.language_models: counting baselines, bits/char bookkeeping, windows, sampling."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.scratch import language_models as lm


class Fixed(nn.Module):
    """A 'model' whose next-symbol distribution is the same everywhere (logits ``z``)."""

    def __init__(self, z, context=None):
        super().__init__()
        self.z = nn.Parameter(torch.as_tensor(z, dtype=torch.float32))
        if context:
            self.context = context

    def forward(self, x):
        return self.z.expand(*x.shape, len(self.z))

    def step(self, x, state=None):
        return self(x), state


class CountingBigram(nn.Module):
    """A recurrent-looking bigram model with a table of log-probabilities (a torch twin of bigram_bits)."""

    def __init__(self, P):
        super().__init__()
        self.logP = nn.Parameter(torch.log(torch.as_tensor(P)))

    def forward(self, x):
        return self.logP[x]

    def step(self, x, state=None):
        return self(x), state


def test_uniform_model_scores_log2_vocabulary_both_ways():
    ids = np.random.default_rng(0).integers(0, 7, 500)
    model = Fixed(np.zeros(7), context=16)
    assert lm.bits_per_char(model, ids) == pytest.approx(np.log2(7), rel=1e-6)
    assert lm.bits_per_char(model, ids, context=16) == pytest.approx(np.log2(7), rel=1e-6)


@pytest.mark.parametrize("n", [37, 64, 65, 200])
@pytest.mark.parametrize("context", [4, 7, 16])
def test_windowed_evaluation_scores_every_position_exactly_once(n, context):
    """A bigram model's bits/char do not depend on how the text is cut: windows must cover ids[1:] once."""
    rng = np.random.default_rng(n + context)
    train, ids = rng.integers(0, 5, 400), rng.integers(0, 5, n)
    P = lm.bigram_probabilities(train, 5)
    model = CountingBigram(P).double()
    exact = lm.bigram_bits(train, ids, 5)
    assert lm.bits_per_char(model, ids, context=context) == pytest.approx(exact, rel=1e-10)
    assert lm.bits_per_char(model, ids, chunk=9) == pytest.approx(exact, rel=1e-10)


def test_counting_models_follow_their_formulas():
    train, ev = np.array([0, 1, 0, 1, 2]), np.array([0, 1, 2, 2])
    counts = np.array([2, 2, 1]) + 1.0
    assert lm.unigram_bits(train, ev, 3) == pytest.approx(-np.mean(np.log2(counts[ev] / counts.sum())))
    P = lm.bigram_probabilities(train, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert P[0, 1] == pytest.approx((2 + 1) / (2 + 3)) and P[2, 2] == pytest.approx(1 / 3)
    assert lm.bigram_bits(train, ev, 3) == pytest.approx(-np.mean(np.log2([P[0, 1], P[1, 2], P[2, 2]])))
    assert lm.entropy_bits(np.array([0, 0, 1, 1]), 5) == pytest.approx(1.0)


def test_random_windows_are_shifted_pairs_inside_the_text():
    ids = np.arange(100)
    x, y = lm.random_windows(ids, 8, 10, np.random.default_rng(1))
    assert x.shape == y.shape == (8, 10) and x.dtype == torch.long
    assert torch.equal(y, x + 1) and int(y.max()) <= 99
    with pytest.raises(ValueError, match="too few"):
        lm.random_windows(np.arange(5), 2, 10, np.random.default_rng(0))


def test_lm_loss_ignores_masked_targets():
    logits = torch.randn(2, 3, 4)
    y = torch.tensor([[1, lm.IGNORE, 2], [lm.IGNORE, lm.IGNORE, 0]])
    manual = torch.nn.functional.cross_entropy(logits[y != lm.IGNORE], y[y != lm.IGNORE])
    torch.testing.assert_close(lm.lm_loss(logits, y), manual)


def test_sampling_temperature_zero_is_greedy_and_high_temperature_is_near_uniform():
    z = np.array([0.0, 3.0, 1.0])
    model = Fixed(z)
    rng = np.random.default_rng(2)
    assert np.all(lm.sample(model, np.array([0]), 20, 0.0, rng) == 1)
    cold = lm.sample(model, np.array([0]), 3000, 1.0, rng)
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(np.bincount(cold, minlength=3) / 3000, p, atol=0.03)
    hot = lm.sample(model, np.array([0]), 3000, 100.0, rng)
    np.testing.assert_allclose(np.bincount(hot, minlength=3) / 3000, 1 / 3, atol=0.04)
    windowed = lm.sample(Fixed(z, context=4), np.array([0, 1]), 5, 0.0, rng, context=4)
    assert windowed.tolist() == [1] * 5
    with pytest.raises(ValueError, match="temperature"):
        lm.sample(model, np.array([0]), 2, -1.0, rng)


def test_char_lstm_step_carries_state_like_one_long_call():
    torch.manual_seed(0)
    m = lm.CharLSTM(9, embed=4, hidden=5)
    x = torch.randint(0, 9, (2, 12))
    whole = m(x)
    first, state = m.step(x[:, :5])
    second, _ = m.step(x[:, 5:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)
    assert lm.count_parameters(m) == 9 * 4 + 4 * 5 * (4 + 5) + 2 * 4 * 5 + 5 * 9 + 9
