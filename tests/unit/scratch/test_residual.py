"""course_utils.scratch.residual: the residual block against its torch twin and finite differences."""
import numpy as np
import pytest
import torch.nn.functional as F
from layer_harness import LayerCase, run_layer_case

from course_utils.scratch import residual


def _torch_block(x, w1, b1, w2, b2, ws=None, bs=None, stride=1):
    h = F.relu(F.conv2d(x, w1, b1, stride=stride, padding=w1.shape[-1] // 2))
    skip = x if ws is None else F.conv2d(x, ws, bs, stride=stride)
    return F.relu(F.conv2d(h, w2, b2, padding=w2.shape[-1] // 2) + skip)


def _inputs(rng, projection):
    n, c, size = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(3, 7))
    k = int(rng.choice([1, 3, 5]))
    c_out = int(rng.integers(1, 4)) if projection else c
    stride = int(rng.integers(1, 3)) if projection else 1
    arrays = {"x": rng.normal(size=(n, c, size, size)), "w1": rng.normal(size=(c_out, c, k, k)) / k,
              "b1": rng.normal(size=c_out), "w2": rng.normal(size=(c_out, c_out, k, k)) / k,
              "b2": rng.normal(size=c_out)}
    if projection:
        arrays |= {"ws": rng.normal(size=(c_out, c, 1, 1)), "bs": rng.normal(size=c_out)}
    return arrays, {"stride": stride}


BLOCKS = [
    LayerCase("residual_identity", residual.residual_block_forward, residual.residual_block_backward, _torch_block,
              lambda rng: _inputs(rng, False)),
    LayerCase("residual_projection", residual.residual_block_forward, residual.residual_block_backward,
              _torch_block, lambda rng: _inputs(rng, True)),
]


@pytest.mark.parametrize("case", BLOCKS, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(5))
def test_residual_block_matches_torch_and_finite_differences(case, seed):
    run_layer_case(case, np.random.default_rng(seed))


def test_identity_path_carries_the_gradient_when_the_branch_is_dead():
    # a branch whose ReLU never fires: the block is relu(b2 + x), and the gradient still reaches x
    rng = np.random.default_rng(0)
    x = np.abs(rng.normal(size=(1, 2, 4, 4))) + 0.1
    w1, b1 = np.zeros((2, 2, 3, 3)), np.full(2, -1.0)
    out, cache = residual.residual_block_forward(x, w1, b1, rng.normal(size=(2, 2, 3, 3)), np.zeros(2))
    np.testing.assert_allclose(out, x)
    dx, dw1, *_ = residual.residual_block_backward(np.ones_like(out), cache)
    np.testing.assert_allclose(dx, 1.0)
    assert np.all(dw1 == 0)


def test_shortcut_errors_are_clear():
    x = np.ones((1, 2, 4, 4))
    w = np.ones((3, 2, 3, 3))
    with pytest.raises(ValueError, match="projection"):
        residual.residual_block_forward(x, w, np.ones(3), np.ones((3, 3, 3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="both ws and bs"):
        residual.residual_block_forward(x, w, np.ones(3), np.ones((3, 3, 3, 3)), np.ones(3), ws=np.ones((3, 2, 1, 1)))
