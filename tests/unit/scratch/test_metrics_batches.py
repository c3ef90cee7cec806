"""Accuracy and top-k (NumPy and torch inputs), and the shared minibatch loop."""
import numpy as np
import pytest
import torch

from course_utils.scratch import metrics
from course_utils.scratch.batches import minibatches


def test_accuracy_reads_labels_scores_and_logits():
    y = np.array([0, 2, 1, 1])
    assert metrics.accuracy(np.array([0, 2, 0, 1]), y) == 0.75
    scores = np.eye(3)[[0, 2, 1, 0]]
    assert metrics.accuracy(scores, y) == 0.75
    assert metrics.accuracy(torch.tensor(scores), torch.tensor(y)) == 0.75
    logits = np.array([-2.0, 3.0, 0.5, -0.1])
    assert metrics.accuracy(logits, np.array([0, 1, 1, 1])) == 0.75
    assert metrics.accuracy(logits.reshape(-1, 1), np.array([0, 1, 1, 1])) == 0.75
    assert metrics.accuracy(np.array([0.2, 0.9]), np.array([0, 1]), threshold=0.5) == 1.0


def test_accuracy_errors_are_clear():
    with pytest.raises(ValueError, match="3 predictions for 2 labels"):
        metrics.accuracy(np.array([0, 1, 1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="empty"):
        metrics.accuracy(np.array([], dtype=int), np.array([], dtype=int))


@pytest.mark.parametrize("k", [1, 2, 5])
def test_top_k_matches_torch_topk(k):
    rng = np.random.default_rng(k)
    scores, y = rng.normal(size=(200, 7)), rng.integers(0, 7, 200)
    top = torch.topk(torch.tensor(scores), k, dim=1).indices.numpy()
    expected = np.mean(np.any(top == y[:, None], axis=1))
    assert metrics.top_k_accuracy(scores, y, k) == pytest.approx(expected)
    if k == 1:
        assert metrics.top_k_accuracy(scores, y, 1) == metrics.accuracy(scores, y)
    with pytest.raises(ValueError, match="k must be"):
        metrics.top_k_accuracy(scores, y, 8)


@pytest.mark.parametrize("n, batch", [(10, 3), (9, 3), (1, 5), (7, 7)])
def test_minibatches_cover_each_example_once(n, batch):
    rng = np.random.default_rng(0)
    batches = list(minibatches(n, batch, rng))
    assert sorted(np.concatenate(batches).tolist()) == list(range(n))
    assert all(len(b) == batch for b in batches[:-1]) and 1 <= len(batches[-1]) <= batch
    dropped = list(minibatches(n, batch, rng, drop_last=True))
    assert all(len(b) == batch for b in dropped) or n < batch


def test_minibatches_shuffle_with_rng_and_not_without():
    assert np.concatenate(list(minibatches(6, 4))).tolist() == list(range(6))
    a = np.concatenate(list(minibatches(50, 8, np.random.default_rng(1))))
    assert a.tolist() != list(range(50))
    with pytest.raises(ValueError, match="batch_size"):
        next(minibatches(5, 0))
