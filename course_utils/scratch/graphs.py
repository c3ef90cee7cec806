"""Graphs and message passing in NumPy (chapter 16).

Contract:

- A graph on ``n`` nodes is either an **adjacency matrix** ``A`` of shape ``(n, n)`` with
  ``A[i, j] = 1`` when node ``j`` sends to node ``i``, or an **edge list** ``edge_index``
  of shape ``(2, E)`` (int64) whose column ``e = (j, i)`` is an edge from its *source*
  ``j = edge_index[0, e]`` to its *target* ``i = edge_index[1, e]``, as in PyTorch
  Geometric. An undirected graph (all graphs of chapter 16) has a symmetric ``A`` and
  lists each edge in both directions. Graphs are simple: no self-loops, no repeated edges.
- Node features are rows: ``X`` of shape ``(n, d)``; edge features ``(E, k)``, row ``e``
  for column ``e`` of ``edge_index``. Messages flow from sources to targets, so node
  ``i`` aggregates over its in-neighbours ``N(i) = {j : (j, i) is an edge}``.
- Layers keep the contract of :mod:`course_utils.scratch.layers`:
  ``<name>_forward(x, *params, **options) -> (out, cache)`` and
  ``<name>_backward(dout, cache)`` returning one gradient per array argument, in order.
  The graph (``edge_index``, ``a_hat``, ``index``, ``n``) arrives as keyword options and
  is not differentiated.

Contents: graph matrices (:func:`adjacency_matrix`, :func:`edge_index_from_adjacency`,
:func:`degree_matrix`, :func:`normalized_adjacency`, :func:`spectrum`, :func:`gcn_norm`,
:func:`permute_nodes`); the aggregation layer (:func:`aggregate_forward`, sum/mean/max
over incoming messages) and readouts
(:func:`readout_forward`, the same with "graph" in place of "node"); the GCN layer of
Kipf & Welling (2017) twice, as a dense matrix formula (:func:`gcn_dense_forward`) and as
message passing over the edge list (:func:`gcn_forward`); the general message-passing
layer in its two halves, node → edge (:func:`edge_update_forward`) and edge → node
(:func:`node_update_forward`), and the generic scheme :func:`message_passing`; a
GraphSAGE-style layer with a choice of aggregation (:func:`sage_forward`); the
Weisfeiler–Leman colour refinement (:func:`wl_colours`, :func:`wl_distinguishes`);
deep random GCNs and an over-smoothing score (:func:`deep_gcn_forward`,
:func:`mean_cosine_similarity`); hop distances and receptive fields
(:func:`hop_distances`, :func:`influenced_nodes`); and GCNs trained with Adam from
scratch (:func:`train_gcn`). The PyTorch twins are in
:mod:`course_utils.scratch.gnn`.
"""
from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .layers import ACTIVATIONS, relu_backward, relu_forward, tanh_forward
from .losses import softmax_cross_entropy
from .optimizers import adam

AGGREGATIONS = ("sum", "mean", "max")


# ============================================================ graph matrices
def _check_edge_index(edge_index: np.ndarray, n: int) -> np.ndarray:
    ei = np.asarray(edge_index)
    if ei.ndim != 2 or ei.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got {ei.shape}")
    if ei.dtype.kind not in "iu":
        raise ValueError(f"edge_index must hold integer node indices, got dtype {ei.dtype}")
    if ei.size and (ei.min() < 0 or ei.max() >= n):
        raise ValueError(f"edge_index refers to nodes outside 0 … {n - 1}")
    return ei.astype(np.int64)


