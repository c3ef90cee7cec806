"""Graph neural networks in PyTorch: the twins of :mod:`course_utils.scratch.graphs` and the chapter's models.

Contract:

- The graph conventions of :mod:`course_utils.scratch.graphs`: ``edge_index`` of shape
  ``(2, E)`` (a ``torch.long`` tensor here), messages from row 0 (sources) to row 1
  (targets), node features as rows.
- Functional twins, same arguments as the NumPy layers and differentiable by autograd:
  :func:`aggregate_torch`, :func:`gcn_conv_torch`, :func:`edge_update_torch`,
  :func:`node_update_torch`, :func:`sage_torch`. They use ``index_add`` and
  ``scatter_reduce``, the two primitives message passing is built from.
- Models: :class:`GCNLayer` and :class:`NodeGCN` (node classification on one graph, built
  from NumPy weights so that both implementations can start from the same point; with an
  empty edge list it is the same network without edges, an MLP), and :class:`DenseGNN`
  (graph classification on batches of padded graphs from :func:`pack_graphs`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

AGGREGATIONS = ("sum", "mean", "max")


# ================================================================ functional twins
def aggregate_torch(messages: torch.Tensor, index: torch.Tensor, n: int, kind: str = "sum") -> torch.Tensor:
    """``out[i] = AGG {messages[e] : index[e] = i}``; zeros for a node without messages."""
    if kind not in AGGREGATIONS:
        raise ValueError(f"kind must be one of {AGGREGATIONS}, got {kind!r}")
    index = torch.as_tensor(index, dtype=torch.long)
    out = messages.new_zeros((n, messages.shape[1]))
    if kind == "sum":
        return out.index_add(0, index, messages)
    target = index[:, None].expand_as(messages)
    return out.scatter_reduce(0, target, messages, reduce="mean" if kind == "mean" else "amax", include_self=False)


def gcn_norm_torch(edge_index: torch.Tensor, n: int,
                   dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(sources, targets, c)`` with a self-loop per node and ``c_e = 1/√(d̃_j d̃_i)`` (in ``dtype``)."""
    edge_index = torch.as_tensor(edge_index, dtype=torch.long)
    loop = torch.arange(n, device=edge_index.device)
    src, dst = torch.cat([edge_index[0], loop]), torch.cat([edge_index[1], loop])
    deg = torch.bincount(dst, minlength=n).to(dtype)
    inv_sqrt = deg.pow(-0.5)
    return src, dst, inv_sqrt[src] * inv_sqrt[dst]


def gcn_conv_torch(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, edge_index) -> torch.Tensor:
    """Graph convolution ``Â X W + b`` by message passing (twin of ``graphs.gcn_forward``)."""
    xw = x @ w
    src, dst, c = gcn_norm_torch(torch.as_tensor(edge_index, device=x.device), len(x), dtype=xw.dtype)
    return aggregate_torch(c[:, None] * xw[src], dst, len(x)) + b


def edge_update_torch(h, e, w, b, edge_index) -> torch.Tensor:
    """``ReLU([h_i, e_ji, h_j] W + b)`` per edge (twin of ``graphs.edge_update_forward``)."""
    src, dst = torch.as_tensor(edge_index, dtype=torch.long)
    return torch.relu(torch.cat([h[dst], e, h[src]], dim=1) @ w + b)


def node_update_torch(h, e, w, b, edge_index, aggregate: str = "sum") -> torch.Tensor:
    """``ReLU([AGG e_ji, h_i] W + b)`` per node (twin of ``graphs.node_update_forward``)."""
    dst = torch.as_tensor(edge_index, dtype=torch.long)[1]
    return torch.relu(torch.cat([aggregate_torch(e, dst, len(h), aggregate), h], dim=1) @ w + b)


def sage_torch(x, w_self, w_neigh, b, edge_index, aggregate: str = "mean") -> torch.Tensor:
    """``x_i W_self + AGG_j x_j W_neigh + b`` (twin of ``graphs.sage_forward``)."""
    src, dst = torch.as_tensor(edge_index, dtype=torch.long)
    return x @ w_self + aggregate_torch(x[src], dst, len(x), aggregate) @ w_neigh + b


# ===================================================================== node level
class GCNLayer(nn.Module):
    """One graph convolution with weight ``(d_in, d_out)`` (the NumPy layout) and bias."""

    def __init__(self, w: np.ndarray, b: np.ndarray):
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(np.asarray(w)))
        self.bias = nn.Parameter(torch.tensor(np.asarray(b)))

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return gcn_conv_torch(x, self.weight, self.bias, edge_index)


