"""Chapter 08 · training neural networks: figures, the widget, experiments and exercise checks.

- Losses: ``plot_losses`` (value and gradient against
  the residual or the margin), ``robust_regression_study`` (L2, Huber and L1 on a line with
  outliers) and ``plot_robust_fits``.
- Initialisation: ``symmetry_study`` (zero / constant / random init of a trained MLP),
  ``variance_over_depth`` (per-layer activation and gradient variance, pooled over random
  networks), ``plot_variance_over_depth`` and the widget ``draw_signal_propagation``.
- Schedules: ``plot_schedules``, ``torch_schedule_lrs`` (the PyTorch twin), the range test
  ``lr_range_test`` with ``plot_range_test``, and ``train_digits``.
- Learning curves: ``learning_curve_gallery`` (real runs with ``training.fit``),
  ``diagnose`` and ``plot_learning_curves``.
- Hyperparameter search: ``search_study`` and ``plot_search`` (on ``scratch.hyperparameter_search``).
- The debugging recipe: ``debugging_recipe`` with planted bugs (``BUGS``).
- Thresholds shared by the notebook and the tests are the constants below.
- Checks: ``check_huber_loss`` (implement), ``check_relu_xavier_prediction`` (predict),
  ``check_softmax_twice_floor`` (derive), ``check_model_factory`` (debug),
  ``check_tanh_gain`` (design).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import torch
from torch import nn

from ... import data, plotting, training
from ...config import get_device
from ...scratch import hyperparameter_search as hps
from ...scratch import initialization as ini
from ...scratch import losses, schedules
from ...scratch.metrics import accuracy
from ...widgets import frame, kept_figure

#: L2's parameter error over Huber's on a line with 10 % outliers, on every seed (measured 4.3–11, 20 seeds)
ROBUST_RATIO_MIN = 3.0
#: good initialisations keep the pooled activation variance within this factor over 20 layers (measured 1.2–1.4)
VARIANCE_SPREAD_MAX = 2.0
#: bad ones (small, large) change activation or gradient variance by at least this factor (measured ≥ 1e17)
EXPLODE_VANISH_MIN = 100.0
#: zero init: largest distance between two hidden units' incoming weights after training
SYMMETRY_TOL = 1e-12
#: the range test's rate trains to this validation accuracy in 8 epochs (measured 0.95–0.97) ...
LR_GOOD_ACC_MIN = 0.93
#: ... and a rate 1000× smaller or 30× larger ends at least this much lower (measured ≥ 0.45)
LR_FAR_GAP_MIN = 0.3
#: grid/random mean regret at equal budget when one dimension matters (measured 1.97) and random's win rate (0.68)
SEARCH_RATIO_MIN, SEARCH_WIN_MIN = 1.5, 0.6
#: the recipe: initial loss within this of log C; one batch fitted below this loss; then above chance
INITIAL_LOSS_TOL, OVERFIT_LOSS_MAX, LEARNS_ACC_MIN = 0.15, 0.01, 0.5
SCHEME_LABELS = {"zero": "zero", "small": "small N(0, 0.01²)", "large": "large N(0, 1)",
                 "xavier": "Xavier (gain 1)", "xavier_tanh": "Xavier (gain 5/3)", "kaiming": "Kaiming (gain √2)"}


# ------------------------------------------------------------------------ losses
def _per_point(loss_fn: Callable, points: np.ndarray, target: float) -> tuple[np.ndarray, np.ndarray]:
    vals = [loss_fn(np.array([p]), np.array([target])) for p in points]
    return np.array([v for v, _ in vals]), np.array([g[0] for _, g in vals])


def plot_losses(delta: float = 1.0):
    """Regression losses against the residual, classification losses against the margin, each with its gradient."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), sharex="col")
    r = np.linspace(-3, 3, 241)
    for i, (name, fn) in enumerate([("L2 (MSE)", losses.mse_loss), ("L1", losses.l1_loss),
                                    (f"Huber, δ = {delta:g}", lambda p, t: losses.huber_loss(p, t, delta))]):
        value, grad = _per_point(fn, r, 0.0)
        axes[0, 0].plot(r, value, color=plotting.COLORS[i], label=name)
        axes[1, 0].plot(r, grad, color=plotting.COLORS[i], label=name)
    m = np.linspace(-3, 3, 241)  # margin y·s with y = +1, so s = m
    bce_v, bce_g = _per_point(losses.sigmoid_bce, m, 1.0)
    hinge_v, hinge_g = _per_point(losses.hinge_loss, m, 1.0)
    ce = [losses.softmax_cross_entropy(np.array([[0.0, s]]), np.array([1])) for s in m]  # 2-class CE, logit gap s
    curves = {"0-1 (what we count)": (np.where(m > 0, 0.0, 1.0), np.zeros_like(m)),
              "BCE = logistic log(1 + e^(−m))": (bce_v, bce_g), "hinge max(0, 1 − m)": (hinge_v, hinge_g),
              "2-class CE (same as BCE)": (np.array([c[0] for c in ce]), np.array([c[1][0, 1] for c in ce]))}
    for i, (name, (v, g)) in enumerate(curves.items()):
        ls = ":" if "CE" in name else "-"
        axes[0, 1].plot(m, v, ls=ls, color=plotting.COLORS[(i + 3) % 10], label=name)
        axes[1, 1].plot(m, g, ls=ls, color=plotting.COLORS[(i + 3) % 10], label=name)
    axes[0, 0].set(title="regression: loss of one residual", ylabel="loss")
    axes[1, 0].set(title="its gradient ∂L/∂ŷ", xlabel="residual r = ŷ − y", ylabel="gradient")
    axes[0, 1].set(title="classification: loss of one margin", ylim=(-0.1, 4))
    axes[1, 1].set(title="its gradient ∂L/∂s", xlabel="margin m = y·s (y = ±1)")
    for ax in axes.ravel():
        ax.legend(fontsize=8)
    return fig


