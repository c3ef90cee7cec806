"""course_utils.chapters.ch10_cnn: widgets at their extremes, the experiments, the exercise checks,
and negative controls for every headline assert of the notebook."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_checker

from course_utils import checks, data
from course_utils.chapters import ch10_cnn as ch
from course_utils.scratch import conv
from course_utils.widgets import Choice, Slider, figure_texts, interactive_figure


# ------------------------------------------------------------ widgets
def kernel_widget():
    sliders = {name: Slider(-5, 5, 0.5, value=float(v), static=[]) for name, v in zip(ch.KERNEL_ENTRIES,
                                                                                      ch.CUSTOM_DEFAULT.ravel())}
    return interactive_figure(ch.draw_kernel_editor, preset=Choice([*ch.KERNELS, "custom"], value="Sobel x"),
                              **sliders)


def test_kernel_widget_static_frames_are_the_presets():
    fig_def = kernel_widget()
    axes = [c.static_values() for c in fig_def.controls.values()]
    assert int(np.prod([len(a) for a in axes])) == len(ch.KERNELS) + 1  # each slider: only its default


@pytest.mark.parametrize("preset", [*ch.KERNELS, "custom"])
def test_kernel_widget_draws_every_preset(preset):
    texts = " ".join(figure_texts(ch.draw_kernel_editor(preset=preset, size=64)))
    assert "kernel: " in texts and "output (" in texts
    assert ("sums to 1: brightness kept" in texts) == (abs(ch.KERNELS.get(preset, ch.CUSTOM_DEFAULT).sum() - 1) < 1e-9)


def test_kernel_widget_extremes_and_bad_preset():
    fig = ch.draw_kernel_editor(preset="custom", **{k: 5.0 for k in ch.KERNEL_ENTRIES}, size=64)
    assert "sums to 45" in " ".join(figure_texts(fig))
    fig = ch.draw_kernel_editor(preset="custom", **{k: 0.0 for k in ch.KERNEL_ENTRIES}, size=64)
    assert "sums to 0" in " ".join(figure_texts(fig))  # an all-zero kernel: a blank output, no division by 0
    assert "unknown preset" in " ".join(figure_texts(ch.draw_kernel_editor(preset="blur")))


def test_identity_kernel_returns_the_photo_and_sobel_matches_scipy():
    from scipy.signal import correlate2d

    img = ch.photo(64)
    np.testing.assert_allclose(ch.apply_kernel(img, ch.KERNELS["identity"]), img, atol=1e-15)
    np.testing.assert_allclose(ch.apply_kernel(img, ch.KERNELS["Sobel x"]),
                               correlate2d(img, ch.KERNELS["Sobel x"], mode="same"), atol=1e-12)


def test_geometry_widget_title_has_the_formula_and_message_for_bad_settings():
    assert "= 3" in " ".join(figure_texts(ch.draw_conv_geometry(7, 3, 2, 0, 1)))
    texts = " ".join(figure_texts(ch.draw_conv_geometry(7, 3, 3, 0, 1)))  # (7 - 3) / 3: remainder dropped
    assert "= 2" in texts and "never reached" in texts
    assert "add padding" in " ".join(figure_texts(ch.draw_conv_geometry(3, 5, 1, 0, 2)))


def test_geometry_widget_extremes_and_frame_count():
    fig_def = interactive_figure(ch.draw_conv_geometry, n=Slider(3, 16, 1, value=7, static=[7]),
                                 kernel=Slider(1, 7, 1, value=3, static=[1, 3, 5]),
                                 stride=Slider(1, 4, 1, value=1, static=[1, 2, 3]),
                                 padding=Slider(0, 3, 1, value=0, static=[0, 1, 2]),
                                 dilation=Slider(1, 3, 1, value=1, static=[1, 2]))
    assert np.prod([len(c.static_values()) for c in fig_def.controls.values()]) <= 80
    for params in ({"n": 3, "kernel": 1}, {"n": 16, "kernel": 7, "stride": 4, "padding": 3, "dilation": 3},
                   {"n": 3, "kernel": 7, "dilation": 3}):
        assert figure_texts(fig_def.figure(**params))


# ------------------------------------------------------------ experiments
def test_parameter_counts_match_torch_layers():
    counts = ch.parameter_counts(6, 5, 2, 3, 3)
    assert counts["convolution"] == ch.n_params(torch.nn.Conv2d(2, 3, 3, padding=1))
    assert counts["dense"] == ch.n_params(torch.nn.Linear(2 * 6 * 5, 3 * 6 * 5))
    assert counts["locally connected"] == 3 * 6 * 5 * (2 * 9 + 1)


def test_receptive_field_by_backprop_equals_the_formula():
    for layers in [ch.RF_EXERCISE_STACK, *ch.STACKS.values()]:
        layers = layers[:5]
        assert ch.receptive_field_by_backprop(layers) == conv.receptive_field(layers).sizes[-1]


def test_timing_reports_three_agreeing_implementations():
    rng = np.random.default_rng(0)
    t = ch.time_conv_implementations(rng.normal(size=(2, 3, 10, 10)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4))
    assert set(t) == {"loops", "im2col", "torch"} and all(v > 0 for v in t.values())


def test_shift_image_moves_content_and_fills_zeros():
    x = np.arange(16.0).reshape(4, 4)
    s = ch.shift_image(x, 1, -1)
    np.testing.assert_array_equal(s[1:, :-1], x[:-1, 1:])
    assert np.all(s[0] == 0) and np.all(s[:, -1] == 0)
    np.testing.assert_array_equal(ch.shift_image(ch.shift_image(x, 2, 1), -2, -1)[:2, :3], x[:2, :3])


def _digit_canvas():
    from course_utils import data

    X, _ = data.load_mnist()
    canvas = np.zeros((40, 40))
    canvas[6:34, 6:34] = X[0].reshape(28, 28)
    return canvas


def test_convolution_is_equivariant_and_the_controls_are_not():
    """Negative controls for the equivariance assert: a dense layer, and a stride-2 convolution
    under an odd shift, fail the same tolerance."""
    rng = np.random.default_rng(0)
    canvas = _digit_canvas()
    w = rng.standard_normal((4, 1, 5, 5))

    def conv_layer(v, stride=1):
        return conv.conv2d_forward(v[None, None], w, np.zeros(4), padding=2, stride=stride)[0]

    assert ch.equivariance_error(conv_layer, canvas, 3, -2) <= ch.EQUIVARIANCE_TOL
    W = rng.standard_normal((1600, 1600)) / 40

    def dense(v):
        return (W @ v.ravel()).reshape(40, 40)

    assert ch.equivariance_error(dense, canvas, 3, -2) > ch.EQUIVARIANCE_TOL
    assert ch.equivariance_error(lambda v: conv_layer(v, 2), canvas, 1, 0, (0, 0)) > ch.EQUIVARIANCE_TOL
    assert ch.equivariance_error(lambda v: conv_layer(v, 2), canvas, 2, 2, (1, 1)) <= ch.EQUIVARIANCE_TOL


def test_invariance_grows_with_the_pooling_window():
    from course_utils import data

    X, _ = data.load_mnist()
    changes = ch.invariance_study(X[:40].reshape(-1, 28, 28), np.random.default_rng(0))
    values = list(changes.values())
    assert all(a > b for a, b in zip(values, values[1:]))
    assert values[0] > 0.3  # without pooling a 1-pixel shift changes the features a lot


# -------------------------------------------------- CNN vs MLP: the headline and its controls
@pytest.fixture(scope="module")
def split():
    return ch.mnist_split(0)


def test_models_have_equal_parameter_counts():
    assert abs(ch.n_params(ch.make_cnn()) / ch.n_params(ch.make_mlp()) - 1) < 0.01


@pytest.fixture(scope="module")
def mlp_accuracy(split):
    """The notebook's MLP (10 epochs, seed 0): the negative control of the CNN asserts."""
    return ch.train_classifier(ch.make_mlp, split, epochs=10, seed=0, progress=False)[2]


