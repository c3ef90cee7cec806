"""Small recurrent models in PyTorch for the three shapes of sequence task.

The NumPy cells of :mod:`course_utils.scratch.recurrent` equal ``torch.nn``'s; these models use
the fast ``torch.nn`` versions. Inputs are symbol ids ``x (B, T)`` (long) unless said otherwise.

- **many-to-one** ``SequenceClassifier``: read the whole sequence, classify it from the last
  hidden state, ``(B, T) -> (B, C)``. ``BagOfSymbols`` is its order-blind baseline: it
  averages the symbols' embeddings, so any permutation of the input gives the same output.
- **many-to-many** ``SequenceTagger``: one label per position, ``(B, T) -> (B, T, C)``;
  ``bidirectional=True`` adds a second GRU reading right to left, so the label at ``t`` may
  depend on symbols after ``t`` (Schuster & Paliwal, 1997). The language models of
  :mod:`course_utils.scratch.language_models` are many-to-many too.
- **one-to-many** ``SequenceGenerator``: one number in, a whole sequence out, ``(B,) -> (B, T)``:
  the input sets the initial state, then the GRU runs ``T`` steps on its own.
"""
from __future__ import annotations

import torch
from torch import nn


class SequenceClassifier(nn.Module):
    """Embedding → GRU → the last hidden state → ``classes`` logits."""

    def __init__(self, vocab_size: int, classes: int = 2, embed: int = 16, hidden: int = 32):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.rnn = nn.GRU(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(self.embed(x))[0][:, -1])


class BagOfSymbols(nn.Module):
    """The mean of the symbols' embeddings → ``classes`` logits: blind to order by construction."""

    def __init__(self, vocab_size: int, classes: int = 2, embed: int = 16):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.out = nn.Linear(embed, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.embed(x).mean(dim=1))


class SequenceTagger(nn.Module):
    """Embedding → (bi)directional GRU → ``classes`` logits at every position."""

    def __init__(self, vocab_size: int, classes: int = 2, embed: int = 16, hidden: int = 32,
                 bidirectional: bool = False):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.rnn = nn.GRU(embed, hidden, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(hidden * (2 if bidirectional else 1), classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(self.embed(x))[0])


class SequenceGenerator(nn.Module):
    """A scalar ``u (B,)`` → initial state ``tanh(u a + c)`` → a GRU run ``length`` steps on zero inputs → ``(B, length)``."""

    def __init__(self, length: int, hidden: int = 32):
        super().__init__()
        self.length = length
        self.init = nn.Linear(1, hidden)
        self.rnn = nn.GRU(1, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        h0 = torch.tanh(self.init(u[:, None]))[None]
        zeros = torch.zeros(len(u), self.length, 1, dtype=h0.dtype, device=h0.device)
        return self.out(self.rnn(zeros, h0)[0])[..., 0]
