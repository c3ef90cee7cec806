"""Chapter 15 · attention and transformers: the figures, the widgets, the experiments and the checks.

- Attention as a lookup: ``lookup_weights`` (temperature-scaled softmax of query–key scores) and
  ``plot_attention`` (a weight matrix with its labels).
- Attention pooling: ``nadaraya_watson_study`` (bandwidth chosen on validation data) and
  ``plot_kernel_regression``.
- Why ``√d``: ``logit_statistics`` (variance of ``q·k`` and softmax saturation against ``d``).
- Soft against hard attention: ``hard_attention_study``.
- Multi-head attention against PyTorch: ``mha_torch_errors`` (forward and backward, with masks);
  ``permutation_error`` (self-attention without positions only permutes its output).
- Positions: ``shift_rotation_error``, the widget ``draw_positional_encoding``.
- The block and its tricks: ``block_torch_error``, ``plot_schedules``, ``smoothed_optimal_margin``.
- The language models: ``train_language_model`` (``"lstm"`` or ``"transformer"``, each with its
  recipe from :mod:`course_utils.scratch.language_models`) and ``evaluate_language_model``; the
  widget ``draw_attention_weights`` (query position × temperature over a real sentence) and
  ``head_offsets`` (where each head looks, on average).
- The copy task: ``copy_task_run`` (transformer or LSTM), ``copy_attention`` (where the copier looks)
  and ``position_ablation``.
- Thresholds shared with the tests: ``VARIANCE_TOL``, ``NW_GAIN_MIN``, ``HARD_SOFT_TOL``,
  ``LSTM_BITS_MAX``, ``TRANSFORMER_BITS_MAX``, ``COPY_TRANSFORMER_MIN``, ``COPY_LSTM_MAX``,
  ``COPY_DIAGONAL_MIN``, ``NO_POSITION_MAX``, ``WITH_POSITION_MIN``.
- Checks: ``check_positional_encoding`` (implement), ``check_masked_attention`` (debug),
  ``check_mha_parameters`` (derive), ``check_logit_std`` (predict), ``check_bandwidth_design`` (design).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.func import functional_call

from .. import checks, data, plotting, training
from ..base import running_mean, stopwatch
from ..scratch import attention as att
from ..scratch import gradcheck
from ..scratch import language_models as lm
from ..scratch import transformer as tf
from ..scratch.layers import softmax
from ..widgets import frame

#: measured var(q·k) / d and the variance after dividing by √d both lie within this of 1
VARIANCE_TOL = 0.1
#: Nadaraya–Watson's error to the true curve is at most this fraction of average pooling's
NW_GAIN_MIN = 0.2
#: the average of sampled hard attention lies within this of soft attention (Monte Carlo)
HARD_SOFT_TOL = 0.05
#: validation bits/char after the chapter's short runs (the add-one bigram scores 3.35)
LSTM_BITS_MAX = 2.7
TRANSFORMER_BITS_MAX = 3.25
#: the LSTM's bits/char on 32-character windows against the whole text differ by at most this at the
#: chapter's budget (measured 0.000–0.004, seeds 0–5); on 4-character windows they differ by 0.15–0.19 (seeds 0–2)
SAME_CONTEXT_BITS = 0.05
#: copy task, token accuracy on the copied half (chance 1/32 ≈ 0.031)
COPY_TRANSFORMER_MIN = 0.8
COPY_LSTM_MAX = 0.06
#: share of the copier's second-half queries that look exactly COPY_LENGTH back
COPY_DIAGONAL_MIN = 0.8
#: position ablation on the short copy task: without positions the model fails, with any scheme it copies
NO_POSITION_MAX = 0.2
WITH_POSITION_MIN = 0.6

#: the sentence of the attention widget (from the validation text; 32 characters = the context)
SENTENCE = "Dictionaries are now reversible."
#: the copy task: symbols, length of the sequence to copy
COPY_SYMBOLS, COPY_LENGTH = 32, 30
#: the transformer and recipe of the copy task (one block of the language model's width)
COPY_MODEL = dict(d=64, layers=1, heads=4)
COPY_RECIPE = lm.Recipe(batch=32, length=2 * COPY_LENGTH, lr=1e-2, optimizer="adamw", weight_decay=0.1,
                        schedule="cosine", warmup=0.1, clip=1.0, label_smoothing=0.1)
#: the position ablation: a smaller copy task and model
ABLATION = dict(length=10, d=32, layers=1, heads=4, lr=3e-2)
NW_BANDWIDTH_TARGET = 0.05


# ------------------------------------------------------------- lookup and pooling
def lookup_weights(query: np.ndarray, keys: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``softmax(keys · query / temperature)``: how much each key is attended."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return softmax(np.asarray(keys) @ np.asarray(query) / temperature)


def plot_attention(weights: np.ndarray, xlabels: Sequence[str] | None = None, ylabels: Sequence[str] | None = None,
                   ax=None, title: str | None = None, cmap: str = "Blues"):
    """A weight matrix (queries as rows, keys as columns) as an image with a colour bar."""
    ax = ax or plt.subplots(figsize=(6.0, 4.0))[1]
    im = ax.imshow(weights, cmap=cmap, vmin=0, vmax=max(float(np.max(weights)), 1e-12), aspect="auto")
    if xlabels is not None:
        ax.set_xticks(range(len(xlabels)), xlabels, fontsize=8)
    if ylabels is not None:
        ax.set_yticks(range(len(ylabels)), ylabels, fontsize=8)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.grid(False)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if title:
        ax.set_title(title)
    return ax


def nadaraya_watson_study(bandwidths: Sequence[float], n_train: int = 60, n_val: int = 60, seed: int = 0,
                          noise: float = 0.5) -> dict:
    """Nadaraya–Watson regression on ``data.make_wave_regression`` with each bandwidth.

    Chooses the bandwidth with the smallest validation MSE; reports the chosen estimate's MSE
    to the true curve on a fine grid, and the same for average pooling (every weight ``1/n``).
    """
    rng = np.random.default_rng(seed)
    x, y = data.make_wave_regression(n_train, rng, noise)
    xv, yv = data.make_wave_regression(n_val, rng, noise)
    val = [float(np.mean((att.nadaraya_watson(xv, x, y, s)[0] - yv) ** 2)) for s in bandwidths]
    best = float(bandwidths[int(np.argmin(val))])
    grid = np.linspace(0, 5, 200)
    truth = data.wave_function(grid)
    fit = att.nadaraya_watson(grid, x, y, best)[0]
    return {"x": x, "y": y, "bandwidths": list(bandwidths), "val_mse": val, "best": best,
            "mse_to_truth": float(np.mean((fit - truth) ** 2)),
            "average_mse_to_truth": float(np.mean((y.mean() - truth) ** 2))}


def plot_kernel_regression(x: np.ndarray, y: np.ndarray, bandwidths: Sequence[float], ax=None):
    """The training points, the true curve and the Nadaraya–Watson estimate for each bandwidth."""
    ax = ax or plt.subplots(figsize=(6.4, 4.0))[1]
    grid = np.linspace(0, 5, 200)
    ax.plot(x, y, "o", ms=3, color="0.5", label="training points (keys, values)")
    ax.plot(grid, data.wave_function(grid), "k--", lw=1.5, label="true curve")
    for i, s in enumerate(bandwidths):
        ax.plot(grid, att.nadaraya_watson(grid, x, y, s)[0], color=plotting.COLORS[i], label=f"σ = {s:g}")
    ax.set_xlabel("x (queries along the axis)")
    ax.set_ylabel("y")
    ax.legend(loc="lower left", fontsize=8)
    return ax


# --------------------------------------------------------------------- why √d
def logit_statistics(dims: Sequence[int], n: int = 20_000, keys: int = 32, seed: int = 0) -> dict[str, list[float]]:
    """For queries and keys with independent N(0, 1) entries: ``var(q·k)``, the variance after dividing by
    √d, and the mean largest softmax weight over ``keys`` keys, with and without the division."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {"var": [], "var_scaled": [], "max_weight": [], "max_weight_scaled": []}
    for d in dims:
        q, k = rng.standard_normal((n, d)), rng.standard_normal((n, d))
        s = np.sum(q * k, axis=1)
        out["var"].append(float(s.var()))
        out["var_scaled"].append(float((s / np.sqrt(d)).var()))
        scores = rng.standard_normal((500, d)) @ rng.standard_normal((d, keys))
        out["max_weight"].append(float(softmax(scores, axis=1).max(axis=1).mean()))
        out["max_weight_scaled"].append(float(softmax(scores / np.sqrt(d), axis=1).max(axis=1).mean()))
    return out


