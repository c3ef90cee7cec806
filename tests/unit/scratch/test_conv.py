"""course_utils.scratch.conv: every layer against its torch twin and finite differences (float64).

One ``LayerCase`` row per layer (``tests/layer_harness.py``), each drawing random
shapes, strides, paddings and dilations; plus im2col/col2im against ``F.unfold`` /
``F.fold``, the output-size formula against torch for hundreds of shapes, and the
receptive-field recurrence against a back-propagated one-hot gradient.
"""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from layer_harness import LayerCase, run_layer_case

from course_utils.scratch import conv


def _ints(rng, lo, hi, n=2):
    return tuple(int(v) for v in rng.integers(lo, hi + 1, size=n))


def _geometry(rng, max_kernel=4):
    """Random kernel, stride, padding, dilation and an input size that fits them."""
    k, s, d = _ints(rng, 1, max_kernel), _ints(rng, 1, 3), _ints(rng, 1, 3)
    p = tuple(int(rng.integers(0, 3)) for _ in range(2))
    size = tuple(max(1, di * (ki - 1) + 1 - 2 * pi + int(rng.integers(0, 6))) for ki, di, pi in zip(k, d, p))
    return k, s, p, d, size


def _conv2d(rng, max_kernel=4):
    k, s, p, d, (h, w) = _geometry(rng, max_kernel)
    n, c, f = _ints(rng, 1, 3, 3)
    arrays = {"x": rng.normal(size=(n, c, h, w)), "w": rng.normal(size=(f, c, *k)), "b": rng.normal(size=f)}
    return arrays, {"stride": s, "padding": p, "dilation": d}


def _conv2d_small(rng):
    return _conv2d(rng, max_kernel=3)


def _conv1d(rng):
    k, s, d, p = (int(v) for v in (*_ints(rng, 1, 4, 1), *_ints(rng, 1, 3, 1), *_ints(rng, 1, 3, 1),
                                   rng.integers(0, 3)))
    length = max(1, d * (k - 1) + 1 - 2 * p + int(rng.integers(0, 8)))
    n, c, f = _ints(rng, 1, 3, 3)
    arrays = {"x": rng.normal(size=(n, c, length)), "w": rng.normal(size=(f, c, k)), "b": rng.normal(size=f)}
    return arrays, {"stride": s, "padding": p, "dilation": d}


def _conv3d(rng):
    k, s, d = _ints(rng, 1, 3, 3), _ints(rng, 1, 2, 3), _ints(rng, 1, 2, 3)
    p = _ints(rng, 0, 1, 3)
    size = tuple(max(1, di * (ki - 1) + 1 - 2 * pi + int(rng.integers(0, 3))) for ki, di, pi in zip(k, d, p))
    n, c, f = _ints(rng, 1, 2, 3)
    arrays = {"x": rng.normal(size=(n, c, *size)), "w": rng.normal(size=(f, c, *k)), "b": rng.normal(size=f)}
    return arrays, {"stride": s, "padding": p, "dilation": d}


