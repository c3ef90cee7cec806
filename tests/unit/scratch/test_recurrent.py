"""course_utils.scratch.recurrent: every cell and sequence against PyTorch (float64), forward and backward.

The cells and the unrolled sequences are rows of one ``LayerCase`` table (``tests/layer_harness.py``):
the torch twins are ``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell`` and ``torch.nn.RNN`` / ``LSTM`` /
``GRU`` (also bidirectional) with our arrays as their parameters (``torch.func.functional_call``), so
the comparison is with PyTorch's own modules, not a re-derivation. Leaky units and skip connections
have no torch module; their twin is autograd through the same recursion written in torch.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from layer_harness import LayerCase, assert_forward_backward_match, run_layer_case
from torch.func import functional_call

from course_utils.scratch import recurrent as rec

F64 = torch.float64


def _sizes(rng):
    return (int(v) for v in rng.integers(1, 5, size=3))  # n, d, H


def _cell_inputs(rng, gates, state_names=("h",)):
    n, d, H = _sizes(rng)
    arrays = {"x": rng.normal(size=(n, d))}
    for s in state_names:
        arrays[s] = rng.normal(size=(n, H))
    arrays.update({"Wx": rng.normal(size=(d, gates * H)) * 0.7, "Wh": rng.normal(size=(H, gates * H)) * 0.7})
    return arrays


def _seq_inputs(rng, gates, state_names=("h0",), T=None):
    n, d, H = _sizes(rng)
    T = T or int(rng.integers(1, 6))
    arrays = {"x": rng.normal(size=(T, n, d))}
    for s in state_names:
        arrays[s] = rng.normal(size=(n, H))
    arrays.update({"Wx": rng.normal(size=(d, gates * H)) * 0.7, "Wh": rng.normal(size=(H, gates * H)) * 0.7})
    return arrays


def _with_bias(rng, arrays, gates, two=False):
    H = arrays["Wh"].shape[0]
    if two:
        return {**arrays, "bx": rng.normal(size=gates * H), "bh": rng.normal(size=gates * H)}
    return {**arrays, "b": rng.normal(size=gates * H)}


def _torch_params(prefix_w_ih, Wx, Wh, bx, bh):
    return {prefix_w_ih[0]: Wx.T, prefix_w_ih[1]: Wh.T, prefix_w_ih[2]: bx, prefix_w_ih[3]: bh}


CELL_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _torch_cell(kind, d, H):
    return {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[kind](d, H)


def torch_rnn_cell(x, h, Wx, Wh, b):
    cell = _torch_cell("rnn", Wx.shape[0], Wh.shape[0])
    return functional_call(cell, _torch_params(CELL_NAMES, Wx, Wh, b, torch.zeros_like(b)), (x, h))


def torch_lstm_cell(x, h, c, Wx, Wh, b):
    cell = _torch_cell("lstm", Wx.shape[0], Wh.shape[0])
    h2, c2 = functional_call(cell, _torch_params(CELL_NAMES, Wx, Wh, b, torch.zeros_like(b)), (x, (h, c)))
    return torch.stack([h2, c2])


def torch_gru_cell(x, h, Wx, Wh, bx, bh):
    cell = _torch_cell("gru", Wx.shape[0], Wh.shape[0])
    return functional_call(cell, _torch_params(CELL_NAMES, Wx, Wh, bx, bh), (x, h))


SEQ_NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def torch_rnn_seq(x, h0, Wx, Wh, b):
    net = torch.nn.RNN(Wx.shape[0], Wh.shape[0])
    return functional_call(net, _torch_params(SEQ_NAMES, Wx, Wh, b, torch.zeros_like(b)), (x, h0[None]))[0]


def torch_lstm_seq(x, h0, c0, Wx, Wh, b):
    net = torch.nn.LSTM(Wx.shape[0], Wh.shape[0])
    return functional_call(net, _torch_params(SEQ_NAMES, Wx, Wh, b, torch.zeros_like(b)), (x, (h0[None], c0[None])))[0]


def torch_gru_seq(x, h0, Wx, Wh, bx, bh):
    net = torch.nn.GRU(Wx.shape[0], Wh.shape[0])
    return functional_call(net, _torch_params(SEQ_NAMES, Wx, Wh, bx, bh), (x, h0[None]))[0]


def torch_birnn(x, h0_f, h0_b, Wx_f, Wh_f, b_f, Wx_b, Wh_b, b_b):
    net = torch.nn.RNN(Wx_f.shape[0], Wh_f.shape[0], bidirectional=True)
    params = {**_torch_params(SEQ_NAMES, Wx_f, Wh_f, b_f, torch.zeros_like(b_f)),
              **_torch_params([n + "_reverse" for n in SEQ_NAMES], Wx_b, Wh_b, b_b, torch.zeros_like(b_b))}
    return functional_call(net, params, (x, torch.stack([h0_f, h0_b])))[0]


def torch_leaky(x, h0, Wx, Wh, b, alpha):
    h, hs = h0, []
    for t in range(x.shape[0]):
        h = alpha * h + (1 - alpha) * torch.tanh(x[t] @ Wx + h @ Wh + b)
        hs.append(h)
    return torch.stack(hs)


def torch_skip(x, h0, Wx, Wh, Ws, b, skip):
    hs = []
    for t in range(x.shape[0]):
        prev = hs[t - 1] if t >= 1 else h0
        far = hs[t - skip] if t >= skip else h0
        hs.append(torch.tanh(x[t] @ Wx + prev @ Wh + far @ Ws + b))
    return torch.stack(hs)


# LSTM cells return the state pair: the harness compares the stacked (2, n, H) array.
def _lstm_cell_stacked(*args):
    (h, c), cache = rec.lstm_cell_forward(*args)
    return np.stack([h, c]), cache


def _lstm_cell_stacked_backward(dout, cache):
    return rec.lstm_cell_backward((dout[0], dout[1]), cache)


def _birnn_inputs(rng):
    n, d, H = _sizes(rng)
    T = int(rng.integers(1, 6))
    a = {"x": rng.normal(size=(T, n, d)), "h0_f": rng.normal(size=(n, H)), "h0_b": rng.normal(size=(n, H))}
    for s in ("f", "b"):
        a.update({f"Wx_{s}": rng.normal(size=(d, H)), f"Wh_{s}": rng.normal(size=(H, H)) * 0.7,
                  f"b_{s}": rng.normal(size=H)})
    return a


def _skip_inputs(rng):
    a = _with_bias(rng, _seq_inputs(rng, 1, T=int(rng.integers(3, 9))), 1)
    H = a["Wh"].shape[0]
    a = {"x": a["x"], "h0": a["h0"], "Wx": a["Wx"], "Wh": a["Wh"], "Ws": rng.normal(size=(H, H)) * 0.5, "b": a["b"]}
    return a, {"skip": int(rng.integers(2, 4))}


RECURRENT = [
    LayerCase("rnn_cell", rec.rnn_cell_forward, rec.rnn_cell_backward, torch_rnn_cell,
              lambda rng: _with_bias(rng, _cell_inputs(rng, 1), 1)),
    LayerCase("lstm_cell", _lstm_cell_stacked, _lstm_cell_stacked_backward, torch_lstm_cell,
              lambda rng: _with_bias(rng, _cell_inputs(rng, 4, ("h", "c")), 4)),
    LayerCase("gru_cell", rec.gru_cell_forward, rec.gru_cell_backward, torch_gru_cell,
              lambda rng: _with_bias(rng, _cell_inputs(rng, 3), 3, two=True)),
    LayerCase("leaky_rnn_cell", rec.leaky_rnn_cell_forward, rec.leaky_rnn_cell_backward,
              lambda x, h, Wx, Wh, b, alpha: torch_leaky(x[None], h, Wx, Wh, b, alpha)[0],
              lambda rng: (_with_bias(rng, _cell_inputs(rng, 1), 1), {"alpha": 0.7})),
    LayerCase("rnn_sequence", rec.rnn_forward, rec.rnn_backward, torch_rnn_seq,
              lambda rng: _with_bias(rng, _seq_inputs(rng, 1), 1)),
    LayerCase("lstm_sequence", rec.lstm_forward, rec.lstm_backward, torch_lstm_seq,
              lambda rng: _with_bias(rng, _seq_inputs(rng, 4, ("h0", "c0")), 4)),
    LayerCase("gru_sequence", rec.gru_forward, rec.gru_backward, torch_gru_seq,
              lambda rng: _with_bias(rng, _seq_inputs(rng, 3), 3, two=True)),
    LayerCase("leaky_rnn_sequence", rec.leaky_rnn_forward, rec.leaky_rnn_backward, torch_leaky,
              lambda rng: (_with_bias(rng, _seq_inputs(rng, 1), 1), {"alpha": 0.8})),
    LayerCase("skip_rnn_sequence", rec.skip_rnn_forward, rec.skip_rnn_backward, torch_skip, _skip_inputs),
    LayerCase("birnn_sequence", rec.birnn_forward, rec.birnn_backward, torch_birnn, _birnn_inputs),
]


@pytest.mark.parametrize("case", RECURRENT, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(3))
def test_recurrent_layer_matches_torch_and_finite_differences(case, seed):
    run_layer_case(case, np.random.default_rng(seed))


def test_every_forward_of_the_module_is_in_the_table():
    forwards = {n[: -len("_forward")] for n in dir(rec) if n.endswith("_forward")}
    tested = {c.name.removesuffix("_sequence") for c in RECURRENT}
    assert forwards == tested, f"layers without a row in RECURRENT: {sorted(forwards - tested)}"


def test_long_sequence_gradients_equal_autograd_of_unrolled_torch_cells():
    """A whole 40-step LSTM sequence with a loss on every step: BPTT = autograd through torch.nn.LSTMCell."""
    rng = np.random.default_rng(7)
    T, n, d, H = 40, 3, 5, 6
    x, h0, c0 = rng.normal(size=(T, n, d)), rng.normal(size=(n, H)), rng.normal(size=(n, H))
    Wx, Wh, b = rng.normal(size=(d, 4 * H)) * 0.5, rng.normal(size=(H, 4 * H)) * 0.5, rng.normal(size=4 * H)
    target = rng.normal(size=(T, n, H))
    hs, cache = rec.lstm_forward(x, h0, c0, Wx, Wh, b)
    grads = rec.lstm_backward(2 * (hs - target), cache)  # L = Σ (h_t − y_t)²
    tens = [torch.tensor(a, requires_grad=True) for a in (x, h0, c0, Wx, Wh, b)]
    cell = torch.nn.LSTMCell(d, H)
    params = _torch_params(CELL_NAMES, tens[3], tens[4], tens[5], torch.zeros(4 * H, dtype=F64))
    h, c, loss = tens[1], tens[2], 0.0
    for t in range(T):
        h, c = functional_call(cell, params, (tens[0][t], (h, c)))
        loss = loss + ((h - torch.tensor(target[t])) ** 2).sum()
    loss.backward()
    for mine, t in zip(grads, tens):
        np.testing.assert_allclose(mine, t.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_the_table_catches_a_forget_gate_bug():
    def bad_backward(dstate, cache):
        grads = list(rec.lstm_cell_backward(dstate, cache))
        grads[2] = grads[2] * 0.5  # dc scaled: a wrong forget-gate path
        return tuple(grads)
    case = RECURRENT[1]
    bad = LayerCase("bad", case.forward, lambda d, c: bad_backward((d[0], d[1]), c), case.torch_fn, case.make_inputs)
    with pytest.raises(AssertionError):
        assert_forward_backward_match(bad, np.random.default_rng(0))


# ------------------------------------------------------- the gradient through time
@pytest.mark.parametrize("rho", [0.5, 0.9, 1.0, 1.2])
def test_linear_rnn_gradient_norm_is_rho_to_the_power_of_the_distance(rho):
    """With W = ρQ (Q orthogonal) and no nonlinearity, ‖∂L/∂h_t‖ = ρ^(T−1−t) ‖∂L/∂h_{T−1}‖ exactly."""
    rng = np.random.default_rng(0)
    T, H = 30, 16
    W = rec.scaled_recurrent_matrix(H, rho, rng, orthogonal=True)
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(W)), rho, rtol=1e-10)
    x = rng.normal(size=(T, 1, 3))
    g = rng.normal(size=(1, H))
    norms = rec.state_gradient_norms(x, np.zeros((1, H)), rng.normal(size=(3, H)), W, np.zeros(H), g, "identity")
    np.testing.assert_allclose(norms, np.linalg.norm(g) * rho ** (T - 1 - np.arange(T)), rtol=1e-10)


def test_random_matrix_has_the_requested_spectral_radius_and_tanh_only_shrinks():
    rng = np.random.default_rng(1)
    W = rec.scaled_recurrent_matrix(32, 1.3, rng)
    assert np.max(np.abs(np.linalg.eigvals(W))) == pytest.approx(1.3, rel=1e-10)
    # with W = ρQ, ‖D Wᵀ v‖ ≤ ρ ‖v‖ for any diagonal D with entries in [0, 1]: tanh can only shrink
    W = rec.scaled_recurrent_matrix(32, 1.3, rng, orthogonal=True)
    x, g = rng.normal(size=(25, 1, 2)), rng.normal(size=(1, 32))
    args = (x, np.zeros((1, 32)), rng.normal(size=(2, 32)), W, np.zeros(32), g)
    lin, th = rec.state_gradient_norms(*args, "identity"), rec.state_gradient_norms(*args, "tanh")
    assert np.all(th <= lin * (1 + 1e-12))  # |tanh'| <= 1 at every step, and W is the same


def test_clip_by_global_norm_matches_torch():
    rng = np.random.default_rng(2)
    grads = [rng.normal(size=(3, 4)) * 5, rng.normal(size=7) * 5]
    for max_norm in (0.5, 1e3):
        mine, norm = rec.clip_by_global_norm(grads, max_norm)
        ps = [torch.nn.Parameter(torch.zeros(g.shape, dtype=F64)) for g in grads]
        for p, g in zip(ps, grads):
            p.grad = torch.tensor(g)
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        assert norm == pytest.approx(float(total), rel=1e-12)
        for m, p in zip(mine, ps):
            np.testing.assert_allclose(m, p.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="positive"):
        rec.clip_by_global_norm(grads, 0)


def test_rnn_regression_gradients_match_torch_autograd():
    rng = np.random.default_rng(3)
    p = rec.init_rnn_regressor(2, 5, rng, spectral_radius=0.9)
    x, y = rng.normal(size=(6, 4, 2)), rng.normal(size=(6, 4, 1))
    loss, grads = rec.rnn_regression_loss(p, x, y)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    h, preds = torch.zeros(4, 5, dtype=F64), []
    for s in range(6):
        h = torch.tanh(torch.tensor(x[s]) @ t["Wx"] + h @ t["Wh"] + t["b"])
        preds.append(h @ t["V"] + t["c"])
    tl = ((torch.stack(preds) - torch.tensor(y)) ** 2).mean()
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    for k in p:
        np.testing.assert_allclose(grads[k], t[k].grad.numpy(), rtol=1e-9, atol=1e-12)


def test_training_reports_divergence_instead_of_raising():
    rng = np.random.default_rng(4)
    p = rec.init_rnn_regressor(1, 8, rng, spectral_radius=1.0)
    x, y = rng.normal(size=(10, 4, 1)), rng.normal(size=(10, 4, 1))
    res = rec.train_rnn_regression(p, lambda s: (x, y), steps=50, lr=1e6)
    assert res.diverged and "diverged" in res.message
    ok = rec.train_rnn_regression(p, lambda s: (x, y), steps=50, lr=0.05)
    assert not ok.diverged and ok.losses[-1] < ok.losses[0]


def test_bad_options_raise():
    with pytest.raises(ValueError, match="alpha"):
        rec.leaky_rnn_cell_forward(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), np.zeros(1),
                                   alpha=1.0)
    with pytest.raises(ValueError, match="skip"):
        rec.skip_rnn_forward(np.zeros((2, 1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)),
                             np.zeros((1, 1)), np.zeros(1), skip=1)
