"""course_utils.scratch.dqn: replay buffer, targets and the (1 - terminated) mask, ε schedule, target copy, a run."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.scratch import dqn


def filled_buffer(n: int, capacity: int, seed: int = 0) -> dqn.ReplayBuffer:
    buf = dqn.ReplayBuffer(capacity, 2, np.random.default_rng(seed))
    for i in range(n):  # transition i is recognisable: obs (i, -i), action i % 3, reward i, next obs (i + 1, ...)
        buf.add(np.array([i, -i]), i % 3, float(i), np.array([i + 1, -i - 1]), i % 4 == 0)
    return buf


# ------------------------------------------------------------------ replay buffer
def test_buffer_sample_returns_consistent_stored_transitions():
    buf = filled_buffer(50, 100)
    assert len(buf) == 50
    obs, a, r, nxt, term = buf.sample(256)
    assert obs.shape == (256, 2) and obs.dtype == torch.float32 and a.dtype == torch.int64
    i = obs[:, 0].long()
    assert torch.equal(obs[:, 1], -obs[:, 0]) and torch.equal(a, i % 3) and torch.equal(r, i.float())
    assert torch.equal(nxt[:, 0], obs[:, 0] + 1) and torch.equal(term, (i % 4 == 0).float())
    assert i.min() >= 0 and i.max() <= 49  # only stored transitions


def test_buffer_samples_uniformly_with_replacement():
    buf = filled_buffer(10, 10)
    counts = np.bincount(buf.sample(20_000)[0][:, 0].long().numpy(), minlength=10)
    np.testing.assert_allclose(counts / 20_000, 0.1, atol=0.01)


def test_buffer_overwrites_the_oldest_when_full_and_is_seeded():
    buf = filled_buffer(25, 10)
    assert len(buf) == 10
    seen = set(buf.sample(2000)[0][:, 0].long().tolist())
    assert seen == set(range(15, 25))  # the 15 oldest are gone
    a, b = filled_buffer(25, 10, seed=3).sample(8), filled_buffer(25, 10, seed=3).sample(8)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    with pytest.raises(ValueError, match="empty replay buffer"):
        dqn.ReplayBuffer(5, 2, np.random.default_rng(0)).sample(4)


# ------------------------------------------------------------------ targets
def test_targets_against_a_hand_computation_with_and_without_the_mask():
    r = torch.tensor([1.0, 0.5, -1.0])
    next_q = torch.tensor([[2.0, 3.0], [0.0, -1.0], [4.0, 1.0]])
    term = torch.tensor([0.0, 0.0, 1.0])
    # by hand, gamma = 0.9: 1 + 0.9 * 3 = 3.7; 0.5 + 0.9 * 0 = 0.5; terminal: just -1
    torch.testing.assert_close(dqn.dqn_targets(r, next_q, term, 0.9), torch.tensor([3.7, 0.5, -1.0]))
    # without the mask the terminal transition would bootstrap: -1 + 0.9 * 4 = 2.6
    torch.testing.assert_close(dqn.dqn_targets(r, next_q, torch.zeros(3), 0.9), torch.tensor([3.7, 0.5, 2.6]))


def test_loss_is_huber_on_the_taken_action_and_uses_the_target_network():
    torch.manual_seed(0)
    q_net, target = dqn.make_q_net(2, 3, (8,), seed=0), dqn.make_q_net(2, 3, (8,), seed=1)
    batch = filled_buffer(20, 20).sample(16)
    obs, a, r, nxt, term = batch
    y = r + 0.9 * (1 - term) * target(nxt).max(1).values
    q = q_net(obs)[torch.arange(16), a]
    d = (q - y).abs()
    huber = torch.where(d < 1, 0.5 * d ** 2, d - 0.5).mean()
    torch.testing.assert_close(dqn.dqn_loss(q_net, target, batch, 0.9), huber)
    loss = dqn.dqn_loss(q_net, target, batch, 0.9)
    loss.backward()
    assert all(p.grad is None for p in target.parameters())  # no gradient flows into the target network
    # Double DQN: the online network picks the next action, the target network values it
    best = q_net(nxt).argmax(1)
    y2 = r + 0.9 * (1 - term) * target(nxt)[torch.arange(16), best]
    d2 = (q - y2).abs()
    torch.testing.assert_close(dqn.dqn_loss(q_net, target, batch, 0.9, double=True),
                               torch.where(d2 < 1, 0.5 * d2 ** 2, d2 - 0.5).mean())


# ------------------------------------------------------------------ schedule, networks
def test_linear_epsilon_schedule():
    assert dqn.linear_epsilon(0) == 1.0
    assert dqn.linear_epsilon(4000) == pytest.approx(0.52)
    assert dqn.linear_epsilon(8000) == pytest.approx(0.04) and dqn.linear_epsilon(10 ** 6) == pytest.approx(0.04)
    assert dqn.linear_epsilon(5, 0.5, 0.1, 0) == 0.1


def test_target_copy_is_equal_and_independent():
    online, target = dqn.make_q_net(4, 2, (16, 16), seed=0), dqn.make_q_net(4, 2, (16, 16), seed=1)
    x = torch.randn(5, 4)
    assert not torch.equal(online(x), target(x))
    dqn.copy_to_target(online, target)
    torch.testing.assert_close(online(x), target(x), rtol=0, atol=0)
    with torch.no_grad():
        online[0].weight.add_(1.0)  # training the online net later must not move the copy
    assert not torch.equal(online(x), target(x))


def test_q_net_shape_and_one_hot():
    net = dqn.make_q_net(16, 4, (32,), seed=0)
    assert net(torch.from_numpy(dqn.one_hot([0, 5, 15], 16))).shape == (3, 4)
    np.testing.assert_array_equal(dqn.one_hot(2, 4), [0, 0, 1, 0])


# ------------------------------------------------------------------ a short run
def test_train_dqn_short_run_is_reproducible_and_reports():
    kw = dict(max_steps=1200, learning_starts=200, train_every=100, updates_per_round=10, target_every=10,
              eval_every=600, eval_episodes=2, hidden=(16,), progress=False, seed=1)
    a, b = dqn.train_dqn(**kw), dqn.train_dqn(**kw)
    assert a.updates == 110 and len(a.losses) == 11 and list(a.eval_steps) == [600, 1200]  # rounds at 200, ..., 1200
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.eval_returns, b.eval_returns)
    assert a.best_return == a.eval_returns.max() and not a.solved and "no greedy evaluation reached 500" in a.message
    assert a.episode_steps[-1] <= 1200 and len(a.episode_returns) == len(a.episode_steps) == len(a.episode_seconds)


def test_train_dqn_on_one_hot_frozenlake_learns_the_short_path():
    res = dqn.train_dqn("FrozenLake-v1", env_kwargs={"map_name": "4x4", "is_slippery": False}, one_hot_states=True,
                        max_steps=4000, learning_starts=200, train_every=50, updates_per_round=25, target_every=50,
                        eps_decay_steps=2000, lr=1e-3, hidden=(32,), eval_every=500, eval_episodes=1, stop_at=1.0,
                        progress=False, seed=0)
    assert res.q_net[0].in_features == 16
    assert res.solved and res.best_return == 1.0  # the greedy policy walks to the goal without a hole
