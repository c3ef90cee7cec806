"""Chapter 10 · convolutional networks: figures, widgets, experiments and exercise checks.

The algorithms live in :mod:`course_utils.scratch.conv`; this module shows and measures them.

- Widgets: ``draw_kernel_editor`` (a 3×3 kernel, from a preset or nine sliders, on
  the photograph of ``data.load_photo``) and ``draw_conv_geometry`` (input size,
  kernel, stride, padding, dilation → output size and the sliding window).
- Figures: ``plot_flip``, ``plot_receptive_field_growth``, ``plot_gradient_footprint``,
  ``plot_invariance``, ``plot_kernels``.
- Experiments: ``parameter_counts`` (dense vs locally connected vs convolution),
  ``time_conv_implementations``, ``receptive_field_by_backprop``, ``shift_image``,
  ``equivariance_error``, ``invariance_study``, and the CNN-vs-MLP comparison
  (``mnist_split``, ``make_cnn``, ``make_mlp``, ``train_classifier``).
- Thresholds shared by the notebook's asserts and the negative-control tests:
  ``SPEEDUP_MIN``, ``EQUIVARIANCE_TOL``, ``CNN_ACCURACY_MIN``, ``CNN_MARGIN_MIN``.
- Checks: ``check_conv2d_naive`` (implement), ``check_im2col_memory`` (predict),
  ``check_col2im`` (debug), ``check_receptive_field_answer`` (derive),
  ``check_receptive_field_design`` (design).
"""
from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle
from torch import nn

from .. import base, checks, data, plotting, training
from ..config import get_device
from ..scratch import conv
from ..scratch.metrics import accuracy
from ..widgets import frame

#: im2col must be at least this many times faster than the four loops on the timed layer
SPEEDUP_MIN = 10.0
#: a shifted input must give the shifted feature map to round-off
EQUIVARIANCE_TOL = 1e-12
#: the CNN's test accuracy on MNIST-5k (4,000 / 1,000), and its lead over the equal-size MLP
CNN_ACCURACY_MIN = 0.95
CNN_MARGIN_MIN = 0.01

# ------------------------------------------------------------------ kernels
#: 3×3 kernels of image processing, as cross-correlation kernels (what conv layers apply)
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
    "box blur": np.full((3, 3), 1 / 9),
    "Gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=float) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
    "Sobel x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float),
    "Sobel y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float),
    "Laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=float),
}
#: the kernel the nine sliders start from (used when the preset is "custom")
CUSTOM_DEFAULT = np.array([[2, 1, 0], [1, 0, -1], [0, -1, -2]], dtype=float)
KERNEL_ENTRIES = [f"k{i}{j}" for i in range(3) for j in range(3)]


@functools.lru_cache(maxsize=2)
def photo(size: int = 256) -> np.ndarray:
    """The grey photograph (``data.load_photo``), cached: the widget redraws it often."""
    return data.load_photo(gray=True, size=size)


