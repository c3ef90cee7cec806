"""Chapter 11 · modern CNNs: the exercise checks (re-exported by the chapter module)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from torch import nn

from ... import checks
from ...scratch import conv, model_costs, residual
from ...scratch.layers import relu_backward
from ...scratch.metrics import top_k_accuracy
from . import SeparableConv, deep_run, flop_count

SEPARABLE_EXERCISE = dict(c_in=64, c_out=64, k=3)


def check_separable_ratio(answer) -> checks.CheckResult:
    """Derive-then-check: weights of a depthwise-separable 3×3 convolution over a standard one, 64 → 64 channels."""
    exact = model_costs.separable_vs_standard(**SEPARABLE_EXERCISE)
    hint = ("depthwise: one 3×3 kernel per input channel, 64·9 weights; pointwise: 64·64; standard: 64·64·9. "
            "The ratio is (64·9 + 64·64) / (64·64·9) = 1/64 + 1/9")
    return checks.check_value(answer, exact, name="separable / standard", rtol=0, atol=5e-4, hint=hint)


def check_top_k(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Implement: ``fn(scores, y, k) -> float``, against ``metrics.top_k_accuracy``."""
    ks = iter([1, 5, 3, 2, 5, 4, 1, 3])

    def make_inputs(rng):
        c = int(rng.integers(5, 12))
        n = int(rng.integers(20, 60))
        return rng.standard_normal((n, c)), rng.integers(0, c, n), next(ks)

    return checks.check_function(fn, top_k_accuracy, make_inputs, name="top_k_accuracy", trials=trials)


def _residual_inputs(rng):
    n, c, size = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(3, 6))
    x = rng.standard_normal((n, c, size, size))
    w1, w2 = (rng.standard_normal((c, c, 3, 3)) / 3 for _ in range(2))
    b1, b2 = rng.standard_normal(c), rng.standard_normal(c)
    _, cache = residual.residual_block_forward(x, w1, b1, w2, b2)
    return rng.standard_normal(x.shape), cache


def _residual_missing_skip(dout, cache):
    """The known bug: no gradient through the identity path."""
    dx, dw1, db1, dw2, db2 = residual.residual_block_backward(dout, cache)
    return dx - relu_backward(dout, cache.relu_out), dw1, db1, dw2, db2


def check_residual_backward(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Debug-this: ``fn(dout, cache) -> (dx, dw1, db1, dw2, db2)`` of the identity residual block."""
    probe = _residual_inputs(np.random.default_rng(7))
    try:
        got = fn(*probe)
        missing_skip = checks.compare(got, _residual_missing_skip(*probe), 1e-9, 1e-9) is None
    except Exception:  # check_function below reports it
        missing_skip = False
    if missing_skip:
        return checks.check_value(got, residual.residual_block_backward(*probe), name="residual backward", hint=(
            "the weights' gradients are right but dx lacks the identity path: the sum z = branch + x sends its "
            "gradient dz to x directly as well, so dx = dx_branch + dz"))
    return checks.check_function(fn, residual.residual_block_backward, _residual_inputs, name="residual backward",
                                 trials=trials, rtol=1e-9, atol=1e-9)


def check_plain_prediction(prediction, depth: int = 30, seed: int = 0) -> checks.CheckResult:
    """Predict-then-run: the test accuracy of the plain ``depth``-layer network after training."""
    actual = deep_run(depth, False, seed).test_accuracy
    hint = (f"the gradient reaching the first layers is ~1e-12 of what it needs to be, so the early layers never "
            f"move and the network predicts (almost) one class: about 1 in 10 test digits, here {actual:.3f}")
    return checks.check_value(prediction, actual, name="plain network's test accuracy", rtol=0, atol=0.05, hint=hint)


#: the design exercise's budget, for one 28×28 digit
DESIGN_MAX_PARAMS = 10_000
DESIGN_MAX_MFLOPS = 0.5
DESIGN_MIN_RF = 28


def build_design(spec: Sequence[tuple]) -> tuple[nn.Sequential, list[tuple[int, int, int]]]:
    """``spec``: layers ``("conv" | "sep", channels, kernel, stride)`` with "same" padding and ReLU,
    then global average pooling and a dense layer to 10 classes. Returns the network and its
    ``(kernel, stride, dilation)`` list for :func:`course_utils.scratch.conv.receptive_field`."""
    layers: list[nn.Module] = []
    geometry, c = [], 1
    for kind, c_out, k, stride in spec:
        if kind == "conv":
            layers += [nn.Conv2d(c, c_out, k, stride, padding=k // 2), nn.ReLU()]
        elif kind == "sep":
            layers.append(SeparableConv(c, c_out, k, stride))
        else:
            raise ValueError(f"unknown layer kind {kind!r}: use 'conv' or 'sep'")
        geometry.append((k, stride, 1))
        c = c_out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10)), geometry


def check_small_cnn_design(spec) -> checks.CheckResult:
    """Design-to-a-target: a digit classifier within ``DESIGN_MAX_PARAMS`` parameters and
    ``DESIGN_MAX_MFLOPS`` MFLOPs whose receptive field covers ``DESIGN_MIN_RF`` pixels."""
    name = "small CNN design"
    if spec is Ellipsis or spec is None:
        return checks.check_value(..., None, name=name)
    try:
        model, geometry = build_design(spec)
        params = sum(p.numel() for p in model.parameters())
        mflops = flop_count(model, (1, 1, 28, 28)) / 1e6
    except Exception as exc:  # a malformed spec: say so, do not raise
        return checks.check_value(f"an unusable spec ({type(exc).__name__}: {exc})",
                                  "a list of (kind, channels, kernel, stride)", name=name,
                                  hint="write e.g. [('conv', 8, 3, 2), ('sep', 16, 3, 2)]")
    rf = conv.receptive_field(geometry).sizes[-1]
    report = f"{params:,} parameters, {mflops:.3f} MFLOPs, receptive field {rf} px"
    problems = [f"too many parameters ({params:,} > {DESIGN_MAX_PARAMS:,}: separable layers cost less)"
                if params > DESIGN_MAX_PARAMS else "",
                f"too many FLOPs ({mflops:.3f} > {DESIGN_MAX_MFLOPS}: stride early, while the maps are large)"
                if mflops > DESIGN_MAX_MFLOPS else "",
                f"receptive field too small ({rf} < {DESIGN_MIN_RF}: strides multiply the growth of later layers)"
                if rf < DESIGN_MIN_RF else ""]
    problems = [p for p in problems if p]
    if problems:
        return checks.check_value(report, "within the budget", name=name, hint="; ".join(problems))
    return checks.check_value(True, True, name=f"{name}: {report}")
