"""Object detection from scratch: boxes, IoU, non-maximum suppression, anchors, mAP, a grid detector.

Contract:

- A **box** is a row ``(x1, y1, x2, y2)`` in pixels: left, top, right, bottom, with
  ``x2 > x1`` and ``y2 > y1``; a set of boxes is an array ``(n, 4)``. ``(cx, cy, w, h)``
  (centre, width, height) is the other common layout: :func:`corners_to_centres` and
  :func:`centres_to_corners` convert.
- Overlap is the **intersection over union**, ``IoU(a, b) = |a ∩ b| / |a ∪ b|`` in
  ``[0, 1]``: :func:`iou_loops` by the definition (two loops), :func:`iou_matrix` for all
  pairs at once by broadcasting (NumPy, or torch tensors: the same code runs on both).
- :func:`nms` (greedy non-maximum suppression, one vectorised suppression per kept box)
  and :func:`nms_loops` (the plain loop) return the indices of the boxes kept, best
  score first; :func:`nms_per_class` never lets boxes of different classes suppress
  each other.
- A **grid detector** in the style of YOLO (Redmon et al., 2016; anchors as in YOLOv2,
  Redmon & Farhadi, 2017) splits a ``size``×``size`` image into ``S×S`` cells of ``cell``
  pixels; each cell has ``A`` anchor shapes ``(w, h)``, and each (cell, anchor) predicts
  ``[objectness, tx, ty, tw, th, class scores…]``. The box is
  ``cx = (col + σ(tx))·cell``, ``cy = (row + σ(ty))·cell``, ``w = w_a·e^{tw}``, ``h = h_a·e^{th}``.
  :func:`match_anchors` builds the training targets (each object goes to the cell holding
  its centre and to the anchor whose shape overlaps it best), :func:`decode_predictions`
  turns raw outputs back into boxes, scores and classes. :class:`GridDetector` and
  :func:`grid_detector_loss` are the torch model and its loss.
- :func:`average_precision` is the area under the precision–recall curve made
  monotone (all-point interpolation, as in PASCAL VOC since 2010);
  :func:`mean_average_precision` averages it over classes, a detection counting as
  correct when its IoU with a not-yet-matched ground-truth box of its class is at least
  ``iou_threshold`` (0.5: "mAP@0.5").
- :func:`sliding_window_scores` runs a classifier on every window by a loop: chapter 12
  shows that a fully convolutional network computes the same scores in one pass.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


# --------------------------------------------------------------------- boxes
def corners_to_centres(boxes):
    """``(x1, y1, x2, y2)`` rows → ``(cx, cy, w, h)`` rows (NumPy or torch)."""
    x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
    stack = torch.stack if isinstance(boxes, torch.Tensor) else np.stack
    return stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], -1)


def centres_to_corners(boxes):
    """``(cx, cy, w, h)`` rows → ``(x1, y1, x2, y2)`` rows (NumPy or torch)."""
    cx, cy, w, h = (boxes[..., i] for i in range(4))
    stack = torch.stack if isinstance(boxes, torch.Tensor) else np.stack
    return stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def box_area(boxes):
    """Areas of ``(n, 4)`` boxes; a box with ``x2 < x1`` or ``y2 < y1`` has area 0."""
    w, h = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
    return w.clip(min=0) * h.clip(min=0)


def iou_loops(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a (m, 4)`` with every box of ``b (n, 4)``, by the definition: ``(m, n)``."""
    out = np.zeros((len(a), len(b)))
    for i, (ax1, ay1, ax2, ay2) in enumerate(np.asarray(a, dtype=float)):
        for j, (bx1, by1, bx2, by2) in enumerate(np.asarray(b, dtype=float)):
            iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))     # width of the overlap (0 if none)
            ih = max(0.0, min(ay2, by2) - max(ay1, by1))
            inter = iw * ih
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def iou_matrix(a, b):
    """IoU of every box of ``a (m, 4)`` with every box of ``b (n, 4)``: ``(m, n)``, by broadcasting.

    The intersection of two boxes is the box from the larger of the two left/top edges
    to the smaller of the two right/bottom edges (empty when they cross). Works on
    NumPy arrays and torch tensors alike (and so is differentiable in torch).
    """
    maximum = torch.maximum if isinstance(a, torch.Tensor) else np.maximum
    minimum = torch.minimum if isinstance(a, torch.Tensor) else np.minimum
    lt_x = maximum(a[:, None, 0], b[None, :, 0])
    lt_y = maximum(a[:, None, 1], b[None, :, 1])
    rb_x = minimum(a[:, None, 2], b[None, :, 2])
    rb_y = minimum(a[:, None, 3], b[None, :, 3])
    inter = (rb_x - lt_x).clip(min=0) * (rb_y - lt_y).clip(min=0)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return inter / union.clip(min=1e-12)


