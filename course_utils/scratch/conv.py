"""Convolution and pooling in NumPy, on the layer contract of :mod:`course_utils.scratch.layers`.

Contract (the same for every layer of this module):

- ``<name>_forward(x, *params, **options) -> (out, cache)`` and
  ``<name>_backward(dout, cache) -> dx`` or ``(dx, dw, db)``; ``dout`` has the
  shape of ``out``. Caches are named tuples, so ``PoolCache.indices`` (max pooling)
  can be read by name.
- Shapes follow PyTorch: images ``x (N, C, H, W)`` (batch, channels, height,
  width), kernels ``w (F, C, kh, kw)`` (``F`` filters), bias ``b (F,)``.
  1-D: ``x (N, C, L)``, ``w (F, C, k)``; 3-D: ``x (N, C, D, H, W)``, ``w (F, C, kd, kh, kw)``.
- Options ``stride``, ``padding`` and ``dilation`` are an int (the same along
  every axis) or one int per spatial axis, as in ``torch.nn.functional``.
  Padding is zeros (``-inf`` for max pooling). Every layer equals its torch twin
  (``F.conv2d``, ``F.max_pool2d`` …) forward and backward in float64
  (``tests/unit/scratch/test_conv.py``).
- What deep-learning libraries call "convolution" is **cross-correlation**,
  ``out[n, f, i, j] = b[f] + Σ_{c,a,e} w[f, c, a, e] · x_pad[n, c, i·s + a·d, j·s + e·d]``;
  the convolution of signal processing flips the kernel first (:func:`flip_kernel`).

Contents

- sizes: :func:`conv_output_size` (``⌊(n + 2p − d(k−1) − 1)/s⌋ + 1``),
  :func:`receptive_field` (size and jump of each layer of a stack);
- the unrolling: :func:`pad2d`, :func:`im2col` (``= F.unfold``) and its adjoint
  :func:`col2im` (``= F.fold``: overlapping windows *add up*);
- convolution: :func:`conv2d_loops_forward` / :func:`conv2d_loops_backward`
  (the definition, four Python loops), :func:`conv2d_forward` /
  :func:`conv2d_backward` (im2col: one matrix product), :func:`conv1d_forward`
  and :func:`conv3d_forward` (with their backwards) built on the 2-D one;
- pooling: :func:`max_pool2d_forward`, :func:`avg_pool2d_forward`,
  :func:`max_unpool2d_forward` (with their backwards).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

IntOrPair = int | Sequence[int]


# ---------------------------------------------------------------------- sizes
def _tuple(v: IntOrPair, n: int, name: str) -> tuple[int, ...]:
    """``v`` as ``n`` ints (an int is repeated); checks the count."""
    t = (int(v),) * n if np.isscalar(v) else tuple(int(u) for u in v)
    if len(t) != n:
        raise ValueError(f"{name} needs 1 or {n} values, got {v!r}")
    return t


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length along one axis: ``⌊(n + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1``.

    ``dilation·(kernel − 1) + 1`` is the span of the dilated kernel; the floor drops
    the positions where it would stick out of the padded input. Raises ``ValueError``
    when the kernel does not fit even once.
    """
    if min(kernel, stride, dilation) < 1 or padding < 0 or n < 1:
        raise ValueError(f"need n, kernel, stride, dilation >= 1 and padding >= 0; got n={n}, kernel={kernel}, "
                         f"stride={stride}, padding={padding}, dilation={dilation}")
    span = dilation * (kernel - 1) + 1
    if span > n + 2 * padding:
        raise ValueError(f"the kernel spans {span} pixels (kernel {kernel}, dilation {dilation}) but the padded input "
                         f"has only {n + 2 * padding}: add padding or use a smaller kernel or dilation")
    return (n + 2 * padding - span) // stride + 1


class ReceptiveField(NamedTuple):
    """``sizes[l]``: input pixels (along one axis) that one output of layer ``l`` sees;
    ``jumps[l]``: input pixels between two neighbouring outputs of layer ``l``."""

    sizes: list[int]
    jumps: list[int]