def _pool(rng, dilation=True):
    k = _ints(rng, 1, 4)
    s = _ints(rng, 1, 3)
    p = tuple(int(rng.integers(0, ki // 2 + 1)) for ki in k)
    d = _ints(rng, 1, 2) if dilation else (1, 1)
    size = tuple(max(1, di * (ki - 1) + 1 - 2 * pi + int(rng.integers(0, 6))) for ki, di, pi in zip(k, d, p))
    x = rng.normal(size=(*_ints(rng, 1, 3), *size))
    options = {"kernel_size": k, "stride": s, "padding": p}
    if dilation:
        options["dilation"] = d
    return {"x": x}, options


def _unpool(rng):
    k = _ints(rng, 1, 3)
    n, c = _ints(rng, 1, 3)
    h, w = (ki * int(rng.integers(1, 4)) + int(rng.integers(0, ki)) for ki in k)
    _, cache = conv.max_pool2d_forward(rng.normal(size=(n, c, h, w)), k)  # non-overlapping windows
    x = rng.normal(size=cache.indices.shape)
    return {"x": x}, {"indices": cache.indices, "output_size": (h, w)}


def _torch_unpool(x, indices, output_size):
    k = (output_size[0] // indices.shape[2], output_size[1] // indices.shape[3])
    return F.max_unpool2d(x, torch.as_tensor(indices), k, output_size=output_size)


LAYERS = [
    LayerCase("conv2d_im2col", conv.conv2d_forward, conv.conv2d_backward, F.conv2d, _conv2d),
    LayerCase("conv2d_loops", conv.conv2d_loops_forward, conv.conv2d_loops_backward, F.conv2d, _conv2d_small),
    LayerCase("conv1d", conv.conv1d_forward, conv.conv1d_backward, F.conv1d, _conv1d),
    LayerCase("conv3d", conv.conv3d_forward, conv.conv3d_backward, F.conv3d, _conv3d),
    LayerCase("max_pool2d", conv.max_pool2d_forward, conv.max_pool2d_backward, F.max_pool2d, _pool),
    LayerCase("avg_pool2d", conv.avg_pool2d_forward, conv.avg_pool2d_backward, F.avg_pool2d,
              lambda rng: _pool(rng, dilation=False)),
    LayerCase("max_unpool2d", conv.max_unpool2d_forward, conv.max_unpool2d_backward, _torch_unpool, _unpool),
]


@pytest.mark.parametrize("case", LAYERS, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(6))
def test_layer_matches_torch_and_finite_differences(case, seed):
    run_layer_case(case, np.random.default_rng(seed))


def test_every_layer_of_the_module_is_in_the_table():
    forwards = {name[: -len("_forward")] for name in dir(conv) if name.endswith("_forward")}
    tested = {c.forward.__name__[: -len("_forward")] for c in LAYERS}
    assert forwards == tested, f"layers without a row in LAYERS: {sorted(forwards - tested)}"


@pytest.mark.parametrize("seed", range(20))
def test_conv2d_many_geometries_forward_and_backward_against_torch(seed):
    """More random strides, paddings and dilations than the finite-difference table can afford."""
    rng = np.random.default_rng(100 + seed)
    arrays, opts = _conv2d(rng, max_kernel=5)
    out, cache = conv.conv2d_forward(*arrays.values(), **opts)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in arrays.values())
    t_out = F.conv2d(tx, tw, tb, **opts)
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    dout = rng.normal(size=out.shape)
    t_out.backward(torch.tensor(dout))
    for mine, t in zip(conv.conv2d_backward(dout, cache), (tx, tw, tb)):
        np.testing.assert_allclose(mine, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_im2col_is_unfold_and_col2im_is_fold(seed):
    rng = np.random.default_rng(seed)
    k, s, p, d, (h, w) = _geometry(rng)
    x = rng.normal(size=(2, 3, h, w))
    cols = conv.im2col(x, k, s, p, d)
    np.testing.assert_allclose(cols, F.unfold(torch.tensor(x), k, d, p, s).numpy(), rtol=0, atol=0)
    c = rng.normal(size=cols.shape)
    folded = F.fold(torch.tensor(c), (h, w), k, d, p, s).numpy()
    np.testing.assert_allclose(conv.col2im(c, x.shape, k, s, p, d), folded, rtol=1e-12, atol=1e-12)
    # adjoint: <im2col(x), c> = <x, col2im(c)>, which is why col2im is im2col's backward
    assert np.isclose(np.sum(cols * c), np.sum(x * conv.col2im(c, x.shape, k, s, p, d)), rtol=1e-12)


def test_col2im_adds_overlapping_windows():
    # 3x3 windows with stride 1 on a 4x4 image: the centre pixels lie in 4 windows each
    x_shape = (1, 1, 4, 4)
    ones = np.ones((1, 9, 4))
    counts = conv.col2im(ones, x_shape, 3)
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


def test_output_size_formula_matches_torch_for_many_shapes():
    checked = 0
    for n, k, s, p, d in itertools.product(range(1, 12), range(1, 6), range(1, 4), range(0, 3), range(1, 3)):
        if d * (k - 1) + 1 > n + 2 * p:
            with pytest.raises(ValueError, match="add padding"):
                conv.conv_output_size(n, k, s, p, d)
            with pytest.raises(RuntimeError):  # torch refuses the same settings
                F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d)
            continue
        out = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d)
        assert conv.conv_output_size(n, k, s, p, d) == out.shape[-1], (n, k, s, p, d)
        checked += 1
    assert checked > 800


def test_flip_kernel_turns_cross_correlation_into_convolution():
    from scipy.signal import convolve2d, correlate2d

    rng = np.random.default_rng(0)
    img, ker = rng.normal(size=(7, 9)), rng.normal(size=(3, 2))
    xcorr, _ = conv.conv2d_forward(img[None, None], ker[None, None], np.zeros(1))
    np.testing.assert_allclose(xcorr[0, 0], correlate2d(img, ker, mode="valid"), rtol=1e-12)
    true_conv, _ = conv.conv2d_forward(img[None, None], conv.flip_kernel(ker)[None, None], np.zeros(1))
    np.testing.assert_allclose(true_conv[0, 0], convolve2d(img, ker, mode="valid"), rtol=1e-12)
    assert not np.allclose(xcorr, true_conv)


def test_max_pool_indices_equal_torch_return_indices():
    rng = np.random.default_rng(3)
    for _ in range(10):
        arrays, opts = _pool(rng)
        _, cache = conv.max_pool2d_forward(arrays["x"], **opts)
        _, idx = F.max_pool2d(torch.tensor(arrays["x"]), **opts, return_indices=True)
        np.testing.assert_array_equal(cache.indices, idx.numpy())


def test_unpool_after_pool_keeps_only_the_maxima():
    x = np.array([[[[3, 1, 3, 5], [6, 0, 7, 9], [3, 2, 1, 4], [0, 2, 4, 3]]]], dtype=float)
    pooled, cache = conv.max_pool2d_forward(x, 2)
    np.testing.assert_array_equal(pooled[0, 0], [[6, 9], [3, 4]])
    avg, _ = conv.avg_pool2d_forward(x, 2)
    np.testing.assert_array_equal(avg[0, 0], [[2.5, 6], [1.75, 3]])
    up, _ = conv.max_unpool2d_forward(pooled, cache.indices, x.shape[2:])
    np.testing.assert_array_equal(up[0, 0], [[0, 0, 0, 0], [6, 0, 0, 9], [3, 0, 0, 4], [0, 0, 0, 0]])


@pytest.mark.parametrize("layers", [[(3, 1)] * 4, [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)],
                                    [(3, 1, 1), (3, 1, 2), (3, 1, 4)], [(5, 2), (3, 1, 2), (2, 2)]])
def test_receptive_field_equals_the_support_of_a_backpropagated_one_hot(layers):
    """Push a one-hot gradient at one output back through the stack (weights 1, average pooling):
    the input pixels that receive a non-zero gradient are exactly the receptive field."""
    rf = conv.receptive_field(layers).sizes[-1]
    size = rf + 20
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    h = x
    for k, s, *d in layers:
        h = F.conv2d(h, torch.ones(1, 1, k, k, dtype=torch.float64), stride=s, dilation=d[0] if d else 1)
    g = torch.zeros_like(h)
    g[0, 0, h.shape[2] // 2, h.shape[3] // 2] = 1.0
    h.backward(g)
    rows = np.flatnonzero(np.abs(x.grad[0, 0].numpy()).sum(axis=1) > 0)
    assert rows.max() - rows.min() + 1 == rf


def test_receptive_field_of_a_plain_3x3_stack_grows_by_two_per_layer():
    rf = conv.receptive_field([(3, 1)] * 5)
    assert rf.sizes == [3, 5, 7, 9, 11] and rf.jumps == [1] * 5
    assert conv.receptive_field([(3, 2)] * 3).sizes == [3, 7, 15]


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="channels"):
        conv.conv2d_forward(np.ones((1, 2, 5, 5)), np.ones((3, 1, 3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="one bias per filter"):
        conv.conv2d_forward(np.ones((1, 1, 5, 5)), np.ones((3, 1, 3, 3)), np.ones(2))
    with pytest.raises(ValueError, match="add padding"):
        conv.conv2d_forward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), np.ones(1))
    with pytest.raises(ValueError, match="at most half"):
        conv.max_pool2d_forward(np.ones((1, 1, 6, 6)), 2, padding=2)
    with pytest.raises(ValueError, match="1 or 2 values"):
        conv.im2col(np.ones((1, 1, 5, 5)), (1, 2, 3))
    with pytest.raises(ValueError, match="axes"):
        conv.conv1d_forward(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3)), np.ones(1))