class NodeGCN(nn.Module):
    """A GCN for node classification on one graph, whose weights start as the NumPy ``params``.

    ``params = [(W_1, b_1), …]`` (e.g. ``graphs.init_gcn``) fixes the depth and widths; the
    activation (``"relu"`` or ``"tanh"``) follows every layer but the last, and with
    ``residual`` a layer whose input and output widths agree adds its input. The graph
    (``x``, ``edge_index``) is stored in the model: ``model(nodes)`` returns the logits of
    the nodes listed in ``nodes``, so that a loader of node indices can train it. An empty
    ``edge_index`` (shape ``(2, 0)``) leaves only the self-loops: the same network without
    edges, an MLP on each node's own features.
    """

    def __init__(self, x: np.ndarray, edge_index: np.ndarray, params: Sequence[tuple[np.ndarray, np.ndarray]],
                 activation: str = "relu", residual: bool = False):
        super().__init__()
        if activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh', got {activation!r}")
        self.register_buffer("x", torch.tensor(np.asarray(x)))
        self.register_buffer("edge_index", torch.as_tensor(np.asarray(edge_index), dtype=torch.long).reshape(2, -1))
        self.layers = nn.ModuleList(GCNLayer(w, b) for w, b in params)
        self.activation = torch.relu if activation == "relu" else torch.tanh
        self.residual = residual

    def embeddings(self) -> torch.Tensor:
        """Every node's representation before the last layer, shape ``(n, width)``."""
        h = self.x
        for layer in self.layers[:-1]:
            z = self.activation(layer(h, self.edge_index))
            h = h + z if self.residual and z.shape == h.shape else z
        return h

    def forward(self, nodes: torch.Tensor) -> torch.Tensor:
        return self.layers[-1](self.embeddings(), self.edge_index)[nodes]

    def numpy_params(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The current weights in the NumPy layout ``[(W, b), …]``."""
        return [(layer.weight.detach().cpu().numpy().copy(), layer.bias.detach().cpu().numpy().copy())
                for layer in self.layers]


# ==================================================================== graph level
def pack_graphs(A: np.ndarray, sizes: np.ndarray) -> torch.Tensor:
    """Padded graphs as one float32 tensor ``(G, N, N + 1)``: the adjacency matrix, then a column
    that is 1 for the real nodes of each graph and 0 for padding (the nodes' constant feature)."""
    A = np.asarray(A, dtype=np.float32)
    N = A.shape[1]
    mask = (np.arange(N)[None, :] < np.asarray(sizes)[:, None]).astype(np.float32)
    return torch.from_numpy(np.concatenate([A, mask[..., None]], axis=-1))


class DenseGNN(nn.Module):
    """Graph classifier on padded batches (:func:`pack_graphs`): message passing, a readout, an MLP.

    Every node starts with the constant feature 1. Each of ``layers`` rounds computes
    ``h_i ← ReLU(h_i W_self + AGG_{j ∈ N(i)} h_j W_neigh + b)`` with ``aggregate`` one of
    ``"sum"`` (GIN-like), ``"mean"`` (GraphSAGE), ``"max"``, ``"gcn"`` (``Â H W + b``, the
    symmetric normalisation) or ``"none"`` (no neighbours at all: the model sees no edges).
    The ``readout`` (sum, mean or max over each graph's real nodes) feeds a small MLP.
    """

    KINDS = ("sum", "mean", "max", "gcn", "none")

    def __init__(self, aggregate: str = "sum", width: int = 16, layers: int = 2, readout: str = "sum",
                 classes: int = 2):
        super().__init__()
        if aggregate not in self.KINDS:
            raise ValueError(f"aggregate must be one of {self.KINDS}, got {aggregate!r}")
        if readout not in AGGREGATIONS:
            raise ValueError(f"readout must be one of {AGGREGATIONS}, got {readout!r}")
        self.aggregate, self.readout = aggregate, readout
        dims = [1] + [width] * layers
        self.lin_self = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.lin_neigh = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(dims[:-1], dims[1:]))
        self.head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, classes))

    def _neighbours(self, A: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        if self.aggregate == "sum":
            return A @ h
        if self.aggregate == "mean":
            return A @ h / A.sum(-1, keepdim=True).clamp(min=1)
        scores = h[:, None, :, :].masked_fill(A[..., None] == 0, float("-inf"))  # (B, i, j, width)
        return scores.amax(dim=2).nan_to_num(neginf=0.0)

    def node_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        N = x.shape[1]
        A, mask = x[:, :, :N], x[:, :, N:]
        h = mask
        if self.aggregate == "gcn":
            At = A + torch.diag_embed(mask[..., 0])
            d = At.sum(-1)
            s = torch.where(d > 0, d.clamp(min=1).rsqrt(), torch.zeros_like(d))
            P = s[:, :, None] * At * s[:, None, :]
        for lin_s, lin_n in zip(self.lin_self, self.lin_neigh):
            if self.aggregate == "gcn":
                z = P @ lin_n(h) + lin_s.bias
            elif self.aggregate == "none":
                z = lin_s(h)
            else:
                z = lin_s(h) + lin_n(self._neighbours(A, h))
            h = torch.relu(z) * mask  # padding nodes stay exactly zero
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N = x.shape[1]
        mask = x[:, :, N:]
        h = self.node_embeddings(x)
        if self.readout == "sum":
            r = h.sum(1)
        elif self.readout == "mean":
            r = h.sum(1) / mask.sum(1).clamp(min=1)
        else:
            r = h.masked_fill(mask == 0, float("-inf")).amax(1)
        return self.head(r)
