"""Recurrent layers in NumPy: cells, backpropagation through time, and the gradient's fate.

The layer contract of :mod:`course_utils.scratch.layers`, for states as well as inputs:

- **Cells** map one time step: ``<cell>_forward(x, state…, *params, **options) -> (new state, cache)``
  and ``<cell>_backward(dnew_state, cache) -> (dx, dstate…, dparam…)`` in the order of the
  forward arguments. ``x`` is ``(n, d)``, a hidden state ``h`` is ``(n, H)``. The LSTM's state
  is the pair ``(h, c)``: its forward returns ``((h, c), cache)`` and its backward takes
  ``(dh, dc)``.
- **Sequences** are time-major, ``x (T, n, d)`` as in ``torch.nn.RNN``: ``<name>_forward(x, state0…,
  *params) -> (hs (T, n, H), cache)`` and ``<name>_backward(dhs, cache) -> (dx, dstate0…, dparam…)``,
  where ``dhs[t] = ∂L/∂h_t`` is what the loss sends to step ``t`` *directly*; the backward
  adds what comes back from step ``t + 1`` (backpropagation through time, BPTT).

Weights multiply on the right, ``x @ Wx`` with ``Wx (d, k·H)``; gates are stacked in
PyTorch's order so that each cell equals its ``torch.nn`` twin with ``weight_ih = Wxᵀ``:

- ``rnn``: ``h' = φ(x Wx + h Wh + b)`` (``φ`` = tanh, or any name of ``layers.ACTIVATIONS``);
- ``lstm`` (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000):
  gates ``i, f, g, o``; ``c' = f ⊙ c + i ⊙ g``, ``h' = o ⊙ tanh(c')``;
- ``gru`` (Cho et al., 2014): gates ``r, z, n`` with separate input and hidden biases
  ``bx, bh``; ``n = tanh(x Wxₙ + bxₙ + r ⊙ (h Whₙ + bhₙ))``, ``h' = (1 − z) ⊙ n + z ⊙ h``;
- ``leaky_rnn``: ``h' = α h + (1 − α) tanh(x Wx + h Wh + b)``, a leaky unit with a fixed α;
- ``skip_rnn`` (sequence only): ``h_t = tanh(x_t Wx + h_{t−1} Wh + h_{t−k} Ws + b)``, a
  skip connection through time of length ``k``;
- ``birnn`` (sequence only): one tanh RNN reads left to right, another right to left, and
  the two states are concatenated, ``(T, n, 2H)``.

Also: ``scaled_recurrent_matrix`` (a random ``W`` with a chosen spectral radius),
``state_gradient_norms`` (‖∂L/∂h_t‖ at every step for a loss on the last state),
``clip_by_global_norm`` and a small SGD run of a tanh RNN (``train_rnn_regression``) with and
without clipping.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..base import blew_up, divergence_message
from .layers import activation, sigmoid


# ----------------------------------------------------------------- the cells
def rnn_cell_forward(x: np.ndarray, h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
                     activation_name: str = "tanh"):
    """One step of the vanilla RNN, ``h' = φ(x Wx + h Wh + b)``; returns ``(h', cache)``."""
    fwd, bwd = activation(activation_name)
    h_next, act_cache = fwd(x @ Wx + h @ Wh + b)
    return h_next, (x, h, Wx, Wh, act_cache, bwd)


def rnn_cell_backward(dh_next: np.ndarray, cache):
    """Returns ``(dx, dh, dWx, dWh, db)``: ``dz = dh' ⊙ φ'(z)``, then the affine map's gradients."""
    x, h, Wx, Wh, act_cache, bwd = cache
    dz = bwd(dh_next, act_cache)
    return dz @ Wx.T, dz @ Wh.T, x.T @ dz, h.T @ dz, dz.sum(axis=0)


