"""What a layer costs: parameters and floating-point operations, as formulas.

Contract: every function takes the layer's sizes (plain ints) and returns an int.

- Parameters count every learned number (weights and biases; batch normalisation's
  scale and shift, not its running statistics, which are not learned).
- FLOPs count the multiply–adds of convolutions and dense layers, **two FLOPs per
  multiply–add**, for one forward pass of a batch of ``n`` examples, without the
  bias additions. That is the convention of ``torch.utils.flop_counter.FlopCounterMode``,
  which the chapter uses to check these formulas; activations, pooling, normalisation
  and additions are cheap in comparison and not counted.

A convolution with ``groups = g`` splits the ``c_in`` input channels into ``g`` groups
and each filter sees only its group's ``c_in / g`` channels: ``g = c_in`` is a
**depthwise** convolution (one filter per channel), the first half of a
depthwise-separable convolution.
"""
from __future__ import annotations


def conv2d_params(c_in: int, c_out: int, k: int, groups: int = 1, bias: bool = True) -> int:
    """``c_out · (c_in/groups · k² + 1)``: each filter has a ``c_in/groups × k × k`` kernel and a bias."""
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
    return c_out * (c_in // groups * k * k + (1 if bias else 0))


def conv2d_flops(c_in: int, c_out: int, k: int, h_out: int, w_out: int, groups: int = 1, n: int = 1) -> int:
    """``2 · n · c_out · h_out · w_out · (c_in/groups) · k²``: one multiply–add per weight per output position."""
    if c_in % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in}")
    return 2 * n * c_out * h_out * w_out * (c_in // groups) * k * k


def linear_params(d_in: int, d_out: int, bias: bool = True) -> int:
    """``d_out · (d_in + 1)``."""
    return d_out * (d_in + (1 if bias else 0))


def linear_flops(d_in: int, d_out: int, n: int = 1) -> int:
    """``2 · n · d_in · d_out``."""
    return 2 * n * d_in * d_out


def batchnorm_params(channels: int) -> int:
    """``2 · channels``: a learned scale γ and shift β per channel."""
    return 2 * channels


def separable_vs_standard(c_in: int, c_out: int, k: int) -> float:
    """Weights (no biases) of a depthwise-separable convolution over those of a standard one:
    ``(c_in·k² + c_in·c_out) / (c_in·c_out·k²) = 1/c_out + 1/k²``; the FLOPs have the same ratio."""
    return (c_in * k * k + c_in * c_out) / (c_in * c_out * k * k)
