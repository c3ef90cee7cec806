"""Character language models: n-gram baselines, a character LSTM, bits per character, sampling.

A language model gives the next symbol a distribution ``p(x_t | x_{<t})``. It is scored by
its cross-entropy on held-out text, in **bits per character**:
``−(1/N) Σ_t log₂ p(x_t | x_{<t})``. A model that guesses uniformly among ``V`` symbols scores
``log₂ V``; every bit less is structure learned. Contract:

- Ids are integer arrays (``course_utils.data.CharVocab`` encodes and decodes them).
- ``unigram_bits`` / ``bigram_bits``: counting models fitted on training ids with add-``k``
  (Laplace) smoothing, scored on evaluation ids; ``entropy_bits`` is the empirical entropy
  of a sequence's own symbol frequencies.
- Neural models are ``torch.nn.Module`` s whose ``forward(x (B, T) long) -> logits (B, T, V)``
  predicts, at every position, the next symbol. A model with a ``step(x, state) ->
  (logits, state)`` method (:class:`CharLSTM`) is recurrent: it can carry its state across
  a long text. A model with a ``context`` attribute (the transformer of
  :mod:`course_utils.scratch.transformer`) sees at most that many symbols.
- ``random_windows`` draws training batches; ``lm_loss`` is the mean cross-entropy (nats) with
  targets ``-100`` ignored, as in ``torch.nn.functional.cross_entropy``.
- ``bits_per_char(model, ids, context=…)`` evaluates either way; ``sample`` generates text
  with a temperature.
- ``Recipe`` holds a training recipe (batch, window length, optimiser, learning rate,
  schedule, clipping); ``LSTM_RECIPE`` and ``TRANSFORMER_RECIPE`` are the two the course
  compares, and ``optimizer_for(model, recipe, steps)`` builds the optimiser and scheduler.
  Both recipes read ``batch · length = 2048`` symbols per step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .transformer import warmup_cosine

#: targets with this value are not scored (PyTorch's default ``ignore_index``)
IGNORE = -100


# ------------------------------------------------------------ counting models
def entropy_bits(ids: np.ndarray, vocab_size: int) -> float:
    """The entropy ``−Σ p log₂ p`` of the symbol frequencies of ``ids`` themselves."""
    p = np.bincount(np.asarray(ids), minlength=vocab_size) / len(ids)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def unigram_bits(train: np.ndarray, evaluate: np.ndarray, vocab_size: int, add: float = 1.0) -> float:
    """Bits/char on ``evaluate`` of ``p(x) = (count(x) + k) / (N + kV)`` counted on ``train``."""
    counts = np.bincount(np.asarray(train), minlength=vocab_size) + add
    return float(-np.mean(np.log2(counts[np.asarray(evaluate)] / counts.sum())))


def bigram_probabilities(train: np.ndarray, vocab_size: int, add: float = 1.0) -> np.ndarray:
    """``P[a, b] = (count(a b) + k) / (count(a ·) + kV)``: the next-symbol table of a bigram model.

    Add-``k`` smoothing (``k = 1``: Laplace's add-one) gives every unseen pair a small probability;
    without it, one unseen pair in the validation text would cost infinitely many bits.
    """
    train = np.asarray(train)
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (train[:-1], train[1:]), 1.0)
    counts += add
    return counts / counts.sum(axis=1, keepdims=True)


def bigram_bits(train: np.ndarray, evaluate: np.ndarray, vocab_size: int, add: float = 1.0) -> float:
    """Bits/char of the add-``k`` bigram model on ``evaluate[1:]`` given each previous symbol."""
    P = bigram_probabilities(train, vocab_size, add)
    evaluate = np.asarray(evaluate)
    return float(-np.mean(np.log2(P[evaluate[:-1], evaluate[1:]])))


# ------------------------------------------------------------- neural models
class CharLSTM(nn.Module):
    """Embedding → one ``torch.nn.LSTM`` layer → linear read-out to the next symbol's logits."""

    def __init__(self, vocab_size: int, embed: int = 64, hidden: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def step(self, x: torch.Tensor, state=None):
        """``x (B, T)`` from ``state`` (``None``: zeros) → ``(logits (B, T, V), state after x)``."""
        h, state = self.lstm(self.embed(x), state)
        return self.out(h), state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.step(x)[0]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable numbers in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def random_windows(ids: np.ndarray, batch: int, length: int, rng: np.random.Generator):
    """``batch`` random windows of ``length + 1`` consecutive ids: inputs ``x`` and next-symbol targets ``y``, ``(B, length)`` long."""
    ids = np.asarray(ids)
    if len(ids) < length + 2:
        raise ValueError(f"{len(ids)} ids are too few for windows of {length + 1}")
    starts = rng.integers(0, len(ids) - length - 1, size=batch)
    w = torch.from_numpy(ids[starts[:, None] + np.arange(length + 1)])
    return w[:, :-1], w[:, 1:]


def lm_loss(logits: torch.Tensor, y: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean next-symbol cross-entropy in nats over the targets that are not :data:`IGNORE`."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE,
                           label_smoothing=label_smoothing)


@torch.no_grad()
def bits_per_char(model: nn.Module, ids: np.ndarray, context: int | None = None, chunk: int = 1024,
                  batch: int = 256) -> float:
    """Bits/char of ``model`` predicting ``ids[1:]``, each symbol from those before it.

    ``context=None``: a recurrent model (with ``step``) reads the whole text in chunks of
    ``chunk``, carrying its state, so every prediction may use everything before it.
    ``context=c``: windows of ``c`` symbols with stride ``c // 2``; the first window scores all
    its positions, each later one only its last ``c // 2``, so every prediction sees between
    ``c // 2`` and ``c`` earlier symbols (state reset at every window).
    """
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    t = torch.as_tensor(np.asarray(ids), dtype=torch.long, device=device)
    total, count = 0.0, 0
    if context is None:
        state = None
        for i in range(0, len(t) - 1, chunk):
            x, y = t[i:i + chunk], t[i + 1:i + chunk + 1]
            logits, state = model.step(x[None, :len(y)], state)
            total += F.cross_entropy(logits[0], y, reduction="sum").item()
            count += len(y)
    else:
        stride = max(1, context // 2)
        starts = list(range(0, max(len(t) - context - 1, 0) + 1, stride))
        if starts[-1] + context < len(t) - 1:
            starts.append(len(t) - 1 - context)  # the last window reaches the end of the text
        windows = torch.stack([t[s:s + context + 1] for s in starts])
        first_new = torch.tensor([0] + [prev + context - s for prev, s in zip(starts[:-1], starts[1:])])
        for j in range(0, len(windows), batch):
            w, keep_from = windows[j:j + batch], first_new[j:j + batch]
            nll = F.cross_entropy(model(w[:, :-1]).transpose(1, 2), w[:, 1:], reduction="none")
            keep = torch.arange(context)[None, :] >= keep_from[:, None]
            total += nll[keep].sum().item()
            count += int(keep.sum())
    model.train(was)
    return total / count / np.log(2)


@torch.no_grad()
def sample(model: nn.Module, prompt: np.ndarray, n: int, temperature: float, rng: np.random.Generator,
           context: int | None = None) -> np.ndarray:
    """``n`` ids generated after ``prompt``, each drawn from ``softmax(logits / temperature)``.

    Temperature 1 samples the model's own distribution; below 1 sharpens it (0 = always the
    most likely symbol), above 1 flattens it towards uniform. A recurrent model carries its
    state; a model with ``context`` re-reads the last ``context`` symbols at every step.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    seq = [int(i) for i in np.asarray(prompt).reshape(-1)]
    if not seq:
        raise ValueError("sample needs a prompt of at least one symbol")
    state, feed = None, seq
    for _ in range(n):
        if context is None:
            logits, state = model.step(torch.tensor([feed], device=device), state)
        else:
            logits = model(torch.tensor([seq[-context:]], device=device))
        z = logits[0, -1].double().cpu().numpy()
        if temperature == 0:
            nxt = int(np.argmax(z))
        else:
            p = np.exp((z - z.max()) / temperature)
            nxt = int(rng.choice(len(p), p=p / p.sum()))
        seq.append(nxt)
        feed = [nxt]
    model.train(was)
    return np.array(seq[len(prompt):], dtype=np.int64)


# ------------------------------------------------------------------ recipes
@dataclass(frozen=True)
class Recipe:
    """How a language model is trained: windows, optimiser, schedule and clipping."""

    batch: int
    length: int
    lr: float
    optimizer: str = "adam"  # "adam" or "adamw" (decoupled weight decay)
    weight_decay: float = 0.0
    schedule: str = "constant"  # "constant" or "cosine" (with linear warm-up)
    warmup: float = 0.0  # warm-up length as a fraction of the steps
    clip: float | None = 1.0
    label_smoothing: float = 0.0

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """:func:`lm_loss` with this recipe's label smoothing."""
        return lm_loss(logits, y, self.label_smoothing)


#: the character LSTM's recipe (measured on 2 CPU cores: constant Adam at 1e-2 with clipping learns fastest)
LSTM_RECIPE = Recipe(batch=32, length=64, lr=1e-2, optimizer="adam", schedule="constant", clip=1.0)
#: the tiny transformer's recipe: AdamW with weight decay, warm-up then cosine decay, windows of its context
TRANSFORMER_RECIPE = Recipe(batch=64, length=32, lr=1e-2, optimizer="adamw", weight_decay=0.1, schedule="cosine",
                            warmup=0.05, clip=1.0)


def optimizer_for(model: nn.Module, recipe: Recipe, steps: int):
    """``(optimizer, scheduler or None)`` for ``recipe`` over ``steps`` steps."""
    if recipe.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    elif recipe.optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    else:
        raise ValueError(f"unknown optimizer {recipe.optimizer!r}; use 'adam' or 'adamw'")
    if recipe.schedule == "constant":
        return opt, None
    if recipe.schedule != "cosine":
        raise ValueError(f"unknown schedule {recipe.schedule!r}; use 'constant' or 'cosine'")
    warm = int(round(recipe.warmup * steps))
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, steps, warm))
