"""The residual block of ResNet (He et al., 2016) in NumPy, on the layer contract.

Contract: ``residual_block_forward(x, w1, b1, w2, b2[, ws, bs], stride=1) -> (out, cache)``
and ``residual_block_backward(dout, cache) -> (dx, dw1, db1, dw2, db2[, dws, dbs])``, with
``x (N, C, H, W)`` and the shapes of :mod:`course_utils.scratch.conv`. The block computes

    h   = relu(conv(x, w1, b1, stride, "same" padding))
    out = relu(conv(h, w2, b2, 1, "same" padding) + shortcut(x))

where ``shortcut(x) = x`` (the identity, when the block keeps the shape) or a 1×1
convolution ``conv(x, ws, bs, stride)`` (the projection, when the block changes the
number of channels or the size). Kernels are square with an odd size.

Why it helps: the gradient reaching ``x`` is the branch's gradient *plus*, through the
identity, the gradient at the sum itself. Even when the branch's gradient vanishes,
``dx`` keeps the part that skipped it.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .conv import conv2d_backward, conv2d_forward
from .layers import relu_backward, relu_forward


class ResidualCache(NamedTuple):
    conv1: tuple        # cache of the first convolution
    relu1: np.ndarray   # its pre-activation, for the ReLU's backward
    conv2: tuple        # cache of the second convolution
    shortcut: tuple | None  # cache of the projection, None for the identity
    relu_out: np.ndarray    # the sum branch + shortcut, for the final ReLU's backward


def residual_block_forward(x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray,
                           ws: np.ndarray | None = None, bs: np.ndarray | None = None, stride: int = 1):
    """``relu(conv(relu(conv(x, w1, b1)), w2, b2) + shortcut(x))``; see the module docstring."""
    if (ws is None) != (bs is None):
        raise ValueError("give both ws and bs for a projection shortcut, or neither for the identity")
    if ws is None and (stride != 1 or w2.shape[0] != x.shape[1]):
        raise ValueError(f"an identity shortcut needs stride 1 and as many output channels as input channels "
                         f"({x.shape[1]}), got stride {stride} and {w2.shape[0]}: pass a projection ws, bs")
    z1, c1 = conv2d_forward(x, w1, b1, stride=stride, padding=w1.shape[-1] // 2)
    h, r1 = relu_forward(z1)
    z2, c2 = conv2d_forward(h, w2, b2, stride=1, padding=w2.shape[-1] // 2)
    if ws is None:
        skip, cs = x, None
    else:
        skip, cs = conv2d_forward(x, ws, bs, stride=stride)
    out, r_out = relu_forward(z2 + skip)
    return out, ResidualCache(c1, r1, c2, cs, r_out)


def residual_block_backward(dout: np.ndarray, cache: ResidualCache):
    """Returns ``(dx, dw1, db1, dw2, db2)``, plus ``(dws, dbs)`` with a projection shortcut.

    ``dz`` (the gradient at the sum) flows into the branch *and* into the shortcut; ``dx``
    adds the two: ``dx = dx_branch + dz`` for the identity.
    """
    dz = relu_backward(dout, cache.relu_out)
    dh, dw2, db2 = conv2d_backward(dz, cache.conv2)
    dx, dw1, db1 = conv2d_backward(relu_backward(dh, cache.relu1), cache.conv1)
    if cache.shortcut is None:
        return dx + dz, dw1, db1, dw2, db2
    dx_skip, dws, dbs = conv2d_backward(dz, cache.shortcut)
    return dx + dx_skip, dw1, db1, dw2, db2, dws, dbs
