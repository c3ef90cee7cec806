"""Chapter 14 · recurrent networks: the figures, the widget, the experiments and the exercise checks.

- Weight sharing: ``parameter_counts`` (an RNN against an MLP over the whole window).
- The gradient through time: ``gradient_norms`` / ``fitted_decay_rate`` and the widget
  ``draw_gradient_flow`` (spectral radius and nonlinearity → ‖∂L/∂h_t‖ over the steps back);
  ``gradient_reach`` (vanilla, leaky and skip-connected RNNs); ``clipping_run`` (SGD on a tanh
  RNN with and without clipping) and ``plot_runs``.
- Echo state networks: ``forecast_study`` (reservoir against no recurrence, AR(k) and
  "repeat the last value") and ``plot_forecasts``.
- The three task shapes: ``shuffle_task_run`` (many-to-one), ``word_end_run`` (many-to-many,
  one or two directions), ``sine_generator_run`` (one-to-many), on top of ``train_classifier``.
- The character LSTM: ``text_baselines``, ``train_char_lstm``, ``temperature_samples`` and
  ``known_word_fraction``.
- Thresholds shared by the notebook's asserts and the tests' negative controls
  (``DECAY_RATE_TOL``, ``CLIPPED_LOSS_MAX``, ``ESN_NRMSE_MAX``, ``SHUFFLE_ACC_MIN``,
  ``WORD_END_ACC_MIN``, ``SINE_MSE_MAX``, ``LSTM_BITS_MAX``, ``KNOWN_WORD_GAP_MIN``).
- Checks: ``check_lstm_cell`` (implement), ``check_gradient_horizon`` (derive),
  ``check_untrained_bits`` (predict), ``check_clip_by_global_norm`` (debug) and
  ``check_esn_design`` (design).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from .. import checks, data, plotting, training
from ..base import running_mean, stopwatch
from ..scratch import language_models as lm
from ..scratch import recurrent as rec
from ..scratch import reservoir as res
from ..scratch import sequence_models as sm
from ..widgets import frame

#: a linear RNN's measured per-step decay (or growth) rate of ‖∂L/∂h_t‖ lies within this of ρ
DECAY_RATE_TOL = 0.02
#: the clipped SGD run's final loss (mean of its last 20 steps, standardised units); unclipped diverges
CLIPPED_LOSS_MAX = 0.05
#: the echo state network's normalised RMSE, 10 steps ahead on Mackey–Glass; must also beat the baselines
ESN_NRMSE_MAX = 0.1
#: many-to-one: accuracy telling original text windows from shuffled ones (chance 0.5)
SHUFFLE_ACC_MIN = 0.7
#: many-to-many: accuracy of the bidirectional tagger marking word ends (the causal one cannot see the next character)
WORD_END_ACC_MIN = 0.98
#: one-to-many: mean squared error of the generated sine waves (predicting 0 scores about 0.5)
SINE_MSE_MAX = 0.05
#: the character LSTM's validation bits per character (the add-one bigram model scores 3.35)
LSTM_BITS_MAX = 2.6
#: share of sampled words found in the training text: temperature 0.5 beats temperature 1.5 by at least this
KNOWN_WORD_GAP_MIN = 0.2

#: the clipping experiment: a tanh RNN predicting the next Mackey–Glass value, initialised chaotic
CLIP_SETTINGS = dict(hidden=32, spectral_radius=1.5, lr=0.2, max_norm=1.0, length=40, batch=16)
#: the echo state network of the chapter (and the design exercise's target)
ESN_SETTINGS = dict(n_units=200, spectral_radius=0.9, input_scale=1.0, leak=1.0, ridge=1e-6)
ESN_HORIZON, ESN_TRAIN, ESN_LENGTH = 10, 1500, 2500
ESN_DESIGN_TARGET = 0.05


# ------------------------------------------------------------ weight sharing
def parameter_counts(lengths: Sequence[int], d: int, H: int) -> list[dict[str, int]]:
    """Parameters of a tanh RNN (``d·H + H·H + H``, any length) against an MLP whose first layer reads the whole window (``T·d·H + H``)."""
    return [{"T": int(T), "rnn": d * H + H * H + H, "mlp": int(T) * d * H + H} for T in lengths]


# ---------------------------------------------------- the gradient through time
_NONLINEARITY = {"linear": "identity", "tanh": "tanh"}


def gradient_norms(spectral_radius: float, nonlinearity: str = "linear", steps: int = 60, hidden: int = 32,
                   seed: int = 0, orthogonal: bool = False, input_scale: float = 1.0) -> np.ndarray:
    """``‖∂L/∂h_t‖`` for ``t = 0 … steps−1`` when the loss sees only the last state (unit gradient there).

    The recurrent matrix is random with the given spectral radius (``orthogonal``: ``ρ Q``);
    inputs are Gaussian with standard deviation ``input_scale`` through random input weights.
    """
    if nonlinearity not in _NONLINEARITY:
        raise ValueError(f"nonlinearity must be one of {sorted(_NONLINEARITY)}, got {nonlinearity!r}")
    rng = np.random.default_rng(seed)
    W = rec.scaled_recurrent_matrix(hidden, spectral_radius, rng, orthogonal=orthogonal)
    Wx = rng.standard_normal((1, hidden))
    x = input_scale * rng.standard_normal((steps, 1, 1))
    g = rng.standard_normal((1, hidden))
    return rec.state_gradient_norms(x, np.zeros((1, hidden)), Wx, W, np.zeros(hidden), g / np.linalg.norm(g),
                                    _NONLINEARITY[nonlinearity])


def fitted_decay_rate(norms: np.ndarray, skip: int = 10) -> float:
    """The per-step factor ``r`` of ``‖∂L/∂h‖ ≈ C rᵏ`` at ``k`` steps back, fitted (least squares on the log) for ``k ≥ skip``."""
    logs = np.log(np.maximum(np.asarray(norms)[::-1], 1e-300))
    k = np.arange(len(logs))
    slope = np.polyfit(k[skip:], logs[skip:], 1)[0]
    return float(np.exp(slope))


def plot_gradient_flow(norms: Mapping[str, np.ndarray], references: Mapping[str, float] | None = None, ax=None):
    """``‖∂L/∂h_t‖`` against the number of steps back, log scale; dashed ``ρᵏ`` references."""
    ax = ax or plt.subplots(figsize=(6.2, 4.0))[1]
    for i, (name, v) in enumerate(norms.items()):
        ax.semilogy(np.arange(len(v)), np.asarray(v)[::-1], color=plotting.COLORS[i % 10], label=name)
    for i, (name, rho) in enumerate((references or {}).items()):
        k = np.arange(len(next(iter(norms.values()))))
        ax.semilogy(k, rho ** k, "--", color=plotting.COLORS[i % 10], lw=1, label=name)
    ax.set_xlabel("steps back from the loss, k = T − 1 − t")
    ax.set_ylabel("‖∂L/∂h_t‖")
    ax.legend(loc="lower left")
    return ax


@frame
def draw_gradient_flow(spectral_radius: float = 0.9, nonlinearity: str = "linear", steps: int = 60):
    """The widget: how the gradient sent back from the last step grows or shrinks, against ρ^k."""
    if not 0 < spectral_radius <= 3:
        raise ValueError(f"spectral radius {spectral_radius} is outside (0, 3]: choose a value in that range")
    norms = gradient_norms(spectral_radius, nonlinearity, steps)
    fig, ax = plt.subplots(figsize=(6.2, 4.0))
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.13, top=0.9)
    plot_gradient_flow({f"measured ({nonlinearity})": norms}, {f"ρ^k, ρ = {spectral_radius:g}": spectral_radius}, ax)
    rate = fitted_decay_rate(norms)
    ax.set_ylim(1e-12, 1e12)
    ax.set_title(f"ρ = {spectral_radius:g}, {nonlinearity}: measured factor per step {rate:.3f}")
    if norms[0] > 1e10:
        plotting.show_message(ax, "exploding: the gradient from 60 steps back\nis over 10¹⁰ times the last one", "warning")
    elif norms[0] < 1e-10:
        plotting.show_message(ax, "vanishing: the first steps receive\nless than 10⁻¹⁰ of the gradient", "info")
    return fig


def gradient_reach(lengths: Sequence[int], kind: str, hidden: int = 32, spectral_radius: float = 1.0,
                   alpha: float = 0.9, skip: int = 5, seed: int = 0) -> np.ndarray:
    """``‖∂L/∂h_0‖`` for a loss on the last of ``T`` steps, for each ``T`` in ``lengths``.

    ``kind``: ``"vanilla"`` (tanh RNN), ``"leaky"`` (leaky units, ``alpha``) or ``"skip"`` (an
    extra connection from ``h_{t−skip}``, with weights of the same size as the recurrent ones).
    Same random weights for all three; the initial state is the thing whose gradient we read.
    """
    rng = np.random.default_rng(seed)
    W = rec.scaled_recurrent_matrix(hidden, spectral_radius, rng)
    Ws = rec.scaled_recurrent_matrix(hidden, spectral_radius, rng)
    Wx, b, h0 = rng.standard_normal((1, hidden)), np.zeros(hidden), 0.1 * rng.standard_normal((1, hidden))
    x_all = rng.standard_normal((max(lengths), 1, 1))
    g = rng.standard_normal((1, hidden))
    out = []
    for T in lengths:
        x = x_all[:T]
        dhs = np.zeros((T, 1, hidden))
        dhs[-1] = g / np.linalg.norm(g)
        if kind == "vanilla":
            dh0 = rec.rnn_backward(dhs, rec.rnn_forward(x, h0, Wx, W, b)[1])[1]
        elif kind == "leaky":
            dh0 = rec.leaky_rnn_backward(dhs, rec.leaky_rnn_forward(x, h0, Wx, W, b, alpha)[1])[1]
        elif kind == "skip":
            dh0 = rec.skip_rnn_backward(dhs, rec.skip_rnn_forward(x, h0, Wx, W, 0.5 * Ws, b, skip)[1])[1]
        else:
            raise ValueError(f"kind must be 'vanilla', 'leaky' or 'skip', got {kind!r}")
        out.append(np.linalg.norm(dh0))
    return np.array(out)


# ------------------------------------------------------------------ clipping
@functools.lru_cache(maxsize=2)
def standardized_mackey_glass(n: int = 3000) -> np.ndarray:
    """The chapter's Mackey–Glass series (τ = 17, one sample per time unit), standardised."""
    s = data.make_mackey_glass(n)
    return (s - s.mean()) / s.std()


