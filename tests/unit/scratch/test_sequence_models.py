"""course_utils.scratch.sequence_models: shapes, what each model can and cannot see, and the GRU inside."""
from __future__ import annotations

import torch

from course_utils.scratch import sequence_models as sm


def test_classifier_reads_the_last_hidden_state_of_its_gru():
    torch.manual_seed(0)
    m = sm.SequenceClassifier(11, classes=3)
    x = torch.randint(0, 11, (4, 9))
    h_last = m.rnn(m.embed(x))[1][0]  # torch.nn.GRU's final state
    torch.testing.assert_close(m(x), m.out(h_last))
    assert m(x).shape == (4, 3)


def test_bag_of_symbols_ignores_order_and_the_gru_does_not():
    torch.manual_seed(1)
    x = torch.randint(0, 11, (3, 8))
    perm = torch.randperm(8)
    bag, gru = sm.BagOfSymbols(11), sm.SequenceClassifier(11)
    torch.testing.assert_close(bag(x), bag(x[:, perm]))
    assert not torch.allclose(gru(x), gru(x[:, perm]))


def test_a_one_way_tagger_cannot_see_the_future_and_a_bidirectional_one_can():
    torch.manual_seed(2)
    x = torch.randint(0, 11, (2, 10))
    y = x.clone()
    y[:, 7:] = (y[:, 7:] + 1) % 11  # change the future
    one, two = sm.SequenceTagger(11), sm.SequenceTagger(11, bidirectional=True)
    assert one(x).shape == (2, 10, 2) and two(x).shape == (2, 10, 2)
    torch.testing.assert_close(one(x)[:, :7], one(y)[:, :7])
    assert not torch.allclose(two(x)[:, :7], two(y)[:, :7])


def test_generator_turns_one_number_into_a_sequence():
    torch.manual_seed(3)
    g = sm.SequenceGenerator(length=12)
    out = g(torch.tensor([0.2, 0.5]))
    assert out.shape == (2, 12)
    assert not torch.allclose(out[0], out[1])  # different inputs, different sequences
