"""course_utils.chapters.ch16_gnn: the widget at its extremes, the figures, the exercise checks, the
references, and the negative controls of the notebook's headline asserts."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_checker

from course_utils import checks
from course_utils.chapters import ch16_gnn as ch
from course_utils.scratch import graphs
from course_utils.widgets import Choice, Slider, figure_texts, interactive_figure


# ------------------------------------------------------------------ widget
@pytest.mark.parametrize("propagation", list(ch.PROPAGATIONS))
@pytest.mark.parametrize("depth", [1, ch.SMOOTHING_DEPTH])
def test_widget_draws_every_propagation_at_both_extreme_depths(propagation, depth):
    fig = ch.draw_oversmoothing(depth=depth, propagation=propagation)
    texts = " ".join(figure_texts(fig))
    score = ch.smoothing_study(propagation).mean[depth - 1]
    assert f"{propagation}, {depth} layer" in texts and f"score {score:.2f}" in texts


def test_widget_bad_settings_say_what_to_change():
    assert "depth must be between 1 and 16" in " ".join(figure_texts(ch.draw_oversmoothing(depth=0)))
    assert "unknown propagation" in " ".join(figure_texts(ch.draw_oversmoothing(propagation="Laplacian")))


def test_widget_static_frames_fit_the_book():
    fig_def = interactive_figure(ch.draw_oversmoothing,
                                 depth=Slider(1, 16, 1, value=2, static=[1, 2, 3, 4, 6, 8, 12, 16]),
                                 propagation=Choice(list(ch.PROPAGATIONS)))
    n_frames = len(fig_def.controls["depth"].static_values()) * len(fig_def.controls["propagation"].static_values())
    assert n_frames <= 80
    assert fig_def.render(depth=16, propagation="no edges")[:4] == b"\x89PNG"


def test_smoothing_study_is_cached_and_shaped():
    a = ch.smoothing_study("GCN (symmetric)")
    assert ch.smoothing_study("GCN (symmetric)") is a
    assert a.scores.shape == (ch.SMOOTHING_SEEDS, ch.SMOOTHING_DEPTH) and len(a.embeddings) == ch.SMOOTHING_DEPTH
    np.testing.assert_allclose(a.mean, a.scores.mean(0))


# ------------------------------------------------------------------ figures and helpers
def test_figures_carry_their_labels():
    k = ch.karate()
    ax = ch.plot_graph(k.A, k.pos, y=k.y, highlight=ch.KARATE_LABELLED, title="karate")
    assert ax.get_title() == "karate" and len(ax.lines) == 78
    ax = ch.plot_spectra(ch.spectra(k.A))
    assert "D̃^-1/2 Ã D̃^-1/2 (GCN)" in [t.get_text() for t in ax.get_yticklabels()]
    ax = ch.plot_depth_training([2, 4], {"plain GCN": np.array([[0.9, 0.5]])})
    assert ax.get_xlabel() == "number of GCN layers"
    _, _, _, _, (A, sizes, y) = ch.cycles_vs_trees(8, 8, 0)
    axes = ch.plot_graph_examples(A, sizes, y, count=3)
    assert axes[1].get_title().startswith("one cycle")
    masks = ch.receptive_field_masks(ch.path_graph(6), 6, 3)
    assert "node 0" in ch.plot_receptive_field(masks).get_title()


def test_karate_and_small_graphs():
    k = ch.karate()
    assert k.A.shape == (34, 34) and k.edge_index.shape == (2, 156) and np.array_equal(k.x, np.eye(34))
    assert list(k.y[ch.KARATE_LABELLED]) == [0, 1] and len(k.unlabelled) == 32
    for ei, n, edges in [(ch.path_graph(5), 5, 4), (ch.cycle_graph(6), 6, 6), (ch.star_graph(3), 4, 3)]:
        A = graphs.adjacency_matrix(ei, n)
        assert np.array_equal(A, A.T) and A.sum() == 2 * edges


def test_spectra_measure_what_the_notebook_says():
    s = ch.spectra(ch.karate().A)
    assert s["A"].max() > 6 and s["I + D^-1/2 A D^-1/2"].max() == pytest.approx(2.0)
    assert s["D̃^-1/2 Ã D̃^-1/2 (GCN)"].max() == pytest.approx(1.0)
    np.testing.assert_allclose(s["D̃^-1/2 Ã D̃^-1/2 (GCN)"], s["D̃^-1 Ã (random walk)"], atol=1e-10)
    grow = ch.power_norms(ch.karate().A, np.ones(34), 5)
    assert grow[-1] / grow[0] > 6 ** 5


def test_receptive_field_masks_are_hop_balls_and_the_cycle_needs_half_its_length():
    masks = ch.receptive_field_masks(ch.path_graph(10), 10, 6)
    np.testing.assert_array_equal(masks, np.arange(10)[None, :] <= np.arange(1, 7)[:, None])
    assert ch.full_receptive_depth(ch.cycle_graph(12), 12) == 6
    assert ch.full_receptive_depth(ch.path_graph(7), 7) == 6
    with pytest.raises(ValueError, match="connected"):
        ch.full_receptive_depth(np.array([[0, 1], [1, 0]]), 3, max_depth=3)


def test_references_agree_with_the_from_scratch_gcn():
    rng = np.random.default_rng(0)
    A = ch.random_graph(rng, n=9)
    ei = graphs.edge_index_from_adjacency(A)
    args = (rng.standard_normal((9, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3), ei,
            rng.standard_normal((9, 3)))
    for diffs in (ch.torch_geometric_differences(*args), ch.torch_twin_differences(*args)):
        assert set(diffs) == {"output", "dx", "dW", "db"} and max(diffs.values()) < ch.AGREE_TOL


def test_torch_twin_training_equals_numpy_training():
    params = graphs.init_gcn([34, 16, 2], np.random.default_rng(3))
    k = ch.karate()
    ours = graphs.train_gcn(k.x, k.a_hat, k.y, ch.KARATE_LABELLED, params, steps=30)
    model, history = ch.train_torch_twin(params, steps=30, progress=False)
    np.testing.assert_allclose(history["train_loss"], ours.losses, rtol=1e-10)
    for (w, b), (wt, bt) in zip(ours.params, model.numpy_params()):
        assert np.abs(w - wt).max() < 1e-9 and np.abs(b - bt).max() < 1e-9


# ------------------------------------------------------------------ exercise checks
def _norm_no_loops(A):
    d = A.sum(1)
    s = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0)
    return s[:, None] * A * s[None, :]


def _gcn_mp_reference(X, edge_index, W):
    n = len(X)
    src, dst = edge_index
    src, dst = np.concatenate([src, np.arange(n)]), np.concatenate([dst, np.arange(n)])
    deg = np.bincount(dst, minlength=n)
    out = np.zeros((n, W.shape[1]))
    np.add.at(out, dst, (X[src] @ W) / np.sqrt(deg[src] * deg[dst])[:, None])
    return out


def _gcn_mp_no_norm(X, edge_index, W):
    out = X @ W
    np.add.at(out, edge_index[1], X[edge_index[0]] @ W)
    return out


def _gcn_mp_no_loops(X, edge_index, W):
    n = len(X)
    deg = np.bincount(edge_index[1], minlength=n).clip(min=1)
    out = np.zeros((n, W.shape[1]))
    c = 1 / np.sqrt(deg[edge_index[0]] * deg[edge_index[1]])
    np.add.at(out, edge_index[1], c[:, None] * (X[edge_index[0]] @ W))
    return out


def _debug_starting_code(X, A, W):  # the exercise cell as the student finds it
    deg = A.sum(axis=1)
    return (A / deg[None, :]) @ X @ W


def _gcn_layer_reference(X, A, W):
    At = A + np.eye(len(A))
    s = 1 / np.sqrt(At.sum(1))
    return (s[:, None] * At * s[None, :]) @ X @ W


def test_check_normalized_adjacency():
    assert_checker(ch.check_normalized_adjacency, lambda A: graphs.normalized_adjacency(A),
                   [_norm_no_loops, lambda A: graphs.normalized_adjacency(A, "rw"), lambda A: A + np.eye(len(A))])


def test_check_gcn_message_passing():
    assert_checker(ch.check_gcn_message_passing, _gcn_mp_reference, [_gcn_mp_no_norm, _gcn_mp_no_loops])


def test_check_gcn_layer_names_each_bug(lenient):
    assert_checker(ch.check_gcn_layer, _gcn_layer_reference, [_debug_starting_code])
    r = ch.check_gcn_layer(_debug_starting_code)
    assert not r and "forgets the self-loops" in r.message and "wrong side" in r.message
    r = ch.check_gcn_layer(lambda X, A, W: graphs.normalized_adjacency(A, "rw") @ X @ W)
    assert not r and "plain average" in r.message and "self-loops" not in r.message
    r = ch.check_gcn_layer(lambda X, A, W: _norm_no_loops(A) @ X @ W)
    assert not r and "forgets the self-loops" in r.message and "side" not in r.message
    r = ch.check_gcn_layer(lambda X, A, W: (_gcn_layer_reference(X, A, W)).T)
    assert not r and "shape" in r.message
    r = ch.check_gcn_layer(lambda X, A, W: 1 / 0)
    assert not r and "ZeroDivisionError" in r.message


def test_derive_and_predict_checks(lenient):
    assert ch.check_receptive_field(6)
    r = ch.check_receptive_field(12)
    assert not r and "6 hops away" in r.message
    assert not ch.check_receptive_field(...).attempted
    assert ch.check_smoothing_prediction(1.0)
    r = ch.check_smoothing_prediction(0.1)  # "random weights keep embeddings unrelated"
    assert not r and "approaches 1" in r.message
    assert not ch.check_smoothing_prediction(...).attempted


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_gcn_layer(_debug_starting_code)


# ------------------------------------------------- negative controls for the notebook's asserts
def test_node_classification_assert_fails_without_edges_and_for_a_constant_guess():
    gcn, _ = ch.karate_node_classification([0, 1])
    assert ch.node_classification_passes(gcn)
    mlp, _ = ch.karate_node_classification([0, 1], edges=False)  # same network, no edges
    assert not ch.node_classification_passes(mlp) and mlp.max() < ch.KARATE_ACC_MIN
    y = ch.karate().y
    constant = ch.node_accuracy(np.tile([1.0, 0.0], (34, 1)), y)  # "everyone joins Mr. Hi"
    assert not ch.node_classification_passes([constant])


def test_mlp_rows_of_unlabelled_nodes_never_learn():
    """Why the MLP control fails: with one-hot inputs, an unlabelled node's first-layer row gets no gradient."""
    k = ch.karate()
    params = graphs.init_gcn([34, 16, 2], np.random.default_rng(0))
    logits, caches = graphs.gcn_model_forward(k.x, np.eye(34), params)
    from course_utils.scratch.losses import softmax_cross_entropy
    _, d = softmax_cross_entropy(logits[ch.KARATE_LABELLED], k.y[ch.KARATE_LABELLED])
    dlogits = np.zeros_like(logits)
    dlogits[ch.KARATE_LABELLED] = d
    (dw1, _), _ = graphs.gcn_model_backward(dlogits, caches)
    assert np.all(dw1[k.unlabelled] == 0) and np.any(dw1[ch.KARATE_LABELLED] != 0)


