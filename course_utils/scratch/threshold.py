"""Threshold units with hand-set weights: Boolean gates, XOR in two layers, and Boolean circuits (chapters 02 and 05).

Contract
--------
- Inputs are binary rows ``X`` of shape ``(n, k)`` (0/1, any numeric dtype); outputs
  are int64 arrays of 0/1. A threshold unit fires (outputs 1) when
  ``w·x + b > 0``, strictly: a point on the line gives 0.
- Truth tables list the ``2**k`` inputs in the order of :func:`binary_inputs`
  (``00, 01, 10, 11`` for ``k = 2``: the last bit changes fastest).
- A two-layer threshold network is ``(W1, b1, w2, b2)`` with ``W1`` of shape
  ``(hidden, inputs)`` (one row per hidden unit), ``b1 (hidden,)``, ``w2 (hidden,)``
  and a scalar ``b2``: :func:`two_layer_threshold`.
- Pure functions: no randomness except :func:`random_truth_table`, which takes an
  explicit ``rng``.

Chapter 02 builds the gates and the XOR network; chapter 05 turns any truth table
into a two-layer network (:func:`dnf_network`) and compares recipes for parity.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["threshold_unit", "GATES", "BOOLEAN", "binary_inputs", "truth_table", "XOR_WEIGHTS",
           "two_layer_threshold", "xor_network", "random_truth_table", "dnf_network",
           "parity_counting_network", "parity_chain"]


def threshold_unit(w: Sequence[float], b: float) -> Callable[[np.ndarray], np.ndarray]:
    """A McCulloch–Pitts unit: ``f(X) = 1 if w·x + b > 0 else 0`` for ``X`` of shape ``(n, len(w))``."""
    w = np.asarray(w, dtype=np.float64).ravel()
    b = float(b)

    def unit(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(w):
            raise ValueError(f"this unit has {len(w)} input(s): X must have shape (n, {len(w)}), got {X.shape}")
        return (X @ w + b > 0).astype(np.int64)

    return unit


#: Hand-set weights ``(w, b)`` of threshold units computing Boolean gates on {0, 1} inputs.
GATES: dict[str, tuple[np.ndarray, float]] = {
    "AND": (np.array([1.0, 1.0]), -1.5),   # fires only when x1 + x2 > 1.5
    "OR": (np.array([1.0, 1.0]), -0.5),    # fires when x1 + x2 > 0.5
    "NAND": (np.array([-1.0, -1.0]), 1.5),  # NOT AND: the AND unit with every sign flipped
    "NOT": (np.array([-1.0]), 0.5),        # fires when x < 0.5
}

#: The Boolean function each gate must compute, for checking truth tables.
BOOLEAN = {
    "AND": lambda X: np.all(X == 1, axis=1).astype(np.int64),
    "OR": lambda X: np.any(X == 1, axis=1).astype(np.int64),
    "NAND": lambda X: 1 - np.all(X == 1, axis=1).astype(np.int64),
    "NOT": lambda X: (X[:, 0] == 0).astype(np.int64),
    "XOR": lambda X: (X.sum(axis=1) % 2).astype(np.int64),
}


def binary_inputs(k: int) -> np.ndarray:
    """All ``2**k`` binary input rows in truth-table order (``00, 01, 10, 11`` for k = 2), int64."""
    return np.array(list(itertools.product([0, 1], repeat=k)), dtype=np.int64)


def truth_table(f: Callable[[np.ndarray], np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, outputs)`` of ``f`` on every binary input of length ``k``."""
    X = binary_inputs(k)
    return X, np.asarray(f(X)).astype(np.int64)


#: A two-layer threshold network for XOR: hidden units OR and NAND, output AND of the two.
XOR_WEIGHTS: dict[str, np.ndarray] = {
    "W1": np.stack([GATES["OR"][0], GATES["NAND"][0]]),  # (2 hidden, 2 inputs)
    "b1": np.array([GATES["OR"][1], GATES["NAND"][1]]),
    "w2": GATES["AND"][0].copy(),
    "b2": np.array(GATES["AND"][1]),
}


def two_layer_threshold(X: np.ndarray, W1: np.ndarray, b1: np.ndarray, w2: np.ndarray,
                        b2: float) -> tuple[np.ndarray, np.ndarray]:
    """Two layers of threshold units: ``h = [W1 x + b1 > 0]``, ``out = [w2·h + b2 > 0]``; returns ``(out, h)``."""
    X = np.asarray(X, dtype=np.float64)
    h = (X @ np.asarray(W1, dtype=np.float64).T + b1 > 0).astype(np.int64)
    out = (h @ np.asarray(w2, dtype=np.float64) + float(b2) > 0).astype(np.int64)
    return out, h


def xor_network(X: np.ndarray) -> np.ndarray:
    """XOR of two binary inputs computed as AND(OR(x), NAND(x)) with :data:`XOR_WEIGHTS`."""
    return two_layer_threshold(X, **XOR_WEIGHTS)[0]


# ------------------------------------------------------------- Boolean circuits
def random_truth_table(n_inputs: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random Boolean function of ``n_inputs`` bits: ``2**n_inputs`` outputs in truth-table order."""
    return rng.integers(0, 2, size=2 ** int(n_inputs)).astype(np.int64)


def dnf_network(truth: np.ndarray) -> dict[str, np.ndarray]:
    """Weights for :func:`two_layer_threshold` computing the Boolean function ``truth``.

    One hidden unit per true row ``r`` (a term of the disjunctive normal form):
    weights ``2r − 1`` (+1 on the bits that must be 1, −1 on those that must be 0)
    and bias ``0.5 − Σ r``, so ``w·x + b > 0`` exactly when ``x = r``. The output
    unit is an OR: weights 1, bias −0.5. ``truth`` has ``2**N`` entries in the order of
    :func:`binary_inputs`.
    """
    truth = np.asarray(truth).ravel()
    n = int(round(np.log2(truth.size))) if truth.size else -1
    if truth.size == 0 or 2 ** n != truth.size or not np.isin(truth, [0, 1]).all():
        raise ValueError(f"dnf_network: truth must hold 0/1 values for all 2**N inputs, got {truth.size} values")
    rows = binary_inputs(n)[truth == 1].astype(np.float64)
    return {"W1": 2 * rows - 1, "b1": 0.5 - rows.sum(axis=1),
            "w2": np.ones(len(rows)), "b2": np.array(-0.5)}


def parity_counting_network(n_inputs: int) -> dict[str, np.ndarray]:
    """Weights for :func:`two_layer_threshold` computing the parity of ``n_inputs`` bits with ``n_inputs`` hidden units.

    Hidden unit ``k`` (``k = 1 … N``) fires when at least ``k`` bits are on; the output
    adds them with alternating signs ``+1, −1, +1, …``, which leaves 1 exactly when the count is odd.
    """
    n = int(n_inputs)
    k = np.arange(1, n + 1)
    return {"W1": np.ones((n, n)), "b1": 0.5 - k, "w2": (-1.0) ** (k + 1), "b2": np.array(-0.5)}


def parity_chain(X: np.ndarray) -> tuple[np.ndarray, int]:
    """Parity of each row of binary ``X (n, N)`` as a chain of chapter 02's XOR networks.

    Returns ``(parity, units)``: ``N − 1`` XOR blocks of 3 threshold units each, ``2(N − 1)`` layers.
    """
    X = np.asarray(X)
    out = X[:, 0]
    for j in range(1, X.shape[1]):
        out = xor_network(np.column_stack([out, X[:, j]]))
    return out.astype(np.int64), 3 * (X.shape[1] - 1)