# ------------------------------------------------------------------ hard attention
def hard_attention_study(n_samples: int = 20_000, seed: int = 0) -> dict[str, float]:
    """Soft against hard attention on a random lookup (6 queries, 10 keys, values in R³).

    Returns the largest gap between soft attention and the mean of ``n_samples`` sampled hard
    attentions, the gap to arg-max hard attention, and the finite-difference derivative of
    each output with respect to one key (soft: non-zero; hard arg-max: exactly 0).
    """
    rng = np.random.default_rng(seed)
    q, k, v = rng.standard_normal((6, 4)), rng.standard_normal((10, 4)), rng.standard_normal((10, 3))
    soft, _ = att.dot_product_attention_forward(q, k, v)
    sampled = att.hard_attention(q, k, v, rng, samples=n_samples).mean(axis=0)
    k2 = k.copy()
    k2[0] += 1e-6
    soft2, _ = att.dot_product_attention_forward(q, k2, v)
    return {"sampled_gap": float(np.abs(sampled - soft).max()),
            "argmax_gap": float(np.abs(att.hard_attention(q, k, v) - soft).max()),
            "soft_derivative": float(np.abs(soft2 - soft).max() / 1e-6),
            "hard_derivative": float(np.abs(att.hard_attention(q, k2, v) - att.hard_attention(q, k, v)).max() / 1e-6)}


