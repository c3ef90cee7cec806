"""Chapter 16 · graph neural networks: the exercise checks (re-exported by the chapter module)."""
from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import torch

from ... import checks
from ...scratch import graphs
from . import cycle_graph, full_receptive_depth, random_graph, smoothing_at_depth


def check_normalized_adjacency(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(A) -> D̃^{-1/2} (A + I) D̃^{-1/2}`` on random graphs (some with a node without neighbours)."""
    flags = itertools.cycle([False, True])

    def make_inputs(rng):
        return (random_graph(rng, isolated=next(flags)),)

    return checks.check_function(fn, lambda A: graphs.normalized_adjacency(A, "sym"), make_inputs,
                                 name="normalized_adjacency", trials=trials, rtol=1e-9, atol=1e-12)


def check_gcn_message_passing(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Check ``fn(X, edge_index, W) -> Â X W`` (no bias) on random graphs given as edge lists."""
    def make_inputs(rng):
        A = random_graph(rng, isolated=bool(rng.integers(2)))
        d, m = int(rng.integers(2, 5)), int(rng.integers(1, 4))
        return (rng.standard_normal((len(A), d)), graphs.edge_index_from_adjacency(A), rng.standard_normal((d, m)))

    def reference(X, edge_index, W):
        return graphs.gcn_forward(X, W, np.zeros(W.shape[1]), edge_index=edge_index, n=len(X))[0]

    return checks.check_function(fn, reference, make_inputs, name="gcn_message_passing", trials=trials,
                                 rtol=1e-9, atol=1e-12)


def _gcn_variants(X: np.ndarray, A: np.ndarray, W: np.ndarray) -> dict[tuple[bool, str], np.ndarray]:
    """``Ã X W`` for every combination of (self-loops?, normalisation) a GCN layer could be written with."""
    out = {}
    for loops in (True, False):
        At = A + np.eye(len(A)) if loops else A
        d = At.sum(1)  # the diagnostic graph has no isolated node: every d > 0
        s = 1 / np.sqrt(d)
        for name, M in [("sym", s[:, None] * At * s[None, :]), ("rows", At / d[:, None]),
                        ("columns", At / d[None, :]), ("none", At)]:
            out[(loops, name)] = M @ X @ W
    return out


_NORM_HINTS = {"rows": "divides each row by the degree (D̃^-1 Ã, a plain average) instead of D̃^-1/2 on both sides",
               "columns": "divides each column by the degree (Ã D̃^-1): normalised on the wrong side; GCN uses "
                          "D̃^-1/2 on both sides",
               "none": "does not normalise at all: multiply by D̃^-1/2 on both sides"}


def _diagnose_gcn(got, X: np.ndarray, A: np.ndarray, W: np.ndarray) -> str | None:
    try:
        arr = np.asarray(got.detach().numpy() if isinstance(got, torch.Tensor) else got, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.shape != (len(X), W.shape[1]):
        return None
    for (loops, norm), v in _gcn_variants(X, A, W).items():
        if np.allclose(arr, v, rtol=1e-9, atol=1e-12) and (loops, norm) != (True, "sym"):
            problems = ([] if loops else ["forgets the self-loops (use A + I, and count them in the degrees)"]) + \
                       ([] if norm == "sym" else [_NORM_HINTS[norm]])
            return "your layer " + "; and it ".join(problems)
    return None


def check_gcn_layer(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Debug-this: check ``fn(X, A, W) -> D̃^{-1/2} (A + I) D̃^{-1/2} X W`` and name the bug it still has."""
    def reference(X, A, W):
        return graphs.normalized_adjacency(A, "sym") @ X @ W

    def make_inputs(rng):
        A = random_graph(rng, isolated=bool(rng.integers(2)))
        return (rng.standard_normal((len(A), 3)), A, rng.standard_normal((3, 2)))

    rng = np.random.default_rng(16)
    X, A, W = rng.standard_normal((7, 3)), random_graph(rng, n=7, p=0.4, isolated=False), rng.standard_normal((3, 2))
    A[np.arange(6), np.arange(1, 7)] = A[np.arange(1, 7), np.arange(6)] = 1.0  # a path through all: no isolated node
    try:
        with np.errstate(all="ignore"):
            got = fn(X.copy(), A.copy(), W.copy())
    except Exception:  # the student's error: check_function below reports it
        got = None
    hint = _diagnose_gcn(got, X, A, W)
    if hint is None:
        return checks.check_function(fn, reference, make_inputs, name="gcn_layer", trials=trials, rtol=1e-9, atol=1e-12)
    return checks.check_value(got, reference(X, A, W), name="gcn_layer(X, A, W)", rtol=1e-9, atol=1e-12, hint=hint)


#: the derive-then-check exercise: a cycle of this many nodes
RECEPTIVE_CYCLE = 12


def check_receptive_field(answer) -> checks.CheckResult:
    """Derive-then-check: the fewest GCN layers after which every output of a 12-node cycle depends on every input."""
    exact = full_receptive_depth(cycle_graph(RECEPTIVE_CYCLE), RECEPTIVE_CYCLE)
    hint = (f"each layer lets information travel one more hop, so L layers reach exactly the nodes within L hops; "
            f"on a cycle of {RECEPTIVE_CYCLE} nodes the farthest node is {RECEPTIVE_CYCLE // 2} hops away "
            "(halfway round, in either direction)")
    return checks.check_value(answer, exact, name="number of layers", rtol=0, atol=0, hint=hint)


def check_smoothing_prediction(prediction, depth: int = 50, tol: float = 0.05) -> checks.CheckResult:
    """Predict-then-run: the mean over-smoothing score of ``depth``-layer random GCNs on the karate club."""
    actual = smoothing_at_depth(depth)
    hint = (f"each layer multiplies by Â, whose largest eigenvalue is 1 (eigenvector ∝ √d̃) while every other "
            f"eigenvalue is smaller in size; after {depth} layers only that one direction survives, so all "
            f"embeddings point the same way and their cosine similarity approaches 1 (measured: {actual:.3f})")
    return checks.check_value(prediction, actual, name="your prediction", rtol=0, atol=tol, hint=hint)
