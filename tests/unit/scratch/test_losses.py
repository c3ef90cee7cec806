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
