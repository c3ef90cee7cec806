"""Chapter 09 · regularization: figures, the widget, experiments and exercise checks.

- The running example: ``small_digits`` (a few hundred 8×8 digits, a share of their labels
  wrong) and ``train_regularized`` (an MLP with dropout and weight decay, cached per setting);
  ``regularization_gain`` is the headline measurement and ``draw_regularization`` the widget.
- Penalties: ``sparse_regression``, ``penalty_paths``, ``plot_penalty_paths``.
- Weight decay under Adam: ``decay_under_adam``, ``coupled_vs_decoupled``.
- Early stopping: ``train_with_early_stopping``, ``plot_early_stopping``.
- Ensembles: ``EnsembleMLP``, ``make_wave``, ``train_ensemble``, ``plot_ensemble``.
- Dropout: ``weight_scaling_study``, ``mc_dropout_regression``, ``plot_mc_dropout``.
- Augmentation: ``augmentation_study``, ``plot_augmented``.
- Normalisation: ``bn_twin_errors``, ``norm_twin_errors``, ``bn_mode_study``, ``plot_norm_axes``.
- Thresholds shared by the notebook and the tests are the constants below.
- Checks: ``check_batchnorm_backward`` (implement), ``check_running_stats`` (debug),
  ``check_adam_step`` (derive), ``check_ridge_zeros`` (predict), ``check_lasso_choice`` (design).
"""
from __future__ import annotations

import copy
import functools
import hashlib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from ... import cache, data, plotting, training
from ...config import get_device, one_thread
from ...scratch import augmentation, norms
from ...scratch import regularization as reg
from ...scratch.metrics import accuracy
from ...widgets import frame

#: the running example: this many training digits, this share of their labels replaced by random ones
N_TRAIN, LABEL_NOISE = 300, 0.25
#: the widget's grid
DROPOUTS, WEIGHT_DECAYS = (0.0, 0.2, 0.5), (0.0, 1e-3, 1e-2)
#: the regularised model of the headline and its margin over the unregularised one, every seed
REGULARIZED = dict(dropout=0.5, weight_decay=1e-2)
GAIN_MIN = 0.03
#: L1's exact zeros among the 50 weights (measured 30–40) vs L2's (0)
SPARSE_MIN = 20
#: early stopping: validation accuracy of the kept weights over the last epoch's
EARLY_STOP_GAIN_MIN = 0.03
#: the ensemble's test MSE is at most this share of the average member's
ENSEMBLE_RATIO_MAX = 0.8
#: weight-scaling rule vs the average of many masks: mean |Δ probability| and label agreement
SCALING_PROB_DIFF_MAX, SCALING_AGREE_MIN = 0.15, 0.96
#: MC dropout: predictive std far from the data over std on the data
MC_RATIO_MIN = 1.5
#: shifted copies of the training images: validation accuracy gain, mean over seeds
AUGMENT_GAIN_MIN = 0.01


# ------------------------------------------------------------ the running example
@functools.lru_cache(maxsize=8)
def small_digits(seed: int = 0, n_train: int = N_TRAIN, label_noise: float = LABEL_NOISE) -> data.Split:
    """``n_train`` standardised 8×8 digits for training, a share ``label_noise`` of their labels
    replaced by uniformly random ones (some by chance unchanged); 500 clean validation digits."""
    X, y = data.load_digits()
    p = data.split(X, y, np.random.default_rng(seed), val=0.3, test=0.0)
    Xtr, Xva = data.standardize(p.X_train[:n_train], p.X_val[:500])
    ytr = p.y_train[:n_train].copy()
    rng = np.random.default_rng(1000 + seed)
    wrong = rng.random(n_train) < label_noise
    ytr[wrong] = rng.integers(0, 10, wrong.sum())
    return data.Split(Xtr, ytr, Xva, p.y_val[:500], np.empty((0, 64)), np.empty(0, dtype=np.int64))


def make_mlp(dropout: float = 0.0, width: int = 128, batchnorm: bool = False, d_in: int = 64, seed: int = 0) -> nn.Sequential:
    """``d_in``-width-width-10 ReLU MLP with ``nn.Dropout(dropout)`` after each hidden layer
    (and ``nn.BatchNorm1d`` before each ReLU if ``batchnorm``), seeded."""
    torch.manual_seed(seed)
    mods: list[nn.Module] = []
    for a, b in ((d_in, width), (width, width)):
        mods += [nn.Linear(a, b)] + ([nn.BatchNorm1d(b)] if batchnorm else []) + [nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*mods, nn.Linear(width, 10))


