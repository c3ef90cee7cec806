"""course_utils.scratch.model_costs: the formulas against torch's parameter counts and FlopCounterMode."""
import itertools

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from course_utils.scratch import model_costs as mc


def _flops(module, x):
    with FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops()


@pytest.mark.parametrize("c_in, c_out, k, stride, groups, bias",
                         [(3, 8, 3, 1, 1, True), (4, 6, 5, 2, 2, False), (8, 8, 3, 1, 8, True), (6, 12, 1, 1, 1, True),
                          (2, 4, 7, 3, 1, True)])
def test_conv_formulas(c_in, c_out, k, stride, groups, bias):
    layer = nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=bias)
    x = torch.zeros(3, c_in, 13, 11)
    out = layer(x)
    assert mc.conv2d_params(c_in, c_out, k, groups, bias) == sum(p.numel() for p in layer.parameters())
    assert mc.conv2d_flops(c_in, c_out, k, out.shape[2], out.shape[3], groups, n=3) == _flops(layer, x)


@pytest.mark.parametrize("d_in, d_out, n", list(itertools.product([1, 7], [3, 10], [1, 4])))
def test_linear_formulas(d_in, d_out, n):
    layer = nn.Linear(d_in, d_out)
    assert mc.linear_params(d_in, d_out) == sum(p.numel() for p in layer.parameters())
    assert mc.linear_flops(d_in, d_out, n) == _flops(layer, torch.zeros(n, d_in))


def test_batchnorm_and_separable_ratio():
    assert mc.batchnorm_params(5) == sum(p.numel() for p in nn.BatchNorm2d(5).parameters())
    c, k = 64, 3
    dw = nn.Conv2d(c, c, k, groups=c, bias=False)
    pw = nn.Conv2d(c, 2 * c, 1, bias=False)
    std = nn.Conv2d(c, 2 * c, k, bias=False)
    ratio = (dw.weight.numel() + pw.weight.numel()) / std.weight.numel()
    assert mc.separable_vs_standard(c, 2 * c, k) == pytest.approx(ratio) == pytest.approx(1 / (2 * c) + 1 / k**2)


def test_groups_must_divide_the_channels():
    with pytest.raises(ValueError, match="must divide"):
        mc.conv2d_params(6, 4, 3, groups=4)
