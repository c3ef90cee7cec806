"""Every loss of ``course_utils.scratch.losses`` against PyTorch's loss and autograd gradient (float64)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.scratch import losses


def _torch_value_and_grad(fn, pred, target):
    t = torch.tensor(pred, requires_grad=True)
    value = fn(t, torch.as_tensor(target))
    value.backward()
    return value.item(), t.grad.numpy()


def _real(rng):
    shape = tuple(int(v) for v in rng.integers(1, 6, size=2))
    return rng.normal(scale=3, size=shape), rng.normal(size=shape)


def _classes(rng):
    n, c = (int(v) for v in rng.integers(1, 7, size=2))
    return rng.normal(scale=3, size=(n, c + 1)), rng.integers(0, c + 1, n)


def _signs(rng):
    shape = tuple(int(v) for v in rng.integers(1, 6, size=2))
    scores = rng.normal(scale=2, size=shape)
    scores[np.abs(np.abs(scores) - 1) < 1e-3] = 0.5  # keep away from the kink at margin 1
    return scores, rng.choice([-1.0, 1.0], size=shape)


def _binary(rng):
    shape = tuple(int(v) for v in rng.integers(1, 6, size=2))
    return rng.normal(scale=5, size=shape), rng.integers(0, 2, shape).astype(np.float64)


#: name -> (our loss, torch twin, input generator)
LOSSES = {
    "mse_loss": (losses.mse_loss, F.mse_loss, _real),
    "softmax_cross_entropy": (losses.softmax_cross_entropy, F.cross_entropy, _classes),
    "sigmoid_bce": (losses.sigmoid_bce, F.binary_cross_entropy_with_logits, _binary),
    "label_smoothing_cross_entropy": (losses.label_smoothing_cross_entropy,
                                      lambda p, t: F.cross_entropy(p, t, label_smoothing=0.1), _classes),
    "l1_loss": (losses.l1_loss, F.l1_loss, _real),
    "huber_loss": (losses.huber_loss, F.huber_loss, _real),
    "hinge_loss": (losses.hinge_loss, lambda s, y: torch.clamp(1 - y * s, min=0).mean(), _signs),
    "multiclass_hinge_loss": (losses.multiclass_hinge_loss, F.multi_margin_loss, _classes),
}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("seed", range(4))
def test_loss_and_gradient_match_torch(name, seed):
    ours, twin, make = LOSSES[name]
    pred, target = make(np.random.default_rng(seed))
    loss, grad = ours(pred, target)
    t_loss, t_grad = _torch_value_and_grad(twin, pred, target)
    assert isinstance(loss, float)
    assert loss == pytest.approx(t_loss, rel=1e-12)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-10, atol=1e-14)


def test_every_loss_of_the_module_is_in_the_table():
    public = {n for n in dir(losses) if not n.startswith("_") and callable(getattr(losses, n))
              and getattr(getattr(losses, n), "__module__", "") == losses.__name__}
    assert public == set(LOSSES), f"losses without a torch comparison: {sorted(public - set(LOSSES))}"


def test_losses_from_logits_are_stable_at_1000():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ce, _ = losses.softmax_cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1]))
        bce, _ = losses.sigmoid_bce(np.array([1000.0, -1000.0]), np.array([0.0, 1.0]))
    assert ce == pytest.approx(2000.0) and bce == pytest.approx(1000.0)


def test_shape_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="differ"):
        losses.mse_loss(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="need shape"):
        losses.softmax_cross_entropy(np.ones((3, 2)), np.ones(2, dtype=int))
    with pytest.raises(ValueError, match="differ"):
        losses.sigmoid_bce(np.ones(3), np.ones((3, 1)))


@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5])
def test_huber_with_other_deltas_matches_torch(delta):
    pred, target = _real(np.random.default_rng(7))
    loss, grad = losses.huber_loss(pred, target, delta=delta)
    t_loss, t_grad = _torch_value_and_grad(lambda p, t: F.huber_loss(p, t, delta=delta), pred, target)
    assert loss == pytest.approx(t_loss, rel=1e-12)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-10, atol=1e-14)


def test_huber_is_l2_near_zero_and_l1_far_away():
    r = np.array([0.1, -0.4, 5.0, -8.0])
    _, g = losses.huber_loss(r, np.zeros(4), delta=1.0)
    np.testing.assert_allclose(g * 4, [0.1, -0.4, 1.0, -1.0])  # the pull of an outlier is capped at delta


def test_hinge_rejects_zero_one_labels_and_has_no_gradient_beyond_the_margin():
    with pytest.raises(ValueError, match="-1 or \\+1"):
        losses.hinge_loss(np.ones(3), np.array([0.0, 1.0, 1.0]))
    loss, g = losses.hinge_loss(np.array([2.0, -3.0]), np.array([1.0, -1.0]))
    assert loss == 0.0 and np.all(g == 0)
