"""course_utils.scratch.attention: every attention layer against PyTorch (float64), with and without masks.

Dot-product attention is compared with ``torch.nn.functional.scaled_dot_product_attention``,
multi-head attention with ``torch.nn.MultiheadAttention`` itself (our arrays as its parameters via
``torch.func.functional_call``; its boolean masks mean "blocked", ours "allowed", so it gets ``~mask``),
additive attention with autograd through the same formula. Positional encodings are checked
against their closed forms.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from layer_harness import LayerCase, assert_forward_backward_match, run_layer_case
from torch.func import functional_call

from course_utils.scratch import attention as att

F64 = torch.float64


def _qkv(rng, batch=True):
    n, Tq, Tk, d, dv = (int(v) for v in rng.integers(1, 5, size=5))
    lead = (n,) if batch else ()
    return {"q": rng.normal(size=(*lead, Tq, d)), "k": rng.normal(size=(*lead, Tk, d)),
            "v": rng.normal(size=(*lead, Tk, dv))}


def _random_mask(rng, Tq, Tk):
    m = rng.random((Tq, Tk)) < 0.6
    m[np.arange(Tq), rng.integers(0, Tk, Tq)] = True  # every query keeps at least one key
    return m


def _sdpa_masked(rng):
    a = _qkv(rng)
    return a, {"mask": _random_mask(rng, a["q"].shape[-2], a["k"].shape[-2])}


def _sdpa_bias(rng):
    a = _qkv(rng)
    return a, {"bias": rng.normal(size=(a["q"].shape[-2], a["k"].shape[-2]))}


def torch_sdpa(q, k, v, mask=None, scale=True, bias=None):
    attn_mask = None if mask is None else torch.as_tensor(mask)
    if bias is not None:
        attn_mask = torch.as_tensor(bias)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=None if scale else 1.0)


def _additive(rng):
    a = _qkv(rng)
    h = int(rng.integers(1, 5))
    a.update({"Wq": rng.normal(size=(a["q"].shape[-1], h)), "Wk": rng.normal(size=(a["k"].shape[-1], h)),
              "w": rng.normal(size=h)})
    return a, {"mask": _random_mask(rng, a["q"].shape[-2], a["k"].shape[-2])}


def torch_additive(q, k, v, Wq, Wk, w, mask=None):
    s = torch.tanh((q @ Wq)[..., :, None, :] + (k @ Wk)[..., None, :, :]) @ w
    if mask is not None:
        s = s.masked_fill(~torch.as_tensor(mask), float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def _mha(rng, masks=()):
    n, Tq, Tk = (int(v) for v in rng.integers(1, 5, size=3))
    heads = int(rng.choice([1, 2, 3]))
    d = heads * int(rng.integers(1, 4))
    if "causal" in masks:
        Tk = Tq
    a = {"q": rng.normal(size=(n, Tq, d)), "k": rng.normal(size=(n, Tk, d)), "v": rng.normal(size=(n, Tk, d))}
    for name in ("Wq", "Wk", "Wv"):
        a[name] = rng.normal(size=(d, d)) / np.sqrt(d)
    for name in ("bq", "bk", "bv"):
        a[name] = rng.normal(size=d)
    a["Wo"], a["bo"] = rng.normal(size=(d, d)) / np.sqrt(d), rng.normal(size=d)
    opts = {"heads": heads}
    if "causal" in masks:
        opts["mask"] = att.causal_mask(Tq)
    if "keys" in masks:
        km = rng.random((n, Tk)) < 0.7
        km[:, 0] = True  # key 0 stays: with the causal mask, query 0 still has a key
        opts["key_mask"] = km
    return a, opts


def torch_mha(q, k, v, Wq, Wk, Wv, bq, bk, bv, Wo, bo, heads, mask=None, key_mask=None):
    d = q.shape[-1]
    mha = torch.nn.MultiheadAttention(d, heads, batch_first=True)
    params = {"in_proj_weight": torch.cat([Wq.T, Wk.T, Wv.T]), "in_proj_bias": torch.cat([bq, bk, bv]),
              "out_proj.weight": Wo.T, "out_proj.bias": bo}
    kwargs = {"need_weights": False}
    if mask is not None:
        kwargs["attn_mask"] = ~torch.as_tensor(mask)
    if key_mask is not None:
        kwargs["key_padding_mask"] = ~torch.as_tensor(key_mask)
    return functional_call(mha, params, (q, k, v), kwargs)[0]


# The key bias bk gets exactly zero gradient (it adds q·bk to every score of a query, and softmax
# ignores a shift), where finite differences return round-off: the table's rows hold bk fixed as an
# option, and test_the_key_bias_gets_no_gradient checks its zero gradient against torch.
def _mha_fixed_bk(q, k, v, Wq, Wk, Wv, bq, bv, Wo, bo, bk, heads, mask=None, key_mask=None):
    return att.multi_head_attention_forward(q, k, v, Wq, Wk, Wv, bq, bk, bv, Wo, bo, heads, mask, key_mask)


def _mha_fixed_bk_backward(dout, cache):
    dq, dk, dv, dWq, dWk, dWv, dbq, dbk, dbv, dWo, dbo = att.multi_head_attention_backward(dout, cache)
    return dq, dk, dv, dWq, dWk, dWv, dbq, dbv, dWo, dbo


def _torch_mha_fixed_bk(q, k, v, Wq, Wk, Wv, bq, bv, Wo, bo, bk, heads, mask=None, key_mask=None):
    return torch_mha(q, k, v, Wq, Wk, Wv, bq, torch.as_tensor(bk), bv, Wo, bo, heads, mask, key_mask)


def _mha_inputs(rng, masks=()):
    a, opts = _mha(rng, masks)
    opts["bk"] = a.pop("bk")
    return {k: a[k] for k in ("q", "k", "v", "Wq", "Wk", "Wv", "bq", "bv", "Wo", "bo")}, opts


ATTENTION = [
    LayerCase("dot_product_attention", att.dot_product_attention_forward, att.dot_product_attention_backward,
              torch_sdpa, _qkv),
    LayerCase("dot_product_attention_masked", att.dot_product_attention_forward,
              att.dot_product_attention_backward, torch_sdpa, _sdpa_masked),
    LayerCase("dot_product_attention_unscaled", att.dot_product_attention_forward,
              att.dot_product_attention_backward, torch_sdpa, lambda rng: (_qkv(rng), {"scale": False})),
    LayerCase("dot_product_attention_bias", att.dot_product_attention_forward,
              att.dot_product_attention_backward, torch_sdpa, _sdpa_bias),
    LayerCase("additive_attention", att.additive_attention_forward, att.additive_attention_backward,
              torch_additive, _additive),
    *[LayerCase(f"multi_head_attention{suffix}", _mha_fixed_bk, _mha_fixed_bk_backward, _torch_mha_fixed_bk,
                lambda rng, m=masks: _mha_inputs(rng, m))
      for suffix, masks in [("", ()), ("_causal", ("causal",)), ("_key_padding", ("keys",)),
                            ("_both_masks", ("causal", "keys"))]],
]


@pytest.mark.parametrize("case", ATTENTION, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(3))
def test_attention_layer_matches_torch_and_finite_differences(case, seed):
    run_layer_case(case, np.random.default_rng(seed))


def test_every_forward_of_the_module_is_in_the_table():
    forwards = {n for n in dir(att) if n.endswith("_forward")}
    tested = {c.forward.__name__ for c in ATTENTION} - {"_mha_fixed_bk"} | {"multi_head_attention_forward"}
    assert forwards == tested


@pytest.mark.parametrize("masks", [(), ("causal", "keys")])
def test_the_key_bias_gets_no_gradient_and_torch_agrees(masks):
    rng = np.random.default_rng(9)
    a, opts = _mha(rng, masks)
    out, cache = att.multi_head_attention_forward(*a.values(), **opts)
    dout = rng.normal(size=out.shape)
    dbk = att.multi_head_attention_backward(dout, cache)[7]
    tens = {k: torch.tensor(v, requires_grad=True) for k, v in a.items()}
    torch_mha(*tens.values(), **opts).backward(torch.tensor(dout))
    assert np.abs(dbk).max() < 1e-12 and tens["bk"].grad.abs().max().item() < 1e-12


def test_self_attention_of_one_array_sums_the_three_input_gradients():
    rng = np.random.default_rng(5)
    a, opts = _mha(rng, ("causal",))
    x = a["q"][:, :, :]
    params = [a[k] for k in ("Wq", "Wk", "Wv", "bq", "bk", "bv", "Wo", "bo")]
    out, cache = att.multi_head_attention_forward(x, x, x, *params, **opts)
    dout = rng.normal(size=out.shape)
    dq, dk, dv, *_ = att.multi_head_attention_backward(dout, cache)
    xt = torch.tensor(x, requires_grad=True)
    torch_mha(xt, xt, xt, *[torch.tensor(p) for p in params], **opts).backward(torch.tensor(dout))
    np.testing.assert_allclose(dq + dk + dv, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_mask_applied_after_the_softmax_is_caught():
    """The debug exercise's bug (zeroing weights after the softmax) differs from torch."""
    def after_softmax(q, k, v, mask=None):
        out, cache = att.dot_product_attention_forward(q, k, v)
        A = cache["weights"] * mask
        return A @ v, {**cache, "weights": A}
    bad = LayerCase("after", after_softmax, att.dot_product_attention_backward, torch_sdpa, _sdpa_masked)
    with pytest.raises(AssertionError):
        assert_forward_backward_match(bad, np.random.default_rng(1))