def adjacency_matrix(edge_index: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """The ``(n, n)`` matrix with ``A[i, j] = weight`` (default 1) for every edge ``j → i``."""
    ei = _check_edge_index(edge_index, n)
    A = np.zeros((n, n))
    np.add.at(A, (ei[1], ei[0]), 1.0 if weights is None else np.asarray(weights, dtype=np.float64))
    return A


def edge_index_from_adjacency(A: np.ndarray) -> np.ndarray:
    """The edge list ``(2, E)`` of the nonzero entries of ``A`` (``A[i, j] ≠ 0`` gives the column ``(j, i)``)."""
    targets, sources = np.nonzero(np.asarray(A))
    return np.stack([sources, targets]).astype(np.int64)


def degree_matrix(A: np.ndarray) -> np.ndarray:
    """``D = diag(d)`` with ``d_i = Σ_j A[i, j]``, the number of (in-)neighbours of node ``i``."""
    return np.diag(np.asarray(A, dtype=np.float64).sum(axis=1))


def normalized_adjacency(A: np.ndarray, kind: str = "sym", self_loops: bool = True) -> np.ndarray:
    """The propagation matrix of a graph convolution.

    With ``Ã = A + I`` (``self_loops``; else ``Ã = A``) and ``D̃`` its degree matrix:
    ``"sym"`` gives ``D̃^{-1/2} Ã D̃^{-1/2}`` (GCN: entry ``1/√(d̃_i d̃_j)``), ``"rw"``
    the random-walk form ``D̃^{-1} Ã`` (row ``i`` averages node ``i``'s neighbourhood).
    A node without any neighbour (possible only without self-loops) gets a zero row.
    """
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square (n, n) matrix, got shape {A.shape}")
    At = A + np.eye(len(A)) if self_loops else A
    d = At.sum(axis=1)
    if kind == "sym":
        s = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)
        return s[:, None] * At * s[None, :]
    if kind == "rw":
        return np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)[:, None] * At
    raise ValueError(f"kind must be 'sym' or 'rw', got {kind!r}")


def spectrum(M: np.ndarray) -> np.ndarray:
    """The eigenvalues of a square matrix, real parts, in increasing order.

    Every propagation matrix of this module has real eigenvalues: ``A`` and the symmetric
    form are symmetric, and ``D̃^{-1} Ã = D̃^{-1/2} (D̃^{-1/2} Ã D̃^{-1/2}) D̃^{1/2}`` is similar to
    the symmetric form, so it has the *same* eigenvalues.
    """
    M = np.asarray(M, dtype=np.float64)
    if np.allclose(M, M.T):
        return np.linalg.eigvalsh(M)
    return np.sort(np.linalg.eigvals(M).real)


