"""course_utils.scratch.policy_gradient and rollouts: acting copies, greedy evaluation, REINFORCE runs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.scratch import policy_gradient as PG
from course_utils.scratch import rollouts


@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU])
def test_numpy_acting_copy_equals_torch_forward(act):
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(4, 8), act(), nn.Linear(8, 8), act(), nn.Linear(8, 2))
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(rollouts.numpy_forward(net)(x), net(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="handles Linear, Tanh and ReLU"):
        rollouts.numpy_forward(nn.Sequential(nn.Linear(4, 2), nn.Sigmoid()))


def test_reinforce_smoke_and_greedy_eval():
    res = PG.reinforce_cartpole(max_updates=3, batch_episodes=2, eval_every=1, eval_episodes=2, progress=False)
    assert res.updates == 3 and len(res.history["train_return"]) == 3 and not res.solved
    assert res.message == "not solved within 3 updates"
    scores = rollouts.evaluate_greedy(res.policy, 3, seed=5)
    assert scores.shape == (3,) and np.all((scores >= 8) & (scores <= 500))
