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


def test_reinforce_weights_discount_and_standardise():
    G, b, t = torch.tensor([3.0, 2.0, 1.0]), torch.tensor([1.0, 1.0, 1.0]), torch.tensor([0.0, 1.0, 2.0])
    w = PG.reinforce_weights(G, b, t, 0.5, discount_states=False, standardise=False)
    torch.testing.assert_close(w, torch.tensor([2.0, 1.0, 0.0]))
    w = PG.reinforce_weights(G, b, t, 0.5, discount_states=True, standardise=False)
    torch.testing.assert_close(w, torch.tensor([2.0, 0.5, 0.0]))  # times gamma^t
    w = PG.reinforce_weights(G, b, t, 0.5)
    torch.testing.assert_close(w.mean(), torch.tensor(0.0), atol=1e-6, rtol=0)
    torch.testing.assert_close(w.std(), torch.tensor(1.0), atol=1e-6, rtol=0)


def test_gradient_estimates_are_unbiased_with_a_state_baseline():
    """E[score · b(s)] = 0: the estimates with and without a baseline have the same mean (within noise)."""
    policy = PG.make_policy_net(seed=1)
    value = PG.make_policy_net(n_actions=1, seed=2)
    with torch.no_grad():
        value[-1].bias.fill_(15.0)  # a baseline of the size of the returns
    est = PG.gradient_estimates(policy, {"v": value}, 150, batch_episodes=2, seed=0)
    d = est["none"] - est["v"]
    z = d.mean(0) / (d.std(0) / np.sqrt(len(d)) + 1e-12)
    assert np.abs(z).max() < 4.5  # every coordinate's mean difference is within noise
    assert (((est["v"] - est["v"].mean(0)) ** 2).sum(1).mean() < ((est["none"] - est["none"].mean(0)) ** 2).sum(1).mean())


def test_fit_value_predicts_the_returns_of_its_policy():
    policy = PG.make_policy_net(seed=0)
    value = PG.fit_value(policy, n_episodes=20, seed=0)
    obs = torch.zeros(1, 4)  # an upright pole at rest: a random policy keeps it up for a while
    with torch.no_grad():
        assert 5.0 < value(obs).item() < 40.0


def test_reinforce_records_steps_snapshots_and_exact_weighting_runs():
    res = PG.reinforce_cartpole(max_updates=2, batch_episodes=2, eval_every=1, eval_episodes=2, snapshot_at=(2,),
                                discount_states=True, progress=False)
    h = res.history
    assert h["env_steps"][0] > 0 and h["env_steps"][1] > h["env_steps"][0] and len(h["eval_return"]) == 2
    assert set(res.snapshots) == {2} and set(res.snapshots[2][0]) == set(res.policy.state_dict())