def test_masked_weights_are_zero_rows_sum_to_one_and_empty_rows_raise():
    rng = np.random.default_rng(2)
    a = _qkv(rng, batch=False)
    mask = att.causal_mask(a["q"].shape[0], a["k"].shape[0])
    _, cache = att.dot_product_attention_forward(a["q"], a["k"], a["v"], mask)
    assert np.all(cache["weights"][~mask] == 0)
    np.testing.assert_allclose(cache["weights"].sum(-1), 1.0, rtol=1e-12)
    with pytest.raises(ValueError, match="no key"):
        att.masked_softmax(np.zeros((2, 3)), np.array([[True, False, False], [False, False, False]]))


def test_nadaraya_watson_is_a_softmax_of_gaussian_scores_and_interpolates():
    xk = np.linspace(0, 5, 40)
    yk = np.sin(xk)
    pred, w = att.nadaraya_watson(xk, xk, yk, bandwidth=1e-3)
    np.testing.assert_allclose(pred, yk, atol=1e-9)  # a tiny bandwidth looks up the exact key
    pred, w = att.nadaraya_watson(np.array([2.0]), xk, yk, bandwidth=1e3)
    assert pred[0] == pytest.approx(yk.mean(), abs=1e-5)  # a huge one averages everything
    kern = np.exp(-(2.0 - xk) ** 2 / 2)
    _, w = att.nadaraya_watson(np.array([2.0]), xk, yk, bandwidth=1.0)
    np.testing.assert_allclose(w[0], kern / kern.sum(), rtol=1e-12)
    with pytest.raises(ValueError, match="bandwidth"):
        att.nadaraya_watson(xk, xk, yk, 0.0)