def gcn_norm(edge_index: np.ndarray, n: int, self_loops: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GCN's edge coefficients on an edge list: ``(sources, targets, c)`` with ``c_e = 1/√(d̃_j d̃_i)``.

    ``self_loops`` appends the edge ``i → i`` for every node; ``d̃_i`` counts the edges
    into ``i`` (its own loop included). On an undirected graph ``c`` are exactly the
    nonzero entries of ``normalized_adjacency(A, "sym")``.
    """
    ei = _check_edge_index(edge_index, n)
    src, dst = ei
    if self_loops:
        loop = np.arange(n, dtype=np.int64)
        src, dst = np.concatenate([src, loop]), np.concatenate([dst, loop])
    deg = np.bincount(dst, minlength=n).astype(np.float64)
    inv_sqrt = np.where(deg > 0, 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
    return src, dst, inv_sqrt[src] * inv_sqrt[dst]


def permute_nodes(x: np.ndarray, edge_index: np.ndarray, perm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relabel the nodes: new node ``k`` is old node ``perm[k]``. Returns ``(x[perm], relabelled edge_index)``.

    A layer ``f`` is *permutation-equivariant* when ``f`` of the relabelled graph equals
    ``f(x, edge_index)[perm]``, and a readout is *invariant* when it does not change at all.
    """
    perm = np.asarray(perm, dtype=np.int64)
    n = len(perm)
    if not np.array_equal(np.sort(perm), np.arange(n)):
        raise ValueError("perm must be a permutation of 0 … n−1")
    new_label = np.argsort(perm)  # old node v becomes new node new_label[v]
    return np.asarray(x)[perm], new_label[_check_edge_index(edge_index, n)]


# ======================================================= aggregation, readout
def aggregate_forward(messages: np.ndarray, index: np.ndarray, n: int, kind: str = "sum"):
    """``out[i] = AGG {messages[e] : index[e] = i}`` for ``i = 0 … n−1``: shape ``(n, k)``.

    ``kind`` is ``"sum"``, ``"mean"`` or ``"max"`` (per feature); a node that receives no
    message gets zeros (PyTorch Geometric's convention). All three are invariant to the
    order of the messages: the heart of permutation invariance.
    """
    if kind not in AGGREGATIONS:
        raise ValueError(f"kind must be one of {AGGREGATIONS}, got {kind!r}")
    m = np.asarray(messages, dtype=np.float64)
    index = np.asarray(index, dtype=np.int64)
    if m.ndim != 2 or len(index) != len(m):
        raise ValueError(f"need messages (E, k) and one index per message, got {m.shape} and {index.shape}")
    count = np.bincount(index, minlength=n).astype(np.float64)
    if kind == "max":
        out = np.full((n, m.shape[1]), -np.inf)
        np.maximum.at(out, index, m)
        out[count == 0] = 0.0
    else:
        out = np.zeros((n, m.shape[1]))
        np.add.at(out, index, m)
        if kind == "mean":
            out /= np.maximum(count, 1.0)[:, None]
    return out, (m, index, n, kind, out, count)


def aggregate_backward(dout: np.ndarray, cache):
    """``dmessages``: each message gets its target's gradient (sum), divided by the count (mean),
    or only where it was the maximum (max; ties share it equally, as in torch)."""
    m, index, n, kind, out, count = cache
    if kind == "sum":
        return dout[index]
    if kind == "mean":
        return dout[index] / np.maximum(count, 1.0)[index, None]
    winner = (m == out[index]).astype(np.float64)
    ties = np.zeros_like(out)
    np.add.at(ties, index, winner)
    return winner * dout[index] / np.maximum(ties, 1.0)[index]


def readout_forward(h: np.ndarray, batch: np.ndarray | None = None, n_graphs: int | None = None, kind: str = "sum"):
    """Graph-level readout: sum, mean or max of the node embeddings ``h (n, d)`` of each graph.

    ``batch[v]`` is the graph of node ``v`` (default: all nodes form one graph); the result
    has shape ``(n_graphs, d)``. It is :func:`aggregate_forward` with graphs in the place of
    target nodes, hence invariant to any reordering of the nodes.
    """
    h = np.asarray(h, dtype=np.float64)
    batch = np.zeros(len(h), dtype=np.int64) if batch is None else np.asarray(batch, dtype=np.int64)
    n_graphs = int(batch.max()) + 1 if n_graphs is None else n_graphs
    return aggregate_forward(h, index=batch, n=n_graphs, kind=kind)


def readout_backward(dout: np.ndarray, cache):
    """Gradient with respect to the node embeddings (see :func:`aggregate_backward`)."""
    return aggregate_backward(dout, cache)


# ======================================================================== GCN
def gcn_dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, a_hat: np.ndarray):
    """One graph convolution as a matrix formula: ``out = Â X W + b``.

    ``x (n, d)``, ``w (d, m)``, ``b (m,)`` and ``a_hat (n, n)``, usually
    ``normalized_adjacency(A, "sym")`` (Kipf & Welling 2017). Cost ``O(n² m)``.
    """
    xw = x @ w
    return a_hat @ xw + b, (x, w, a_hat)


def gcn_dense_backward(dout: np.ndarray, cache):
    """``(dx, dw, db)``: ``dx = Âᵀ dout Wᵀ``, ``dw = (ÂX)ᵀ dout``, ``db = Σ_rows dout``."""
    x, w, a_hat = cache
    d_xw = a_hat.T @ dout
    return d_xw @ w.T, x.T @ d_xw, dout.sum(axis=0)


def gcn_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, edge_index: np.ndarray, n: int | None = None):
    """The same graph convolution as message passing over the edge list, cost ``O(E m)``.

    Node → edge: every edge ``j → i`` (and every self-loop) carries the message
    ``c_ji · (x_j W)`` with ``c_ji = 1/√(d̃_j d̃_i)`` (:func:`gcn_norm`). Edge → node: each
    node sums what it receives, then adds ``b``. Equal to :func:`gcn_dense_forward` with
    ``Â = normalized_adjacency(A, "sym")``.
    """
    n = len(x) if n is None else n
    src, dst, c = gcn_norm(edge_index, n)
    xw = x @ w
    out, _ = aggregate_forward(c[:, None] * xw[src], index=dst, n=n, kind="sum")
    return out + b, (x, w, src, dst, c)