def make_outlier_line(seed: int, n: int = 100, outlier_fraction: float = 0.1, slope: float = 1.5,
                      intercept: float = 0.5, noise: float = 0.3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x ~ U(−2, 2)``, ``y = slope·x + intercept + noise``; a fraction of the ``y`` pushed up by 5–10.
    Returns ``x``, ``y`` and the boolean outlier mask."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, n)
    y = slope * x + intercept + noise * rng.standard_normal(n)
    bad = np.zeros(n, dtype=bool)
    bad[rng.choice(n, int(round(outlier_fraction * n)), replace=False)] = True
    y[bad] += rng.uniform(5, 10, bad.sum())
    return x, y, bad


def fit_line(x: np.ndarray, y: np.ndarray, loss_fn: Callable, steps: int = 1500, lr: float = 0.1) -> tuple[float, float]:
    """Gradient descent on ``loss_fn(w·x + b, y)`` from ``w = b = 0``, with the loss's own gradient."""
    w = b = 0.0
    for _ in range(int(steps)):
        _, dpred = loss_fn(w * x + b, y)
        w, b = w - lr * float(dpred @ x), b - lr * float(dpred.sum())
    return w, b


#: the three regression losses of the study and the step size that suits each
ROBUST_LOSSES = {"L2": (losses.mse_loss, 0.1), "Huber": (losses.huber_loss, 0.5), "L1": (losses.l1_loss, 0.5)}


def robust_regression_study(seeds: Sequence[int], outlier_fraction: float = 0.1, steps: int = 1500) -> dict:
    """Fit the line with each loss on each seed; ``errors[name]`` is ‖(w, b) − (1.5, 0.5)‖ per seed,
    ``fits[name]`` the (w, b) of the first seed."""
    errors: dict[str, list[float]] = {k: [] for k in ROBUST_LOSSES}
    fits = {}
    for seed in seeds:
        x, y, _ = make_outlier_line(seed, outlier_fraction=outlier_fraction)
        for name, (fn, lr) in ROBUST_LOSSES.items():
            w, b = fit_line(x, y, fn, steps, lr)
            errors[name].append(float(np.hypot(w - 1.5, b - 0.5)))
            fits.setdefault(name, (w, b))
    return {"errors": {k: np.array(v) for k, v in errors.items()}, "fits": fits, "seed": seeds[0],
            "outlier_fraction": outlier_fraction}


def plot_robust_fits(study: dict, ax=None):
    """The first seed's data (outliers in red) and the three fitted lines."""
    ax = ax if ax is not None else plt.subplots(figsize=(6.5, 4))[1]
    x, y, bad = make_outlier_line(study["seed"], outlier_fraction=study["outlier_fraction"])
    ax.scatter(x[~bad], y[~bad], s=12, color=plotting.COLORS[7], label="data")
    ax.scatter(x[bad], y[bad], s=18, color=plotting.COLORS[1], label="outliers")
    xs = np.linspace(-2, 2, 2)
    ax.plot(xs, 1.5 * xs + 0.5, "k--", lw=1, label="true line")
    for i, (name, (w, b)) in enumerate(study["fits"].items()):
        ax.plot(xs, w * xs + b, color=plotting.COLORS[[0, 2, 3][i]], label=f"{name}: ŷ = {w:.2f}x + {b:.2f}")
    ax.set(xlabel="x", ylabel="y", title="A line fitted with three losses")
    ax.legend(fontsize=8)
    return ax


# ---------------------------------------------------------------- initialisation
def make_mlp(widths: Sequence[int], activation: str = "relu", seed: int = 0, dtype=torch.float32) -> nn.Sequential:
    """``Linear → activation → … → Linear`` with PyTorch's default initialisation, seeded."""
    torch.manual_seed(seed)
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    mods: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        mods.append(nn.Linear(a, b, dtype=dtype))
        if i < len(widths) - 2:
            mods.append(act())
    return nn.Sequential(*mods)


@functools.lru_cache(maxsize=4)
def digits_split(seed: int = 0) -> data.Split:
    """The 8×8 digits split 60/20/20 and standardised with the training statistics."""
    X, y = data.load_digits()
    p = data.split(X, y, np.random.default_rng(seed), val=0.2, test=0.2)
    Xtr, Xva, Xte = data.standardize(p.X_train, p.X_val, p.X_test)
    return data.Split(Xtr, p.y_train, Xva, p.y_val, Xte, p.y_test)


def unit_spread(layer: nn.Linear) -> float:
    """Largest distance of a unit's incoming weight vector from the layer's mean unit (0: all units identical)."""
    W = layer.weight.detach()
    return float((W - W.mean(0)).norm(dim=1).max())


def symmetry_study(steps: int = 100, seed: int = 0, constant: float = 0.1) -> dict[str, dict[str, float]]:
    """Train a tanh MLP 64-32-32-10 (float64, SGD) from zero, constant and default random weights.

    Returns per scheme the ``spread`` (max of :func:`unit_spread` over the hidden layers) and
    the training ``accuracy``.
    """
    p, device = digits_split(seed), get_device()
    dtype = torch.float64 if device.type == "cpu" else torch.float32  # float64 where the device has it
    X, y = torch.tensor(p.X_train, dtype=dtype, device=device), torch.tensor(p.y_train, device=device)
    out = {}
    for scheme in ("zero", "constant", "random"):
        model = make_mlp([64, 32, 32, 10], "tanh", seed, dtype=dtype).to(device)
        for mod in model:
            if isinstance(mod, nn.Linear) and scheme != "random":
                nn.init.constant_(mod.weight, 0.0 if scheme == "zero" else constant)
                nn.init.zeros_(mod.bias)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        g = torch.Generator().manual_seed(seed)
        for _ in range(int(steps)):
            idx = torch.randint(0, len(X), (64,), generator=g).to(device)
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        hidden = [m for m in model if isinstance(m, nn.Linear)][:-1]
        with torch.no_grad():
            acc = accuracy(model(X), y)
        out[scheme] = {"spread": max(unit_spread(m) for m in hidden), "accuracy": acc}
    return out


def spread(v: np.ndarray) -> float:
    """``max / min`` of positive per-layer values (inf when one is 0)."""
    v = np.asarray(v, dtype=np.float64)
    return float(v.max() / v.min()) if v.min() > 0 else float("inf")


def variance_over_depth(scheme: str, activation: str, depth: int = 20, width: int = 128, batch: int = 32,
                        draws: int = 32, seed: int = 0, gain: float | None = None) -> dict[str, np.ndarray]:
    """Per-layer variance of activations and of weight gradients, pooled over ``draws`` random networks.

    Each network is ``depth`` layers of ``width`` units initialised by ``scheme`` (or, with
    ``gain``, N(0, gain²/width)); the input is a standard-normal batch. Pooling matters: the
    variance conditions hold *on average over the random weights*, and one finite-width ReLU
    network drifts from layer to layer like a random walk.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))
    acts, grads = np.zeros(depth), np.zeros(depth)
    for _ in range(int(draws)):
        if gain is None:
            weights = ini.init_weights(scheme, [width] * (depth + 1), rng)
        else:
            weights = [ini.normal(width, width, rng, std=gain / np.sqrt(width)) for _ in range(depth)]
        res = ini.propagate(x, weights, activation, rng)
        acts += res.activation_variances() / draws
        grads += res.grad_variances() / draws
    return {"activations": acts, "gradients": grads}


def plot_variance_over_depth(results: dict[tuple[str, str], dict], ax=None, key: str = "activations",
                             legend: bool = True):
    """One line per (scheme, activation): the pooled variance at each layer, log scale."""
    ax = ax if ax is not None else plt.subplots(figsize=(6.5, 4))[1]
    for i, ((scheme, act), res) in enumerate(results.items()):
        v = np.where(res[key] > 0, res[key], np.nan)
        ax.semilogy(np.arange(1, len(v) + 1), v, marker="o", ms=3, color=plotting.COLORS[i % 10],
                    ls="-" if act == "relu" else "--", label=f"{SCHEME_LABELS[scheme]}, {act}")
    ax.set(xlabel="layer", ylabel=f"variance of {key}", title=f"{key.capitalize()} through {len(v)} layers")
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    if legend:
        ax.legend(fontsize=7, ncol=2)
    return ax


_BINS = np.arange(-24.0, 24.5, 0.5)  # log10 |value|; exact zeros get a column of their own


def _log_histograms(values: Sequence[np.ndarray]) -> np.ndarray:
    rows = []
    for v in values:
        a = np.abs(v.ravel())
        zero = np.mean(a == 0)
        logs = np.clip(np.log10(a[a > 0]), _BINS[0], _BINS[-1] - 1e-9)
        counts = np.histogram(logs, _BINS)[0] / a.size if logs.size else np.zeros(len(_BINS) - 1)
        rows.append(np.r_[zero, counts])
    return np.array(rows)


@functools.lru_cache(maxsize=128)
def _propagation(scheme: str, activation: str, depth: int, width: int = 128, batch: int = 32, draws: int = 4):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, width))
    runs = [ini.propagate(x, ini.init_weights(scheme, [width] * (depth + 1), rng), activation, rng) for _ in range(draws)]
    acts = [np.concatenate([r.activations[l].ravel() for r in runs]) for l in range(depth)]
    grads = [np.concatenate([r.grads[l].ravel() for r in runs]) for l in range(depth)]
    return (_log_histograms(acts), _log_histograms(grads),
            np.array([np.var(a) for a in acts]), np.array([np.var(g) for g in grads]))


@kept_figure
def _propagation_figure(fig):
    """The widget's three panels, built once (``kept_figure``): two histograms and the variances."""
    fig.set_size_inches(11, 4)
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.14, top=0.83, wspace=0.32)
    images = []
    for ax, what in ((axes[0], "activations"), (axes[1], "weight gradients")):
        images.append(ax.imshow(np.zeros((1, 2)), aspect="auto", cmap="magma_r", interpolation="nearest"))
        ax.axvline(_BINS[0], color="0.6", lw=0.8)
        ax.set(xlabel="log10 |value|   (left strip: exactly 0)", ylabel="layer", title=f"histogram of {what}")
        ax.yaxis.set_major_locator(mticker.MaxNLocator(integer=True))
        ax.grid(False)
    lines = [axes[2].semilogy([], [], marker="o", ms=3, color=plotting.COLORS[c], label=name)[0]
             for c, name in enumerate(("activations", "weight gradients"))]
    axes[2].set(xlabel="layer", ylabel="variance", title="variance per layer")
    axes[2].xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    axes[2].legend(fontsize=8)
    message = plotting.show_message(axes[2], "every activation and gradient\nis exactly 0: all units\nare identical",
                                    "warning")
    return fig, axes, images, lines, message


