"""Chapter 12 · detection and segmentation: data, experiments, figures, the NMS widget and the exercise checks.

- Data: :func:`shapes_split` (train and held-out images from ``data.make_shapes``).
- Upsampling: :func:`upsampling_variances` (the checkerboard artefact, measured),
  :func:`plot_upsamplers`, :func:`plot_checkerboard`.
- Segmentation: :func:`train_segmenter` (a ``segmentation.UNet``, with or without skips),
  :func:`predict_masks`, :func:`segmentation_scores`, :func:`plot_segmentations`.
- Sliding windows: :func:`window_classifier` (a tiny NumPy CNN), :func:`window_scores_by_sliding`
  and :func:`window_scores_by_convolution`, which agree.
- Detection: :func:`detection_targets`, :func:`train_detector`, :func:`raw_outputs`,
  :func:`detector_map`, the negative controls :func:`centre_detections` and
  :func:`random_detections`, :func:`plot_detections`; the widget :func:`nms_drawer`.
- Thresholds shared by the notebook and the tests: :data:`MIOU_MIN`, :data:`MAP_MIN`.
- Checks: :func:`check_iou` (implement), :func:`check_iou_prediction` (predict),
  :func:`check_nms_per_class` (debug), :func:`check_transposed_size` (derive).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import checks, data, plotting, training
from ..scratch import conv, detection, segmentation, upsample
from ..widgets import frame

# ------------------------------------------------------------------ settings
#: image side, data sizes and the detector's grid: 8×8 cells of 4 pixels, two anchor shapes
IMAGE_SIZE = 32
N_TRAIN, N_TEST = 2000, 500
GRID, CELL = 8, 4
ANCHOR_WH = np.array([[7.0, 7.0], [12.0, 12.0]])
UNET_CHANNELS = (8, 16, 32, 64)

#: the notebook's asserts (measured over seeds; see the chapter's report):
#: mean IoU (background and shape) of the U-Net on held-out images, which the same
#: network without skip connections does not reach, and the detector's mAP@0.5
MIOU_MIN = 0.782
MAP_MIN = 0.45


def shapes_split(seed: int = 0, n_train: int = N_TRAIN, n_test: int = N_TEST) -> tuple[data.Shapes, data.Shapes]:
    """Training and held-out images of shapes (independent draws of ``data.make_shapes``)."""
    shapes = data.make_shapes(n_train + n_test, np.random.default_rng(seed), size=IMAGE_SIZE)
    return shapes.subset(slice(0, n_train)), shapes.subset(slice(n_train, None))


def _batches(arrays: Sequence[np.ndarray], batch_size: int, seed: int) -> Callable[[int], tuple]:
    """``next_batch(step)`` for ``training.train_steps``: random rows of the arrays (as float tensors)."""
    tensors = [torch.as_tensor(np.asarray(a), dtype=torch.float32) for a in arrays]
    g = torch.Generator().manual_seed(seed)

    def next_batch(step):
        idx = torch.randint(0, len(tensors[0]), (batch_size,), generator=g)
        return tuple(t[idx] for t in tensors)
    return next_batch


def _random_crops(images: np.ndarray, masks: np.ndarray, batch_size: int, crop: int, seed: int) -> Callable[[int], tuple]:
    """``next_batch(step)``: ``batch_size`` random ``crop``×``crop`` windows of random training images and their masks.

    A fully convolutional network can train on small crops and then segment whole images:
    every output pixel only ever sees its receptive field.
    """
    images, masks = torch.as_tensor(images, dtype=torch.float32), torch.as_tensor(masks, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    side = images.shape[-1]

    def next_batch(step):
        idx = torch.randint(0, len(images), (batch_size,), generator=g)
        top, left = (int(v) for v in torch.randint(0, side - crop + 1, (2,), generator=g))
        window = (idx, slice(None), slice(top, top + crop), slice(left, left + crop))
        return images[window], masks[window]
    return next_batch


def _adam_cosine(model: torch.nn.Module, lr: float, steps: int):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)


# --------------------------------------------------------------- upsampling
def upsampling_variances(size: int = 8) -> dict[str, float]:
    """Variance of the interior of each upsampler's output for an all-ones input and all-ones kernel.

    A constant image should upsample to a constant image. The stride-2 transposed
    convolution with a 3×3 kernel does not (a checkerboard of 1, 2 and 4 stamps); with a
    4×4 kernel (stride divides kernel) or nearest-neighbour upsampling followed by a 3×3
    convolution, every interior pixel gets the same number of contributions.
    """
    ones = np.ones((1, 1, size, size))
    k3 = np.ones((1, 1, 3, 3))
    near, _ = upsample.upsample_nearest_forward(ones, 2)
    resize_conv, _ = conv.conv2d_forward(near, k3, np.zeros(1), padding=1)
    outs = {"transposed conv, kernel 3, stride 2": upsample.checkerboard_pattern(3, 2, size),
            "transposed conv, kernel 4, stride 2": upsample.checkerboard_pattern(4, 2, size),
            "nearest ×2, then 3×3 conv": resize_conv[0, 0]}
    return {k: float(v[3:-3, 3:-3].var()) for k, v in outs.items()}


def plot_upsamplers(image: np.ndarray, kernel: np.ndarray | None = None):
    """One small image upsampled ×2 four ways: nearest, bilinear, transposed convolution, max-unpooling."""
    x = np.asarray(image, dtype=float)[None, None]
    kernel = np.ones((2, 2)) if kernel is None else kernel
    h, w = x.shape[2:]
    # unpooling needs the positions of maxima from an earlier pooling: pool a 2× larger image whose
    # maximum in each 2×2 block sits at a random place, then put the values back there
    bigger = upsample.upsample_nearest_forward(x, 2)[0] + 0.01 * np.random.default_rng(0).random((1, 1, 2 * h, 2 * w))
    pooled, cache = conv.max_pool2d_forward(bigger, 2)
    outs = {"input": x[0, 0],
            "nearest": upsample.upsample_nearest_forward(x, 2)[0][0, 0],
            "bilinear": upsample.upsample_bilinear_forward(x, 2)[0][0, 0],
            "transposed conv\n(2×2 kernel, stride 2)": upsample.conv_transpose2d_forward(
                x, kernel[None, None], np.zeros(1), stride=2)[0][0, 0],
            "max-unpooling\n(to where the maxima were)": conv.max_unpool2d_forward(
                pooled, cache.indices, (2 * h, 2 * w))[0][0, 0]}
    fig, axes = plt.subplots(1, len(outs), figsize=(2.3 * len(outs), 2.8))
    for ax, (name, img) in zip(axes, outs.items()):
        ax.imshow(img, cmap="viridis", interpolation="nearest")
        ax.set_title(f"{name}\n{img.shape[0]}×{img.shape[1]}", fontsize=9)
        ax.set_axis_off()
    return fig


def plot_checkerboard(size: int = 8):
    """Stamp counts of three upsamplers on an all-ones image (see :func:`upsampling_variances`)."""
    ones = np.ones((1, 1, size, size))
    near, _ = upsample.upsample_nearest_forward(ones, 2)
    resize_conv, _ = conv.conv2d_forward(near, np.ones((1, 1, 3, 3)), np.zeros(1), padding=1)
    images = {"transposed conv\nkernel 3, stride 2": upsample.checkerboard_pattern(3, 2, size),
              "transposed conv\nkernel 4, stride 2": upsample.checkerboard_pattern(4, 2, size),
              "nearest ×2 + 3×3 conv": resize_conv[0, 0]}
    variances = upsampling_variances(size)
    fig, axes = plt.subplots(1, 3, figsize=(9.5, 3.4))
    for ax, (name, img), var in zip(axes, images.items(), variances.values()):
        im = ax.imshow(img, cmap="magma", interpolation="nearest")
        ax.set_title(f"{name}\ninterior variance {var:.2f}", fontsize=9)
        ax.set_axis_off()
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle("a constant input, upsampled: how many kernel taps land on each pixel")
    return fig


# ------------------------------------------------------------- segmentation
def train_segmenter(train: data.Shapes, steps: int, skips: bool = True, batch_size: int = 8, crop: int = IMAGE_SIZE,
                    lr: float = 3e-3, seed: int = 0, channels: Sequence[int] = UNET_CHANNELS, progress: bool = True):
    """Train a :class:`segmentation.UNet` (``skips=False``: the same net without skips) to tell shape from background.

    Binary cross-entropy on every pixel, Adam with a cosine schedule over ``steps``, batches of
    ``batch_size`` random ``crop``×``crop`` windows of training images (one window position per batch;
    the default trains on whole images; a fully convolutional net can also learn from smaller crops).
    Returns ``(model, history)`` (``training.train_steps``).
    """
    torch.manual_seed(seed)
    model = segmentation.UNet(channels, skips=skips)
    opt, sched = _adam_cosine(model, lr, steps)
    next_batch = _random_crops(train.images, (train.masks > 0)[:, None], batch_size, crop, seed)
    history = training.train_steps(model, next_batch, torch.nn.functional.binary_cross_entropy_with_logits, opt, steps,
                                 scheduler=sched, device="cpu", progress=progress)
    return model, history


@torch.no_grad()
def predict_masks(model: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """Boolean masks ``(n, H, W)``: where the model's logit is positive."""
    model.eval()
    return (model(torch.as_tensor(images, dtype=torch.float32))[:, 0] > 0).numpy()