def receptive_field(layers: Sequence[Sequence[int]]) -> ReceptiveField:
    """Receptive field of a stack of layers given as ``(kernel, stride[, dilation])`` per layer.

    Pooling layers count as layers without weights (``(2, 2)`` for 2×2 pooling).
    The recurrence: ``r_l = r_{l−1} + (k_l − 1)·d_l·j_{l−1}`` and ``j_l = j_{l−1}·s_l``,
    starting from ``r_0 = j_0 = 1``: each layer widens the field by its extra taps,
    spaced by the distance between the previous layer's outputs.
    """
    r, j, sizes, jumps = 1, 1, [], []
    for layer in layers:
        k, s, *rest = (int(v) for v in layer)
        d = rest[0] if rest else 1
        if min(k, s, d) < 1:
            raise ValueError(f"kernel, stride and dilation must be >= 1, got {tuple(layer)}")
        r, j = r + (k - 1) * d * j, j * s
        sizes.append(r)
        jumps.append(j)
    return ReceptiveField(sizes, jumps)


# ------------------------------------------------------------------ unrolling
def pad2d(x: np.ndarray, padding: IntOrPair, fill: float = 0.0) -> np.ndarray:
    """``x (N, C, H, W)`` with ``padding`` rows/columns of ``fill`` added on each side."""
    ph, pw = _tuple(padding, 2, "padding")
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)