@frame
def draw_signal_propagation(scheme: str = "kaiming", activation: str = "relu", depth: int = 20):
    """The chapter's widget: per-layer histograms of log10 |activation| and log10 |∂L/∂W|, and the variances.

    Four random networks of width 128 (pooled), a standard-normal input batch and a random
    upstream gradient; results are cached, so a visited setting redraws in milliseconds. Every
    call draws into the same figure (``widgets.kept_figure``): a figure returned earlier shows
    the latest setting.
    """
    if scheme not in ini.SCHEMES:
        raise ValueError(f"unknown initialisation {scheme!r}; choose one of {list(ini.SCHEMES)}")
    if not 1 <= int(depth) <= 50:
        raise ValueError(f"depth must be between 1 and 50 layers, got {depth}")
    depth = int(depth)
    h_act, h_grad, v_act, v_grad = _propagation(scheme, activation, depth)
    fig, axes, images, lines, message = _propagation_figure()
    extent = (_BINS[0] - 3, _BINS[-1], depth + 0.5, 0.5)
    for image, h in zip(images, (h_act, h_grad)):
        wide = np.sqrt(np.concatenate([np.repeat(h[:, :1], 6, axis=1), h[:, 1:]], axis=1))  # zero column 3 units wide
        image.set_data(wide)
        image.set_extent(extent)
        image.set_clim(wide.min(), wide.max())
    for line, v in zip(lines, (v_act, v_grad)):
        line.set_data(np.arange(1, depth + 1), np.where(v > 0, v, np.nan))
    all_zero = bool(np.all(v_act == 0))
    axes[2].relim()
    axes[2].autoscale_view()
    if all_zero:  # nothing to scale to: the limits of an empty log axis, not the last frame's
        axes[2].set_ylim(1, 10, auto=True)
    axes[2].set_xlim(0.5, depth + 0.5)
    message.set_visible(all_zero)
    if all_zero:
        note = "all zero"
    else:
        note = f"activation variance ×{spread(v_act):.3g}, gradient variance ×{spread(v_grad):.3g} across layers"
    fig.suptitle(f"{SCHEME_LABELS[scheme]}, {activation}, {depth} layers: {note}", fontsize=11)
    return fig


