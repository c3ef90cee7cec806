"""Chapter 11 · modern CNNs: the architectures, their costs, depth and skips, transfer learning.

- Architectures in ``torch.nn`` at small scale: ``lenet5``, ``alexnet_small``, ``vgg_block`` /
  ``vgg_small``, ``Inception``, ``ResidualBlock`` / ``resnet_small``, ``SeparableConv`` /
  ``mobilenet_small``; ``ARCHITECTURES`` lists them with their input shapes.
- Costs: ``layer_costs`` applies the formulas of :mod:`course_utils.scratch.model_costs` to
  every layer; ``flop_count`` is torch's ``FlopCounterMode``, the check.
- Depth and skips: ``DeepMLP``, ``deep_run`` (cached training runs on the 8×8 digits),
  ``depth_study`` (both networks at every depth of ``DEPTHS``), ``trains`` and the widget
  ``draw_depth_skips``.
- Transfer: ``make_trunk``, ``pretrain_trunk`` / ``write_pretrained_trunk`` (run this module:
  ``python -m course_utils.chapters.ch11_modern_cnns`` regenerates ``data/ch11_trunk.pt``),
  ``load_pretrained_trunk`` (checks the SHA-256), ``transfer_study``.
- Thresholds shared with the negative-control tests: ``TRAIN_LOSS_MAX``, ``DEPTH_ACC_GAP_MIN``,
  ``TRANSFER_GAIN_MIN``.
- Checks (in ``checks.py``, re-exported here): ``check_separable_ratio`` (derive), ``check_top_k``
  (implement), ``check_residual_backward`` (debug), ``check_plain_prediction`` (predict),
  ``check_small_cnn_design`` (design).
"""
from __future__ import annotations

import copy
import functools
import hashlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ... import base, cache, data, plotting, training
from ...config import get_device
from ...scratch import model_costs
from ...scratch.metrics import accuracy
from ...widgets import frame

#: a run "trains" when its last epoch's mean training loss is below this (chance level is ln 10 ≈ 2.30)
TRAIN_LOSS_MAX = 0.5
#: the skip network's test accuracy must beat the plain network's by at least this much
DEPTH_ACC_GAP_MIN = 0.5
#: fine-tuning the pretrained trunk must beat training from scratch by this much (mean over seeds)
TRANSFER_GAIN_MIN = 0.02


# ============================================================ architectures
def lenet5() -> nn.Sequential:
    """LeNet-5 (LeCun et al., 1998) for 28×28 digits: two 5×5 convolutions with average pooling
    ("subsampling") and tanh, then dense layers of 120 and 84 units. The original connected
    each map of its second convolution to only some maps of the first; this one connects all."""
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