def _geometry(x_shape, kernel_size, stride, padding, dilation):
    """Per-axis kernel, stride, padding, dilation and the output size ``(Ho, Wo)``."""
    k, s, p, d = (_tuple(v, 2, name) for v, name in
                  ((kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding"), (dilation, "dilation")))
    out = tuple(conv_output_size(n, *args) for n, args in zip(x_shape[2:], zip(k, s, p, d)))
    return k, s, p, d, out


def _window(offset: int, stride: int, n_out: int) -> slice:
    """Rows ``offset, offset + stride, …`` (``n_out`` of them): one kernel tap across all windows."""
    return slice(offset, offset + stride * (n_out - 1) + 1, stride)


def im2col(x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair = 1, padding: IntOrPair = 0,
           dilation: IntOrPair = 1, fill: float = 0.0) -> np.ndarray:
    """Unroll every window of ``x (N, C, H, W)`` into a column: ``(N, C·kh·kw, Ho·Wo)``.

    Row ``(c, a, e)`` (in that order) of image ``n`` holds the input value under
    kernel tap ``(a, e)`` of channel ``c`` for every output position, so a
    convolution becomes one matrix product ``w.reshape(F, −1) @ cols``. Equals
    ``torch.nn.functional.unfold``. The loop runs over the ``kh·kw`` kernel taps,
    not over the output positions: each tap is one strided slice of the padded input.
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = _geometry(x.shape, kernel_size, stride, padding, dilation)
    n, c = x.shape[:2]
    xp = pad2d(x, (ph, pw), fill)
    cols = np.empty((n, c, kh, kw, ho, wo), dtype=np.result_type(x, np.float64))
    for a in range(kh):
        for e in range(kw):
            cols[:, :, a, e] = xp[:, :, _window(a * dh, sh, ho), _window(e * dw, sw, wo)]
    return cols.reshape(n, c * kh * kw, ho * wo)


def col2im(cols: np.ndarray, x_shape: Sequence[int], kernel_size: IntOrPair, stride: IntOrPair = 1,
           padding: IntOrPair = 0, dilation: IntOrPair = 1) -> np.ndarray:
    """The adjoint of :func:`im2col`: put every column entry back where it came from, **adding** overlaps.

    ``cols (N, C·kh·kw, Ho·Wo)`` → ``(N, C, H, W)``. A pixel covered by several
    windows receives the sum of their entries (this is what makes it the gradient
    of ``im2col``); padding is cropped away. Equals ``torch.nn.functional.fold``.
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = _geometry(x_shape, kernel_size, stride, padding, dilation)
    n, c, h, w = x_shape
    cols = cols.reshape(n, c, kh, kw, ho, wo)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for a in range(kh):
        for e in range(kw):
            xp[:, :, _window(a * dh, sh, ho), _window(e * dw, sw, wo)] += cols[:, :, a, e]
    return xp[:, :, ph:ph + h, pw:pw + w]


def flip_kernel(w: np.ndarray) -> np.ndarray:
    """The kernel rotated by 180° in its last two axes: true convolution = cross-correlation with it."""
    return w[..., ::-1, ::-1].copy()


# --------------------------------------------------------------- convolution
class ConvCache(NamedTuple):
    x: np.ndarray          # the input, or its im2col columns (conv2d_forward)
    w: np.ndarray
    x_shape: tuple
    stride: tuple
    padding: tuple
    dilation: tuple


def _check_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, dims: int) -> None:
    if x.ndim != dims + 2 or w.ndim != dims + 2:
        raise ValueError(f"a {dims}-D convolution needs x and w with {dims + 2} axes, got x {x.shape} and w {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} channels but the kernels expect {w.shape[1]} (w has shape {w.shape})")
    if b.shape != (w.shape[0],):
        raise ValueError(f"b has shape {b.shape}, expected ({w.shape[0]},): one bias per filter")


def conv2d_loops_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: IntOrPair = 1,
                         padding: IntOrPair = 0, dilation: IntOrPair = 1):
    """2-D cross-correlation by its definition: one dot product per (image, filter, row, column).

    Slow (four Python loops) and obviously right; :func:`conv2d_forward` computes the same.
    """
    _check_conv(x, w, b, 2)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = _geometry(x.shape, w.shape[2:], stride, padding, dilation)
    xp = pad2d(x, (ph, pw))
    out = np.empty((x.shape[0], w.shape[0], ho, wo))
    for n in range(x.shape[0]):
        for f in range(w.shape[0]):
            for i in range(ho):
                for j in range(wo):
                    window = xp[n, :, i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, ConvCache(x, w, x.shape, (sh, sw), (ph, pw), (dh, dw))


def conv2d_loops_backward(dout: np.ndarray, cache: ConvCache):
    """Returns ``(dx, dw, db)``: each output sends ``dout`` back to the window and the filter it used."""
    x, w, _, (sh, sw), (ph, pw), (dh, dw) = cache
    kh, kw = w.shape[2:]
    xp = pad2d(x, (ph, pw))
    dxp, dw_ = np.zeros_like(xp), np.zeros_like(w)
    for n in range(dout.shape[0]):
        for f in range(dout.shape[1]):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
                    dw_[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return dx, dw_, dout.sum(axis=(0, 2, 3))


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: IntOrPair = 1,
                   padding: IntOrPair = 0, dilation: IntOrPair = 1):
    """2-D cross-correlation as one matrix product on the :func:`im2col` columns.

    ``out = (w.reshape(F, C·kh·kw) @ cols) + b``, reshaped to ``(N, F, Ho, Wo)``;
    equals ``torch.nn.functional.conv2d(x, w, b, stride, padding, dilation)``.
    """
    _check_conv(x, w, b, 2)
    s, p, d = (_tuple(v, 2, name) for v, name in ((stride, "stride"), (padding, "padding"), (dilation, "dilation")))
    cols = im2col(x, w.shape[2:], s, p, d)
    (_, _, _, _, (ho, wo)) = _geometry(x.shape, w.shape[2:], s, p, d)
    out = w.reshape(w.shape[0], -1) @ cols + b[None, :, None]
    return out.reshape(x.shape[0], w.shape[0], ho, wo), ConvCache(cols, w, x.shape, s, p, d)


def conv2d_backward(dout: np.ndarray, cache: ConvCache):
    """Returns ``(dx, dw, db)``, each one matrix product: ``dw = Σ_n dout_n colsᵀ_n``,
    ``dcols = wᵀ dout`` sent back to the pixels by :func:`col2im`, ``db = Σ dout``."""
    cols, w, x_shape, s, p, d = cache
    n, f = dout.shape[:2]
    dout_m = dout.reshape(n, f, -1)
    dw = (dout_m @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    dcols = w.reshape(f, -1).T @ dout_m
    dx = col2im(dcols, x_shape, w.shape[2:], s, p, d)
    return dx, dw, dout.sum(axis=(0, 2, 3))


def conv1d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0,
                   dilation: int = 1):
    """1-D cross-correlation of ``x (N, C, L)`` with ``w (F, C, k)``: a 2-D one on images of height 1."""
    _check_conv(x, w, b, 1)
    out, cache = conv2d_forward(x[:, :, None, :], w[:, :, None, :], b, (1, stride), (0, padding), (1, dilation))
    return out[:, :, 0, :], cache


def conv1d_backward(dout: np.ndarray, cache: ConvCache):
    """Returns ``(dx, dw, db)`` by the 2-D backward on height-1 images."""
    dx, dw, db = conv2d_backward(dout[:, :, None, :], cache)
    return dx[:, :, 0, :], dw[:, :, 0, :], db


class Conv3dCache(NamedTuple):
    slabs: list            # per depth tap: the ConvCache of its 2-D convolution
    x_shape: tuple
    depth: tuple           # (kernel, stride, padding, dilation, output size) along the depth axis


def conv3d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: IntOrPair = 1, padding: IntOrPair = 0,
                   dilation: IntOrPair = 1):
    """3-D cross-correlation of ``x (N, C, D, H, W)`` with ``w (F, C, kd, kh, kw)`` as a sum of 2-D ones.

    For each depth tap ``a`` of the kernel, the input slices at depths
    ``t·s + a·d`` (one per output depth ``t``) are stacked into the batch and
    cross-correlated with the 2-D kernel ``w[:, :, a]``; the ``kd`` results add up.
    """
    _check_conv(x, w, b, 3)
    (sd, sh, sw), (pd, ph, pw), (dd, dh, dw) = (_tuple(v, 3, name) for v, name in
                                                 ((stride, "stride"), (padding, "padding"), (dilation, "dilation")))
    n, c, depth = x.shape[:3]
    kd = w.shape[2]
    do = conv_output_size(depth, kd, sd, pd, dd)
    xp = np.pad(x, ((0, 0), (0, 0), (pd, pd), (0, 0), (0, 0)))
    out, slabs = 0.0, []
    for a in range(kd):
        slab = xp[:, :, _window(a * dd, sd, do)]                       # (N, C, Do, H, W)
        slab = slab.transpose(0, 2, 1, 3, 4).reshape(n * do, c, *x.shape[3:])
        o, cache = conv2d_forward(slab, w[:, :, a], np.zeros(w.shape[0]), (sh, sw), (ph, pw), (dh, dw))
        out = out + o
        slabs.append(cache)
    out = out.reshape(n, do, w.shape[0], *out.shape[2:]).transpose(0, 2, 1, 3, 4) + b[None, :, None, None, None]
    return out, Conv3dCache(slabs, x.shape, (kd, sd, pd, dd, do))


def conv3d_backward(dout: np.ndarray, cache: Conv3dCache):
    """Returns ``(dx, dw, db)``: the 2-D backward of every depth tap, scattered back to its slices."""
    slabs, (n, c, depth, h, w_), (kd, sd, pd, dd, do) = cache
    f = dout.shape[1]
    d2 = dout.transpose(0, 2, 1, 3, 4).reshape(n * do, f, *dout.shape[3:])
    dxp = np.zeros((n, c, depth + 2 * pd, h, w_))
    dws = []
    for a, slab_cache in enumerate(slabs):
        dslab, dw_a, _ = conv2d_backward(d2, slab_cache)
        dxp[:, :, _window(a * dd, sd, do)] += dslab.reshape(n, do, c, h, w_).transpose(0, 2, 1, 3, 4)
        dws.append(dw_a)
    return dxp[:, :, pd:pd + depth], np.stack(dws, axis=2), dout.sum(axis=(0, 2, 3, 4))


# ------------------------------------------------------------------- pooling
class PoolCache(NamedTuple):
    x_shape: tuple
    kernel_size: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    argmax: np.ndarray | None   # max pooling: winning tap per (N·C, Ho·Wo)
    indices: np.ndarray | None  # max pooling: flat position h·W + w of each winner, like torch's return_indices


def _pool_options(kernel_size, stride, padding, dilation=1):
    k = _tuple(kernel_size, 2, "kernel_size")
    s = k if stride is None else _tuple(stride, 2, "stride")
    p, d = _tuple(padding, 2, "padding"), _tuple(dilation, 2, "dilation")
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"padding {p} must be at most half the kernel size {k} (a window must not be only padding)")
    return k, s, p, d


