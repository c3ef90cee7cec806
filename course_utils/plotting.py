"""The house style and the course's standard figures.

Contract: every function draws on a Matplotlib ``Axes`` (``ax=None`` makes a
new figure), labels its axes, and returns the ``Axes`` it drew on. Colours come
from ``COLORS`` so that class 0 is the same blue in every chapter.

- ``use_style()`` once per notebook (``config.setup_notebook`` calls it).
- ``decision_regions`` for any 2-D classifier given as ``predict(X) -> labels``.
- ``training_curves`` for a ``training.History`` or a dict of lists.
- ``image_grid`` for digits and other small images.
- ``loss_surface`` for a 2-D function with optimiser paths on top.
- ``show_message`` writes a warning on the axes ("diverged", "k too large"):
  what widgets show instead of a traceback.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .base import as_images

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

STYLE = {
    "figure.figsize": (6.0, 4.0),
    "figure.dpi": 90,
    "savefig.dpi": 90,
    "figure.autolayout": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "image.cmap": "viridis",
    "axes.prop_cycle": mpl.cycler(color=COLORS),
}


def use_style() -> None:
    """Apply the course's Matplotlib style (idempotent)."""
    mpl.rcParams.update(STYLE)


def _axes(ax, figsize=None):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _axes_of(fig_or_ax) -> list:
    return fig_or_ax.axes if hasattr(fig_or_ax, "get_axes") and not hasattr(fig_or_ax, "xaxis") else [fig_or_ax]


def sparse_log_ticks(fig_or_ax, numticks: int = 6):
    """At most ``numticks`` labelled decades and no minor ticks on every log-scaled axis of a figure or axes.

    For widget frames, which are drawn afresh at every slider move: Matplotlib builds each tick
    and typesets each ``10^k`` label anew. Chapter 07's optimiser frame (a loss gap over eight
    decades) carried 80 minor ticks and 11 labelled ones; with this it drew in 0.29 s instead
    of 0.51 s (best of 8 here), looking the same but for the unlabelled minor ticks.
    :func:`sparse_ticks` does this and more to every widget frame. Returns its argument.
    """
    from matplotlib.ticker import LogLocator, NullLocator

    for ax in _axes_of(fig_or_ax):
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                axis.set_major_locator(LogLocator(numticks=numticks))
                axis.set_minor_locator(NullLocator())
    return fig_or_ax


#: At most this many intervals between labelled ticks on a widget frame's linear axes (:func:`sparse_ticks`)
FRAME_TICK_BINS = 5


def sparse_ticks(fig_or_ax, nbins: int = FRAME_TICK_BINS, numticks: int = 6):
    """Fewer ticks, for figures drawn afresh at every slider move: every widget frame gets this.

    Linear axes whose ticks come from Matplotlib's automatic locator (``MaxNLocator``, which
    ``AutoLocator`` is) get at most ``nbins`` intervals, chosen by the same rule, instead of up to
    9 (10 for ``MaxNLocator(integer=True)``); an axis too short for ``nbins`` keeps the number
    Matplotlib would choose. A colour bar's automatic ticks are capped the same way. Log axes
    get :func:`sparse_log_ticks`. Other locators (``FixedLocator``, ``MultipleLocator``, …) are
    left alone.

    Why: Matplotlib builds every tick of a new figure as five artists and typesets its label, and
    a widget draws a new figure at every frame. Measured on the default frames of chapters 03, 05,
    07, 08, 09, 13 and 16 (medians of 12 or 15, alternating with the frame as it was): 15–22 % less
    time per frame (chapter 16's 0.095 s → 0.075 s). Returns its argument.
    """
    from matplotlib.ticker import MaxNLocator

    sparse_log_ticks(fig_or_ax, numticks)
    for ax in _axes_of(fig_or_ax):
        for axis in (ax.xaxis, ax.yaxis):
            loc = axis.get_major_locator()
            if axis.get_scale() != "linear" or not isinstance(loc, MaxNLocator):
                continue
            if loc._nbins == "auto":
                loc.set_params(nbins=int(max(1, min(nbins, axis.get_tick_space()))))
            elif loc._nbins > nbins:
                loc.set_params(nbins=nbins)
    return fig_or_ax


def show_message(ax, text: str, kind: str = "warning"):
    """Write ``text`` in a coloured box in the middle of ``ax``; returns the ``Text``.

    ``kind`` is ``"warning"`` (orange), ``"error"`` (red) or ``"info"`` (grey).
    """
    color = {"warning": "#ff7f0e", "error": "#d62728", "info": "#7f7f7f"}.get(kind, "#7f7f7f")
    return ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=11,
                   wrap=True, zorder=10,
                   bbox=dict(boxstyle="round,pad=0.5", facecolor="white", edgecolor=color, linewidth=2, alpha=0.95))


def message_figure(text: str, kind: str = "error", figsize=(6.0, 4.0)):
    """A figure that only carries a message (used by widgets when a callback fails)."""
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_axis_off()
    show_message(ax, text, kind)
    fig._course_message = {"kind": kind, "text": text}  # lets tests tell a message figure from a plot
    return fig


