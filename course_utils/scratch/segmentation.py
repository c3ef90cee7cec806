"""Semantic segmentation: a small U-Net and the IoU scores of masks.

Contract:

- A segmenter is a ``torch.nn.Module`` mapping images ``(n, C, H, W)`` to per-pixel
  logits ``(n, K, H, W)`` (``K = 1``: one logit for "shape", against background).
  It is **fully convolutional**: no layer depends on ``H`` and ``W``, so it runs on images
  of any size divisible by ``2^(levels − 1)``.
- :class:`UNet` (Ronneberger, Fischer & Brox, 2015): an encoder of (conv-BN-ReLU)×2 blocks
  that halves the resolution and widens the channels at each level, a decoder that
  upsamples with 2×2 stride-2 transposed convolutions, and **skip connections** that
  concatenate each encoder level's features to the decoder's input at the same
  resolution. ``skips=False`` feeds zeros instead: the same network, the same number of
  parameters, but the fine detail must now pass through the bottleneck.
- Scores on boolean masks ``(n, H, W)``: :func:`iou_per_image` (``|P ∩ T| / |P ∪ T|`` per
  image), :func:`mean_iou` (the IoU of each class over the whole set, averaged over the
  classes, background included: the usual "mIoU").
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


def double_conv(c_in: int, c_out: int) -> nn.Sequential:
    """(3×3 convolution, batch norm, ReLU) twice; ``padding=1`` keeps the size."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())


class UNet(nn.Module):
    """A U-Net with ``len(channels)`` levels: ``(n, in_channels, H, W) → (n, out_channels, H, W)`` logits.

    Level ``i`` of the encoder works at resolution ``H / 2^i`` with ``channels[i]``
    channels; the decoder climbs back with transposed convolutions and, at each level,
    a :func:`double_conv` of the upsampled features concatenated with the encoder's
    (zeros instead when ``skips=False``).
    """

    def __init__(self, channels: Sequence[int] = (8, 16, 32, 64), in_channels: int = 3, out_channels: int = 1,
                 skips: bool = True):
        super().__init__()
        self.skips = skips
        widths = [in_channels, *channels]
        self.down = nn.ModuleList(double_conv(widths[i], widths[i + 1]) for i in range(len(channels)))
        self.up = nn.ModuleList(nn.ConvTranspose2d(channels[i + 1], channels[i], 2, stride=2)
                                for i in range(len(channels) - 1))
        self.merge = nn.ModuleList(double_conv(2 * channels[i], channels[i]) for i in range(len(channels) - 1))
        self.head = nn.Conv2d(channels[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        saved = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            saved.append(x)
        x = saved.pop()                                           # the bottleneck
        for i in reversed(range(len(self.up))):
            x = self.up[i](x)
            skip = saved.pop()
            x = self.merge[i](torch.cat([x, skip if self.skips else torch.zeros_like(skip)], dim=1))
        return self.head(x)


def iou_per_image(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """IoU of boolean masks ``(n, H, W)``, one per image; an image where both are empty scores 1."""
    pred, target = np.asarray(pred, dtype=bool), np.asarray(target, dtype=bool)
    inter = (pred & target).sum(axis=(1, 2))
    union = (pred | target).sum(axis=(1, 2))
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def mean_iou(pred: np.ndarray, target: np.ndarray, n_classes: int = 2) -> float:
    """Mean over classes ``0 … n_classes−1`` of the IoU of ``pred == c`` and ``target == c`` over all pixels
    of all images (integer or boolean label maps of equal shape)."""
    pred, target = np.asarray(pred).astype(np.int64), np.asarray(target).astype(np.int64)
    ious = []
    for c in range(n_classes):
        p, t = pred == c, target == c
        union = np.sum(p | t)
        if union:
            ious.append(np.sum(p & t) / union)
    return float(np.mean(ious))
