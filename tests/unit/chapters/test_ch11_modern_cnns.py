"""course_utils.chapters.ch11_modern_cnns: architectures and their costs, the depth experiment and its
negative controls, the transfer study and its negative control, the widget and the exercise checks."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from helpers import assert_checker
from torch import nn

from course_utils.chapters import ch11_modern_cnns as ch
from course_utils.chapters.ch11_modern_cnns import checks as ch_checks
from course_utils.scratch import conv, layers, model_costs, residual
from course_utils.widgets import Choice, figure_texts, interactive_figure


# ------------------------------------------------------------ architectures and costs
@pytest.mark.parametrize("name", list(ch.ARCHITECTURES))
def test_architectures_run_and_their_costs_match_torch(name):
    make, shape = ch.ARCHITECTURES[name]
    torch.manual_seed(0)
    model = make()
    out = model.eval()(torch.randn(*shape))
    assert out.shape[0] == 1
    summary = ch.cost_summary(name, model, shape)
    assert summary["params (formula)"] == summary["params (torch)"]
    assert summary["MFLOPs (formula)"] == summary["MFLOPs (FlopCounterMode)"] > 0


def test_layer_costs_refuse_non_square_kernels():
    with pytest.raises(ValueError, match="square"):
        ch.layer_costs(nn.Sequential(nn.Conv2d(1, 2, (3, 1))), (1, 1, 8, 8))


def test_full_size_numbers_quoted_in_the_notebook():
    """AlexNet (single-stream, as in most re-implementations) and VGG-16 at full size, by the formulas."""
    p = model_costs.conv2d_params
    alex_convs = p(3, 64, 11) + p(64, 192, 5) + p(192, 384, 3) + p(384, 256, 3) + p(256, 256, 3)
    alex_dense = (model_costs.linear_params(256 * 36, 4096) + model_costs.linear_params(4096, 4096)
                  + model_costs.linear_params(4096, 1000))
    assert round((alex_convs + alex_dense) / 1e6) == 61 and round(alex_dense / 1e6, 1) == 58.6
    widths = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
              (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    vgg16 = sum(p(a, b, 3) for a, b in widths) + model_costs.linear_params(512 * 49, 4096) \
        + model_costs.linear_params(4096, 4096) + model_costs.linear_params(4096, 1000)
    assert vgg16 == 138_357_544


def test_inception_reductions_save_what_the_notebook_says():
    reduced = ch.cost_summary("r", ch.Inception(192, 64, 96, 128, 16, 32, 32), (1, 192, 28, 28))
    naive = ch.cost_summary("n", ch.Inception(192, 64, 96, 128, 16, 32, 32, reduce=False), (1, 192, 28, 28))
    assert 2.3 < naive["MFLOPs (formula)"] / reduced["MFLOPs (formula)"] < 2.5
    assert 2.3 < naive["params (formula)"] / reduced["params (formula)"] < 2.5


@pytest.mark.parametrize("c_in, c_out, stride", [(3, 3, 1), (2, 5, 2)])
def test_residual_block_twin_equals_the_scratch_block(c_in, c_out, stride):
    torch.manual_seed(0)
    twin = ch.ResidualBlock(c_in, c_out, stride).double()
    x = torch.randn(2, c_in, 7, 7, dtype=torch.float64)
    params = [twin.conv1.weight, twin.conv1.bias, twin.conv2.weight, twin.conv2.bias]
    if twin.shortcut is not None:
        params += [twin.shortcut[0].weight, twin.shortcut[0].bias]
    out, _ = residual.residual_block_forward(x.numpy(), *[p.detach().numpy() for p in params], stride=stride)
    np.testing.assert_allclose(out, twin(x).detach().numpy(), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ depth and skips: headline and controls
def test_the_residual_network_passes_and_the_plain_one_fails_the_trains_assert():
    plain, skipped = ch.deep_run(30, False), ch.deep_run(30, True)
    assert ch.trains(skipped) and not ch.trains(plain)
    assert skipped.test_accuracy - plain.test_accuracy >= ch.DEPTH_ACC_GAP_MIN
    assert plain.steps == skipped.steps


def test_the_deep_plain_network_sits_at_chance_and_the_controls_do_not():
    assert ch.at_chance(ch.deep_run(30, False))
    assert not ch.at_chance(ch.deep_run(30, True))   # trained: far below ln 10
    assert not ch.at_chance(ch.deep_run(3, False))   # a shallow plain net learns
    assert not ch.at_chance(ch.deep_run(30, True, epochs=0))  # untrained, but not yet at the uniform prediction


def test_trains_is_not_trivially_false_for_plain_nets_nor_true_for_residual_ones():
    """Controls of the assert itself: a shallow plain net trains; an untrained residual net does not."""
    assert ch.trains(ch.deep_run(3, False))
    untrained = ch.deep_run(30, True, epochs=0)
    assert not ch.trains(untrained)
    assert untrained.test_accuracy < 0.5


def test_a_diverged_run_does_not_count_as_training():
    run = ch.deep_run(3, False)
    broken = ch.DeepRunResult(3, False, np.array([2.3, np.nan]), run.grad_norms, run.test_scores, 0.1, 10, True, "x")
    assert not ch.trains(broken)


def test_depth_widget_frames_and_messages():
    runs = ch.depth_study(progress=False)
    assert set(runs) == {(d, s) for d in ch.DEPTHS for s in (False, True)}
    fig_def = interactive_figure(ch.draw_depth_skips, depth=Choice(list(ch.DEPTHS), value=30),
                                 skips=Choice(["on", "off"]))
    assert np.prod([len(c.static_values()) for c in fig_def.controls.values()]) == 2 * len(ch.DEPTHS)
    assert "does not train" in " ".join(figure_texts(fig_def.figure(depth=30, skips="off")))
    assert "30 layers, skips on: trains" in " ".join(figure_texts(fig_def.figure(depth=30, skips="on")))
    assert "3 layers, skips off: trains" in " ".join(figure_texts(fig_def.figure(depth=3, skips="off")))
    assert "skips must be" in " ".join(figure_texts(ch.draw_depth_skips(30, "maybe")))
    assert "depth must be" in " ".join(figure_texts(ch.draw_depth_skips(0, "on")))


# ------------------------------------------------------------ transfer: checksum, regeneration, control
def test_pretrained_file_matches_its_checksum_and_a_changed_one_is_refused(tmp_path):
    net = ch.load_pretrained_trunk()
    assert isinstance(net[0], nn.Sequential)
    bad = tmp_path / "trunk.pt"
    bad.write_bytes(ch.TRUNK_FILE.read_bytes() + b"x")
    with pytest.raises(ValueError, match="SHA-256"):
        ch.load_pretrained_trunk(bad)


def test_the_regeneration_script_writes_a_loadable_file(tmp_path):
    path = tmp_path / "trunk.pt"
    digest = ch.write_pretrained_trunk(path, steps=3)
    net = ch.load_pretrained_trunk(path, sha256=digest)
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 5)


def test_a_random_trunk_fails_the_transfer_assert():
    """Negative control: the same study with an untrained trunk in place of the pretrained one."""
    torch.manual_seed(1)
    study = ch.transfer_study(ch.make_trunk(), seeds=range(3), progress=False)
    assert ch.transfer_gain(study) < ch.TRANSFER_GAIN_MIN


def test_source_and_target_are_disjoint_and_balanced():
    parts = ch.source_and_target()
    _, y = ch.mnist_images()
    assert set(y[parts["source_train"]]) | set(y[parts["source_test"]]) == set(range(5))
    assert set(parts["target_pool"]).isdisjoint(parts["target_test"])
    assert np.all(np.bincount(y[parts["target_test"]] - 5) == 200)


# ------------------------------------------------------------ exercise checks
def test_check_separable_ratio():
    assert ch.check_separable_ratio((64 * 9 + 64 * 64) / (64 * 64 * 9))
    r = ch.check_separable_ratio(1 / 9)  # forgot the pointwise convolution
    assert not r and "1/64 + 1/9" in r.message
    assert not ch.check_separable_ratio(...).attempted


def _top_k_ref(scores, y, k):
    return float(np.mean(np.any(np.argsort(scores, axis=1)[:, -k:] == y[:, None], axis=1)))


def test_check_top_k():
    assert_checker(ch.check_top_k, _top_k_ref, [
        lambda s, y, k: float(np.mean(np.any(np.argsort(s, axis=1)[:, :k] == y[:, None], axis=1))),   # k smallest
        lambda s, y, k: _top_k_ref(s, y, max(k - 1, 1)),                                              # off by one
    ])


def _residual_starting_code(dout, cache):
    """The debug exercise as given: skips the final ReLU and the identity path."""
    dh, dw2, db2 = conv.conv2d_backward(dout, cache.conv2)
    dx, dw1, db1 = conv.conv2d_backward(layers.relu_backward(dh, cache.relu1), cache.conv1)
    return dx, dw1, db1, dw2, db2


def test_check_residual_backward(lenient):
    assert_checker(ch.check_residual_backward, residual.residual_block_backward,
                   [_residual_starting_code, ch_checks._residual_missing_skip])
    r = ch.check_residual_backward(ch_checks._residual_missing_skip)
    assert not r and "identity path" in r.message
    r = ch.check_residual_backward(_residual_starting_code)
    assert not r and "item" in r.message  # which gradient is wrong


def test_check_plain_prediction():
    assert ch.check_plain_prediction(0.1)
    r = ch.check_plain_prediction(0.9)  # "deeper is better"
    assert not r and "1e-12" in r.message
    assert not ch.check_plain_prediction(...).attempted


def test_check_small_cnn_design():
    good = [("conv", 8, 3, 2), ("conv", 16, 3, 2), ("conv", 32, 3, 2), ("sep", 32, 3, 1)]
    assert ch.check_small_cnn_design(good)
    r = ch.check_small_cnn_design([("conv", 8, 3, 2), ("conv", 16, 3, 2), ("conv", 32, 3, 2), ("conv", 32, 3, 1)])
    assert not r and "too many parameters" in r.message
    r = ch.check_small_cnn_design([("conv", 16, 3, 1), ("sep", 16, 3, 1)])
    assert not r and "receptive field too small" in r.message and "too many FLOPs" in r.message
    r = ch.check_small_cnn_design([("pool", 2, 2, 2)])
    assert not r and "unusable" in r.message
    assert not ch.check_small_cnn_design(...).attempted
    _, geometry = ch.build_design(good)
    assert conv.receptive_field(geometry).sizes[-1] == 31


def test_depth_runs_come_from_the_disk_cache_and_a_damaged_entry_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_CACHE", "1")
    ch._deep_run.cache_clear()
    first = ch.deep_run(3, True, epochs=1)
    files = sorted(tmp_path.glob("ch11-deep-run-d3-skip-*.npz"))
    assert len(files) == 1 and files[0].with_suffix(".sha256").exists()
    ch._deep_run.cache_clear()
    again = ch.deep_run(3, True, epochs=1)  # from disk: the same numbers
    np.testing.assert_array_equal(again.losses, first.losses)
    assert again.test_accuracy == first.test_accuracy and again.steps == first.steps
    files[0].write_bytes(files[0].read_bytes()[:-10] + b"corrupted!")  # a crash half-way through a write
    ch._deep_run.cache_clear()
    with pytest.warns(UserWarning, match="damaged; it is rebuilt"):
        rebuilt = ch.deep_run(3, True, epochs=1)
    np.testing.assert_array_equal(rebuilt.losses, first.losses)
    np.testing.assert_array_equal(rebuilt.test_scores, first.test_scores)
    ch._deep_run.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt entry is whole again: no second warning
        ch.deep_run(3, True, epochs=1)
    ch._deep_run.cache_clear()


def test_cost_and_depth_summary_figures_are_labelled():
    table = [ch.cost_summary(name, make(), shape) for name, (make, shape) in ch.ARCHITECTURES.items()]
    axes = ch.plot_costs(table)
    assert [ax.get_xscale() for ax in axes] == ["log", "log"] and "parameters" in axes[0].get_xlabel()
    assert [t.get_text() for t in axes[0].get_yticklabels()] == [row["architecture"] for row in table]
    fake = {(d, s): ch.DeepRunResult(d, s, np.array([2.3 if not s and d > 3 else 0.01]), np.ones(d), np.zeros((2, 10)),
                                     0.1, 10) for d in (3, 10) for s in (False, True)}
    ax = ch.plot_depth_summary(fake)
    assert ax.get_xlabel() == "hidden layers" and ax.get_ylabel() == "final training loss"
    assert len(ax.get_lines()) == 4  # two networks, chance, the threshold


def test_importing_the_regeneration_script_does_not_rewrite_the_trunk():
    import importlib

    before = ch.TRUNK_FILE.stat().st_mtime_ns
    importlib.import_module("course_utils.chapters.ch11_modern_cnns.__main__")
    assert ch.TRUNK_FILE.stat().st_mtime_ns == before