@functools.lru_cache(maxsize=64)
def _train_regularized(dropout: float, weight_decay: float, seed: int, epochs: int, n_train: int, label_noise: float):
    p = small_digits(seed, n_train, label_noise)
    model = make_mlp(dropout, seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=weight_decay)
    with one_thread():   # as fast as two for this MLP, and the same numbers whatever the notebook's setting
        history = training.fit(model, training.make_loader(p.X_train, p.y_train, 64, seed=seed), nn.CrossEntropyLoss(), opt,
                               epochs=epochs, val_loader=training.make_loader(p.X_val, p.y_val, 500, shuffle=False),
                               metrics={"acc": accuracy}, device=get_device(), progress=False)
    return model.cpu(), history


def train_regularized(dropout: float = 0.0, weight_decay: float = 0.0, seed: int = 0, epochs: int = 30,
                      n_train: int = N_TRAIN, label_noise: float = LABEL_NOISE) -> tuple[nn.Module, training.History]:
    """Train the running example's MLP with SGD (momentum 0.9, lr 0.05, L2 ``weight_decay``) and
    ``dropout``; cached, so the widget and the headline share runs. Returns ``(model, history)``."""
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if weight_decay < 0:
        raise ValueError(f"weight decay must be >= 0, got {weight_decay}")
    return _train_regularized(float(dropout), float(weight_decay), int(seed), int(epochs), int(n_train), float(label_noise))


# ------------------------------------------------ the widget's runs, shipped with the course
#: the widget's histories (every dropout × weight decay of the grid, seed 0, 30 epochs), made on one thread by
#: ``python -m course_utils.chapters.ch09_regularization`` (about 5 s). Training one takes about 0.5 s, which a
#: student would otherwise wait at each new setting; used only if made by this code, data and torch version
WIDGET_RUNS_FILE = cache.SHIPPED_DIR / "ch09_regularization_runs.npz"
WIDGET_RUNS_SHA256 = "d60c6ccd274d71b947107f4a7daad2cb6753ec638646022402969a9a3c5e39a2"


def _history_arrays(dropout: float, weight_decay: float) -> dict[str, np.ndarray]:
    _, h = train_regularized(dropout, weight_decay, seed=0)
    return {k: np.asarray(h[k]) for k in h.keys()}


@functools.lru_cache(maxsize=1)
def _widget_version() -> str:
    """A hash of what the widget's histories depend on: the code that trains them, the digits and the torch version."""
    parts = (training, reg, small_digits, make_mlp, _train_regularized, train_regularized, _history_arrays, accuracy)
    code = "".join(inspect.getsource(p) for p in parts) + repr((N_TRAIN, LABEL_NOISE))
    h = hashlib.sha256((code + torch.__version__).encode())
    h.update(np.ascontiguousarray(data.load_digits()[0]).tobytes())
    return h.hexdigest()[:12]


@functools.lru_cache(maxsize=len(DROPOUTS) * len(WEIGHT_DECAYS))
def widget_history(dropout: float, weight_decay: float) -> dict[str, np.ndarray]:
    """Per-epoch training and validation loss and accuracy of the grid's run (seed 0): from the disk cache, else
    the shipped file (:data:`WIDGET_RUNS_FILE`), else trained (:func:`train_regularized`)."""
    return cache.cached_or_shipped(f"ch09-dropout{dropout:g}-wd{weight_decay:g}", lambda: _history_arrays(dropout, weight_decay),
                                   _widget_version(), cache.read_shipped(WIDGET_RUNS_FILE, WIDGET_RUNS_SHA256))


def write_widget_runs(path=WIDGET_RUNS_FILE) -> str:
    """Train the widget's grid (one thread) and write it to ``path``; returns the file's SHA-256."""
    return cache.write_shipped(path, {f"ch09-dropout{p:g}-wd{wd:g}": (_history_arrays(p, wd), _widget_version())
                                      for p in DROPOUTS for wd in WEIGHT_DECAYS})


