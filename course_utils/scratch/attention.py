"""Attention in NumPy: pooling, additive and scaled dot-product attention, multi-head attention,
masks and positional encodings.

Attention is a soft dictionary lookup: a query ``q`` is compared with every key ``k_j``, the
scores become weights ``α_j = softmax_j(score(q, k_j))`` (non-negative, summing to 1), and
the output is ``Σ_j α_j v_j``, a weighted average of the values.

Layer contract (as in :mod:`course_utils.scratch.layers`): ``<name>_forward(…) -> (out, cache)``,
``<name>_backward(dout, cache) -> (gradients in the order of the array arguments)``.

Shapes: queries ``q (…, Tq, d)``, keys ``k (…, Tk, d)``, values ``v (…, Tk, dv)``; the leading
``…`` are batch dimensions (examples, heads). Masks are boolean, **True where a query may
attend to a key** (as ``torch.nn.functional.scaled_dot_product_attention``; note that
``torch.nn.MultiheadAttention`` takes the opposite convention, True = blocked, so pass it
``~mask``). Masking happens *before* the softmax: a blocked score becomes −∞ and its weight
exactly 0, and the remaining weights still sum to 1.

- ``nadaraya_watson``: attention pooling with a Gaussian kernel (Nadaraya, 1964; Watson, 1964).
- ``additive_attention_forward/backward``: ``score = wᵀ tanh(q Wq + k Wk)`` (Bahdanau et al., 2015).
- ``dot_product_attention_forward/backward``: ``softmax(q kᵀ / √d) v`` (Vaswani et al., 2017).
- ``multi_head_attention_forward/backward``: ``h`` heads of dot-product attention on learned
  projections, concatenated and projected; equal to ``torch.nn.MultiheadAttention``.
- ``hard_attention``: one value instead of an average (the arg-max, or one sampled by the weights).
- ``causal_mask``, ``sinusoidal_encoding``, ``shift_rotation`` (the linear map taking the
  encoding of position ``p`` to that of ``p + k``), ``relative_bias`` (a score bias that
  depends only on the offset ``i − j``).
"""
from __future__ import annotations

import numpy as np

from .layers import softmax


# ------------------------------------------------------------------ pooling
def nadaraya_watson(x_query: np.ndarray, x_keys: np.ndarray, y_values: np.ndarray,
                    bandwidth: float) -> tuple[np.ndarray, np.ndarray]:
    """Kernel regression as attention: ``f(x) = Σ_j softmax_j(−(x − x_j)² / 2σ²) y_j``.

    ``x_query (m,)``, ``x_keys (n,)``, ``y_values (n,)`` → ``(predictions (m,), weights (m, n))``.
    The Gaussian kernel's normalisation cancels, so the weights are a softmax of scores.
    """
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    scores = -(np.asarray(x_query)[:, None] - np.asarray(x_keys)[None, :]) ** 2 / (2 * bandwidth ** 2)
    weights = softmax(scores, axis=1)
    return weights @ np.asarray(y_values), weights


def causal_mask(T: int, T_keys: int | None = None) -> np.ndarray:
    """``(T, T_keys)`` boolean: query ``i`` may attend to keys ``j ≤ i`` only (no peeking ahead)."""
    return np.tril(np.ones((T, T_keys or T), dtype=bool))


def masked_softmax(scores: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Softmax over the last axis with blocked entries (``mask`` False) set to −∞ first: weight exactly 0."""
    if mask is None:
        return softmax(scores, axis=-1)
    mask = np.broadcast_to(mask, scores.shape)
    if not np.all(mask.any(axis=-1)):
        raise ValueError("a query may attend to no key at all: every row of the mask needs at least one True")
    return softmax(np.where(mask, scores, -np.inf), axis=-1)


def _softmax_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Row-wise softmax Jacobian applied to ``dA``: ``A ⊙ (dA − Σ_j dA_j A_j)``."""
    return A * (dA - np.sum(dA * A, axis=-1, keepdims=True))


# ----------------------------------------------------- dot-product attention
def dot_product_attention_forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None,
                                  scale: bool = True, bias: np.ndarray | None = None):
    """``softmax(q kᵀ / √d + bias, masked) v``; returns ``(out (…, Tq, dv), cache)``; ``cache["weights"]`` holds α.

    ``scale=False`` drops the ``1/√d`` (to see why it is there); ``bias (Tq, Tk)`` is added to
    the scores (a relative-position bias, or ALiBi).
    """
    d = q.shape[-1]
    c = 1 / np.sqrt(d) if scale else 1.0
    scores = (q @ np.swapaxes(k, -1, -2)) * c
    if bias is not None:
        scores = scores + bias
    A = masked_softmax(scores, mask)
    return A @ v, {"q": q, "k": k, "v": v, "weights": A, "c": c}