def lstm_cell_forward(x: np.ndarray, h: np.ndarray, c: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray):
    """One LSTM step; ``Wx (d, 4H)``, ``Wh (H, 4H)``, ``b (4H,)`` stack the gates ``i, f, g, o``.

    Returns ``((h', c'), cache)`` with ``c' = f ⊙ c + i ⊙ g`` and ``h' = o ⊙ tanh(c')``.
    """
    H = h.shape[1]
    a = x @ Wx + h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H:3 * H])
    c_next = f * c + i * g
    tc = np.tanh(c_next)
    return (o * tc, c_next), (x, h, c, Wx, Wh, i, f, g, o, tc)


def lstm_cell_backward(dstate, cache):
    """Returns ``(dx, dh, dc, dWx, dWh, db)`` for ``dstate = (dh', dc')``.

    The cell state's gradient is ``dc' + dh' ⊙ o ⊙ (1 − tanh²c')``; it reaches ``c`` multiplied
    by the forget gate only: the additive path that lets gradients survive many steps.
    """
    dh_next, dc_next = dstate
    x, h, c, Wx, Wh, i, f, g, o, tc = cache
    do = dh_next * tc
    dc_total = dc_next + dh_next * o * (1 - tc ** 2)
    di, df, dg = dc_total * g, dc_total * c, dc_total * i
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc_total * f, x.T @ da, h.T @ da, da.sum(axis=0)


def gru_cell_forward(x: np.ndarray, h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, bx: np.ndarray, bh: np.ndarray):
    """One GRU step; ``Wx (d, 3H)``, ``Wh (H, 3H)``, ``bx, bh (3H,)`` stack the gates ``r, z, n``.

    ``r = σ(…)`` resets the hidden contribution to the candidate ``n``, ``z = σ(…)`` mixes old
    and new: ``h' = (1 − z) ⊙ n + z ⊙ h``. Returns ``(h', cache)``.
    """
    H = h.shape[1]
    ax, ah = x @ Wx + bx, h @ Wh + bh
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    return (1 - z) * n + z * h, (x, h, Wx, Wh, r, z, n, ah[:, 2 * H:])


def gru_cell_backward(dh_next: np.ndarray, cache):
    """Returns ``(dx, dh, dWx, dWh, dbx, dbh)``."""
    x, h, Wx, Wh, r, z, n, ahn = cache
    dn = dh_next * (1 - z) * (1 - n ** 2)  # through the candidate's tanh
    dz = dh_next * (h - n) * z * (1 - z)
    dr = dn * ahn * r * (1 - r)
    dax = np.concatenate([dr, dz, dn], axis=1)
    dah = np.concatenate([dr, dz, dn * r], axis=1)
    return dax @ Wx.T, dh_next * z + dah @ Wh.T, x.T @ dax, h.T @ dah, dax.sum(axis=0), dah.sum(axis=0)


def leaky_rnn_cell_forward(x: np.ndarray, h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
                           alpha: float = 0.9):
    """A leaky unit: ``h' = α h + (1 − α) tanh(x Wx + h Wh + b)``, ``0 ≤ α < 1`` fixed.

    α close to 1 makes the state a slow moving average: ``∂h'/∂h = α I + (1 − α) …``, so part
    of the gradient passes every step multiplied by α instead of by ``Wh``.
    """
    if not 0 <= alpha < 1:
        raise ValueError(f"alpha must be in [0, 1), got {alpha}")
    t = np.tanh(x @ Wx + h @ Wh + b)
    return alpha * h + (1 - alpha) * t, (x, h, Wx, Wh, t, alpha)


def leaky_rnn_cell_backward(dh_next: np.ndarray, cache):
    """Returns ``(dx, dh, dWx, dWh, db)``."""
    x, h, Wx, Wh, t, alpha = cache
    dz = dh_next * (1 - alpha) * (1 - t ** 2)
    return dz @ Wx.T, alpha * dh_next + dz @ Wh.T, x.T @ dz, h.T @ dz, dz.sum(axis=0)


# ------------------------------------------------------- sequences and BPTT
def _unroll(cell_forward: Callable, x: np.ndarray, state: tuple, params: tuple, options: dict):
    """Run ``cell_forward`` over the time axis of ``x``; the state is a tuple whose first item is ``h``."""
    hs, caches = [], []
    for t in range(x.shape[0]):
        new, cache = cell_forward(x[t], *state, *params, **options)
        state = new if isinstance(new, tuple) else (new,)
        hs.append(state[0])
        caches.append(cache)
    return np.stack(hs), caches