# --------------------------------------------------------------------- schedules
def torch_schedule_lrs(name: str, lr0: float, steps: int) -> np.ndarray:
    """The PyTorch twin of ``schedules.schedule(name, lr0, steps)`` with default options: the rate before each step."""
    S = torch.optim.lr_scheduler
    makers = {"constant": lambda o: S.LambdaLR(o, lambda t: 1.0),
              "inverse": lambda o: S.LambdaLR(o, lambda t: 1 / (1 + 0.01 * t)),
              "step": lambda o: S.StepLR(o, step_size=30, gamma=0.1), "exponential": lambda o: S.ExponentialLR(o, 0.99),
              "cosine": lambda o: S.CosineAnnealingLR(o, T_max=steps),
              "warmup": lambda o: S.LinearLR(o, start_factor=1 / 3, total_iters=10),
              "one_cycle": lambda o: S.OneCycleLR(o, max_lr=lr0, total_steps=steps, cycle_momentum=False)}
    return schedules.torch_rates(makers[name], lr0, steps)


def plot_schedules(lr0: float = 0.1, steps: int = 100, ax=None):
    """Every schedule of ``schedules.SCHEDULES`` with its default options."""
    ax = ax if ax is not None else plt.subplots(figsize=(6.5, 4))[1]
    for i, name in enumerate(schedules.SCHEDULES):
        ax.plot(schedules.schedule(name, lr0, steps), color=plotting.COLORS[i], label=name)
    ax.set(xlabel="step t", ylabel="learning rate η_t", title=f"Schedules from η₀ = {lr0:g} over {steps} steps")
    ax.legend()
    return ax


