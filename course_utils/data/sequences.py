"""Text and sequences: a character vocabulary and corpus, and small sequence tasks."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._common import _check_n
from .real import load_text


# ---------------------------------------------------------- text and sequences
@dataclass(frozen=True)
class CharVocab:
    """A character vocabulary: symbol ``i`` is ``chars[i]`` (sorted, so the ids are reproducible).

    ``encode(text)`` gives an int64 array of ids, ``decode(ids)`` the string back;
    ``len(vocab)`` is the number of symbols.
    """

    chars: str
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("CharVocab: the characters must be distinct")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.chars)})

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The vocabulary of every distinct character of ``text``."""
        if not text:
            raise ValueError("CharVocab.from_text needs a non-empty text")
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """``text`` as an int64 array of ids; a character outside the vocabulary is a ``ValueError``."""
        try:
            return np.fromiter((self._index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as exc:
            raise ValueError(f"character {exc.args[0]!r} is not in the vocabulary of {len(self)} symbols") from None

    def decode(self, ids) -> str:
        """The string of the ids ``ids`` (any integer sequence or array)."""
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"ids must lie in 0 … {len(self) - 1}, got {ids.min()} … {ids.max()}")
        return "".join(self.chars[int(i)] for i in ids)


def split_text(text, val: float = 0.1) -> tuple:
    """Contiguous split: the first ``1 − val`` of ``text`` (a string or an array) for training, the rest for validation.

    Contiguous, not shuffled: a language model reads windows of consecutive
    characters, and shuffled positions would put the same windows on both sides.
    """
    if not 0 < val < 1:
        raise ValueError(f"val must be in (0, 1), got {val}")
    cut = int(round((1 - val) * len(text)))
    if cut < 1 or cut >= len(text):
        raise ValueError(f"a text of {len(text)} characters is too short to split at val={val}")
    return text[:cut], text[cut:]


@dataclass(frozen=True)
class CharCorpus:
    """A text as ids: the vocabulary, the training ids and the validation ids (contiguous split)."""

    vocab: CharVocab
    train: np.ndarray
    val: np.ndarray


def load_char_corpus(val: float = 0.1, max_chars: int | None = None) -> CharCorpus:
    """Python's documentation text (:func:`load_text`) as character ids, split by :func:`split_text`.

    The vocabulary is built from the whole text (every symbol of the validation text
    has an id); every statistic a model learns comes from the training part only.
    """
    text = load_text(max_chars=max_chars)
    vocab = CharVocab.from_text(text)
    train, held_out = split_text(vocab.encode(text), val)
    return CharCorpus(vocab, train, held_out)


def make_copy_task(n: int, length: int, n_symbols: int, rng: np.random.Generator):
    """The copy task: ``length`` random symbols, a delimiter, then the same symbols again.

    Symbols are ``0 … n_symbols − 1``; the delimiter is ``n_symbols`` (so a model needs
    ``n_symbols + 1`` input ids). Returns ``(inputs, targets, mask)``: ``inputs (n, 2·length)``
    are the sequence without its last symbol, ``targets (n, 2·length)`` the sequence shifted by
    one (next-symbol prediction) and ``mask (n, 2·length)`` is True at the ``length`` positions
    whose target is a copied symbol (the positions scored; the first half is unpredictable).
    """
    _check_n(n)
    if length < 1 or n_symbols < 2:
        raise ValueError(f"need length >= 1 and n_symbols >= 2, got {length} and {n_symbols}")
    tokens = rng.integers(0, n_symbols, size=(n, length))
    seq = np.concatenate([tokens, np.full((n, 1), n_symbols), tokens], axis=1)
    mask = np.zeros((n, 2 * length), dtype=bool)
    mask[:, length:] = True
    return seq[:, :-1].astype(np.int64), seq[:, 1:].astype(np.int64), mask


def make_mackey_glass(n: int, rng: np.random.Generator | None = None, tau: float = 17.0, step: float = 1.0,
                      dt: float = 0.1, washout: int = 500) -> np.ndarray:
    """``n`` samples, ``step`` time units apart, of the Mackey–Glass delay equation (Mackey & Glass, 1977).

    ``dx/dt = 0.2·x(t − τ) / (1 + x(t − τ)¹⁰) − 0.1·x(t)``; with ``τ = 17`` the series is
    chaotic, the classic benchmark of echo state networks. Integrated with fourth-order
    Runge–Kutta at ``dt`` (the delayed value at half steps is interpolated); the first
    ``washout`` samples are dropped. ``rng`` perturbs the constant initial history 1.2.
    """
    _check_n(n)
    per, lag = int(round(step / dt)), int(round(tau / dt))
    if per < 1 or lag < 1:
        raise ValueError(f"step ({step}) and tau ({tau}) must be at least dt ({dt})")
    total = (n + washout) * per
    x = np.empty(lag + total + 1)
    x[:lag + 1] = 1.2 + (0.1 * rng.uniform(-1, 1) if rng is not None else 0.0)

    def f(xt, xd):
        return 0.2 * xd / (1 + xd ** 10) - 0.1 * xt

    for i in range(lag, lag + total):
        d0, d1 = x[i - lag], x[i - lag + 1]
        dh = 0.5 * (d0 + d1)
        k1 = f(x[i], d0)
        k2 = f(x[i] + 0.5 * dt * k1, dh)
        k3 = f(x[i] + 0.5 * dt * k2, dh)
        k4 = f(x[i] + dt * k3, d1)
        x[i + 1] = x[i] + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x[lag + per::per][washout:washout + n].copy()


def _windows(ids: np.ndarray, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    ids = np.asarray(ids)
    if len(ids) < length + 1:
        raise ValueError(f"{len(ids)} ids are too few for windows of {length + 1}")
    starts = rng.integers(0, len(ids) - length, size=n)
    return ids[starts[:, None] + np.arange(length + 1)]


def make_shuffle_task(ids: np.ndarray, n: int, length: int, rng: np.random.Generator):
    """Windows of ``length`` consecutive ids; label 1 (half of them, at random) when the window was shuffled.

    A shuffled window keeps exactly the same symbols, so only the *order* tells the classes
    apart: a model that ignores order is at chance. Returns ``X (n, length)``, ``y (n,)``.
    """
    _check_n(n)
    X = _windows(ids, n, length, rng)[:, :length].copy()
    y = rng.integers(0, 2, size=n).astype(np.int64)
    for i in np.flatnonzero(y):
        X[i] = rng.permutation(X[i])
    return X, y


def make_word_end_task(ids: np.ndarray, vocab: CharVocab, n: int, length: int, rng: np.random.Generator):
    """Windows of text with a label per character: 1 where a word ends (a letter followed by a non-letter).

    Whether a word ends at ``t`` is decided by the character at ``t + 1``: a model that reads
    only up to ``t`` must guess. Returns ``X (n, length)`` and ``Y (n, length)`` (int64).
    """
    _check_n(n)
    letter = np.array([c.isalpha() for c in vocab.chars])
    W = _windows(ids, n, length, rng)
    return W[:, :-1], (letter[W[:, :-1]] & ~letter[W[:, 1:]]).astype(np.int64)


def make_sine_sequences(n: int, length: int, rng: np.random.Generator, freq: tuple[float, float] = (0.2, 0.6)):
    """Frequencies ``ω ~ U(freq)`` and their waves ``sin(ω t)`` at ``t = 1 … length``: ``(ω (n,), waves (n, length))``."""
    _check_n(n)
    omega = rng.uniform(*freq, size=n)
    return omega, np.sin(omega[:, None] * np.arange(1, length + 1)[None, :])