# ------------------------------------------------------ multi-head attention vs torch
def _mha_params(d: int, rng: np.random.Generator) -> list[np.ndarray]:
    Ws = [rng.standard_normal((d, d)) / np.sqrt(d) for _ in range(3)]
    bs = [rng.standard_normal(d) for _ in range(3)]
    return [*Ws, *bs, rng.standard_normal((d, d)) / np.sqrt(d), rng.standard_normal(d)]


def torch_multi_head_attention(q, k, v, params, heads: int, mask=None, key_mask=None):
    """``torch.nn.MultiheadAttention`` (batch first) run with our arrays as its parameters (tensors in, tensor out).

    Its boolean masks mean "blocked", ours "may attend": it gets ``~mask``.
    """
    Wq, Wk, Wv, bq, bk, bv, Wo, bo = params
    mha = torch.nn.MultiheadAttention(q.shape[-1], heads, batch_first=True)
    p = {"in_proj_weight": torch.cat([Wq.T, Wk.T, Wv.T]), "in_proj_bias": torch.cat([bq, bk, bv]),
         "out_proj.weight": Wo.T, "out_proj.bias": bo}
    kw = {"need_weights": False}
    if mask is not None:
        kw["attn_mask"] = ~torch.as_tensor(mask)
    if key_mask is not None:
        kw["key_padding_mask"] = ~torch.as_tensor(key_mask)
    return functional_call(mha, p, (q, k, v), kw)[0]


def mha_torch_errors(n: int = 2, T: int = 7, d: int = 12, heads: int = 3, causal: bool = False,
                     padding: bool = False, seed: int = 0) -> dict[str, float]:
    """Relative difference (``gradcheck.norm_rel_error``) between ``attention.multi_head_attention_forward/backward``
    and ``torch.nn.MultiheadAttention`` (float64) on self-attention over random ``x (n, T, d)``: the output, and
    all gradients (the input's and every parameter's) together."""
    rng = np.random.default_rng(seed)
    x, params = rng.standard_normal((n, T, d)), _mha_params(d, rng)
    mask = att.causal_mask(T) if causal else None
    key_mask = None
    if padding:
        key_mask = np.ones((n, T), dtype=bool)
        key_mask[0, T - 2:] = False  # the first example is two symbols shorter: its last keys are padding
    out, cache = att.multi_head_attention_forward(x, x, x, *params, heads, mask=mask, key_mask=key_mask)
    dout = rng.standard_normal(out.shape)
    grads = att.multi_head_attention_backward(dout, cache)
    xt = torch.tensor(x, requires_grad=True)
    pt = [torch.tensor(p, requires_grad=True) for p in params]
    ref = torch_multi_head_attention(xt, xt, xt, pt, heads, mask, key_mask)
    ref.backward(torch.tensor(dout))
    mine = np.concatenate([g.ravel() for g in (grads[0] + grads[1] + grads[2], *grads[3:])])
    theirs = np.concatenate([t.numpy().ravel() for t in (xt.grad, *[p.grad for p in pt])])
    return {"forward": gradcheck.norm_rel_error(out, ref.detach().numpy()),
            "backward": gradcheck.norm_rel_error(mine, theirs)}