def test_the_equal_size_mlp_fails_the_margin_assert(split, mlp_accuracy):
    """Negative control: another MLP (another seed) does not lead the MLP by the margin."""
    other = ch.train_classifier(ch.make_mlp, split, epochs=10, seed=1, progress=False)[2]
    assert other - mlp_accuracy < ch.CNN_MARGIN_MIN


def test_a_cnn_on_shuffled_pixels_loses_its_lead(split, mlp_accuracy):
    """Negative control: shuffle every image's pixels by one fixed permutation. An MLP does not care
    (it never used the order); the CNN's local windows now see unrelated pixels, and its lead is gone."""
    perm = np.random.default_rng(0).permutation(784)

    def shuffle(X):
        return X.reshape(len(X), 784)[:, perm].reshape(-1, 1, 28, 28)

    shuffled = data.Split(shuffle(split.X_train), split.y_train, split.X_val, split.y_val,
                          shuffle(split.X_test), split.y_test)
    acc = ch.train_classifier(ch.make_cnn, shuffled, epochs=5, seed=0, progress=False)[2]
    assert acc - mlp_accuracy < ch.CNN_MARGIN_MIN


def test_an_untrained_cnn_fails_the_accuracy_assert(split):
    torch.manual_seed(0)
    model = ch.make_cnn()
    with torch.no_grad():
        acc = (model(torch.as_tensor(split.X_test, dtype=torch.float32)).argmax(1).numpy() == split.y_test).mean()
    assert acc < ch.CNN_ACCURACY_MIN


