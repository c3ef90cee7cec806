"""Property-based sweep of interactive figures over their whole control range (hypothesis).

Used in two places: the unit tests of the chapter modules, and inside each chapter's
kernel by ``tests/notebooks/test_execution.py`` (an injected last cell sweeps every
figure the notebook declared, with the notebook's own data). The property, for every
combination of control values hypothesis draws (and the all-minimum / all-maximum /
default corners):

- the frame returns a Matplotlib ``Figure`` (``InteractiveFigure.figure`` never raises);
- if it shows a message instead of a plot, the message came from a ``ValueError`` the
  frame raised on purpose (a clear sentence), not from another exception (a bug);
- it takes less than ``max_seconds``.
"""
from __future__ import annotations

import time

import matplotlib.pyplot as plt
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from course_utils.widgets import Choice, InteractiveFigure, Slider


def _values(control) -> list:
    return control.all_values() if isinstance(control, (Slider, Choice)) else [control.value]


def corners(fig: InteractiveFigure) -> list[dict]:
    names = list(fig.controls)
    lo = {n: _values(fig.controls[n])[0] for n in names}
    hi = {n: _values(fig.controls[n])[-1] for n in names}
    return [fig.defaults(), lo, hi]


def check_frame(fig: InteractiveFigure, params: dict, max_seconds: float) -> None:
    t0 = time.perf_counter()
    out = fig.figure(**params)
    seconds = time.perf_counter() - t0
    name = getattr(fig.func, "__name__", "frame")
    try:
        assert isinstance(out, Figure), f"{name}({params}) returned {type(out).__name__}, not a Figure"
        exc = getattr(out, "_course_exception", None)
        assert exc is None or issubclass(exc, ValueError), \
            f"{name}({params}) failed with {exc.__name__}: a bug, not a message for the student: " \
            f"{getattr(out, '_course_message', {}).get('text')}"
        assert seconds < max_seconds, f"{name}({params}) took {seconds:.2f} s (limit {max_seconds} s)"
    finally:
        plt.close(out) if isinstance(out, Figure) else None


def sweep(fig: InteractiveFigure, max_examples: int = 12, max_seconds: float = 3.0) -> int:
    """Run the property on ``fig``; returns how many settings were drawn."""
    names = list(fig.controls)
    count = [0]
    strategy = st.fixed_dictionaries({n: st.sampled_from(_values(fig.controls[n])) for n in names})

    @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(params):
        count[0] += 1
        check_frame(fig, params, max_seconds)

    for params in corners(fig):
        prop = example(params)(prop)
    prop()
    return count[0]


def sweep_all(figures=None, max_examples: int = 12, max_seconds: float = 3.0) -> dict[str, int]:
    """Sweep every registered interactive figure (``course_utils.widgets.REGISTRY``)."""
    from course_utils.widgets import REGISTRY

    done = {}
    for fig in list(figures if figures is not None else REGISTRY):
        # a notebook run twice declares each figure twice: sweep each (function, controls) once
        key = f"{getattr(fig.func, '__qualname__', repr(fig.func))}({', '.join(fig.controls)})"
        if key not in done:
            done[key] = sweep(fig, max_examples, max_seconds)
    return done
