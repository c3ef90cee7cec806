"""Echo state networks (Jaeger, 2001): a fixed random recurrent reservoir and a trained linear read-out.

Contract:

- ``make_reservoir(n_units, spectral_radius, rng, …) -> (W_in, W)``: input weights
  ``W_in (N, 1 + d)`` (the first column multiplies a constant 1, a bias) and a sparse random
  recurrent matrix ``W (N, N)`` rescaled to the given spectral radius. Neither is ever trained.
- ``reservoir_states(u, W_in, W, leak) -> X (T, N)``: the reservoir driven by the inputs
  ``u (T, d)``, ``h_t = (1 − a) h_{t−1} + a tanh(W_in [1; u_t] + W h_{t−1})`` from ``h = 0``;
  the leak rate ``a`` is ``1 − α`` of a leaky unit (:func:`course_utils.scratch.recurrent.leaky_rnn_cell_forward`).
- ``ridge_readout(X, y, ridge) -> w`` fits ``y ≈ [1, X] w`` by ridge regression (one linear
  solve: the only training an echo state network does); ``readout(X, w)`` applies it.
- ``delay_states(u, k)``: the last ``k`` inputs as features, a "reservoir" made of a shift
  register; with the same read-out it is a linear autoregressive model, AR(k).
- ``forecast(series, horizon, features, …) -> ForecastResult``: fit a read-out that predicts
  ``series[t + horizon]`` from the features at ``t`` on a training stretch, and score it on the
  stretch that follows by the normalised RMSE (RMSE / standard deviation of the target: 1 is
  no better than predicting the mean).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def make_reservoir(n_units: int, spectral_radius: float, rng: np.random.Generator, input_scale: float = 1.0,
                   density: float = 0.1, n_inputs: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Random input weights ``U(−s, s)`` and a sparse Gaussian recurrent matrix with spectral radius ``ρ``."""
    if n_units < 1 or not 0 < density <= 1:
        raise ValueError(f"need n_units >= 1 and 0 < density <= 1, got {n_units} and {density}")
    if spectral_radius < 0:
        raise ValueError(f"spectral_radius must be >= 0, got {spectral_radius}")
    W_in = input_scale * rng.uniform(-1, 1, size=(n_units, 1 + n_inputs))
    W = rng.standard_normal((n_units, n_units)) * (rng.random((n_units, n_units)) < density)
    radius = np.max(np.abs(np.linalg.eigvals(W)))
    return W_in, (W * (spectral_radius / radius) if radius > 0 else W)


def reservoir_states(u: np.ndarray, W_in: np.ndarray, W: np.ndarray, leak: float = 1.0) -> np.ndarray:
    """The states ``X (T, N)`` of the reservoir driven by ``u (T,)`` or ``(T, d)`` (see module docstring)."""
    if not 0 < leak <= 1:
        raise ValueError(f"leak must be in (0, 1], got {leak}")
    u = np.asarray(u, dtype=np.float64).reshape(len(u), -1)
    drive = np.c_[np.ones(len(u)), u] @ W_in.T  # the input part of every step, at once
    X = np.empty((len(u), W.shape[0]))
    h = np.zeros(W.shape[0])
    for t in range(len(u)):
        h = (1 - leak) * h + leak * np.tanh(drive[t] + W @ h)
        X[t] = h
    return X


def delay_states(u: np.ndarray, k: int) -> np.ndarray:
    """``X[t] = (u_t, u_{t−1}, …, u_{t−k+1})`` (zeros before the start): a shift-register reservoir."""
    u = np.asarray(u, dtype=np.float64).reshape(-1)
    X = np.zeros((len(u), k))
    for j in range(k):
        X[j:, j] = u[:len(u) - j]
    return X


def ridge_readout(X: np.ndarray, y: np.ndarray, ridge: float = 1e-6) -> np.ndarray:
    """Weights ``w`` minimising ``‖[1, X] w − y‖² + ridge ‖w‖²`` (the normal equations, one solve)."""
    A = np.c_[np.ones(len(X)), X]
    return np.linalg.solve(A.T @ A + ridge * np.eye(A.shape[1]), A.T @ y)


def readout(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The read-out's predictions ``[1, X] w``."""
    return np.c_[np.ones(len(X)), X] @ w


def nrmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Root-mean-square error divided by the target's standard deviation."""
    pred, target = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    return float(np.sqrt(np.mean((pred - target) ** 2)) / np.std(target))


@dataclass
class ForecastResult:
    """Predictions of ``series[t + horizon]`` on the evaluation stretch, the targets and the NRMSE."""

    times: np.ndarray
    predictions: np.ndarray
    targets: np.ndarray
    nrmse: float


def forecast(series: np.ndarray, horizon: int, features: np.ndarray, n_train: int, washout: int = 100,
             ridge: float = 1e-6) -> ForecastResult:
    """Fit a ridge read-out from ``features[t]`` to ``series[t + horizon]`` on ``washout ≤ t < n_train``,
    then predict for ``n_train ≤ t < len(series) − horizon`` (data the read-out never saw).

    The first ``washout`` states are skipped: they still remember the arbitrary start ``h = 0``.
    """
    series = np.asarray(series, dtype=np.float64).reshape(-1)
    if horizon < 1 or not washout < n_train < len(series) - horizon:
        raise ValueError(f"need horizon >= 1 and washout < n_train < len(series) − horizon; got horizon={horizon}, "
                         f"washout={washout}, n_train={n_train}, {len(series)} samples")
    target = series[horizon:]
    w = ridge_readout(features[washout:n_train], target[washout:n_train], ridge)
    times = np.arange(n_train, len(series) - horizon)
    pred = readout(features[times], w)
    return ForecastResult(times, pred, target[times], nrmse(pred, target[times]))


def repeat_last_forecast(series: np.ndarray, horizon: int, n_train: int) -> ForecastResult:
    """The trivial baseline: predict ``series[t + horizon] = series[t]``, on the same stretch as :func:`forecast`."""
    series = np.asarray(series, dtype=np.float64).reshape(-1)
    times = np.arange(n_train, len(series) - horizon)
    return ForecastResult(times, series[times], series[times + horizon], nrmse(series[times], series[times + horizon]))
