"""One harness for every from-scratch layer: finite differences and the PyTorch twin.

A ``LayerCase`` names a layer's ``forward``/``backward`` pair (the contract of
``course_utils.scratch``), its PyTorch twin and a generator of random inputs::

    LayerCase("affine", layers.affine_forward, layers.affine_backward,
              lambda x, w, b: x @ w + b, make_inputs)

``make_inputs(rng)`` returns a dict of float64 arrays in the order of the forward
arguments, or ``(arrays, options)`` where ``options`` are non-differentiable
keyword arguments (a slope, a stride) passed to both the layer and the twin.
``backward`` returns one gradient per array, in the same order.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from course_utils.scratch import gradcheck


@dataclass
class LayerCase:
    name: str
    forward: Callable
    backward: Callable
    torch_fn: Callable
    make_inputs: Callable[[np.random.Generator], Any]
    rtol: float = 1e-10
    atol: float = 1e-12
    fd_tol: float = 1e-7
    extra: dict = field(default_factory=dict)

    def draw(self, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        made = self.make_inputs(rng)
        arrays, options = made if isinstance(made, tuple) else (made, {})
        return {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}, dict(options)


def _as_tuple(grads) -> tuple:
    return grads if isinstance(grads, tuple) else (grads,)


def assert_forward_backward_match(case: LayerCase, rng: np.random.Generator) -> None:
    """Forward output and every gradient equal the torch twin's (float64)."""
    arrays, options = case.draw(rng)
    out, cache = case.forward(*[a.copy() for a in arrays.values()], **options)
    dout = rng.standard_normal(np.shape(out))
    grads = _as_tuple(case.backward(dout, cache))
    assert len(grads) == len(arrays), (f"{case.name}: backward returned {len(grads)} gradients "
                                       f"for the {len(arrays)} inputs {list(arrays)}")
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays.values()]
    t_out = case.torch_fn(*tensors, **options)
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=case.rtol, atol=case.atol,
                               err_msg=f"{case.name}: forward differs from torch")
    t_out.backward(torch.tensor(dout))
    for name, mine, t in zip(arrays, grads, tensors):
        theirs = t.grad.numpy() if t.grad is not None else np.zeros_like(t.detach().numpy())
        np.testing.assert_allclose(mine, theirs, rtol=case.rtol, atol=case.atol,
                                   err_msg=f"{case.name}: gradient for {name} differs from torch autograd")


def assert_matches_finite_differences(case: LayerCase, rng: np.random.Generator) -> None:
    """Every analytic gradient equals central finite differences (``gradcheck.check_layer``),
    measured by ``norm_rel_error`` so that saturated units (true gradient ≈ 0) do not
    turn finite-difference round-off into a large elementwise relative error."""
    arrays, options = case.draw(rng)
    names = list(arrays)

    def forward(**kw):
        return case.forward(*[kw[n] for n in names], **options)

    errors = gradcheck.check_layer(forward, case.backward, arrays, rng, error=gradcheck.norm_rel_error)
    bad = {k: v for k, v in errors.items() if not v < case.fd_tol}
    assert not bad, f"{case.name}: finite-difference errors above {case.fd_tol}: {bad}"


def run_layer_case(case: LayerCase, rng: np.random.Generator) -> None:
    """Both checks, on independent random draws."""
    assert_forward_backward_match(case, rng)
    assert_matches_finite_differences(case, rng)
