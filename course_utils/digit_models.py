"""The 8×8 digits, the digit yardstick, and the digit VAE and GAN that chapters 17, 18 and 19 share.

Chapters never import each other, so what several of them show with lives here: one tier
below the chapters, above the algorithms (``scratch``) and the platform (``data``), as the
import contracts in ``pyproject.toml`` state. Each object is built once per kernel: a second
Run All reuses it, and so does chapter 19's table, which puts chapter 17's VAE and chapter
18's GAN beside its diffusion model.

- :func:`digits`: scikit-learn's 1,797 digits ``(n, 64)`` in ``[0, 1]`` and their labels, read-only.
- :func:`yardstick`: ``sample_quality.digit_yardstick`` on them (classifier seed 0, 1,000 held-out digits).
- :func:`digit_vae`, :func:`digit_gan`: ``vae.train_digit_vae`` and ``gan.train_digit_gan``, each with the
  recipe its chapter chose, on the yardstick's 797 training digits.

The VAE and the GAN are also kept in the per-user disk cache (``course_utils.cache``), so
chapter 19's table reuses the models a student trained in chapters 17 and 18 instead of
training them again (about 14 s). They train on one thread, whatever the notebook's
setting, so that the weights, and every number computed from them, are the same in the
three chapters and whether they come from the cache or not (the cache's version is a hash
of the code that trains them, the data and the torch version). On this machine one thread
trains these small networks as fast as two.

**Shipped weights** (``data/digit_models.npz``, made by ``python -m course_utils.digit_models``,
checked against :data:`SHIPPED_SHA256`): the yardstick's classifier, a measuring instrument
like FID's Inception network, always comes from it; the seed-0 VAE and GAN come from it only
where a chapter asks with ``shipped=True`` (chapter 19, which compares them and teaches neither),
so chapters 17 and 18 still train the models they teach. Each part is used only if its recorded
version is this code's, data's and torch's; otherwise it is trained, as before. A unit test
retrains all three and compares them with the file.
"""
from __future__ import annotations

import hashlib
import inspect
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from . import cache, data
from .base import stopwatch
from .config import one_thread
from .scratch import batches, gan, layers, sample_quality, vae


@lru_cache(maxsize=1)
def digits() -> tuple[np.ndarray, np.ndarray]:
    """``data.load_digits()`` once per kernel, as read-only arrays (a caller cannot change another's digits)."""
    X, y = data.load_digits()
    X.flags.writeable = y.flags.writeable = False
    return X, y


@lru_cache(maxsize=1)
def yardstick() -> sample_quality.DigitYardstick:
    """The course's digit yardstick (classifier seed 0, 1,000 held-out digits): its classifier from the shipped
    weights (``data/digit_models.npz``) when they match the code, else trained here (one thread, once per kernel)."""
    X, y = digits()
    a = _from_shipped("yardstick-classifier", _version(sample_quality, X))
    if a is None:
        a = _classifier_arrays(X, y)
    clf = sample_quality.DigitClassifier()
    _load(clf, a, "classifier")
    return sample_quality.digit_yardstick(X, y, classifier=clf)


@lru_cache(maxsize=4)
def digit_vae(seed: int = 0, shipped: bool = False) -> sample_quality.TrainedSampler:
    """Chapter 17's chosen VAE: :func:`course_utils.scratch.vae.train_digit_vae` on the yardstick's 797 training
    digits; trained once per user (then read from the disk cache) and built once per kernel. ``shipped=True``
    (chapter 19, which compares it and does not teach it) reads the shipped weights instead of training."""
    images = yardstick().train_images
    a = _cached_or_shipped(f"digit-vae-seed{seed}", lambda: _vae_arrays(images, seed), _version(vae, images),
                           shipped)
    model = vae.build_vae(vae.DIGIT_VAE["latent_dim"], vae.DIGIT_VAE["hidden"], seed)
    _load(model, a, "model")
    run = vae.VAETrainingResult(model, a["losses"].tolist(), a["recons"].tolist(), a["kls"].tolist(),
                                bool(a["diverged"]), str(a["message"]))
    return vae.digit_vae_sampler(run, float(a["train_seconds"]))


@lru_cache(maxsize=4)
def digit_gan(seed: int = 0, shipped: bool = False) -> sample_quality.TrainedSampler:
    """Chapter 18's digit GAN: :func:`course_utils.scratch.gan.train_digit_gan` on the yardstick's 797 training
    digits; trained once per user (then read from the disk cache) and built once per kernel. ``shipped=True``:
    as for :func:`digit_vae`."""
    images = yardstick().train_images
    a = _cached_or_shipped(f"digit-gan-seed{seed}", lambda: _gan_arrays(images, seed), _version(gan, images),
                           shipped)
    r = gan.DIGIT_GAN
    G, D = gan.build_gan(images.shape[1], r["z_dim"], r["hidden"], r["depth"], seed, out=r.get("out"),
                         act=r.get("act", "relu"))
    _load(G, a, "generator")
    _load(D, a, "discriminator")
    snapshots = {int(k.split("/")[1]): a[k] for k in a if k.startswith("snapshot/")}
    run = gan.GANTrainingResult(G, D, a["d_losses"].tolist(), a["g_losses"].tolist(), snapshots,
                                bool(a["diverged"]), str(a["message"]))
    return gan.digit_gan_sampler(run, float(a["train_seconds"]))