@dataclass
class RangeTestResult:
    """The learning-rate range test: the rates tried, the loss at each, and the suggested rate."""

    lrs: np.ndarray
    losses: np.ndarray
    suggestion: float


def lr_range_test(seed: int = 0, lr_min: float = 1e-5, lr_max: float = 10.0, steps: int = 100,
                  widths: Sequence[int] = (64, 128, 128, 10)) -> RangeTestResult:
    """Smith's range test on the digits: one SGD-momentum step per rate, rates growing geometrically.

    Stops once the loss is NaN or 4× above its best; ``schedules.suggest_lr`` reads the curve.
    """
    p, device = digits_split(seed), get_device()
    X, y = torch.tensor(p.X_train, dtype=torch.float32, device=device), torch.tensor(p.y_train, device=device)
    model = make_mlp(widths, "relu", seed).to(device)
    lrs = schedules.range_test_lrs(lr_min, lr_max, steps)
    opt = torch.optim.SGD(model.parameters(), lr=lrs[0], momentum=0.9)
    g, out = torch.Generator().manual_seed(seed), []
    for lr in lrs:
        opt.param_groups[0]["lr"] = float(lr)
        idx = torch.randint(0, len(X), (64,), generator=g).to(device)
        loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
        out.append(loss.item())
        if not np.isfinite(out[-1]) or out[-1] > 4 * min(out):
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    tried = lrs[:len(out)]
    return RangeTestResult(tried, np.array(out), schedules.suggest_lr(tried, np.array(out)))