def clipping_run(max_norm: float | None, steps: int = 300, seed: int = 0, **overrides) -> rec.RnnTrainResult:
    """SGD on a tanh RNN predicting the next value of the Mackey–Glass series, clipped at ``max_norm`` (or not).

    The recurrent matrix starts with spectral radius 1.5 (``CLIP_SETTINGS``): the network is
    chaotic, and its gradients through 40 steps are occasionally enormous.
    """
    cfg = {**CLIP_SETTINGS, **overrides}
    u = standardized_mackey_glass()
    params = rec.init_rnn_regressor(1, cfg["hidden"], np.random.default_rng(seed), cfg["spectral_radius"])
    rng = np.random.default_rng(seed + 1000)
    T, n = cfg["length"], cfg["batch"]

    def batches(step):
        idx = rng.integers(0, len(u) - T - 1, n)[None, :] + np.arange(T)[:, None]
        return u[idx][..., None], u[idx + 1][..., None]

    return rec.train_rnn_regression(params, batches, steps, cfg["lr"], max_norm)


def final_loss(result: rec.RnnTrainResult, last: int = 20) -> float:
    """Mean loss of the last ``last`` steps; ``inf`` for a run that diverged."""
    return float("inf") if result.diverged else float(np.mean(result.losses[-last:]))


