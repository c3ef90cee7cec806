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