def apply_kernel(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Cross-correlate a grey ``(H, W)`` image with a 2-D kernel, zero padding, same size out."""
    kh, kw = kernel.shape
    out, _ = conv.conv2d_forward(image[None, None], kernel[None, None], np.zeros(1), padding=(kh // 2, kw // 2))
    return out[0, 0]


def _draw_kernel_matrix(ax, kernel: np.ndarray, title: str) -> None:
    m = max(np.abs(kernel).max(), 1e-9)
    ax.imshow(kernel, cmap="RdBu_r", vmin=-m, vmax=m)
    for (i, j), v in np.ndenumerate(kernel):
        ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=10,
                color="white" if abs(v) > 0.6 * m else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)


@frame
def draw_kernel_editor(preset: str = "Sobel x", k00: float = 2.0, k01: float = 1.0, k02: float = 0.0,
                       k10: float = 1.0, k11: float = 0.0, k12: float = -1.0, k20: float = 0.0,
                       k21: float = -1.0, k22: float = -2.0, size: int = 256):
    """The kernel widget: photograph, kernel, output. ``preset="custom"`` uses the nine entries.

    An output that keeps brightness (kernel sums to 1) is shown in grey on [0, 1]; any
    other is shown on a symmetric scale around 0, where edges and texture live.
    """
    if preset == "custom":
        kernel = np.array([[k00, k01, k02], [k10, k11, k12], [k20, k21, k22]], dtype=float)
    elif preset in KERNELS:
        kernel = KERNELS[preset]
    else:
        raise ValueError(f"unknown preset {preset!r}; choose one of {[*KERNELS, 'custom']}")
    image = photo(size)
    out = apply_kernel(image, kernel)
    fig, axes = plt.subplots(1, 3, figsize=(9.0, 3.4), gridspec_kw={"width_ratios": [1, 0.55, 1]})
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.04, top=0.84, wspace=0.08)
    axes[0].imshow(image, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("input (grey, 256×256)", fontsize=10)
    name = preset if preset != "custom" else "custom (your nine entries)"
    _draw_kernel_matrix(axes[1], kernel, f"kernel: {name}")
    total = kernel.sum()
    if abs(total - 1) < 1e-9:
        axes[2].imshow(np.clip(out, 0, 1), cmap="gray", vmin=0, vmax=1)
        note = "sums to 1: brightness kept"
    else:
        m = max(np.abs(out).max(), 1e-9)
        axes[2].imshow(out, cmap="gray", vmin=-m, vmax=m)
        note = f"sums to {total:.3g}: grey = 0, scale ±{m:.2g}"
    axes[2].set_title(f"output ({note})", fontsize=10)
    for ax in axes[[0, 2]]:
        ax.set_axis_off()
    if preset != "custom":
        fig.text(0.5, 0.93, "the nine sliders act when the preset is 'custom'", ha="center", fontsize=9,
                 color="#7f7f7f")
    return fig


# --------------------------------------------------------------- geometry
@frame
def draw_conv_geometry(n: int = 7, kernel: int = 3, stride: int = 1, padding: int = 0, dilation: int = 1):
    """The output-size widget: the padded input with the first two windows, and the output grid.

    Blue: the kernel taps of output (0, 0); orange outline: output (0, 1), ``stride`` pixels
    further; red hatching: input columns/rows no window reaches (the floor in the formula).
    """
    span = dilation * (kernel - 1) + 1
    padded = n + 2 * padding
    if span > padded:
        raise ValueError(f"the kernel spans {span} pixels (size {kernel}, dilation {dilation}) but the padded "
                         f"input has only {padded}: add padding, or lower the kernel size or the dilation")
    out = conv.conv_output_size(n, kernel, stride, padding, dilation)
    fig, (ax, ax_out) = plt.subplots(1, 2, figsize=(8.0, 4.2), gridspec_kw={"width_ratios": [1.35, 1]})
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.78, wspace=0.1)
    for i in range(padded):
        for j in range(padded):
            pad = not (padding <= i < padding + n and padding <= j < padding + n)
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor="#dddddd" if pad else "white", edgecolor="#999999", lw=0.6))
    covered = stride * (out - 1) + span
    if covered < padded:
        ax.add_patch(Rectangle((covered, 0), padded - covered, padded, fill=False, hatch="//", edgecolor="#d62728", lw=0))
        ax.add_patch(Rectangle((0, covered), padded, padded - covered, fill=False, hatch="//", edgecolor="#d62728", lw=0))
    for a in range(kernel):
        for e in range(kernel):
            ax.add_patch(Rectangle((e * dilation + 0.1, a * dilation + 0.1), 0.8, 0.8, color=plotting.COLORS[0], alpha=0.8))
    if out > 1:
        ax.add_patch(Rectangle((stride, 0), span, span, fill=False, edgecolor=plotting.COLORS[3], lw=2.5, ls="--"))
    ax.add_patch(Rectangle((0, 0), span, span, fill=False, edgecolor=plotting.COLORS[0], lw=2))
    for axis, title in ((ax, f"input {n}×{n} + padding {padding} (grey)"), (ax_out, f"output {out}×{out}")):
        # both panels on the input's scale, so that a cell has the same size in each
        axis.set_xlim(-0.2, max(padded, 1) + 0.2)
        axis.set_ylim(max(padded, 1) + 0.2, -0.2)
        axis.set_aspect("equal")
        axis.set_axis_off()
        axis.set_title(title, fontsize=10)
    for i in range(out):
        for j in range(out):
            color = plotting.COLORS[0] if (i, j) == (0, 0) else (plotting.COLORS[3] if (i, j) == (0, 1) else "white")
            ax_out.add_patch(Rectangle((j, i), 1, 1, facecolor=color, edgecolor="#999999", lw=0.6, alpha=0.8))
    fig.suptitle(f"n={n}, k={kernel}, s={stride}, p={padding}, d={dilation}:  "
                 f"⌊({n} + 2·{padding} − {dilation}·({kernel} − 1) − 1) / {stride}⌋ + 1 = {out}", fontsize=11)
    if covered < padded:
        fig.text(0.5, 0.86, f"{padded - covered} row(s)/column(s) at the far edges are never reached (red)",
                 ha="center", fontsize=9, color="#d62728")
    return fig


# ------------------------------------------------------------- small figures
def plot_flip(image: np.ndarray, kernel: np.ndarray, axes=None):
    """Four panels: the kernel, its 180° flip, and the input cross-correlated with each."""
    if axes is None:
        _, axes = plt.subplots(1, 4, figsize=(10, 2.8))
    xcorr = conv.conv2d_forward(image[None, None], kernel[None, None], np.zeros(1))[0][0, 0]
    true_conv = conv.conv2d_forward(image[None, None], conv.flip_kernel(kernel)[None, None], np.zeros(1))[0][0, 0]
    _draw_kernel_matrix(axes[0], kernel, "kernel K")
    _draw_kernel_matrix(axes[1], conv.flip_kernel(kernel), "flipped (rotated 180°)")
    m = max(np.abs(xcorr).max(), np.abs(true_conv).max())
    for ax, img, title in ((axes[2], xcorr, "cross-correlation with K"), (axes[3], true_conv, "convolution with K")):
        ax.imshow(img, cmap="RdBu_r", vmin=-m, vmax=m)
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    return axes


STACKS: dict[str, list[tuple[int, int, int]]] = {
    "3×3 convolutions": [(3, 1, 1)] * 8,
    "3×3 conv + 2×2 pool, alternating": [(3, 1, 1), (2, 2, 1)] * 4,
    "3×3, dilation 1, 2, 4, …": [(3, 1, 2 ** i) for i in range(8)],
}


def plot_receptive_field_growth(stacks: dict[str, Sequence[tuple[int, int, int]]] | None = None, ax=None):
    """Receptive-field size (pixels along one axis) after each layer of each stack (log y)."""
    if ax is None:
        _, ax = plt.subplots()
    for i, (name, layers) in enumerate((stacks or STACKS).items()):
        sizes = conv.receptive_field(layers).sizes
        ax.plot(range(1, len(sizes) + 1), sizes, "o-", color=plotting.COLORS[i], label=name)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("layer")
    ax.set_ylabel("receptive field (pixels)")
    ax.set_title("linear growth, or exponential with stride or dilation")
    ax.legend()
    return ax


def backprop_one_hot(layers: Sequence[tuple[int, int, int]], size: int) -> np.ndarray:
    """The gradient on a ``size×size`` input of a one-hot gradient at the centre output of the stack.

    Every layer is a convolution with a kernel of ones (a pooling window counts as a
    kernel of ones too), pushed forward and back with :func:`course_utils.scratch.conv.conv2d_backward`.
    Its non-zero entries are the receptive field; their values count the paths to each pixel.
    """
    h, caches = np.zeros((1, 1, size, size)), []
    for k, s, d in layers:
        h, cache = conv.conv2d_forward(h, np.ones((1, 1, k, k)), np.zeros(1), stride=s, dilation=d)
        caches.append(cache)
    g = np.zeros_like(h)
    g[0, 0, h.shape[2] // 2, h.shape[3] // 2] = 1.0
    for cache in reversed(caches):
        g = conv.conv2d_backward(g, cache)[0]
    return g[0, 0]


def receptive_field_by_backprop(layers: Sequence[tuple[int, int, int]], size: int | None = None) -> int:
    """Width (pixels) of the non-zero part of :func:`backprop_one_hot`: the measured receptive field."""
    size = size or conv.receptive_field(layers).sizes[-1] + 16
    rows = np.flatnonzero(np.abs(backprop_one_hot(layers, size)).sum(axis=1) > 0)
    return int(rows.max() - rows.min() + 1)


def plot_gradient_footprint(layers: Sequence[tuple[int, int, int]], ax=None):
    """The back-propagated one-hot gradient: its support is the receptive field."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 4.0))
    rf = conv.receptive_field(layers).sizes[-1]
    g = backprop_one_hot(layers, rf + 8)
    im = ax.imshow(np.where(g > 0, g, np.nan), cmap="viridis")
    ax.figure.colorbar(im, ax=ax, label="paths from the output to the pixel")
    ax.set_title(f"gradient of one output: {rf}×{rf} pixels", fontsize=10)
    ax.set_xlabel("input column")
    ax.set_ylabel("input row")
    ax.grid(False)
    return ax


def plot_kernels(weights: np.ndarray, title: str = "first-layer kernels"):
    """Each filter's kernel ``(F, 1, k, k)`` as a small image on a symmetric blue–red scale."""
    w = weights[:, 0]
    m = np.abs(w).max()
    fig, axes = plt.subplots(1, len(w), figsize=(1.1 * len(w), 1.5), squeeze=False)
    for i, ax in enumerate(axes[0]):
        ax.imshow(w[i], cmap="RdBu_r", vmin=-m, vmax=m)
        ax.set_title(f"filter {i}", fontsize=9)
        ax.set_axis_off()
    fig.suptitle(title)
    return fig


# ---------------------------------------------------------- parameter counts
def parameter_counts(h: int, w: int, c_in: int, c_out: int, k: int) -> dict[str, int]:
    """Weights + biases of three layers mapping a ``c_in×h×w`` image to ``c_out×h×w`` ("same" size):

    - dense: every output to every input, ``(c_in·h·w + 1) · c_out·h·w``;
    - locally connected: every output to its ``k×k`` window only, with its own weights
      (sparse interactions, no sharing), ``(c_in·k² + 1) · c_out·h·w``;
    - convolution: the same window weights at every position (sharing), ``(c_in·k² + 1) · c_out``.
    """
    return {"dense": (c_in * h * w + 1) * c_out * h * w,
            "locally connected": (c_in * k * k + 1) * c_out * h * w,
            "convolution": (c_in * k * k + 1) * c_out}


# ------------------------------------------------------------------ timing
def time_conv_implementations(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: int = 1,
                              repeat: int = 3) -> dict[str, float]:
    """Best-of-``repeat`` seconds of the loops (run once: they are slow), im2col and ``torch.nn.functional.conv2d``.

    Also checks that the three agree (``ValueError`` otherwise)."""
    t_loops, (out_loops, _) = base.timed(conv.conv2d_loops_forward, x, w, b, padding=padding, repeat=1)
    t_cols, (out_cols, _) = base.timed(conv.conv2d_forward, x, w, b, padding=padding, repeat=repeat)
    tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
    with torch.no_grad():
        t_torch, out_torch = base.timed(torch.nn.functional.conv2d, tx, tw, tb, padding=padding, repeat=repeat)
    if not (np.allclose(out_loops, out_cols, atol=1e-10) and np.allclose(out_cols, out_torch.numpy(), atol=1e-10)):
        raise ValueError("the three convolutions disagree")
    return {"loops": t_loops, "im2col": t_cols, "torch": t_torch}


# -------------------------------------------------- equivariance, invariance
def shift_image(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move the content of ``x (..., H, W)`` by ``dy`` rows and ``dx`` columns, filling with zeros."""
    out = np.zeros_like(x)
    h, w = x.shape[-2:]
    src_r, dst_r = slice(max(-dy, 0), h - max(dy, 0)), slice(max(dy, 0), h - max(-dy, 0))
    src_c, dst_c = slice(max(-dx, 0), w - max(dx, 0)), slice(max(dx, 0), w - max(-dx, 0))
    out[..., dst_r, dst_c] = x[..., src_r, src_c]
    return out


def equivariance_error(layer: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dy: int, dx: int,
                       out_shift: tuple[int, int] | None = None) -> float:
    """``max |layer(shift(x)) − shift(layer(x))|``: 0 for a translation-equivariant layer.

    ``out_shift`` is the shift expected at the output (default: the same as the input's).
    """
    oy, ox = out_shift if out_shift is not None else (dy, dx)
    return float(np.max(np.abs(layer(shift_image(x, dy, dx)) - shift_image(layer(x), oy, ox))))


def invariance_study(images: np.ndarray, rng: np.random.Generator, pools: Sequence[int] = (1, 2, 4, 7, 28),
                     n_filters: int = 8, shift: int = 1) -> dict[int, float]:
    """Relative change ``‖f(shift x) − f(x)‖ / ‖f(x)‖`` of random-filter features after max pooling.

    ``f`` is a 5×5 convolution with ``n_filters`` random filters, ReLU, then ``p×p`` max
    pooling with stride ``p`` for each ``p`` in ``pools`` (1 = no pooling; the image
    width = global max pooling); ``images (N, H, W)`` are shifted right by ``shift`` pixels.
    """
    w = rng.standard_normal((n_filters, 1, 5, 5))
    x = images[:, None]
    feats = [np.maximum(conv.conv2d_forward(v, w, np.zeros(n_filters), padding=2)[0], 0)
             for v in (x, shift_image(x, 0, shift))]
    out = {}
    for p in pools:
        a, b = (conv.max_pool2d_forward(f, p)[0] if p > 1 else f for f in feats)
        out[int(p)] = float(np.linalg.norm(b - a) / np.linalg.norm(a))
    return out


def plot_invariance(changes: dict[int, float], ax=None):
    """Bar chart of :func:`invariance_study`'s relative changes against the pooling size."""
    if ax is None:
        _, ax = plt.subplots()
    labels = ["none" if p == 1 else f"{p}×{p}" for p in changes]
    ax.bar(labels, list(changes.values()), color=plotting.COLORS[0])
    for i, v in enumerate(changes.values()):
        ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=9)
    ax.set_xlabel("max pooling window (stride = window)")
    ax.set_ylabel("relative change of the features")
    ax.set_title("a 1-pixel shift changes pooled features less")
    return ax


# ------------------------------------------------------- CNN vs MLP on MNIST
def mnist_split(seed: int = 0) -> data.Split:
    """MNIST-5k as 4,000 training and 1,000 test images ``(N, 1, 28, 28)``, standardised by one
    mean and one standard deviation of the training pixels (per-pixel scaling would break the
    images' spatial structure). Stratified; ``seed`` picks the split."""
    X, y = data.load_mnist()
    s = data.split(X, y, np.random.default_rng(seed), val=0.0, test=0.2)
    mu, sd = s.X_train.mean(), s.X_train.std()
    images = [((a - mu) / sd).reshape(-1, 1, 28, 28) for a in (s.X_train, s.X_test)]
    return data.Split(images[0], s.y_train, images[0][:0], s.y_train[:0], images[1], s.y_test)


def make_cnn() -> nn.Sequential:
    """c8 (5×5) – pool – c16 (3×3) – pool – fc120 – 10: 96,786 parameters, most in the dense layer."""
    return nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 7 * 7, 120), nn.ReLU(), nn.Linear(120, 10))


