"""course_utils.scratch.similarity: losses and Gram matrices against torch, mining against loops.

The triplet loss is checked against ``torch.nn.functional.triplet_margin_loss`` (the
functional form of ``torch.nn.TripletMarginLoss``) and, squared, against the direct
formula in torch; the contrastive loss and the Gram matrix against their direct formulas
in torch (autograd for the backward pass). Batch-hard and batch-all mining are checked
against their definitions written as loops.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from layer_harness import LayerCase, run_layer_case

from course_utils.scratch import similarity as sim


def _triplets(rng, margin_choices=(0.2, 1.0, 2.0)):
    m, d = (int(v) for v in rng.integers(2, 7, size=2))
    arrays = {k: rng.normal(size=(m, d)) for k in ("a", "p", "n")}
    return arrays, {"margin": float(rng.choice(margin_choices))}


def _squared_triplets(rng):
    arrays, opts = _triplets(rng, (0.5, 2.0, 5.0))
    return arrays, {**opts, "squared": True}


def _torch_squared_triplet(a, p, n, margin, squared):
    d_p = ((a - p + sim.TORCH_EPS) ** 2).sum(1)
    d_n = ((a - n + sim.TORCH_EPS) ** 2).sum(1)
    return torch.relu(d_p - d_n + margin).mean()


def _pairs(rng):
    m, d = (int(v) for v in rng.integers(2, 8, size=2))
    same = (np.arange(m) % 2).astype(float)
    rng.shuffle(same)
    return {"x1": rng.normal(size=(m, d)), "x2": rng.normal(size=(m, d))}, {"same": same,
                                                                           "margin": float(rng.choice([1.0, 3.0]))}


def _torch_contrastive(x1, x2, same, margin):
    s = torch.as_tensor(same)
    d = torch.sqrt(((x1 - x2) ** 2).sum(1) + 1e-12)
    return (s * d ** 2 + (1 - s) * torch.relu(margin - d) ** 2).mean()


def _features(rng):
    return {"features": rng.normal(size=(*(int(v) for v in rng.integers(1, 4, size=2)),
                                         *(int(v) for v in rng.integers(1, 6, size=2))))}


LAYERS = [
    LayerCase("triplet_loss", sim.triplet_loss_forward, sim.triplet_loss_backward,
              lambda a, p, n, margin: F.triplet_margin_loss(a, p, n, margin=margin), _triplets),
    LayerCase("triplet_loss_squared", sim.triplet_loss_forward, sim.triplet_loss_backward,
              _torch_squared_triplet, _squared_triplets),
    LayerCase("contrastive_loss", sim.contrastive_loss_forward, sim.contrastive_loss_backward,
              _torch_contrastive, _pairs),
    LayerCase("gram", sim.gram_forward, sim.gram_backward, sim.gram_torch, _features),
]


@pytest.mark.parametrize("case", LAYERS, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(6))
def test_layer_matches_torch_and_finite_differences(case, seed):
    run_layer_case(case, np.random.default_rng(seed))


def test_every_layer_of_the_module_is_in_the_table():
    forwards = {name[: -len("_forward")] for name in dir(sim) if name.endswith("_forward")}
    tested = {c.forward.__name__[: -len("_forward")] for c in LAYERS}
    assert forwards == tested


def test_triplet_loss_equals_the_torch_module_and_is_zero_beyond_the_margin():
    rng = np.random.default_rng(0)
    a, p, n = (rng.normal(size=(5, 3)) for _ in range(3))
    module = torch.nn.TripletMarginLoss(margin=0.7)
    ours, _ = sim.triplet_loss_forward(a, p, n, margin=0.7)
    assert ours == pytest.approx(module(*(torch.tensor(v) for v in (a, p, n))).item(), rel=1e-12)
    far = a + 10.0                                          # every negative 10·√3 away, positives at ~0
    loss, cache = sim.triplet_loss_forward(a, a.copy(), far, margin=1.0)
    assert loss == 0.0 and not cache.active.any()
    assert all(np.all(g == 0) for g in sim.triplet_loss_backward(1.0, cache))


def test_gram_matrix_by_hand():
    f = np.array([[1.0, 2.0], [0.0, 1.0]]).reshape(1, 2, 1, 2)   # two channels, two positions
    g, _ = sim.gram_forward(f)
    np.testing.assert_allclose(g[0], [[2.5, 1.0], [1.0, 0.5]])
    shuffled = f[..., ::-1]                                        # moving features around keeps the Gram matrix
    np.testing.assert_allclose(sim.gram_forward(shuffled.copy())[0], g)


@pytest.mark.parametrize("seed", range(5))
def test_batch_hard_and_batch_all_equal_their_loops(seed):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), 3)
    rng.shuffle(labels)
    emb = rng.normal(size=(9, 4))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    e, lab = torch.tensor(emb), torch.tensor(labels)
    for margin in (0.1, 0.5, 2.0):
        assert sim.batch_hard_triplet_loss(e, lab, margin).item() == pytest.approx(
            sim.batch_hard_loops(emb, labels, margin), rel=1e-9, abs=1e-12)
        assert sim.batch_all_triplet_loss(e, lab, margin).item() == pytest.approx(
            sim.batch_all_loops(emb, labels, margin), rel=1e-9, abs=1e-12)


def test_hardest_triplets_pick_the_farthest_positive_and_nearest_negative():
    emb = np.array([[0.0], [1.0], [3.0], [1.5], [10.0]])
    labels = np.array([0, 0, 0, 1, 1])
    pos, neg = sim.hardest_triplets(sim.pairwise_distances(emb), labels)
    np.testing.assert_array_equal(pos, [2, 2, 0, 4, 3])
    np.testing.assert_array_equal(neg, [3, 3, 3, 1, 2])
    with pytest.raises(ValueError, match="at least two"):
        sim.hardest_triplets(sim.pairwise_distances(emb[:4]), np.array([0, 0, 0, 1]))


def test_pairwise_distances_numpy_and_torch_have_finite_gradients():
    rng = np.random.default_rng(1)
    e = rng.normal(size=(6, 3))
    expected = np.linalg.norm(e[:, None] - e[None], axis=2)
    np.testing.assert_allclose(sim.pairwise_distances(e), expected, atol=1e-6)
    t = torch.tensor(e, requires_grad=True)
    sim.pairwise_distances(t).sum().backward()
    assert torch.isfinite(t.grad).all()


def test_verification_threshold_and_pairs():
    d = np.array([0.1, 0.2, 0.3, 0.9, 1.0, 0.25])
    same = np.array([1, 1, 1, 0, 0, 0])
    t = sim.best_threshold(d, same)
    assert 0.3 < t < 0.9 or 0.2 < t < 0.25
    assert sim.verification_accuracy(d, same, t) == pytest.approx(5 / 6)
    labels = np.repeat(np.arange(4), 10)
    i, j, s = sim.make_pairs(labels, 100, np.random.default_rng(0))
    assert len(i) == 100 and s.sum() == 50
    np.testing.assert_array_equal(labels[i] == labels[j], s == 1)
    assert np.all(i[s == 1] != j[s == 1])


def test_networks_shapes_and_unit_length():
    net = sim.EmbeddingNet(channels=(4, 8), hidden=16, dim=5, side=14)
    out = net(torch.zeros(3, 1, 14, 14) + torch.arange(3.0)[:, None, None, None])
    assert out.shape == (3, 5)
    np.testing.assert_allclose(out.norm(dim=1).detach().numpy(), 1.0, rtol=1e-6)
    free = sim.EmbeddingNet(channels=(4, 8), hidden=16, dim=5, side=14, normalize=False)
    assert not np.allclose(free(torch.rand(3, 1, 14, 14)).norm(dim=1).detach().numpy(), 1.0)
    tex = sim.RandomTextureNet(kernels=(3, 5), filters=4, seed=1)
    feats = tex(torch.rand(1, 3, 9, 9))
    assert [f.shape for f in feats] == [(1, 4, 9, 9)] * 2 and all((f >= 0).all() for f in feats)
    again = sim.RandomTextureNet(kernels=(3, 5), filters=4, seed=1)
    assert torch.equal(tex.convs[1].weight, again.convs[1].weight)
    assert not any(p.requires_grad for p in tex.parameters())


def test_style_transfer_lowers_the_style_loss_on_a_tiny_problem():
    rng = np.random.default_rng(0)
    content, style = rng.uniform(size=(3, 12, 12)), rng.uniform(size=(3, 12, 12)) ** 3
    net = sim.RandomTextureNet(kernels=(3,), filters=8, seed=0)
    r = sim.style_transfer(content, style, net, steps=3, max_iter=5, show_progress=False)
    assert r.evaluations >= 3 and r.style_losses[-1] < 0.5 * r.style_losses[0]
    assert r.image.shape == (3, 12, 12) and 0 <= r.image.min() and r.image.max() <= 1
