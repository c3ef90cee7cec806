"""course_utils.scratch.graphs and .gnn: every graph layer against finite differences, our PyTorch twin
and PyTorch Geometric (float64, random graphs), the graph matrices against dense formulas and networkx,
permutation equivariance, Weisfeiler–Leman against networkx, and the training twins."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch
from layer_harness import LayerCase, run_layer_case
from torch_geometric.nn import GCNConv, SAGEConv, global_add_pool, global_max_pool, global_mean_pool
from torch_geometric.nn.conv.gcn_conv import gcn_norm as pyg_gcn_norm
from torch_geometric.utils import scatter as pyg_scatter

from course_utils.scratch import gnn, graphs


# ------------------------------------------------------------------ random graphs
def random_adjacency(rng, n=None, p=0.35, isolated=True):
    n = int(rng.integers(4, 11)) if n is None else n
    A = np.triu((rng.random((n, n)) < p).astype(float), k=1)
    A[0, 1] = 1.0  # at least one edge
    A = A + A.T
    if isolated:
        A[-1] = A[:, -1] = 0.0  # a node without neighbours: its aggregate is empty
    return A


def random_graph(rng, **kwargs):
    A = random_adjacency(rng, **kwargs)
    return A, graphs.edge_index_from_adjacency(A)


def _dims(rng, k=3):
    return (int(v) for v in rng.integers(1, 5, size=k))


# ------------------------------------------------------------------ layer table
def _aggregate(kind):
    def make(rng):
        n, k = int(rng.integers(3, 8)), int(rng.integers(1, 4))
        E = int(rng.integers(1, 15))
        index = rng.integers(0, n - 1, size=E)  # node n - 1 receives nothing
        return {"messages": rng.standard_normal((E, k))}, {"index": index, "n": n, "kind": kind}
    return make


def _aggregate_torch(messages, index, n, kind):
    return gnn.aggregate_torch(messages, torch.as_tensor(index), n, kind)


def _readout(kind):
    def make(rng):
        n_graphs = int(rng.integers(1, 4))
        batch = np.sort(np.concatenate([np.arange(n_graphs), rng.integers(0, n_graphs, size=int(rng.integers(0, 8)))]))
        return {"h": rng.standard_normal((len(batch), int(rng.integers(1, 4))))}, \
            {"batch": batch, "n_graphs": n_graphs, "kind": kind}
    return make


def _readout_torch(h, batch, n_graphs, kind):
    pool = {"sum": global_add_pool, "mean": global_mean_pool, "max": global_max_pool}[kind]
    return pool(h, torch.as_tensor(batch), size=n_graphs)  # PyTorch Geometric as the reference


def _gcn_inputs(dense):
    def make(rng):
        A, ei = random_graph(rng)
        d, m = _dims(rng, 2)
        arrays = {"x": rng.standard_normal((len(A), d)), "w": rng.standard_normal((d, m)), "b": rng.standard_normal(m)}
        return arrays, ({"a_hat": graphs.normalized_adjacency(A)} if dense else {"edge_index": ei})
    return make


def _pyg_gcn(x, w, b, edge_index):
    conv = GCNConv(w.shape[0], w.shape[1]).double()
    return torch.func.functional_call(conv, {"lin.weight": w.T, "bias": b}, (x, torch.as_tensor(edge_index)))


def _edge_update(rng):
    A, ei = random_graph(rng)
    d, k, m = _dims(rng)
    return ({"h": rng.standard_normal((len(A), d)), "e": rng.standard_normal((ei.shape[1], k)),
             "w": rng.standard_normal((2 * d + k, m)), "b": rng.standard_normal(m)}, {"edge_index": ei})


def _node_update(kind):
    def make(rng):
        A, ei = random_graph(rng)
        d, k, m = _dims(rng)
        return ({"h": rng.standard_normal((len(A), d)), "e": rng.standard_normal((ei.shape[1], k)),
                 "w": rng.standard_normal((k + d, m)), "b": rng.standard_normal(m)},
                {"edge_index": ei, "aggregate": kind})
    return make


def _sage(kind):
    def make(rng):
        A, ei = random_graph(rng)
        d, m = _dims(rng, 2)
        return ({"x": rng.standard_normal((len(A), d)), "w_self": rng.standard_normal((d, m)),
                 "w_neigh": rng.standard_normal((d, m)), "b": rng.standard_normal(m)},
                {"edge_index": ei, "aggregate": kind})
    return make


def _pyg_sage(x, w_self, w_neigh, b, edge_index, aggregate):
    conv = SAGEConv(w_self.shape[0], w_self.shape[1], aggr={"sum": "add"}.get(aggregate, aggregate)).double()
    params = {"lin_l.weight": w_neigh.T, "lin_l.bias": b, "lin_r.weight": w_self.T}
    return torch.func.functional_call(conv, params, (x, torch.as_tensor(edge_index)))


LAYERS = [
    *[LayerCase(f"aggregate_{k}", graphs.aggregate_forward, graphs.aggregate_backward, _aggregate_torch, _aggregate(k))
      for k in graphs.AGGREGATIONS],
    *[LayerCase(f"readout_{k}", graphs.readout_forward, graphs.readout_backward, _readout_torch, _readout(k))
      for k in graphs.AGGREGATIONS],
    LayerCase("gcn_dense", graphs.gcn_dense_forward, graphs.gcn_dense_backward,
              lambda x, w, b, a_hat: torch.tensor(a_hat) @ x @ w + b, _gcn_inputs(dense=True)),
    LayerCase("gcn_message_passing", graphs.gcn_forward, graphs.gcn_backward, gnn.gcn_conv_torch, _gcn_inputs(dense=False)),
    LayerCase("gcn_vs_torch_geometric", graphs.gcn_forward, graphs.gcn_backward, _pyg_gcn, _gcn_inputs(dense=False)),
    LayerCase("edge_update", graphs.edge_update_forward, graphs.edge_update_backward, gnn.edge_update_torch, _edge_update),
    *[LayerCase(f"node_update_{k}", graphs.node_update_forward, graphs.node_update_backward, gnn.node_update_torch,
                _node_update(k)) for k in graphs.AGGREGATIONS],
    *[LayerCase(f"sage_{k}", graphs.sage_forward, graphs.sage_backward, gnn.sage_torch, _sage(k)) for k in graphs.AGGREGATIONS],
    *[LayerCase(f"sage_{k}_vs_torch_geometric", graphs.sage_forward, graphs.sage_backward, _pyg_sage, _sage(k))
      for k in graphs.AGGREGATIONS],
]


@pytest.mark.parametrize("case", LAYERS, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(3))
def test_layer_matches_torch_and_finite_differences(case, seed):
    run_layer_case(case, np.random.default_rng(seed))


def test_aggregate_matches_torch_geometric_scatter():
    rng = np.random.default_rng(5)
    m, index = rng.standard_normal((20, 3)), rng.integers(0, 6, size=20)
    for kind, reduce in [("sum", "sum"), ("mean", "mean"), ("max", "max")]:
        ours, _ = graphs.aggregate_forward(m, index=index, n=7, kind=kind)
        ref = pyg_scatter(torch.tensor(m), torch.tensor(index), dim=0, dim_size=7, reduce=reduce).numpy()
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
        assert np.all(ours[6] == 0)  # no message: zeros


def test_max_aggregation_shares_the_gradient_among_ties_like_torch():
    m = np.array([[1.0], [3.0], [3.0], [2.0]])
    index = np.array([0, 0, 0, 1])
    out, cache = graphs.aggregate_forward(m, index=index, n=2, kind="max")
    dm = graphs.aggregate_backward(np.array([[1.0], [1.0]]), cache)
    mt = torch.tensor(m, requires_grad=True)
    gnn.aggregate_torch(mt, torch.tensor(index), 2, "max").sum().backward()
    np.testing.assert_allclose(dm, mt.grad.numpy())
    np.testing.assert_allclose(dm[:, 0], [0, 0.5, 0.5, 1])


# ---------------------------------------------------------------- graph matrices
@pytest.mark.parametrize("seed", range(5))
def test_normalized_adjacency_matches_the_formula_and_torch_geometric(seed):
    rng = np.random.default_rng(seed)
    A, ei = random_graph(rng)
    n = len(A)
    At = A + np.eye(n)
    D_inv_sqrt = np.diag(1 / np.sqrt(At.sum(1)))
    sym = graphs.normalized_adjacency(A, "sym")
    np.testing.assert_allclose(sym, D_inv_sqrt @ At @ D_inv_sqrt, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(graphs.normalized_adjacency(A, "rw"), np.diag(1 / At.sum(1)) @ At, rtol=1e-13)
    ones = torch.ones(ei.shape[1], dtype=torch.float64)
    loops, weight = pyg_gcn_norm(torch.as_tensor(ei), ones, num_nodes=n, add_self_loops=True)
    ref = graphs.adjacency_matrix(loops.numpy(), n, weights=weight.numpy())
    np.testing.assert_allclose(sym, ref, rtol=1e-12, atol=1e-15)
    src, dst, c = graphs.gcn_norm(ei, n)
    np.testing.assert_allclose(graphs.adjacency_matrix(np.stack([src, dst]), n, weights=c), sym, rtol=1e-13)


def test_normalization_without_self_loops_gives_isolated_nodes_a_zero_row():
    A = random_adjacency(np.random.default_rng(1))
    for kind in ("sym", "rw"):
        M = graphs.normalized_adjacency(A, kind, self_loops=False)
        assert np.all(M[-1] == 0) and np.all(np.isfinite(M))
    with pytest.raises(ValueError, match="'sym' or 'rw'"):
        graphs.normalized_adjacency(A, "left")


@pytest.mark.parametrize("seed", range(4))
def test_spectrum_of_the_normalisations(seed):
    A = random_adjacency(np.random.default_rng(seed), n=12, p=0.4, isolated=False)
    sym, rw = graphs.normalized_adjacency(A, "sym"), graphs.normalized_adjacency(A, "rw")
    lam_sym, lam_rw = graphs.spectrum(sym), graphs.spectrum(rw)
    np.testing.assert_allclose(lam_sym, lam_rw, atol=1e-10)  # similar matrices: the same eigenvalues
    assert lam_sym.max() == pytest.approx(1.0) and lam_sym.min() > -1.0
    np.testing.assert_allclose(rw.sum(1), 1.0)  # a random walk's rows sum to 1
    d = A.sum(1) + 1
    np.testing.assert_allclose(sym @ np.sqrt(d), np.sqrt(d), rtol=1e-12)  # top eigenvector ∝ √d̃
    np.testing.assert_allclose(graphs.spectrum(A), np.linalg.eigvalsh(A), atol=1e-12)


def test_bipartite_graph_has_eigenvalue_minus_one_until_self_loops_are_added():
    n = 8
    A = np.diag(np.ones(n - 1), 1)
    A = A + A.T  # a path: bipartite
    d = A.sum(1)
    no_loops = A / np.sqrt(d[:, None] * d[None, :])
    assert graphs.spectrum(no_loops).min() == pytest.approx(-1.0)
    assert graphs.spectrum(graphs.normalized_adjacency(A)).min() > -0.95


def test_adjacency_roundtrip_and_degrees_match_networkx():
    G = nx.gnp_random_graph(15, 0.3, seed=3)
    A_nx = nx.to_numpy_array(G, nodelist=range(15))
    ei = graphs.edge_index_from_adjacency(A_nx)
    assert ei.shape == (2, 2 * G.number_of_edges())
    np.testing.assert_array_equal(graphs.adjacency_matrix(ei, 15), A_nx)
    np.testing.assert_array_equal(np.diag(graphs.degree_matrix(A_nx)), [G.degree(i) for i in range(15)])
    with pytest.raises(ValueError, match="outside"):
        graphs.adjacency_matrix(ei, 5)
    with pytest.raises(ValueError, match="shape"):
        graphs.adjacency_matrix(ei.T, 15)


# ---------------------------------------------------------------- message passing
def test_generic_message_passing_with_gcn_messages_is_gcn():
    rng = np.random.default_rng(2)
    A, ei = random_graph(rng)
    x, w = rng.standard_normal((len(A), 3)), rng.standard_normal((3, 2))
    src, dst, c = graphs.gcn_norm(ei, len(A))
    out = graphs.message_passing(x, np.stack([src, dst]), lambda h_i, h_j, e: e[:, None] * (h_j @ w),
                                 edge_features=c)
    np.testing.assert_allclose(out, graphs.normalized_adjacency(A) @ x @ w, rtol=1e-12, atol=1e-14)


def test_message_passing_step_composes_the_two_updates():
    rng = np.random.default_rng(3)
    A, ei = random_graph(rng)
    h, e = rng.standard_normal((len(A), 3)), rng.standard_normal((ei.shape[1], 2))
    p = graphs.init_message_passing(3, 2, 4, rng)
    h2, e2 = graphs.message_passing_step(h, e, p, ei)
    ht, et = torch.tensor(h), torch.tensor(e)
    e_ref = gnn.edge_update_torch(ht, et, torch.tensor(p["w_edge"]), torch.tensor(p["b_edge"]), ei)
    h_ref = gnn.node_update_torch(ht, e_ref, torch.tensor(p["w_node"]), torch.tensor(p["b_node"]), ei)
    np.testing.assert_allclose(e2, e_ref.numpy(), rtol=1e-12)
    np.testing.assert_allclose(h2, h_ref.numpy(), rtol=1e-12)
    assert h2.shape == (len(A), 4) and e2.shape == (ei.shape[1], 4)


@pytest.mark.parametrize("seed", range(3))
def test_layers_are_permutation_equivariant_and_readouts_invariant(seed):
    rng = np.random.default_rng(seed)
    A, ei = random_graph(rng)
    n = len(A)
    x, w, b = rng.standard_normal((n, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    perm = rng.permutation(n)
    xp, eip = graphs.permute_nodes(x, ei, perm)
    np.testing.assert_allclose(graphs.gcn_forward(xp, w, b, edge_index=eip)[0],
                               graphs.gcn_forward(x, w, b, edge_index=ei)[0][perm], rtol=1e-12, atol=1e-14)
    for kind in graphs.AGGREGATIONS:
        ws, wn = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
        np.testing.assert_allclose(graphs.sage_forward(xp, ws, wn, b, edge_index=eip, aggregate=kind)[0],
                                   graphs.sage_forward(x, ws, wn, b, edge_index=ei, aggregate=kind)[0][perm],
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(graphs.readout_forward(xp, kind=kind)[0], graphs.readout_forward(x, kind=kind)[0],
                                   rtol=1e-12)
    # the general layer: edges carry features, so relabelling must reorder them consistently
    e = rng.standard_normal((ei.shape[1], 2))
    p = graphs.init_message_passing(3, 2, 4, rng)
    h1, _ = graphs.message_passing_step(x, e, p, ei)
    h2, _ = graphs.message_passing_step(xp, e, p, eip)  # same edge order, relabelled end points
    np.testing.assert_allclose(h2, h1[perm], rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="permutation"):
        graphs.permute_nodes(x, ei, np.zeros(n, dtype=int))


def test_a_layer_that_reads_node_indices_is_not_equivariant():
    """The negative control of the equivariance test: adding the node's index breaks it."""
    rng = np.random.default_rng(0)
    A, ei = random_graph(rng, n=8)
    x = rng.standard_normal((8, 2))
    perm = rng.permutation(8)
    xp, eip = graphs.permute_nodes(x, ei, perm)

    def layer(z, edges):
        return graphs.gcn_forward(z, np.eye(2), np.zeros(2), edge_index=edges)[0] + np.arange(len(z))[:, None]

    assert not np.allclose(layer(xp, eip), layer(x, ei)[perm])