def plot_range_test(result: RangeTestResult, ax=None):
    """Loss against the rate (log axis), smoothed, with the suggestion marked."""
    ax = ax if ax is not None else plt.subplots(figsize=(6.5, 4))[1]
    ax.semilogx(result.lrs, result.losses, color=plotting.COLORS[7], lw=1, label="loss of each step")
    ax.semilogx(result.lrs, schedules.ewma(result.losses, 0.9), color=plotting.COLORS[0], label="smoothed")
    ax.axvline(result.suggestion, color=plotting.COLORS[1], ls="--", label=f"suggested η = {result.suggestion:.3g}")
    ax.set(xlabel="learning rate η", ylabel="training loss", title="Learning-rate range test",
           ylim=(0, 1.5 * result.losses[0]))
    ax.legend()
    return ax


def train_digits(lr: float, epochs: int = 8, seed: int = 0, widths: Sequence[int] = (64, 128, 128, 10),
                 optimizer: str = "sgd", n_train: int | None = None, activation: str = "relu") -> training.History:
    """Train an MLP on the standardised digits with ``training.fit`` (SGD momentum 0.9 or Adam)."""
    p = digits_split(seed)
    model = make_mlp(widths, activation, seed)
    opt = (torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9) if optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=lr))
    n = n_train or len(p.X_train)
    train = training.make_loader(p.X_train[:n], p.y_train[:n], 64, seed=seed)
    val = training.make_loader(p.X_val, p.y_val, 512, shuffle=False)
    return training.fit(model, train, nn.CrossEntropyLoss(), opt, epochs=epochs, val_loader=val,
                        metrics={"acc": accuracy}, device=get_device(), progress=False)


def final_accuracy(history: training.History) -> float:
    """Last validation accuracy, or 0.1 (chance) for a run that diverged."""
    return 0.1 if history.diverged or not len(history) else history["val_acc"][-1]


# --------------------------------------------------------------- learning curves
#: the gallery of runs: label -> keyword arguments of :func:`train_digits`
CURVE_RUNS = {
    "good": dict(lr=0.05, epochs=10),
    "underfitting": dict(lr=0.1, epochs=15, widths=(64, 2, 10)),
    "overfitting": dict(lr=3e-3, epochs=40, widths=(64, 256, 256, 10), optimizer="adam", n_train=100),
    "learning rate too high": dict(lr=1.5, epochs=10),
    "learning rate too low": dict(lr=1e-4, epochs=10),
}


def learning_curve_gallery(seed: int = 0) -> dict[str, training.History]:
    """One real run per label of :data:`CURVE_RUNS`."""
    return {label: train_digits(seed=seed, **kw) for label, kw in CURVE_RUNS.items()}