def permutation_error(T: int = 6, d: int = 8, heads: int = 2, seed: int = 0) -> float:
    """``max |SA(P x) − P SA(x)|`` for self-attention without positions and a random permutation ``P``."""
    rng = np.random.default_rng(seed)
    x, params = rng.standard_normal((1, T, d)), _mha_params(d, rng)
    perm = rng.permutation(T)
    out = att.multi_head_attention_forward(x, x, x, *params, heads)[0]
    xp = x[:, perm]
    out_p = att.multi_head_attention_forward(xp, xp, xp, *params, heads)[0]
    return float(np.abs(out_p - out[:, perm]).max())


# ----------------------------------------------------------------------- positions
def shift_rotation_error(d: int = 64, positions: int = 100, shifts: Sequence[int] = (1, 3, 17)) -> float:
    """``max |PE[p + k] − M_k PE[p]|`` over positions and shifts: zero up to round-off if a shift is a rotation."""
    pe = att.sinusoidal_encoding(positions, d)
    return float(max(np.abs(pe[:positions - k] @ att.shift_rotation(k, d).T - pe[k:]).max() for k in shifts))


@frame
def draw_positional_encoding(d: int = 64, position: int = 20, positions: int = 100):
    """The PE explorer: the encoding matrix with one row marked, that row, and its dot product with every position."""
    if not 0 <= position < positions:
        raise ValueError(f"position must be between 0 and {positions - 1}, got {position}")
    pe = att.sinusoidal_encoding(positions, d)
    fig, axes = plt.subplots(1, 3, figsize=(11.0, 3.6), gridspec_kw={"width_ratios": [1.25, 1, 1]})
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.15, top=0.86, wspace=0.32)
    axes[0].imshow(pe, aspect="auto", cmap="RdBu", vmin=-1, vmax=1, interpolation="nearest")
    axes[0].axhline(position, color="k", lw=1.5)
    axes[0].set(xlabel="dimension", ylabel="position", title=f"PE, d = {d}")
    axes[0].grid(False)
    axes[1].bar(np.arange(d), pe[position], color=[plotting.COLORS[i % 2] for i in range(d)], width=1.0)
    axes[1].set(xlabel="dimension (blue: sin, red: cos)", ylabel="value", ylim=(-1.1, 1.1),
                title=f"encoding of position {position}")
    dots = pe @ pe[position]
    axes[2].plot(np.arange(positions), dots, color=plotting.COLORS[2])
    axes[2].axvline(position, color="k", lw=1, ls=":")
    axes[2].set(xlabel="position q", ylabel="PE(p) · PE(q)", ylim=(-0.35 * d, 0.55 * d),
                title=f"similarity to p = {position} (max d/2 = {d // 2})")
    return fig


# ------------------------------------------------------------ the block and its tricks
def block_torch_error(d: int = 32, heads: int = 4, T: int = 10, seed: int = 0) -> float:
    """Largest difference between our pre-norm ``TransformerBlock`` and ``torch.nn.TransformerEncoderLayer``
    (``norm_first=True``, GELU, causal mask) given the same weights, float64."""
    torch.manual_seed(seed)
    block = tf.TransformerBlock(d, heads, T).double()
    ref = torch.nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True).double()
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(block.attn.qkv.weight)
        ref.self_attn.in_proj_bias.copy_(block.attn.qkv.bias)
        ref.self_attn.out_proj.load_state_dict(block.attn.proj.state_dict())
        ref.norm1.load_state_dict(block.ln1.state_dict())
        ref.norm2.load_state_dict(block.ln2.state_dict())
        ref.linear1.load_state_dict(block.mlp[0].state_dict())
        ref.linear2.load_state_dict(block.mlp[2].state_dict())
        x = torch.randn(3, T, d, dtype=torch.float64)
        mask = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
        return float((block(x) - ref(x, src_mask=mask, is_causal=True)).abs().max())