def segmentation_scores(pred: np.ndarray, shapes: data.Shapes) -> dict[str, float]:
    """Mean IoU (background and shape, over the whole set) and the mean per-image IoU of the shapes."""
    target = shapes.masks > 0
    return {"mean_iou": segmentation.mean_iou(pred, target),
            "per_image_iou": float(segmentation.iou_per_image(pred, target).mean())}


def plot_segmentations(shapes: data.Shapes, predictions: dict[str, np.ndarray], n: int = 6):
    """Images, true masks and each model's predicted masks (rows), for the first ``n`` images (columns)."""
    rows = 2 + len(predictions)
    fig, axes = plt.subplots(rows, n, figsize=(1.5 * n, 1.55 * rows))
    names = ["image", "true mask", *predictions]
    for i in range(n):
        axes[0, i].imshow(shapes.images[i].transpose(1, 2, 0))
        axes[1, i].imshow(shapes.masks[i] > 0, cmap="gray")
        for r, pred in enumerate(predictions.values(), start=2):
            iou = segmentation.iou_per_image(pred[i:i + 1], shapes.masks[i:i + 1] > 0)[0]
            axes[r, i].imshow(pred[i], cmap="gray")
            axes[r, i].set_title(f"IoU {iou:.2f}", fontsize=8)
    for r, ax_row in enumerate(axes):
        for ax in ax_row:
            ax.set_xticks([])
            ax.set_yticks([])
        ax_row[0].set_ylabel(names[r], fontsize=9)
    return fig


