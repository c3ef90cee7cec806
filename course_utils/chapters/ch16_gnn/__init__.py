"""Chapter 16 · graph neural networks: the figures, the widget, the experiments and the exercise checks.

- Data: :func:`karate` (Zachary's karate club with one-hot node features and a fixed
  drawing layout), :func:`cycles_vs_trees` (the graph-classification set, packed for torch).
- Figures: :func:`plot_graph`, :func:`plot_adjacency`, :func:`plot_spectra`,
  :func:`plot_receptive_field`, :func:`plot_graph_pair`, :func:`plot_graph_examples`,
  :func:`plot_depth_training`; the widget :func:`draw_oversmoothing` (depth and propagation
  → a 2-D projection of the node embeddings and the over-smoothing score).
- Experiments: :func:`karate_node_classification`, :func:`train_torch_twin`,
  :func:`smoothing_study`, :func:`depth_training_study`, :func:`graph_classification_study`,
  :func:`torch_geometric_differences`.
- The notebook's thresholds (:data:`KARATE_ACC_MIN`, :data:`SMOOTHING_GROWTH_MIN`,
  :data:`GRAPH_ACC_MIN`, :data:`GRAPH_MARGIN_MIN`) and the functions that apply them
  (:func:`node_classification_passes`, :func:`smoothing_grows`, :func:`gnn_beats_control`)
  live here, so that the tests run the negative controls through the same asserts.
- Checks, in ``ch16_gnn/checks.py`` and re-exported here (the module is long, so it is a
  package): :func:`check_normalized_adjacency`, :func:`check_gcn_message_passing`,
  :func:`check_gcn_layer` (debug-this), :func:`check_receptive_field` (derive-then-check),
  :func:`check_smoothing_prediction` (predict-then-run).

The algorithms are in :mod:`course_utils.scratch.graphs` (NumPy) and
:mod:`course_utils.scratch.gnn` (PyTorch).
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from ... import base, data, plotting, training
from ...scratch import graphs
from ...scratch.gnn import DenseGNN, NodeGCN, gcn_conv_torch, pack_graphs
from ...scratch.metrics import accuracy
from ...widgets import frame

#: node classification: accuracy on the 32 unlabelled members of the karate club, every seed
KARATE_ACC_MIN = 0.85
#: over-smoothing: growth of the mean cosine similarity from 1 to 16 layers (mean over seeds)
SMOOTHING_GROWTH_MIN = 0.7
#: graph classification: test accuracy of the GNN, and its lead over a model that sees no edges, every seed
GRAPH_ACC_MIN = 0.9
GRAPH_MARGIN_MIN = 0.3
#: the from-scratch layers and their twins agree to this (float64)
AGREE_TOL = 1e-10

KARATE_LABELLED = np.array([0, 33])  # Mr. Hi (the instructor) and John A. (the club's president)
FACTIONS = ("Mr. Hi", "Officer")


# ========================================================================= data
@dataclass(frozen=True)
class Karate:
    """Zachary's karate club ready for the chapter: adjacency ``A``, faction ``y``, ``edge_index``,
    one-hot node features ``x = I``, GCN's ``a_hat``, a fixed 2-D drawing layout ``pos`` and, per
    column of ``edge_index``, the number of contexts in which the two members interacted
    (``interactions``, shape ``(E, 1)``: the edge features)."""

    A: np.ndarray
    y: np.ndarray
    edge_index: np.ndarray
    x: np.ndarray
    a_hat: np.ndarray
    pos: np.ndarray
    interactions: np.ndarray

    @property
    def unlabelled(self) -> np.ndarray:
        return np.setdiff1d(np.arange(len(self.y)), KARATE_LABELLED)


@lru_cache(maxsize=1)
def karate() -> Karate:
    """The karate club (:func:`course_utils.data.load_karate_club`) with everything the chapter derives from it."""
    import networkx as nx

    A, y = data.load_karate_club()
    W, _ = data.load_karate_club(weighted=True)
    layout = nx.spring_layout(nx.from_numpy_array(A), seed=7)
    pos = np.array([layout[i] for i in range(len(A))])
    edge_index = graphs.edge_index_from_adjacency(A)
    return Karate(A, y, edge_index, np.eye(len(A)), graphs.normalized_adjacency(A), pos,
                  W[edge_index[1], edge_index[0]][:, None])


def path_graph(n: int) -> np.ndarray:
    """The ``edge_index`` of the path ``0 – 1 – … – n−1`` (both directions)."""
    a, b = np.arange(n - 1), np.arange(1, n)
    return np.stack([np.concatenate([a, b]), np.concatenate([b, a])]).astype(np.int64)


def cycle_graph(n: int) -> np.ndarray:
    """The ``edge_index`` of the cycle ``0 – 1 – … – n−1 – 0``."""
    a, b = np.arange(n), (np.arange(n) + 1) % n
    return np.stack([np.concatenate([a, b]), np.concatenate([b, a])]).astype(np.int64)


def star_graph(leaves: int) -> np.ndarray:
    """The ``edge_index`` of a star: node 0 joined to nodes ``1 … leaves``."""
    a, b = np.zeros(leaves, dtype=np.int64), np.arange(1, leaves + 1)
    return np.stack([np.concatenate([a, b]), np.concatenate([b, a])]).astype(np.int64)


@lru_cache(maxsize=4)
def cycles_vs_trees(n_train: int = 400, n_test: int = 400, seed: int = 0):
    """The graph-classification set (:func:`course_utils.data.make_cycles_vs_trees`), packed for
    torch (:func:`course_utils.scratch.gnn.pack_graphs`): ``(x_train, y_train, x_test, y_test, raw)``
    with ``raw = (A, sizes, y)`` of all graphs, training graphs first."""
    A, sizes, y = data.make_cycles_vs_trees(n_train + n_test, np.random.default_rng(seed))
    x = pack_graphs(A, sizes)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:], (A, sizes, y)


# ====================================================================== figures
def _faction_colors(y: np.ndarray) -> list:
    return [plotting.COLORS[int(c)] for c in y]


def plot_graph(A: np.ndarray, pos: np.ndarray, ax=None, y: np.ndarray | None = None, values: np.ndarray | None = None,
               highlight: Sequence[int] = (), labels: bool = True, title: str | None = None, size: float = 180):
    """Draw a graph: edges as grey lines, nodes coloured by class ``y`` or by a number ``values``
    (with a colour bar); ``highlight`` circles some nodes in black. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.4, 4.4))
    i, j = np.nonzero(np.triu(A))
    for a, b in zip(i, j):
        ax.plot(pos[[a, b], 0], pos[[a, b], 1], color="#b0b0b0", lw=0.8, zorder=1)
    if values is not None:
        sc = ax.scatter(pos[:, 0], pos[:, 1], c=values, s=size, cmap="viridis", edgecolor="white", zorder=2)
        ax.figure.colorbar(sc, ax=ax, fraction=0.046, pad=0.02)
    else:
        colors = _faction_colors(y) if y is not None else plotting.COLORS[0]
        ax.scatter(pos[:, 0], pos[:, 1], c=colors, s=size, edgecolor="white", zorder=2)
    hl = list(highlight)
    if hl:
        ax.scatter(pos[hl, 0], pos[hl, 1], s=size * 1.9, facecolor="none", edgecolor="black", lw=1.8, zorder=3)
    if labels:
        for k, (px, py) in enumerate(pos):
            ax.text(px, py, str(k), ha="center", va="center", fontsize=6.5, color="white", zorder=4)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_aspect("equal")
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax


def plot_faction_legend(ax) -> None:
    """A legend naming the two factions' colours."""
    for c, name in enumerate(FACTIONS):
        ax.scatter([], [], color=plotting.COLORS[c], label=f"{name} (faction {c})")
    ax.legend(loc="lower left", fontsize=8)


def plot_adjacency(A: np.ndarray, ax=None, title: str = "adjacency matrix A"):
    """The adjacency matrix as an image (dark = edge)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.4, 4.4))
    ax.imshow(A, cmap="Greys", interpolation="nearest")
    ax.set_xlabel("node j (sender)")
    ax.set_ylabel("node i (receiver)")
    ax.set_title(title)
    ax.grid(False)
    return ax


def plot_spectra(spectra: dict[str, np.ndarray], ax=None):
    """One row of eigenvalues per matrix, with the interval [−1, 1] shaded."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 0.55 * len(spectra) + 1.2))
    ax.axvspan(-1, 1, color="#eeeeee", zorder=0)
    for row, lam in enumerate(spectra.values()):
        ax.scatter(lam, np.full(len(lam), row), marker="|", s=220, color=plotting.COLORS[row % len(plotting.COLORS)])
        ax.text(lam.max() + 0.15, row, f"{lam.max():.2f}", fontsize=8, ha="left", va="center")
        ax.text(lam.min() - 0.15, row, f"{lam.min():.2f}", fontsize=8, ha="right", va="center")
    ax.set_yticks(range(len(spectra)), list(spectra))
    lo = min(lam.min() for lam in spectra.values())
    hi = max(lam.max() for lam in spectra.values())
    ax.set_xlim(min(lo, -1) - 1.4, max(hi, 1) + 1.4)
    ax.set_ylim(-0.6, len(spectra) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("eigenvalue λ")
    ax.set_title("spectra of the karate club's propagation matrices (grey: the interval [−1, 1])")
    return ax


def plot_receptive_field(masks: np.ndarray, ax=None, node: int = 0):
    """Which nodes of a path (columns) are influenced by ``node`` after each number of layers (rows)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.imshow(masks, cmap="Blues", vmin=0, vmax=1.4, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(masks.shape[1]))
    ax.set_yticks(range(masks.shape[0]), [str(k + 1) for k in range(masks.shape[0])])
    ax.set_xlabel("node of the path")
    ax.set_ylabel("number of layers L")
    ax.set_title(f"outputs that change when node {node}'s features change (blue)")
    ax.grid(False)
    return ax


def _circle_layout(n: int) -> np.ndarray:
    t = 2 * np.pi * np.arange(n) / n + np.pi / 2
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def plot_graph_pair(edge_a: np.ndarray, n_a: int, edge_b: np.ndarray, n_b: int, colours: tuple[np.ndarray, np.ndarray],
                    titles: tuple[str, str], axes=None):
    """Two small graphs side by side, nodes coloured by an integer colour (e.g. a WL colour)."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(7.0, 3.2))
    for ax, (e, n, c, t) in zip(axes, [(edge_a, n_a, colours[0], titles[0]), (edge_b, n_b, colours[1], titles[1])]):
        plot_graph(graphs.adjacency_matrix(e, n), _circle_layout(n), ax=ax,
                   values=None, y=np.asarray(c) % len(plotting.COLORS), title=t, labels=False, size=260)
        for k, (px, py) in enumerate(_circle_layout(n)):
            ax.text(px, py, str(int(c[k])), ha="center", va="center", fontsize=8, color="white", zorder=4)
        ax.set_xlim(-1.4, 1.4)
        ax.set_ylim(-1.4, 1.4)
    return axes


def plot_graph_examples(A: np.ndarray, sizes: np.ndarray, y: np.ndarray, count: int = 6, axes=None):
    """The first ``count`` graphs of a padded data set, titled by class."""
    import networkx as nx

    if axes is None:
        _, axes = plt.subplots(1, count, figsize=(1.9 * count, 2.2))
    for g, ax in enumerate(np.ravel(axes)[:count]):
        n = int(sizes[g])
        sub = A[g, :n, :n]
        layout = nx.kamada_kawai_layout(nx.from_numpy_array(sub))
        plot_graph(sub, np.array([layout[i] for i in range(n)]), ax=ax, labels=False, size=40,
                   title=f"{'one cycle' if y[g] else 'tree'}, {n} nodes")
        ax.title.set_fontsize(9)
    return axes


def plot_depth_training(depths: Sequence[int], study: dict[str, np.ndarray], ax=None):
    """Accuracy on the unlabelled karate members against depth, per variant (mean and range over seeds)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 3.8))
    for k, (name, acc) in enumerate(study.items()):
        c = plotting.COLORS[k]
        ax.plot(depths, acc.mean(0), "o-", color=c, label=name)
        ax.fill_between(depths, acc.min(0), acc.max(0), color=c, alpha=0.2)
    ax.axhline(0.5, color="gray", ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(depths), [str(d) for d in depths])
    ax.set_xlabel("number of GCN layers")
    ax.set_ylabel("accuracy on the 32 unlabelled nodes")
    ax.set_ylim(0.4, 1.02)
    ax.set_title("trained GCNs (ReLU) on the karate club: depth")
    ax.legend(loc="lower left")
    return ax


# ================================================================ propagation
def spectra(A: np.ndarray) -> dict[str, np.ndarray]:
    """The eigenvalues of ``A`` and of its normalisations (with and without self-loops)."""
    d = A.sum(1)
    s = 1 / np.sqrt(d)
    return {"A": graphs.spectrum(A),
            "D^-1/2 A D^-1/2": graphs.spectrum(s[:, None] * A * s[None, :]),
            "I + D^-1/2 A D^-1/2": graphs.spectrum(np.eye(len(A)) + s[:, None] * A * s[None, :]),
            "D̃^-1/2 Ã D̃^-1/2 (GCN)": graphs.spectrum(graphs.normalized_adjacency(A, "sym")),
            "D̃^-1 Ã (random walk)": graphs.spectrum(graphs.normalized_adjacency(A, "rw"))}


def power_norms(M: np.ndarray, x: np.ndarray, steps: int) -> np.ndarray:
    """``‖M^t x‖`` for ``t = 0 … steps``: how repeated propagation grows or shrinks a signal."""
    out, v = [np.linalg.norm(x)], np.asarray(x, dtype=np.float64)
    for _ in range(steps):
        v = M @ v
        out.append(np.linalg.norm(v))
    return np.array(out)


def receptive_field_masks(edge_index: np.ndarray, n: int, max_depth: int, node: int = 0, width: int = 8,
                          seed: int = 0) -> np.ndarray:
    """``masks[L − 1, v]``: does the output of an ``L``-layer random GCN at ``v`` change with ``node``'s input?"""
    A = graphs.adjacency_matrix(edge_index, n)
    a_hat = graphs.normalized_adjacency(A)
    x = np.random.default_rng(seed).standard_normal((n, width))
    params = graphs.init_gcn([width] * (max_depth + 1), np.random.default_rng(seed + 1))
    return np.array([graphs.influenced_nodes(lambda z, d=depth: graphs.deep_gcn_forward(z, a_hat, params[:d])[-1], x, node)
                     for depth in range(1, max_depth + 1)])


def full_receptive_depth(edge_index: np.ndarray, n: int, max_depth: int = 30) -> int:
    """The fewest layers after which every node's output depends on every node's input (measured)."""
    A = graphs.adjacency_matrix(edge_index, n)
    a_hat = graphs.normalized_adjacency(A)
    x = np.random.default_rng(0).standard_normal((n, 4))
    params = graphs.init_gcn([4] * (max_depth + 1), np.random.default_rng(1))
    for depth in range(1, max_depth + 1):
        def forward(z, d=depth):
            return graphs.deep_gcn_forward(z, a_hat, params[:d])[-1]
        if all(graphs.influenced_nodes(forward, x, v).all() for v in range(n)):
            return depth
    raise ValueError(f"not every node sees every other after {max_depth} layers: is the graph connected?")


# ============================================================ node classification
def node_accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Accuracy on the karate members that were not labelled for training."""
    rest = np.setdiff1d(np.arange(len(y)), KARATE_LABELLED)
    return accuracy(np.asarray(logits)[rest], np.asarray(y)[rest])


def karate_node_classification(seeds: Sequence[int], edges: bool = True, hidden: int = 16, steps: int = 200,
                               lr: float = 0.01, weight_decay: float = 5e-4):
    """Train a two-layer GCN from scratch (:func:`course_utils.scratch.graphs.train_gcn`) on the karate
    club from its two labelled nodes, once per seed. ``edges=False`` trains the same network on
    ``Â = I`` (no edges: an MLP on the one-hot features). Returns the accuracies on the 32 other
    nodes and the last run's :class:`course_utils.scratch.graphs.GCNTrainResult`."""
    k = karate()
    a_hat = k.a_hat if edges else np.eye(len(k.y))
    accs, result = [], None
    for seed in seeds:
        params = graphs.init_gcn([k.x.shape[1], hidden, 2], np.random.default_rng(seed))
        result = graphs.train_gcn(k.x, a_hat, k.y, KARATE_LABELLED, params, steps, lr, weight_decay)
        accs.append(node_accuracy(result.logits, k.y))
    return np.array(accs), result


def node_classification_passes(accuracies: Sequence[float]) -> bool:
    """The notebook's assert: every seed classifies the unlabelled members with accuracy ≥ :data:`KARATE_ACC_MIN`."""
    return bool(np.min(accuracies) >= KARATE_ACC_MIN)


def train_torch_twin(params: Sequence[tuple[np.ndarray, np.ndarray]], steps: int = 200, lr: float = 0.01,
                     weight_decay: float = 5e-4, progress: bool = True):
    """The same training in PyTorch: :class:`course_utils.scratch.gnn.NodeGCN` (float64) from the same
    initial weights, ``torch.optim.Adam`` and :func:`course_utils.training.fit` over a loader that holds
    the labelled node indices (one full batch per epoch). It runs on the CPU: the comparison is in
    float64, which Apple's MPS does not have. Returns ``(model, history)``."""
    k = karate()
    model = NodeGCN(k.x, k.edge_index, params)
    loader = training.make_loader(KARATE_LABELLED, k.y[KARATE_LABELLED], batch_size=len(KARATE_LABELLED),
                                  shuffle=False, x_dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = training.fit(model, loader, F.cross_entropy, opt, epochs=steps, progress=progress, device="cpu")
    return model, history


def depth_training_study(depths: Sequence[int], seeds: Sequence[int], hidden: int = 16,
                         steps: int = 200) -> dict[str, np.ndarray]:
    """Accuracy of trained ReLU GCNs with ``depth`` layers, plain and residual: ``{name: (seeds, depths)}``."""
    k = karate()
    out = {"plain GCN": np.zeros((len(seeds), len(depths))), "GCN + residual": np.zeros((len(seeds), len(depths)))}
    runs = list(itertools.product(enumerate(seeds), enumerate(depths), [False, True]))
    for (s, seed), (d, depth), residual in base.progress(runs, desc="depth study", unit="run"):
        params = graphs.init_gcn([k.x.shape[1]] + [hidden] * (depth - 1) + [2], np.random.default_rng(seed))
        r = graphs.train_gcn(k.x, k.a_hat, k.y, KARATE_LABELLED, params, steps, residual=residual)
        out["GCN + residual" if residual else "plain GCN"][s, d] = node_accuracy(r.logits, k.y)
    return out


# ================================================================ over-smoothing
#: the widget's propagation choices: name -> (normalisation, residual)
PROPAGATIONS = {"GCN (symmetric)": ("sym", False), "random walk (mean)": ("rw", False),
                "GCN + residual": ("sym", True), "no edges": ("none", False)}
SMOOTHING_DEPTH = 16
SMOOTHING_SEEDS = 20
SMOOTHING_WIDTH = 16


@dataclass(frozen=True)
class SmoothingStudy:
    """Over-smoothing of random tanh GCNs on the karate club, for depths ``1 … len(mean)``.

    ``scores[s, L − 1]``: mean cosine similarity after ``L`` layers for seed ``s``; ``mean``
    over seeds; ``embeddings[L − 1]``: the first seed's node embeddings after ``L`` layers.
    """

    scores: np.ndarray
    mean: np.ndarray
    embeddings: tuple[np.ndarray, ...]


def _propagation_matrix(name: str) -> tuple[np.ndarray, bool]:
    if name not in PROPAGATIONS:
        raise ValueError(f"unknown propagation {name!r}; choose one of {list(PROPAGATIONS)}")
    kind, residual = PROPAGATIONS[name]
    A = karate().A
    return (np.eye(len(A)) if kind == "none" else graphs.normalized_adjacency(A, kind)), residual


@lru_cache(maxsize=16)
def smoothing_study(propagation: str = "GCN (symmetric)", depth: int = SMOOTHING_DEPTH,
                    n_seeds: int = SMOOTHING_SEEDS, seed: int = 0) -> SmoothingStudy:
    """Run :func:`course_utils.scratch.graphs.deep_gcn_forward` (width 16, Glorot weights, one-hot
    input) for ``n_seeds`` weight draws and score every depth (cached: the widget only draws)."""
    a_hat, residual = _propagation_matrix(propagation)
    x = karate().x
    scores, first = [], None
    for s in range(seed, seed + n_seeds):
        params = graphs.init_gcn([x.shape[1]] + [SMOOTHING_WIDTH] * depth, np.random.default_rng(s))
        hs = graphs.deep_gcn_forward(x, a_hat, params, residual=residual)
        scores.append([graphs.mean_cosine_similarity(h) for h in hs])
        first = hs if first is None else first
    scores = np.array(scores)
    return SmoothingStudy(scores, scores.mean(0), tuple(first))


def smoothing_grows(curve: Sequence[float]) -> bool:
    """The notebook's assert: the score rises at every added layer, by ≥ :data:`SMOOTHING_GROWTH_MIN` in all."""
    curve = np.asarray(curve)
    return bool(np.all(np.diff(curve) > 0) and curve[-1] - curve[0] >= SMOOTHING_GROWTH_MIN)


def smoothing_at_depth(depth: int = 50, n_seeds: int = SMOOTHING_SEEDS) -> float:
    """The mean over-smoothing score of ``depth``-layer random GCNs (the predict-then-run exercise)."""
    return float(smoothing_study("GCN (symmetric)", depth=depth, n_seeds=n_seeds).mean[-1])


def _project(h: np.ndarray) -> np.ndarray:
    """Coordinates along the two directions that carry most of the embeddings (no centring, so
    embeddings that all point one way land on one line through the origin)."""
    _, _, vt = np.linalg.svd(h, full_matrices=False)
    xy = h @ vt[:2].T
    return xy * np.sign(xy[:, 0].sum() or 1.0)


@frame
def draw_oversmoothing(depth: int = 2, propagation: str = "GCN (symmetric)"):
    """The widget: the karate club's node embeddings after ``depth`` random tanh GCN layers, projected
    to 2-D and coloured by faction, and the over-smoothing score against depth for every propagation."""
    if not 1 <= depth <= SMOOTHING_DEPTH:
        raise ValueError(f"depth must be between 1 and {SMOOTHING_DEPTH} layers, got {depth}")
    study = smoothing_study(propagation)
    y = karate().y
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9.6, 4.2), layout="none")
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.13, top=0.88, wspace=0.3)
    xy = _project(study.embeddings[depth - 1])
    m = 1.1 * np.abs(xy).max()
    ax.axhline(0, color="#cccccc", lw=0.8)
    ax.axvline(0, color="#cccccc", lw=0.8)
    ax.scatter(xy[:, 0], xy[:, 1], c=_faction_colors(y), s=40, edgecolor="white", zorder=2)
    ax.set_xlim(-m, m)
    ax.set_ylim(-m, m)
    ax.set_xlabel("direction 1")
    ax.set_ylabel("direction 2")
    ax.set_title(f"{propagation}, {depth} layer{'s' if depth > 1 else ''}: score {study.mean[depth - 1]:.2f}")
    plot_faction_legend(ax)
    depths = np.arange(1, SMOOTHING_DEPTH + 1)
    for k, name in enumerate(PROPAGATIONS):
        curve = smoothing_study(name).mean
        bold = name == propagation
        ax2.plot(depths, curve, "-", color=plotting.COLORS[k], lw=2.4 if bold else 1.0,
                 alpha=1.0 if bold else 0.5, label=name)
    ax2.axvline(depth, color="black", lw=0.8, ls="--")
    ax2.set_ylim(-0.1, 1.05)
    ax2.set_xlabel("number of layers")
    ax2.set_ylabel("mean cosine similarity")
    ax2.set_title("over-smoothing score (mean of 20 weight draws)")
    ax2.legend(loc="lower right", fontsize=8)
    return fig