def max_pool2d_forward(x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                       padding: IntOrPair = 0, dilation: IntOrPair = 1):
    """The largest value of each window, per channel; ``stride`` defaults to ``kernel_size``.

    Padding is ``-inf``, so it never wins. ``PoolCache.indices (N, C, Ho, Wo)`` holds the
    flat input position of each winner (the first one on a tie), as torch's ``return_indices``.
    """
    k, s, p, d = _pool_options(kernel_size, stride, padding, dilation)
    n, c, h, w = x.shape
    cols = im2col(x.reshape(n * c, 1, h, w), k, s, p, d, fill=-np.inf)     # (N·C, kh·kw, L)
    arg = cols.argmax(axis=1)
    out = np.take_along_axis(cols, arg[:, None, :], axis=1)[:, 0]
    ho, wo = (conv_output_size(*args) for args in zip((h, w), k, s, p, d))
    a, e = np.divmod(arg.reshape(n * c, ho, wo), k[1])                   # the winning tap's row and column
    rows = np.arange(ho)[:, None] * s[0] + a * d[0] - p[0]
    cols_ = np.arange(wo)[None, :] * s[1] + e * d[1] - p[1]
    indices = (rows * w + cols_).reshape(n, c, ho, wo)
    return out.reshape(n, c, ho, wo), PoolCache(x.shape, k, s, p, d, arg, indices)