# ---------------------------------------------------------- sliding windows
def window_classifier(rng: np.random.Generator, n_classes: int = 4, filters: int = 6) -> dict[str, np.ndarray]:
    """Random weights of a tiny CNN for 8×8 windows: 3×3 conv (valid) → ReLU → 2×2 max pool → fully connected.

    8×8 → conv → 6×6 → pool → 3×3, so the fully connected layer sees ``filters·3·3`` numbers.
    """
    return {"w1": rng.normal(0, 0.5, (filters, 3, 3, 3)), "b1": rng.normal(0, 0.1, filters),
            "w2": rng.normal(0, 0.3, (n_classes, filters * 9)), "b2": rng.normal(0, 0.1, n_classes)}


def _features(x: np.ndarray, params: dict) -> np.ndarray:
    h, _ = conv.conv2d_forward(x, params["w1"], params["b1"])
    h = np.maximum(h, 0)
    return conv.max_pool2d_forward(h, 2)[0]


def classify_windows(crops: np.ndarray, params: dict) -> np.ndarray:
    """Scores ``(m, K)`` of 8×8 crops ``(m, 3, 8, 8)`` by the tiny CNN of :func:`window_classifier`."""
    h = _features(crops, params)
    return h.reshape(len(crops), -1) @ params["w2"].T + params["b2"]