def make_mlp(hidden: int = 122) -> nn.Sequential:
    """784 – 122 – 10: 97,000 parameters, the CNN's count to 0.3 %."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def train_classifier(make_model: Callable[[], nn.Module], split: data.Split, epochs: int, seed: int = 0,
                     lr: float = 3e-3, batch_size: int = 32, progress: bool = True):
    """Adam with a cosine schedule over ``epochs``; returns ``(model, history, test accuracy)``.

    The model is built after ``torch.manual_seed(seed)``, so ``seed`` fixes the
    initialisation and the order of the minibatches."""
    torch.manual_seed(seed)
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loader = training.make_loader(split.X_train, split.y_train, batch_size=batch_size, seed=seed)
    history = training.fit(model, loader, nn.functional.cross_entropy, opt, epochs=epochs, scheduler=sched,
                           device=get_device(), progress=progress)
    device = next(model.parameters()).device
    with torch.no_grad():
        scores = model(torch.as_tensor(split.X_test, dtype=torch.float32, device=device))
    return model, history, accuracy(scores, split.y_test)


def feature_maps(model: nn.Sequential, image: np.ndarray) -> np.ndarray:
    """The first layer's ReLU feature maps ``(F, H, W)`` of one image ``(1, H, W)``."""
    device = next(model.parameters()).device
    with torch.no_grad():
        x = torch.as_tensor(image[None], dtype=torch.float32, device=device)
        return torch.relu(model[0](x))[0].cpu().numpy()