def alexnet_small(n_classes: int = 10) -> nn.Sequential:
    """AlexNet (Krizhevsky, Sutskever and Hinton, 2012) at a quarter of its width, for 64×64 colour
    images: an 11×11 stride-4 convolution, overlapping 3×3 max pooling, ReLU, five convolutions,
    dropout in the dense layers."""
    return nn.Sequential(nn.Conv2d(3, 24, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
                         nn.Conv2d(24, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
                         nn.Conv2d(64, 96, 3, padding=1), nn.ReLU(), nn.Conv2d(96, 96, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(96, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
                         nn.Dropout(0.5), nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 256),
                         nn.ReLU(), nn.Linear(256, n_classes))


def vgg_block(c_in: int, c_out: int, n_convs: int) -> nn.Sequential:
    """A VGG block (Simonyan and Zisserman, 2014): ``n_convs`` 3×3 "same" convolutions with ReLU,
    then 2×2 max pooling, which halves the size."""
    layers: list[nn.Module] = []
    for i in range(n_convs):
        layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


def vgg_small(n_classes: int = 10) -> nn.Sequential:
    """Four VGG blocks (16, 32, 64, 64 channels; 1, 1, 2, 2 convolutions) for 32×32 colour images."""
    return nn.Sequential(vgg_block(3, 16, 1), vgg_block(16, 32, 1), vgg_block(32, 64, 2), vgg_block(64, 64, 2),
                         nn.Flatten(), nn.Linear(64 * 2 * 2, 128), nn.ReLU(), nn.Linear(128, n_classes))


class Inception(nn.Module):
    """An Inception module (Szegedy et al., 2015): four parallel branches concatenated along channels.

    1×1; 1×1 then 3×3; 1×1 then 5×5; 3×3 max pooling then 1×1. The 1×1 convolutions before
    the large kernels ("reductions") shrink the channels the expensive kernels see; with
    ``reduce=False`` they are left out (the "naive" module) to show what they save.
    """

    def __init__(self, c_in: int, c1: int, c3_reduce: int, c3: int, c5_reduce: int, c5: int, c_pool: int,
                 reduce: bool = True):
        super().__init__()

        def branch(c_mid, c_out, k):
            if not reduce:
                return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.ReLU())
            return nn.Sequential(nn.Conv2d(c_in, c_mid, 1), nn.ReLU(), nn.Conv2d(c_mid, c_out, k, padding=k // 2),
                                 nn.ReLU())

        self.b1 = nn.Sequential(nn.Conv2d(c_in, c1, 1), nn.ReLU())
        self.b3, self.b5 = branch(c3_reduce, c3, 3), branch(c5_reduce, c5, 5)
        self.pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(c_in, c_pool, 1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], dim=1)


class ResidualBlock(nn.Module):
    """``relu(conv2(relu(conv1(x))) + shortcut(x))`` (He et al., 2016); the torch twin of
    :func:`course_utils.scratch.residual.residual_block_forward` when ``batchnorm=False``.

    The shortcut is the identity, or a 1×1 convolution with the block's stride when the
    shape changes. With ``batchnorm=True`` each convolution is followed by batch normalisation, as in ResNet.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1, k: int = 3, batchnorm: bool = False):
        super().__init__()
        norm = (lambda c: nn.BatchNorm2d(c)) if batchnorm else (lambda c: nn.Identity())
        self.conv1, self.bn1 = nn.Conv2d(c_in, c_out, k, stride, padding=k // 2), norm(c_out)
        self.conv2, self.bn2 = nn.Conv2d(c_out, c_out, k, 1, padding=k // 2), norm(c_out)
        self.shortcut = (None if stride == 1 and c_in == c_out
                         else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride), norm(c_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        skip = x if self.shortcut is None else self.shortcut(x)
        return torch.relu(self.bn2(self.conv2(h)) + skip)


def resnet_small(n_classes: int = 10) -> nn.Sequential:
    """A ResNet-14 for 32×32 colour images: a 3×3 stem, three stages of two residual blocks
    (16, 32, 64 channels; the last two stages start with stride 2), global average pooling."""
    def stage(c_in, c_out, stride):
        return [ResidualBlock(c_in, c_out, stride, batchnorm=True), ResidualBlock(c_out, c_out, batchnorm=True)]

    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         *stage(16, 16, 1), *stage(16, 32, 2), *stage(32, 64, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, n_classes))


class SeparableConv(nn.Module):
    """Depthwise-separable convolution (Xception, Chollet 2017; MobileNet, Howard et al. 2017):
    a ``k×k`` depthwise convolution (one filter per channel, ``groups=c_in``), ReLU, then a 1×1
    pointwise convolution that mixes the channels, ReLU."""

    def __init__(self, c_in: int, c_out: int, k: int = 3, stride: int = 1):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, k, stride, padding=k // 2, groups=c_in)
        self.pointwise = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.pointwise(torch.relu(self.depthwise(x))))


def mobilenet_small(n_classes: int = 10) -> nn.Sequential:
    """A MobileNet-style network for 32×32 colour images: a strided 3×3 stem, four separable blocks."""
    return nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
                         SeparableConv(16, 32), SeparableConv(32, 64, stride=2), SeparableConv(64, 64),
                         SeparableConv(64, 128, stride=2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(128, n_classes))


#: the chapter's architectures and the input shape (one image) each expects
ARCHITECTURES: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "LeNet-5": (lenet5, (1, 1, 28, 28)),
    "AlexNet (small)": (alexnet_small, (1, 3, 64, 64)),
    "VGG (small)": (vgg_small, (1, 3, 32, 32)),
    "Inception module": (lambda: Inception(192, 64, 96, 128, 16, 32, 32), (1, 192, 28, 28)),
    "ResNet-14": (resnet_small, (1, 3, 32, 32)),
    "MobileNet (small)": (mobilenet_small, (1, 3, 32, 32)),
}


# ==================================================================== costs
@dataclass
class LayerCost:
    """One layer's parameters and FLOPs by the formulas of :mod:`course_utils.scratch.model_costs`."""

    name: str
    kind: str
    out_shape: tuple
    params: int
    flops: int


def _cost_of(name: str, module: nn.Module, out: torch.Tensor) -> LayerCost | None:
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size[0]
        if module.kernel_size != (k, k):
            raise ValueError(f"{name}: the formulas assume square kernels, got {module.kernel_size}")
        args = (module.in_channels, module.out_channels, k)
        params = model_costs.conv2d_params(*args, module.groups, module.bias is not None)
        flops = model_costs.conv2d_flops(*args, out.shape[2], out.shape[3], module.groups, n=out.shape[0])
        return LayerCost(name, f"conv {k}×{k}" + (f", groups {module.groups}" if module.groups > 1 else ""),
                         tuple(out.shape[1:]), params, flops)
    if isinstance(module, nn.Linear):
        return LayerCost(name, "dense", tuple(out.shape[1:]),
                         model_costs.linear_params(module.in_features, module.out_features, module.bias is not None),
                         model_costs.linear_flops(module.in_features, module.out_features, n=out.shape[0]))
    if isinstance(module, nn.BatchNorm2d):
        return LayerCost(name, "batch norm", tuple(out.shape[1:]), model_costs.batchnorm_params(module.num_features), 0)
    return None


def layer_costs(model: nn.Module, input_shape: Sequence[int]) -> list[LayerCost]:
    """Run one forward pass on zeros of ``input_shape`` and apply the formulas to every
    convolution, dense and batch-norm layer, in the order they run."""
    rows: list[LayerCost] = []
    hooks = [m.register_forward_hook(lambda mod, _inp, out, name=name: rows.append(_cost_of(name, mod, out)))
             for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm2d))]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(*input_shape))
    finally:
        for h in hooks:
            h.remove()
    return rows