def gcn_backward(dout: np.ndarray, cache):
    """``(dx, dw, db)``: the messages run backwards, each edge returns ``c · dout[target]`` to its source."""
    x, w, src, dst, c = cache
    d_xw, _ = aggregate_forward(c[:, None] * dout[dst], index=src, n=len(x), kind="sum")
    return d_xw @ w.T, x.T @ d_xw, dout.sum(axis=0)


# ===================================================== general message passing
def message_passing(h: np.ndarray, edge_index: np.ndarray, message: Callable, aggregate: str = "sum",
                    update: Callable | None = None, edge_features: np.ndarray | None = None) -> np.ndarray:
    """One round of the general scheme (Gilmer et al. 2017), forward only.

    Node → edge: ``m_e = message(h_i, h_j, e_e)`` for every edge ``e = (j → i)``, called
    once with the stacked ``(E, ·)`` arrays of targets, sources and edge features (``None``
    if there are none). Edge → node: ``a_i = AGG {m_e : e ends in i}``. Update:
    ``h_i' = update(h_i, a_i)`` (default: ``a_i``). Every GNN layer of the chapter is an
    instance: GCN is ``message = c_e · h_j W`` with ``c_e`` as the edge feature.
    """
    ei = _check_edge_index(edge_index, len(h))
    src, dst = ei
    m = message(h[dst], h[src], edge_features)
    a, _ = aggregate_forward(m, index=dst, n=len(h), kind=aggregate)
    return a if update is None else update(h, a)


def edge_update_forward(h: np.ndarray, e: np.ndarray, w: np.ndarray, b: np.ndarray, edge_index: np.ndarray):
    """Node → edge update: ``e_ji' = ReLU([h_i, e_ji, h_j] W + b)`` for every edge ``j → i``.

    ``h (n, d)``, ``e (E, k)``, ``w (2d + k, m)``, ``b (m,)``; returns ``(E, m)``. The same
    ``W`` and ``b`` serve every edge of every graph (weight sharing).
    """
    ei = _check_edge_index(edge_index, len(h))
    src, dst = ei
    cat = np.concatenate([h[dst], e, h[src]], axis=1)
    out, relu_cache = relu_forward(cat @ w + b)
    return out, (h.shape, e.shape[1], src, dst, cat, w, relu_cache)


def edge_update_backward(dout: np.ndarray, cache):
    """``(dh, de, dw, db)``; ``dh`` collects each edge's gradient at both of its end nodes."""
    h_shape, k, src, dst, cat, w, relu_cache = cache
    dz = relu_backward(dout, relu_cache)
    dcat = dz @ w.T
    d = h_shape[1]
    dh = np.zeros(h_shape)
    np.add.at(dh, dst, dcat[:, :d])
    np.add.at(dh, src, dcat[:, d + k:])
    return dh, dcat[:, d:d + k], cat.T @ dz, dz.sum(axis=0)


def node_update_forward(h: np.ndarray, e: np.ndarray, w: np.ndarray, b: np.ndarray, edge_index: np.ndarray,
                        aggregate: str = "sum"):
    """Edge → node update: ``h_i' = ReLU([AGG_{j ∈ N(i)} e_ji, h_i] W + b)``.

    ``h (n, d)``, ``e (E, k)`` (one row per edge, usually from :func:`edge_update_forward`),
    ``w (k + d, m)``, ``b (m,)``; returns ``(n, m)``.
    """
    ei = _check_edge_index(edge_index, len(h))
    agg, agg_cache = aggregate_forward(e, index=ei[1], n=len(h), kind=aggregate)
    cat = np.concatenate([agg, h], axis=1)
    out, relu_cache = relu_forward(cat @ w + b)
    return out, (agg_cache, cat, w, relu_cache, e.shape[1])


def node_update_backward(dout: np.ndarray, cache):
    """``(dh, de, dw, db)``."""
    agg_cache, cat, w, relu_cache, k = cache
    dz = relu_backward(dout, relu_cache)
    dcat = dz @ w.T
    return dcat[:, k:], aggregate_backward(dcat[:, :k], agg_cache), cat.T @ dz, dz.sum(axis=0)


