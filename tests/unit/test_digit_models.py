"""course_utils.digit_models: what chapters 17-19 share is written once and built once per kernel."""
import functools

import numpy as np
import pytest
from helpers import Close, training_differences

from course_utils import data, digit_models
from course_utils.chapters import ch17_autoencoders_vae as ch17
from course_utils.chapters import ch18_gans as ch18
from course_utils.chapters import ch19_diffusion as ch19


def test_the_digits_are_the_data_sets_and_read_only():
    X, y = digit_models.digits()
    X0, y0 = data.load_digits()
    assert X.shape == (1797, 64) and np.array_equal(X, X0) and np.array_equal(y, y0)
    with pytest.raises(ValueError, match="read-only"):
        X[0, 0] = 1.0
    assert digit_models.digits()[0] is X  # read once per kernel


def test_the_three_chapters_share_one_yardstick_and_one_vae_and_gan():
    assert ch17.yardstick is ch18.yardstick is ch19.yardstick is digit_models.yardstick
    assert ch17.digit_vae is ch19.digit_vae is digit_models.digit_vae
    assert ch18.digit_gan is ch19.digit_gan is digit_models.digit_gan
    assert digit_models.yardstick() is digit_models.yardstick()  # trained once per kernel
    assert np.allclose(ch19.digits_as_images()[0, 0], 2 * digit_models.digits()[0][0].reshape(8, 8) - 1)


def test_the_vae_and_the_gan_come_back_from_the_disk_cache_unchanged(monkeypatch):
    """Chapter 19 (or a second kernel) reads the VAE and the GAN from the disk cache: the same weights, losses and
    samples as the models that were trained (or read) first, and no training."""
    from course_utils.scratch import gan, vae

    first_vae, first_gan = digit_models.digit_vae(0), digit_models.digit_gan(0)  # trains them if the cache is cold
    digit_models.digit_vae.cache_clear()
    digit_models.digit_gan.cache_clear()

    def no_training(*args, **kwargs):
        raise AssertionError("trained again instead of reading the disk cache")

    monkeypatch.setattr(vae, "train_vae", no_training)
    monkeypatch.setattr(gan, "train_gan", no_training)
    try:
        again_vae, again_gan = digit_models.digit_vae(0), digit_models.digit_gan(0)
    finally:
        digit_models.digit_vae.cache_clear()
        digit_models.digit_gan.cache_clear()
    for a, b in ((first_vae, again_vae), (first_gan, again_gan)):
        assert a is not b and a.train_seconds == b.train_seconds
        assert np.array_equal(a.sample(50, np.random.default_rng(3)), b.sample(50, np.random.default_rng(3)))
    assert first_vae.run.losses == again_vae.run.losses and first_vae.run.kls == again_vae.run.kls
    assert first_gan.run.d_losses == again_gan.run.d_losses
    assert again_gan.run.discriminator.training == first_gan.run.discriminator.training
    assert not again_gan.model.training and not again_vae.model.training  # both trainers end in eval mode


#: how a retrained part may differ on a machine that rounds differently from the one that made the file
#: (measured, AMD EPYC against Intel: classifier weights 4e-6 apart; the VAE's and GAN's curves 1e-7 apart over
#: their first 10 epochs and 100 steps, then they drift apart, and so do their weights)
CLOSE = {"classifier/*": Close(atol=1e-4),
         "losses": Close(rtol=1e-5, first=10), "recons": Close(rtol=1e-5, first=10), "kls": Close(rtol=1e-5, first=10),
         "model/*": None,
         "d_losses": Close(rtol=1e-5, first=100), "g_losses": Close(rtol=1e-5, first=100),
         "generator/*": None, "discriminator/*": None}


def test_the_shipped_weights_are_what_this_code_trains():
    """data/digit_models.npz holds what the code trains now (one thread; bit for bit on a machine that rounds
    like the one that made it, else within ``CLOSE``): if a trainer, the digits or torch change, this fails
    until the file is regenerated with ``python -m course_utils.digit_models``."""
    from course_utils.scratch import gan, sample_quality, vae

    shipped = digit_models._shipped_arrays()
    assert shipped, f"{digit_models.SHIPPED_FILE} is missing or does not match SHIPPED_SHA256"
    X, y = digit_models.digits()
    images = X[sample_quality.yardstick_split(len(X))[1]]
    parts = {"yardstick-classifier": (lambda: digit_models._classifier_arrays(X, y), sample_quality, X),
             "digit-vae-seed0": (lambda: digit_models._vae_arrays(images, 0), vae, images),
             "digit-gan-seed0": (lambda: digit_models._gan_arrays(images, 0), gan, images)}
    for name, (train, module, data_) in parts.items():
        version = digit_models._version(module, data_)
        got = digit_models._from_shipped(name, version)
        assert got is not None, (f"the shipped {name} was made by other code, data or torch (its version "
                                 f"{shipped.get(name + ':version')}, now {version}): regenerate the file")
        differ = training_differences(got, {k: np.asarray(v) for k, v in train().items()}, CLOSE,
                                      skip=("train_seconds",))  # a measurement, not a result
        assert not differ, f"the shipped {name} differs from a fresh training: {differ[:5]}"


def test_chapter_19_reads_the_shipped_models_and_chapters_17_and_18_train_theirs(monkeypatch, tmp_path):
    """With an empty disk cache, shipped=True (chapter 19) loads the file's VAE and GAN without training;
    the default (chapters 17 and 18) trains them. A file made by other code is ignored."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    images = digit_models.yardstick().train_images
    versions = {kind: digit_models._version(getattr(digit_models, kind), images) for kind in ("vae", "gan")}
    trained = []  # (the versions hash the trainers' code: taken before the fakes replace them)
    monkeypatch.setattr(digit_models, "_vae_arrays", lambda images, seed: trained.append("vae") or {})
    monkeypatch.setattr(digit_models, "_gan_arrays", lambda images, seed: trained.append("gan") or {})
    for kind in ("vae", "gan"):
        build = getattr(digit_models, f"_{kind}_arrays")
        name, version = f"digit-{kind}-seed0", versions[kind]
        a = digit_models._cached_or_shipped(name, functools.partial(build, images, 0), version, shipped=True)
        assert trained == [] and not training_differences(a, digit_models._from_shipped(name, version), close={})
        digit_models._cached_or_shipped(name, functools.partial(build, images, 0), version, shipped=False)
        assert trained == [kind]
        trained.clear()
        digit_models._cached_or_shipped(name, functools.partial(build, images, 0), "other-code", shipped=True)
        assert trained == [kind]
        trained.clear()


def test_a_damaged_shipped_file_is_ignored(monkeypatch, tmp_path):
    bad = tmp_path / "digit_models.npz"
    bad.write_bytes(digit_models.SHIPPED_FILE.read_bytes()[:-10])
    monkeypatch.setattr(digit_models, "SHIPPED_FILE", bad)
    digit_models._shipped_arrays.cache_clear()
    try:
        assert digit_models._shipped_arrays() == {}
        assert digit_models._from_shipped("digit-vae-seed0", "anything") is None
    finally:
        digit_models._shipped_arrays.cache_clear()
