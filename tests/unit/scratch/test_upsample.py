"""course_utils.scratch.upsample: every layer against its torch twin and finite differences (float64).

One ``LayerCase`` row per layer (``tests/layer_harness.py``) with random strides, paddings,
output paddings and dilations; the output-size formula against torch for many shapes; the
transposed convolution as the adjoint of the convolution; and the checkerboard counts.
"""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from layer_harness import LayerCase, run_layer_case

from course_utils.scratch import conv, upsample


def _ints(rng, lo, hi, n=2):
    return tuple(int(v) for v in rng.integers(lo, hi + 1, size=n))


def _transpose(rng, max_kernel=4):
    k, s, d = _ints(rng, 1, max_kernel), _ints(rng, 1, 3), _ints(rng, 1, 2)
    p = tuple(int(rng.integers(0, (di * (ki - 1)) // 2 + 1)) for ki, di in zip(k, d))
    op = tuple(int(rng.integers(0, max(si, di))) for si, di in zip(s, d))
    n, c_in, c_out = _ints(rng, 1, 3, 3)
    h, w = _ints(rng, 1, 4)
    arrays = {"x": rng.normal(size=(n, c_in, h, w)), "w": rng.normal(size=(c_in, c_out, *k)),
              "b": rng.normal(size=c_out)}
    return arrays, {"stride": s, "padding": p, "output_padding": op, "dilation": d}


def _transpose_small(rng):
    return _transpose(rng, max_kernel=3)


def _images(rng):
    return {"x": rng.normal(size=(*_ints(rng, 1, 3), *_ints(rng, 1, 5)))}, {"scale": int(rng.integers(1, 4))}


def _torch_interp(mode):
    def fn(x, scale):
        kw = {} if mode == "nearest" else {"align_corners": False}
        return F.interpolate(x, scale_factor=scale, mode=mode, **kw)
    return fn


LAYERS = [
    LayerCase("conv_transpose2d", upsample.conv_transpose2d_forward, upsample.conv_transpose2d_backward,
              F.conv_transpose2d, _transpose),
    LayerCase("conv_transpose2d_loops", upsample.conv_transpose2d_loops_forward,
              upsample.conv_transpose2d_loops_backward, F.conv_transpose2d, _transpose_small),
    LayerCase("upsample_nearest", upsample.upsample_nearest_forward, upsample.upsample_nearest_backward,
              _torch_interp("nearest"), _images),
    LayerCase("upsample_bilinear", upsample.upsample_bilinear_forward, upsample.upsample_bilinear_backward,
              _torch_interp("bilinear"), _images),
]


@pytest.mark.parametrize("case", LAYERS, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(6))
def test_layer_matches_torch_and_finite_differences(case, seed):
    run_layer_case(case, np.random.default_rng(seed))


def test_every_layer_of_the_module_is_in_the_table():
    forwards = {name[: -len("_forward")] for name in dir(upsample) if name.endswith("_forward")}
    tested = {c.forward.__name__[: -len("_forward")] for c in LAYERS}
    assert forwards == tested, f"layers without a row in LAYERS: {sorted(forwards - tested)}"


@pytest.mark.parametrize("seed", range(20))
def test_conv_transpose_many_geometries_against_torch(seed):
    rng = np.random.default_rng(200 + seed)
    arrays, opts = _transpose(rng, max_kernel=5)
    out, cache = upsample.conv_transpose2d_forward(*arrays.values(), **opts)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in arrays.values())
    t_out = F.conv_transpose2d(tx, tw, tb, **opts)
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    dout = rng.normal(size=out.shape)
    t_out.backward(torch.tensor(dout))
    for mine, t in zip(upsample.conv_transpose2d_backward(dout, cache), (tx, tw, tb)):
        np.testing.assert_allclose(mine, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_output_size_formula_matches_torch():
    checked = 0
    for n, k, s, p, op, d in itertools.product(range(1, 7), range(1, 5), range(1, 4), range(0, 3), range(0, 3),
                                               range(1, 3)):
        args = dict(stride=s, padding=p, output_padding=op, dilation=d)
        try:
            t = F.conv_transpose1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), **args).shape[-1]
        except RuntimeError:
            with pytest.raises(ValueError):
                upsample.conv_transpose_output_size(n, k, s, p, op, d)
            continue
        assert upsample.conv_transpose_output_size(n, k, s, p, op, d) == t, (n, k, s, p, op, d)
        checked += 1
    assert checked > 500


@pytest.mark.parametrize("seed", range(5))
def test_transposed_convolution_is_the_adjoint_of_convolution(seed):
    """<conv(y), x> = <y, conv_transpose(x)> for the same kernel, stride and padding."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(2, 3, 3, 3))                     # conv: 3 -> 2 channels; transposed: 2 -> 3
    y = rng.normal(size=(1, 3, 9, 9))
    cy, _ = conv.conv2d_forward(y, w, np.zeros(2), stride=2, padding=1)
    x = rng.normal(size=cy.shape)
    tx, _ = upsample.conv_transpose2d_forward(x, w, np.zeros(3), stride=2, padding=1)
    assert tx.shape == y.shape
    assert np.isclose(np.sum(cy * x), np.sum(y * tx), rtol=1e-12)


def test_bilinear_matrix_rows_sum_to_one_and_hit_known_weights():
    U = upsample.bilinear_matrix(3, 2)
    np.testing.assert_allclose(U.sum(axis=1), 1.0)
    np.testing.assert_allclose(U[:4], [[1, 0, 0], [0.75, 0.25, 0], [0.25, 0.75, 0], [0, 0.75, 0.25]])


def test_nearest_copies_blocks():
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    out, _ = upsample.upsample_nearest_forward(x, 2)
    np.testing.assert_array_equal(out[0, 0], [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])


def test_checkerboard_counts_alternate_only_when_stride_does_not_divide_kernel():
    p = upsample.checkerboard_pattern(3, 2, size=6)
    interior = p[2:-2, 2:-2]
    assert set(np.unique(interior)) == {1.0, 2.0, 4.0} and interior.var() > 0.5
    assert interior[0, 0] != interior[0, 1]
    q = upsample.checkerboard_pattern(4, 2, size=6)[3:-3, 3:-3]
    np.testing.assert_array_equal(q, 4.0)                 # every interior pixel under exactly 2×2 stamps


def test_errors_are_clear():
    with pytest.raises(ValueError, match="torch's layout"):
        upsample.conv_transpose2d_forward(np.ones((1, 2, 3, 3)), np.ones((3, 1, 3, 3)), np.ones(1))
    with pytest.raises(ValueError, match="output_padding"):
        upsample.conv_transpose_output_size(4, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="positive integer"):
        upsample.upsample_nearest_forward(np.ones((1, 1, 2, 2)), 1.5)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        upsample.upsample_bilinear_forward(np.ones((2, 2)), 2)