def init_message_passing(d: int, k: int, m: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Glorot-initialised weights of one edge update ``(2d + k → m)`` and one node update ``(m + d → m)``."""
    return {"w_edge": glorot(2 * d + k, m, rng), "b_edge": np.zeros(m),
            "w_node": glorot(m + d, m, rng), "b_node": np.zeros(m)}


def message_passing_step(h: np.ndarray, e: np.ndarray, params: dict[str, np.ndarray], edge_index: np.ndarray,
                         aggregate: str = "sum") -> tuple[np.ndarray, np.ndarray]:
    """One full round, node → edge then edge → node: returns ``(h', e')`` (forward only)."""
    e_new, _ = edge_update_forward(h, e, params["w_edge"], params["b_edge"], edge_index=edge_index)
    h_new, _ = node_update_forward(h, e_new, params["w_node"], params["b_node"], edge_index=edge_index,
                                   aggregate=aggregate)
    return h_new, e_new


def sage_forward(x: np.ndarray, w_self: np.ndarray, w_neigh: np.ndarray, b: np.ndarray, edge_index: np.ndarray,
                 aggregate: str = "mean"):
    """A GraphSAGE-style layer (Hamilton et al. 2017): ``h_i' = x_i W_self + AGG_{j ∈ N(i)} x_j W_neigh + b``.

    ``aggregate="mean"`` is GraphSAGE's mean aggregator; ``"sum"`` is the graph convolution
    of Morris et al. (2019) and the linear core of GIN (Xu et al. 2019); ``"max"`` keeps the
    largest value per feature. Unlike GCN, the node's own features get their own weights.
    """
    ei = _check_edge_index(edge_index, len(x))
    src, dst = ei
    agg, agg_cache = aggregate_forward(x[src], index=dst, n=len(x), kind=aggregate)
    return x @ w_self + agg @ w_neigh + b, (x, w_self, w_neigh, agg, agg_cache, src)


def sage_backward(dout: np.ndarray, cache):
    """``(dx, dw_self, dw_neigh, db)``."""
    x, w_self, w_neigh, agg, agg_cache, src = cache
    d_msg = aggregate_backward(dout @ w_neigh.T, agg_cache)
    dx = dout @ w_self.T
    np.add.at(dx, src, d_msg)
    return dx, x.T @ dout, agg.T @ dout, dout.sum(axis=0)


# ============================================================ Weisfeiler–Leman
def wl_colours(edge_index: np.ndarray, n: int, rounds: int, aggregate: str = "sum",
               colours: np.ndarray | None = None) -> list[np.ndarray]:
    """Colour refinement (Weisfeiler & Leman 1968): the colours of every node after 0 … ``rounds`` rounds.

    A node's new colour is a new name for the pair (its colour, what it sees of its
    neighbours' colours). ``"sum"`` sees the *multiset* of neighbour colours (1-WL, what a
    sum-aggregating GNN can match); ``"mean"`` only their *proportions*; ``"max"`` only the
    *set*. Colours start equal (``colours=None``) and are renamed ``0, 1, …`` each round.
    """
    if aggregate not in AGGREGATIONS:
        raise ValueError(f"aggregate must be one of {AGGREGATIONS}, got {aggregate!r}")
    src, dst = _check_edge_index(edge_index, n)
    c = np.zeros(n, dtype=np.int64) if colours is None else np.asarray(colours, dtype=np.int64)
    history = [c]
    for _ in range(rounds):
        seen: list[list[int]] = [[] for _ in range(n)]
        for j, i in zip(src, dst):
            seen[i].append(int(c[j]))
        signatures = [(int(c[i]), _view(seen[i], aggregate)) for i in range(n)]
        names = {s: k for k, s in enumerate(sorted(set(signatures)))}
        c = np.array([names[s] for s in signatures], dtype=np.int64)
        history.append(c)
    return history


def _view(neighbour_colours: list[int], aggregate: str) -> tuple:
    counts = Counter(neighbour_colours)
    if aggregate == "sum":
        return tuple(sorted(counts.items()))
    if aggregate == "mean":
        total = len(neighbour_colours)
        return tuple(sorted((col, round(k / total, 12)) for col, k in counts.items()))
    return tuple(sorted(counts))


def wl_distinguishes(graph_a: tuple[np.ndarray, int], graph_b: tuple[np.ndarray, int], rounds: int = 3,
                     aggregate: str = "sum") -> int | None:
    """The first round after which the colour histograms of two graphs ``(edge_index, n)`` differ, else ``None``.

    The graphs are refined together (as one disjoint graph), so that equal colours have
    equal names in both.
    """
    (ea, na), (eb, nb) = graph_a, graph_b
    union = np.concatenate([np.asarray(ea, dtype=np.int64), np.asarray(eb, dtype=np.int64) + na], axis=1)
    for r, c in enumerate(wl_colours(union, na + nb, rounds, aggregate)):
        if Counter(c[:na].tolist()) != Counter(c[na:].tolist()):
            return r
    return None


# ============================================ depth: over-smoothing, receptive field
def glorot(d_in: int, d_out: int, rng: np.random.Generator) -> np.ndarray:
    """Glorot/Xavier uniform weights ``U(−a, a)``, ``a = √(6 / (d_in + d_out))`` (as ``torch.nn.init.xavier_uniform_``)."""
    a = np.sqrt(6.0 / (d_in + d_out))
    return rng.uniform(-a, a, size=(d_in, d_out))


def init_gcn(dims: Sequence[int], rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights ``[(W_1, b_1), …]`` of a GCN with layer widths ``dims = (d_0, d_1, …)``: Glorot, zero biases."""
    return [(glorot(a, b, rng), np.zeros(b)) for a, b in zip(dims[:-1], dims[1:])]