def regularization_gain(config: dict, seeds: Sequence[int], **kwargs) -> dict[str, np.ndarray]:
    """Final validation accuracy of ``config`` (``dropout``, ``weight_decay``) and of the
    unregularised model on each seed, and the per-seed ``gain``."""
    reg_acc = np.array([train_regularized(seed=s, **config, **kwargs)[1]["val_acc"][-1] for s in seeds])
    base = np.array([train_regularized(0.0, 0.0, seed=s, **kwargs)[1]["val_acc"][-1] for s in seeds])
    return {"regularized": reg_acc, "unregularized": base, "gain": reg_acc - base}


@frame
def draw_regularization(dropout: float = 0.5, weight_decay: float = 1e-2, seed: int = 0):
    """The chapter's widget: training and validation loss and accuracy of the running example."""
    if dropout not in DROPOUTS or weight_decay not in WEIGHT_DECAYS:
        raise ValueError(f"this figure has runs for dropout in {DROPOUTS} and weight decay in {WEIGHT_DECAYS}")
    h = widget_history(dropout, weight_decay) if seed == 0 else train_regularized(dropout, weight_decay, seed)[1]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="none")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.83, wspace=0.25)
    epochs = np.arange(1, len(h["val_acc"]) + 1)
    for ax, kind, lim in ((axes[0], "loss", (0, 3.0)), (axes[1], "acc", (0, 1.02))):
        ax.plot(epochs, h[f"train_{kind}"], color=plotting.COLORS[0], label="training (noisy labels, dropout on)")
        ax.plot(epochs, h[f"val_{kind}"], color=plotting.COLORS[1], label="validation (clean labels)")
        ax.set(xlabel="epoch", ylabel="accuracy" if kind == "acc" else "cross-entropy", ylim=lim)
    axes[1].legend(fontsize=8, loc="lower right")  # one legend serves both panels (the same two lines)
    axes[0].set_title("loss")
    axes[1].set_title("accuracy")
    fig.suptitle(f"dropout {dropout:g}, weight decay {weight_decay:g}: final validation accuracy "
                 f"{h['val_acc'][-1]:.3f} (training {h['train_acc'][-1]:.3f})", fontsize=11)
    return fig