def window_scores_by_sliding(image: np.ndarray, params: dict, stride: int = 2) -> np.ndarray:
    """The classifier run on every 8×8 crop of ``image (3, H, W)``, ``stride`` apart: ``(K, rows, cols)``."""
    return detection.sliding_window_scores(image, lambda c: classify_windows(c, params), 8, stride)


def windows_per_feature(size: int = IMAGE_SIZE, window: int = 8, stride: int = 2, kernel: int = 3) -> np.ndarray:
    """How many sliding windows compute each first-layer feature: ``(size - kernel + 1,)`` squared counts.

    A window's ``kernel``×``kernel`` valid convolution covers ``window - kernel + 1`` positions
    each way; windows ``stride`` apart overlap, so sliding computes a feature once per window
    that contains it, where the convolutional version computes it once.
    """
    counts = np.zeros((size - kernel + 1,) * 2, dtype=int)
    n, f = (size - window) // stride + 1, window - kernel + 1
    for i in range(n):
        for j in range(n):
            counts[i * stride:i * stride + f, j * stride:j * stride + f] += 1
    return counts


def window_scores_by_convolution(image: np.ndarray, params: dict) -> np.ndarray:
    """The same scores in one pass: the fully connected layer becomes a 3×3 convolution on the pooled map.

    Reshaping ``w2 (K, F·3·3)`` to ``(K, F, 3, 3)`` turns "dot product with the 3×3×F
    block" into "convolution with a 3×3 kernel"; applied to the whole image's pooled
    features it evaluates every window at once, windows 2 pixels apart (the pooling stride).
    """
    h = _features(image[None], params)
    k = params["w2"].reshape(len(params["b2"]), -1, 3, 3)
    return conv.conv2d_forward(h, k, params["b2"])[0][0]


# ---------------------------------------------------------------- detection
def detection_targets(shapes: data.Shapes) -> np.ndarray:
    """``(n, A, S, S, 6)`` training targets of all images (``detection.match_anchors``)."""
    return np.stack([detection.match_anchors(b, lab, GRID, CELL, ANCHOR_WH) for b, lab in zip(shapes.boxes, shapes.labels)])


def train_detector(train: data.Shapes, steps: int, batch_size: int = 16, lr: float = 3e-3, seed: int = 0,
                   progress: bool = True):
    """Train a :class:`detection.GridDetector` with ``detection.grid_detector_loss``; returns ``(model, history)``."""
    torch.manual_seed(seed)
    model = detection.GridDetector(n_anchors=len(ANCHOR_WH), n_classes=len(data.SHAPE_NAMES))
    opt, sched = _adam_cosine(model, lr, steps)
    next_batch = _batches([train.images, detection_targets(train)], batch_size, seed)
    history = training.train_steps(model, next_batch, detection.grid_detector_loss, opt, steps, scheduler=sched,
                                 device="cpu", progress=progress)
    return model, history