def deep_gcn_forward(x: np.ndarray, a_hat: np.ndarray, params: Sequence[tuple[np.ndarray, np.ndarray]],
                     residual: bool = False) -> list[np.ndarray]:
    """The node embeddings after each of ``len(params)`` layers ``H ← tanh(Â H W + b)``.

    With ``residual`` every layer after the first (which changes the width) adds its input:
    ``H ← H + tanh(Â H W + b)``. ``a_hat = I`` is the same network without edges.
    """
    h, out = x, []
    for layer, (w, b) in enumerate(params):
        z, _ = gcn_dense_forward(h, w, b, a_hat=a_hat)
        t, _ = tanh_forward(z)
        h = h + t if residual and layer > 0 else t
        out.append(h)
    return out


def mean_cosine_similarity(h: np.ndarray) -> float:
    """Over-smoothing score: the mean of ``cos(h_i, h_j)`` over all pairs of distinct nodes.

    1 when every embedding points the same way (the nodes can no longer be told apart by
    direction), about 0 for unrelated random directions. A zero row counts as similarity 0.
    """
    h = np.asarray(h, dtype=np.float64)
    n = len(h)
    if n < 2:
        raise ValueError("need at least two nodes to compare")
    norms = np.linalg.norm(h, axis=1)
    u = h / np.where(norms > 0, norms, 1.0)[:, None]
    s = u @ u.T
    return float((s.sum() - np.trace(s)) / (n * (n - 1)))


def hop_distances(edge_index: np.ndarray, n: int, source: int) -> np.ndarray:
    """Breadth-first search: the number of hops from ``source`` to every node (−1 if unreachable)."""
    src, dst = _check_edge_index(edge_index, n)
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for j, i in zip(src, dst):
        neighbours[j].append(int(i))
    dist = np.full(n, -1, dtype=np.int64)
    dist[source] = 0
    queue = deque([source])
    while queue:
        v = queue.popleft()
        for u in neighbours[v]:
            if dist[u] < 0:
                dist[u] = dist[v] + 1
                queue.append(u)
    return dist


def influenced_nodes(forward: Callable[[np.ndarray], np.ndarray], x: np.ndarray, node: int,
                     eps: float = 1e-3) -> np.ndarray:
    """Boolean mask of the nodes whose output changes when the features of ``node`` change.

    ``forward(x) -> (n, m)`` is any node-level model; the features of ``node`` are shifted
    by ``eps`` in every coordinate and the outputs compared (exact zeros stay zeros).
    """
    x2 = np.array(x, dtype=np.float64)
    x2[node] += eps
    return np.any(forward(x2) != forward(np.asarray(x, dtype=np.float64)), axis=1)