def plot_runs(results: Mapping[str, rec.RnnTrainResult], key: str = "losses", ax=None):
    """One curve per run of ``key`` (``"losses"`` or ``"grad_norms"``) against the step, log scale."""
    ax = ax or plt.subplots(figsize=(6.2, 4.0))[1]
    for i, (name, r) in enumerate(results.items()):
        v = np.asarray(getattr(r, key), dtype=float)
        ax.semilogy(np.arange(1, len(v) + 1), v, color=plotting.COLORS[i % 10],
                    label=name + (" (diverged)" if r.diverged else ""))
    ax.set_xlabel("SGD step")
    ax.set_ylabel({"losses": "training loss (MSE)", "grad_norms": "global gradient norm"}.get(key, key))
    ax.legend()
    return ax


# ---------------------------------------------------------- echo state networks
def forecast_study(horizon: int = ESN_HORIZON, n_train: int = ESN_TRAIN, length: int = ESN_LENGTH, seed: int = 0,
                   ar_order: int = 20, **esn) -> dict[str, res.ForecastResult]:
    """Forecast ``horizon`` steps ahead on Mackey–Glass with an echo state network and three baselines.

    ``"echo state network"``: the reservoir of ``ESN_SETTINGS`` (or ``esn`` overrides);
    ``"reservoir without recurrence"``: the same with ρ = 0 (it sees only the present value);
    ``f"linear AR({ar_order})"``: the same read-out on the last ``ar_order`` values;
    ``"repeat the last value"``.
    """
    cfg = {**ESN_SETTINGS, **esn}
    u = standardized_mackey_glass()[:length]
    out = {}
    for name, rho in (("echo state network", cfg["spectral_radius"]), ("reservoir without recurrence", 0.0)):
        W_in, W = res.make_reservoir(cfg["n_units"], rho, np.random.default_rng(seed), cfg["input_scale"])
        X = res.reservoir_states(u, W_in, W, cfg["leak"])
        out[name] = res.forecast(u, horizon, X, n_train, ridge=cfg["ridge"])
    out[f"linear AR({ar_order})"] = res.forecast(u, horizon, res.delay_states(u, ar_order), n_train, ridge=cfg["ridge"])
    out["repeat the last value"] = res.repeat_last_forecast(u, horizon, n_train)
    return out