def flop_count(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs of one forward pass as counted by ``torch.utils.flop_counter.FlopCounterMode``."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.eval()(torch.zeros(*input_shape))
    return int(counter.get_total_flops())


def cost_summary(name: str, model: nn.Module, input_shape: Sequence[int]) -> dict:
    """Formula totals next to torch's own counts for one architecture."""
    rows = layer_costs(model, input_shape)
    return {"architecture": name, "params (formula)": sum(r.params for r in rows),
            "params (torch)": sum(p.numel() for p in model.parameters()),
            "MFLOPs (formula)": sum(r.flops for r in rows) / 1e6,
            "MFLOPs (FlopCounterMode)": flop_count(model, input_shape) / 1e6}


# ========================================================= depth and skips
class DeepMLP(nn.Module):
    """``depth`` hidden layers of ``width`` units in pre-activation form, ``h ← W·relu(h) + b``,
    plus ``h`` when ``skip`` (a residual network without convolutions). PyTorch's default init."""

    def __init__(self, depth: int, skip: bool, width: int = 64, d_in: int = 64, n_classes: int = 10):
        super().__init__()
        self.skip = skip
        self.inp = nn.Linear(d_in, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.out = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for layer in self.hidden:
            h = layer(torch.relu(h)) + h if self.skip else layer(torch.relu(h))
        return self.out(torch.relu(h))


@functools.lru_cache(maxsize=4)
def digits_split(seed: int = 0) -> data.Split:
    """The 8×8 digits, 80 % training / 20 % test, standardised per pixel with the training statistics."""
    X, y = data.load_digits()
    s = data.split(X, y, np.random.default_rng(seed), val=0.0, test=0.2)
    X_train, X_test = data.standardize(s.X_train, s.X_test)
    return data.Split(X_train, s.y_train, X_train[:0], s.y_train[:0], X_test, s.y_test)


def gradient_norms(model: DeepMLP, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``‖∂L/∂W_l‖`` of every hidden layer ``l`` (1 = nearest the input), for the full-batch loss."""
    model.zero_grad()
    xb, yb = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    nn.functional.cross_entropy(model(xb), yb).backward()
    norms = np.array([layer.weight.grad.norm().item() for layer in model.hidden])
    model.zero_grad()
    return norms


@dataclass
class DeepRunResult:
    """A training run of :class:`DeepMLP`: per-epoch training losses, gradient norms at
    initialisation, test scores and accuracy."""

    depth: int
    skip: bool
    losses: np.ndarray
    grad_norms: np.ndarray
    test_scores: np.ndarray
    test_accuracy: float
    steps: int
    diverged: bool = False
    message: str = ""


#: epochs of every depth run: 15 passes over 1,437 digits in batches of 64, 345 SGD steps
DEEP_EPOCHS = 15


def deep_run(depth: int, skip: bool, seed: int = 0, epochs: int = DEEP_EPOCHS, lr: float = 0.01) -> DeepRunResult:
    """Train a :class:`DeepMLP` on the digits with SGD (momentum 0.9), batch 64. Cached: the widget,
    the exercise check and the notebook's asserts share the runs."""
    return _deep_run(int(depth), bool(skip), int(seed), int(epochs), float(lr))


@functools.lru_cache(maxsize=32)
def _deep_run(depth: int, skip: bool, seed: int, epochs: int, lr: float) -> DeepRunResult:
    """One run, from the per-user disk cache when this code already trained it (``cache.cached``:
    checksummed, rebuilt when damaged; its version is a hash of the code that trains the run)."""
    name = f"ch11-deep-run-d{depth}-{'skip' if skip else 'plain'}-seed{seed}-e{epochs}-lr{lr:g}"
    a = cache.cached(name, lambda: _train_deep_run(depth, skip, seed, epochs, lr), version=_deep_run_version())
    return DeepRunResult(depth, skip, a["losses"], a["grad_norms"], a["test_scores"], float(a["test_accuracy"]),
                         int(a["steps"]), bool(a["diverged"]), str(a["message"]))


@functools.lru_cache(maxsize=1)
def _deep_run_version() -> str:
    code = "".join(inspect.getsource(f) for f in (DeepMLP, digits_split, gradient_norms, _train_deep_run))
    return hashlib.sha256((code + torch.__version__).encode()).hexdigest()[:12]


def _train_deep_run(depth: int, skip: bool, seed: int, epochs: int, lr: float) -> dict[str, np.ndarray]:
    s = digits_split(seed)
    torch.manual_seed(seed)
    model = DeepMLP(depth, skip)
    norms = gradient_norms(model, s.X_train, s.y_train)
    loader = training.make_loader(s.X_train, s.y_train, batch_size=64, seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    device = get_device()
    history = (training.fit(model, loader, nn.functional.cross_entropy, opt, epochs=epochs, device=device,
                            progress=False) if epochs > 0 else training.History())
    with torch.no_grad():
        scores = model.to(device)(torch.as_tensor(s.X_test, dtype=torch.float32, device=device)).cpu().numpy()
    losses = np.asarray(history["train_loss"]) if epochs > 0 and len(history) else np.array([np.nan])
    return {"losses": losses, "grad_norms": norms, "test_scores": scores, "test_accuracy": accuracy(scores, s.y_test),
            "steps": epochs * len(loader), "diverged": history.diverged, "message": history.message}


#: the depths the widget offers; :func:`depth_study` trains both networks at each once
DEPTHS = (3, 10, 20, 30)


def depth_study(depths: Sequence[int] = DEPTHS, seed: int = 0, progress: bool = True) -> dict:
    """``{(depth, skip): DeepRunResult}`` for both networks at every depth: the runs the widget
    draws, computed once (each is cached by :func:`deep_run`)."""
    pairs = [(d, s) for d in depths for s in (False, True)]
    return {(d, s): deep_run(d, s, seed) for d, s in base.progress(pairs, desc="depth runs", show=progress)}


def at_chance(run: DeepRunResult, tol: float = 0.01) -> bool:
    """The final training loss is chance, ``ln 10`` (uniform over the ten digits), within ``tol``: the
    network learned nothing. Measured: the plain network at 10, 20 and 30 layers 2.3029–2.3031 (seeds 0–1)."""
    return bool(np.isfinite(run.losses[-1])) and abs(run.losses[-1] - np.log(10)) < tol


def trains(run: DeepRunResult) -> bool:
    """The chapter's test of "this network trains": no divergence, final training loss below ``TRAIN_LOSS_MAX``."""
    return (not run.diverged) and bool(np.isfinite(run.losses[-1])) and run.losses[-1] < TRAIN_LOSS_MAX


@frame
def draw_depth_skips(depth: int = 30, skips: str = "on"):
    """The widget: gradient norm of every layer at initialisation, and the training loss, for a
    :class:`DeepMLP` of ``depth`` layers with or without skips (the other setting in grey).
    Draws the runs of seed 0, which :func:`depth_study` computes once for ``DEPTHS``."""
    if skips not in ("on", "off"):
        raise ValueError(f"skips must be 'on' or 'off', got {skips!r}")
    if not 1 <= depth <= 60:
        raise ValueError(f"depth must be between 1 and 60 layers, got {depth}")
    shown, other = deep_run(depth, skips == "on"), deep_run(depth, skips != "on")
    fig, (ax_g, ax_l) = plt.subplots(1, 2, figsize=(9.0, 3.8))
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.8, wspace=0.28)
    color = plotting.COLORS[2] if skips == "on" else plotting.COLORS[1]
    layers = np.arange(1, depth + 1)
    ax_g.semilogy(layers, other.grad_norms, color="#bbbbbb", lw=1.5, label=f"skips {'off' if skips == 'on' else 'on'}")
    ax_g.semilogy(layers, shown.grad_norms, "o-", ms=3, color=color, label=f"skips {skips}")
    ax_g.set_ylim(1e-16, 1e3)
    ax_g.set_xlabel("layer (1 = next to the input)")
    ax_g.set_ylabel("‖∂L/∂W‖ at initialisation")
    ax_g.legend(loc="lower right")
    epochs = np.arange(1, len(shown.losses) + 1)
    ax_l.plot(np.arange(1, len(other.losses) + 1), other.losses, color="#bbbbbb", lw=1.5)
    ax_l.plot(epochs, shown.losses, "o-", ms=3, color=color)
    ax_l.axhline(np.log(10), color="k", ls=":", lw=1, label="chance (ln 10)")
    ax_l.set_ylim(0, 3)
    ax_l.set_xlabel(f"epoch ({shown.steps} SGD steps in all)")
    ax_l.set_ylabel("training loss")
    ax_l.legend(loc="upper right")
    verdict = "trains" if trains(shown) else "does not train"
    fig.suptitle(f"{depth} layers, skips {skips}: {verdict} (test accuracy {shown.test_accuracy:.2f})", fontsize=12)
    if shown.diverged:
        plotting.show_message(ax_l, shown.message)
    return fig


# ================================================================= transfer
TRUNK_FILE = Path(__file__).resolve().parents[3] / "data" / "ch11_trunk.pt"
#: SHA-256 of ``data/ch11_trunk.pt`` as written by :func:`write_pretrained_trunk`
TRUNK_SHA256 = "3c37992007f0739fcf7092b7384fe7d9432d993f0d6c260d199bc02bf0a1dcb5"
#: labelled examples per class of the target task
SHOTS = 5
#: full-batch Adam steps of every few-shot run
FEW_SHOT_STEPS = 60


def make_trunk() -> nn.Sequential:
    """The feature extractor: 8 filters 5×5 ("same"), ReLU, 2×2 max pool, 16 filters 5×5, ReLU,
    2×2 max pool, flatten: a 28×28 digit becomes 400 features. 3,424 parameters."""
    return nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())


def make_pretraining_head(n_classes: int = 5) -> nn.Sequential:
    """The dense layers used only for pretraining (LeNet's 120 and 84 units); thrown away afterwards."""
    return nn.Sequential(nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, n_classes))


@functools.lru_cache(maxsize=1)
def mnist_images() -> tuple[np.ndarray, np.ndarray]:
    """MNIST-5k as ``(5000, 1, 28, 28)`` float32 images scaled to mean 0, standard deviation 1 (roughly)."""
    X, y = data.load_mnist()
    return ((X - 0.13) / 0.31).reshape(-1, 1, 28, 28).astype(np.float32), y


def source_and_target(test_per_class: int = 200):
    """Digits 0–4 (the source task: all 2,500, the last 500 held out) and digits 5–9 (the target
    task: a fixed test set of ``test_per_class`` per class, the rest a pool to draw labels from).
    Target labels are shifted to 0–4."""
    X, y = mnist_images()
    rng = np.random.default_rng(2024)
    src = rng.permutation(np.flatnonzero(y < 5))
    test = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:test_per_class] for c in range(5, 10)])
    pool = np.setdiff1d(np.flatnonzero(y >= 5), test)
    return {"source_train": src[:-500], "source_test": src[-500:], "target_pool": pool, "target_test": test}


