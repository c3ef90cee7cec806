"""Interactive figures declared from a plain function of their parameters.

Contract::

    def draw(k=5, metric="L2"):          # a pure function of the controls ...
        fig, ax = plt.subplots()
        ...
        return fig                        # ... that returns a Matplotlib figure

    interactive_figure(draw, k=Slider(1, 25, 1, value=5), metric=Choice(["L1", "L2"]))

What the student and the instructor get from that one call:

- In JupyterLab: live ipywidgets controls above an image that is redrawn
  whenever a control moves.
- In the Jupyter Book: the same output also carries a ``text/html`` rendering,
  a self-contained HTML control (range inputs, selects, a play button) that
  swaps between precomputed frames with a few lines of inline JavaScript: no
  kernel, no server, no network. The book prefers it (``_config.yml``).
  Frames are precomputed only when ``COURSE_STATIC_WIDGETS=1`` (``make book``
  sets it); otherwise the HTML shows the current frame only, so that ordinary
  runs stay fast. ``Slider(..., static=[...])`` chooses the values baked into
  the book; by default up to 7 evenly spaced values including the default.
- Between slider moves, while the kernel is idle, the live widget draws the
  frames one step away from the current setting (the next value of a play
  button first), so the student's next single step is shown at once
  (:meth:`InteractiveFigure.prefetch`). Those frames, and every frame a moved
  control draws, leave the global random generators as they found them, so
  moving a slider never changes what later cells compute.
- Robustness: if the function raises (say ``ValueError("k=40 is larger than
  the 30 training points")``), the figure shows that message instead of a
  traceback. Functions should also detect numerical trouble themselves
  (a diverging learning rate) and say so with ``plotting.show_message``.

Test the function itself, and ``InteractiveFigure.figure(**params)`` /
``.render(**params)`` in ``tests/``: widget output areas stay empty under nbval.
"""
from __future__ import annotations

import base64
import functools
import gc
import html
import io
import itertools
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.figure
import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np

from ..config import env_flag, preserved_rng
from ..plotting import message_figure, sparse_ticks

MAX_STATIC_FRAMES = 80
#: frames a live widget draws ahead, while the kernel is idle, after a student moves a control
#: (:meth:`InteractiveFigure.prefetch`); ``COURSE_PREFETCH=0`` turns it off
PREFETCH_FRAMES = 4
#: seconds without a move before the kernel draws ahead; then seconds between the frames drawn ahead,
#: so that a message that arrives meanwhile (the student moved again, or ran a cell) is handled first
PREFETCH_DELAY = 0.5
PREFETCH_PAUSE = 0.05
#: share of the student's last pause between two moves that the kernel may spend drawing ahead: a
#: student who steps quickly gets no frames drawn ahead, which could only delay the next move
PREFETCH_SHARE = 0.5
FRAME_CACHE = 128  # rendered frames each interactive figure keeps (PNGs of tens of kB: chapter 03's is 65 kB)
#: seconds this process spent drawing the book's extra frames (every static frame but the default one, which a
#: student's run draws too): the test suite takes them out of a chapter's timed default run
BOOK_FRAMES_SECONDS = [0.0]


