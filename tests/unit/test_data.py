"""course_utils.data: shapes, labels, seeding, margins, real data sets, splits."""
import numpy as np
import pytest

from course_utils import data


@pytest.mark.parametrize("name", sorted(data.TOY_SETS))
def test_toy_sets_shapes_and_labels(name):
    X, y = data.make_toy(name, 101, np.random.default_rng(0))
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    assert y.min() == 0 and len(np.unique(y)) >= 2
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("name", sorted(data.TOY_SETS))
def test_toy_sets_are_seeded(name):
    a = data.make_toy(name, 50, np.random.default_rng(3))
    b = data.make_toy(name, 50, np.random.default_rng(3))
    c = data.make_toy(name, 50, np.random.default_rng(4))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("margin", [0.0, 0.05, 0.3])
def test_separable_has_the_promised_margin(margin):
    rng = np.random.default_rng(1)
    X, y, w, b = data.make_separable(300, rng, margin=margin, return_separator=True)
    assert np.isclose(np.linalg.norm(w), 1.0)
    dist = X @ w + b
    assert np.all(np.abs(dist) >= margin - 1e-12)
    assert np.all((dist > 0) == (y == 1))
    assert np.all(np.linalg.norm(X, axis=1) <= 1.0 + 1e-12)


def test_xor_is_xor_of_signs():
    X, y = data.make_xor(200, np.random.default_rng(0), noise=0.1)
    np.testing.assert_array_equal(y, ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(int))


def test_bad_arguments_say_what_is_wrong():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n must be"):
        data.make_moons(0, rng)
    with pytest.raises(ValueError, match="noise"):
        data.make_moons(10, rng, noise=-1)
    with pytest.raises(ValueError, match="margin"):
        data.make_separable(10, rng, margin=2.0)
    with pytest.raises(ValueError, match="almost no room"):
        data.make_separable(10, rng, margin=0.95)
    with pytest.raises(ValueError, match="unknown toy"):
        data.make_toy("bananas", 10, rng)


def test_digits():
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0 and X.max() == 1
    assert set(np.unique(y)) == set(range(10))


def test_mnist_sample():
    X, y = data.load_mnist()
    assert X.shape == (5000, 784)
    assert 0 <= X.min() and X.max() <= 1
    assert np.bincount(y).tolist() == [500] * 10


def test_photo():
    g = data.load_photo()
    assert g.ndim == 2 and 200 <= g.shape[0] <= 300 and 0 <= g.min() and g.max() <= 1
    rgb = data.load_photo(gray=False, size=None)
    assert rgb.shape == (600, 512, 3)


def test_text():
    t = data.load_text()
    assert len(t) > 100_000 and "function" in t
    assert len(data.load_text(max_chars=50)) == 50
    with pytest.raises(ValueError, match="unknown corpus"):
        data.load_text("shakespeare")


def test_split_partitions_and_stratifies():
    X, y = data.load_digits()
    s = data.split(X, y, np.random.default_rng(0), val=0.2, test=0.2)
    n_tr, n_va, n_te = s.sizes()
    assert n_tr + n_va + n_te == len(X)
    assert abs(n_va - 0.2 * len(X)) <= 10 and abs(n_te - 0.2 * len(X)) <= 10
    for part in (s.y_train, s.y_val, s.y_test):
        frac = np.bincount(part, minlength=10) / len(part)
        assert np.allclose(frac, 0.1, atol=0.02)
    s2 = data.split(X, y, np.random.default_rng(0))
    np.testing.assert_array_equal(s.X_test, s2.X_test)


def test_split_exact_partition_of_indices():
    X = np.arange(100)[:, None].astype(float)
    y = np.arange(100) % 3
    s = data.split(X, y, np.random.default_rng(1), val=0.1, test=0.3)
    allx = np.concatenate([s.X_train, s.X_val, s.X_test]).ravel()
    assert sorted(allx.tolist()) == list(range(100))
    with pytest.raises(ValueError, match="val"):
        data.split(X, y, np.random.default_rng(0), val=0.6, test=0.5)