# ------------------------------------------------------------------ penalties
def sparse_regression(seed: int = 0, n: int = 100, d: int = 50, k: int = 5, noise: float = 0.5):
    """``y = X w* + noise`` with ``X (n, d)`` standard normal and only ``k`` non-zero weights (±2).
    Returns ``X``, ``y`` and ``w*``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = np.zeros(d)
    w[rng.choice(d, k, replace=False)] = rng.choice([-2.0, 2.0], k)
    return X, X @ w + noise * rng.standard_normal(n), w


def penalty_paths(X: np.ndarray, y: np.ndarray, lams: Sequence[float], penalty: str, steps: int = 400) -> np.ndarray:
    """Weights ``(len(lams), d)`` minimising the penalised least squares at each λ (``"l1"``: ISTA; ``"l2"``: closed form)."""
    if penalty == "l2":
        return np.array([reg.ridge(X, y, lam) for lam in lams])
    return np.array([reg.penalized_least_squares(X, y, lam, "l1", steps=steps).w for lam in lams])


def plot_penalty_paths(lams: np.ndarray, paths: dict[str, np.ndarray], w_true: np.ndarray):
    """One panel per penalty: each weight against λ (log axis), the truly non-zero ones in colour."""
    fig, axes = plt.subplots(1, len(paths), figsize=(11, 4), sharey=True)
    for ax, (name, W) in zip(np.atleast_1d(axes), paths.items()):
        for j in range(W.shape[1]):
            relevant = w_true[j] != 0
            ax.semilogx(lams, W[:, j], color=plotting.COLORS[j % 10] if relevant else "0.75", lw=2 if relevant else 0.8)
        zeros = (W == 0).sum(axis=1)
        ax.set(xlabel="λ", title=f"{name}: exact zeros go from {zeros[0]} to {zeros[-1]} of {W.shape[1]}")
    np.atleast_1d(axes)[0].set_ylabel("weight (coloured: the 5 that matter)")
    return fig


# ----------------------------------------------------------- weight decay and Adam
def decay_under_adam(scales: Sequence[float], lam: float = 0.1, lr: float = 1e-3, steps: int = 2000,
                     decoupled: bool = False, per_scale: int = 100, seed: int = 0) -> np.ndarray:
    """Mean final |w| per gradient scale, starting from w = 1, when the data gradient is pure
    noise ``s·ξ`` (it says nothing about w) and only the regulariser pulls w to 0.

    ``decoupled=False``: ``torch.optim.Adam(weight_decay=λ)``, the L2 gradient λw added to the
    data gradient; ``True``: ``torch.optim.AdamW(weight_decay=λ)``, decay applied to w directly.
    """
    g = torch.Generator().manual_seed(seed)
    s = torch.tensor(np.repeat(scales, per_scale), dtype=torch.float64)
    w = torch.ones(len(s), dtype=torch.float64, requires_grad=True)
    opt = (torch.optim.AdamW if decoupled else torch.optim.Adam)([w], lr=lr, weight_decay=lam)
    for _ in range(int(steps)):
        w.grad = s * torch.randn(len(s), generator=g, dtype=torch.float64)
        opt.step()
    return w.detach().abs().reshape(len(scales), per_scale).mean(dim=1).numpy()


def coupled_vs_decoupled(lam: float = 0.01, lr: float = 0.05, steps: int = 50, seed: int = 0) -> dict[str, float]:
    """Largest weight difference between pairs of runs on the same least-squares problem:
    SGD(weight_decay) vs SGD on loss + λ/2‖w‖²; Adam(weight_decay) vs Adam on that loss; AdamW vs Adam(weight_decay)."""
    X, y, _ = sparse_regression(seed, n=60, d=10, k=3)
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def run(make_opt, l2_in_loss: bool):
        w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
        opt = make_opt([w])
        for _ in range(steps):
            loss = 0.5 * ((Xt @ w - yt) ** 2).mean() + (0.5 * lam * (w ** 2).sum() if l2_in_loss else 0)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return w.detach().numpy()

    sgd_wd = run(lambda p: torch.optim.SGD(p, lr=lr, weight_decay=lam), False)
    adam_wd = run(lambda p: torch.optim.Adam(p, lr=lr, weight_decay=lam), False)
    return {"SGD: weight_decay vs L2 in the loss": float(np.abs(sgd_wd - run(lambda p: torch.optim.SGD(p, lr=lr), True)).max()),
            "Adam: weight_decay vs L2 in the loss": float(np.abs(adam_wd - run(lambda p: torch.optim.Adam(p, lr=lr), True)).max()),
            "AdamW vs Adam(weight_decay)": float(np.abs(adam_wd - run(lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=lam),
                                                                      False)).max())}


# ------------------------------------------------------------------ early stopping
@dataclass
class EarlyStoppingRun:
    """A run with early stopping: its history, the epoch it stopped at and the epoch whose weights it kept."""

    history: training.History
    stop_epoch: int
    best_epoch: int
    kept_val_acc: float
    last_val_acc: float


def train_with_early_stopping(seed: int = 0, patience: int = 10, max_epochs: int = 60, lr: float = 3e-3) -> EarlyStoppingRun:
    """The unregularised running example trained with Adam one epoch at a time (``training.fit`` with
    ``epochs=1``), keeping a copy of the weights of the best validation loss; stops after ``patience``
    epochs without improvement (``regularization.EarlyStopping``) and restores the kept weights."""
    p = small_digits(seed)
    model = make_mlp(0.0, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    train = training.make_loader(p.X_train, p.y_train, 64, seed=seed)
    val = training.make_loader(p.X_val, p.y_val, 500, shuffle=False)
    stopper, history, best_state = reg.EarlyStopping(patience), training.History(), None
    for _ in range(int(max_epochs)):
        # fit appends one epoch to the history it is given (it starts a new one when given an empty one)
        history = training.fit(model, train, nn.CrossEntropyLoss(), opt, epochs=1, val_loader=val,
                               metrics={"acc": accuracy}, device=get_device(), progress=False, history=history)
        stop = stopper.step(history["val_loss"][-1])
        if stopper.improved:
            best_state = copy.deepcopy(model.state_dict())
        if stop:
            break
    last = history["val_acc"][-1]
    model.load_state_dict(best_state)
    kept = training.evaluate(model, val, nn.CrossEntropyLoss(), {"acc": accuracy})["acc"]
    return EarlyStoppingRun(history, stopper.epoch, stopper.best_epoch, kept, last)


def plot_early_stopping(run: EarlyStoppingRun, ax=None):
    """Training and validation loss with the kept epoch and the stopping epoch marked."""
    ax = ax if ax is not None else plt.subplots(figsize=(6.5, 4))[1]
    plotting.training_curves(run.history, ax=ax, keys=["train_loss", "val_loss"], title="Early stopping")
    ax.axvline(run.best_epoch + 1, color=plotting.COLORS[2], ls="--", label=f"kept: epoch {run.best_epoch + 1}")
    ax.axvline(run.stop_epoch + 1, color="0.4", ls=":", label=f"stopped: epoch {run.stop_epoch + 1}")
    ax.legend()
    return ax


# ------------------------------------------------------------------ ensembles
class EnsembleMLP(nn.Module):
    """``K`` independent MLPs 1-width-width-1 (tanh) evaluated in one batched product.

    Input ``(K, n, 1)`` (each member may see its own inputs), output ``(K, n, 1)``. Each member is
    initialised like ``nn.Linear`` (uniform in ±1/√fan_in), from the global torch seed.
    """

    def __init__(self, members: int, width: int = 64):
        super().__init__()
        sizes = [1, width, width, 1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:]):
            bound = 1 / np.sqrt(a)
            self.weights.append(nn.Parameter(torch.empty(members, a, b).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(members, 1, b).uniform_(-bound, bound)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, W)
            if i < len(self.weights) - 1:
                x = torch.tanh(x)
        return x


def make_wave(seed: int = 0, n: int = 40, noise: float = 0.3, low: float = -1.0, high: float = 1.0):
    """``y = sin(3x) + noise`` at ``n`` points uniform in ``[low, high]``."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(low, high, n))
    return x, np.sin(3 * x) + noise * rng.standard_normal(n)


