"""How good are generated samples? Distances between a set of samples and real data.

Contract: a sample set and a data set are arrays of rows; every distance returns a
float that is 0 for identical sets and grows as they differ. Compare sets of equal
size with the same reference: these distances shrink as the sets grow.

**Point sets** ``(n, d)`` (the 2-D toys of chapters 18 and 19):

- :func:`nn_distance`: symmetric mean nearest-neighbour distance.
- :func:`energy_distance`: 2 E‖a − b‖ − E‖a − a'‖ − E‖b − b'‖, zero only when the
  two distributions are equal; it sees a wrong spread that nearest neighbours miss.

**Digits** (8×8 images, pixels in ``[0, 1]``, shape ``(n, 64)``, ``(n, 8, 8)`` or
``(n, 1, 8, 8)``): a miniature FID, the course's **yardstick** for generated digits.

- :func:`gaussian_stats` and :func:`frechet_distance`: the Fréchet distance between
  Gaussians fitted to two feature sets, ‖μ₁ − μ₂‖² + tr(C₁ + C₂ − 2 (C₁^½ C₂ C₁^½)^½),
  the matrix square roots taken by symmetric eigen-decompositions.
- :class:`DigitClassifier`: a small CNN; its 64 penultimate activations are the features.
- :func:`digit_yardstick` ``(X, y, seed=0)``: splits the digits (``n_reference`` held out
  as the reference), trains the classifier on the rest, and returns a
  :class:`DigitYardstick`; cached in memory, so a kernel trains it once per seed
  (about 1 s of CPU). Every chapter calls it with the defaults on
  ``data.load_digits()``, so that the numbers of chapters 17–19 are comparable;
  generative models train on ``yardstick.train_images`` (797 digits) only.
- :meth:`DigitYardstick.score` ``(images) -> SampleScore``: the Fréchet distance to the
  held-out digits, the classifier's mean confidence and the entropy of its
  predicted classes. Numbers from different classifier seeds are not comparable:
  compare models within one yardstick, on sets of the same size (500 in chapter 19).
- :class:`TrainedSampler`: what the course's digit trainers return (the model, ``sample(n, rng)``,
  the training wall time), for one table of every generative model.
- Negative controls: :meth:`DigitYardstick.gaussian_baseline` (a Gaussian with full
  covariance fitted to the pixels, :func:`fitted_gaussian`) and :func:`blur`
  (neighbour-averaged digits) must score clearly worse than real digits.

Measured with the defaults (seed 0, 500 images per set, 4–7 draws each): real training digits
4.3–9.6; the fitted Gaussian 64–77; blurred digits 309–319; chapter 19's DDPM (500 U-Net
steps) 40–41. The classifier is right on 97.0 % of the held-out digits (97.3–97.7 % with
seeds 1 and 2); real digits get confidence 0.99 and class entropy 2.30 (ln 10 = 2.303).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .batches import minibatches
from .knn import pairwise_distances
from .metrics import accuracy

IMAGE_SHAPE = (8, 8)
N_CLASSES = 10


# ------------------------------------------------------------------ point sets
def nn_distance(A: np.ndarray, B: np.ndarray) -> float:
    """Symmetric mean nearest-neighbour distance between point sets ``A`` and ``B``.

    ½ (mean over a of min_b ‖a − b‖ + mean over b of min_a ‖a − b‖). The first term
    is small when every sample lies near data (no junk), the second when every data
    point has a sample near it (no missing regions). Compare sets of equal size.
    """
    D = pairwise_distances(np.asarray(A, float), np.asarray(B, float), "l2")
    return float(0.5 * (D.min(axis=1).mean() + D.min(axis=0).mean()))


def energy_distance(A: np.ndarray, B: np.ndarray) -> float:
    """Energy distance 2 E‖a − b‖ − E‖a − a'‖ − E‖b − b'‖ between point sets ``A`` and ``B``.

    Zero for equal distributions and positive otherwise (Székely); unlike
    :func:`nn_distance` it punishes samples spread too wide or too narrow. The
    within-set means exclude the zero diagonal (unbiased), so two samples of one
    distribution give values scattered around 0 (slightly negative is possible).
    """
    A, B = np.asarray(A, float), np.asarray(B, float)
    m, n = len(A), len(B)
    if m < 2 or n < 2:
        raise ValueError(f"need at least 2 points in each set, got {m} and {n}")
    ab = pairwise_distances(A, B, "l2").mean()
    aa = pairwise_distances(A, A, "l2").sum() / (m * (m - 1))
    bb = pairwise_distances(B, B, "l2").sum() / (n * (n - 1))
    return float(2 * ab - aa - bb)


# ------------------------------------------------------------ Fréchet distance
def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(k,)`` and covariance ``(k, k)`` (divisor n − 1) of feature rows ``(n, k)``."""
    F = np.asarray(features, dtype=np.float64)
    if F.ndim != 2 or len(F) < 2:
        raise ValueError(f"need a (n, k) array with n >= 2, got shape {F.shape}")
    return F.mean(axis=0), np.cov(F, rowvar=False).reshape(F.shape[1], F.shape[1])


