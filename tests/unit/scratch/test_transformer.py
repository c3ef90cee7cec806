"""course_utils.scratch.transformer: the written-out block equals PyTorch's, causality, schedules, AdamW."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils.scratch import attention as att
from course_utils.scratch import transformer as tf

F64 = torch.float64


def _copy_block_into_torch(block: tf.TransformerBlock, d: int, heads: int) -> torch.nn.TransformerEncoderLayer:
    ref = torch.nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True).to(F64)
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(block.attn.qkv.weight)
        ref.self_attn.in_proj_bias.copy_(block.attn.qkv.bias)
        ref.self_attn.out_proj.weight.copy_(block.attn.proj.weight)
        ref.self_attn.out_proj.bias.copy_(block.attn.proj.bias)
        for ours, theirs in ((block.ln1, ref.norm1), (block.ln2, ref.norm2), (block.mlp[0], ref.linear1),
                             (block.mlp[2], ref.linear2)):
            theirs.weight.copy_(ours.weight)
            theirs.bias.copy_(ours.bias)
    return ref


@pytest.mark.parametrize("seed", range(3))
def test_pre_norm_block_equals_torch_transformer_encoder_layer_forward_and_backward(seed):
    torch.manual_seed(seed)
    d, heads, T = 8 * (seed + 1), [1, 2, 4][seed], 7
    block = tf.TransformerBlock(d, heads, context=T).to(F64)
    ref = _copy_block_into_torch(block, d, heads)
    x = torch.randn(3, T, d, dtype=F64, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=F64)
    ours, theirs = block(x), ref(x2, src_mask=mask, is_causal=True)
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)
    g = torch.randn_like(ours)
    ours.backward(g)
    theirs.backward(g)
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(block.attn.qkv.weight.grad, ref.self_attn.in_proj_weight.grad, rtol=1e-9, atol=1e-11)


def test_causal_attention_equals_the_numpy_multi_head_attention():
    torch.manual_seed(0)
    d, heads, T = 12, 3, 6
    a = tf.CausalSelfAttention(d, heads, T).to(F64)
    x = torch.randn(2, T, d, dtype=F64)
    W = a.qkv.weight.detach().numpy().T  # (d, 3d): columns q | k | v
    b = a.qkv.bias.detach().numpy()
    out, _ = att.multi_head_attention_forward(
        *(x.numpy(),) * 3, W[:, :d], W[:, d:2 * d], W[:, 2 * d:], b[:d], b[d:2 * d], b[2 * d:],
        a.proj.weight.detach().numpy().T, a.proj.bias.detach().numpy(), heads, mask=att.causal_mask(T))
    np.testing.assert_allclose(a(x).detach().numpy(), out, rtol=1e-10, atol=1e-12)


def test_relative_bias_enters_the_scores_by_offset():
    torch.manual_seed(1)
    a = tf.CausalSelfAttention(8, 2, 5, relative=True).to(F64)
    with torch.no_grad():
        a.rel.copy_(torch.arange(10, dtype=F64).reshape(2, 5))
    x = torch.randn(1, 5, 8, dtype=F64)
    plain = tf.CausalSelfAttention(8, 2, 5).to(F64)
    plain.load_state_dict({k: v for k, v in a.state_dict().items() if k != "rel"})
    diff = (a.scores(x)[0] - plain.scores(x)[0])[0]
    expected = torch.tensor(np.stack([att.relative_bias(a.rel[h].detach().numpy(), 5) for h in range(2)]))
    keep = torch.tril(torch.ones(5, 5, dtype=torch.bool))
    torch.testing.assert_close(diff[:, keep], expected[:, keep])


@pytest.mark.parametrize("positions", tf.POSITIONS)
def test_the_language_model_is_causal_for_every_position_scheme(positions):
    torch.manual_seed(2)
    m = tf.TransformerLM(11, d=16, layers=2, heads=2, context=9, positions=positions).to(F64)
    x = torch.randint(0, 11, (2, 9))
    y = x.clone()
    y[:, 6:] = (y[:, 6:] + 1) % 11  # change the future
    torch.testing.assert_close(m(x)[:, :6], m(y)[:, :6])
    assert not torch.allclose(m(x)[:, 6:], m(y)[:, 6:])
    scores = m.attention_scores(x)
    assert len(scores) == 2 and scores[0].shape == (2, 2, 9, 9) and torch.isinf(scores[0][0, 0, 0, 1])


def test_without_positions_self_attention_cannot_tell_order_but_with_them_it_can():
    torch.manual_seed(3)
    x = torch.tensor([[1, 2, 3, 4]])
    y = torch.tensor([[2, 1, 3, 4]])  # the first two swapped: position 2 sees the same set of symbols
    none = tf.TransformerLM(6, d=16, layers=1, heads=2, context=4, positions="none").to(F64)
    learned = tf.TransformerLM(6, d=16, layers=1, heads=2, context=4, positions="sinusoidal").to(F64)
    torch.testing.assert_close(none(x)[:, 2:], none(y)[:, 2:])
    assert not torch.allclose(learned(x)[:, 2:], learned(y)[:, 2:])


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="positions"):
        tf.TransformerLM(5, positions="rotary")
    with pytest.raises(ValueError, match="divisible"):
        tf.CausalSelfAttention(10, 3, 4)
    with pytest.raises(ValueError, match="longer than the context"):
        tf.TransformerLM(5, d=8, heads=2, context=4)(torch.zeros(1, 5, dtype=torch.long))


def test_schedules_follow_their_formulas():
    total, warm = 100, 10
    lr = [tf.warmup_cosine(s, total, warm) for s in range(total)]
    assert lr[0] == pytest.approx(0.1) and lr[9] == pytest.approx(1.0)
    assert lr[10] == pytest.approx(1.0) and lr[55] == pytest.approx(0.5)
    assert all(a >= b for a, b in zip(lr[10:], lr[11:]))
    rates = [tf.inverse_sqrt_rate(s, 512, 4000) for s in range(10000)]
    assert int(np.argmax(rates)) + 1 == 4000
    assert max(rates) == pytest.approx(512 ** -0.5 * 4000 ** -0.5)


def test_decoupled_weight_decay_equals_torch_adamw():
    rng = np.random.default_rng(4)
    w0, grad = rng.normal(size=5), rng.normal(size=5)
    lr, wd = 0.1, 0.5
    adam_p = torch.nn.Parameter(torch.tensor(w0))
    adam_p.grad = torch.tensor(grad)
    torch.optim.Adam([adam_p], lr=lr).step()
    adam_step = w0 - adam_p.detach().numpy()
    adamw_p = torch.nn.Parameter(torch.tensor(w0))
    adamw_p.grad = torch.tensor(grad)
    torch.optim.AdamW([adamw_p], lr=lr, weight_decay=wd).step()
    np.testing.assert_allclose(tf.decoupled_weight_decay_step(w0, adam_step, lr, wd), adamw_p.detach().numpy(),
                               rtol=1e-12)
    assert not math.isclose(float(adamw_p.detach()[0]), float(adam_p.detach()[0]))