def test_mnist_split_sizes_and_scaling(split):
    assert split.X_train.shape == (4000, 1, 28, 28) and split.X_test.shape == (1000, 1, 28, 28)
    assert abs(split.X_train.mean()) < 1e-9 and abs(split.X_train.std() - 1) < 1e-9


# ------------------------------------------------------------ exercise checks
def _naive_ref(x, w, b, stride, padding):
    return conv.conv2d_loops_forward(x, w, b, stride=stride, padding=padding)[0]


def _naive_no_bias(x, w, b, stride, padding):
    return conv.conv2d_forward(x, w, np.zeros_like(b), stride=stride, padding=padding)[0]


def _naive_ignores_stride(x, w, b, stride, padding):
    return conv.conv2d_forward(x, w, b, stride=1, padding=padding)[0]


def _naive_true_convolution(x, w, b, stride, padding):
    return conv.conv2d_forward(x, conv.flip_kernel(w), b, stride=stride, padding=padding)[0]


def test_check_conv2d_naive():
    assert_checker(ch.check_conv2d_naive, _naive_ref, [_naive_no_bias, _naive_ignores_stride, _naive_true_convolution])


def _naive_ignores_padding(x, w, b, stride, padding):
    return conv.conv2d_forward(x, w, b, stride=stride, padding=0)[0]


@pytest.mark.parametrize("wrong", [_naive_ignores_stride, _naive_true_convolution, _naive_ignores_padding])
def test_conv2d_check_catches_each_wrong_answer_every_time(wrong):
    """Drawn at random, all six trials could have stride 1 (an ignored stride passed 1.5 % of checks), no
    padding, or 1×1 kernels (a flipped kernel passed 1 in 1,000); the trials now cycle through both strides,
    both paddings and larger kernels, and the first has stride 2, padding 1 and a 3×3 kernel."""
    for trials in (1, 6):
        passed = sum(bool(ch.check_conv2d_naive(wrong, trials=trials)) for _ in range(300))
        assert passed == 0, f"{wrong.__name__} passed {passed} of 300 {trials}-trial checks"


def _col2im_ref(cols, x_shape, k, stride, padding):
    return conv.col2im(cols, x_shape, k, stride, padding)


def test_check_col2im_names_the_overwrite_bug_and_passes_the_fix(lenient):
    assert_checker(ch.check_col2im, _col2im_ref, [ch._col2im_overwrite, lambda *a: _col2im_ref(*a) * 2])
    r = ch.check_col2im(ch._col2im_overwrite)
    assert not r and "must add up" in r.message
    r = ch.check_col2im(lambda cols, x_shape, k, stride, padding: _col2im_ref(cols, x_shape, k, stride, 0))
    assert not r and "shape" in r.message


def test_check_im2col_memory():
    assert ch.check_im2col_memory(9)
    r = ch.check_im2col_memory(1)
    assert not r and "3·3 = 9" in r.message
    assert not ch.check_im2col_memory(...).attempted