# ============================================================ graph classification
def graph_classification(aggregate: str, seed: int = 0, n_train: int = 400, n_test: int = 400, epochs: int = 25,
                         lr: float = 1e-2, width: int = 16, readout: str = "sum", data_seed: int = 0,
                         progress: bool = False) -> float:
    """Train a :class:`course_utils.scratch.gnn.DenseGNN` on cycles vs trees with
    :func:`course_utils.training.fit` (Adam, batches of 32) and return its test accuracy."""
    x_tr, y_tr, x_te, y_te, _ = cycles_vs_trees(n_train, n_test, data_seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DenseGNN(aggregate, width=width, readout=readout)
    train = training.make_loader(x_tr, y_tr, batch_size=32, seed=seed)
    test = training.make_loader(x_te, y_te, batch_size=len(y_te), shuffle=False)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    training.fit(model, train, F.cross_entropy, opt, epochs=epochs, progress=progress)
    return training.evaluate(model, test, F.cross_entropy, {"acc": accuracy})["acc"]


def graph_classification_study(aggregates: Sequence[str], seeds: Sequence[int], **kwargs) -> dict[str, np.ndarray]:
    """Test accuracy per aggregation and seed: ``{aggregate: (len(seeds),)}``."""
    out = {a: np.zeros(len(seeds)) for a in aggregates}
    runs = list(itertools.product(aggregates, enumerate(seeds)))
    for a, (k, seed) in base.progress(runs, desc="graph classification", unit="model"):
        out[a][k] = graph_classification(a, seed, **kwargs)
    return out


def gnn_beats_control(gnn: Sequence[float], control: Sequence[float]) -> bool:
    """The notebook's assert, per seed: the GNN reaches :data:`GRAPH_ACC_MIN` and beats the control
    (the same network without edges) by at least :data:`GRAPH_MARGIN_MIN`."""
    gnn, control = np.asarray(gnn), np.asarray(control)
    return bool(np.all(gnn >= GRAPH_ACC_MIN) and np.all(gnn - control >= GRAPH_MARGIN_MIN))


# ===================================================================== references
def torch_geometric_differences(x: np.ndarray, w: np.ndarray, b: np.ndarray, edge_index: np.ndarray,
                                dout: np.ndarray) -> dict[str, float] | None:
    """Largest differences between :func:`course_utils.scratch.graphs.gcn_forward`/``gcn_backward`` and
    PyTorch Geometric's ``GCNConv`` (output and the three gradients), or ``None`` if it is not installed."""
    try:
        from torch_geometric.nn import GCNConv
    except ImportError:
        return None
    out, cache = graphs.gcn_forward(x, w, b, edge_index=edge_index)
    dx, dw, db = graphs.gcn_backward(dout, cache)
    conv = GCNConv(w.shape[0], w.shape[1]).double()
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w.T.copy(), b))
    ref = torch.func.functional_call(conv, {"lin.weight": wt, "bias": bt}, (xt, torch.as_tensor(edge_index)))
    ref.backward(torch.tensor(dout))
    return {"output": float(np.abs(ref.detach().numpy() - out).max()),
            "dx": float(np.abs(xt.grad.numpy() - dx).max()),
            "dW": float(np.abs(wt.grad.numpy().T - dw).max()),
            "db": float(np.abs(bt.grad.numpy() - db).max())}