def diagnose(history: training.History, log_c: float = float(np.log(10))) -> str:
    """Read a run's curves the way the chapter teaches, in this order:

    1. the loss became NaN or rose above ``1.5·log C`` → "learning rate too high";
    2. the training loss is still above 80 % of log C (it barely moved) → "learning rate too low";
    3. the validation loss ended 20 % above its minimum while the training loss is
       below half of it → "overfitting";
    4. the training loss stayed above 0.3 → "underfitting";
    5. otherwise "good".
    """
    if history.diverged or not len(history):
        return "learning rate too high"
    tr, va = np.asarray(history["train_loss"]), np.asarray(history["val_loss"])
    if not np.all(np.isfinite(tr)) or tr.max() > 1.5 * log_c:
        return "learning rate too high"
    if tr[-1] > 0.8 * log_c:
        return "learning rate too low"
    if va[-1] > 1.2 * va.min() and tr[-1] < 0.5 * va[-1]:
        return "overfitting"
    if tr[-1] > 0.3:
        return "underfitting"
    return "good"


def plot_learning_curves(runs: dict[str, training.History]):
    """One panel per run: training and validation loss, with the diagnosis in the title."""
    fig, axes = plt.subplots(1, len(runs), figsize=(3.2 * len(runs), 3.4), sharey=True)
    for ax, (label, h) in zip(np.atleast_1d(axes), runs.items()):
        epochs = CURVE_RUNS.get(label, {}).get("epochs", max(len(h), 1))
        ax.set_xlim(0.5, epochs + 0.5)
        if len(h):
            keys = [k for k in ("train_loss", "val_loss") if k in h]
            clipped = {k: np.clip(h[k], 0, 5) for k in keys}
            plotting.training_curves(clipped, ax=ax, keys=keys, ylabel="loss (clipped at 5)")
        if h.diverged:
            plotting.show_message(ax, "diverged:\nloss became NaN", "error")
        ax.set_title(f"{label}\nread as: {diagnose(h)}", fontsize=9)
    return fig


# ---------------------------------------------------------- hyperparameter search
def search_study(weight2: float, budget: int = 16, seeds: int = 1000, width: float = 0.1) -> dict[str, np.ndarray]:
    """Best value found (the regret: the minimum is 0) by grid and by random search at the same ``budget``, on
    ``seeds`` objectives ``hyperparameter_search.bumps`` with weights ``(1, weight2)`` and a random optimum."""
    grid = hps.grid_points(budget)
    out: dict[str, list[float]] = {"grid": [], "random": []}
    for s in range(int(seeds)):
        rng = np.random.default_rng(s)
        optimum = rng.uniform(0, 1, 2)

        def objective(U, optimum=optimum):
            return hps.bumps(U, optimum, (1.0, weight2), width)

        out["grid"].append(hps.best_found(objective, grid))
        out["random"].append(hps.best_found(objective, hps.random_points(budget, 2, rng)))
    g, r = np.array(out["grid"]), np.array(out["random"])
    return {"grid": g, "random": r, "ratio": float(g.mean() / r.mean()), "random_wins": float(np.mean(r < g))}


def plot_search(weight2: float = 0.05, budget: int = 16, seed: int = 3, width: float = 0.1):
    """The objective with the grid's and random search's points, and both projected on u₁."""
    rng = np.random.default_rng(seed)
    optimum = rng.uniform(0, 1, 2)
    G, R = hps.grid_points(budget), hps.random_points(budget, 2, rng)
    f = functools.partial(hps.bumps, optimum=optimum, weights=(1.0, weight2), width=width)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    u = np.linspace(0, 1, 201)
    uu, vv = np.meshgrid(u, u)
    axes[0].contourf(uu, vv, f(np.stack([uu, vv], -1)), levels=20, cmap="Greys_r", alpha=0.6)
    axes[0].scatter(*G.T, color=plotting.COLORS[0], label="grid", zorder=3)
    axes[0].scatter(*R.T, color=plotting.COLORS[1], marker="^", label="random", zorder=3)
    axes[0].set(xlabel="u₁ (matters)", ylabel="u₂ (barely matters)", title="Objective (dark = low error)")
    axes[0].legend(loc="upper right", frameon=True)
    axes[1].plot(u, f(np.stack([u, np.full_like(u, optimum[1])], -1)), "k", lw=1)
    for pts, c, m, name in ((G, 0, "o", "grid"), (R, 1, "^", "random")):
        vals = f(pts)
        axes[1].scatter(pts[:, 0], vals, color=plotting.COLORS[c], marker=m,
                        label=f"{name}: {len(np.unique(pts[:, 0]))} distinct u₁, best {vals.min():.3f}")
    axes[1].set(xlabel="u₁", ylabel="error", title="Each point's error against u₁ (curve: u₂ at its best)")
    axes[1].legend()
    return fig


