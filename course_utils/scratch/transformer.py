"""A small decoder-only transformer in PyTorch, written out, and its training tricks.

The NumPy pieces of :mod:`course_utils.scratch.attention` show every gradient; this module
puts the same operations into ``torch.nn`` modules that train fast enough for a laptop:

- ``CausalSelfAttention``: multi-head self-attention with the causal mask; positions enter
  either through the input (absolute encodings) or as a learned ``relative`` bias per head
  and offset added to the scores.
- ``TransformerBlock``: the pre-norm block, ``x + attn(LN(x))`` then ``x + MLP(LN(x))``
  (MLP ``d → 4d → d`` with GELU). Pre-norm (Xiong et al., 2020) keeps an identity path from
  the output to the input, so it trains without the warm-up the original post-norm block
  needed. Equal to ``torch.nn.TransformerEncoderLayer(norm_first=True)`` with the same weights.
- ``TransformerLM(vocab_size, d, layers, heads, context, positions)``: token embedding +
  positions (``"learned"``, ``"sinusoidal"``, ``"relative"`` or ``"none"``) → blocks → final
  LayerNorm → logits for the next symbol. Same interface as the language models of
  :mod:`course_utils.scratch.language_models`: ``forward(x (B, T)) -> logits (B, T, V)``,
  with ``T ≤ context``.
- ``warmup_cosine(step, total, warmup)``: the learning-rate multiplier (linear warm-up, then
  cosine decay to 0) and ``inverse_sqrt_rate(step, d, warmup)``, the schedule of Vaswani et al. (2017).
- ``decoupled_weight_decay_step``: the AdamW rule (Loshchilov & Hutter, 2019) written out,
  shrink the weights by ``η λ`` apart from the gradient step.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .attention import sinusoidal_encoding

POSITIONS = ("learned", "sinusoidal", "relative", "none")


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position ``i`` sees positions ``≤ i`` only."""

    def __init__(self, d: int, heads: int, context: int, relative: bool = False):
        super().__init__()
        if d % heads:
            raise ValueError(f"the width d = {d} must be divisible by heads = {heads}")
        self.heads, self.context = heads, context
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.register_buffer("mask", torch.tril(torch.ones(context, context, dtype=torch.bool)), persistent=False)
        self.rel = nn.Parameter(torch.zeros(heads, context)) if relative else None
        offsets = torch.arange(context)[:, None] - torch.arange(context)[None, :]
        self.register_buffer("offsets", offsets.clamp(min=0), persistent=False)

    def scores(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The masked scores ``(B, heads, T, T)`` (−∞ where blocked) and the values ``(B, heads, T, d/heads)``."""
        B, T, d = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        s = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        if self.rel is not None:
            s = s + self.rel[:, self.offsets[:T, :T]]  # bias[h, i, j] = rel[h, i − j]
        return s.masked_fill(~self.mask[:T, :T], float("-inf")), v

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, v = self.scores(x)
        out = torch.softmax(s, dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(x.shape))


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x = x + attn(LN₁(x))``, then ``x = x + MLP(LN₂(x))``."""

    def __init__(self, d: int, heads: int, context: int, relative: bool = False):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, heads, context, relative)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TransformerLM(nn.Module):
    """A decoder-only (GPT-style) character model; see the module docstring."""

    def __init__(self, vocab_size: int, d: int = 64, layers: int = 2, heads: int = 4, context: int = 32,
                 positions: str = "learned"):
        super().__init__()
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {positions!r}")
        self.context, self.positions = context, positions
        self.embed = nn.Embedding(vocab_size, d)
        self.pos = nn.Embedding(context, d) if positions == "learned" else None
        pe = torch.tensor(sinusoidal_encoding(context, d), dtype=torch.float32)
        self.register_buffer("pe", pe if positions == "sinusoidal" else torch.zeros_like(pe), persistent=False)
        self.blocks = nn.ModuleList(TransformerBlock(d, heads, context, positions == "relative") for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.out = nn.Linear(d, vocab_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        if T > self.context:
            raise ValueError(f"a sequence of {T} symbols is longer than the context of {self.context}")
        h = self.embed(x) + self.pe[:T]
        if self.pos is not None:
            h = h + self.pos.weight[:T]
        for block in self.blocks:
            h = block(h)
        return self.out(self.ln(h))

    @torch.no_grad()
    def attention_scores(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The masked attention scores ``(B, heads, T, T)`` of every layer (softmax them for the weights)."""
        T = x.shape[1]
        h = self.embed(x) + self.pe[:T] + (self.pos.weight[:T] if self.pos is not None else 0)
        out = []
        for block in self.blocks:
            out.append(block.attn.scores(block.ln1(h))[0])
            h = block(h)
        return out


# ------------------------------------------------------------- training tricks
def warmup_cosine(step: int, total: int, warmup: int = 0) -> float:
    """Learning-rate multiplier: ``(step + 1) / warmup`` during the warm-up, then a cosine from 1 to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def inverse_sqrt_rate(step: int, d: int, warmup: int = 4000) -> float:
    """Vaswani et al. (2017): ``d^−½ · min(s^−½, s · warmup^−3/2)`` at step ``s = step + 1``; peaks at ``s = warmup``."""
    s = step + 1
    return d ** -0.5 * min(s ** -0.5, s * warmup ** -1.5)


def decoupled_weight_decay_step(p: np.ndarray, adam_step: np.ndarray, lr: float, weight_decay: float) -> np.ndarray:
    """AdamW's update of a weight ``p``: the Adam step (computed from the gradient alone), then ``p ← p − η λ p``.

    Plain "L2 regularisation" adds ``λ p`` to the gradient, where Adam's per-weight scaling then
    shrinks it unevenly; AdamW decays every weight by the same factor ``1 − η λ``.
    """
    return p * (1 - lr * weight_decay) - adam_step