def plot_schedules(steps: int = 1000, warmup: int = 50, ax=None):
    """The two learning-rate schedules: warm-up + cosine (as a multiplier) and Vaswani et al.'s inverse square root."""
    ax = ax or plt.subplots(figsize=(6.4, 3.8))[1]
    s = np.arange(steps)
    ax.plot(s, [tf.warmup_cosine(i, steps, warmup) for i in s], label=f"linear warm-up ({warmup}) + cosine")
    inv = np.array([tf.inverse_sqrt_rate(i, 64, warmup * 4) for i in s])
    ax.plot(s, inv / inv.max(), label=f"d^-½ min(s^-½, s·w^-3/2), w = {warmup * 4} (scaled to 1)")
    ax.set_xlabel("step")
    ax.set_ylabel("learning-rate multiplier")
    ax.legend()
    return ax


def smoothed_optimal_margin(n_classes: int, smoothing: float) -> float:
    """The logit gap (true class minus each other class) that minimises the label-smoothed loss:
    ``log((1 − ε + ε/C) / (ε/C))``; infinite without smoothing."""
    if smoothing == 0:
        return math.inf
    return math.log((1 - smoothing + smoothing / n_classes) / (smoothing / n_classes))


# --------------------------------------------------------------- the language models
def build_language_model(kind: str, vocab_size: int, positions: str = "learned", context: int = 32,
                         **sizes) -> torch.nn.Module:
    """``"lstm"``: ``CharLSTM`` (embedding 64, LSTM 128); ``"transformer"``: ``TransformerLM`` (d 64, 2 layers, 4 heads)."""
    if kind == "lstm":
        return lm.CharLSTM(vocab_size, **sizes)
    if kind == "transformer":
        return tf.TransformerLM(vocab_size, context=context, positions=positions, **sizes)
    raise ValueError(f"kind must be 'lstm' or 'transformer', got {kind!r}")


