"""course_utils.scratch.denoisers: the time embedding and its torch twin, the networks, the training loop."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.data import make_moons
from course_utils.scratch import denoisers
from course_utils.scratch import diffusion as D


# --------------------------------------------------------------- torch twins
def test_time_embedding_numpy_vs_torch():
    t = np.array([0, 1, 7, 99, 500, 999])
    for dim in (2, 8, 32):
        np.testing.assert_allclose(denoisers.time_embedding(t, dim),
                                   denoisers.time_embedding_torch(torch.as_tensor(t), dim).numpy(), atol=2e-4)
    e = denoisers.time_embedding(np.array([3]), 4)
    np.testing.assert_allclose(e, [[np.sin(3), np.sin(3 / 100), np.cos(3), np.cos(3 / 100)]], rtol=1e-12)
    with pytest.raises(ValueError):
        denoisers.time_embedding(t, 5)


# ------------------------------------------------------------------ denoisers
def test_denoiser_shapes_and_seeded_init():
    m = denoisers.build_denoiser("mlp", seed=1, T=50)
    out = m(torch.randn(7, 2), torch.randint(1, 51, (7,)))
    assert out.shape == (7, 2)
    u = denoisers.build_denoiser("unet", seed=1, channels=8, T=50)
    assert u(torch.randn(3, 1, 8, 8), torch.tensor([1, 25, 50])).shape == (3, 1, 8, 8)
    u2 = denoisers.build_denoiser("unet", seed=1, channels=8, T=50)
    for p, q in zip(u.parameters(), u2.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(ValueError):
        denoisers.build_denoiser("transformer")


def test_training_is_deterministic_and_reduces_loss():
    s = D.linear_schedule(20)
    X, _ = make_moons(500, np.random.default_rng(0))
    runs = []
    for _ in range(2):
        m = denoisers.build_denoiser("mlp", seed=0, hidden=32, T=20)
        res = denoisers.train_denoiser(m, X, s, 150, batch_size=64, lr=1e-2, show_progress=False)
        runs.append((res.losses, [p.detach().clone() for p in m.parameters()]))
    assert not res.diverged and res.message == ""
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))
    assert np.mean(runs[0][0][-30:]) < 0.8 * np.mean(runs[0][0][:30])
    eps_fn = denoisers.eps_fn_from_model(m)
    assert eps_fn(X[:4], 3).shape == (4, 2)


def test_training_reports_divergence():
    s = D.linear_schedule(20)
    X, _ = make_moons(200, np.random.default_rng(0))
    m = denoisers.build_denoiser("mlp", seed=0, hidden=32, T=20)
    res = denoisers.train_denoiser(m, X * 1e6, s, 50, batch_size=64, lr=1.0, show_progress=False)
    assert res.diverged and "diverged" in res.message and len(res.losses) < 50
    with pytest.raises(ValueError):
        denoisers.train_denoiser(m, X, s, 0)


# ------------------------------------------------------------ weight averaging
def _tiny():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2)


def test_weight_ema_is_base_ewma_of_each_weight():
    from course_utils.base import ewma

    m, decay = _tiny(), 0.9
    avg = denoisers.WeightEMA(m, decay)
    visited = []
    for _ in range(25):
        with torch.no_grad():
            for p in m.parameters():
                p.add_(torch.randn_like(p))
        avg.update(m)
        visited.append(m.weight.detach().clone().numpy())
    got = avg.weights()["weight"].numpy()
    ref = np.array([[ewma([v[i, j] for v in visited], decay)[-1] for j in range(3)] for i in range(2)])
    np.testing.assert_allclose(got, ref, rtol=1e-5)


def test_weight_ema_gives_the_initial_weights_no_share():
    m = _tiny()
    init = m.weight.detach().clone()
    avg = denoisers.WeightEMA(m, 0.99)
    with pytest.raises(ValueError):
        avg.weights()
    with torch.no_grad():
        m.weight.add_(1.0)
    avg.update(m)
    torch.testing.assert_close(avg.weights()["weight"], m.weight.detach())  # one step: exactly the new weights
    # the uncorrected average started at the initial weights keeps 0.99^k of them: 13 % after 200 steps
    assert 0.99 ** 200 == pytest.approx(0.134, abs=1e-3)
    assert not torch.allclose(0.99 * init + 0.01 * m.weight.detach(), m.weight.detach())
    with pytest.raises(ValueError):
        denoisers.WeightEMA(m, 1.0)


def test_training_ends_with_the_average_and_logs_both_models():
    s = D.linear_schedule(20)
    X, _ = make_moons(300, np.random.default_rng(0))
    runs = {}
    for ema in (None, 0.99):
        m = denoisers.build_denoiser("mlp", seed=0, hidden=16, T=20)
        runs[ema] = (m, denoisers.train_denoiser(m, X, s, 1, batch_size=64, lr=1e-2, ema=ema, show_progress=False))
    # after one step the bias-corrected average is the trained weights themselves
    for p, q in zip(runs[None][0].parameters(), runs[0.99][0].parameters()):
        torch.testing.assert_close(p, q)
    m = denoisers.build_denoiser("mlp", seed=0, hidden=16, T=20)
    res = denoisers.train_denoiser(m, X, s, 250, batch_size=64, lr=1e-2, eval_every=100, show_progress=False)
    assert res.eval_steps == [100, 200, 250] and len(res.eval_losses) == len(res.ema_eval_losses) == 3
    # the model ends as the average: its loss on the fixed batch is the logged EMA loss
    batch = denoisers._eval_batch(torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(s.alpha_bar, dtype=torch.float32),
                                  300, 0)
    assert denoisers._eval_loss(m, batch) == pytest.approx(res.ema_eval_losses[-1], rel=1e-6)
    assert res.ema_eval_losses[-1] != res.eval_losses[-1]
    assert runs[None][1].ema_eval_losses == []