# ==================================================== training from scratch
@dataclass
class GCNTrainResult:
    """A GCN trained by :func:`train_gcn`: the loss per step, the final weights, the final logits
    of all nodes and the embeddings the last layer reads (all nodes)."""

    losses: np.ndarray
    params: list[tuple[np.ndarray, np.ndarray]]
    logits: np.ndarray
    embeddings: np.ndarray


def gcn_model_forward(x: np.ndarray, a_hat: np.ndarray, params: Sequence[tuple[np.ndarray, np.ndarray]],
                      activation: str = "relu", residual: bool = False):
    """Logits of a GCN: graph convolutions with ``activation`` between them (none after the last).

    With ``residual`` a hidden layer whose input and output widths agree adds its input
    (``H ← H + act(Â H W + b)``). Returns ``(logits, caches)``; the embeddings the last layer
    reads are ``caches[-1][0][0]``.
    """
    act_forward, _ = ACTIVATIONS[activation]
    h, caches = x, []
    for layer, (w, b) in enumerate(params):
        z, conv_cache = gcn_dense_forward(h, w, b, a_hat=a_hat)
        if layer == len(params) - 1:
            caches.append((conv_cache, None, False))
            return z, caches
        t, act_cache = act_forward(z)
        skip = residual and t.shape == h.shape
        h = h + t if skip else t
        caches.append((conv_cache, act_cache, skip))
    raise ValueError("params is empty: a GCN needs at least one layer")


def gcn_model_backward(dlogits: np.ndarray, caches, activation: str = "relu") -> list[tuple[np.ndarray, np.ndarray]]:
    """Gradients ``[(dW_1, db_1), …]`` of :func:`gcn_model_forward` (same ``activation``)."""
    _, act_backward = ACTIVATIONS[activation]
    grads, d = [], dlogits
    for layer, (conv_cache, act_cache, skip) in enumerate(reversed(caches)):
        dz = d if layer == 0 else act_backward(d, act_cache)
        dx, dw, db = gcn_dense_backward(dz, conv_cache)
        d = dx + d if skip else dx
        grads.append((dw, db))
    return grads[::-1]


def train_gcn(x: np.ndarray, a_hat: np.ndarray, y: np.ndarray, train_nodes: np.ndarray,
              params: Sequence[tuple[np.ndarray, np.ndarray]], steps: int = 200, lr: float = 0.01,
              weight_decay: float = 5e-4, activation: str = "relu", residual: bool = False) -> GCNTrainResult:
    """Semi-supervised node classification (Kipf & Welling 2017), full batch, in NumPy.

    The loss is the cross-entropy on the labelled ``train_nodes`` only; every node's
    features take part in the forward pass. Adam (:func:`course_utils.scratch.optimizers.adam`)
    with L2 weight decay added to the gradient, as ``torch.optim.Adam(weight_decay=…)``.
    """
    params = [(w.copy(), b.copy()) for w, b in params]
    states = [({}, {}) for _ in params]
    losses = []
    for _ in range(steps):
        logits, caches = gcn_model_forward(x, a_hat, params, activation, residual)
        loss, dsel = softmax_cross_entropy(logits[train_nodes], y[train_nodes])
        dlogits = np.zeros_like(logits)
        dlogits[train_nodes] = dsel
        new = []
        for (w, b), (dw, db), (sw, sb) in zip(params, gcn_model_backward(dlogits, caches, activation), states):
            w2, sw = adam(w, dw + weight_decay * w, sw, lr=lr)
            b2, sb = adam(b, db + weight_decay * b, sb, lr=lr)
            new.append(((w2, b2), (sw, sb)))
        params, states = [p for p, _ in new], [s for _, s in new]
        losses.append(loss)
    logits, caches = gcn_model_forward(x, a_hat, params, activation, residual)
    return GCNTrainResult(np.array(losses), params, logits, caches[-1][0][0])