# ------------------------------------------------------------------- Weisfeiler–Leman
def test_wl_star_vs_path_sum_tells_them_apart_mean_and_max_cannot():
    star = (np.array([[0, 0, 0, 1, 2, 3], [1, 2, 3, 0, 0, 0]]), 4)
    path = (np.array([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]]), 4)
    assert graphs.wl_distinguishes(star, path, rounds=3, aggregate="sum") == 1
    assert graphs.wl_distinguishes(star, path, rounds=5, aggregate="mean") is None
    assert graphs.wl_distinguishes(star, path, rounds=5, aggregate="max") is None


def test_wl_cannot_tell_a_hexagon_from_two_triangles():
    hexagon = graphs.edge_index_from_adjacency(nx.to_numpy_array(nx.cycle_graph(6)))
    triangles = graphs.edge_index_from_adjacency(nx.to_numpy_array(nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3))))
    assert graphs.wl_distinguishes((hexagon, 6), (triangles, 6), rounds=6) is None


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.filterwarnings("ignore:The hashes produced")
def test_wl_sum_agrees_with_networkx_hash(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 9))
    Ga, Gb = nx.gnm_random_graph(n, n, seed=int(rng.integers(1000))), nx.gnm_random_graph(n, n, seed=int(rng.integers(1000)))
    if seed % 2:  # half the pairs are isomorphic: a relabelled copy
        Gb = nx.relabel_nodes(Ga, dict(zip(range(n), rng.permutation(n).tolist())))
    ea = graphs.edge_index_from_adjacency(nx.to_numpy_array(Ga, nodelist=range(n)))
    eb = graphs.edge_index_from_adjacency(nx.to_numpy_array(Gb, nodelist=range(n)))
    ours = graphs.wl_distinguishes((ea, n), (eb, n), rounds=3) is not None
    theirs = nx.weisfeiler_lehman_graph_hash(Ga, iterations=3) != nx.weisfeiler_lehman_graph_hash(Gb, iterations=3)
    assert ours == theirs


