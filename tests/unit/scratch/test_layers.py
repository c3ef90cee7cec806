"""Every layer of ``course_utils.scratch`` against finite differences and its PyTorch twin.

One row of ``LAYERS`` per layer: adding a layer (convolution, pooling, a norm, a
recurrent cell, attention) to the course means adding one ``LayerCase`` here,
and it is then checked, in float64 on random inputs of random sizes,

- forward: the output equals the torch twin's (``rtol=1e-10``);
- backward: every gradient the layer returns equals torch autograd's;
- backward: every gradient equals central finite differences (``gradcheck.check_layer``).

A layer module of a later chapter may keep its own table and call
:func:`run_layer_case` on it; the harness lives in ``tests/layer_harness.py``.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from layer_harness import LayerCase, assert_forward_backward_match, run_layer_case

from course_utils.scratch import gradcheck, layers


def _affine(rng):
    n, d, m = (int(v) for v in rng.integers(1, 7, size=3))
    return {"x": rng.normal(size=(n, d)), "w": rng.normal(size=(d, m)), "b": rng.normal(size=m)}


def _x(rng, scale=3.0):
    n, d = (int(v) for v in rng.integers(1, 7, size=2))
    x = rng.normal(scale=scale, size=(n, d))
    x[np.abs(x) < 1e-3] = 0.5  # keep finite differences away from the kinks at 0
    return {"x": x}


def _prelu(rng, shared):
    x = _x(rng)["x"]
    return {"x": x, "a": rng.normal(size=1 if shared else x.shape[1])}


def _maxout(rng):
    n, d, m, pieces = (int(v) for v in rng.integers(1, 5, size=4))
    arrays = {"x": rng.normal(size=(n, d)), "w": rng.normal(size=(d, m * pieces)), "b": rng.normal(size=m * pieces)}
    return arrays, {"pieces": pieces}


def _maxout_torch(x, w, b, pieces):
    z = x @ w + b
    return z.reshape(len(x), -1, pieces).max(dim=2).values


LAYERS = [
    LayerCase("affine", layers.affine_forward, layers.affine_backward, lambda x, w, b: x @ w + b, _affine),
    LayerCase("relu", layers.relu_forward, layers.relu_backward, torch.relu, _x),
    LayerCase("sigmoid", layers.sigmoid_forward, layers.sigmoid_backward, torch.sigmoid, _x),
    LayerCase("tanh", layers.tanh_forward, layers.tanh_backward, torch.tanh, _x),
    LayerCase("leaky_relu", layers.leaky_relu_forward, layers.leaky_relu_backward,
              lambda x, slope: F.leaky_relu(x, slope), lambda rng: (_x(rng), {"slope": 0.1})),
    LayerCase("prelu_shared", layers.prelu_forward, layers.prelu_backward, F.prelu, lambda rng: _prelu(rng, True)),
    LayerCase("prelu_per_unit", layers.prelu_forward, layers.prelu_backward, F.prelu, lambda rng: _prelu(rng, False)),
    LayerCase("maxout", layers.maxout_forward, layers.maxout_backward, _maxout_torch, _maxout),
    LayerCase("softmax", layers.softmax_forward, layers.softmax_backward, lambda x: torch.softmax(x, dim=1), _x),
    LayerCase("identity", layers.identity_forward, layers.identity_backward, lambda x: x, _x),
]


@pytest.mark.parametrize("case", LAYERS, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(3))
def test_layer_matches_torch_and_finite_differences(case, seed):
    run_layer_case(case, np.random.default_rng(seed))


def test_every_layer_of_the_module_is_in_the_table():
    forwards = {name[: -len("_forward")] for name in dir(layers) if name.endswith("_forward")}
    tested = {c.forward.__name__[: -len("_forward")] for c in LAYERS}
    assert forwards == tested, f"layers without a row in LAYERS: {sorted(forwards - tested)}"


def test_the_harness_catches_a_wrong_backward():
    def bad_backward(dout, cache):
        dx, dw, db = layers.affine_backward(dout, cache)
        return dx, dw, db * 2

    wrong = LayerCase("affine_bad", layers.affine_forward, bad_backward, lambda x, w, b: x @ w + b, _affine)
    with pytest.raises(AssertionError, match="b"):
        run_layer_case(wrong, np.random.default_rng(0))


def test_the_harness_catches_a_wrong_forward():
    wrong = LayerCase("tanh_as_sigmoid", layers.tanh_forward, layers.tanh_backward, torch.sigmoid, _x)
    with pytest.raises(AssertionError, match="forward"):
        assert_forward_backward_match(wrong, np.random.default_rng(0))


def test_maxout_contains_relu():
    # max(z, 0) is maxout with the pieces (w, b) and (0, 0)
    x = np.linspace(-2, 2, 9).reshape(-1, 1)
    out, _ = layers.maxout_forward(x, np.array([[1.0, 0.0]]), np.zeros(2), pieces=2)
    np.testing.assert_allclose(out[:, 0], np.maximum(x[:, 0], 0))


def test_sigmoid_is_stable_for_huge_inputs():
    with np.errstate(over="raise"):
        s = layers.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(s, [0.0, 0.5, 1.0])


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
def test_softmax_jacobian_matches_torch(seed):
    z = np.random.default_rng(seed).normal(size=5)
    J = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), torch.tensor(z)).numpy()
    np.testing.assert_allclose(layers.softmax_jacobian(z), J, rtol=1e-12, atol=1e-15)


def test_layer_shape_errors_are_clear():
    with pytest.raises(ValueError, match="do not fit"):
        layers.affine_forward(np.ones((2, 3)), np.ones((4, 2)), np.ones(2))
    with pytest.raises(ValueError, match="b has shape"):
        layers.affine_forward(np.ones((2, 3)), np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match="a must have shape"):
        layers.prelu_forward(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="groups of"):
        layers.maxout_forward(np.ones((2, 3)), np.ones((3, 5)), np.ones(5), pieces=2)
    with pytest.raises(ValueError, match="unknown activation"):
        layers.activation("swish")


def test_numerical_gradient_of_a_closed_form():
    x = np.array([1.0, -2.0, 0.5])
    g = gradcheck.numerical_gradient(lambda v: float(np.sum(v ** 3)), x.copy())
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-8)
    with pytest.raises(TypeError, match="float"):
        gradcheck.numerical_gradient(lambda v: 0.0, np.arange(3))


def test_norm_rel_error_ignores_exact_zeros_that_rel_error_punishes():
    a = np.array([1.0, 0.0])
    b = np.array([1.0, 1e-12])
    assert gradcheck.rel_error(a, b) == pytest.approx(1.0)
    assert gradcheck.norm_rel_error(a, b) < 1e-11