def test_check_receptive_field_answer():
    assert ch.check_receptive_field_answer(conv.receptive_field(ch.RF_EXERCISE_STACK).sizes[-1])
    r = ch.check_receptive_field_answer(1 + 2 * 5)  # forgot that pooling doubles the jump
    assert not r and "jump" in r.message
    assert not ch.check_receptive_field_answer(...).attempted


def test_check_receptive_field_design():
    assert ch.check_receptive_field_design([(1, 1), (1, 2), (1, 4), (1, 8)])        # 31 pixels, 28×28 output
    assert ch.check_receptive_field_design([(2, 1), (2, 1), (1, 2), (1, 2)])        # 39 pixels, 7×7 output
    assert ch.design_outcome([(2, 1)] * 4) == (31, 2)
    r = ch.check_receptive_field_design([(2, 1)] * 4)                                # sees enough, 2×2 left
    assert not r and "2×2" in r.message and "dilation" in r.message
    r = ch.check_receptive_field_design([(1, 1)] * 4)
    assert not r and "only 9 pixels" in r.message
    r = ch.check_receptive_field_design([(1, 1)] * 5)
    assert not r and "5 layers" in r.message
    r = ch.check_receptive_field_design([(1, 0)])
    assert not r and "unusable" in r.message
    r = ch.check_receptive_field_design("wide")
    assert not r and r.attempted
    assert not ch.check_receptive_field_design(...).attempted


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(checks.ExerciseCheckError):
        ch.check_im2col_memory(1)


def _col2im_debug_code(cols, x_shape, k, stride, padding, add=False):
    """The notebook's debug exercise: overwrites overlaps (``add=True``: bug 1 repaired, ``+=``), and crops
    with ``-padding`` (empty when padding is 0)."""
    n, c, h, w = x_shape
    h_out, w_out = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    cols = cols.reshape(n, c, k, k, h_out, w_out)
    xp = np.zeros((n, c, h + 2 * padding, w + 2 * padding))
    for a in range(k):
        for e in range(k):
            window = (slice(None), slice(None), slice(a, a + stride * (h_out - 1) + 1, stride),
                      slice(e, e + stride * (w_out - 1) + 1, stride))
            xp[window] = xp[window] + cols[:, :, a, e] if add else cols[:, :, a, e]
    return xp[:, :, padding:-padding, padding:-padding]


def _col2im_starting_code(cols, x_shape, k, stride, padding):
    """The notebook's debug exercise as given."""
    return _col2im_debug_code(cols, x_shape, k, stride, padding)


def test_the_debug_exercise_starting_code_fails_with_a_precise_message(lenient):
    r = ch.check_col2im(_col2im_starting_code)
    assert not r and r.attempted and ("must add up" in r.message or "shape" in r.message)
    # with the crop repaired, the overwrite is named
    r = ch.check_col2im(lambda cols, x_shape, k, stride, padding: ch._col2im_overwrite(cols, x_shape, k, stride,
                                                                                      padding))
    assert not r and "must add up" in r.message


def _col2im_only_overwrite_fixed(cols, x_shape, k, stride, padding):
    """The debug exercise with bug 1 repaired (+=) but the crop still empty when padding = 0."""
    return _col2im_debug_code(cols, x_shape, k, stride, padding, add=True)


def _col2im_crop_ignores_padding(cols, x_shape, k, stride, padding):
    return _col2im_ref(cols, x_shape, k, stride, 0)


@pytest.mark.parametrize("wrong", [_col2im_only_overwrite_fixed, _col2im_crop_ignores_padding])
def test_col2im_check_catches_a_wrong_crop_every_time(wrong):
    """Drawn at random, all six trials could share one padding: each wrong crop passed about 1.5 % of checks.
    The trials now cycle through paddings 1 and 0 (and strides 2 and 1): the first two have both paddings."""
    for trials in (2, 6):
        passed = sum(bool(ch.check_col2im(wrong, trials=trials)) for _ in range(300))
        assert passed == 0, f"{wrong.__name__} passed {passed} of 300 {trials}-trial checks"