def dot_product_attention_backward(dout: np.ndarray, cache):
    """Returns ``(dq, dk, dv)``; blocked entries have weight 0 and so receive no gradient."""
    q, k, v, A, c = cache["q"], cache["k"], cache["v"], cache["weights"], cache["c"]
    dv = np.swapaxes(A, -1, -2) @ dout
    dS = _softmax_backward(dout @ np.swapaxes(v, -1, -2), A) * c
    return dS @ k, np.swapaxes(dS, -1, -2) @ q, dv


# --------------------------------------------------------- additive attention
def additive_attention_forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, Wq: np.ndarray, Wk: np.ndarray,
                               w: np.ndarray, mask: np.ndarray | None = None):
    """``score_ij = wᵀ tanh(q_i Wq + k_j Wk)``: a one-hidden-layer network compares query and key.

    ``Wq (dq, h)``, ``Wk (dk, h)``, ``w (h,)``: queries and keys may have different sizes.
    Returns ``(out (…, Tq, dv), cache)``.
    """
    hidden = np.tanh((q @ Wq)[..., :, None, :] + (k @ Wk)[..., None, :, :])  # (…, Tq, Tk, h)
    A = masked_softmax(hidden @ w, mask)
    return A @ v, (q, k, v, Wq, Wk, w, hidden, A)


def additive_attention_backward(dout: np.ndarray, cache):
    """Returns ``(dq, dk, dv, dWq, dWk, dw)``."""
    q, k, v, Wq, Wk, w, hidden, A = cache
    dv = np.swapaxes(A, -1, -2) @ dout
    dS = _softmax_backward(dout @ np.swapaxes(v, -1, -2), A)
    dw = (dS[..., None] * hidden).reshape(-1, hidden.shape[-1]).sum(axis=0)
    dpre = dS[..., None] * w * (1 - hidden ** 2)  # (…, Tq, Tk, h)
    dqW, dkW = dpre.sum(axis=-2), dpre.sum(axis=-3)
    batch_q, batch_k = q.reshape(-1, q.shape[-1]), k.reshape(-1, k.shape[-1])
    return (dqW @ Wq.T, dkW @ Wk.T, dv, batch_q.T @ dqW.reshape(-1, Wq.shape[1]),
            batch_k.T @ dkW.reshape(-1, Wk.shape[1]), dw)


# ------------------------------------------------------ multi-head attention
def _split_heads(x: np.ndarray, heads: int) -> np.ndarray:
    n, T, d = x.shape
    return x.reshape(n, T, heads, d // heads).transpose(0, 2, 1, 3)  # (n, heads, T, d/heads)


def _merge_heads(x: np.ndarray) -> np.ndarray:
    n, h, T, dh = x.shape
    return x.transpose(0, 2, 1, 3).reshape(n, T, h * dh)


def multi_head_attention_forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, Wq: np.ndarray, Wk: np.ndarray,
                                 Wv: np.ndarray, bq: np.ndarray, bk: np.ndarray, bv: np.ndarray, Wo: np.ndarray,
                                 bo: np.ndarray, heads: int, mask: np.ndarray | None = None,
                                 key_mask: np.ndarray | None = None):
    """Multi-head attention on ``q (n, Tq, d)``, ``k, v (n, Tk, d)``; every ``W (d, d)``, every ``b (d,)``.

    Each of the ``heads`` heads attends with its own ``d / heads`` columns of the projections
    ``q Wq + bq`` (and likewise for keys and values); the heads' outputs are concatenated
    and projected by ``Wo, bo``. ``mask (Tq, Tk)`` applies to every example, ``key_mask (n, Tk)``
    blocks padded keys of each example (both True = may attend). Self-attention is
    ``q = k = v = x``. Returns ``(out (n, Tq, d), cache)``; ``cache["weights"]`` is ``(n, heads, Tq, Tk)``.
    """
    d = q.shape[-1]
    if d % heads:
        raise ValueError(f"the model width {d} must be divisible by the number of heads {heads}")
    full = None if mask is None else np.asarray(mask, dtype=bool)[None, None]
    if key_mask is not None:
        km = np.asarray(key_mask, dtype=bool)[:, None, None, :]
        full = km if full is None else full & km
    Q, K, V = (_split_heads(x @ W + b, heads) for x, W, b in ((q, Wq, bq), (k, Wk, bk), (v, Wv, bv)))
    O, att_cache = dot_product_attention_forward(Q, K, V, full)
    concat = _merge_heads(O)
    return concat @ Wo + bo, {"inputs": (q, k, v), "W": (Wq, Wk, Wv, Wo), "att": att_cache, "concat": concat,
                              "heads": heads, "weights": att_cache["weights"]}