def _bptt(cell_backward: Callable, dhs: np.ndarray, caches: list, n_state: int):
    """Backpropagation through time: walk the steps backwards, adding each step's parameter gradient.

    At step ``t`` the gradient on ``h_t`` is what the loss sends directly (``dhs[t]``) plus what
    step ``t + 1`` sends back through ``h_t``; the same weights were used at every step, so
    their gradients are the sums over steps.
    """
    dstate = [np.zeros_like(dhs[0]) for _ in range(n_state)]
    dxs, dparams = [], None
    for t in reversed(range(len(caches))):
        dstate[0] = dstate[0] + dhs[t]
        grads = cell_backward(dstate[0] if n_state == 1 else tuple(dstate), caches[t])
        dxs.append(grads[0])
        dstate = list(grads[1:1 + n_state])
        step_params = grads[1 + n_state:]
        dparams = list(step_params) if dparams is None else [a + g for a, g in zip(dparams, step_params)]
    return (np.stack(dxs[::-1]), *dstate, *dparams)


def rnn_forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
                activation_name: str = "tanh"):
    """The vanilla RNN over a sequence ``x (T, n, d)`` from ``h0 (n, H)``: ``(hs (T, n, H), cache)``."""
    return _unroll(rnn_cell_forward, x, (h0,), (Wx, Wh, b), {"activation_name": activation_name})


def rnn_backward(dhs: np.ndarray, cache):
    """BPTT for :func:`rnn_forward`: ``(dx, dh0, dWx, dWh, db)``."""
    return _bptt(rnn_cell_backward, dhs, cache, 1)


def lstm_forward(x: np.ndarray, h0: np.ndarray, c0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray):
    """An LSTM over ``x (T, n, d)``: the hidden states ``hs (T, n, H)`` and the cache."""
    return _unroll(lstm_cell_forward, x, (h0, c0), (Wx, Wh, b), {})


def lstm_backward(dhs: np.ndarray, cache):
    """BPTT for :func:`lstm_forward`: ``(dx, dh0, dc0, dWx, dWh, db)``."""
    return _bptt(lstm_cell_backward, dhs, cache, 2)


def gru_forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, bx: np.ndarray, bh: np.ndarray):
    """A GRU over ``x (T, n, d)``: ``(hs (T, n, H), cache)``."""
    return _unroll(gru_cell_forward, x, (h0,), (Wx, Wh, bx, bh), {})


def gru_backward(dhs: np.ndarray, cache):
    """BPTT for :func:`gru_forward`: ``(dx, dh0, dWx, dWh, dbx, dbh)``."""
    return _bptt(gru_cell_backward, dhs, cache, 1)


def leaky_rnn_forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
                      alpha: float = 0.9):
    """Leaky units over ``x (T, n, d)``: ``(hs (T, n, H), cache)``."""
    return _unroll(leaky_rnn_cell_forward, x, (h0,), (Wx, Wh, b), {"alpha": alpha})


def leaky_rnn_backward(dhs: np.ndarray, cache):
    """BPTT for :func:`leaky_rnn_forward`: ``(dx, dh0, dWx, dWh, db)``."""
    return _bptt(leaky_rnn_cell_backward, dhs, cache, 1)


def skip_rnn_forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, Ws: np.ndarray,
                     b: np.ndarray, skip: int = 4):
    """``h_t = tanh(x_t Wx + h_{t−1} Wh + h_{t−k} Ws + b)`` with ``k = skip``; states before step 0 are ``h0``.

    The extra connection skips ``k − 1`` steps, so a gradient needs only about ``T / k``
    multiplications by a recurrent matrix to cross ``T`` steps. Returns ``(hs (T, n, H), cache)``.
    """
    if skip < 2:
        raise ValueError(f"skip must be >= 2 (skip = 1 is the ordinary recurrence), got {skip}")
    hs = []
    for t in range(x.shape[0]):
        prev = hs[t - 1] if t >= 1 else h0
        far = hs[t - skip] if t >= skip else h0
        hs.append(np.tanh(x[t] @ Wx + prev @ Wh + far @ Ws + b))
    return np.stack(hs), (x, h0, Wx, Wh, Ws, np.stack(hs), skip)