def _shifted(x: torch.Tensor, g: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    dy, dx = (int(v) for v in torch.randint(-max_shift, max_shift + 1, (2,), generator=g))
    return torch.roll(x, (dy, dx), dims=(2, 3))


def pretrain_trunk(steps: int = 800, seed: int = 0, progress: bool = True) -> nn.Sequential:
    """Train trunk + pretraining head on digits 0–4 (Adam 2·10⁻³, batches of 64, random
    shifts of up to ±2 pixels); returns the whole network (``[0]`` is the trunk)."""
    X, y = mnist_images()
    idx = source_and_target()["source_train"]
    xs, ys = torch.as_tensor(X[idx]), torch.as_tensor(y[idx])
    torch.manual_seed(seed)
    net = nn.Sequential(make_trunk(), make_pretraining_head())
    g = torch.Generator().manual_seed(seed)

    def batch(_step: int) -> tuple[torch.Tensor, torch.Tensor]:
        b = torch.randint(0, len(xs), (64,), generator=g)
        return _shifted(xs[b], g), ys[b]

    training.train_steps(net, batch, nn.functional.cross_entropy, torch.optim.Adam(net.parameters(), lr=2e-3),
                         steps, device="cpu", progress=progress, desc="pretraining")
    return net


def write_pretrained_trunk(path: Path = TRUNK_FILE, steps: int = 800, seed: int = 0) -> str:
    """Pretrain (about 20 s on one core) and save the network's ``state_dict``; returns its SHA-256."""
    net = pretrain_trunk(steps, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_pretrained_trunk(path: Path = TRUNK_FILE, sha256: str | None = None) -> nn.Sequential:
    """The pretrained network (trunk + head) from ``path``, after checking its SHA-256.

    ``torch.load(..., weights_only=True)`` reads only tensors: a tampered file cannot run code.
    """
    expected = TRUNK_SHA256 if sha256 is None else sha256
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(f"{path} has SHA-256 {digest}, expected {expected}: the file changed. Regenerate it with "
                         "`make trunk` (python -m course_utils.chapters.ch11_modern_cnns) and update TRUNK_SHA256")
    net = nn.Sequential(make_trunk(), make_pretraining_head())
    net.load_state_dict(torch.load(path, weights_only=True))
    return net.eval()


def _fit_full_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float, steps: int) -> None:
    training.train_steps(model, lambda _step: (x, y), nn.functional.cross_entropy,
                         torch.optim.Adam(model.parameters(), lr=lr), steps, device=x.device, progress=False)


def few_shot_runs(trunk: nn.Module, seed: int, shots: int = SHOTS, steps: int = FEW_SHOT_STEPS) -> dict[str, float]:
    """Target-test accuracy of three learners given ``shots`` labelled images per digit 5–9:

    - ``scratch``: a fresh trunk and a linear head, all trained with Adam (10⁻³);
    - ``linear probe``: ``trunk`` frozen, a linear head trained on its features (Adam, 10⁻²);
    - ``fine-tune``: continues from the probe and trains trunk and head together with a ten times
      smaller learning rate (10⁻⁴), so that the pretrained features are adjusted, not overwritten
      (linear probing, then fine-tuning: Kumar et al., 2022).

    Every learner takes ``steps`` full-batch steps; ``seed`` picks the labelled images and the
    initialisations.
    """
    X, y = mnist_images()
    parts = source_and_target()
    rng = np.random.default_rng(seed)
    pool = parts["target_pool"]
    lab = np.concatenate([rng.choice(pool[y[pool] == c], shots, replace=False) for c in range(5, 10)])
    device = get_device()
    xl, yl = torch.as_tensor(X[lab], device=device), torch.as_tensor(y[lab] - 5, device=device)
    xt, yt = torch.as_tensor(X[parts["target_test"]], device=device), y[parts["target_test"]] - 5

    def test_accuracy(model):
        with torch.no_grad():
            return accuracy(model(xt), yt)

    torch.manual_seed(seed)
    scratch = nn.Sequential(make_trunk(), nn.Linear(400, 5)).to(device)
    _fit_full_batch(scratch, xl, yl, 1e-3, steps)
    torch.manual_seed(seed)
    body, head = copy.deepcopy(trunk).to(device), nn.Linear(400, 5).to(device)
    with torch.no_grad():
        features = body(xl)                     # frozen: computed once
    _fit_full_batch(head, features, yl, 1e-2, steps)
    tuned = nn.Sequential(body, head)
    out = {"scratch": test_accuracy(scratch), "linear probe": test_accuracy(tuned)}
    _fit_full_batch(tuned, xl, yl, 1e-4, steps)
    out["fine-tune"] = test_accuracy(tuned)
    return out


def transfer_study(trunk: nn.Module, seeds: Sequence[int], shots: int = SHOTS, steps: int = FEW_SHOT_STEPS,
                   progress: bool = True) -> dict[str, np.ndarray]:
    """:func:`few_shot_runs` for each seed: ``{learner: accuracies (len(seeds),)}``."""
    runs = [few_shot_runs(trunk, s, shots, steps) for s in base.progress(seeds, desc="few-shot runs", show=progress)]
    return {k: np.array([r[k] for r in runs]) for k in runs[0]}


def transfer_gain(study: dict[str, np.ndarray]) -> float:
    """Mean accuracy of fine-tuning minus mean accuracy of training from scratch."""
    return float(study["fine-tune"].mean() - study["scratch"].mean())


def plot_costs(table: Sequence[dict]):
    """Parameters and MFLOPs of every architecture (rows of :func:`cost_summary`), log scale, side by side."""
    names = [row["architecture"] for row in table]
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 0.45 * len(names) + 1.4), sharey=True)
    for ax, key, label, color in ((axes[0], "params (formula)", "parameters", plotting.COLORS[0]),
                                  (axes[1], "MFLOPs (formula)", "MFLOPs per image", plotting.COLORS[1])):
        values = [row[key] for row in table]
        ax.barh(range(len(names)), values, color=color, alpha=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(f"{label} (log scale)")
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:,.3g}", va="center", fontsize=8)
    axes[0].set_yticks(range(len(names)), names)
    axes[0].invert_yaxis()
    fig.suptitle("what each architecture costs (the formulas, equal to PyTorch's counts)")
    return axes


