"""Upsampling layers in NumPy, on the layer contract of :mod:`course_utils.scratch.conv`.

Contract (as every layer of the course): ``<name>_forward(x, *params, **options) -> (out, cache)``
and ``<name>_backward(dout, cache) -> dx`` or ``(dx, dw, db)``; images are ``(N, C, H, W)``.
Every layer equals its torch twin forward and backward in float64
(``tests/unit/scratch/test_upsample.py``).

- :func:`upsample_nearest_forward`: each pixel becomes a ``scale``×``scale`` block of copies
  (``F.interpolate(x, scale_factor=scale, mode="nearest")``).
- :func:`upsample_bilinear_forward`: linear interpolation along rows, then along columns,
  written as two small matrices, ``out = U_H · x · U_Wᵀ`` per channel
  (``F.interpolate(..., mode="bilinear", align_corners=False)``); :func:`bilinear_matrix`
  builds ``U``.
- :func:`conv_transpose2d_loops_forward` and :func:`conv_transpose2d_forward`: the
  **transposed convolution** (``F.conv_transpose2d``). Each input pixel stamps a copy of
  the kernel, scaled by its value, onto the output, the stamps ``stride`` pixels apart,
  overlapping stamps adding up; then ``padding`` rows and columns are cropped from each
  side. It is the adjoint (the transpose of the matrix) of the convolution with the same
  kernel, stride and padding, which is why its forward pass is ``conv.col2im`` of one
  matrix product and its backward pass is a convolution (``conv.im2col``). Weights have
  torch's layout ``w (C_in, C_out, kh, kw)``. Output size:
  :func:`conv_transpose_output_size`, ``(n − 1)·s − 2p + d·(k − 1) + output_padding + 1``.
- Max-unpooling, the fourth way up, is ``conv.max_unpool2d_forward``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .conv import IntOrPair, _tuple, col2im, im2col


def _check_image(x: np.ndarray, name: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} needs images of shape (N, C, H, W), got shape {x.shape}")


def _check_scale(scale: int) -> int:
    if int(scale) != scale or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    return int(scale)


# ----------------------------------------------------------------- nearest
def upsample_nearest_forward(x: np.ndarray, scale: int = 2):
    """``(N, C, H, W) → (N, C, H·scale, W·scale)``: every pixel repeated ``scale`` times along both axes."""
    _check_image(x, "upsample_nearest_forward")
    scale = _check_scale(scale)
    return x.repeat(scale, axis=2).repeat(scale, axis=3), (x.shape, scale)


def upsample_nearest_backward(dout: np.ndarray, cache):
    """``dx``: each input pixel collects the sum of the gradients of its ``scale``×``scale`` copies."""
    (n, c, h, w), s = cache
    return dout.reshape(n, c, h, s, w, s).sum(axis=(3, 5))


# ---------------------------------------------------------------- bilinear
def bilinear_matrix(n_in: int, scale: int) -> np.ndarray:
    """The ``(n_in·scale, n_in)`` matrix of 1-D linear upsampling (half-pixel centres, ``align_corners=False``).

    Output pixel ``i`` sits at input coordinate ``src = (i + ½)/scale − ½`` (clamped to
    ``[0, n_in − 1]``); it takes ``1 − λ`` of input pixel ``⌊src⌋`` and ``λ`` of the next,
    ``λ = src − ⌊src⌋``. Each row sums to 1.
    """
    scale = _check_scale(scale)
    src = np.clip((np.arange(n_in * scale) + 0.5) / scale - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    lam = src - lo
    U = np.zeros((n_in * scale, n_in))
    rows = np.arange(n_in * scale)
    np.add.at(U, (rows, lo), 1 - lam)
    np.add.at(U, (rows, hi), lam)
    return U


def upsample_bilinear_forward(x: np.ndarray, scale: int = 2):
    """``(N, C, H, W) → (N, C, H·scale, W·scale)`` by bilinear interpolation: ``U_H · x · U_Wᵀ`` per channel."""
    _check_image(x, "upsample_bilinear_forward")
    uh, uw = bilinear_matrix(x.shape[2], scale), bilinear_matrix(x.shape[3], scale)
    return uh @ x @ uw.T, (uh, uw)


def upsample_bilinear_backward(dout: np.ndarray, cache):
    """``dx = U_Hᵀ · dout · U_W``: the transposed matrices send each gradient back to the pixels it was mixed from."""
    uh, uw = cache
    return uh.T @ dout @ uw


# ---------------------------------------------------- transposed convolution
def conv_transpose_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """Output length of a transposed convolution: ``(n − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1``.

    The stamps of the ``n`` inputs start ``stride`` apart, the last one reaches
    ``dilation·(kernel − 1)`` further, ``padding`` is cropped from both ends and
    ``output_padding`` (smaller than ``stride``) adds rows at the end: it picks one of the
    ``stride`` input sizes that a strided convolution maps to the same ``n``.
    """
    if min(n, kernel, stride, dilation) < 1 or padding < 0 or not 0 <= output_padding < max(stride, dilation):
        raise ValueError(f"need n, kernel, stride, dilation >= 1, padding >= 0 and 0 <= output_padding < stride; got "
                         f"n={n}, kernel={kernel}, stride={stride}, padding={padding}, output_padding={output_padding}")
    size = (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if size < 1:
        raise ValueError(f"padding {padding} crops away the whole output ({size} pixels left): use less padding")
    return size


class ConvTransposeCache(NamedTuple):
    x: np.ndarray
    w: np.ndarray
    out_shape: tuple
    stride: tuple
    padding: tuple
    dilation: tuple


def _transpose_geometry(x, w, b, stride, padding, output_padding, dilation):
    _check_image(x, "conv_transpose2d")
    if w.ndim != 4 or w.shape[0] != x.shape[1]:
        raise ValueError(f"w must have shape (C_in={x.shape[1]}, C_out, kh, kw) (torch's layout for transposed "
                         f"convolutions), got {w.shape}")
    if b.shape != (w.shape[1],):
        raise ValueError(f"b has shape {b.shape}, expected ({w.shape[1]},): one bias per output channel")
    s, p, op, d = (_tuple(v, 2, name) for v, name in ((stride, "stride"), (padding, "padding"),
                                                       (output_padding, "output_padding"), (dilation, "dilation")))
    size = tuple(conv_transpose_output_size(x.shape[2 + i], w.shape[2 + i], s[i], p[i], op[i], d[i]) for i in range(2))
    return s, p, d, (x.shape[0], w.shape[1], *size)


def conv_transpose2d_loops_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: IntOrPair = 1,
                                   padding: IntOrPair = 0, output_padding: IntOrPair = 0, dilation: IntOrPair = 1):
    """The transposed convolution by its picture: every input pixel adds ``x · kernel`` at its place, ``stride`` apart.

    Slow (Python loops over images, channels and pixels) and obviously right;
    :func:`conv_transpose2d_forward` computes the same with one matrix product.
    """
    (sh, sw), (ph, pw), (dh, dw), out_shape = _transpose_geometry(x, w, b, stride, padding, output_padding, dilation)
    kh, kw = w.shape[2:]
    big = np.zeros((out_shape[0], out_shape[1], out_shape[2] + 2 * ph, out_shape[3] + 2 * pw))
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(x.shape[2]):
                for j in range(x.shape[3]):
                    rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
                    big[n, :, rows, cols] += x[n, c, i, j] * w[c]
    out = big[:, :, ph:ph + out_shape[2], pw:pw + out_shape[3]] + b[None, :, None, None]
    return out, ConvTransposeCache(x, w, out_shape, (sh, sw), (ph, pw), (dh, dw))


def conv_transpose2d_loops_backward(dout: np.ndarray, cache: ConvTransposeCache):
    """Returns ``(dx, dw, db)``: each stamp reads back the gradient under it (the same loops, reversed)."""
    x, w, _, (sh, sw), (ph, pw), (dh, dw_) = cache
    kh, kw = w.shape[2:]
    big = np.pad(dout, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(x.shape[2]):
                for j in range(x.shape[3]):
                    rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dw_ * (kw - 1) + 1, dw_)
                    patch = big[n, :, rows, cols]
                    dx[n, c, i, j] = np.sum(patch * w[c])
                    dw[c] += x[n, c, i, j] * patch
    return dx, dw, dout.sum(axis=(0, 2, 3))


def conv_transpose2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: IntOrPair = 1,
                             padding: IntOrPair = 0, output_padding: IntOrPair = 0, dilation: IntOrPair = 1):
    """Transposed convolution as ``col2im`` of one matrix product; equals ``F.conv_transpose2d``.

    ``cols = w.reshape(C_in, C_out·kh·kw)ᵀ @ x.reshape(N, C_in, H·W)`` holds, for every input
    pixel, its stamp (kernel times pixel value); ``conv.col2im`` adds the stamps up at their
    places (it is the backward pass of a convolution, which is exactly what "transposed" means).
    """
    s, p, d, out_shape = _transpose_geometry(x, w, b, stride, padding, output_padding, dilation)
    n, c_in = x.shape[:2]
    cols = w.reshape(c_in, -1).T @ x.reshape(n, c_in, -1)                   # (N, C_out·kh·kw, H·W)
    full = _stamped_size(x.shape, w.shape[2:], s, d)
    big = col2im(cols, (n, w.shape[1], *full), w.shape[2:], s, 0, d)        # every stamp, nothing cropped
    out = _crop(big, p, out_shape[2:]) + b[None, :, None, None]
    return out, ConvTransposeCache(x, w, out_shape, s, p, d)


def _stamped_size(x_shape, kernel, s, d) -> tuple:
    """Rows and columns that the stamps cover before any cropping: ``(n − 1)·s + d·(k − 1) + 1``."""
    return tuple((x_shape[2 + i] - 1) * s[i] + d[i] * (kernel[i] - 1) + 1 for i in range(2))


def _crop(big: np.ndarray, p: tuple, size: tuple) -> np.ndarray:
    """Rows ``p … p + size − 1`` of ``big`` (and the same for columns); rows past its end are zeros
    (that is where ``output_padding`` can reach beyond every stamp)."""
    extra = [max(0, p[i] + size[i] - big.shape[2 + i]) for i in range(2)]
    big = np.pad(big, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    return big[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]


def conv_transpose2d_backward(dout: np.ndarray, cache: ConvTransposeCache):
    """Returns ``(dx, dw, db)``. The gradient of a transposed convolution is a convolution:
    ``conv.im2col`` of ``dout`` gathers, for every input pixel, the gradients under its stamp."""
    x, w, out_shape, s, p, d = cache
    n, c_in = x.shape[:2]
    full = _stamped_size(x.shape, w.shape[2:], s, d)
    dbig = np.zeros((n, w.shape[1], full[0] + 2 * p[0] + out_shape[2], full[1] + 2 * p[1] + out_shape[3]))
    dbig[:, :, p[0]:p[0] + out_shape[2], p[1]:p[1] + out_shape[3]] = dout    # undo the crop ...
    cols = im2col(dbig[:, :, :full[0], :full[1]], w.shape[2:], s, 0, d)      # ... then gather under every stamp
    dx = (w.reshape(c_in, -1) @ cols).reshape(x.shape)
    dw = (x.reshape(n, c_in, -1) @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    return dx, dw, dout.sum(axis=(0, 2, 3))


def checkerboard_pattern(kernel: int, stride: int, size: int = 8) -> np.ndarray:
    """The output ``(H, W)`` of a transposed convolution of an all-ones ``size``×``size`` image with an all-ones kernel.

    Each output pixel counts the stamps that cover it. When ``stride`` does not divide
    ``kernel`` the count alternates between neighbouring pixels even far from the
    border: the **checkerboard artefact** (Odena, Dumoulin & Olah, 2016).
    """
    out, _ = conv_transpose2d_forward(np.ones((1, 1, size, size)), np.ones((1, 1, kernel, kernel)), np.zeros(1),
                                      stride=stride)
    return out[0, 0]