def skip_rnn_backward(dhs: np.ndarray, cache):
    """BPTT with two recurrent paths: ``(dx, dh0, dWx, dWh, dWs, db)``."""
    x, h0, Wx, Wh, Ws, hs, skip = cache
    dh = dhs.copy()  # gradients arriving at each h_t; later steps add to earlier ones below
    dh0 = np.zeros_like(h0)
    dx, dWx, dWh, dWs, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(Ws), 0.0
    for t in reversed(range(x.shape[0])):
        dz = dh[t] * (1 - hs[t] ** 2)
        prev = hs[t - 1] if t >= 1 else h0
        far = hs[t - skip] if t >= skip else h0
        dx[t] = dz @ Wx.T
        dWx, dWh, dWs, db = dWx + x[t].T @ dz, dWh + prev.T @ dz, dWs + far.T @ dz, db + dz.sum(axis=0)
        if t >= 1:
            dh[t - 1] += dz @ Wh.T
        else:
            dh0 += dz @ Wh.T
        if t >= skip:
            dh[t - skip] += dz @ Ws.T
        else:
            dh0 += dz @ Ws.T
    return dx, dh0, dWx, dWh, dWs, db


def birnn_forward(x: np.ndarray, h0_f: np.ndarray, h0_b: np.ndarray, Wx_f: np.ndarray, Wh_f: np.ndarray,
                  b_f: np.ndarray, Wx_b: np.ndarray, Wh_b: np.ndarray, b_b: np.ndarray):
    """A bidirectional tanh RNN (Schuster & Paliwal, 1997): ``hs (T, n, 2H)``.

    ``hs[t, :, :H]`` has read ``x_0 … x_t`` (left to right), ``hs[t, :, H:]`` has read
    ``x_{T−1} … x_t`` (right to left): every step sees the whole sequence.
    """
    hf, cache_f = rnn_forward(x, h0_f, Wx_f, Wh_f, b_f)
    hb, cache_b = rnn_forward(x[::-1], h0_b, Wx_b, Wh_b, b_b)
    return np.concatenate([hf, hb[::-1]], axis=2), (cache_f, cache_b, hf.shape[2])


def birnn_backward(dhs: np.ndarray, cache):
    """Returns ``(dx, dh0_f, dh0_b, dWx_f, dWh_f, db_f, dWx_b, dWh_b, db_b)``."""
    cache_f, cache_b, H = cache
    dx_f, dh0_f, *dp_f = rnn_backward(dhs[:, :, :H], cache_f)
    dx_b, dh0_b, *dp_b = rnn_backward(dhs[::-1, :, H:], cache_b)
    return (dx_f + dx_b[::-1], dh0_f, dh0_b, *dp_f, *dp_b)


# ------------------------------------------------ the gradient through time
def scaled_recurrent_matrix(H: int, spectral_radius: float, rng: np.random.Generator,
                            orthogonal: bool = False) -> np.ndarray:
    """A random ``(H, H)`` matrix whose largest eigenvalue magnitude is ``spectral_radius``.

    ``orthogonal=True`` gives ``ρ·Q`` with ``Q`` a random orthogonal matrix: then every
    eigenvalue has magnitude ρ *and* ``‖Wᵀ v‖ = ρ ‖v‖`` exactly.
    """
    if orthogonal:
        q, r = np.linalg.qr(rng.standard_normal((H, H)))
        return spectral_radius * q * np.sign(np.diag(r))
    W = rng.standard_normal((H, H)) / np.sqrt(H)
    return W * (spectral_radius / np.max(np.abs(np.linalg.eigvals(W))))