def scatter_classes(X: np.ndarray, y: np.ndarray, ax=None, labels: Sequence[str] | None = None,
                    s: float = 18, edgecolor: str = "white", alpha: float = 0.9):
    """Scatter 2-D points coloured by integer class."""
    ax = _axes(ax)
    X, y = np.asarray(X), np.asarray(y)
    for c in np.unique(y):
        name = labels[int(c)] if labels is not None else f"class {int(c)}"
        m = y == c
        ax.scatter(X[m, 0], X[m, 1], s=s, color=COLORS[int(c) % len(COLORS)], edgecolor=edgecolor,
                   linewidth=0.5, alpha=alpha, label=name)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def grid_for(X: np.ndarray, resolution: int = 150, pad: float = 0.15):
    """A ``resolution``×``resolution`` grid covering ``X`` with a margin; returns ``xx, yy, points``."""
    X = np.asarray(X)
    lo, hi = X.min(0), X.max(0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    lo, hi = lo - pad * span, hi + pad * span
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    return xx, yy, np.c_[xx.ravel(), yy.ravel()]


def decision_regions(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray,
                     ax=None, resolution: int = 150, title: str | None = None,
                     labels: Sequence[str] | None = None, legend: bool = True):
    """Shade the plane by ``predict`` (integer labels for an ``(m, 2)`` array) and scatter ``X``."""
    ax = _axes(ax)
    xx, yy, pts = grid_for(X, resolution)
    Z = np.asarray(predict(pts)).reshape(xx.shape)
    n_classes = int(max(np.max(Z), np.max(y))) + 1
    cmap = mpl.colors.ListedColormap(COLORS[:n_classes])
    ax.contourf(xx, yy, Z, levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, alpha=0.25)
    ax.contour(xx, yy, Z, levels=np.arange(n_classes) + 0.5, colors="k", linewidths=0.8, alpha=0.6)
    scatter_classes(X, y, ax=ax, labels=labels)
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.grid(False)
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(loc="best")
    return ax


def training_curves(history: Mapping[str, Sequence[float]], ax=None, keys: Sequence[str] | None = None,
                    xlabel: str = "epoch", ylabel: str = "loss", logy: bool = False, title: str | None = None,
                    x: Sequence[float] | None = None, logx: bool = False,
                    mark: tuple[float, float] | None = None):
    """Plot one line per key of ``history`` (e.g. ``train_loss``, ``val_loss``).

    Against epochs ``1, 2, …`` by default, or against ``x`` (e.g. k, a data size);
    ``mark=(x, y)`` circles a chosen point (the selected hyperparameter).
    """
    ax = _axes(ax)
    data = history.as_dict() if hasattr(history, "as_dict") else dict(history)
    keys = list(keys) if keys is not None else [k for k in data if len(data[k]) > 0]
    for k in keys:
        v = np.asarray(data[k], dtype=float)
        xs = np.arange(1, len(v) + 1) if x is None else np.asarray(x)
        ax.plot(xs, v, marker="o" if len(v) <= 30 else None, ms=3, label=k)
    if mark is not None:
        ax.plot([mark[0]], [mark[1]], "o", ms=12, mfc="none", mec="k", mew=1.5, label="chosen")
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def image_grid(images: np.ndarray, labels: Sequence | None = None, ncols: int = 10,
               shape: tuple[int, int] | None = None, cmap: str = "gray_r", figsize=None, title: str | None = None):
    """Show images (``(n, h, w)`` or ``(n, h*w)`` with ``shape``) in a grid; returns the figure."""
    images = as_images(images, shape) if np.ndim(images) == 2 else np.asarray(images)  # (n, h, w[, 3]) as given
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize or (1.1 * ncols, 1.25 * nrows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i < n:
            ax.imshow(images[i], cmap=cmap, interpolation="nearest")
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def loss_surface(f: Callable[[np.ndarray, np.ndarray], np.ndarray], xlim=(-2, 2), ylim=(-2, 2),
                 paths: Mapping[str, np.ndarray] | None = None, ax=None, levels: int = 30,
                 log: bool = True, resolution: int = 200, title: str | None = None):
    """Contours of ``f(x, y)`` (vectorised over grids) with optimiser ``paths`` (name -> (T, 2))."""
    ax = _axes(ax)
    xx, yy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    zz = f(xx, yy)
    if log:
        zz = np.log10(zz - zz.min() + 1e-3)
    ax.contour(xx, yy, zz, levels=levels, cmap="Greys", linewidths=0.7, alpha=0.8)
    for i, (name, p) in enumerate((paths or {}).items()):
        p = np.asarray(p)
        ax.plot(p[:, 0], p[:, 1], "-o", ms=2.5, lw=1.5, color=COLORS[i % len(COLORS)], label=name)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    if title:
        ax.set_title(title)
    if paths:
        ax.legend()
    return ax