def test_wl_colour_history_and_errors():
    star = np.array([[0, 0, 0, 1, 2, 3], [1, 2, 3, 0, 0, 0]])
    hist = graphs.wl_colours(star, 4, rounds=2)
    assert len(hist) == 3 and hist[1][0] != hist[1][1] and len(set(hist[1][1:])) == 1
    with pytest.raises(ValueError, match="aggregate"):
        graphs.wl_colours(star, 4, 1, aggregate="median")


# --------------------------------------------------------- depth: smoothing, receptive field
def test_mean_cosine_similarity_against_a_double_loop():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((6, 3))
    h[2] = 0.0
    ref = []
    for i in range(6):
        for j in range(6):
            if i != j:
                ni, nj = np.linalg.norm(h[i]), np.linalg.norm(h[j])
                ref.append(0.0 if ni == 0 or nj == 0 else h[i] @ h[j] / (ni * nj))
    assert graphs.mean_cosine_similarity(h) == pytest.approx(np.mean(ref), rel=1e-12)
    assert graphs.mean_cosine_similarity(np.outer(np.arange(1, 5), [1.0, 2.0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="two nodes"):
        graphs.mean_cosine_similarity(np.ones((1, 3)))


def test_deep_gcn_forward_shapes_residual_and_no_edges():
    rng = np.random.default_rng(1)
    A = random_adjacency(rng, n=7)
    x = rng.standard_normal((7, 3))
    params = graphs.init_gcn([3, 5, 5, 5], rng)
    hs = graphs.deep_gcn_forward(x, graphs.normalized_adjacency(A), params)
    assert [h.shape for h in hs] == [(7, 5)] * 3
    res = graphs.deep_gcn_forward(x, graphs.normalized_adjacency(A), params, residual=True)
    np.testing.assert_allclose(res[0], hs[0])
    (w2, b2) = params[1]
    np.testing.assert_allclose(res[1], res[0] + np.tanh(graphs.normalized_adjacency(A) @ res[0] @ w2 + b2))
    alone = graphs.deep_gcn_forward(x, np.eye(7), params)[-1]  # no edges: each node on its own
    np.testing.assert_allclose(alone[0], graphs.deep_gcn_forward(x[:1], np.eye(1), params)[-1][0])


def test_glorot_matches_torch_bounds():
    w = graphs.glorot(30, 20, np.random.default_rng(0))
    a = np.sqrt(6 / 50)
    assert np.abs(w).max() <= a and np.abs(w).max() > 0.95 * a
    t = torch.empty(20, 30)
    torch.nn.init.xavier_uniform_(t)
    assert t.abs().max().item() <= a + 1e-7


def test_hop_distances_match_networkx():
    G = nx.connected_watts_strogatz_graph(20, 4, 0.3, seed=1)
    ei = graphs.edge_index_from_adjacency(nx.to_numpy_array(G, nodelist=range(20)))
    ref = nx.single_source_shortest_path_length(G, 3)
    np.testing.assert_array_equal(graphs.hop_distances(ei, 20, 3), [ref[v] for v in range(20)])
    two = np.array([[0, 1], [1, 0]])
    np.testing.assert_array_equal(graphs.hop_distances(two, 3, 0), [0, 1, -1])


@pytest.mark.parametrize("depth", [1, 2, 4, 7])
def test_receptive_field_is_the_hop_ball(depth):
    rng = np.random.default_rng(depth)
    A = random_adjacency(rng, n=16, p=0.15, isolated=False)
    ei = graphs.edge_index_from_adjacency(A)
    params = graphs.init_gcn([3] * (depth + 1), rng)
    x = rng.standard_normal((16, 3))

    def forward(z):
        return graphs.deep_gcn_forward(z, graphs.normalized_adjacency(A), params)[-1]

    hops = graphs.hop_distances(ei, 16, 5)
    np.testing.assert_array_equal(graphs.influenced_nodes(forward, x, 5), (hops >= 0) & (hops <= depth))


# ------------------------------------------------------------------ training twins
@pytest.mark.parametrize("activation,residual", [("relu", False), ("tanh", True)])
def test_gcn_model_backward_matches_autograd(activation, residual):
    rng = np.random.default_rng(4)
    A = random_adjacency(rng, n=9)
    a_hat, x = graphs.normalized_adjacency(A), rng.standard_normal((9, 4))
    params = graphs.init_gcn([4, 5, 5, 3], rng)
    logits, caches = graphs.gcn_model_forward(x, a_hat, params, activation, residual)
    dlogits = rng.standard_normal(logits.shape)
    grads = graphs.gcn_model_backward(dlogits, caches, activation)
    tp = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) for w, b in params]
    h, at = torch.tensor(x), torch.tensor(a_hat)
    act = torch.relu if activation == "relu" else torch.tanh
    for k, (w, b) in enumerate(tp):
        z = at @ h @ w + b
        if k == len(tp) - 1:
            h = z
        else:
            h = h + act(z) if residual and z.shape == h.shape else act(z)
    np.testing.assert_allclose(logits, h.detach().numpy(), rtol=1e-12)
    h.backward(torch.tensor(dlogits))
    for (dw, db), (w, b) in zip(grads, tp):
        np.testing.assert_allclose(dw, w.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(db, b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_numpy_training_equals_torch_adam_step_for_step():
    rng = np.random.default_rng(0)
    A = random_adjacency(rng, n=12, isolated=False)
    ei, x = graphs.edge_index_from_adjacency(A), rng.standard_normal((12, 5))
    y = rng.integers(0, 3, size=12)
    train = np.array([0, 3, 7])
    params = graphs.init_gcn([5, 8, 3], rng)
    ours = graphs.train_gcn(x, graphs.normalized_adjacency(A), y, train, params, steps=40, lr=0.02, weight_decay=1e-3)
    model = gnn.NodeGCN(x, ei, params)
    opt = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=1e-3)
    losses = []
    for _ in range(40):
        loss = torch.nn.functional.cross_entropy(model(torch.tensor(train)), torch.tensor(y[train]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(ours.losses, losses, rtol=1e-10)
    for (w, b), (wt, bt) in zip(ours.params, model.numpy_params()):
        np.testing.assert_allclose(w, wt, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(b, bt, rtol=1e-8, atol=1e-10)
    assert ours.losses[-1] < 0.2 * ours.losses[0]
    np.testing.assert_allclose(ours.embeddings, model.embeddings().detach().numpy(), rtol=1e-8, atol=1e-10)


def test_node_gcn_without_edges_is_an_mlp():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 3))
    params = graphs.init_gcn([3, 4, 2], rng)
    model = gnn.NodeGCN(x, np.zeros((2, 0), dtype=np.int64), params)
    (w1, b1), (w2, b2) = params
    ref = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    np.testing.assert_allclose(model(torch.arange(6)).detach().numpy(), ref, rtol=1e-12)
    with pytest.raises(ValueError, match="activation"):
        gnn.NodeGCN(x, np.zeros((2, 0), dtype=np.int64), params, activation="gelu")


# ------------------------------------------------------------------- DenseGNN
def _packed_graph(rng, n=7, N=10):
    A = random_adjacency(rng, n=n)
    pad = np.zeros((1, N, N))
    pad[0, :n, :n] = A
    return A, gnn.pack_graphs(pad, np.array([n]))


@pytest.mark.parametrize("aggregate", ["sum", "mean", "max"])
def test_dense_gnn_layer_equals_the_sage_layer(aggregate):
    rng = np.random.default_rng(2)
    A, x = _packed_graph(rng)
    torch.manual_seed(0)
    model = gnn.DenseGNN(aggregate, width=4, layers=1)
    h = model.node_embeddings(x)[0, :len(A)].detach().double().numpy()
    ws = model.lin_self[0].weight.detach().double().numpy().T
    wn = model.lin_neigh[0].weight.detach().double().numpy().T
    b = model.lin_self[0].bias.detach().double().numpy()
    ref, _ = graphs.sage_forward(np.ones((len(A), 1)), ws, wn, b, edge_index=graphs.edge_index_from_adjacency(A),
                                 aggregate=aggregate)
    np.testing.assert_allclose(h, np.maximum(ref, 0), rtol=1e-5, atol=1e-6)


def test_dense_gnn_gcn_layer_equals_the_gcn_layer():
    rng = np.random.default_rng(3)
    A, x = _packed_graph(rng)
    torch.manual_seed(0)
    model = gnn.DenseGNN("gcn", width=4, layers=1)
    h = model.node_embeddings(x)[0, :len(A)].detach().double().numpy()
    w = model.lin_neigh[0].weight.detach().double().numpy().T
    b = model.lin_self[0].bias.detach().double().numpy()
    ref, _ = graphs.gcn_dense_forward(np.ones((len(A), 1)), w, b, a_hat=graphs.normalized_adjacency(A))
    np.testing.assert_allclose(h, np.maximum(ref, 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("aggregate", gnn.DenseGNN.KINDS)
@pytest.mark.parametrize("readout", ["sum", "mean", "max"])
def test_dense_gnn_ignores_padding_and_node_order(aggregate, readout):
    rng = np.random.default_rng(4)
    A = random_adjacency(rng, n=6)
    perm = rng.permutation(6)
    batch = np.zeros((3, 9, 9))
    batch[0, :6, :6] = A
    batch[1, :6, :6] = A[np.ix_(perm, perm)]
    batch[2, :6, :6] = A
    x = gnn.pack_graphs(batch, np.array([6, 6, 6]))
    x9 = gnn.pack_graphs(np.pad(batch[:1], ((0, 0), (0, 3), (0, 3))), np.array([6]))  # more padding
    torch.manual_seed(1)
    model = gnn.DenseGNN(aggregate, width=5, layers=2, readout=readout)
    out = model(x).detach().numpy()
    np.testing.assert_allclose(out[1], out[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model(x9).detach().numpy()[0], out[0], rtol=1e-5, atol=1e-6)


def test_pack_graphs_and_bad_arguments():
    x = gnn.pack_graphs(np.zeros((2, 4, 4)), np.array([2, 4]))
    assert x.shape == (2, 4, 5) and x.dtype == torch.float32
    np.testing.assert_array_equal(x[:, :, 4].numpy(), [[1, 1, 0, 0], [1, 1, 1, 1]])
    with pytest.raises(ValueError, match="aggregate"):
        gnn.DenseGNN("median")
    with pytest.raises(ValueError, match="readout"):
        gnn.DenseGNN("sum", readout="median")
    with pytest.raises(ValueError, match="kind"):
        gnn.aggregate_torch(torch.zeros(2, 1), torch.zeros(2, dtype=torch.long), 1, "median")