def state_gradient_norms(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
                         dh_last: np.ndarray, activation_name: str = "tanh") -> np.ndarray:
    """``‖∂L/∂h_t‖`` for ``t = 0 … T−1`` when the loss sees only the last state, ``∂L/∂h_{T−1} = dh_last``.

    Runs :func:`rnn_forward`, then the BPTT recursion ``∂L/∂h_{t−1} = (∂L/∂h_t ⊙ φ'(z_t)) Whᵀ``
    step by step, keeping each norm (over the whole batch).
    """
    _, caches = rnn_forward(x, h0, Wx, Wh, b, activation_name)
    norms = np.empty(x.shape[0])
    dh = dh_last
    for t in reversed(range(x.shape[0])):
        norms[t] = np.linalg.norm(dh)
        dh = rnn_cell_backward(dh, caches[t])[1]
    return norms


def clip_by_global_norm(grads: Sequence[np.ndarray], max_norm: float) -> tuple[list[np.ndarray], float]:
    """Rescale all gradients together so that their joint L2 norm is at most ``max_norm``.

    Returns ``(clipped gradients, norm before clipping)``. The direction of the full gradient
    is kept; gradients already below ``max_norm`` are returned unchanged (as in
    ``torch.nn.utils.clip_grad_norm_``).
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    norm = float(np.sqrt(sum(float(np.sum(g ** 2)) for g in grads)))
    scale = min(1.0, max_norm / (norm + 1e-6))
    return [g * scale for g in grads], norm


@dataclass
class RnnTrainResult:
    """A scratch RNN's SGD run: loss and gradient norm per step, final parameters."""

    losses: np.ndarray
    grad_norms: np.ndarray
    params: dict
    diverged: bool
    message: str


def init_rnn_regressor(d: int, H: int, rng: np.random.Generator, spectral_radius: float = 1.0) -> dict:
    """Parameters of a tanh RNN with a linear read-out: ``Wx (d, H)``, ``Wh (H, H)``, ``b``, ``V (H, 1)``, ``c``."""
    return {"Wx": rng.standard_normal((d, H)) / np.sqrt(d), "Wh": scaled_recurrent_matrix(H, spectral_radius, rng),
            "b": np.zeros(H), "V": rng.standard_normal((H, 1)) / np.sqrt(H), "c": np.zeros(1)}


def rnn_regression_loss(params: dict, x: np.ndarray, y: np.ndarray):
    """Mean squared error of ``ŷ_t = h_t V + c`` against ``y (T, n, 1)``, and every parameter's gradient."""
    hs, cache = rnn_forward(x, np.zeros((x.shape[1], params["Wh"].shape[0])), params["Wx"], params["Wh"], params["b"])
    err = hs @ params["V"] + params["c"] - y
    loss = float(np.mean(err ** 2))
    dpred = 2 * err / err.size
    grads = {"V": np.einsum("tnh,tno->ho", hs, dpred), "c": dpred.sum(axis=(0, 1))}
    _, _, grads["Wx"], grads["Wh"], grads["b"] = rnn_backward(dpred @ params["V"].T, cache)
    return loss, grads


def train_rnn_regression(params: dict, batches: Callable[[int], tuple[np.ndarray, np.ndarray]], steps: int,
                         lr: float, max_norm: float | None = None) -> RnnTrainResult:
    """Plain SGD on :func:`rnn_regression_loss`, optionally clipping the global gradient norm.

    ``batches(step) -> (x (T, n, d), y (T, n, 1))``. Stops and reports when the loss blows up.
    """
    params = {k: v.copy() for k, v in params.items()}
    names = list(params)
    losses, norms = [], []
    for step in range(steps):
        with np.errstate(all="ignore"):
            loss, grads = rnn_regression_loss(params, *batches(step))
            g, norm = [grads[k] for k in names], float(np.sqrt(sum(np.sum(grads[k] ** 2) for k in names)))
            if max_norm is not None:
                g, norm = clip_by_global_norm(g, max_norm)
        losses.append(loss)
        norms.append(norm)
        if blew_up(loss, losses[0]) or not np.isfinite(norm):
            return RnnTrainResult(np.array(losses), np.array(norms), params, True,
                                  divergence_message("SGD on the RNN", step + 1, loss, "clip the gradient norm"))
        for k, gk in zip(names, g):
            params[k] = params[k] - lr * gk
    return RnnTrainResult(np.array(losses), np.array(norms), params, False, "")
