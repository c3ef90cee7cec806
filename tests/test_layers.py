"""course_utils.layers against torch.autograd (float64), and against finite differences."""
import numpy as np
import pytest
import torch

from course_utils import gradcheck, layers


def torch_grads(fn, arrays, dout):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("seed", range(5))
def test_affine_matches_torch(seed):
    rng = np.random.default_rng(seed)
    n, d, m = rng.integers(1, 7, size=3)
    x, w, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
    out, cache = layers.affine_forward(x, w, b)
    dout = rng.normal(size=out.shape)
    t_out, t_grads = torch_grads(lambda x, w, b: x @ w + b, [x, w, b], dout)
    np.testing.assert_allclose(out, t_out, rtol=1e-12, atol=1e-12)
    for mine, theirs in zip(layers.affine_backward(dout, cache), t_grads):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, torch_fn", [
    ("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh)])
@pytest.mark.parametrize("seed", range(3))
def test_activations_match_torch(name, torch_fn, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=3, size=(4, 5))
    out, cache = getattr(layers, f"{name}_forward")(x)
    dout = rng.normal(size=x.shape)
    t_out, (t_dx,) = torch_grads(torch_fn, [x], dout)
    np.testing.assert_allclose(out, t_out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(getattr(layers, f"{name}_backward")(dout, cache), t_dx, rtol=1e-12, atol=1e-14)


def test_sigmoid_is_stable_for_huge_inputs():
    with np.errstate(over="raise"):
        s = layers.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(s, [0.0, 0.5, 1.0])


def test_mse_matches_torch():
    rng = np.random.default_rng(0)
    p, t = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    loss, grad = layers.mse_loss(p, t)
    tp = torch.tensor(p, requires_grad=True)
    tl = torch.nn.functional.mse_loss(tp, torch.tensor(t))
    tl.backward()
    assert np.isclose(loss, tl.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, tp.grad.numpy(), rtol=1e-12)


def test_gradcheck_agrees_with_affine_backward():
    rng = np.random.default_rng(0)
    errs = gradcheck.check_layer(layers.affine_forward, layers.affine_backward,
                                 {"x": rng.normal(size=(3, 4)), "w": rng.normal(size=(4, 2)), "b": rng.normal(size=2)},
                                 rng)
    assert max(errs.values()) < 1e-8, errs


def test_gradcheck_catches_a_wrong_backward():
    rng = np.random.default_rng(0)

    def bad_backward(dout, cache):
        dx, dw, db = layers.affine_backward(dout, cache)
        return dx, dw, db * 2

    errs = gradcheck.check_layer(layers.affine_forward, bad_backward,
                                 {"x": rng.normal(size=(3, 4)), "w": rng.normal(size=(4, 2)), "b": rng.normal(size=2)},
                                 rng)
    assert errs["x"] < 1e-8 and errs["b"] > 0.1


def test_numerical_gradient_of_a_closed_form():
    x = np.array([1.0, -2.0, 0.5])
    g = gradcheck.numerical_gradient(lambda v: float(np.sum(v ** 3)), x.copy())
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-8)
    with pytest.raises(TypeError, match="float"):
        gradcheck.numerical_gradient(lambda v: 0.0, np.arange(3))


def test_layer_shape_errors_are_clear():
    with pytest.raises(ValueError, match="do not fit"):
        layers.affine_forward(np.ones((2, 3)), np.ones((4, 2)), np.ones(2))
    with pytest.raises(ValueError, match="b has shape"):
        layers.affine_forward(np.ones((2, 3)), np.ones((3, 2)), np.ones(3))


@pytest.mark.parametrize("seed", range(3))
def test_softmax_family_matches_torch(seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=5, size=(4, 6))
    tz = torch.tensor(z)
    np.testing.assert_allclose(layers.logsumexp(z, axis=1), torch.logsumexp(tz, 1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(layers.log_softmax(z, axis=0), torch.log_softmax(tz, 0).numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layers.softmax(z), torch.softmax(tz, -1).numpy(), rtol=1e-12, atol=1e-15)
    assert layers.logsumexp(z, axis=1, keepdims=True).shape == (4, 1)


def test_softmax_is_stable_for_huge_logits():
    z = np.array([[1000.0, -1000.0, 999.0]])
    with np.errstate(over="raise", invalid="raise"):
        p = layers.softmax(z)
        lse = layers.logsumexp(z)
    assert np.all(np.isfinite(p)) and np.isclose(p.sum(), 1.0)
    np.testing.assert_allclose(lse, 1000 + np.log1p(np.exp(-1.0)), rtol=1e-14)


@pytest.mark.parametrize("seed", range(3))
def test_softmax_cross_entropy_matches_torch(seed):
    rng = np.random.default_rng(seed)
    logits, y = rng.normal(scale=3, size=(5, 4)), rng.integers(0, 4, 5)
    loss, grad = layers.softmax_cross_entropy(logits, y)
    t = torch.tensor(logits, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(t, torch.tensor(y))
    tl.backward()
    assert np.isclose(loss, tl.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="need shape"):
        layers.softmax_cross_entropy(logits, y[:3])