# ----------------------------------------------------------------- checks
#: the (stride, padding, kernel) of the conv2d check's trials, in turn: each of stride 1 and 2 and padding 0 and 1
#: comes up every few trials, and the first already has stride 2, padding 1 and a 3×3 kernel (drawn at random,
#: a check could get only stride 1, no padding or 1×1 kernels, which hide an ignored stride, an ignored padding or
#: a flipped kernel)
_CONV_SCHEDULE = ((2, 1, 3), (1, 0, 2), (2, 0, 2), (1, 1, 3), (2, 1, 1), (1, 0, 3))


def _conv_inputs(rng, stride: int, padding: int, k: int):
    """Random sizes and values for one conv2d trial; with stride 2, at least two outputs along each axis."""
    n, c, f = (int(v) for v in (rng.integers(1, 3), rng.integers(1, 4), rng.integers(1, 4)))
    h, w = (k - 2 * padding + int(rng.integers(stride, stride + 5)) for _ in range(2))
    return (rng.standard_normal((n, c, max(h, 1), max(w, 1))), rng.standard_normal((f, c, k, k)),
            rng.standard_normal(f), stride, padding)


def check_conv2d_naive(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Implement: ``fn(x, w, b, stride, padding) -> out (N, F, Ho, Wo)``, against ``conv.conv2d_forward``."""
    def reference(x, w, b, stride, padding):
        return conv.conv2d_forward(x, w, b, stride=stride, padding=padding)[0]

    schedule = itertools.cycle(_CONV_SCHEDULE)
    return checks.check_function(fn, reference, lambda rng: _conv_inputs(rng, *next(schedule)), name="conv2d_naive",
                                 trials=trials, rtol=1e-9, atol=1e-9)


#: the layer of the predict-then-run exercise: 3×3 kernel, stride 1, padding 1, on 16 channels of 28×28
IM2COL_EXERCISE = dict(channels=16, size=28, kernel=3, stride=1, padding=1)


def im2col_memory_ratio(channels: int, size: int, kernel: int, stride: int, padding: int) -> float:
    """How many numbers im2col stores per number of the input image."""
    cols = conv.im2col(np.zeros((1, channels, size, size)), kernel, stride, padding)
    return cols.size / (channels * size * size)


def check_im2col_memory(prediction) -> checks.CheckResult:
    """Predict-then-run: im2col's size relative to the input, for :data:`IM2COL_EXERCISE`."""
    actual = im2col_memory_ratio(**IM2COL_EXERCISE)
    hint = ("every output position gets its own copy of a 16·3·3 window, and with padding 1 and stride 1 there are "
            "as many output positions as pixels, so each pixel is copied once per kernel tap: 3·3 = 9 times")
    return checks.check_value(prediction, actual, name="im2col size / input size", rtol=0, atol=0.05, hint=hint)


#: the (kernel, stride, padding) of the col2im check's trials, in turn (stride < kernel: windows overlap); drawn at
#: random, a check could get no padding at all, which hides a crop that ignores it
_OVERLAP_SCHEDULE = ((3, 2, 1), (2, 1, 0), (3, 1, 1), (2, 1, 1), (3, 2, 0), (3, 1, 0))


def _overlap_inputs(rng, setting: tuple[int, int, int] | None = None):
    k = int(rng.integers(2, 4))
    stride = int(rng.integers(1, k))                 # stride < kernel: windows overlap
    padding = int(rng.integers(0, 2))
    if setting is not None:
        k, stride, padding = setting
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    h, w = (k + int(rng.integers(1, 5)) for _ in range(2))
    x_shape = (n, c, h, w)
    cols_shape = conv.im2col(np.zeros(x_shape), k, stride, padding).shape
    return rng.standard_normal(cols_shape), x_shape, k, stride, padding


def _col2im_overwrite(cols, x_shape, k, stride, padding):
    """The debug exercise's bug: overlapping windows overwrite each other instead of adding up."""
    n, c, h, w = x_shape
    ho = conv.conv_output_size(h, k, stride, padding)
    wo = conv.conv_output_size(w, k, stride, padding)
    cols = cols.reshape(n, c, k, k, ho, wo)
    xp = np.zeros((n, c, h + 2 * padding, w + 2 * padding))
    for a in range(k):
        for e in range(k):
            xp[:, :, a:a + stride * (ho - 1) + 1:stride, e:e + stride * (wo - 1) + 1:stride] = cols[:, :, a, e]
    return xp[:, :, padding:padding + h, padding:padding + w]


def check_col2im(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Debug-this: ``fn(cols, x_shape, k, stride, padding)`` must equal ``conv.col2im`` when windows overlap."""
    def reference(cols, x_shape, k, stride, padding):
        return conv.col2im(cols, x_shape, k, stride, padding)

    probe = _overlap_inputs(np.random.default_rng(12345))
    try:
        with np.errstate(all="ignore"):
            got = fn(*probe)
        overwrites = np.allclose(got, _col2im_overwrite(*probe)) and not np.allclose(got, reference(*probe))
    except Exception:  # check_function below reports the exception
        overwrites = False
    if overwrites:
        return checks.check_value(got, reference(*probe), name="col2im", hint=(
            "the pixels covered by several windows keep only the last window's value: overlapping contributions "
            "must add up (+=), because the gradient of a pixel is the sum over every window that used it"))
    schedule = itertools.cycle(_OVERLAP_SCHEDULE)
    return checks.check_function(fn, reference, lambda rng: _overlap_inputs(rng, next(schedule)), name="col2im",
                                 trials=trials, rtol=1e-9, atol=1e-9)


#: the derive-then-check stack, as (kernel, stride, dilation): conv3, conv3, pool2, conv3, conv3, pool2, conv3
RF_EXERCISE_STACK = [(3, 1, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1)]


def check_receptive_field_answer(answer) -> checks.CheckResult:
    """Derive-then-check: the receptive field of :data:`RF_EXERCISE_STACK`."""
    rf = conv.receptive_field(RF_EXERCISE_STACK)
    hint = ("add (k − 1)·jump per layer, where the jump (distance between neighbouring outputs, in input pixels) "
            f"doubles after each pooling: sizes {rf.sizes}, jumps {rf.jumps}")
    return checks.check_value(answer, rf.sizes[-1], name="receptive field", rtol=0, atol=0, hint=hint)


#: the design exercise: reach this receptive field (a whole 28×28 digit) …
RF_TARGET = 28
#: … with at most this many 3×3 layers (padding = dilation, which keeps the size at stride 1) …
RF_MAX_LAYERS = 4
#: … and an output of at least this many pixels a side on a 28×28 input (enough detail for later layers)
RF_MIN_OUTPUT = 7


def design_outcome(choice) -> tuple[int, int]:
    """Receptive field and output size (on a 28×28 input) of 3×3 layers ``[(stride, dilation), …]``
    with padding = dilation."""
    layers = [(3, int(s), int(d)) for s, d in choice]
    size = 28
    for k, s, d in layers:
        size = conv.conv_output_size(size, k, s, d, d)
    return conv.receptive_field(layers).sizes[-1], size


def check_receptive_field_design(choice) -> checks.CheckResult:
    """Design-to-a-target: ``choice`` lists ``(stride, dilation)`` per 3×3 layer (padding = dilation);
    the stack must see ``RF_TARGET`` pixels with at most ``RF_MAX_LAYERS`` layers and keep an
    output of at least ``RF_MIN_OUTPUT``×``RF_MIN_OUTPUT`` on a 28×28 input."""
    name = "receptive-field design"
    if choice is Ellipsis or choice is None:
        return checks.check_value(..., None, name=name)
    try:
        n_layers = len(choice)
        if not 1 <= n_layers <= RF_MAX_LAYERS:
            return checks.check_value(f"{n_layers} layers", f"1 to {RF_MAX_LAYERS} layers", name=name,
                                      hint="shorten the list: the point is to see far with few layers")
        rf, size = design_outcome(choice)
    except (TypeError, ValueError) as exc:
        return checks.check_value(f"an unusable choice ({exc})", "a list of (stride, dilation) pairs, each >= 1",
                                  name=name, hint="write e.g. choice = [(1, 1), (1, 2)]")
    if rf < RF_TARGET:
        return checks.check_value(rf, f">= {RF_TARGET}", name="receptive field",
                                  hint=f"your stack sees only {rf} pixels; let the stride or the dilation grow with depth")
    if size < RF_MIN_OUTPUT:
        return checks.check_value(f"{size}×{size}", f"at least {RF_MIN_OUTPUT}×{RF_MIN_OUTPUT}", name="output size",
                                  hint="strides shrink the output; dilation widens the view without shrinking it")
    return checks.check_value(True, True, name=f"{name}: receptive field {rf} px with {n_layers} layers, "
                                              f"{size}×{size} output")
