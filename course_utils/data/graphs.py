"""Graphs as adjacency matrices: Zachary's karate club and generated cycles and trees."""
from __future__ import annotations

import numpy as np

from ._common import _check_n


# -------------------------------------------------------------------- graphs
def load_karate_club(weighted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Zachary's karate club (1977): 34 members, 78 friendships, as shipped with networkx.

    Returns the adjacency matrix ``A`` of shape ``(34, 34)`` (symmetric, float64) and ``y``
    of shape ``(34,)``: the club each member joined after the split, 0 for the instructor's
    ("Mr. Hi", node 0) and 1 for the officers' (node 33). ``A`` is 0/1, or with ``weighted``
    the number of contexts in which the two members interacted (networkx's edge attribute
    ``weight``, 1 … 7).
    """
    import networkx as nx

    G = nx.karate_club_graph()
    A = nx.to_numpy_array(G, nodelist=range(G.number_of_nodes()), weight="weight" if weighted else None,
                          dtype=np.float64)
    y = np.array([0 if G.nodes[i]["club"] == "Mr. Hi" else 1 for i in range(G.number_of_nodes())], dtype=np.int64)
    return A, y


def _random_tree(n: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random labelled tree on ``n`` nodes (decoded from a random Prüfer sequence)."""
    A = np.zeros((n, n))
    if n == 2:
        A[0, 1] = A[1, 0] = 1
        return A
    seq = list(rng.integers(0, n, size=n - 2))
    degree = np.ones(n, dtype=np.int64)
    for v in seq:
        degree[v] += 1
    for v in seq:
        leaf = int(np.flatnonzero(degree == 1)[0])  # the smallest leaf
        A[leaf, v] = A[v, leaf] = 1
        degree[leaf] -= 1
        degree[v] -= 1
    u, w = np.flatnonzero(degree == 1)
    A[u, w] = A[w, u] = 1
    return A


def make_cycles_vs_trees(n_graphs: int, rng: np.random.Generator, min_nodes: int = 6,
                         max_nodes: int = 14) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Graph classification: trees (label 0) against connected graphs with exactly one cycle (label 1).

    Each graph has a uniformly drawn number of nodes ``n`` in ``[min_nodes, max_nodes]``:
    a uniformly random labelled tree (``n − 1`` edges), and for label 1 one extra edge
    between two non-adjacent nodes, which closes one cycle (``n`` edges). The nodes of
    every graph are shuffled, so that a node's index says nothing. Labels alternate 0, 1, …

    Returns ``A`` of shape ``(n_graphs, max_nodes, max_nodes)`` (graph ``g`` occupies the
    top-left ``sizes[g] × sizes[g]`` block; the rest is zero padding), ``sizes`` (int64)
    and ``y`` (int64).
    """
    _check_n(n_graphs)
    if not 3 <= min_nodes <= max_nodes:
        raise ValueError(f"need 3 <= min_nodes <= max_nodes (a cycle needs 3 nodes), got {min_nodes}, {max_nodes}")
    A = np.zeros((n_graphs, max_nodes, max_nodes))
    sizes = rng.integers(min_nodes, max_nodes + 1, size=n_graphs).astype(np.int64)
    y = (np.arange(n_graphs) % 2).astype(np.int64)
    for g in range(n_graphs):
        n = int(sizes[g])
        T = _random_tree(n, rng)
        if y[g] == 1:
            free = np.argwhere(np.triu(1 - T, k=1) > 0)  # non-adjacent pairs i < j (a tree on n >= 3 nodes has some)
            i, j = free[rng.integers(len(free))]
            T[i, j] = T[j, i] = 1
        order = rng.permutation(n)
        A[g, :n, :n] = T[np.ix_(order, order)]
    return A, sizes, y
