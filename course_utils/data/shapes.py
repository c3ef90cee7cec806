"""Images of circles, squares and triangles with masks and boxes (chapters 12 and 13)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import _check_n, _check_noise

# ------------------------------------------------------------- shapes images
#: the object classes of :func:`make_shapes`, in label order
SHAPE_NAMES = ("circle", "square", "triangle")


@dataclass(frozen=True)
class Shapes:
    """Images of shapes with their annotations, from :func:`make_shapes`.

    - ``images (n, 3, H, W)``: RGB in ``[0, 1]``, channels first and float32 (as torch wants them).
    - ``masks (n, H, W)``: the class of every pixel, ``0`` for background and
      ``1 + c`` for shape class ``c`` (``SHAPE_NAMES[c]``) of the shape on top.
    - ``instances (n, H, W)``: ``0`` for background, ``k + 1`` for the ``k``-th object of the image.
    - ``boxes``: per image, a ``(k, 4)`` array of ``(x1, y1, x2, y2)`` in pixels, the tight
      box of the object's visible pixels; pixel ``(row i, column j)`` covers
      ``[j, j + 1) × [i, i + 1)``, so a box's width is ``x2 − x1`` pixels.
    - ``labels``: per image, the ``(k,)`` shape classes ``0 … 2``.
    """

    images: np.ndarray
    masks: np.ndarray
    instances: np.ndarray
    boxes: list
    labels: list

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, idx) -> Shapes:
        """The images ``idx`` (an index array or a slice) with their annotations."""
        idx = np.arange(len(self))[idx]
        return Shapes(self.images[idx], self.masks[idx], self.instances[idx],
                      [self.boxes[i] for i in idx], [self.labels[i] for i in idx])


def _shape_pixels(kind: np.ndarray, cx: np.ndarray, cy: np.ndarray, r: np.ndarray, size: int) -> np.ndarray:
    """Boolean masks ``(m, size, size)`` of one shape per row (pixel centres at ``j + ½, i + ½``)."""
    c = np.arange(size, dtype=np.float32) + 0.5
    x, y = c[None, None, :], c[None, :, None]
    cx, cy, r = (v.astype(np.float32)[:, None, None] for v in (cx, cy, r))
    circle = (x - cx) ** 2 + (y - cy) ** 2 <= r ** 2
    square = (np.abs(x - cx) <= 0.85 * r) & (np.abs(y - cy) <= 0.85 * r)      # same area scale as the circle
    top = cy - r
    triangle = (y >= top) & (y <= cy + r) & (np.abs(x - cx) <= 0.6 * (y - top))  # apex up, base 2.4 r wide
    k = kind[:, None, None]
    return np.where(k == 0, circle, np.where(k == 1, square, triangle))


def make_shapes(n: int, rng: np.random.Generator, size: int = 32, max_objects: int = 3,
                radius: tuple[float, float] = (3.0, 7.0), noise: float = 0.08,
                min_visible: float = 0.6, min_contrast: float = 0.35) -> Shapes:
    """``n`` noisy ``size``×``size`` images with 1 … ``max_objects`` shapes each, and their annotations.

    Each object is a circle, an axis-aligned square or a triangle of random class,
    radius (uniform in ``radius``, pixels), colour and position, drawn over the
    earlier ones; a placement that would leave an earlier object (or the new one)
    with less than ``min_visible`` of its pixels is redrawn, or the object is dropped
    after 20 tries (so every image keeps at least one object). Every shape colour differs
    from the image's background colour by at least ``min_contrast`` (Euclidean, RGB);
    pixel noise of standard deviation ``noise`` is added everywhere and the result clipped
    to ``[0, 1]``. Vectorised over images: 2,500 images of 32×32 take well under a second.
    See :class:`Shapes` for what is returned.
    """
    _check_n(n)
    _check_noise(noise)
    if size < 8 or max_objects < 1 or not 1 <= radius[0] <= radius[1] < size / 2:
        raise ValueError(f"need size >= 8, max_objects >= 1 and 1 <= radius[0] <= radius[1] < size/2; "
                         f"got size={size}, max_objects={max_objects}, radius={radius}")
    background = rng.uniform(0.2, 0.8, (n, 3))
    n_objects = rng.integers(1, max_objects + 1, n)
    instances = np.zeros((n, size, size), dtype=np.int8)
    full_area = np.zeros((n, max_objects))
    visible = np.zeros((n, max_objects))          # pixels of each object still on top
    kinds = np.full((n, max_objects), -1, dtype=np.int64)
    for k in range(max_objects):
        todo = np.flatnonzero(n_objects > k)
        for _ in range(20):
            if len(todo) == 0:
                break
            m = len(todo)
            r = rng.uniform(*radius, m)
            cx, cy = rng.uniform(r, size - r), rng.uniform(r, size - r)
            kind = rng.integers(0, len(SHAPE_NAMES), m)
            pix = _shape_pixels(kind, cx, cy, r, size)
            under = instances[todo]
            lost = np.stack([(pix & (under == j + 1)).sum(axis=(1, 2)) for j in range(k)], axis=1) \
                if k else np.zeros((m, 0))
            keeps = visible[todo, :k] - lost >= min_visible * full_area[todo, :k]   # true for absent objects (0 >= 0)
            area = pix.sum(axis=(1, 2))
            ok = keeps.all(axis=1) & (area >= 4)
            done = todo[ok]
            instances[done] = np.where(pix[ok], np.int8(k + 1), under[ok])
            visible[done, :k] -= lost[ok]
            full_area[done, k] = visible[done, k] = area[ok]
            kinds[done, k] = kind[ok]
            todo = todo[~ok]
        if k == 0 and len(todo):
            raise RuntimeError("could not place a first object; use a smaller radius")
        n_objects[todo] = np.minimum(n_objects[todo], k)   # left over after 20 tries: one object fewer
    palette = np.empty((n, max_objects + 1, 3))  # entry 0: the background; entry k + 1: object k
    palette[:, 0] = background
    for k in range(max_objects):  # colours far enough from the background
        c = rng.uniform(0, 1, (n, 3))
        for _ in range(50):
            bad = np.linalg.norm(c - background, axis=1) < min_contrast
            if not bad.any():
                break
            c[bad] = rng.uniform(0, 1, (int(bad.sum()), 3))
        palette[:, k + 1] = c
    flat = instances.astype(np.intp) + (max_objects + 1) * np.arange(n)[:, None, None]   # row of the palette
    images = np.stack([palette[:, :, ch].astype(np.float32).ravel()[flat] for ch in range(3)], axis=1)
    images += noise * rng.standard_normal(images.shape, dtype=np.float32)
    np.clip(images, 0.0, 1.0, out=images)
    kinds_bg = np.concatenate([np.full((n, 1), -1), kinds], axis=1)                 # index 0: background
    masks = 1 + kinds_bg.ravel()[flat]
    boxes, labels = [], []
    present = np.stack([(instances == k + 1) for k in range(max_objects)], axis=1)  # (n, K, H, W)
    rows_any, cols_any = present.any(axis=3), present.any(axis=2)                  # (n, K, H), (n, K, W)
    exists = rows_any.any(axis=2)
    y1, y2 = rows_any.argmax(axis=2), size - rows_any[:, :, ::-1].argmax(axis=2)
    x1, x2 = cols_any.argmax(axis=2), size - cols_any[:, :, ::-1].argmax(axis=2)
    all_boxes = np.stack([x1, y1, x2, y2], axis=2).astype(np.float64)
    for i in range(n):
        boxes.append(all_boxes[i, exists[i]])
        labels.append(kinds[i, exists[i]].astype(np.int64))
    return Shapes(images, masks.astype(np.int64), instances.astype(np.int64), boxes, labels)