def test_hard_attention_picks_the_argmax_and_its_samples_average_to_soft_attention():
    rng = np.random.default_rng(4)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    soft, cache = att.dot_product_attention_forward(q, k, v)
    np.testing.assert_array_equal(att.hard_attention(q, k, v), v[cache["weights"].argmax(-1)])
    draws = np.mean([att.hard_attention(q, k, v, rng) for _ in range(4000)], axis=0)
    np.testing.assert_allclose(draws, soft, atol=0.06)


def test_sinusoidal_encoding_matches_the_formula_and_shifts_are_rotations():
    d, P = 16, 50
    pe = att.sinusoidal_encoding(P, d)
    p, i = 7, 3
    assert pe[p, 2 * i] == pytest.approx(np.sin(p / 10000 ** (2 * i / d)))
    assert pe[p, 2 * i + 1] == pytest.approx(np.cos(p / 10000 ** (2 * i / d)))
    for k in (1, 5, 13):
        M = att.shift_rotation(k, d)
        np.testing.assert_allclose(pe[:P - k] @ M.T, pe[k:], atol=1e-12)
        np.testing.assert_allclose(M @ M.T, np.eye(d), atol=1e-12)  # a rotation
    dots = pe @ pe.T  # the dot product depends on the offset only
    np.testing.assert_allclose(np.diag(dots, 3), np.diag(dots, 3)[0], atol=1e-10)
    with pytest.raises(ValueError, match="even"):
        att.sinusoidal_encoding(4, 7)


def test_relative_bias_depends_only_on_the_offset():
    table = np.array([0.5, -1.0, 2.0])
    B = att.relative_bias(table, 5)
    assert B[4, 3] == B[1, 0] == -1.0 and B[4, 2] == 2.0 and B[4, 0] == 2.0 and B[2, 2] == 0.5
    assert B.shape == (5, 5)
