"""The foundation every tier shares: divergence test, progress bars, timers, moving averages."""
import numpy as np
import pytest

from course_utils import base


@pytest.mark.parametrize("value, ref, expected", [
    (1.0, 1.0, False), (float("nan"), 1.0, True), (float("inf"), 1.0, True),
    (1e9, 1.0, True), (1e7, 1.0, False), (1e9, 100.0, False)])
def test_blew_up(value, ref, expected):
    assert base.blew_up(value, ref) is expected


def test_divergence_message_names_the_step_and_the_hint():
    msg = base.divergence_message("gradient descent", 7, float("inf"))
    assert "gradient descent diverged" in msg and "step 7" in msg and "smaller learning rate" in msg


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "fast", None])
def test_check_learning_rate_rejects_clearly(bad):
    with pytest.raises(ValueError, match="learning rate"):
        base.check_learning_rate(bad)
    assert base.check_learning_rate("0.5") == 0.5


def test_progress_yields_everything_and_closes_on_interrupt(monkeypatch):
    assert list(base.progress(range(5), "x")) == list(range(5))
    monkeypatch.setenv("COURSE_PROGRESS_BARS", "0")
    assert list(base.progress(range(3))) == [0, 1, 2]
    monkeypatch.delenv("COURSE_PROGRESS_BARS")
    gen = base.progress(range(10), "x")
    next(gen)
    gen.close()  # a loop that ends: the finally clause closes the bar
    assert base.close_progress_bars() == 0


def test_bars_of_interrupted_loops_are_closed_after_the_cell(monkeypatch):
    monkeypatch.delenv("COURSE_PROGRESS_BARS", raising=False)
    kept = []  # an interrupted loop's generator lives on in the traceback IPython keeps

    def interrupted():
        gen = base.progress(range(10), "x")
        kept.append(gen)
        for _ in gen:
            raise KeyboardInterrupt
    try:
        interrupted()
    except KeyboardInterrupt:
        pass
    assert base.close_progress_bars() == 1
    assert base.close_progress_bars() == 0


def test_moving_averages_against_closed_forms():
    v = np.arange(1.0, 6.0)
    np.testing.assert_allclose(base.running_mean(v, 2), [1, 1.5, 2.5, 3.5, 4.5])
    # constant input: the bias-corrected EWMA is exact from the first step, the raw one is (1 − βᵗ)·c
    c = np.full(4, 3.0)
    np.testing.assert_allclose(base.ewma(c, 0.9), c)
    np.testing.assert_allclose(base.ewma(c, 0.9, bias_correction=False), 3 * (1 - 0.9 ** np.arange(1, 5)))
    with pytest.raises(ValueError):
        base.ewma(c, 1.0)


def test_timed_and_stopwatch():
    seconds, result = base.timed(sum, [1, 2, 3], repeat=2)
    assert result == 6 and seconds >= 0
    with base.stopwatch() as t:
        pass
    assert t["seconds"] >= 0


def test_as_images_reshapes_square_rows_and_names_bad_shapes():
    assert base.as_images(np.zeros((5, 64))).shape == (5, 8, 8)
    assert base.as_images(np.zeros((5, 12)), shape=(3, 4)).shape == (5, 3, 4)
    assert base.as_images(np.zeros((5, 4, 4))).shape == (5, 4, 4)
    with pytest.raises(ValueError, match="not square"):
        base.as_images(np.zeros((5, 10)))
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        base.as_images(np.zeros(5))