def plot_forecasts(results: Mapping[str, res.ForecastResult], show: int = 300, ax=None):
    """The first ``show`` evaluation steps: the true series and each forecast, NRMSE in the legend."""
    ax = ax or plt.subplots(figsize=(7.5, 4.0))[1]
    first = next(iter(results.values()))
    t = first.times[:show]
    ax.plot(t, first.targets[:show], color="k", lw=2.5, alpha=0.35, label="true series")
    for i, (name, r) in enumerate(results.items()):
        ax.plot(t, r.predictions[:show], color=plotting.COLORS[i % 10], lw=1.2, label=f"{name} (NRMSE {r.nrmse:.3f})")
    ax.set_xlabel("time step t (predicting x at t + horizon)")
    ax.set_ylabel("Mackey–Glass x (standardised)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# ------------------------------------------------------ the three task shapes
def train_classifier(model: torch.nn.Module, batch: Callable[[np.random.Generator], tuple], steps: int,
                     seed: int = 0, lr: float = 1e-2, progress: bool = False, device=None):
    """Adam on cross-entropy over every label of ``batch(rng) -> (x, y)`` (NumPy); returns the History."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    def next_batch(step):
        x, y = batch(rng)
        return torch.as_tensor(x), torch.as_tensor(y)

    def loss(out, y):
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    return training.train_steps(model, next_batch, loss, opt, steps, clip=1.0, progress=progress, device=device)


@torch.no_grad()
def heldout_accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of ``model``'s arg-max over every label of ``(x, y)``."""
    model.eval()
    pred = model(torch.as_tensor(x, device=next(model.parameters()).device)).argmax(-1).cpu().numpy()
    return float((pred == y).mean())


def shuffle_task_run(corpus: data.CharCorpus, model: str = "gru", steps: int = 120, seed: int = 0,
                     length: int = 24, device=None) -> float:
    """Many-to-one: train on training windows (half shuffled), return accuracy on 1,000 validation windows.

    ``model``: ``"gru"`` (:class:`course_utils.scratch.sequence_models.SequenceClassifier`) or
    ``"bag"`` (:class:`course_utils.scratch.sequence_models.BagOfSymbols`, blind to order).
    """
    V = len(corpus.vocab)
    torch.manual_seed(seed)
    net = sm.SequenceClassifier(V) if model == "gru" else sm.BagOfSymbols(V)
    train_classifier(net, lambda rng: data.make_shuffle_task(corpus.train, 64, length, rng), steps, seed,
                     device=device)
    return heldout_accuracy(net, *data.make_shuffle_task(corpus.val, 1000, length, np.random.default_rng(seed + 1)))


def word_end_run(corpus: data.CharCorpus, bidirectional: bool, steps: int = 120, seed: int = 0,
                 length: int = 24, device=None) -> float:
    """Many-to-many: mark the characters where a word ends; accuracy over every character of 1,000 validation windows."""
    torch.manual_seed(seed)
    net = sm.SequenceTagger(len(corpus.vocab), bidirectional=bidirectional)
    train_classifier(net, lambda rng: data.make_word_end_task(corpus.train, corpus.vocab, 64, length, rng), steps, seed,
                     device=device)
    x, y = data.make_word_end_task(corpus.val, corpus.vocab, 1000, length, np.random.default_rng(seed + 1))
    return heldout_accuracy(net, x, y)


def sine_generator_run(steps: int = 200, seed: int = 0, length: int = 30, device=None):
    """One-to-many: from one frequency ω, generate ``sin(ω t)`` for ``t = 1 … length``.

    Returns ``(model, mse on 500 fresh frequencies, mse of predicting 0)``.
    """
    torch.manual_seed(seed)
    net = sm.SequenceGenerator(length)
    rng = np.random.default_rng(seed)

    def next_batch(step):
        w, s = data.make_sine_sequences(64, length, rng)
        return torch.tensor(w, dtype=torch.float32), torch.tensor(s, dtype=torch.float32)

    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    training.train_steps(net, next_batch, F.mse_loss, opt, steps, clip=1.0, progress=False, device=device)
    w, s = data.make_sine_sequences(500, length, np.random.default_rng(seed + 1))
    with torch.no_grad():
        pred = net(torch.tensor(w, dtype=torch.float32, device=next(net.parameters()).device)).cpu().numpy()
    return net, float(np.mean((pred - s) ** 2)), float(np.mean(s ** 2))


def plot_generated_waves(model: torch.nn.Module, omegas: Sequence[float], length: int = 30, ax=None):
    """The generator's output for a few frequencies, against the true waves."""
    ax = ax or plt.subplots(figsize=(6.4, 3.8))[1]
    t = np.arange(1, length + 1)
    with torch.no_grad():
        gen = model(torch.tensor(list(omegas), dtype=torch.float32, device=next(model.parameters()).device)).cpu().numpy()
    for i, w in enumerate(omegas):
        ax.plot(t, np.sin(w * t), color=plotting.COLORS[i], lw=2.5, alpha=0.35)
        ax.plot(t, gen[i], "o-", ms=2.5, lw=1, color=plotting.COLORS[i], label=f"ω = {w:.2f}")
    ax.set_xlabel("time step t")
    ax.set_ylabel("output (line: generated; band: sin ωt)")
    ax.legend(loc="lower left", ncol=len(omegas))
    return ax


# ------------------------------------------------------------ the char LSTM
def text_baselines(corpus: data.CharCorpus) -> dict[str, float]:
    """Bits per character of the trivial models on the validation text (counts from the training text, add-one)."""
    V = len(corpus.vocab)
    return {"uniform": float(np.log2(V)),
            "unigram": lm.unigram_bits(corpus.train, corpus.val, V),
            "bigram": lm.bigram_bits(corpus.train, corpus.val, V),
            "validation entropy": lm.entropy_bits(corpus.val, V)}


def train_char_lstm(corpus: data.CharCorpus, steps: int, seed: int = 0, progress: bool = True, device=None):
    """The character LSTM (embedding 64, LSTM 128) trained with ``LSTM_RECIPE`` for ``steps`` steps.

    Returns ``(model, history, seconds)``.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = lm.CharLSTM(len(corpus.vocab))
    R = lm.LSTM_RECIPE
    opt, sched = lm.optimizer_for(model, R, steps)
    with stopwatch() as t:
        history = training.train_steps(model, lambda s: lm.random_windows(corpus.train, R.batch, R.length, rng),
                                       R.loss, opt, steps, clip=R.clip, scheduler=sched, progress=progress,
                                       desc="char LSTM", device=device)
    return model, history, t["seconds"]


def plot_lm_training(history, baselines: Mapping[str, float], val_bits: float | None = None, ax=None):
    """Training loss in bits/char per step (running mean of 25) with the counting baselines as lines."""
    ax = ax or plt.subplots(figsize=(6.4, 4.0))[1]
    bits = np.asarray(history["train_loss"]) / np.log(2)
    ax.plot(np.arange(1, len(bits) + 1), running_mean(bits, 25), label="training batches (running mean)")
    for i, (name, b) in enumerate(baselines.items()):
        ax.axhline(b, ls="--", lw=1, color=plotting.COLORS[(i + 1) % 10], label=f"{name}: {b:.2f}")
    if val_bits is not None:
        ax.plot([len(bits)], [val_bits], "k*", ms=12, label=f"validation: {val_bits:.2f}")
    ax.set_xlabel("training step")
    ax.set_ylabel("bits per character")
    ax.legend(loc="upper right")
    return ax


def temperature_samples(model, vocab: data.CharVocab, prompt: str, n: int, temperatures: Sequence[float],
                        seed: int = 0) -> dict[float, str]:
    """A sample of ``n`` characters after ``prompt`` at each temperature."""
    ids = vocab.encode(prompt)
    return {T: vocab.decode(lm.sample(model, ids, n, T, np.random.default_rng(seed))) for T in temperatures}


def known_word_fraction(text: str, words: set[str]) -> float:
    """Share of the alphabetic words of ``text`` that occur in ``words`` (the training text's words)."""
    found = re.findall(r"[A-Za-z]+", text)
    return float(np.mean([w in words for w in found])) if found else 0.0


# ------------------------------------------------------------ exercise checks
def check_lstm_cell(fn: Callable, trials: int = 5) -> checks.CheckResult:
    """Check ``fn(x, h, c, Wx, Wh, b) -> (h_next, c_next)`` against ``recurrent.lstm_cell_forward`` (gates i, f, g, o)."""
    def make_inputs(rng):
        n, d, H = (int(v) for v in rng.integers(2, 6, size=3))
        return (rng.standard_normal((n, d)), rng.standard_normal((n, H)), rng.standard_normal((n, H)),
                rng.standard_normal((d, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H))

    return checks.check_function(fn, lambda *a: rec.lstm_cell_forward(*a)[0], make_inputs, name="lstm_cell_step",
                                 trials=trials, rtol=1e-9, atol=1e-12)


def gradient_horizon(rho: float = 0.9, factor: float = 1000.0) -> float:
    """Steps ``k`` after which ``ρᵏ = 1 / factor``: ``ln(factor) / ln(1/ρ)``."""
    return float(np.log(factor) / np.log(1 / rho))


def check_gradient_horizon(answer) -> checks.CheckResult:
    """Derive-then-check: ``k`` with ``0.9ᵏ = 1/1000`` (to within half a step)."""
    hint = ("with W = 0.9·Q the norm shrinks by exactly 0.9 per step, so 0.9^k = 10⁻³ gives "
            "k = ln 1000 / ln(1/0.9) ≈ 65.6 steps")
    return checks.check_value(answer, gradient_horizon(), name="k", rtol=0, atol=0.5, hint=hint)


def untrained_bits(corpus: data.CharCorpus, seed: int = 0, n: int = 20_000) -> float:
    """Validation bits/char (first ``n`` characters) of a freshly initialised character LSTM."""
    torch.manual_seed(seed)
    return lm.bits_per_char(lm.CharLSTM(len(corpus.vocab)), corpus.val[:n])


def check_untrained_bits(prediction, corpus: data.CharCorpus, tol: float = 0.15) -> checks.CheckResult:
    """Predict-then-run: the validation bits/char of the untrained LSTM, to ``tol`` bits."""
    actual = untrained_bits(corpus)
    V = len(corpus.vocab)
    hint = (f"at initialisation the read-out's logits are all close to 0, so the softmax is almost uniform over the "
            f"{V} symbols: log₂ {V} = {np.log2(V):.2f} bits (measured: {actual:.2f}). A first loss far from log C "
            f"means a bug in the model or the loss")
    return checks.check_value(prediction, actual, name="your prediction", rtol=0, atol=tol, hint=hint)


def _call_clip(fn, grads, max_norm):
    out = fn([g.copy() for g in grads], max_norm)
    return out if isinstance(out, tuple) and len(out) == 2 else (out, None)


def check_clip_by_global_norm(fn: Callable) -> checks.CheckResult:
    """Debug-this: ``fn(grads, max_norm) -> (clipped, norm)`` must rescale *all* gradients by one factor,
    and only when their joint norm exceeds ``max_norm`` (``recurrent.clip_by_global_norm``)."""
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5), rng.standard_normal((2, 2))]
    norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    try:
        small, _ = _call_clip(fn, grads, 2 * norm)
        big, _ = _call_clip(fn, [3.0 * g for g in grads], norm)
    except Exception:  # not written yet, or a crash: check_function reports it
        small = None
    if small is not None and checks.compare(small, grads, 1e-9, 1e-12) is not None:
        return checks.check_value(small, grads, name="clipped gradients",
                                  hint="their joint norm was already below max_norm, so nothing may change: "
                                       "the scale factor is min(1, max_norm / norm)")
    if small is not None and checks.compare(big, grads, 1e-9, 1e-12) is not None:
        return checks.check_value(big, grads, name="clipped gradients",
                                  hint="all tensors must share ONE factor computed from their joint norm, so the "
                                       "update keeps its direction; clipping each tensor by its own norm changes it")

    def make_inputs(rng):
        gs = [rng.standard_normal(tuple(rng.integers(1, 5, size=2))) * rng.uniform(0.1, 5) for _ in range(3)]
        return (gs, float(rng.uniform(0.5, 8)))

    return checks.check_function(fn, rec.clip_by_global_norm, make_inputs, name="clip_by_global_norm", trials=6,
                                 rtol=1e-6, atol=1e-9)


def check_esn_design(choice) -> checks.CheckResult:
    """Design-to-a-target: an echo state network with ``choice`` (spectral_radius, input_scale, leak, ridge)
    must forecast 10 steps ahead with NRMSE ≤ ``ESN_DESIGN_TARGET``."""
    keys = ("spectral_radius", "input_scale", "leak", "ridge")
    if choice is Ellipsis or (isinstance(choice, dict) and any(choice.get(k, ...) is Ellipsis for k in keys)):
        return checks.check_value(..., 0.0, name="your design")
    if not isinstance(choice, dict) or set(choice) != set(keys):
        return checks.check_value(choice, dict.fromkeys(keys, 0.0), name="your design",
                                  hint=f"choice must be a dict with exactly the keys {keys}")
    try:
        got = forecast_study(**{k: float(v) for k, v in choice.items()})["echo state network"].nrmse
    except (ValueError, np.linalg.LinAlgError) as exc:
        return checks.check_value(None, 0.0, name="your design", hint=f"the reservoir could not be built: {exc}")
    ok = got <= ESN_DESIGN_TARGET
    hint = (f"your reservoir forecasts with NRMSE {got:.3f}, the target is ≤ {ESN_DESIGN_TARGET}. A spectral radius "
            "near 1 keeps a long memory of the input without exploding; input scale around 1 keeps tanh in its useful "
            "range; leak 1 (no leak) is fine for this series; a small ridge (1e-6) fits without blowing up")
    return checks.check_value(bool(ok), True, name=f"NRMSE {got:.3f} ≤ {ESN_DESIGN_TARGET}", hint=hint)
