"""course_utils.plotting: every standard figure draws, labels its axes, and survives edge cases."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import data, plotting
from course_utils.widgets import figure_texts


@pytest.fixture(autouse=True)
def close_all():
    yield
    plt.close("all")


def test_decision_regions_labels_axes():
    X, y = data.make_moons(60, np.random.default_rng(0))
    ax = plotting.decision_regions(lambda P: (P[:, 1] < 0.25).astype(int), X, y, title="t")
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == "t"


def test_training_curves_from_dict_and_history():
    from course_utils.training import History
    h = History()
    for i in range(3):
        h.append(train_loss=1 / (i + 1), val_loss=1.2 / (i + 1))
    ax = plotting.training_curves(h)
    assert ax.get_xlabel() == "epoch" and len(ax.get_lines()) == 2
    ax = plotting.training_curves({"acc": [0.1, 0.5]}, ylabel="accuracy")
    assert ax.get_ylabel() == "accuracy"


def test_image_grid_flat_and_errors():
    X, y = data.load_digits()
    fig = plotting.image_grid(X[:12], labels=y[:12], ncols=6)
    assert len(fig.axes) == 12
    with pytest.raises(ValueError, match="square"):
        plotting.image_grid(np.ones((2, 10)))


def test_loss_surface_with_paths():
    ax = plotting.loss_surface(lambda a, b: a ** 2 + 10 * b ** 2, paths={"gd": np.array([[1.0, 1.0], [0.5, 0.2]])})
    assert ax.get_xlabel() and ax.get_legend() is not None


def test_message_figure():
    fig = plotting.message_figure("learning rate too large")
    assert figure_texts(fig) == ["learning rate too large"]


def test_style_is_applied():
    plotting.use_style()
    assert plt.rcParams["axes.spines.top"] is False


def test_sparse_log_ticks_thins_only_log_axes():
    from matplotlib.ticker import NullLocator

    fig, (a, b) = plt.subplots(1, 2)
    a.semilogy(np.logspace(0, -8, 50))
    b.plot([0, 1], [0, 1])
    fig.canvas.draw()
    assert len(a.yaxis.get_minor_locator()()) > 60  # Matplotlib's default: every decade's 2…9, 11 labels
    linear_ticks = b.get_yticks().tolist()
    assert plotting.sparse_log_ticks(fig) is fig
    fig.canvas.draw()
    assert isinstance(a.yaxis.get_minor_locator(), NullLocator)
    lo, hi = a.get_ylim()
    assert 3 <= sum(lo <= t <= hi for t in a.get_yticks()) <= 6
    assert b.get_yticks().tolist() == linear_ticks  # linear axes untouched
    plt.close("all")


def _ticks_in_view(axis) -> int:
    lo, hi = sorted(axis.get_view_interval())
    return sum(lo - 1e-9 <= t <= hi + 1e-9 for t in axis.get_majorticklocs())


def test_sparse_ticks_caps_automatic_linear_ticks_and_leaves_chosen_ones():
    from matplotlib.ticker import FixedLocator, MaxNLocator

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(12, 6))
    a.plot([0, 16], [0, 16])
    b.plot([0, 40], [0, 1])
    b.xaxis.set_major_locator(MaxNLocator(integer=True))  # Matplotlib's default: up to 10 intervals
    c.plot([0, 1], [0, 1])
    c.yaxis.set_major_locator(FixedLocator(np.linspace(0, 1, 11)))
    fig.canvas.draw()
    assert _ticks_in_view(a.yaxis) > plotting.FRAME_TICK_BINS + 1  # a tall axis: Matplotlib puts up to 10 ticks
    assert _ticks_in_view(b.xaxis) > plotting.FRAME_TICK_BINS + 1
    assert plotting.sparse_ticks(fig) is fig
    fig.canvas.draw()
    for axis in (a.xaxis, a.yaxis, b.xaxis, b.yaxis, c.xaxis):
        assert 3 <= _ticks_in_view(axis) <= plotting.FRAME_TICK_BINS + 1
    assert all(float(t).is_integer() for t in b.get_xticks())  # integer=True is kept
    assert len(c.get_yticks()) == 11  # a locator the author chose is left alone
    plt.close("all")


def test_sparse_ticks_never_adds_ticks_to_a_short_axis():
    fig, ax = plt.subplots(figsize=(1.2, 1.2))
    ax.plot([0, 100], [0, 100])
    fig.canvas.draw()
    before = (_ticks_in_view(ax.xaxis), _ticks_in_view(ax.yaxis))
    plotting.sparse_ticks(ax)
    fig.canvas.draw()
    assert _ticks_in_view(ax.xaxis) <= before[0] and _ticks_in_view(ax.yaxis) <= before[1]
    plt.close("all")


def test_sparse_ticks_thins_log_axes_too():
    from matplotlib.ticker import NullLocator

    fig, ax = plt.subplots()
    ax.semilogy(np.logspace(0, -8, 50))
    plotting.sparse_ticks(fig)
    fig.canvas.draw()
    assert isinstance(ax.yaxis.get_minor_locator(), NullLocator)
    assert _ticks_in_view(ax.yaxis) <= 6
    plt.close("all")