def test_smoothing_assert_fails_without_edges_and_with_residual_connections():
    assert ch.smoothing_grows(ch.smoothing_study("GCN (symmetric)").mean)
    assert not ch.smoothing_grows(ch.smoothing_study("no edges").mean)
    assert not ch.smoothing_grows(ch.smoothing_study("GCN + residual").mean)
    assert not ch.smoothing_grows(np.linspace(0.9, 0.1, 16))  # a score that falls


def test_graph_classification_assert_fails_for_models_that_cannot_use_edges():
    accs = ch.graph_classification_study(["sum", "none", "mean"], [0])
    assert ch.gnn_beats_control(accs["sum"], accs["none"])
    assert not ch.gnn_beats_control(accs["none"], accs["none"])  # the control as the "GNN"
    assert not ch.gnn_beats_control(accs["mean"], accs["none"])  # mean aggregation on constant features
    assert accs["mean"][0] < 0.6 and accs["none"][0] < 0.6


def test_cycles_vs_trees_is_cached_and_split():
    x_tr, y_tr, x_te, y_te, (A, sizes, y) = ch.cycles_vs_trees(10, 6, 1)
    assert ch.cycles_vs_trees(10, 6, 1)[0] is x_tr
    assert x_tr.shape == (10, 14, 15) and x_te.shape == (6, 14, 15) and np.array_equal(np.r_[y_tr, y_te], y)
    assert torch.equal(x_tr[:, :, 14].sum(1), torch.as_tensor(sizes[:10], dtype=torch.float32))