def train_language_model(kind: str, corpus: data.CharCorpus, steps: int, seed: int = 0, progress: bool = True,
                         device=None):
    """Train one of the two character models with its recipe; returns ``(model, history, seconds)``."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_language_model(kind, len(corpus.vocab))
    R = lm.LSTM_RECIPE if kind == "lstm" else lm.TRANSFORMER_RECIPE
    opt, sched = lm.optimizer_for(model, R, steps)
    with stopwatch() as t:
        history = training.train_steps(model, lambda s: lm.random_windows(corpus.train, R.batch, R.length, rng),
                                       R.loss, opt, steps, clip=R.clip, scheduler=sched, progress=progress,
                                       desc=kind, device=device)
    return model, history, t["seconds"]


def evaluate_language_model(model: torch.nn.Module, corpus: data.CharCorpus) -> dict[str, float]:
    """Validation bits/char: with 32 characters of context (windows, state reset) and, for the LSTM,
    also reading the whole text with its state carried along."""
    out = {"context 32": float(lm.bits_per_char(model, corpus.val, context=32))}
    if hasattr(model, "step"):
        out["whole text"] = float(lm.bits_per_char(model, corpus.val))
    return out


def plot_lm_curves(histories: Mapping[str, object], baseline: float | None = None, ax=None, x: str = "step"):
    """Training bits/char (running mean of 25 steps) of each model against the step or the seconds."""
    ax = ax or plt.subplots(figsize=(6.4, 4.0))[1]
    for i, (name, (h, seconds)) in enumerate(histories.items()):
        bits = running_mean(np.asarray(h["train_loss"]) / np.log(2), 25)
        xs = np.arange(1, len(bits) + 1) * (seconds / len(bits) if x == "seconds" else 1)
        ax.plot(xs, bits, color=plotting.COLORS[i], label=name)
    if baseline is not None:
        ax.axhline(baseline, ls="--", color="0.4", lw=1, label=f"bigram (add-one): {baseline:.2f}")
    ax.set_xlabel("training step" if x == "step" else "training time (s)")
    ax.set_ylabel("training bits per character")
    ax.set_ylim(1.5, 5.0)
    ax.legend()
    return ax


@frame
def draw_attention_weights(model: torch.nn.Module, vocab: data.CharVocab, query: int = 31, temperature: float = 1.0,
                           layer: int = 0, sentence: str = SENTENCE):
    """Widget: each head's attention weights for one query position over a real sentence, at a temperature.

    The weights are ``softmax(scores / temperature)`` of the model's own (causal) scores: 1 is what
    the model computes, towards 0 the lookup hardens to the best key, large values spread it evenly
    over the keys the query may see.
    """
    if not 0 <= query < len(sentence):
        raise ValueError(f"query must be a position between 0 and {len(sentence) - 1}, got {query}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    x = torch.as_tensor(vocab.encode(sentence)[None], device=next(model.parameters()).device)
    scores = model.attention_scores(x)[layer][0, :, query].double().cpu().numpy()  # (heads, T)
    w = np.exp((scores - scores.max(axis=1, keepdims=True)) / temperature)
    w = w / w.sum(axis=1, keepdims=True)
    fig, ax = plt.subplots(figsize=(9.0, 3.2))
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.18, top=0.85)
    ax.imshow(w, cmap="Blues", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(sentence)), [c if c != " " else "␣" for c in sentence], fontsize=10)
    ax.get_xticklabels()[query].set_color(plotting.COLORS[1])
    ax.set_yticks(range(w.shape[0]), [f"head {h + 1}" for h in range(w.shape[0])])
    ax.axvline(query, color=plotting.COLORS[1], lw=1)
    ax.grid(False)
    entropy = float(np.mean(-(w * np.log2(np.maximum(w, 1e-300))).sum(axis=1)))
    ax.set_title(f"layer {layer + 1}, query {query} ({sentence[query]!r}), temperature {temperature:g}: "
                 f"mean entropy {entropy:.2f} bits of at most {np.log2(query + 1):.2f}")
    return fig


@torch.no_grad()
def head_offsets(model: torch.nn.Module, vocab: data.CharVocab, sentence: str = SENTENCE, layer: int = 0,
                 offsets: int = 3) -> np.ndarray:
    """``(heads, offsets + 1)``: each head's attention weight on the query itself, 1, 2, … back and (last
    column) further back, averaged over the query positions ``offsets … len(sentence) − 1`` of ``sentence``."""
    x = torch.as_tensor(vocab.encode(sentence)[None], device=next(model.parameters()).device)
    w = torch.softmax(model.attention_scores(x)[layer][0], dim=-1).cpu().numpy()  # (heads, T, T)
    T = w.shape[-1]
    out = np.zeros((w.shape[0], offsets + 1))
    for i in range(offsets, T):
        out[:, :offsets] += w[:, i, i - np.arange(offsets)]
        out[:, offsets] += w[:, i, :i - offsets + 1].sum(axis=-1)
    return out / (T - offsets)


# ----------------------------------------------------------------------- copy task
def copy_batch(rng: np.random.Generator, n: int, length: int = COPY_LENGTH, symbols: int = COPY_SYMBOLS):
    """A copy-task batch as tensors: inputs and targets, the first half's targets set to ``IGNORE``."""
    x, y, mask = data.make_copy_task(n, length, symbols, rng)
    return torch.from_numpy(x), torch.from_numpy(np.where(mask, y, lm.IGNORE))


@torch.no_grad()
def copy_accuracy(model: torch.nn.Module, length: int = COPY_LENGTH, n: int = 500, seed: int = 12345) -> dict:
    """Token accuracy on the copied half, and the share of sequences copied without a single error."""
    model.eval()
    x, y = copy_batch(np.random.default_rng(seed), n, length)
    device = next(model.parameters()).device
    pred = model(x.to(device)).argmax(-1).cpu()
    keep = y != lm.IGNORE
    return {"token": float((pred[keep] == y[keep]).float().mean()),
            "sequence": float((pred == y)[:, length:].all(dim=1).float().mean())}