def _sqrt_psd(C: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    w, V = np.linalg.eigh((C + C.T) / 2)
    return (V * np.sqrt(np.clip(w, 0, None))) @ V.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Fréchet (2-Wasserstein²) distance between N(mu1, cov1) and N(mu2, cov2).

    ‖μ₁ − μ₂‖² + tr C₁ + tr C₂ − 2 tr (C₁^½ C₂ C₁^½)^½. The last trace is the sum of
    the square roots of the eigenvalues of the symmetric matrix C₁^½ C₂ C₁^½, which
    stays real and stable where a general matrix square root of C₁C₂ does not.
    """
    mu1, mu2 = np.asarray(mu1, float), np.asarray(mu2, float)
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, float)), np.atleast_2d(np.asarray(cov2, float))
    s1 = _sqrt_psd(cov1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(s1 @ cov2 @ s1), 0, None)).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * cross)


# ------------------------------------------------------------- the classifier
class DigitClassifier(nn.Module):
    """A small CNN for 8×8 digits: two 3×3 convolutions (16, 32 channels), 2×2 max-pooling,
    a 64-unit layer (the **features**), and 10 logits. Input ``(n, 1, 8, 8)`` in ``[0, 1]``."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 4 * 4, width), nn.ReLU())
        self.head = nn.Linear(width, N_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x - 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def as_digit_batch(images) -> torch.Tensor:
    """Digits of shape ``(n, 64)``, ``(n, 8, 8)`` or ``(n, 1, 8, 8)`` as a float32 tensor ``(n, 1, 8, 8)``."""
    a = np.asarray(images, dtype=np.float32)
    if not ((a.ndim == 2 and a.shape[1] == 64) or (a.ndim == 3 and a.shape[1:] == IMAGE_SHAPE)
            or (a.ndim == 4 and a.shape[1:] == (1, *IMAGE_SHAPE))):
        raise ValueError(f"expected 8×8 digits as (n, 64), (n, 8, 8) or (n, 1, 8, 8), got shape {a.shape}")
    return torch.from_numpy(a.reshape(-1, 1, *IMAGE_SHAPE))


def train_digit_classifier(X: np.ndarray, y: np.ndarray, seed: int = 0, epochs: int = 15,
                           batch_size: int = 64, lr: float = 3e-3) -> DigitClassifier:
    """Adam on the cross-entropy of :class:`DigitClassifier` for ``epochs`` passes over ``(X, y)``."""
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = DigitClassifier()
    torch.random.set_rng_state(torch_state)
    Xt, yt = as_digit_batch(X), torch.as_tensor(np.asarray(y), dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        for idx in minibatches(len(Xt), batch_size, rng):
            loss = nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval()
    return model


# ---------------------------------------------------------------- the yardstick
@dataclass(frozen=True)
class SampleScore:
    """A set of digits on the yardstick (see :meth:`DigitYardstick.score`)."""

    frechet: float             # Fréchet distance to the held-out digits in feature space (lower is better)
    confidence: float          # mean over images of the classifier's largest class probability
    class_entropy: float       # entropy (nats) of the predicted-class histogram; ln 10 = 2.30 is all classes equally often
    class_counts: np.ndarray   # (10,) how many images the classifier assigns to each digit
    n: int                     # number of images scored


class DigitYardstick:
    """A trained :class:`DigitClassifier` and the held-out digits it compares samples with.

    Attributes: ``classifier``; ``train_images``/``train_labels`` (what the classifier
    and the generative models may train on, ``(n, 64)`` in ``[0, 1]``);
    ``reference_images`` (the held-out digits, never trained on); ``test_accuracy``
    (the classifier's accuracy on them); ``seed``.
    """

    def __init__(self, classifier: DigitClassifier, train_images, train_labels, reference_images,
                 reference_labels, seed: int = 0):
        self.classifier, self.seed = classifier, seed
        self.train_images = np.asarray(train_images, float).reshape(-1, 64)
        self.train_labels = np.asarray(train_labels)
        self.reference_images = np.asarray(reference_images, float).reshape(-1, 64)
        self.reference_labels = np.asarray(reference_labels)
        self.test_accuracy = accuracy(self.logits(self.reference_images), self.reference_labels)
        self.reference_stats = gaussian_stats(self.features(self.reference_images))

    def logits(self, images) -> np.ndarray:
        with torch.no_grad():
            return self.classifier(as_digit_batch(images)).double().numpy()

    def features(self, images) -> np.ndarray:
        """The classifier's 64 penultimate activations per image, ``(n, 64)``."""
        with torch.no_grad():
            return self.classifier.features(as_digit_batch(images)).double().numpy()

    def frechet(self, images) -> float:
        """Fréchet distance between Gaussians fitted to the features of ``images`` and of the reference."""
        mu, cov = gaussian_stats(self.features(images))
        return frechet_distance(mu, cov, *self.reference_stats)

    def gaussian_baseline(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Negative control: ``n`` digits from the Gaussian fitted to ``train_images`` (clipped to [0, 1])."""
        return fitted_gaussian(self.train_images, n, rng, clip=(0.0, 1.0))

    def score(self, images) -> SampleScore:
        """Fréchet distance, mean confidence and predicted-class entropy of ``images`` (pixels in [0, 1])."""
        z = self.logits(images)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        counts = np.bincount(p.argmax(axis=1), minlength=N_CLASSES)
        freq = counts[counts > 0] / counts.sum()
        return SampleScore(frechet=self.frechet(images), confidence=float(p.max(axis=1).mean()),
                           class_entropy=float(-(freq * np.log(freq)).sum()), class_counts=counts, n=len(z))


_CACHE: dict[tuple, DigitYardstick] = {}


def yardstick_split(n: int, seed: int = 0, n_reference: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """``(reference, train)`` row indices of :func:`digit_yardstick`: a permutation drawn from ``seed``,
    the first ``n_reference`` held out."""
    if not 0 < n_reference < n:
        raise ValueError(f"n_reference must be between 1 and {n - 1}, got {n_reference}")
    order = np.random.default_rng(seed).permutation(n)
    return order[:n_reference], order[n_reference:]


def digit_yardstick(X: np.ndarray, y: np.ndarray, seed: int = 0, n_reference: int = 1000,
                    epochs: int = 15, classifier: DigitClassifier | None = None) -> DigitYardstick:
    """The yardstick for 8×8 digits ``X`` ``(n, 64)`` in ``[0, 1]`` with labels ``y``.

    A permutation drawn from ``seed`` holds out ``n_reference`` digits as the reference
    (:func:`yardstick_split`); the classifier trains on the rest (``train_images``), with
    ``seed`` again, unless a trained ``classifier`` is given (the course ships its
    classifier's weights, as FID ships Inception's). The result is cached per kernel
    (keyed by the data and the settings), so chapters and cells that ask again get the
    same object without training twice.
    """
    X, y = np.asarray(X, dtype=np.float64).reshape(len(X), -1), np.asarray(y)
    ref, train = yardstick_split(len(X), seed, n_reference)
    key = (hashlib.sha1(X.tobytes() + y.tobytes()).hexdigest(), seed, n_reference, epochs, id(classifier))
    if key not in _CACHE:
        clf = classifier if classifier is not None else train_digit_classifier(X[train], y[train], seed=seed,
                                                                               epochs=epochs)
        _CACHE[key] = DigitYardstick(clf, X[train], y[train], X[ref], y[ref], seed)
    return _CACHE[key]


# --------------------------------------------------------- negative controls
def fitted_gaussian(X: np.ndarray, n: int, rng: np.random.Generator,
                    clip: tuple[float, float] | None = None) -> np.ndarray:
    """``n`` draws from a Gaussian with the rows' mean and full covariance, ``(n, d)``; ``clip`` bounds the values.

    For digits (``clip=(0, 1)``, see :meth:`DigitYardstick.gaussian_baseline`) it has the
    right average digit and the right pixel correlations, but no strokes: a generative
    model that does not beat it has learned nothing beyond second moments.
    """
    X = np.asarray(X, float).reshape(len(X), -1)
    out = rng.multivariate_normal(X.mean(axis=0), np.cov(X, rowvar=False), size=n)
    return out if clip is None else np.clip(out, *clip)


def blur(images: np.ndarray, passes: int = 1) -> np.ndarray:
    """Each pixel replaced by the mean of its 3×3 neighbourhood (zero padding), ``passes`` times; ``(n, 64)``."""
    a = np.asarray(images, float).reshape(-1, *IMAGE_SHAPE)
    for _ in range(passes):
        p = np.pad(a, ((0, 0), (1, 1), (1, 1)))
        a = sum(p[:, i:i + 8, j:j + 8] for i in range(3) for j in range(3)) / 9.0
    return a.reshape(len(a), -1)


# ------------------------------------------------- trained generative models
@dataclass(frozen=True)
class TrainedSampler:
    """A trained generative model of digits, as the course's trainers return it (``vae.train_digit_vae``,
    ``gan.train_digit_gan``), so that chapters can put every model on the yardstick side by side.

    ``sample(n, rng) -> (n, 64)`` draws ``n`` digits with pixels in ``[0, 1]`` (all randomness
    from ``rng``); ``train_seconds`` is the wall time of training; ``run`` is the trainer's full
    result (losses, snapshots).
    """

    name: str
    model: nn.Module
    sample: Callable[[int, np.random.Generator], np.ndarray]
    train_seconds: float
    run: object = None

    @classmethod
    def from_run(cls, name: str, run, model: nn.Module, sample: Callable[[int, np.random.Generator], np.ndarray],
                 train_seconds: float) -> TrainedSampler:
        """The sampler of a finished training ``run``; raises ``RuntimeError`` with its message if it diverged."""
        if getattr(run, "diverged", False):
            raise RuntimeError(run.message)
        return cls(name=name, model=model, sample=sample, train_seconds=train_seconds, run=run)
