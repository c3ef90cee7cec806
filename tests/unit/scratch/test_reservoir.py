"""course_utils.scratch.reservoir: the reservoir is torch.nn.RNN with fixed weights; the read-out is ridge regression."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call

from course_utils.scratch import reservoir as res


def test_reservoir_has_the_requested_spectral_radius_and_sparsity():
    W_in, W = res.make_reservoir(200, 0.9, np.random.default_rng(0), input_scale=0.5, density=0.1)
    assert W_in.shape == (200, 2) and np.abs(W_in).max() <= 0.5
    assert np.max(np.abs(np.linalg.eigvals(W))) == pytest.approx(0.9, rel=1e-10)
    assert 0.07 < np.mean(W != 0) < 0.13
    _, W0 = res.make_reservoir(20, 0.0, np.random.default_rng(0))
    assert np.all(W0 == 0)
    with pytest.raises(ValueError, match="density"):
        res.make_reservoir(10, 0.9, np.random.default_rng(0), density=0)


def test_reservoir_without_leak_equals_torch_rnn():
    rng = np.random.default_rng(1)
    W_in, W = res.make_reservoir(30, 1.1, rng, n_inputs=2)
    u = rng.normal(size=(50, 2))
    ours = res.reservoir_states(u, W_in, W, leak=1.0)
    rnn = torch.nn.RNN(2, 30, nonlinearity="tanh")
    params = {"weight_ih_l0": torch.tensor(W_in[:, 1:]), "weight_hh_l0": torch.tensor(W),
              "bias_ih_l0": torch.tensor(W_in[:, 0]), "bias_hh_l0": torch.zeros(30, dtype=torch.float64)}
    theirs = functional_call(rnn, params, (torch.tensor(u)[:, None, :],))[0][:, 0]
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_leaky_reservoir_follows_its_recursion():
    rng = np.random.default_rng(2)
    W_in, W = res.make_reservoir(10, 0.8, rng)
    u = rng.normal(size=20)
    X = res.reservoir_states(u, W_in, W, leak=0.3)
    h = np.zeros(10)
    for t in range(20):
        h = 0.7 * h + 0.3 * np.tanh(W_in @ np.array([1.0, u[t]]) + W @ h)
    np.testing.assert_allclose(X[-1], h, rtol=1e-12)
    with pytest.raises(ValueError, match="leak"):
        res.reservoir_states(u, W_in, W, leak=0.0)


def test_ridge_readout_solves_the_regularised_normal_equations():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(40, 5)), rng.normal(size=40)
    w = res.ridge_readout(X, y, ridge=0.0)
    A = torch.tensor(np.c_[np.ones(40), X])
    np.testing.assert_allclose(w, torch.linalg.lstsq(A, torch.tensor(y)).solution.numpy(), rtol=1e-9)
    w_r = res.ridge_readout(X, y, ridge=2.0)
    np.testing.assert_allclose(A.numpy().T @ (A.numpy() @ w_r - y) + 2.0 * w_r, 0, atol=1e-10)  # gradient = 0
    np.testing.assert_allclose(res.readout(X, w), A.numpy() @ w)


def test_delay_states_and_forecast_recover_a_linear_autoregression():
    rng = np.random.default_rng(4)
    s = np.zeros(3000)
    for t in range(2, 3000):
        s[t] = 1.6 * s[t - 1] - 0.8 * s[t - 2] + 0.01 * rng.normal()
    D = res.delay_states(s, 3)
    np.testing.assert_array_equal(D[5], [s[5], s[4], s[3]])
    assert np.all(D[0, 1:] == 0)
    fit = res.forecast(s, 1, D, n_train=2000)
    optimal = 0.01 / np.std(fit.targets)  # only the unpredictable noise is left
    assert fit.nrmse == pytest.approx(optimal, rel=0.1) and len(fit.times) == 999 and fit.times[0] == 2000
    last = res.repeat_last_forecast(s, 1, n_train=2000)
    np.testing.assert_array_equal(last.times, fit.times)
    np.testing.assert_array_equal(last.targets, fit.targets)
    assert last.nrmse > 1.5 * fit.nrmse
    assert res.nrmse(np.full(10, 3.0), np.arange(10.0)) == pytest.approx(np.sqrt(np.mean((3 - np.arange(10)) ** 2)) / np.std(np.arange(10)))
    with pytest.raises(ValueError, match="n_train"):
        res.forecast(s, 1, D, n_train=50, washout=100)