# ----------------------------------------------------------------------- NMS
def nms_loops(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.5) -> np.ndarray:
    """Greedy non-maximum suppression, the plain way: indices kept, best score first.

    Repeat: take the best remaining box, keep it, and drop every remaining box whose
    IoU with it exceeds ``iou_threshold``.
    """
    remaining = sorted(range(len(scores)), key=lambda i: -scores[i])
    keep = []
    while remaining:
        best = remaining.pop(0)
        keep.append(best)
        remaining = [i for i in remaining if iou_loops(boxes[best:best + 1], boxes[i:i + 1])[0, 0] <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.5,
        score_threshold: float | None = None) -> np.ndarray:
    """Greedy non-maximum suppression: the indices of the boxes kept, best score first.

    Boxes scoring below ``score_threshold`` (if given) are dropped first. All pairwise
    IoUs are computed once (:func:`iou_matrix`); then, walking down the boxes sorted by
    score, each box that is still alive is kept and suppresses, in one vectorised step,
    every lower-scored box overlapping it by more than ``iou_threshold``. Equals
    :func:`nms_loops` (ties in score are broken by index, as a stable sort does).
    """
    boxes, scores = np.asarray(boxes, dtype=float), np.asarray(scores, dtype=float)
    candidates = np.arange(len(scores)) if score_threshold is None else np.flatnonzero(scores >= score_threshold)
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    overlaps = iou_matrix(boxes[order], boxes[order]) > iou_threshold
    alive = np.ones(len(order), dtype=bool)
    for i in range(len(order)):
        if alive[i]:
            alive[i + 1:] &= ~overlaps[i, i + 1:]
    return order[alive]


def nms_per_class(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float = 0.5,
                  score_threshold: float | None = None) -> np.ndarray:
    """:func:`nms` within each class separately: a circle never suppresses a square. Best score first."""
    classes = np.asarray(classes)
    kept = [np.flatnonzero(classes == c)[nms(boxes[classes == c], scores[classes == c], iou_threshold,
                                             score_threshold)] for c in np.unique(classes)]
    kept = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    return kept[np.argsort(-np.asarray(scores)[kept], kind="stable")]


# ------------------------------------------------------------------- anchors
def anchor_boxes(grid: int, cell: float, anchor_wh: np.ndarray) -> np.ndarray:
    """Every anchor as a box: ``(A, S, S, 4)``, anchor ``a`` of shape ``anchor_wh[a]`` centred in each cell."""
    anchor_wh = np.asarray(anchor_wh, dtype=float)
    centres = (np.arange(grid) + 0.5) * cell
    cy, cx = np.meshgrid(centres, centres, indexing="ij")                           # (S, S): row, column
    w, h = anchor_wh[:, 0, None, None], anchor_wh[:, 1, None, None]
    return np.stack(np.broadcast_arrays(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), axis=-1)


def shape_iou(wh: np.ndarray, anchor_wh: np.ndarray) -> np.ndarray:
    """IoU of boxes and anchors placed on the same centre (only their shapes matter): ``(n, A)``."""
    wh, anchor_wh = np.asarray(wh, dtype=float), np.asarray(anchor_wh, dtype=float)
    inter = np.minimum(wh[:, None, 0], anchor_wh[None, :, 0]) * np.minimum(wh[:, None, 1], anchor_wh[None, :, 1])
    return inter / (wh[:, None].prod(-1) + anchor_wh[None].prod(-1) - inter)