def max_pool2d_backward(dout: np.ndarray, cache: PoolCache):
    """``dx``: each window's gradient goes to its winner only (overlapping windows add up)."""
    n, c, h, w = cache.x_shape
    dcols = np.zeros((n * c, cache.kernel_size[0] * cache.kernel_size[1], cache.argmax.shape[1]))
    np.put_along_axis(dcols, cache.argmax[:, None, :], dout.reshape(n * c, 1, -1), axis=1)
    dx = col2im(dcols, (n * c, 1, h, w), cache.kernel_size, cache.stride, cache.padding, cache.dilation)
    return dx.reshape(cache.x_shape)


def avg_pool2d_forward(x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                       padding: IntOrPair = 0):
    """The mean of each window, per channel (zero padding counts, as torch's default
    ``count_include_pad=True``); ``stride`` defaults to ``kernel_size``."""
    k, s, p, d = _pool_options(kernel_size, stride, padding)
    n, c, h, w = x.shape
    cols = im2col(x.reshape(n * c, 1, h, w), k, s, p, d)
    ho, wo = (conv_output_size(*args) for args in zip((h, w), k, s, p, d))
    return cols.mean(axis=1).reshape(n, c, ho, wo), PoolCache(x.shape, k, s, p, d, None, None)


def avg_pool2d_backward(dout: np.ndarray, cache: PoolCache):
    """``dx``: each window spreads its gradient evenly, ``dout / (kh·kw)``, over its pixels."""
    n, c, h, w = cache.x_shape
    taps = cache.kernel_size[0] * cache.kernel_size[1]
    dcols = np.repeat(dout.reshape(n * c, 1, -1) / taps, taps, axis=1)
    dx = col2im(dcols, (n * c, 1, h, w), cache.kernel_size, cache.stride, cache.padding, cache.dilation)
    return dx.reshape(cache.x_shape)


class UnpoolCache(NamedTuple):
    indices: np.ndarray
    x_shape: tuple


def max_unpool2d_forward(x: np.ndarray, indices: np.ndarray, output_size: Sequence[int]):
    """Max unpooling: put each pooled value back at the position it came from, zeros elsewhere.

    ``x (N, C, Ho, Wo)`` and ``indices`` from ``max_pool2d_forward(...)[1].indices``;
    ``output_size`` is ``(H, W)`` of the input that was pooled. Equals ``F.max_unpool2d``.
    """
    n, c = x.shape[:2]
    h, w = (int(v) for v in output_size[-2:])
    idx = np.asarray(indices, dtype=np.int64).reshape(n, c, -1)
    if idx.shape[2] != x.shape[2] * x.shape[3] or idx.max(initial=0) >= h * w:
        raise ValueError(f"indices of shape {np.shape(indices)} do not fit x {x.shape} and output size {(h, w)}")
    out = np.zeros((n, c, h * w), dtype=np.result_type(x, np.float64))
    np.put_along_axis(out, idx, x.reshape(n, c, -1), axis=2)
    return out.reshape(n, c, h, w), UnpoolCache(idx, x.shape)


def max_unpool2d_backward(dout: np.ndarray, cache: UnpoolCache):
    """``dx``: each pooled value receives the gradient at the position it was put."""
    n, c = dout.shape[:2]
    return np.take_along_axis(dout.reshape(n, c, -1), cache.indices, axis=2).reshape(cache.x_shape)