def multi_head_attention_backward(dout: np.ndarray, cache):
    """Returns ``(dq, dk, dv, dWq, dWk, dWv, dbq, dbk, dbv, dWo, dbo)``."""
    (q, k, v), (Wq, Wk, Wv, Wo), heads = cache["inputs"], cache["W"], cache["heads"]
    flat = dout.reshape(-1, dout.shape[-1])
    dWo, dbo = cache["concat"].reshape(-1, Wo.shape[0]).T @ flat, flat.sum(axis=0)
    dO = _split_heads(dout @ Wo.T, heads)
    dQ, dK, dV = (_merge_heads(g) for g in dot_product_attention_backward(dO, cache["att"]))
    grads_in, grads_W, grads_b = [], [], []
    for x, W, dP in ((q, Wq, dQ), (k, Wk, dK), (v, Wv, dV)):
        grads_in.append(dP @ W.T)
        grads_W.append(x.reshape(-1, x.shape[-1]).T @ dP.reshape(-1, dP.shape[-1]))
        grads_b.append(dP.sum(axis=(0, 1)))
    return (*grads_in, *grads_W, *grads_b, dWo, dbo)


# ------------------------------------------------------------ hard attention
def hard_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, rng: np.random.Generator | None = None,
                   mask: np.ndarray | None = None, samples: int | None = None) -> np.ndarray:
    """One value per query instead of an average: the best-scoring key's (``rng=None``), or one key
    drawn with the soft attention weights as probabilities (stochastic hard attention, Xu et al., 2015).

    The choice is a discrete jump: the output has no useful gradient with respect to the scores,
    which is why hard attention is trained with sampling (REINFORCE), not backpropagation.
    ``q (Tq, d)``, ``k (Tk, d)``, ``v (Tk, dv)`` → ``(Tq, dv)``; with ``samples = m`` (and ``rng``),
    ``m`` independent draws at once, ``(m, Tq, dv)``.
    """
    _, cache = dot_product_attention_forward(q, k, v, mask)
    A = cache["weights"]
    if rng is None:
        return v[np.argmax(A, axis=-1)]
    u = rng.random((samples or 1, A.shape[0], 1))
    idx = np.minimum((u > np.cumsum(A, axis=-1)[None]).sum(axis=-1), A.shape[-1] - 1)  # inverse CDF
    return v[idx] if samples else v[idx[0]]


# --------------------------------------------------------- positional encodings
def sinusoidal_encoding(positions, d: int, base: float = 10000.0) -> np.ndarray:
    """``PE[p, 2i] = sin(p ω_i)``, ``PE[p, 2i+1] = cos(p ω_i)`` with ``ω_i = base^(−2i/d)`` (Vaswani et al., 2017).

    ``positions``: an int (meaning ``0 … positions − 1``) or an array of positions; ``d`` even.
    Returns ``(len(positions), d)``.
    """
    if d < 2 or d % 2:
        raise ValueError(f"the encoding width d must be even and >= 2, got {d}")
    p = np.arange(positions) if np.ndim(positions) == 0 else np.asarray(positions, dtype=np.float64)
    omega = base ** (-np.arange(0, d, 2) / d)
    angles = p[:, None] * omega[None, :]
    pe = np.empty((len(p), d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angles), np.cos(angles)
    return pe


def shift_rotation(k: float, d: int, base: float = 10000.0) -> np.ndarray:
    """The ``(d, d)`` matrix ``M_k`` with ``PE[p + k] = M_k PE[p]`` for *every* position ``p``.

    It is block diagonal: frequency ``ω_i`` turns the pair ``(sin pω_i, cos pω_i)`` by the angle
    ``k ω_i``, ``[[cos, sin], [−sin, cos]]``, independent of ``p``. A shift in position is a
    rotation, so "attend three characters back" is a linear map a layer can learn.
    """
    omega = base ** (-np.arange(0, d, 2) / d)
    M = np.zeros((d, d))
    for i, w in enumerate(omega):
        c, s = np.cos(k * w), np.sin(k * w)
        M[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[c, s], [-s, c]]
    return M


def relative_bias(table: np.ndarray, Tq: int, Tk: int | None = None) -> np.ndarray:
    """``B[i, j] = table[clip(i − j, 0, len(table) − 1)]``: a score bias that depends only on the offset.

    Added to the attention scores (``bias=`` of :func:`dot_product_attention_forward`), it lets
    a head prefer "the key three steps back" wherever the query is (relative position, as in
    Shaw et al., 2018 and T5). Keys after the query (``i − j < 0``) share ``table[0]``; they are
    masked out in a causal model anyway.
    """
    Tk = Tk or Tq
    offsets = np.clip(np.arange(Tq)[:, None] - np.arange(Tk)[None, :], 0, len(table) - 1)
    return np.asarray(table)[offsets]