# ------------------------------------------------------------ debugging recipe
def _planted(model: nn.Sequential, bug: str | None) -> nn.Module:
    if bug == "softmax_twice":  # the loss applies log-softmax to what are already probabilities
        return nn.Sequential(*model, nn.Softmax(dim=1))
    if bug == "large_last_layer":
        with torch.no_grad():
            model[-1].weight.mul_(30.0)
    return model


#: the planted bugs of :func:`debugging_recipe`
BUGS = ("softmax_twice", "shuffled_labels", "large_last_layer")


@dataclass
class RecipeReport:
    """The three checks of the recipe, what each measured, and whether it passed."""

    initial_loss: float
    one_batch_loss: float
    val_accuracy: float
    log_c: float = float(np.log(10))

    @property
    def passed(self) -> dict[str, bool]:
        return {"initial loss ≈ log C": abs(self.initial_loss - self.log_c) < INITIAL_LOSS_TOL,
                "overfits one batch": self.one_batch_loss < OVERFIT_LOSS_MAX,
                "learns (validation above chance)": self.val_accuracy > LEARNS_ACC_MIN}


def debugging_recipe(make_model: Callable[[], nn.Module] | None = None, bug: str | None = None, seed: int = 0,
                     batch: int = 32, steps: int = 150, epochs: int = 3) -> RecipeReport:
    """Run the recipe on a model (a fresh one from ``make_model()`` per step), or on the chapter's MLP with a planted ``bug``.

    1. the loss of the untrained model on the training set (expect log C);
    2. the loss after ``steps`` Adam steps (lr 1e-2) on one fixed batch of ``batch`` examples (expect ≈ 0);
    3. the validation accuracy after ``epochs`` epochs of Adam (lr 1e-3) on the whole training set.
    ``bug="shuffled_labels"`` misaligns the training labels with their images (a data-loading bug).
    """
    if bug is not None and bug not in BUGS:
        raise ValueError(f"unknown bug {bug!r}; choose one of {BUGS}")
    p, device = digits_split(seed), get_device()
    y_train = np.random.default_rng(seed).permutation(p.y_train) if bug == "shuffled_labels" else p.y_train
    X, y = torch.tensor(p.X_train, dtype=torch.float32, device=device), torch.tensor(y_train, device=device)

    def fresh():
        torch.manual_seed(seed)
        model = make_model() if make_model is not None else _planted(make_mlp([64, 128, 128, 10], "relu", seed), bug)
        return model.to(device)

    with torch.no_grad():
        initial = nn.functional.cross_entropy(fresh()(X), y).item()
    model = fresh()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(int(steps)):
        loss = nn.functional.cross_entropy(model(X[:batch]), y[:batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model = fresh()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    h = training.fit(model, training.make_loader(p.X_train, y_train, 64, seed=seed), nn.CrossEntropyLoss(), opt,
                     epochs=epochs, val_loader=training.make_loader(p.X_val, p.y_val, 512, shuffle=False),
                     metrics={"acc": accuracy}, device=device, progress=False)
    return RecipeReport(initial, loss.item(), final_accuracy(h))


# The exercise checks live in checks.py (this chapter's module is a package: it is long).
from .checks import (  # noqa: E402, F401
    TANH_TARGET,
    check_huber_loss,
    check_model_factory,
    check_relu_xavier_prediction,
    check_softmax_twice_floor,
    check_tanh_gain,
    relu_xavier_decay,
    softmax_twice_floor,
)