def train_ensemble(members: int = 10, bootstrap: bool = True, same_init: bool = False, seed: int = 0,
                   steps: int = 500, width: int = 32) -> dict[str, np.ndarray]:
    """Bagging on the wave: each member fits its own bootstrap replicate (a weighted loss with the
    replicate's counts) from its own initialisation, full-batch Adam (lr 0.01).

    ``bootstrap=False`` gives every member the whole set; ``same_init=True`` the same starting weights:
    both together make every member identical (the negative control). Returns the test grid ``x``,
    the truth ``f`` and the members' ``predictions (K, n_grid)``.
    """
    x, y = make_wave(seed)
    rng = np.random.default_rng(seed)
    counts = np.stack([np.bincount(reg.bootstrap_indices(len(x), rng), minlength=len(x)) if bootstrap
                       else np.ones(len(x)) for _ in range(members)])
    torch.manual_seed(seed)
    model = EnsembleMLP(members, width)
    if same_init:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p[:1].expand_as(p).clone())
    X = torch.tensor(x, dtype=torch.float32).reshape(1, -1, 1).expand(members, -1, -1)
    Y = torch.tensor(y, dtype=torch.float32).reshape(1, -1, 1)
    C = torch.tensor(counts, dtype=torch.float32).unsqueeze(-1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(int(steps)):
        loss = (C * (model(X) - Y) ** 2).sum() / C.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    grid = np.linspace(-1, 1, 201)
    with torch.no_grad():
        pred = model(torch.tensor(grid, dtype=torch.float32).reshape(1, -1, 1).expand(members, -1, -1))
    return {"x": grid, "f": np.sin(3 * grid), "predictions": pred[..., 0].numpy().astype(np.float64),
            "x_train": x, "y_train": y}


def plot_ensemble(result: dict, ax=None):
    """The members (thin), their average (thick), the truth (dashed) and the training points."""
    ax = ax if ax is not None else plt.subplots(figsize=(6.5, 4))[1]
    for i, p in enumerate(result["predictions"]):
        ax.plot(result["x"], p, color=plotting.COLORS[0], lw=0.7, alpha=0.5, label="members" if i == 0 else None)
    ax.plot(result["x"], result["predictions"].mean(0), color=plotting.COLORS[1], lw=2.5, label="ensemble average")
    ax.plot(result["x"], result["f"], "k--", lw=1.2, label="truth sin(3x)")
    ax.scatter(result["x_train"], result["y_train"], s=14, color="0.3", zorder=3, label="training points")
    ax.set(xlabel="x", ylabel="y", title=f"Bagging {len(result['predictions'])} networks", ylim=(-2, 2))
    ax.legend(fontsize=8)
    return ax


# ------------------------------------------------------------------ dropout
def _mc_probs(model: nn.Module, X: torch.Tensor, samples: int, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    model.train()
    with torch.no_grad():
        probs = torch.stack([torch.softmax(model(X), 1) for _ in range(samples)]).mean(0)
    model.eval()
    return probs


def weight_scaling_study(model: nn.Module, X: np.ndarray, samples: int = 200, seed: int = 0) -> dict[str, float]:
    """Compare a dropout network's deterministic output (eval mode: inverted dropout needs no
    rescaling) with the average of ``samples`` random masks (train mode), and the same comparison
    for the *wrong* rule that multiplies each dropout layer's output by ``1 − p`` once more."""
    Xt = torch.tensor(X, dtype=torch.float32)
    mc = _mc_probs(model, Xt, samples, seed)
    model.eval()
    with torch.no_grad():
        det = torch.softmax(model(Xt), 1)
        hooks = [m.register_forward_hook(lambda mod, inp, out: out * (1 - mod.p))
                 for m in model.modules() if isinstance(m, nn.Dropout)]
        wrong = torch.softmax(model(Xt), 1)
        for hk in hooks:
            hk.remove()
    return {"prob_diff": float((det - mc).abs().sum(1).mean() / 2), "agree": float((det.argmax(1) == mc.argmax(1)).float().mean()),
            "wrong_prob_diff": float((wrong - mc).abs().sum(1).mean() / 2),
            "wrong_agree": float((wrong.argmax(1) == mc.argmax(1)).float().mean())}


def mc_dropout_regression(seed: int = 0, dropout: float = 0.1, samples: int = 50, steps: int = 500,
                          width: int = 64) -> dict[str, np.ndarray]:
    """Fit the wave on ``[−1, 1]`` with a dropout MLP (full batch, Adam 0.01), then predict on
    ``[−4, 4]`` with dropout *on*, ``samples`` times: the mean and the spread of the predictions."""
    x, y = make_wave(seed, n=60)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Dropout(dropout), nn.Linear(width, width), nn.ReLU(),
                          nn.Dropout(dropout), nn.Linear(width, 1))
    X, Y = torch.tensor(x, dtype=torch.float32)[:, None], torch.tensor(y, dtype=torch.float32)[:, None]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(int(steps)):
        loss = ((model(X) - Y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    grid = np.linspace(-4, 4, 321)
    with torch.no_grad():
        G = torch.tensor(grid, dtype=torch.float32)[:, None]
        draws = torch.stack([model(G)[:, 0] for _ in range(samples)]).numpy()
    return {"x": grid, "mean": draws.mean(0), "std": draws.std(0), "x_train": x, "y_train": y}


def std_ratio(result: dict, far: tuple[float, float] = (3.0, 4.0), near: tuple[float, float] = (-1.0, 1.0)) -> float:
    """Mean predictive std where ``|x|`` is in ``far`` over the mean std where ``x`` is in ``near``."""
    x, s = result["x"], result["std"]
    in_far = (np.abs(x) >= far[0]) & (np.abs(x) <= far[1])
    in_near = (x >= near[0]) & (x <= near[1])
    return float(s[in_far].mean() / s[in_near].mean())


def plot_mc_dropout(result: dict, ax=None):
    """MC-dropout mean ± 2 std over the whole axis, the training range shaded."""
    ax = ax if ax is not None else plt.subplots(figsize=(6.5, 4))[1]
    x, m, s = result["x"], result["mean"], result["std"]
    ax.axvspan(-1, 1, color="0.92", label="training data range")
    ax.fill_between(x, m - 2 * s, m + 2 * s, color=plotting.COLORS[0], alpha=0.3, label="mean ± 2 std over masks")
    ax.plot(x, m, color=plotting.COLORS[0], label="MC-dropout mean")
    ax.plot(x, np.sin(3 * x), "k--", lw=1, label="truth sin(3x)")
    ax.scatter(result["x_train"], result["y_train"], s=10, color="0.3", zorder=3)
    ax.set(xlabel="x", ylabel="y", ylim=(-4, 4), title="MC dropout: uncertainty off the data")
    ax.legend(fontsize=8, loc="lower left")
    return ax


# ------------------------------------------------------------------ augmentation
@functools.lru_cache(maxsize=1)
def _mnist() -> tuple[np.ndarray, np.ndarray]:
    return data.load_mnist()


def augmentation_study(seeds: Sequence[int], n_train: int = 300, copies: int = 4, max_shift: int = 2,
                       steps: int = 200, width: int = 64) -> dict[str, np.ndarray]:
    """Validation accuracy of an MLP on ``n_train`` MNIST digits, with and without ``copies`` randomly
    shifted copies of each image, after the same number of SGD steps (batch 64, cosine schedule)."""
    X, y = _mnist()
    out: dict[str, list[float]] = {"plain": [], "augmented": []}
    for seed in seeds:
        p = data.split(X, y, np.random.default_rng(seed), val=0.2, test=0.0)
        Xv, yv = p.X_val[:1000], p.y_val[:1000]
        for kind in out:
            Xtr, ytr = p.X_train[:n_train], p.y_train[:n_train]
            if kind == "augmented":
                Xtr, ytr = augmentation.augment(Xtr, ytr, copies, np.random.default_rng(seed), max_shift=max_shift)
            model = make_mlp(0.0, width=width, d_in=784, seed=seed)
            opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
            loader = training.make_loader(Xtr, ytr, 64, seed=seed)
            epochs = max(1, int(round(steps * 64 / len(Xtr))))
            cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)  # settles: a less noisy end point
            training.fit(model, loader, nn.CrossEntropyLoss(), opt, epochs=epochs, scheduler=cosine,
                         device=get_device(), progress=False)
            out[kind].append(training.evaluate(model, training.make_loader(Xv, yv, 1000, shuffle=False),
                                               nn.CrossEntropyLoss(), {"acc": accuracy})["acc"])
    return {k: np.array(v) for k, v in out.items()}


def plot_augmented(n: int = 6, seed: int = 0, max_shift: int = 2):
    """A few MNIST digits (top) and randomly shifted copies of them (bottom)."""
    X, y = _mnist()
    pick = np.array([np.flatnonzero(y == d)[seed] for d in range(n)])  # one digit of each class 0 … n−1
    imgs = X[pick]
    shifted = augmentation.random_shift(imgs, np.random.default_rng(seed), max_shift=max_shift)
    return plotting.image_grid(np.vstack([imgs, shifted]), labels=[f"{d}" for d in y[pick]] + ["shifted"] * n, ncols=n,
                               title=f"Augmentation: shifts of up to {max_shift} pixels keep the label")


# ------------------------------------------------------------------ normalisation
def bn_twin_errors(rng: np.random.Generator, steps: int = 4, spatial: bool = False) -> dict[str, float]:
    """Largest differences between ``norms.BatchNorm`` and ``nn.BatchNorm1d``/``2d`` over a few training
    batches (output, input gradient, running statistics) and then in eval mode."""
    c = 5
    ours = norms.BatchNorm(c)
    twin = (nn.BatchNorm2d if spatial else nn.BatchNorm1d)(c, dtype=torch.float64)
    shape = (8, c, 4, 4) if spatial else (16, c)
    err = {"forward": 0.0, "backward": 0.0}
    for t in range(steps):
        x, dout = rng.normal(t, 1 + t, size=shape), rng.normal(size=shape)
        xt = torch.tensor(x, requires_grad=True)
        out_t = twin(xt)
        out_t.backward(torch.tensor(dout))
        err["forward"] = max(err["forward"], float(np.abs(ours.forward(x) - out_t.detach().numpy()).max()))
        err["backward"] = max(err["backward"], float(np.abs(ours.backward(dout) - xt.grad.numpy()).max()))
    err["running stats"] = float(max(np.abs(ours.running_mean - twin.running_mean.numpy()).max(),
                                     np.abs(ours.running_var - twin.running_var.numpy()).max()))
    x = rng.normal(size=shape)
    err["eval forward"] = float(np.abs(ours.eval().forward(x) - twin.eval()(torch.tensor(x)).detach().numpy()).max())
    return err


def norm_twin_errors(rng: np.random.Generator) -> dict[str, float]:
    """Largest differences between our layer, group and instance norm (forward and input gradient) and PyTorch's."""
    F = nn.functional
    x, dout = rng.normal(1.0, 2.0, size=(4, 6, 5, 5)), rng.normal(size=(4, 6, 5, 5))
    g, b = rng.normal(1, 0.3, 6), rng.normal(size=6)
    gl, bl = rng.normal(1, 0.3, (6, 5, 5)), rng.normal(size=(6, 5, 5))
    cases = {"layer norm": (norms.layernorm_forward, norms.layernorm_backward, (gl, bl), {},
                            lambda t: F.layer_norm(t, (6, 5, 5), torch.tensor(gl), torch.tensor(bl))),
             "group norm (3 groups)": (norms.groupnorm_forward, norms.groupnorm_backward, (g, b), {"groups": 3},
                                       lambda t: F.group_norm(t, 3, torch.tensor(g), torch.tensor(b))),
             "instance norm": (norms.instancenorm_forward, norms.instancenorm_backward, (g, b), {},
                               lambda t: F.instance_norm(t, weight=torch.tensor(g), bias=torch.tensor(b)))}
    out = {}
    for name, (fwd, bwd, params, opts, twin) in cases.items():
        y, cache = fwd(x, *params, **opts)
        xt = torch.tensor(x, requires_grad=True)
        yt = twin(xt)
        yt.backward(torch.tensor(dout))
        out[name] = max(float(np.abs(y - yt.detach().numpy()).max()), float(np.abs(bwd(dout, cache)[0] - xt.grad.numpy()).max()))
    return out


def bn_mode_study(seed: int = 0, epochs: int = 5) -> dict[str, float]:
    """Train a batch-norm MLP on clean digits, then score the validation set in eval mode, and in
    training mode (batch statistics) with batches of 256 and of 2 examples."""
    X, y = data.load_digits()
    p = data.split(X, y, np.random.default_rng(seed), val=0.3, test=0.0)
    Xtr, Xva = data.standardize(p.X_train, p.X_val)
    model = make_mlp(0.0, width=64, batchnorm=True, seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    training.fit(model, training.make_loader(Xtr, p.y_train, 64, seed=seed), nn.CrossEntropyLoss(), opt, epochs=epochs,
                 device="cpu", progress=False)
    Xv, yv = torch.tensor(Xva[:512], dtype=torch.float32), torch.tensor(p.y_val[:512])
    out = {}
    with torch.no_grad():
        model.eval()
        out["eval mode"] = accuracy(model(Xv), yv)
        one = torch.cat([model(Xv[i:i + 1]) for i in range(20)])
        out["eval mode, one digit at a time (first 20)"] = float((one.argmax(1) == model(Xv[:20]).argmax(1)).float().mean())
        state = copy.deepcopy(model.state_dict())
        model.train()  # the bug: forgetting model.eval(); note that it also moves the running averages
        for size in (256, 2):
            out[f"train mode, batches of {size}"] = accuracy(torch.cat([model(Xv[i:i + size]) for i in range(0, len(Xv), size)]), yv)
        model.load_state_dict(state)
    return out


def plot_norm_axes():
    """Which entries of an activation tensor (N examples × C channels × H·W positions) share one
    mean and variance, for batch, layer, instance and group norm."""
    n, c, hw = 4, 6, 5
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
    ids = {"batch norm": lambda i, j, k: j, "layer norm": lambda i, j, k: i,
           "instance norm": lambda i, j, k: i * c + j, "group norm (3 groups)": lambda i, j, k: i * 3 + j // 2}
    for ax, (name, f) in zip(axes, ids.items()):
        img = np.array([[f(i, j, k) for j in range(c) for k in range(hw)] for i in range(n)], dtype=float)
        ax.imshow(img % 10, cmap="tab10", vmin=0, vmax=9, aspect="auto", interpolation="nearest")
        for j in range(1, c):
            ax.axvline(j * hw - 0.5, color="white", lw=1.5)
        ax.set(title=name, xlabel="channel × position", ylabel="example", xticks=[], yticks=[])
        ax.grid(False)
    fig.suptitle("One colour = one set of entries normalised together")
    return fig


# The exercise checks live in checks.py (this chapter's module is a package: it is long).
from .checks import (  # noqa: E402, F401
    LASSO_TARGET,
    adam_first_step,
    check_adam_step,
    check_batchnorm_backward,
    check_lasso_choice,
    check_ridge_zeros,
    check_running_stats,
    lasso_outcome,
    ridge_zero_count,
)