@dataclass
class Slider:
    """A numeric slider from ``min`` to ``max`` in steps of ``step``.

    Integer bounds and step give an integer slider. ``play=True`` adds a play
    button that steps through the values (for "epoch" or "time step" sliders).
    ``static`` lists the values precomputed for the book.
    """

    min: float
    max: float
    step: float = 1
    value: float | None = None
    description: str | None = None
    play: bool = False
    static: Sequence[float] | None = None
    log: bool = False  # display hint only: values are still min..max

    def __post_init__(self):
        if not self.max > self.min:
            raise ValueError(f"Slider needs max > min, got min={self.min}, max={self.max}")
        if self.step <= 0:
            raise ValueError(f"Slider step must be positive, got {self.step}")
        if self.value is None:
            self.value = self.min
        if not self.min <= self.value <= self.max:
            raise ValueError(f"Slider value {self.value} is outside [{self.min}, {self.max}]")

    @property
    def is_int(self) -> bool:
        return all(float(v).is_integer() for v in (self.min, self.max, self.step, self.value))

    def _cast(self, v):
        return int(round(v)) if self.is_int else float(v)

    def all_values(self) -> list:
        n = int(np.floor((self.max - self.min) / self.step + 1e-9)) + 1
        return [self._cast(self.min + i * self.step) for i in range(n)]

    def snap(self, v) -> float | int:
        """The slider's own value nearest ``v`` (``min + i * step``, as :meth:`all_values` makes them).

        A browser's slider can send ``0.30000000000000004`` for ``0.3``; snapped, both find the same frame.
        """
        n = len(self.all_values())
        return self._cast(self.min + min(max(round((float(v) - self.min) / self.step), 0), n - 1) * self.step)

    def static_values(self) -> list:
        if self.static is not None:
            vals = [self._cast(v) for v in self.static]
        else:
            allv = self.all_values()
            if self.play or len(allv) <= 7:
                vals = allv if len(allv) <= 25 else [allv[i] for i in np.linspace(0, len(allv) - 1, 25).round().astype(int)]
            else:
                vals = [allv[i] for i in np.linspace(0, len(allv) - 1, 7).round().astype(int)]
        vals = sorted(set(vals) | {self._cast(self.value)})
        bad = [v for v in vals if not self.min <= v <= self.max]
        if bad:
            raise ValueError(f"static values {bad} are outside [{self.min}, {self.max}]")
        return vals

    def make_widget(self, name: str):
        import ipywidgets as W

        cls = W.IntSlider if self.is_int else W.FloatSlider
        kwargs = dict(min=self._cast(self.min), max=self._cast(self.max), step=self._cast(self.step),
                      value=self._cast(self.value), description=self.description or name,
                      continuous_update=False, style={"description_width": "initial"})
        if not self.is_int:
            decimals = max(0, -int(np.floor(np.log10(self.step)))) if self.step < 1 else 0
            kwargs["readout_format"] = f".{min(decimals, 6)}f"
        slider = cls(**kwargs)
        if not self.play:
            return slider, slider
        play = W.Play(min=slider.min, max=slider.max, step=slider.step, value=slider.value,
                      interval=400, description=f"play {name}")
        W.jslink((play, "value"), (slider, "value"))
        return W.HBox([play, slider]), slider


@dataclass
class Choice:
    """A drop-down of ``options`` (strings or numbers)."""

    options: Sequence[Any]
    value: Any = None
    description: str | None = None
    static: Sequence[Any] | None = None

    def __post_init__(self):
        self.options = list(self.options)
        if not self.options:
            raise ValueError("Choice needs at least one option")
        if self.value is None:
            self.value = self.options[0]
        if self.value not in self.options:
            raise ValueError(f"Choice value {self.value!r} is not one of {self.options}")

    def all_values(self) -> list:
        return list(self.options)

    def static_values(self) -> list:
        vals = list(self.static) if self.static is not None else list(self.options)
        if self.value not in vals:
            vals.insert(0, self.value)
        return vals

    def make_widget(self, name: str):
        import ipywidgets as W

        dd = W.Dropdown(options=self.options, value=self.value, description=self.description or name,
                        style={"description_width": "initial"})
        return dd, dd


Control = Slider | Choice


def figure_texts(fig) -> list[str]:
    """Every piece of text drawn on ``fig`` (titles, labels, messages; not hidden ones): handy in tests."""
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text() and t.get_visible()]


#: Agg renderers kept between frames, by (width, height, dpi): see :func:`_reuse_renderer`
_RENDERERS: OrderedDict = OrderedDict()
_MAX_RENDERERS = 8


