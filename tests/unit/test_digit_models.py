"""course_utils.digit_models: what chapters 17-19 share is written once and built once per kernel."""
import numpy as np
import pytest

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