@torch.no_grad()
def raw_outputs(model: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """The detector's raw outputs ``(n, A, S, S, 5 + C)`` as a NumPy array."""
    model.eval()
    return model(torch.as_tensor(images, dtype=torch.float32)).numpy().astype(np.float64)


def ground_truth(shapes: data.Shapes) -> list[tuple]:
    return list(zip(shapes.boxes, shapes.labels))


def detector_map(raw: np.ndarray, shapes: data.Shapes, iou_threshold: float = 0.5,
                 nms_threshold: float = 0.5, score_threshold: float = 0.05) -> tuple[float, np.ndarray]:
    """mAP at ``iou_threshold`` (and per-class AP) of the detections decoded from ``raw`` after per-class NMS."""
    found = detection.detect(raw, CELL, ANCHOR_WH, nms_threshold, score_threshold)
    return detection.mean_average_precision(found.as_tuples(), ground_truth(shapes), len(data.SHAPE_NAMES),
                                            iou_threshold)


def centre_detections(shapes: data.Shapes, side: float = 10.0) -> list[tuple]:
    """Negative control: one box of each class, ``side`` pixels wide, at the centre of every image."""
    c = IMAGE_SIZE / 2
    box = np.array([[c - side / 2, c - side / 2, c + side / 2, c + side / 2]] * 3)
    return [(box, np.ones(3), np.arange(3)) for _ in range(len(shapes))]


def random_detections(shapes: data.Shapes, rng: np.random.Generator, per_image: int = 5) -> list[tuple]:
    """Negative control: ``per_image`` random boxes of random sizes, classes and scores per image."""
    out = []
    for _ in range(len(shapes)):
        wh = rng.uniform(5, 15, (per_image, 2))
        xy = rng.uniform(0, IMAGE_SIZE - wh)
        out.append((np.concatenate([xy, xy + wh], 1), rng.uniform(size=per_image), rng.integers(0, 3, per_image)))
    return out


def _draw_boxes(ax, boxes, classes, scores=None, dashed=False):
    for t, (b, c) in enumerate(zip(boxes, classes)):
        colour = plotting.COLORS[int(c) % len(plotting.COLORS)]
        ax.add_patch(plt.Rectangle((b[0] - 0.5, b[1] - 0.5), b[2] - b[0], b[3] - b[1], fill=False, lw=1.6,
                                   ls="--" if dashed else "-", color="white" if dashed else colour))
        if scores is not None:
            ax.text(b[0] - 0.5, b[1] - 1, f"{data.SHAPE_NAMES[int(c)][:3]} {scores[t]:.2f}", color=colour, fontsize=7,
                    bbox=dict(facecolor="white", alpha=0.7, pad=0.5, lw=0))


def plot_detections(shapes: data.Shapes, found: detection.Detections | None = None, n: int = 6):
    """Images with their ground-truth boxes (white, dashed) and, if given, the detections (coloured, with scores)."""
    fig, axes = plt.subplots(1, n, figsize=(2.0 * n, 2.3))
    for i, ax in enumerate(axes):
        ax.imshow(shapes.images[i].transpose(1, 2, 0))
        _draw_boxes(ax, shapes.boxes[i], shapes.labels[i], dashed=True)
        if found is not None:
            _draw_boxes(ax, found.boxes[i], found.classes[i], found.scores[i])
        else:
            ax.set_title(", ".join(data.SHAPE_NAMES[int(c)] for c in shapes.labels[i]), fontsize=7)
        ax.set_axis_off()
    fig.suptitle("dashed: ground truth; coloured: detections (class, score)" if found is not None
                 else "generated images with their true boxes (dashed) and labels")
    return fig


def nms_drawer(images: np.ndarray, raw: np.ndarray, shapes: data.Shapes) -> Callable[..., object]:
    """The widget's frame function over precomputed raw outputs: ``draw(iou_threshold, score_threshold, image)``.

    Left: every decoded box scoring at least ``score_threshold`` (before NMS); right: the
    boxes per-class NMS keeps at ``iou_threshold``, with the ground truth dashed.
    """
    decoded = [detection.decode_predictions(r, CELL, ANCHOR_WH) for r in raw]

    @frame
    def draw_nms(iou_threshold: float = 0.5, score_threshold: float = 0.3, image: int = 0):
        if not 0 <= image < len(decoded):
            raise ValueError(f"image must be between 0 and {len(decoded) - 1}, got {image}")
        if not (0 < iou_threshold <= 1 and 0 <= score_threshold <= 1):
            raise ValueError("the IoU threshold must be in (0, 1] and the score threshold in [0, 1]")
        boxes, scores, classes = decoded[image]
        above = scores >= score_threshold
        keep = detection.nms_per_class(boxes, scores, classes, iou_threshold, score_threshold)
        fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.6))
        fig.set_layout_engine("none")
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.84, wspace=0.05)
        for ax, idx, title in ((axes[0], np.flatnonzero(above), f"before NMS: {above.sum()} boxes ≥ {score_threshold:.2f}"),
                               (axes[1], keep, f"after NMS (IoU > {iou_threshold:.2f} suppressed): {len(keep)}")):
            ax.imshow(images[image].transpose(1, 2, 0))
            _draw_boxes(ax, shapes.boxes[image], shapes.labels[image], dashed=True)
            _draw_boxes(ax, boxes[idx], classes[idx], None if ax is axes[0] else scores[idx])
            ax.set_title(title, fontsize=9)
            ax.set_axis_off()
        if not above.any():
            plotting.show_message(axes[1], "no box scores this high:\nlower the score threshold", kind="info")
        return fig

    return draw_nms