def copy_task_run(kind: str, steps: int, seed: int = 0, length: int = COPY_LENGTH, positions: str = "learned",
                  device=None, **model):
    """Train a transformer (``COPY_MODEL``) or the character LSTM on the copy task; returns ``(model, accuracy)``.

    The transformer uses ``COPY_RECIPE`` (AdamW, warm-up and cosine, label smoothing 0.1); the LSTM
    Adam at 3·10⁻³ (its best rate in our runs) and plain cross-entropy, the same batches, steps and clipping.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    V = COPY_SYMBOLS + 1
    if kind == "transformer":
        cfg = {**COPY_MODEL, **model}
        net = tf.TransformerLM(V, context=2 * length, positions=positions, **cfg)
        opt, sched = lm.optimizer_for(net, COPY_RECIPE, steps)
        loss = COPY_RECIPE.loss
    elif kind == "lstm":
        net = lm.CharLSTM(V, **model)
        opt, sched, loss = torch.optim.Adam(net.parameters(), lr=3e-3), None, lm.lm_loss
    else:
        raise ValueError(f"kind must be 'transformer' or 'lstm', got {kind!r}")
    training.train_steps(net, lambda s: copy_batch(rng, COPY_RECIPE.batch, length), loss, opt, steps,
                         clip=COPY_RECIPE.clip, scheduler=sched, progress=False, device=device)
    return net, copy_accuracy(net, length)


@torch.no_grad()
def copy_attention(model: torch.nn.Module, seed: int = 7) -> tuple[np.ndarray, float]:
    """The head-averaged first-layer attention weights of one copy sequence, and the share of the
    second half's queries whose most attended key is exactly ``COPY_LENGTH`` positions back (the symbol to copy)."""
    x, _ = copy_batch(np.random.default_rng(seed), 1)
    scores = model.attention_scores(x.to(next(model.parameters()).device))[0][0].cpu()
    weights = torch.softmax(scores, dim=-1).mean(dim=0).numpy()
    half = np.arange(COPY_LENGTH, 2 * COPY_LENGTH)
    return weights, float(np.mean(np.argmax(weights[half], axis=1) == half - COPY_LENGTH))


def position_ablation(schemes: Sequence[str] = tf.POSITIONS, steps: int = 100, seed: int = 0,
                      device=None) -> dict[str, float]:
    """Copy-task token accuracy of a small one-block transformer (``ABLATION``) with each position scheme."""
    out = {}
    cfg = ABLATION
    for pos in schemes:
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        net = tf.TransformerLM(COPY_SYMBOLS + 1, d=cfg["d"], layers=cfg["layers"], heads=cfg["heads"],
                               context=2 * cfg["length"], positions=pos)
        recipe = lm.Recipe(32, 2 * cfg["length"], cfg["lr"], "adamw", 0.1, "cosine", 0.1, 1.0)
        opt, sched = lm.optimizer_for(net, recipe, steps)
        training.train_steps(net, lambda s, rng=rng: copy_batch(rng, 32, cfg["length"]), lm.lm_loss, opt, steps, clip=1.0,
                             scheduler=sched, progress=False, device=device)
        out[pos] = copy_accuracy(net, cfg["length"])["token"]
    return out