def torch_twin_differences(x: np.ndarray, w: np.ndarray, b: np.ndarray, edge_index: np.ndarray,
                           dout: np.ndarray) -> dict[str, float]:
    """The same comparison with our own PyTorch twin (:func:`course_utils.scratch.gnn.gcn_conv_torch`) and autograd."""
    out, cache = graphs.gcn_forward(x, w, b, edge_index=edge_index)
    grads = graphs.gcn_backward(dout, cache)
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    ref = gcn_conv_torch(*ts, torch.as_tensor(edge_index))
    ref.backward(torch.tensor(dout))
    diffs = {"output": float(np.abs(ref.detach().numpy() - out).max())}
    diffs.update({name: float(np.abs(t.grad.numpy() - g).max()) for name, t, g in zip(("dx", "dW", "db"), ts, grads)})
    return diffs


def random_graph(rng: np.random.Generator, n: int | None = None, p: float = 0.3, isolated: bool = True) -> np.ndarray:
    """A random undirected graph (adjacency matrix); with ``isolated`` its last node has no edge."""
    n = int(rng.integers(5, 10)) if n is None else n
    A = np.triu((rng.random((n, n)) < p).astype(np.float64), k=1)
    A = A + A.T
    if isolated:
        A[-1, :] = A[:, -1] = 0.0
    return A


# The exercise checks live in ch16_gnn/checks.py (this chapter's module is a package: it is long).
from .checks import (  # noqa: E402, F401
    RECEPTIVE_CYCLE,
    check_gcn_layer,
    check_gcn_message_passing,
    check_normalized_adjacency,
    check_receptive_field,
    check_smoothing_prediction,
)