def test_the_agreement_tolerance_rejects_a_plausible_wrong_gcn():
    """The notebook asserts agreement to AGREE_TOL: a GCN normalised like a random walk is far outside it."""
    from torch_geometric.nn import GCNConv

    rng = np.random.default_rng(1)
    A = ch.random_graph(rng, n=9, isolated=False)
    A[0, 1:] = A[1:, 0] = 1.0  # a hub: degrees differ, so the two normalisations differ
    x, w, b = rng.standard_normal((9, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    wrong = graphs.normalized_adjacency(A, "rw") @ x @ w + b
    conv = GCNConv(4, 3).double()
    ref = torch.func.functional_call(conv, {"lin.weight": torch.tensor(w.T), "bias": torch.tensor(b)},
                                     (torch.tensor(x), torch.as_tensor(graphs.edge_index_from_adjacency(A))))
    assert np.abs(ref.detach().numpy() - wrong).max() > 1e3 * ch.AGREE_TOL


def test_the_receptive_field_assert_fails_for_two_hops_per_layer():
    path = ch.path_graph(10)
    hops = graphs.hop_distances(path, 10, 0)
    A2 = np.linalg.matrix_power(graphs.normalized_adjacency(graphs.adjacency_matrix(path, 10)), 2)
    params = graphs.init_gcn([3] * 4, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((10, 3))
    mask = graphs.influenced_nodes(lambda z: graphs.deep_gcn_forward(z, A2, params)[-1], x, 0)
    assert not np.array_equal(mask, hops <= 3) and np.array_equal(mask, hops <= 6)


def test_the_training_twin_gap_assert_fails_for_a_different_optimiser_setting():
    params = graphs.init_gcn([34, 16, 2], np.random.default_rng(3))
    k = ch.karate()
    ours = graphs.train_gcn(k.x, k.a_hat, k.y, ch.KARATE_LABELLED, params, steps=30)
    model, _ = ch.train_torch_twin(params, steps=30, weight_decay=0.0, progress=False)
    gap = max(np.abs(a - t).max() for (a, _), (t, _) in zip(ours.params, model.numpy_params()))
    assert gap > 1e-9