# ---------------------------------------------------------- exercise checks
def _random_box(rng):
    xy = rng.uniform(0, 20, 2)
    return np.concatenate([xy, xy + rng.uniform(1, 12, 2)])


def check_iou(fn: Callable, trials: int = 8) -> checks.CheckResult:
    """Implement: ``fn(a, b) -> float``, the IoU of two boxes ``(x1, y1, x2, y2)``; trials include disjoint and nested boxes."""
    kinds = iter(["overlap", "disjoint", "nested", "overlap", "touching", "overlap", "overlap", "same"] * 4)

    def make_inputs(rng):
        a, kind = _random_box(rng), next(kinds)
        if kind == "disjoint":
            b = a + np.array([30, 0, 30, 0])
        elif kind == "nested":
            b = np.array([a[0] + 0.2, a[1] + 0.2, a[2] - 0.2, a[3] - 0.2])
        elif kind == "touching":
            b = np.array([a[2], a[1], a[2] + 3, a[3]])
        elif kind == "same":
            b = a.copy()
        else:
            b = a + rng.uniform(-4, 4, 4)
            b[2:] = np.maximum(b[2:], b[:2] + 0.5)
        return (a, b)

    return checks.check_function(fn, lambda a, b: float(detection.iou_loops(a[None], b[None])[0, 0]), make_inputs,
                                 name="iou", trials=trials)


#: the predict-then-run exercise: two 4×4 boxes offset by (2, 2)
PREDICT_BOXES = (np.array([0.0, 0.0, 4.0, 4.0]), np.array([2.0, 2.0, 6.0, 6.0]))


def check_iou_prediction(prediction) -> checks.CheckResult:
    """Predict-then-run: the IoU of :data:`PREDICT_BOXES` (1/7)."""
    a, b = PREDICT_BOXES
    actual = float(detection.iou_matrix(a[None], b[None])[0, 0])
    hint = ("the overlap is the 2×2 square from (2, 2) to (4, 4), area 4, but the union is 16 + 16 − 4 = 28, not 16: "
            f"IoU = 4/28 = {actual:.3f}. Shifting a box by half its width leaves far less than half the IoU")
    return checks.check_value(prediction, actual, name="your prediction", rtol=0, atol=0.02, hint=hint)


def check_nms_per_class(fn: Callable, trials: int = 8) -> checks.CheckResult:
    """Debug: ``fn(boxes, scores, classes, iou_threshold) -> kept indices``, best score first, per class.

    Trials have overlapping boxes of different classes (a wrong answer suppresses across classes)
    and scores in random order (a wrong answer forgets to sort).
    """
    def make_inputs(rng):
        base = np.array([_random_box(rng) for _ in range(4)])
        boxes = np.concatenate([base, base + rng.uniform(-1, 1, base.shape), base + rng.uniform(-1, 1, base.shape)])
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        classes = rng.integers(0, 3, len(boxes))
        return (boxes, rng.permutation(len(boxes)) / len(boxes) + 0.01, classes, 0.5)

    return checks.check_function(fn, detection.nms_per_class, make_inputs, name="nms_per_class", trials=trials)


#: the derive-then-check exercise: a 7×7 map, kernel 3, stride 2, padding 1, output padding 1
TRANSPOSED_SETTING = dict(n=7, kernel=3, stride=2, padding=1, output_padding=1)


def check_transposed_size(answer) -> checks.CheckResult:
    """Derive-then-check: the output side of a transposed convolution with :data:`TRANSPOSED_SETTING`."""
    exact = upsample.conv_transpose_output_size(**TRANSPOSED_SETTING)
    hint = ("stamps start stride = 2 apart: (7 − 1)·2 = 12, the last stamp adds kernel − 1 = 2 more and the first "
            "pixel 1 (15), padding crops 1 from each side (13), output padding adds 1: 14, exactly twice the input")
    return checks.check_value(answer, exact, name="output size", rtol=0, atol=0, hint=hint)
