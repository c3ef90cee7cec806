"""course_utils.widgets: pure rendering, messages instead of tracebacks, live and static views."""
import base64
import gc
import io
import json
import os
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import widgets as W


def draw_line(slope=1.0, kind="line"):
    if slope > 4:
        raise ValueError(f"slope {slope} is too steep to draw")
    fig, ax = plt.subplots()
    x = np.linspace(0, 1, 5)
    ax.plot(x, slope * x, "-" if kind == "line" else "o")
    ax.set_title(f"slope {slope} {kind}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return fig


@pytest.fixture
def fig():
    return W.interactive_figure(draw_line, title="demo", slope=W.Slider(0, 5, 0.5, value=1.0, static=[0, 1, 2]),
                                kind=W.Choice(["line", "dots"]))


def test_figure_uses_defaults_and_overrides(fig):
    assert "slope 1.0 line" in W.figure_texts(fig.figure())
    assert "slope 2.0 dots" in W.figure_texts(fig.figure(slope=2.0, kind="dots"))


def test_errors_become_messages_not_tracebacks(fig):
    texts = W.figure_texts(fig.figure(slope=5.0))
    assert texts == ["slope 5.0 is too steep to draw"]
    assert fig.render(slope=5.0).startswith(b"\x89PNG")


def test_a_frame_is_drawn_once_and_the_cache_is_bounded(monkeypatch):
    calls = []

    def draw(slope=1.0):
        calls.append(slope)
        return draw_line(slope)

    f = W.interactive_figure(draw, slope=W.Slider(0, 3, 0.5, value=1.0))
    f._repr_mimebundle_()  # the static HTML and the live widget both show the default frame
    assert calls == [1.0]
    assert f.render(slope=1.0) == f.render()  # the defaults fill in: the same frame
    assert calls == [1.0]
    f.render(slope=2.0)
    f.render(slope=2.0, cache=False)  # what the benchmark times: always drawn
    assert calls == [1.0, 2.0, 2.0]
    monkeypatch.setattr(W, "FRAME_CACHE", 2)
    for s in (0.0, 0.5, 1.5):
        f.render(slope=s)
    assert len(f._frames) == 2  # the oldest frames were dropped
    f.render(slope=0.0)
    assert calls[-1] == 0.0
    with pytest.raises(ValueError, match="cannot be called 'cache'"):
        W.interactive_figure(draw, cache=W.Slider(0, 1, 1))


def draw_log(decades=3, wide=False):
    """A frame with ``$10^k$`` tick labels, whose figure size depends on ``wide``."""
    fig, ax = plt.subplots(figsize=(8 if wide else 5, 3))
    x = np.logspace(-decades, 0, 50)
    ax.loglog(x, x ** 2, label="x²")
    ax.set(xlabel="x", ylabel="x²", title=f"{decades} decades")
    ax.legend()
    return fig


def test_a_frame_frees_its_own_cyclic_garbage(fig):
    """A frame's closed figure is cyclic garbage: draw_frame frees it, so no full collection is left to do it.

    The contrast: the same frame drawn with the collector running leaves thousands of objects
    behind for a later collection (which then lands, 55-130 ms long, inside some other frame).
    """
    fig.draw_frame({"slope": 1.0, "kind": "line"})      # warm Matplotlib's caches
    gc.collect()
    png, seconds = fig.draw_frame({"slope": 2.0, "kind": "dots"})
    assert png.startswith(b"\x89PNG") and seconds >= 0
    assert gc.isenabled()
    assert gc.collect() < 50
    W._png(fig.figure(slope=3.0))                       # the same kind of frame, without frame_garbage
    assert gc.collect() > 1000
    with W.frame_garbage():                              # nested in a paused block: leaves the collector alone
        gc.disable()
        with W.frame_garbage():
            pass
        assert not gc.isenabled()
        gc.enable()


def test_frames_reuse_the_renderer_of_the_same_size_and_draw_the_same_pixels(monkeypatch):
    monkeypatch.setattr(W, "_RENDERERS", W.OrderedDict())
    f = W.interactive_figure(draw_log, decades=W.Slider(1, 8, 1, value=3), wide=W.Choice([False, True]))
    first = f.render(decades=3, cache=False)
    (key, renderer), = W._RENDERERS.items()
    other = f.render(decades=7, cache=False)  # different pixels drawn by the same renderer
    assert W._RENDERERS[key] is renderer and other != first
    assert f.render(decades=3, cache=False) == first  # nothing of the last frame is left behind
    f.render(decades=3, wide=True, cache=False)  # another size: its own renderer
    assert len(W._RENDERERS) == 2 and W._RENDERERS[key] is renderer
    monkeypatch.setattr(W, "_reuse_renderer", lambda fig: None)  # Matplotlib's own behaviour
    assert f.render(decades=3, cache=False) == first
    assert f.render(decades=7, cache=False) == other


@pytest.mark.parametrize("layout", ["tight", "placeholder", "none"])
def test_a_frame_is_drawn_once_into_the_same_bytes_as_savefig(layout, monkeypatch):
    """``_draw_png`` skips ``savefig``'s extra layout pass; the PNG of a fresh figure must not change, whatever the
    layout engine."""
    def make():
        with matplotlib.rc_context({"figure.autolayout": layout != "none"}):
            fig = draw_log(4)
        assert (fig.get_layout_engine() is None) == (layout == "none")
        if layout == "placeholder":
            fig.set_layout_engine("none")   # on a tight-layout figure this leaves a placeholder engine
            fig.subplots_adjust(left=0.2, bottom=0.2)
        return fig

    expected, got = io.BytesIO(), io.BytesIO()
    fig = make()
    fig.savefig(expected, format="png", pil_kwargs={"compress_level": W.FRAME_PNG_LEVEL})
    plt.close(fig)
    drawn, real_draw = [], matplotlib.figure.Figure.draw   # savefig would draw twice when there is a layout engine
    monkeypatch.setattr(matplotlib.figure.Figure, "draw", lambda self, renderer: drawn.append(1) or real_draw(self, renderer))
    fig = make()
    W._draw_png(fig, got)
    plt.close(fig)
    assert got.getvalue() == expected.getvalue() and len(drawn) == 1


def test_a_frame_falls_back_to_savefig_when_rc_asks_for_more(monkeypatch):
    fig = draw_log(2)
    with matplotlib.rc_context({"savefig.dpi": 45}):
        buf = io.BytesIO()
        W._draw_png(fig, buf)
    assert W._png_width(buf.getvalue()) == 5 * 45   # savefig's dpi, not the figure's 90
    plt.close(fig)


def _zlib_level(png: bytes) -> int:
    """FLEVEL of the first IDAT chunk's zlib header: 0 fastest, 1 fast, 2 default, 3 maximum."""
    i = png.index(b"IDAT") + 4
    return png[i + 1] >> 6


def test_live_frames_are_encoded_fast_and_the_book_recompresses_them(fig):
    png = fig.render(cache=False)
    assert _zlib_level(png) == 0, "frames should use zlib level 1 (FRAME_PNG_LEVEL)"
    small = W.book_png(png)
    assert len(small) < len(png) / 2


def test_a_figure_that_is_not_agg_keeps_its_own_renderer(monkeypatch):
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    monkeypatch.setattr(W, "_RENDERERS", W.OrderedDict())
    fig = draw_log()
    FigureCanvasSVG(fig)
    assert W._reuse_renderer(fig) is None
    plt.close(fig)


def test_the_books_extra_frames_are_timed_apart(monkeypatch):
    """make test takes the book's extra frames out of a chapter's timed default run; the default frame,
    which a student's run draws too, stays in."""
    import time

    def draw(slope=1.0):
        time.sleep(0.0 if slope == 1.0 else 0.05)
        return draw_line(slope)

    monkeypatch.setattr(W, "BOOK_FRAMES_SECONDS", [0.0])
    f = W.interactive_figure(draw, slope=W.Slider(0, 3, 1.0, value=1.0, static=[0, 1, 2, 3]))
    f.static_html(all_frames=False)
    assert W.BOOK_FRAMES_SECONDS[0] == 0.0  # a student's run: only the default frame
    f.static_html(all_frames=True)
    assert W.BOOK_FRAMES_SECONDS[0] >= 3 * 0.05  # the three other frames
    f2 = W.interactive_figure(lambda slope=1.0: draw_line(slope), slope=W.Slider(0, 3, 1.0, value=1.0, static=[1]))
    before = W.BOOK_FRAMES_SECONDS[0]
    f2.static_html(all_frames=True)
    assert W.BOOK_FRAMES_SECONDS[0] == before  # a single (default) frame adds nothing


def test_unknown_control_is_a_programming_error(fig):
    with pytest.raises(TypeError, match="unknown control"):
        fig.figure(colour="red")


def test_declaration_errors():
    with pytest.raises(ValueError, match="max > min"):
        W.Slider(3, 1)
    with pytest.raises(ValueError, match="outside"):
        W.Slider(0, 1, 0.1, value=2)
    with pytest.raises(ValueError, match="not one of"):
        W.Choice(["a"], value="b")
    with pytest.raises(ValueError, match="at least one control"):
        W.interactive_figure(draw_line)
    with pytest.raises(TypeError, match="Slider or a Choice"):
        W.interactive_figure(draw_line, slope=3)


def test_slider_values():
    s = W.Slider(1, 30, 1, value=5)
    assert s.is_int and s.all_values() == list(range(1, 31))
    sv = s.static_values()
    assert 5 in sv and sv[0] == 1 and sv[-1] == 30 and len(sv) <= 8
    f = W.Slider(0.0, 1.0, 0.25, value=0.5)
    assert not f.is_int and f.all_values() == [0.0, 0.25, 0.5, 0.75, 1.0]
    p = W.Slider(0, 40, 1, value=0, play=True)
    assert len(p.static_values()) == 25


def test_live_widget_redraws_on_change(fig):
    box = fig.widget
    image = fig._image
    before = image.value
    slider = next(w for w in _walk(box) if w.__class__.__name__ == "FloatSlider")
    slider.value = 3.0
    assert bytes(image.value) != bytes(before) and bytes(image.value).startswith(b"\x89PNG")
    slider.value = 4.5  # error path: the image shows the message, nothing raises
    assert bytes(image.value).startswith(b"\x89PNG")


def _walk(w):
    yield w
    for c in getattr(w, "children", ()):
        yield from _walk(c)


def test_play_button_is_linked():
    f = W.interactive_figure(draw_line, slope=W.Slider(0, 4, 1, value=0, play=True))
    names = [w.__class__.__name__ for w in _walk(f.widget)]
    assert "Play" in names and "IntSlider" in names


def test_mimebundle_has_live_and_static_views(fig):
    bundle = fig._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "course-static-widget" in bundle["text/html"]


def test_static_html_single_frame_by_default(fig, monkeypatch):
    monkeypatch.delenv("COURSE_STATIC_WIDGETS", raising=False)
    h = fig.static_html()
    assert 'data-frames="1"' in h and "run the notebook" in h


def test_static_html_all_frames(fig, monkeypatch):
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    h = fig.static_html()
    # slope static values {0, 1, 2} (default 1.0 included) x kinds {line, dots}
    assert 'data-frames="6"' in h
    assert h.count('type="range"') == 1 and h.count("<select") == 1
    frames = json.loads(re.search(r"var frames = (\{.*?\});", h, re.S).group(1))
    images = json.loads(re.search(r"var images = (\[.*?\]);", h, re.S).group(1))
    assert len(frames) == 6 and set(frames.values()) <= set(range(len(images)))
    assert len(images) == 6  # six different pictures
    assert "http://" not in h and "https://" not in h


def test_identical_frames_are_stored_once_and_frames_are_palette_pngs(monkeypatch):
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    f = W.interactive_figure(lambda a=0, b="x": draw_line(slope=1.0), a=W.Slider(0, 3, 1), b=W.Choice(["x", "y"]))
    h = f.static_html()
    frames = json.loads(re.search(r"var frames = (\{.*?\});", h, re.S).group(1))
    images = json.loads(re.search(r"var images = (\[.*?\]);", h, re.S).group(1))
    assert len(frames) == 8 and len(images) == 1  # the picture does not depend on the controls
    png = base64.b64decode(images[0])
    assert png[25] == 3  # IHDR colour type 3: indexed (palette) colour
    plain = f.render()
    assert len(png) < len(plain) / 2  # the palette version is much smaller


def test_too_many_static_frames_is_refused():
    f = W.interactive_figure(draw_line, slope=W.Slider(0, 4, 0.01, static=list(np.linspace(0, 4, 41))),
                             kind=W.Choice(["line", "dots"]))
    with pytest.raises(ValueError, match="static frames"):
        f.static_html(all_frames=True)


def test_frame_turns_errors_into_a_message_figure_and_closes_what_it_opened():
    import matplotlib.pyplot as plt

    @W.frame
    def draw(k=1):
        plt.subplots()
        if k > 3:
            raise ValueError(f"k={k} is larger than the 3 training points")
        fig, ax = plt.subplots()
        ax.set_title(f"k = {k}")
        return fig

    before = len(plt.get_fignums())
    fig = draw(k=5)
    assert any("larger than the 3 training points" in t for t in W.figure_texts(fig))
    assert len(plt.get_fignums()) == before + 1  # only the message figure is left open
    assert "k = 2" in W.figure_texts(draw(k=2))
    with pytest.raises(TypeError, match="unexpected keyword"):
        draw(q=1)  # a programming error, not a student's setting
    assert W.frame(draw) is draw  # applying it twice changes nothing


def test_every_frame_gets_the_frames_fewer_ticks():
    import matplotlib.pyplot as plt

    from course_utils import plotting

    def draw(top=16):
        fig, ax = plt.subplots(figsize=(6, 6))
        ax.plot([0, top], [0, top])
        return fig

    assert len(draw().axes[0].yaxis.get_major_locator()()) > plotting.FRAME_TICK_BINS + 2  # Matplotlib's own
    fig = W.interactive_figure(draw, top=W.Slider(8, 16, 8, value=16)).figure()
    assert len(fig.axes[0].yaxis.get_major_locator()()) <= plotting.FRAME_TICK_BINS + 2  # two may fall outside
    plt.close("all")


def _fresh_line(top=2.0, warn=False):
    fig, ax = plt.subplots(figsize=(5, 3), layout="none")
    ax.plot([0, 1, 2], [0, top / 2, top], marker="o")
    ax.set_title(f"up to {top}")
    if warn:
        ax.text(0.5, 0.5, "too steep", transform=ax.transAxes)
    return fig


def test_a_kept_figure_is_built_once_off_pyplot_and_draws_what_a_new_figure_draws():
    builds = []

    @W.kept_figure
    def parts(fig):
        builds.append(fig)
        fig.set_size_inches(5, 3)
        ax = fig.subplots()
        line, = ax.plot([], [], marker="o")
        return fig, ax, line, ax.text(0.5, 0.5, "too steep", transform=ax.transAxes)

    def kept_line(top=2.0, warn=False):
        fig, ax, line, message = parts()
        line.set_data([0, 1, 2], [0, top / 2, top])
        ax.relim()
        ax.autoscale_view()
        ax.set_title(f"up to {top}")
        message.set_visible(warn)
        return fig

    before = plt.get_fignums()
    kept = W.interactive_figure(kept_line, top=W.Slider(1, 9, 1, value=2), warn=W.Choice([False, True]))
    fresh = W.interactive_figure(_fresh_line, top=W.Slider(1, 9, 1, value=2), warn=W.Choice([False, True]))
    settings = [dict(top=2), dict(top=9, warn=True), dict(top=1), dict(top=2)]
    pngs = [kept.render(cache=False, **p) for p in settings]
    assert pngs == [fresh.render(cache=False, **p) for p in settings]  # nothing of an earlier frame is left
    assert len(set(pngs)) == 3 and len(builds) == 1 and plt.get_fignums() == before
    fig = kept.figure(top=3)
    assert fig is builds[0] and type(fig.canvas).__name__ == "FigureCanvasAgg"
    assert "too steep" not in W.figure_texts(fig)  # hidden text is not reported
    assert "too steep" in W.figure_texts(kept.figure(top=3, warn=True))


def test_frame_reports_a_function_that_returns_the_wrong_thing():
    fig = W.frame(lambda: 42)()
    assert any("not a Matplotlib Figure" in t for t in W.figure_texts(fig))


def test_the_sweep_catches_a_frame_that_crashes_with_a_bug_and_accepts_clear_messages():
    from widget_sweep import sweep

    def buggy(k=1):
        if k == 7:
            return [1, 2][k]  # IndexError: a bug a student could reach with the slider
        return draw_line(slope=1.0)

    with pytest.raises(AssertionError, match="IndexError"):
        sweep(W.interactive_figure(buggy, k=W.Slider(1, 9, 1)), max_examples=20)

    def clear(k=1):
        if k > 5:
            raise ValueError(f"k = {k} is too large: use k <= 5")
        return draw_line(slope=1.0)

    assert sweep(W.interactive_figure(clear, k=W.Slider(1, 9, 1)), max_examples=10) >= 3
    assert W.REGISTRY[-1].func is clear


# ------------------------------------------------------------- drawing ahead
def test_a_slider_snaps_to_its_own_values():
    s = W.Slider(0, 1, 0.1, value=0.3)
    assert s.snap(0.1 + 0.2) == s.all_values()[3]  # 0.30000000000000004 from a browser is the frame of 0.3
    assert s.snap(-5) == 0 and s.snap(7) == s.all_values()[-1]
    assert W.Slider(1, 9, 2, value=3).snap(4.2) == 5


def test_the_neighbours_are_one_step_away_and_a_play_button_looks_ahead(fig, monkeypatch):
    assert fig.neighbours({}) == [{"slope": 1.5, "kind": "line"}, {"slope": 0.5, "kind": "line"},
                                  {"slope": 1.0, "kind": "dots"}]
    assert fig.neighbours({"slope": 5.0, "kind": "dots"}) == [{"slope": 4.5, "kind": "dots"},
                                                             {"slope": 5.0, "kind": "line"}]
    play = W.interactive_figure(draw_line, slope=W.Slider(0, 4, 1, value=0, play=True), kind=W.Choice(["line", "dots"]))
    assert [p["slope"] for p in play.neighbours({})] == [1, 2, 0]  # 1 and 2 ahead, then the other option
    assert play.neighbours({"slope": 3})[:3] == [{"slope": 4, "kind": "line"}, {"slope": 2, "kind": "line"},
                                                 {"slope": 3, "kind": "dots"}]
    # a student who just stepped down is likeliest to step down again: the next two values that way come first
    assert fig.neighbours({"slope": 2.0}, moved=("slope", -1)) == [
        {"slope": 1.5, "kind": "line"}, {"slope": 1.0, "kind": "line"}, {"slope": 2.5, "kind": "line"},
        {"slope": 2.0, "kind": "dots"}]
    assert fig._moved({"slope": 2.5, "kind": "line"}, {"slope": 2.0, "kind": "line"}) == ("slope", -1)
    assert fig._moved({"slope": 2.0, "kind": "line"}, {"slope": 2.0, "kind": "dots"}) is None
    monkeypatch.setattr(W, "PREFETCH_FRAMES", 2)
    assert len(fig.neighbours({})) == 2


class FakeLoop:
    """``call_later`` that runs nothing until the test says the kernel is idle."""

    def __init__(self):
        self.queue = []

    def call_later(self, delay, callback):
        self.queue.append(callback)

    def idle(self, n=None):
        while self.queue and n != 0:
            self.queue.pop(0)()
            n = None if n is None else n - 1


def test_frames_next_to_the_setting_are_drawn_when_the_kernel_is_idle(monkeypatch):
    calls = []

    def draw(slope=1.0, kind="line"):
        calls.append((slope, kind))
        return draw_line(slope, kind)

    f = W.interactive_figure(draw, slope=W.Slider(0, 5, 0.5, value=1.0), kind=W.Choice(["line", "dots"]))
    loop = FakeLoop()
    assert f.prefetch({"slope": 2.0}, loop.call_later) == 3
    assert calls == []  # nothing is drawn until the kernel is idle ...
    loop.idle(1)  # ... and then one frame at a time
    assert calls == [(2.5, "line")] and f.cached(slope=2.5)
    assert f.prefetch({"slope": 4.0}, loop.call_later) == 3  # the student moved on: the old round is abandoned
    loop.idle()
    assert calls[1:] == [(4.5, "line"), (3.5, "line"), (4.0, "dots")]
    assert f.render(slope=3.5) and len(calls) == 4  # the next single step comes from the cache
    assert f.prefetch({"slope": 4.0}, loop.call_later) == 0  # all drawn already
    f._draw_seconds = 0.2  # what the last frame took: a round draws only the frames that fit in ``seconds``
    assert f.prefetch({"slope": 0.0}, loop.call_later, seconds=0.45) == 2
    assert f.prefetch({"slope": 0.0}, loop.call_later, seconds=0.1) == 0
    assert f.prefetch({"slope": 0.0}, loop.call_later, seconds=-1.0) == 0
    loop.queue.clear()
    monkeypatch.setenv("COURSE_PREFETCH", "0")
    assert f.prefetch({"slope": 1.0}, loop.call_later) == 0
    monkeypatch.delenv("COURSE_PREFETCH")
    assert f.prefetch({"slope": 1.0}) == 0  # no running event loop (a script, a test): nothing is scheduled


def test_a_round_stops_when_the_frames_drawn_ahead_are_slower_than_expected():
    import time

    def slow(slope=1.0):
        time.sleep(0.15 if slope != 1.0 else 0.0)
        return draw_line(slope)

    f = W.interactive_figure(slow, slope=W.Slider(0, 5, 0.5, value=1.0))
    f.render()
    f._draw_seconds = 0.02  # a fast frame: the next ones are expected to take as long
    loop = FakeLoop()
    assert f.prefetch({}, loop.call_later, seconds=0.12) == 2  # 1.5 and 0.5 fit at the last frame's time ...
    loop.idle()
    assert f.cached(slope=1.5) and not f.cached(slope=0.5)  # ... but 1.5 took over 0.15 s: no room for 0.5


def test_moving_a_slider_leaves_every_random_generator_as_it_was(monkeypatch):
    import random

    import torch

    def draw(slope=1.0):  # a frame that seeds the global generators, as a chapter's training frame may
        random.seed(1)
        np.random.seed(1)  # noqa: NPY002
        torch.manual_seed(1)
        random.random(), np.random.rand(), torch.rand(1)  # noqa: NPY002 (and draws from them)
        return draw_line(slope)

    f = W.interactive_figure(draw, slope=W.Slider(0, 3, 1, value=1))
    box = f.widget
    random.seed(7), np.random.seed(7), torch.manual_seed(7)  # noqa: NPY002
    expected = random.random(), np.random.rand(), torch.rand(1).item()  # noqa: NPY002
    random.seed(7), np.random.seed(7), torch.manual_seed(7)  # noqa: NPY002
    loop = FakeLoop()
    monkeypatch.setattr(W, "PREFETCH_DELAY", -100.0)  # as if the student had paused for long
    monkeypatch.setattr(f, "prefetch", lambda params, call_later=None, _p=f.prefetch, **kw: _p(params, loop.call_later, **kw))
    next(w for w in _walk(box) if w.__class__.__name__ == "IntSlider").value = 2
    loop.idle()
    assert f.cached(slope=3) and f.cached(slope=1)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected  # noqa: NPY002


KERNEL_CODE = r"""
import time
from course_utils import widgets as W
import matplotlib.pyplot as plt
def draw(slope=1.0):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, slope])
    return fig
fig = W.interactive_figure(draw, slope=W.Slider(0, 5, 0.5, value=1.0, play=True))
box = fig.widget
slider = [w for w in box.children[0].children if w.__class__.__name__ == "FloatSlider"][0]
print(slider.model_id)
"""


@pytest.mark.skipif(os.name != "posix", reason="IPC transport needs Unix sockets")
def test_a_kernel_draws_ahead_after_a_browser_moves_a_slider():
    """The real path: the browser's comm message moves the slider; the idle kernel then draws the next frames."""
    import time

    from jupyter_client.manager import start_new_kernel

    from course_utils.kernels import use_ipc_kernels

    use_ipc_kernels()
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        out = []

        def run(code):
            reply = kc.execute_interactive(code, timeout=120, output_hook=lambda m: out.append(
                m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
            assert reply["content"]["status"] == "ok", reply["content"]

        run(KERNEL_CODE)
        model_id = out[-1].strip()
        time.sleep(2.5)  # a student looks at the figure before moving the slider: time to draw ahead
        kc.session.send(kc.shell_channel.socket, kc.session.msg("comm_msg", {
            "comm_id": model_id, "data": {"method": "update", "state": {"value": 2.0}, "buffer_paths": []}}))
        deadline = time.time() + 30
        while time.time() < deadline:
            time.sleep(0.5)
            out.clear()
            run("print([fig.cached(slope=s) for s in (2.0, 2.5, 3.0, 1.5)], fig.cached(slope=4.0))")
            if out and out[-1].startswith("[True, True, True, True]"):
                break
        assert out[-1].strip() == "[True, True, True, True] False"  # the play button's next two, then one back
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