# ---------------------------------------------------------------- the shipped weights
#: the yardstick's classifier and the seed-0 VAE and GAN, as :func:`write_shipped` trains them (one thread)
SHIPPED_FILE = cache.SHIPPED_DIR / "digit_models.npz"
#: SHA-256 of ``data/digit_models.npz`` as written by :func:`write_shipped`
SHIPPED_SHA256 = "815b3072039451b4c0696803d86d94df1a87ec7e695362c5633767bb42cf01e0"
SHIPPED = ("yardstick-classifier", "digit-vae-seed0", "digit-gan-seed0")


@lru_cache(maxsize=1)
def _shipped_arrays() -> dict[str, np.ndarray]:
    """Every array of the shipped file, or ``{}`` if it is missing or its checksum is not :data:`SHIPPED_SHA256`."""
    return cache.read_shipped(SHIPPED_FILE, SHIPPED_SHA256)


def _from_shipped(name: str, version: str) -> dict[str, np.ndarray] | None:
    """The shipped arrays of ``name``, or ``None`` unless they were trained by this code, data and torch version."""
    return cache.from_shipped(_shipped_arrays(), name, version)


def _cached_or_shipped(name: str, build, version: str, shipped: bool) -> dict[str, np.ndarray]:
    if shipped:
        return cache.cached_or_shipped(name, build, version, _shipped_arrays())
    return cache.cached(name, build, version=version)


def write_shipped(path: Path = SHIPPED_FILE) -> str:
    """Train the yardstick's classifier, the seed-0 VAE and GAN (one thread each) and write them to ``path``
    with their versions; returns the file's SHA-256 (``python -m course_utils.digit_models``)."""
    X, y = digits()
    clf = _classifier_arrays(X, y)
    images = X[sample_quality.yardstick_split(len(X))[1]]
    return cache.write_shipped(path, {"yardstick-classifier": (clf, _version(sample_quality, X)),
                                      "digit-vae-seed0": (_vae_arrays(images, 0), _version(vae, images)),
                                      "digit-gan-seed0": (_gan_arrays(images, 0), _version(gan, images))})


# ------------------------------------------------------------------ the disk cache's side
def _version(module, images: np.ndarray) -> str:
    """A hash of what the trained weights depend on: the trainer's code, the digits and the torch version."""
    code = "".join(inspect.getsource(m) for m in (module, batches, layers, _classifier_arrays, _vae_arrays, _gan_arrays))
    h = hashlib.sha256((code + torch.__version__).encode())
    h.update(np.ascontiguousarray(images).tobytes())
    return h.hexdigest()[:12]


def _module_arrays(model: torch.nn.Module, prefix: str) -> dict[str, np.ndarray]:
    out = {f"{prefix}/{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    out[f"{prefix}:training"] = np.asarray(model.training)
    return out


def _load(model: torch.nn.Module, arrays: dict[str, np.ndarray], prefix: str) -> None:
    model.load_state_dict({k[len(prefix) + 1:]: torch.from_numpy(v.copy()) for k, v in arrays.items()
                           if k.startswith(prefix + "/")})
    model.train(bool(arrays[f"{prefix}:training"]))


def _classifier_arrays(X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """The yardstick's classifier (seed 0, 15 epochs) trained on its split of ``X``, on one thread."""
    train = sample_quality.yardstick_split(len(X))[1]
    with one_thread():
        clf = sample_quality.train_digit_classifier(np.array(X[train], dtype=np.float64), y[train], seed=0)
    return _module_arrays(clf, "classifier")


def _vae_arrays(images: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    with one_thread(), stopwatch() as clock:
        run = vae.train_vae(images, seed=seed, show_progress=False, **vae.DIGIT_VAE)
    return {**_module_arrays(run.model, "model"), "losses": np.asarray(run.losses), "recons": np.asarray(run.recons),
            "kls": np.asarray(run.kls), "diverged": np.asarray(run.diverged), "message": np.asarray(run.message),
            "train_seconds": np.asarray(clock["seconds"])}


def _gan_arrays(images: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    with one_thread(), stopwatch() as clock:
        run = gan.train_gan(images, seed=seed, show_progress=False, **gan.DIGIT_GAN)
    return {**_module_arrays(run.generator, "generator"), **_module_arrays(run.discriminator, "discriminator"),
            "d_losses": np.asarray(run.d_losses), "g_losses": np.asarray(run.g_losses),
            **{f"snapshot/{k}": v for k, v in run.snapshots.items()}, "diverged": np.asarray(run.diverged),
            "message": np.asarray(run.message), "train_seconds": np.asarray(clock["seconds"])}


if __name__ == "__main__":  # python -m course_utils.digit_models: regenerate the shipped weights (about 15 s)
    print(f"wrote {SHIPPED_FILE}\nSHA-256 {write_shipped()}\nput this value into SHIPPED_SHA256 (and data/README.md)")
