"""Similarity learning and style statistics: contrastive and triplet losses, mining, verification, Gram matrices.

Contract:

- Embeddings are rows ``(n, d)``; distances are Euclidean, ``d(a, b) = ‖a − b‖₂``.
- Losses that are layers keep the layer contract of :mod:`course_utils.scratch.layers`:
  ``<name>_forward(inputs…, **options) -> (mean loss, cache)`` and
  ``<name>_backward(dout, cache) -> (d input_1, …)`` (``dout`` is the scalar gradient of
  whatever comes after, 1.0 at the top). Each is equal to its torch twin forward and
  backward in ``tests/unit/scratch/test_similarity.py``:

  * :func:`triplet_loss_forward`: ``mean(max(0, d(a, p) − d(a, n) + margin))`` for rows of
    anchors ``a``, positives ``p`` (same identity) and negatives ``n`` (another one), as
    ``torch.nn.TripletMarginLoss`` (which adds ``eps = 1e-6`` to each difference before the
    norm); ``squared=True`` uses ``d²``, as in FaceNet (Schroff et al., 2015).
  * :func:`contrastive_loss_forward`: ``mean(s·d² + (1 − s)·max(0, margin − d)²)`` for pairs
    ``(x1, x2)`` with ``s = 1`` for "same" and 0 for "different" (Hadsell, Chopra & LeCun, 2006).
  * :func:`gram_forward`: the Gram matrix of feature maps ``F (N, C, H, W)``,
    ``G[c, c'] = Σ_positions F[c]·F[c'] / (H·W)``: which channels fire together, with every
    trace of *where* averaged away: the "style" statistic of Gatys, Ecker & Bethge (2016).

- Mining inside a batch (Hermans, Beyer & Leibe, 2017), in torch, for training:
  :func:`batch_hard_triplet_loss` (each anchor with its farthest positive and nearest
  negative) and :func:`batch_all_triplet_loss` (every valid triplet, averaged over those
  with a positive loss); :func:`batch_hard_loops` and :func:`batch_all_loops` are the
  NumPy definitions by loops they are tested against; :func:`hardest_triplets` finds the
  batch-hard partners without loops.
- Verification: :func:`pair_distances`, :func:`best_threshold` (chosen on validation pairs) and
  :func:`verification_accuracy`; :func:`make_pairs` draws balanced same/different pairs.
- Networks: :class:`EmbeddingNet` (a small CNN whose outputs lie on the unit sphere) and
  :class:`RandomTextureNet` (untrained convolutions at several scales, the feature
  extractor of the style-transfer section); :func:`style_transfer` optimises an image
  with L-BFGS and returns a :class:`StyleTransferResult`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ..base import progress

#: what torch's pairwise_distance adds to every difference (so that d is never exactly 0)
TORCH_EPS = 1e-6


# ----------------------------------------------------------- triplet loss
class TripletCache(NamedTuple):
    diff_p: np.ndarray
    diff_n: np.ndarray
    d_p: np.ndarray
    d_n: np.ndarray
    active: np.ndarray
    squared: bool


def triplet_loss_forward(a: np.ndarray, p: np.ndarray, n: np.ndarray, margin: float = 1.0, squared: bool = False,
                         eps: float = TORCH_EPS):
    """Mean triplet loss of rows ``a, p, n (m, d)``: ``max(0, d(a, p) − d(a, n) + margin)`` averaged.

    ``d(x, y) = ‖x − y + eps‖₂`` (torch's convention), or its square with ``squared=True``.
    A triplet whose negative is already ``margin`` farther than its positive costs nothing.
    """
    if not a.shape == p.shape == n.shape or a.ndim != 2:
        raise ValueError(f"a, p and n need the same shape (m, d); got {a.shape}, {p.shape}, {n.shape}")
    diff_p, diff_n = a - p + eps, a - n + eps
    d_p, d_n = np.linalg.norm(diff_p, axis=1), np.linalg.norm(diff_n, axis=1)
    if squared:
        gap = d_p ** 2 - d_n ** 2 + margin
    else:
        gap = d_p - d_n + margin
    active = gap > 0
    return float(np.mean(np.where(active, gap, 0.0))), TripletCache(diff_p, diff_n, d_p, d_n, active, squared)


def triplet_loss_backward(dout: float, cache: TripletCache):
    """Returns ``(da, dp, dn)``: only active triplets (loss > 0) pull, each by the unit
    vectors along ``a − p`` and ``a − n`` (times ``2d`` when squared), over ``m``."""
    diff_p, diff_n, d_p, d_n, active, squared = cache
    scale = float(dout) * active[:, None] / len(active)
    if squared:
        gp, gn = 2 * diff_p, 2 * diff_n
    else:
        gp, gn = diff_p / d_p[:, None], diff_n / d_n[:, None]
    return scale * (gp - gn), -scale * gp, scale * gn


# ------------------------------------------------------- contrastive loss
class ContrastiveCache(NamedTuple):
    diff: np.ndarray
    d: np.ndarray
    same: np.ndarray
    margin: float


def contrastive_loss_forward(x1: np.ndarray, x2: np.ndarray, same: np.ndarray, margin: float = 1.0):
    """Mean contrastive loss of pairs of rows ``x1, x2 (m, d)`` with ``same (m,)`` in {0, 1}.

    A "same" pair costs ``d²`` (pull together); a "different" pair costs
    ``max(0, margin − d)²`` (push apart, but only until it is ``margin`` away).
    ``d = sqrt(‖x1 − x2‖² + 1e-12)`` so that the gradient exists at ``d = 0``.
    """
    same = np.asarray(same, dtype=float)
    if x1.shape != x2.shape or x1.ndim != 2 or same.shape != (len(x1),):
        raise ValueError(f"need x1, x2 of shape (m, d) and same of shape (m,); got {x1.shape}, {x2.shape}, {same.shape}")
    diff = x1 - x2
    d = np.sqrt(np.sum(diff ** 2, axis=1) + 1e-12)
    per_pair = same * d ** 2 + (1 - same) * np.maximum(0.0, margin - d) ** 2
    return float(np.mean(per_pair)), ContrastiveCache(diff, d, same, margin)


def contrastive_loss_backward(dout: float, cache: ContrastiveCache):
    """Returns ``(dx1, dx2)``: ``∂/∂d`` is ``2d`` for same pairs and ``−2·max(0, margin − d)`` for
    different ones, and ``∂d/∂x1 = (x1 − x2)/d``."""
    diff, d, same, margin = cache
    dd = same * 2 * d - (1 - same) * 2 * np.maximum(0.0, margin - d)
    g = float(dout) * (dd / d)[:, None] * diff / len(d)
    return g, -g


# ----------------------------------------------------------- Gram matrix
def gram_forward(features: np.ndarray):
    """Gram matrices ``(N, C, C)`` of feature maps ``(N, C, H, W)``: ``G = F Fᵀ / (H·W)`` with ``F`` the
    features flattened to ``(C, H·W)``. Entry ``(c, c')`` is the average over positions of the
    product of channels ``c`` and ``c'``."""
    if features.ndim != 4:
        raise ValueError(f"gram_forward needs feature maps (N, C, H, W), got shape {features.shape}")
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(0, 2, 1) / (h * w), (flat, features.shape)


def gram_backward(dout: np.ndarray, cache):
    """``dF = (dG + dGᵀ) F / (H·W)``: each feature appears in a row and a column of ``G``."""
    flat, shape = cache
    return ((dout + dout.transpose(0, 2, 1)) @ flat / (shape[2] * shape[3])).reshape(shape)


def gram_torch(features: torch.Tensor) -> torch.Tensor:
    """:func:`gram_forward` in torch (differentiable), for the style-transfer loop."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


# ----------------------------------------------------------------- mining
def pairwise_distances(e):
    """Euclidean distances between all rows of ``e (n, d)``: ``(n, n)`` (NumPy or torch).

    Uses ``‖a‖² + ‖b‖² − 2a·b`` clipped at a tiny positive number before the square root, so the
    gradient stays finite on the diagonal.
    """
    sq = (e * e).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2 * e @ e.T
    return (d2.clip(min=1e-12)) ** 0.5


def hardest_triplets(dist: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batch-hard partners for every anchor: ``(farthest positive, nearest negative)`` indices ``(n,)`` each.

    ``dist (n, n)`` are the distances within the batch. An anchor is never its own
    positive; every label must occur at least twice and not every label may be the same.
    """
    labels = np.asarray(labels)
    same = labels[:, None] == labels[None, :]
    positive = same & ~np.eye(len(labels), dtype=bool)
    if not positive.any(axis=1).all() or same.all():
        raise ValueError("every label needs at least two examples in the batch, and at least two labels are needed")
    pos = np.where(positive, dist, -np.inf).argmax(axis=1)
    neg = np.where(same, np.inf, dist).argmin(axis=1)
    return pos, neg


def batch_hard_loops(emb: np.ndarray, labels: np.ndarray, margin: float) -> float:
    """Batch-hard triplet loss by its definition (loops): mean over anchors of
    ``max(0, max_positive d − min_negative d + margin)``."""
    n, total = len(emb), 0.0
    for i in range(n):
        d = [float(np.linalg.norm(emb[i] - emb[j])) for j in range(n)]
        hardest_pos = max(d[j] for j in range(n) if j != i and labels[j] == labels[i])
        hardest_neg = min(d[j] for j in range(n) if labels[j] != labels[i])
        total += max(0.0, hardest_pos - hardest_neg + margin)
    return total / n


def batch_all_loops(emb: np.ndarray, labels: np.ndarray, margin: float) -> float:
    """Batch-all triplet loss by its definition: the mean loss of the valid triplets whose loss is positive
    (0 if none is)."""
    n, losses = len(emb), []
    for a in range(n):
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            for q in range(n):
                if labels[q] != labels[a]:
                    loss = np.linalg.norm(emb[a] - emb[p]) - np.linalg.norm(emb[a] - emb[q]) + margin
                    if loss > 0:
                        losses.append(loss)
    return float(np.mean(losses)) if losses else 0.0


def batch_hard_triplet_loss(emb: torch.Tensor, labels: torch.Tensor, margin: float | None = 0.2) -> torch.Tensor:
    """Batch-hard triplet loss in torch: every anchor against its farthest positive and nearest negative.

    ``margin=None`` uses the *soft margin* ``log(1 + exp(d_p − d_n))`` instead of
    ``max(0, d_p − d_n + margin)`` (Hermans et al.): it never reaches 0 and keeps pushing.
    """
    d = pairwise_distances(emb)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=emb.device)
    hardest_pos = torch.where(same & ~eye, d, torch.zeros_like(d)).max(dim=1).values
    hardest_neg = torch.where(same, torch.full_like(d, float("inf")), d).min(dim=1).values
    if margin is None:
        return nn.functional.softplus(hardest_pos - hardest_neg).mean()
    return torch.relu(hardest_pos - hardest_neg + margin).mean()


def batch_all_triplet_loss(emb: torch.Tensor, labels: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """Batch-all triplet loss in torch: every valid ``(a, p, n)``, averaged over the triplets with loss > 0."""
    d = pairwise_distances(emb)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=emb.device)
    valid = (same & ~eye)[:, :, None] & ~same[:, None, :]                  # [a, p, n]
    loss = torch.relu(d[:, :, None] - d[:, None, :] + margin) * valid
    n_positive = (loss > 0).sum()
    return loss.sum() / n_positive.clamp(min=1)


# ----------------------------------------------------------- verification
def make_pairs(labels: np.ndarray, n_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n_pairs`` index pairs ``(i, j, same)``, half of them of the same label, half of different labels."""
    labels = np.asarray(labels)
    by_label = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    classes = np.array(sorted(by_label))
    half = n_pairs // 2
    c_same = rng.choice(classes, half)
    i_s = np.array([rng.choice(by_label[c], 2, replace=False) for c in c_same]).reshape(-1, 2)
    c_diff = np.array([rng.choice(classes, 2, replace=False) for _ in range(n_pairs - half)]).reshape(-1, 2)
    i_d = np.array([[rng.choice(by_label[a]), rng.choice(by_label[b])] for a, b in c_diff]).reshape(-1, 2)
    pairs = np.concatenate([i_s, i_d])
    same = np.concatenate([np.ones(len(i_s)), np.zeros(len(i_d))]).astype(np.int64)
    return pairs[:, 0], pairs[:, 1], same


def pair_distances(emb: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Distances ``‖emb[i] − emb[j]‖`` of index pairs."""
    return np.linalg.norm(np.asarray(emb)[i] - np.asarray(emb)[j], axis=1)


def verification_accuracy(dist: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Share of pairs judged right when "same" means ``dist < threshold``."""
    return float(np.mean((np.asarray(dist) < threshold) == (np.asarray(same) == 1)))


def best_threshold(dist: np.ndarray, same: np.ndarray) -> float:
    """The distance threshold with the best :func:`verification_accuracy` on these (validation) pairs.

    Candidates are the midpoints between consecutive sorted distances (and the two ends).
    """
    d = np.sort(np.asarray(dist, dtype=float))
    candidates = np.concatenate([[d[0] - 1e-9], (d[1:] + d[:-1]) / 2, [d[-1] + 1e-9]])
    accs = [(verification_accuracy(dist, same, t), -i) for i, t in enumerate(candidates)]
    return float(candidates[-max(accs)[1]])


# --------------------------------------------------------------- networks
class EmbeddingNet(nn.Module):
    """Images ``(n, 1, 28, 28)`` → embeddings ``(n, dim)`` of length 1.

    Two conv-ReLU-max-pool blocks (``channels``), a hidden layer of ``hidden`` units and a
    linear map to ``dim`` numbers, divided by their norm (unless ``normalize=False``): distances
    between embeddings then lie in ``[0, 2]`` and a margin has a fixed meaning.
    """

    def __init__(self, channels: Sequence[int] = (32, 64), hidden: int = 128, dim: int = 32, side: int = 28,
                 normalize: bool = True):
        super().__init__()
        self.normalize = normalize
        c1, c2 = channels
        self.features = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(c2 * (side // 4) ** 2, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.features(x))
        return nn.functional.normalize(out, dim=1) if self.normalize else out


class RandomTextureNet(nn.Module):
    """Untrained convolutions at several scales, then ReLU: a feature extractor for texture statistics.

    One convolution per kernel size in ``kernels`` with ``filters`` random filters each
    (``padding`` keeps the image size). Ustyuzhaninov, Brendel, Gatys & Bethge (ICLR 2017)
    showed that Gram matrices of such *random* multi-scale features already capture
    textures well. The weights come from a seeded generator and are never trained.
    """

    def __init__(self, kernels: Sequence[int] = (3, 5, 7, 11), filters: int = 128, channels: int = 3, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.convs = nn.ModuleList()
        for k in kernels:
            conv = nn.Conv2d(channels, filters, k, padding=k // 2)
            bound = 1 / np.sqrt(channels * k * k)
            with torch.no_grad():
                conv.weight.copy_((torch.rand(conv.weight.shape, generator=g) * 2 - 1) * bound)
                conv.bias.zero_()
            conv.requires_grad_(False)
            self.convs.append(conv)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = x - 0.5                                     # centre the pixels so that ReLU cuts in the middle
        return [torch.relu(conv(x)) for conv in self.convs]


@dataclass
class StyleTransferResult:
    """What :func:`style_transfer` returns: the image ``(3, H, W)`` in ``[0, 1]`` and, per L-BFGS
    evaluation, the style and content losses (unweighted)."""

    image: np.ndarray
    style_losses: list = field(default_factory=list)
    content_losses: list = field(default_factory=list)
    diverged: bool = False
    message: str = ""

    @property
    def evaluations(self) -> int:
        return len(self.style_losses)


def style_loss(features: list[torch.Tensor], style_grams: list[torch.Tensor]) -> torch.Tensor:
    """Sum over layers of ``‖G(x) − G(style)‖² / ‖G(style)‖²`` (squared Frobenius norms).

    Dividing by the target's own size makes every layer count alike and the loss
    scale-free: 1 means "as far from the style as an all-zero Gram matrix".
    """
    return sum(((gram_torch(f) - g) ** 2).sum() / (g ** 2).sum() for f, g in zip(features, style_grams))


def content_loss(feature: torch.Tensor, content_feature: torch.Tensor) -> torch.Tensor:
    """``‖F(x) − F(content)‖² / ‖F(content)‖²`` on one layer's feature maps (scale-free, like :func:`style_loss`)."""
    return ((feature - content_feature) ** 2).sum() / (content_feature ** 2).sum()


def style_transfer(content: np.ndarray, style: np.ndarray, net: nn.Module, steps: int = 8,
                   content_weight: float = 0.2, style_weight: float = 1.0, content_layer: int = 0,
                   init: np.ndarray | None = None, max_iter: int = 10, show_progress: bool = True) -> StyleTransferResult:
    """Optimise an image so that its Gram matrices match ``style``'s and its features stay close to ``content``'s.

    Images are ``(3, H, W)`` arrays in ``[0, 1]``. The objective is
    ``style_weight · style_loss + content_weight · content_loss`` (content on layer
    ``content_layer`` of ``net``); starting from ``init`` (default: the content image),
    ``steps`` rounds of ``torch.optim.LBFGS`` (``max_iter`` iterations each, so at most ``max_iter · 5/4``
    function evaluations: PyTorch's default ``max_eval``; strong-Wolfe line
    search) run, and the pixels are clamped to ``[0, 1]`` between rounds.
    """
    def tensor(a):
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)[None]

    with torch.no_grad():
        style_grams = [gram_torch(f) for f in net(tensor(style))]
        content_feature = net(tensor(content))[content_layer]
    x = tensor(content if init is None else init).clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")
    result = StyleTransferResult(image=np.zeros(0))

    def closure():
        opt.zero_grad()
        feats = net(x)
        s, c = style_loss(feats, style_grams), content_loss(feats[content_layer], content_feature)
        loss = style_weight * s + content_weight * c
        loss.backward()
        result.style_losses.append(float(s.detach()))
        result.content_losses.append(float(c.detach()))
        return loss

    for _ in progress(range(steps), desc="style transfer", unit="round", show=show_progress):
        opt.step(closure)
        with torch.no_grad():
            x.clamp_(0, 1)
        if not np.isfinite(result.style_losses[-1]):
            result.diverged, result.message = True, "the loss became NaN or infinite"
            break
    result.image = x.detach()[0].numpy()
    return result