def match_anchors(boxes: np.ndarray, labels: np.ndarray, grid: int, cell: float, anchor_wh: np.ndarray) -> np.ndarray:
    """The training target of one image: ``(A, S, S, 6)`` rows ``[object?, tx, ty, tw, th, class]``.

    Each ground-truth box goes to the cell ``(row, col)`` that holds its centre and to the
    anchor ``a`` whose shape has the highest :func:`shape_iou` with it. There
    ``object = 1``, ``(tx, ty)`` is the centre's offset inside the cell in ``[0, 1)``
    (the network predicts it through a sigmoid), ``tw = log(w / w_a)``,
    ``th = log(h / h_a)`` and ``class`` is the label. Every other row is all zeros
    (``object = 0``: "no object here"). If two objects claim the same cell and anchor,
    the later one wins and the earlier one is lost: more anchors make that rarer.
    """
    anchor_wh = np.asarray(anchor_wh, dtype=float)
    target = np.zeros((len(anchor_wh), grid, grid, 6))
    if len(boxes) == 0:
        return target
    cxcywh = corners_to_centres(np.asarray(boxes, dtype=float))
    best = shape_iou(cxcywh[:, 2:], anchor_wh).argmax(axis=1)
    for (cx, cy, w, h), a, label in zip(cxcywh, best, labels):
        col, row = min(int(cx // cell), grid - 1), min(int(cy // cell), grid - 1)
        target[a, row, col] = [1.0, cx / cell - col, cy / cell - row,
                               np.log(w / anchor_wh[a, 0]), np.log(h / anchor_wh[a, 1]), label]
    return target


def decode_predictions(raw: np.ndarray, cell: float, anchor_wh: np.ndarray):
    """Raw outputs ``(A, S, S, 5 + C)`` of one image → ``(boxes (A·S·S, 4), scores, classes)``.

    ``score = σ(objectness) · softmax(class scores)[class]`` for the most likely class:
    the probability that this anchor holds an object *of that class*.
    """
    raw = np.asarray(raw, dtype=float)
    grid = raw.shape[1]
    anchor_wh = np.asarray(anchor_wh, dtype=float)
    rows, cols = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
    sig = 1 / (1 + np.exp(-raw[..., :3]))
    cx = (cols + sig[..., 1]) * cell
    cy = (rows + sig[..., 2]) * cell
    w = anchor_wh[:, 0, None, None] * np.exp(np.clip(raw[..., 3], -10, 10))
    h = anchor_wh[:, 1, None, None] * np.exp(np.clip(raw[..., 4], -10, 10))
    logits = raw[..., 5:]
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    classes = p.argmax(-1)
    scores = sig[..., 0] * p.max(-1)
    boxes = centres_to_corners(np.stack([cx, cy, w, h], -1))
    return boxes.reshape(-1, 4), scores.reshape(-1), classes.reshape(-1)


# ----------------------------------------------------------------------- mAP
def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision–recall curve with precision made non-increasing (all-point interpolation).

    ``recall`` and ``precision`` are the values after each detection, in order of
    decreasing score. Precision at recall ``r`` is taken as the best precision at any
    recall ``≥ r`` (the "envelope"), and the area is summed over the steps of recall.
    """
    r = np.concatenate([[0.0], np.asarray(recall, dtype=float), [1.0]])
    p = np.concatenate([[0.0], np.asarray(precision, dtype=float), [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]           # envelope: max precision to the right
    steps = np.flatnonzero(r[1:] != r[:-1])
    return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))


def match_detections(det_boxes: np.ndarray, det_scores: np.ndarray, gt_boxes: np.ndarray,
                     iou_threshold: float = 0.5) -> np.ndarray:
    """True positives of one image and one class: ``(n_det,)`` booleans.

    In order of decreasing score, each detection is a true positive if its best-overlapping
    ground-truth box has ``IoU >= iou_threshold`` and was not matched before; otherwise
    (a duplicate, or a box in the wrong place) it is a false positive.
    """
    tp = np.zeros(len(det_scores), dtype=bool)
    if len(gt_boxes) == 0 or len(det_scores) == 0:
        return tp
    ious = iou_matrix(np.asarray(det_boxes, dtype=float), np.asarray(gt_boxes, dtype=float))
    taken = np.zeros(len(gt_boxes), dtype=bool)
    for i in np.argsort(-np.asarray(det_scores), kind="stable"):
        j = int(np.argmax(ious[i]))
        if ious[i, j] >= iou_threshold and not taken[j]:
            tp[i] = taken[j] = True
    return tp


def mean_average_precision(detections: Sequence[tuple], ground_truth: Sequence[tuple], n_classes: int,
                           iou_threshold: float = 0.5) -> tuple[float, np.ndarray]:
    """mAP over a set of images: ``(mean over classes, per-class AP (n_classes,))``.

    ``detections[i] = (boxes, scores, classes)`` and ``ground_truth[i] = (boxes, labels)``
    for image ``i``. For each class, all its detections over all images are ranked by
    score; precision and recall are computed after each one (recall over all the
    class's ground-truth boxes) and :func:`average_precision` gives the area. A class
    without ground truth is left out of the mean (its AP is NaN).
    """
    aps = np.full(n_classes, np.nan)
    for c in range(n_classes):
        scores, tps, n_gt = [], [], 0
        for (db, ds, dc), (gb, gl) in zip(detections, ground_truth):
            db, ds, dc, gb, gl = (np.asarray(v) for v in (db, ds, dc, gb, gl))
            mine, theirs = dc == c, gl == c
            n_gt += int(theirs.sum())
            scores.append(ds[mine])
            tps.append(match_detections(db[mine].reshape(-1, 4), ds[mine], gb[theirs].reshape(-1, 4), iou_threshold))
        if n_gt == 0:
            continue
        scores, tps = np.concatenate(scores), np.concatenate(tps)
        order = np.argsort(-scores, kind="stable")
        hits = np.cumsum(tps[order])
        recall = hits / n_gt
        precision = hits / np.arange(1, len(hits) + 1)
        aps[c] = average_precision(recall, precision) if len(hits) else 0.0
    return float(np.nanmean(aps)), aps


# ------------------------------------------------------------ sliding window
def sliding_window_scores(image: np.ndarray, classify: Callable[[np.ndarray], np.ndarray], window: int,
                          stride: int) -> np.ndarray:
    """Run ``classify`` on every ``window``×``window`` crop of ``image (C, H, W)``, ``stride`` apart.

    ``classify`` maps a batch of crops ``(m, C, window, window)`` to scores ``(m, K)``;
    returns ``(K, rows, cols)``: the score map, one crop at a time.
    """
    _, h, w = image.shape
    rows, cols = (h - window) // stride + 1, (w - window) // stride + 1
    out = None
    for i in range(rows):
        for j in range(cols):
            crop = image[None, :, i * stride:i * stride + window, j * stride:j * stride + window]
            s = np.asarray(classify(crop))[0]
            if out is None:
                out = np.zeros((len(s), rows, cols))
            out[:, i, j] = s
    return out


# ------------------------------------------------------------ the detector
def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())


class GridDetector(nn.Module):
    """A small fully convolutional YOLO-style detector: image ``(n, 3, H, W)`` → raw ``(n, A, S, S, 5 + C)``.

    One conv-BN-ReLU block per entry of ``channels``, each followed by 2×2 max pooling
    (so ``S = H / 2^len(channels)``), two more blocks of ``head_channels``, and a 1×1
    convolution that predicts ``A·(5 + C)`` numbers per cell (see the module docstring).
    """

    def __init__(self, n_anchors: int = 2, n_classes: int = 3, channels: Sequence[int] = (16, 32),
                 head_channels: int = 64):
        super().__init__()
        self.n_anchors, self.n_classes = n_anchors, n_classes
        layers, c_in = [], 3
        for c in channels:
            layers += [_conv_block(c_in, c), nn.MaxPool2d(2)]
            c_in = c
        layers += [_conv_block(c_in, head_channels), _conv_block(head_channels, head_channels)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(head_channels, n_anchors * (5 + n_classes), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.body(x))                                  # (n, A·(5 + C), S, S)
        n, _, s, _ = out.shape
        return out.view(n, self.n_anchors, 5 + self.n_classes, s, s).permute(0, 1, 3, 4, 2)


def grid_detector_loss(raw: torch.Tensor, target: torch.Tensor, box_weight: float = 5.0,
                       no_object_weight: float = 0.5) -> torch.Tensor:
    """The detector's loss on raw outputs ``(n, A, S, S, 5 + C)`` and targets ``(n, A, S, S, 6)``.

    - objectness: binary cross-entropy on every (cell, anchor), the rows without an
      object weighted by ``no_object_weight`` (they are the vast majority);
    - box: squared error of ``(σ(tx), σ(ty), tw, th)`` on the rows with an object, times ``box_weight``;
    - class: cross-entropy on the rows with an object.
    Each term is averaged over the images of the batch.
    """
    obj = target[..., 0]
    n = raw.shape[0]
    bce = nn.functional.binary_cross_entropy_with_logits(raw[..., 0], obj, reduction="none")
    obj_loss = (bce * (obj + no_object_weight * (1 - obj))).sum() / n
    has = obj > 0.5
    if not has.any():
        return obj_loss
    r, t = raw[has], target[has]
    box_loss = ((torch.sigmoid(r[:, 1:3]) - t[:, 1:3]) ** 2).sum() + ((r[:, 3:5] - t[:, 3:5]) ** 2).sum()
    cls_loss = nn.functional.cross_entropy(r[:, 5:], t[:, 5].long(), reduction="sum")
    return obj_loss + (box_weight * box_loss + cls_loss) / n


@dataclass
class Detections:
    """Per image: ``boxes (k, 4)``, ``scores (k,)`` and ``classes (k,)`` after NMS."""

    boxes: list
    scores: list
    classes: list

    def as_tuples(self) -> list[tuple]:
        return list(zip(self.boxes, self.scores, self.classes))


def detect(raw: np.ndarray, cell: float, anchor_wh: np.ndarray, iou_threshold: float = 0.5,
           score_threshold: float = 0.05) -> Detections:
    """Decode a batch of raw outputs ``(n, A, S, S, 5 + C)`` and apply :func:`nms_per_class` to each image."""
    out = Detections([], [], [])
    for r in np.asarray(raw):
        boxes, scores, classes = decode_predictions(r, cell, anchor_wh)
        keep = nms_per_class(boxes, scores, classes, iou_threshold, score_threshold)
        out.boxes.append(boxes[keep])
        out.scores.append(scores[keep])
        out.classes.append(classes[keep])
    return out