# ------------------------------------------------------------------- exercise checks
def check_positional_encoding(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Check ``fn(P, d) -> (P, d)`` against ``attention.sinusoidal_encoding`` (sin at even, cos at odd columns)."""
    sizes = iter([(7, 2), (50, 16), (30, 64), (9, 6), (100, 128), (5, 4), (12, 10)])

    def make_inputs(rng):
        return next(sizes)

    return checks.check_function(fn, att.sinusoidal_encoding, make_inputs, name="positional_encoding",
                                 trials=trials, rtol=1e-9, atol=1e-12)


def _attend(q, k, v, mask, scale_by, after_softmax):
    scores = q @ k.T / np.sqrt(scale_by)
    if after_softmax:
        return (softmax(scores) * mask) @ v
    return att.masked_softmax(scores, mask) @ v


def check_masked_attention(fn: Callable) -> checks.CheckResult:
    """Debug-this: ``fn(q, k, v, mask) -> out`` for ``q (Tq, d)``, ``k (Tk, d)``, ``v (Tk, dv)``, ``mask (Tq, Tk)``
    (True = may attend); names the bug when the output matches a known mistake."""
    rng = np.random.default_rng(1)
    q, k, v = rng.standard_normal((5, 3)), rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    mask = att.causal_mask(5, 8)
    ref = _attend(q, k, v, mask, 3, False)
    try:
        got = np.asarray(fn(q.copy(), k.copy(), v.copy(), mask.copy()), dtype=np.float64)
    except Exception:  # not written yet or crashing: check_function reports it
        got = None
    if got is not None and got.shape == ref.shape:
        for scale_by, after, hint in [
                (3, True, "you zeroed the blocked weights AFTER the softmax, so the remaining weights no longer sum "
                          "to 1 (each output is shrunk). Set blocked scores to −inf BEFORE the softmax"),
                (8, True, "the mask comes after the softmax (set blocked scores to −inf before it), and the scores "
                          "are divided by √(number of keys) instead of √d, the query/key dimension"),
                (8, False, "the scores must be divided by √d (d = q.shape[-1], the query/key dimension), "
                           "not by √(number of keys)")]:
            if np.allclose(got, _attend(q, k, v, mask, scale_by, after), atol=1e-10):
                return checks.check_value(got, ref, name="attention output", hint=hint)

    def make_inputs(rng):
        Tq, Tk, d = (int(s) for s in rng.integers(2, 8, size=3))
        m = rng.random((Tq, Tk)) < 0.5
        m[:, 0] = True
        return (rng.standard_normal((Tq, d)), rng.standard_normal((Tk, d)), rng.standard_normal((Tk, 3)), m)

    return checks.check_function(fn, lambda q, k, v, m: _attend(q, k, v, m, q.shape[-1], False), make_inputs,
                                 name="masked_attention", trials=6, rtol=1e-8, atol=1e-10)


def mha_parameter_count(d: int, heads: int) -> int:
    """``4 d² + 4 d``: three input projections and the output projection, each ``d × d`` plus a bias (any number of heads)."""
    return 4 * d * d + 4 * d


def check_mha_parameters(answer, d: int = 64, heads: int = 4) -> checks.CheckResult:
    """Derive-then-check: the number of parameters of multi-head attention with width ``d`` and ``heads`` heads."""
    hint = (f"W_q, W_k, W_v and W_o are each {d}×{d} with a bias of {d}: 4·{d}² + 4·{d}. Splitting into {heads} heads "
            f"cuts the {d} columns into {heads} groups of {d // heads}; it adds no parameters")
    return checks.check_value(answer, mha_parameter_count(d, heads), name="parameters", rtol=0, atol=0.5, hint=hint)


def check_logit_std(prediction, d: int = 256) -> checks.CheckResult:
    """Predict-then-run: the standard deviation of ``q·k`` for ``q, k`` with ``d`` independent N(0, 1) entries."""
    measured = float(np.sqrt(logit_statistics([d], n=20_000)["var"][0]))
    hint = (f"q·k is a sum of {d} independent products q_i k_i, each of mean 0 and variance 1, so its variance is "
            f"{d} and its standard deviation √{d} = {np.sqrt(d):.0f} (measured: {measured:.2f})")
    return checks.check_value(prediction, measured, name="your prediction", rtol=0.05, atol=0, hint=hint)


def check_bandwidth_design(bandwidth, target: float = NW_BANDWIDTH_TARGET) -> checks.CheckResult:
    """Design-to-a-target: a Gaussian-kernel bandwidth whose Nadaraya–Watson estimate (60 points) is within
    ``target`` mean squared error of the true curve."""
    if bandwidth is Ellipsis:
        return checks.check_value(..., 0.0, name="your bandwidth")
    try:
        mse = nadaraya_watson_study([float(bandwidth)])["mse_to_truth"]
    except (TypeError, ValueError) as exc:
        return checks.check_value(None, 0.0, name="your bandwidth", hint=f"it could not be used: {exc}")
    hint = (f"σ = {float(bandwidth):g} gives a mean squared error of {mse:.3f} to the true curve; the target is "
            f"≤ {target}. Too small a σ averages a single noisy neighbour, too large a σ averages away the wave")
    return checks.check_value(bool(mse <= target), True, name=f"MSE {mse:.3f} ≤ {target}", hint=hint)
