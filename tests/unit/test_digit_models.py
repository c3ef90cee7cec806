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