def plot_depth_summary(runs: dict):
    """Final training loss against depth for the plain and the residual network (runs of :func:`depth_study`),
    with chance (ln 10) and the chapter's "trains" threshold ``TRAIN_LOSS_MAX``."""
    _, ax = plt.subplots(figsize=(6.4, 3.8))
    for i, (skip, label) in enumerate([(False, "plain"), (True, "residual (skips)")]):
        depths = sorted(d for d, s in runs if s == skip)
        ax.plot(depths, [runs[(d, skip)].losses[-1] for d in depths], "o-", color=plotting.COLORS[i], label=label)
    ax.axhline(np.log(10), color="k", ls=":", lw=1, label="chance, ln 10")
    ax.axhline(TRAIN_LOSS_MAX, color="k", ls="--", lw=1, label=f'"trains": below {TRAIN_LOSS_MAX:g}')
    ax.set_ylim(bottom=0)
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("final training loss")
    ax.set_title("same steps, same seed: only the residual network trains when deep")
    ax.legend(fontsize=8)
    return ax


def plot_transfer(study: dict[str, np.ndarray], ax=None):
    """Accuracy of each learner on each labelled set (dots) and the mean (bar)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 3.8))
    bottom = max(0.0, min(a.min() for a in study.values()) - 0.08)
    for i, accs in enumerate(study.values()):
        ax.bar(i, accs.mean(), color=plotting.COLORS[i], alpha=0.35)
        ax.plot(np.full(len(accs), i), accs, "o", color=plotting.COLORS[i])
        ax.text(i, bottom + 0.01, f"mean {accs.mean():.3f}", ha="center", va="bottom")
    for j in range(len(next(iter(study.values())))):
        ax.plot(range(len(study)), [a[j] for a in study.values()], color="#999999", lw=0.7, zorder=0)
    ax.set_xticks(range(len(study)), list(study))
    ax.set_ylim(bottom, 1.0)
    ax.set_ylabel("test accuracy on digits 5–9")
    ax.set_title("five labelled images per class (one line per labelled set)")
    return ax


# The exercise checks live in ch11_modern_cnns/checks.py (this chapter's module is a package: it is long).
from .checks import (  # noqa: E402, F401
    DESIGN_MAX_MFLOPS,
    DESIGN_MAX_PARAMS,
    DESIGN_MIN_RF,
    SEPARABLE_EXERCISE,
    build_design,
    check_plain_prediction,
    check_residual_backward,
    check_separable_ratio,
    check_small_cnn_design,
    check_top_k,
)