def test_standardize_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    Xtr, Xte = rng.normal(3, 2, size=(50, 3)), rng.normal(3, 2, size=(10, 3))
    Xtr[:, 2] = 7.0  # a constant column is only centred
    a, b = data.standardize(Xtr, Xte)
    np.testing.assert_allclose(a[:, :2].mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(a[:, :2].std(0), 1, rtol=1e-12)
    np.testing.assert_allclose(a[:, 2], 0)
    mu, sd = Xtr.mean(0), Xtr.std(0)
    np.testing.assert_allclose(b[:, :2], (Xte[:, :2] - mu[:2]) / sd[:2])


# ------------------------------------------------------------------ graphs (chapter 16)
def test_karate_club():
    import networkx as nx

    A, y = data.load_karate_club()
    assert A.shape == (34, 34) and A.dtype == np.float64 and y.dtype == np.int64
    assert np.array_equal(A, A.T) and np.all(np.diag(A) == 0) and A.sum() == 2 * 78
    assert set(np.unique(A)) == {0.0, 1.0}
    assert np.bincount(y).tolist() == [17, 17] and y[0] == 0 and y[33] == 1
    G = nx.karate_club_graph()
    assert all(A[i, j] == 1 for i, j in G.edges)
    W, y2 = data.load_karate_club(weighted=True)
    assert np.array_equal(W > 0, A > 0) and np.array_equal(y2, y) and W.max() == 7 and W[0, 1] == 4


def test_cycles_vs_trees_are_what_they_claim():
    import networkx as nx

    A, sizes, y = data.make_cycles_vs_trees(60, np.random.default_rng(0), min_nodes=4, max_nodes=9)
    assert A.shape == (60, 9, 9) and sizes.dtype == np.int64 and y.dtype == np.int64
    assert y.tolist() == [0, 1] * 30 and sizes.min() >= 4 and sizes.max() <= 9
    for g in range(60):
        n = sizes[g]
        assert np.all(A[g, n:, :] == 0) and np.all(A[g, :, n:] == 0)  # padding stays empty
        G = nx.from_numpy_array(A[g, :n, :n])
        assert nx.is_connected(G) and np.array_equal(A[g], A[g].T)
        assert G.number_of_edges() == n - 1 + y[g] and len(nx.cycle_basis(G)) == y[g]


def test_cycles_vs_trees_is_seeded_and_shuffled_and_checks_arguments():
    a = data.make_cycles_vs_trees(30, np.random.default_rng(5))
    b = data.make_cycles_vs_trees(30, np.random.default_rng(5))
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    A, sizes, _ = data.make_cycles_vs_trees(200, np.random.default_rng(6), min_nodes=8, max_nodes=8)
    # a random recursive tree would make node 0 special; after shuffling no node is
    degree0 = A[:, 0, :].sum(1)
    assert 1.5 < degree0.mean() < 2.5
    with pytest.raises(ValueError, match="cycle needs 3 nodes"):
        data.make_cycles_vs_trees(10, np.random.default_rng(0), min_nodes=2)
    with pytest.raises(ValueError, match="n must be"):
        data.make_cycles_vs_trees(0, np.random.default_rng(0))


def test_ring_of_gaussians_modes_centres_and_spread():
    centers = data.ring_centers(8, 2.0)
    assert centers.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 2.0)
    np.testing.assert_allclose(centers[0], [2.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(centers[2], [0.0, 2.0], atol=1e-15)     # counter-clockwise, 45° apart
    X, y = data.make_ring_of_gaussians(40_000, np.random.default_rng(0))
    assert X.shape == (40_000, 2) and y.dtype == np.int64 and set(np.unique(y)) == set(range(8))
    np.testing.assert_allclose(np.bincount(y) / len(y), 1 / 8, atol=0.01)  # equal weights
    offsets = X - centers[y]
    np.testing.assert_allclose(offsets.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(offsets.std(axis=0), 0.02, rtol=0.02)
    X3, y3 = data.make_ring_of_gaussians(300, np.random.default_rng(1), modes=3, radius=1.0, std=0.0)
    np.testing.assert_allclose(X3, data.ring_centers(3, 1.0)[y3])       # std 0: exactly the centres
    with pytest.raises(ValueError, match="modes"):
        data.ring_centers(0)
    with pytest.raises(ValueError, match="noise"):
        data.make_ring_of_gaussians(10, np.random.default_rng(0), std=-0.1)