def _reuse_renderer(fig) -> tuple | None:
    """Give ``fig``'s Agg canvas the renderer that drew the last frame of the same pixel size.

    A widget draws a new figure at every frame, and a new figure gets a new renderer, whose
    caches start empty: Matplotlib keeps the measured size of every text it typesets, and the
    parsed ``$...$`` labels (log-axis ticks such as 10⁻³), per renderer. Handing the previous
    frame's renderer over keeps those caches warm; the renderer clears its pixels before every
    draw, so the PNG is byte for byte the same (``tests/unit/test_widgets.py`` checks both).
    Measured on chapters 03 and 07's frames: 20 % less time in ``savefig``. This uses the Agg
    canvas's private ``_lastKey``; for any other canvas, it does nothing. Returns the key.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas
    if not isinstance(canvas, FigureCanvasAgg) or not hasattr(canvas, "_lastKey"):
        return None
    w, h = canvas.get_width_height(physical=True)
    key = (w, h, fig.dpi)
    renderer = _RENDERERS.get(key)
    if renderer is not None and canvas._lastKey != key:
        canvas.renderer, canvas._lastKey = renderer, key
    return key


#: zlib level of a frame's PNG. Pillow's default (6) took 38 ms to encode chapter 07's frame and
#: level 1 took 24 ms, for a file 3 % smaller (104 kB against 108 kB; chapter 03's: 67 kB against
#: 64 kB). The book re-encodes its frames anyway (:func:`book_png`).
FRAME_PNG_LEVEL = 1


def _draw_png(fig, buf) -> None:
    """Write ``fig`` to ``buf`` as a PNG, drawing it once.

    ``savefig`` draws a figure twice when it has a layout engine (the course's style turns
    on ``tight_layout`` for every figure, and ``set_layout_engine("none")`` leaves a
    placeholder engine): a first pass that draws nothing but lays the figure out, then the
    real one. For an Agg canvas, this draws once, laying out as it goes, and writes the
    same pixels through the same ``imsave`` call (``tests/unit/test_widgets.py`` compares
    the bytes with ``savefig``'s); any other canvas gets ``savefig``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rc, canvas = matplotlib.rcParams, fig.canvas
    same_as_savefig = (type(canvas) is FigureCanvasAgg and canvas.device_pixel_ratio == 1
                       and rc["savefig.dpi"] in ("figure", fig.dpi) and rc["savefig.bbox"] is None
                       and rc["savefig.facecolor"] == "auto" and rc["savefig.edgecolor"] == "auto"
                       and not rc["savefig.transparent"])
    if not same_as_savefig:
        fig.savefig(buf, format="png", pil_kwargs={"compress_level": FRAME_PNG_LEVEL})
        return
    canvas.draw()
    matplotlib.image.imsave(buf, canvas.buffer_rgba(), format="png", origin="upper", dpi=fig.dpi,
                            metadata=None, pil_kwargs={"compress_level": FRAME_PNG_LEVEL})


@contextmanager
def frame_garbage() -> Iterator[None]:
    """Build and draw a frame with the cyclic garbage collector paused, then collect the frame's garbage.

    A frame leaves about 12,000 objects of cyclic garbage (a closed figure: its axes, ticks,
    texts and transforms point at each other). Drawn with the collector running, those objects
    live through the frame's many young collections, reach the oldest generation, and are freed
    together every 6–7 frames by a full collection: 55–130 ms, inside whichever frame triggers it
    (measured on chapter 15's frames, 60 in a row: 9 full collections, 1.35 s in all, the worst
    frame 0.27 s). With the collector paused, the garbage stays in the youngest generation, and
    collecting that generation alone frees it in about 8 ms, without scanning the rest of the
    heap: 0.50 s in all, the worst frame 0.20 s. ``tests/unit/test_widgets.py`` checks that no
    frame garbage survives. A no-op inside a block that has already paused the collector.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def _png(fig) -> bytes:
    key = _reuse_renderer(fig)
    buf = io.BytesIO()
    _draw_png(fig, buf)
    if key is not None and getattr(fig.canvas, "_lastKey", None) == key:
        _RENDERERS[key] = fig.canvas.renderer
        _RENDERERS.move_to_end(key)
        while len(_RENDERERS) > _MAX_RENDERERS:
            _RENDERERS.popitem(last=False)
    plt.close(fig)
    return buf.getvalue()


def book_png(png: bytes, colors: int = 256) -> bytes:
    """A smaller PNG for the book: the same picture with a palette of ``colors`` colours.

    Plots use few distinct colours, so a palette (no dithering) loses nothing visible
    and makes the file about three times smaller (measured on the chapters' frames).
    Returns ``png`` unchanged if Pillow cannot read it.
    """
    try:
        from PIL import Image

        with Image.open(io.BytesIO(png)) as im:
            pal = im.convert("RGB").quantize(colors=colors, method=Image.Quantize.FASTOCTREE,
                                             dither=Image.Dither.NONE)
        out = io.BytesIO()
        pal.save(out, format="PNG", optimize=True)
        return out.getvalue() if out.tell() < len(png) else png
    except Exception:
        return png


def _png_width(png: bytes) -> int:
    """Pixel width from a PNG header (bytes 16-19 of the IHDR chunk)."""
    return int.from_bytes(png[16:20], "big")


def _friendly(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, (ValueError, ArithmeticError)):
        return text
    return f"{type(exc).__name__}: {text}"


def frame(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for a widget frame ``draw_*(**controls) -> Figure``: it never raises.

    An exception inside ``func`` (say ``ValueError("k=40 is larger than the 30
    training points")``) closes the figures ``func`` opened and returns a figure
    that shows the message; returning ``None`` gives the current figure. Unknown
    keyword arguments still raise ``TypeError`` (a programming error, not a
    setting the student chose). ``InteractiveFigure`` applies it to every
    function it is given, so a ``draw_*`` function needs no try/except of its own.
    The figure it returns has the frames' fewer ticks (:func:`course_utils.plotting.sparse_ticks`).
    """
    if getattr(func, "__course_frame__", False):
        return func

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        # No plt.ioff() here: toggling interactive mode before IPython's inline
        # backend has switched it on leaves it off, and later figures of the
        # notebook would silently not show. render() closes what it draws instead.
        before = set(plt.get_fignums())
        try:
            fig = func(*args, **kwargs)
            if fig is None:
                fig = plt.gcf()
            if not isinstance(fig, matplotlib.figure.Figure):
                raise TypeError(f"{getattr(func, '__name__', 'the frame function')} returned "
                                f"{type(fig).__name__}, not a Matplotlib Figure")
            return sparse_ticks(fig)
        except TypeError as exc:
            if _is_signature_error(exc, func):
                raise
            return _message_for(exc, before)
        except Exception as exc:  # shown to the student, not raised
            return _message_for(exc, before)

    wrapper.__course_frame__ = True  # type: ignore[attr-defined]
    return wrapper


def kept_figure(build: Callable[[matplotlib.figure.Figure], Any]) -> Callable[[], Any]:
    """Decorator for a frame's figure builder: the figure is built once and updated at every frame.

    ``build(fig)`` gets an empty figure with an Agg canvas and no layout engine, which pyplot does
    not manage (a notebook never shows it by itself, ``plt.close`` and ``plt.get_fignums`` do not
    see it), lays out the axes and the artists that every frame has, and returns them (any object).
    The decorated function takes no argument and returns that object, built on the first call
    only. The frame function then changes the artists' data (``set_data``, ``set_extent``,
    ``set_text``, ``relim``) and returns the same figure each time: Matplotlib's animation pattern.

    Why: a new figure per frame builds every axes, tick and label again. Chapter 08's frame (three
    panels) took 0.128 s as a new figure and 0.093 s kept (medians over its 24 static settings, each
    a first visit, the two versions interleaved, 3 rounds; 0.130 s and 0.092 s in a second run).
    The cost: a frame function must set everything that differs between frames, and a figure it
    returned earlier changes with the next frame (use ``render`` for a picture that stays). Worth
    it for a frame of several panels whose layout never changes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    @functools.cache
    def kept():
        fig = matplotlib.figure.Figure()
        FigureCanvasAgg(fig)
        fig.set_layout_engine("none")
        return build(fig)

    return kept


def _message_for(exc: BaseException, before: set[int]):
    _close_new(before)
    fig = message_figure(_friendly(exc))
    fig._course_exception = type(exc)  # tests tell an intended ValueError from a bug
    return fig


def _close_new(before: set[int]) -> None:
    for num in set(plt.get_fignums()) - before:
        plt.close(num)


def _is_signature_error(exc: TypeError, func: Callable) -> bool:
    """True for "got an unexpected keyword argument" raised by calling ``func`` itself."""
    tb = exc.__traceback__
    depth = 0
    while tb is not None:
        depth += 1
        tb = tb.tb_next
    return depth <= 1 and "argument" in str(exc)


@dataclass
class InteractiveFigure:
    """What :func:`interactive_figure` returns; display it (last expression of a cell)."""

    func: Callable[..., Any]
    controls: dict[str, Control]
    title: str | None = None
    _widget: Any = field(default=None, repr=False)
    _image: Any = field(default=None, repr=False)
    _frames: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _prefetch_round: int = field(default=0, repr=False)
    _draw_seconds: float = field(default=0.0, repr=False)  # what the last frame drawn took, all in

    # ---------------------------------------------------------------- pure side
    def defaults(self) -> dict[str, Any]:
        return {k: (c._cast(c.value) if isinstance(c, Slider) else c.value) for k, c in self.controls.items()}

    def figure(self, **params):
        """Call the function with defaults overridden by ``params``; never raises.

        Unknown parameter names are a programming error and do raise.
        """
        unknown = set(params) - set(self.controls)
        if unknown:
            raise TypeError(f"unknown control(s) {sorted(unknown)}; this figure has {sorted(self.controls)}")
        return frame(self.func)(**{**self.defaults(), **params})

    def render(self, cache: bool = True, **params) -> bytes:
        """PNG bytes of :meth:`figure`.

        The last ``FRAME_CACHE`` frames are kept: displaying a figure draws its default frame
        for the static HTML and again for the live widget, and a student sliding back to a
        value (or a play button's second loop) should not wait twice. ``cache=False`` always
        draws (what the benchmark times).
        """
        key = self._key(params)
        if cache and key in self._frames:
            self._frames.move_to_end(key)
            return self._frames[key]
        png = self.draw_frame(params)[0]
        if cache:
            self._frames[key] = png
            while len(self._frames) > FRAME_CACHE:
                self._frames.popitem(last=False)
        return png

    def _key(self, params: dict) -> tuple:
        return tuple(sorted((k, repr(v)) for k, v in {**self.defaults(), **params}.items()))

    def cached(self, **params) -> bool:
        """Whether the frame of ``params`` is in the frame cache (drawn before, or ahead)."""
        return self._key(params) in self._frames

    def neighbours(self, params: dict, moved: tuple[str, int] | None = None) -> list[dict]:
        """The settings one step away from ``params``, likeliest next first, at most ``PREFETCH_FRAMES``.

        ``moved = (name, +1 or -1)`` says which slider the student just moved, and which way: its
        next two values that way come first (a student stepping through values keeps going), as do
        a play button's next two (it steps forward). Then one step up and one down of every slider,
        then the options next to each drop-down's choice. Values outside a control's range are left
        out, and so is ``params`` itself.
        """
        current = {**self.defaults(), **params}
        ahead: list[dict] = []
        around: list[dict] = []
        for name, c in self.controls.items():
            values = c.all_values()
            if isinstance(c, Slider):
                i = values.index(c.snap(current[name]))
            elif current[name] in values:
                i = values.index(current[name])
            else:
                continue
            way = moved[1] if moved is not None and moved[0] == name and isinstance(c, Slider) else 0
            if isinstance(c, Slider) and c.play and not way:
                way = 1
            for d in ((way, 2 * way, -way) if way else (1, -1)):
                if 0 <= i + d < len(values):
                    (ahead if way and d * way > 0 else around).append({**current, name: values[i + d]})
        out: list[dict] = []
        for p in ahead + around:
            if p != current and p not in out:
                out.append(p)
        return out[:PREFETCH_FRAMES]

    def prefetch(self, params: dict, call_later: Callable | None = None,
                 moved: tuple[str, int] | None = None, seconds: float | None = None) -> int:
        """Draw the frames next to ``params`` (:meth:`neighbours`) into the cache while the kernel is idle.

        The first waits until no control has moved for ``PREFETCH_DELAY`` seconds, the others follow
        one at a time, ``PREFETCH_PAUSE`` apart. ``call_later(delay, callback)`` schedules the work; by
        default the running asyncio loop's: in a Jupyter kernel, the loop that also receives the
        slider's messages, so a frame drawn ahead never runs at the same time as one the student asked
        for, and a message that arrives meanwhile waits at most one frame. Each call starts a new round
        and abandons what an earlier round had left to draw. ``seconds`` caps the round: as many frames
        as fit, at the time the last frame took, and no further frame once the frames drawn so far
        leave less than that (neighbours can be slower to draw); the live widget passes ``PREFETCH_SHARE`` of the
        student's last pause between moves, so that a student who steps quickly is not kept waiting by
        frames drawn ahead. Without a running loop (a plain script, the tests, papermill, which moves
        no slider), nothing is drawn. Returns the number of frames scheduled.
        """
        self._prefetch_round += 1
        if not env_flag("COURSE_PREFETCH", default=True):
            return 0
        if call_later is None:
            import asyncio

            try:
                call_later = asyncio.get_running_loop().call_later
            except RuntimeError:
                return 0
        todo = [p for p in self.neighbours(params, moved) if not self.cached(**p)]
        left = [float("inf") if seconds is None else seconds]  # seconds of drawing this round may still take
        if seconds is not None:
            todo = todo[:max(0, int(seconds / max(self._draw_seconds, 1e-3)))]
        this_round = self._prefetch_round

        def draw_next() -> None:
            if this_round != self._prefetch_round or not todo:
                return  # the student moved on: a newer round draws around the new setting
            p = todo.pop(0)
            if not self.cached(**p):
                t0 = time.perf_counter()
                with preserved_rng():
                    self.render(**p)
                left[0] -= time.perf_counter() - t0
            if todo and left[0] >= self._draw_seconds:  # frames slower than the last one: stop within the budget
                call_later(PREFETCH_PAUSE, draw_next)

        if todo:
            call_later(PREFETCH_DELAY, draw_next)
        return len(todo)

    def _moved(self, before: dict, after: dict) -> tuple[str, int] | None:
        """``(name, +1 or -1)`` of the slider that changed between two settings, if one did."""
        for name, c in self.controls.items():
            if isinstance(c, Slider) and before.get(name) != after.get(name):
                return name, 1 if float(after[name]) > float(before[name]) else -1
        return None

    def draw_frame(self, params: dict) -> tuple[bytes, float]:
        """``(PNG bytes, seconds in the frame function)`` of one frame, never from the cache.

        What a moved slider costs: the frame function (its computation and its artists), then
        Matplotlib's drawing and the PNG, inside :func:`frame_garbage`. The benchmark times this.
        """
        t0 = time.perf_counter()
        with frame_garbage():
            fig = self.figure(**params)
            seconds = time.perf_counter() - t0
            png = _png(fig)
            del fig  # else this reference keeps the closed figure alive through the collection
        self._draw_seconds = time.perf_counter() - t0
        return png, seconds

    # ---------------------------------------------------------------- live side
    @property
    def widget(self):
        """The ipywidgets box (controls + image), built on first use."""
        if self._widget is None:
            import ipywidgets as W

            boxes, values = [], {}
            for name, c in self.controls.items():
                box, value_widget = c.make_widget(name)
                boxes.append(box)
                values[name] = value_widget
            self._image = W.Image(format="png", layout=W.Layout(max_width="100%", height="auto"))

            def show(png: bytes) -> None:
                self._image.value = png
                self._image.layout.width = f"{_png_width(png)}px"  # natural size: no blurry stretching

            shown = [self.defaults(), time.monotonic()]  # the setting on show, and when it last changed

            def update(_change=None):
                params = {k: (c.snap(values[k].value) if isinstance(c, Slider) else values[k].value)
                          for k, c in self.controls.items()}
                pause = time.monotonic() - shown[1]
                with preserved_rng():  # a moved slider does not change what later cells compute
                    show(self.render(**params))
                self.prefetch(params, moved=self._moved(shown[0], params),
                              seconds=PREFETCH_SHARE * (pause - PREFETCH_DELAY))
                shown[:] = [params, time.monotonic()]

            show(self.render())

            for w in values.values():
                w.observe(update, names="value")
            children = ([W.HTML(f"<b>{html.escape(self.title)}</b>")] if self.title else []) + boxes + [self._image]
            self._widget = W.VBox(children)
            self._widget.add_class("course-interactive")
        return self._widget

    # -------------------------------------------------------------- static side
    def static_html(self, all_frames: bool | None = None) -> str:
        """Self-contained HTML: precomputed frames and plain HTML controls."""
        if all_frames is None:
            all_frames = env_flag("COURSE_STATIC_WIDGETS")
        uid = "cuw-" + uuid.uuid4().hex[:10]
        names = list(self.controls)
        if all_frames:
            axes = [self.controls[n].static_values() for n in names]
        else:
            axes = [[self.defaults()[n]] for n in names]
        n_frames = int(np.prod([len(a) for a in axes])) if axes else 1
        if n_frames > MAX_STATIC_FRAMES:
            raise ValueError(f"{n_frames} static frames is more than {MAX_STATIC_FRAMES}; "
                             "pass fewer static=[...] values to the controls")
        frames: dict[str, int] = {}  # control indices -> index into images (identical frames stored once)
        images: list[str] = []
        seen: dict[str, int] = {}
        start = [a.index(self.defaults()[n]) for n, a in zip(names, axes)]
        for combo in itertools.product(*[range(len(a)) for a in axes]):
            params = {n: axes[i][j] for i, (n, j) in enumerate(zip(names, combo))}
            t0 = time.perf_counter()
            b64 = base64.b64encode(book_png(self.render(**params))).decode()
            if list(combo) != start:
                BOOK_FRAMES_SECONDS[0] += time.perf_counter() - t0
            if b64 not in seen:
                seen[b64] = len(images)
                images.append(b64)
            frames[",".join(map(str, combo))] = seen[b64]
        rows = []
        for i, n in enumerate(names):
            c = self.controls[n]
            label = html.escape(c.description or n)
            vals = json.dumps([str(v) for v in axes[i]])
            if isinstance(c, Slider):
                disabled = "" if len(axes[i]) > 1 else " disabled"
                play = (f'<button type="button" data-play="{i}" style="margin-right:6px">&#9654;</button>'
                        if c.play and len(axes[i]) > 1 else "")
                rows.append(
                    f'<div style="margin:2px 0">{play}<label style="display:inline-block;min-width:9em">{label}</label>'
                    f'<input type="range" data-i="{i}" min="0" max="{len(axes[i]) - 1}" step="1" '
                    f'value="{start[i]}" data-vals=\'{html.escape(vals)}\' style="vertical-align:middle;width:14em"{disabled}>'
                    f' <output>{html.escape(str(axes[i][start[i]]))}</output></div>')
            else:
                opts = "".join(f'<option value="{j}"{" selected" if j == start[i] else ""}>{html.escape(str(v))}</option>'
                               for j, v in enumerate(axes[i]))
                rows.append(f'<div style="margin:2px 0"><label style="display:inline-block;min-width:9em">{label}</label>'
                            f'<select data-i="{i}">{opts}</select></div>')
        note = ("" if all_frames else
                '<div style="color:#7f7f7f;font-size:0.85em">Static preview: run the notebook to move the controls.</div>')
        title = f"<b>{html.escape(self.title)}</b>" if self.title else ""
        first = images[frames[",".join(map(str, start))]]
        script = (_STATIC_JS.replace("__UID__", uid).replace("__FRAMES__", json.dumps(frames))
                  .replace("__IMAGES__", json.dumps(images)))
        return (f'<div id="{uid}" class="course-static-widget" data-frames="{len(frames)}" '
                f'style="border:1px solid #ddd;border-radius:6px;padding:8px;max-width:680px">'
                f"{title}{''.join(rows)}{note}"
                f'<img alt="interactive figure" style="max-width:100%" src="data:image/png;base64,{first}">'
                f"<script>{script}</script></div>")

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": f"<interactive figure: {', '.join(self.controls)}>",
                  "text/html": self.static_html()}
        try:
            data = self.widget._repr_mimebundle_()
        except Exception:  # no ipywidgets / no kernel: the static rendering still works
            data = None
        if data:
            bundle.update({k: v for k, v in data.items() if k != "text/plain"})
        return bundle


# The book's JavaScript: plain DOM code, shipped as package data next to this file.
_STATIC_JS = (Path(__file__).with_name("static.js")).read_text(encoding="utf-8")



#: every interactive figure declared in this process, in order (the robustness tests sweep them)
REGISTRY: list[InteractiveFigure] = []


def interactive_figure(func: Callable[..., Any], title: str | None = None, **controls: Control) -> InteractiveFigure:
    """Declare an interactive figure: ``func(**values) -> Figure`` and one control per argument."""
    if not controls:
        raise ValueError("interactive_figure needs at least one control, e.g. k=Slider(1, 20)")
    for name, c in controls.items():
        if name == "cache":  # InteractiveFigure.render(cache=...) takes this name
            raise ValueError("a control cannot be called 'cache'; pick another name")
        if not isinstance(c, (Slider, Choice)):
            raise TypeError(f"control {name!r} must be a Slider or a Choice, got {type(c).__name__}")
    fig = InteractiveFigure(func=func, controls=dict(controls), title=title)
    REGISTRY.append(fig)
    return fig
