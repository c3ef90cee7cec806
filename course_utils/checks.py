"""Exercise checks: run a student's function on fresh random inputs and compare.

Contract::

    result = check_function(student_fn, reference_fn, make_inputs, name="pairwise_l2")

- ``make_inputs(rng)`` returns the positional arguments (a tuple) or keyword
  arguments (a dict) for one trial; every trial draws new inputs.
- The verdict is shown at once: a green line when right; otherwise exactly
  what is wrong: not attempted yet, an exception, the wrong type, shape or
  dtype, NaN/inf where there should be none, the first mismatching entry with
  both values, or an input that was modified in place.
- It never raises for a wrong answer (a student's "Run all" keeps going),
  except in strict mode (``COURSE_STRICT_CHECKS=1``, set by the test suite for
  the instructor notebooks), where any failure raises ``ExerciseCheckError``
  so a wrong reference solution fails CI.
- ``check_value`` does the same for a single answer (a number, an array).
- Every verdict given through a chapter's ``check_*`` function is remembered in the
  student's progress file (``tracking``; off under ``COURSE_TRACK_PROGRESS=0``).

Chapter-specific checks (``check_pairwise_l2`` …) live beside their reference
implementations and are thin wrappers over these two functions.
"""
from __future__ import annotations

import copy
import html
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import tracking
from .config import env_flag


class ExerciseCheckError(AssertionError):
    """Raised by a failed check in strict mode."""


@dataclass
class CheckResult:
    """Outcome of a check; truthy when the answer is right."""

    name: str
    passed: bool
    attempted: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def _repr_html_(self) -> str:
        return _html(self)

    def _ipython_display_(self) -> None:
        """The verdict was already shown when the check ran: do not show it twice."""

    def __repr__(self) -> str:
        return self.message


def _html(r: CheckResult) -> str:
    color, icon = ("#2ca02c", "&#10004;") if r.passed else (("#d62728", "&#10008;") if r.attempted else ("#ff7f0e", "&#9998;"))
    body = html.escape(r.message).replace("\n", "<br>")
    return (f'<div style="border-left:4px solid {color};padding:4px 10px;margin:4px 0;font-family:monospace">'
            f'<span style="color:{color};font-weight:bold">{icon} {html.escape(r.name)}</span><br>{body}</div>')


def _frames():
    f = sys._getframe(2)
    while f is not None:
        yield f
        f = f.f_back


def _remember(r: CheckResult) -> None:
    """Record the verdict in the student's progress file (``tracking``) and, when grading
    (``COURSE_GRADE_FILE``), in the grader's file, if a chapter's check gave it."""
    where = tracking.caller_exercise(_frames())
    if where is None:
        return
    tracking.record(where[0], where[1], r.passed, r.attempted)
    grade_file = os.environ.get("COURSE_GRADE_FILE")
    if grade_file:
        line = {"chapter": where[0], "exercise": where[1], "passed": r.passed, "attempted": r.attempted,
                "message": r.message}
        try:
            with open(grade_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
        except OSError:
            pass


def _emit(r: CheckResult) -> CheckResult:
    _remember(r)
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display

        if get_ipython() is not None:
            display(HTML(_html(r)))
        else:
            print(r.message)
    except ImportError:
        print(r.message)
    if not r.passed and env_flag("COURSE_STRICT_CHECKS"):
        raise ExerciseCheckError(r.message)
    return r


def _to_array(x) -> np.ndarray | None:
    try:
        import torch

        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
    except ImportError:
        pass
    if isinstance(x, (np.ndarray, np.generic, int, float, bool, np.bool_)):
        return np.asarray(x)
    return None


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.6g}"
    return repr(v.item() if isinstance(v, np.generic) else v)


def compare(got: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-8, where: str = "the result") -> str | None:
    """``None`` if ``got`` matches ``expected``; otherwise a sentence saying how it differs."""
    if isinstance(expected, (tuple, list)) and not isinstance(expected, np.ndarray):
        if not isinstance(got, (tuple, list)):
            return f"{where} should be a {type(expected).__name__} of {len(expected)} items, got {type(got).__name__}"
        if len(got) != len(expected):
            return f"{where} should have {len(expected)} items, got {len(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            msg = compare(g, e, rtol, atol, f"item {i} of {where}")
            if msg:
                return msg
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{where} should be a dict, got {type(got).__name__}"
        missing = set(expected) - set(got)
        if missing:
            return f"{where} is missing key(s) {sorted(missing)}"
        for k in expected:
            msg = compare(got[k], expected[k], rtol, atol, f"{where}[{k!r}]")
            if msg:
                return msg
        return None
    e = _to_array(expected)
    if e is None:  # strings, None, other objects: plain equality
        try:
            same = bool(got == expected)
        except (ValueError, TypeError):  # an array compared with a string, say
            same = False
        return None if same else f"{where} should be {expected!r}, got {_describe((got,))}"
    if got is None:
        return f"{where} is None: did you forget to `return` it?"
    g = _to_array(got)
    if g is None:
        if isinstance(got, (list, tuple)):
            g = np.asarray(got)
        else:
            return f"{where} should be a number or an array, got {type(got).__name__}"
    if g.shape != e.shape:
        return f"{where} has shape {g.shape}, expected shape {e.shape}"
    if e.dtype.kind in "iub" and g.dtype.kind == "f":
        if not np.all(np.isfinite(g)) or not np.all(g == np.round(g)):
            return f"{where} should hold integers (dtype {e.dtype}), got floats (dtype {g.dtype})"
    if e.dtype.kind in "fc" and g.dtype.kind not in "fciub":
        return f"{where} should be numeric (dtype {e.dtype}), got dtype {g.dtype}"
    if g.dtype.kind in "fc":
        bad = ~np.isfinite(g) & np.isfinite(e)
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return f"{where} has {int(bad.sum())} NaN/inf value(s); the first at index {idx} is {_fmt(g[idx])} (expected {_fmt(e[idx])})"
    ok = np.isclose(g.astype(np.result_type(g, e, np.float64)), e, rtol=rtol, atol=atol, equal_nan=True) \
        if e.dtype.kind in "fc" or g.dtype.kind in "fc" else (g == e)
    if not np.all(ok):
        idx = tuple(int(i) for i in np.argwhere(~ok)[0])
        n_bad = int((~ok).sum())
        loc = f" at index {idx}" if idx else ""
        return (f"{where} is wrong{loc}: got {_fmt(g[idx])}, expected {_fmt(e[idx])} "
                f"({n_bad} of {ok.size} entries differ)")
    return None


def _call(fn, args):
    return fn(**args) if isinstance(args, dict) else fn(*args)


def _describe(args) -> str:
    """A one-line summary of a trial's inputs: arrays by shape, containers by length, short values by repr."""
    def one(a):
        a2 = _to_array(a)
        if a2 is not None and a2.ndim > 0:
            return f"array of shape {a2.shape}"
        if isinstance(a, (list, tuple)):
            return f"{type(a).__name__} of {len(a)} item{'s' if len(a) != 1 else ''}"
        text = repr(a)
        if isinstance(a, str):  # repr keeps it on one line
            return text if len(text) <= 160 else text[:150] + "…'"
        return text if len(text) <= 40 and "\n" not in text else f"a {type(a).__name__}"
    if isinstance(args, dict):
        return ", ".join(f"{k}={one(v)}" for k, v in args.items())
    return ", ".join(one(a) for a in args)


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def check_function(student: Callable, reference: Callable, make_inputs: Callable[[np.random.Generator], Any],
                   name: str | None = None, trials: int = 5, rtol: float = 1e-6, atol: float = 1e-8,
                   seed: int | None = None) -> CheckResult:
    """Compare ``student`` with ``reference`` on ``trials`` fresh random inputs (see module doc)."""
    name = name or getattr(student, "__name__", "your function")
    if not callable(student):
        return _emit(CheckResult(name, False, True, f"{name} should be a function, got {type(student).__name__}"))
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        args = make_inputs(rng)
        if not isinstance(args, (tuple, dict)):
            args = (args,)
        expected = _call(reference, copy.deepcopy(args))
        mine = copy.deepcopy(args)
        try:
            got = _call(student, mine)
        except NotImplementedError:
            return _emit(CheckResult(name, False, False, f"{name} is not written yet: replace `raise NotImplementedError` with your code."))
        except Exception as exc:  # the student's bug, reported without a traceback
            return _emit(CheckResult(name, False, True,
                                     f"{name}({_describe(args)}) raised {first_line(exc)}"))
        if got is Ellipsis:
            return _emit(CheckResult(name, False, False, f"{name} is not written yet: it returns `...`."))
        msg = compare(got, expected, rtol, atol)
        if msg is None:
            changed = compare(mine, args, 0, 0, "your function's input")
            if changed and compare(mine, args, 1e-12, 0) is None:  # the input moved by round-off only
                msg = (f"{name} changed its input by round-off: an entry is a few units in its last digit off "
                       "(adding a step and subtracting it again does not always give back the same float); "
                       "save the old value and put it back, or work on a copy")
            elif changed:
                msg = f"{name} modified its input in place ({changed}); work on a copy instead"
        if msg:
            return _emit(CheckResult(name, False, True, f"On inputs ({_describe(args)}): {msg}."))
    return _emit(CheckResult(name, True, True, f"Correct on {trials} random test{'s' if trials > 1 else ''}."))


def check_value(got: Any, expected: Any, name: str = "your answer", rtol: float = 1e-6, atol: float = 1e-8,
                hint: str | None = None) -> CheckResult:
    """Check one answer against the expected value."""
    if got is Ellipsis or got is NotImplemented:
        return _emit(CheckResult(name, False, False, f"{name} is not written yet: replace `...` with your answer."))
    msg = compare(got, expected, rtol, atol, name)
    if msg:
        return _emit(CheckResult(name, False, True, msg + (f". Hint: {hint}" if hint else ".")))
    return _emit(CheckResult(name, True, True, "Correct."))


def verdict(name: str, passed: bool, message: str, attempted: bool = True) -> CheckResult:
    """Show and remember a verdict a chapter's check worked out itself (a design or a prediction)."""
    return _emit(CheckResult(name, passed, attempted, message))


def parse_choice(choice: Any, ranges: dict[str, tuple[float, float]], name: str = "your design",
                 integers: tuple[str, ...] = ()) -> dict[str, float] | CheckResult:
    """Read a design answer ``dict(key=number, ...)`` whose keys are exactly ``ranges``' keys.

    Returns the numbers (``int`` for the keys in ``integers``), each within its inclusive
    ``(low, high)``; otherwise the failed :class:`CheckResult`, already shown, that says
    precisely what is wrong (not a dict, a missing or unexpected key, not a number, NaN,
    not a whole number, out of range). A ``...`` anywhere means "not written yet".
    """
    example = "dict(" + ", ".join(f"{k}=…" for k in ranges) + ")"
    if choice is Ellipsis or (isinstance(choice, dict) and any(v is Ellipsis for v in choice.values())):
        return verdict(name, False, f"{name} is not written yet: replace `...` with numbers.", attempted=False)
    if not isinstance(choice, dict):
        return verdict(name, False, f"{name} should be a dict like {example}, got {type(choice).__name__}.")
    missing, extra = [k for k in ranges if k not in choice], sorted(map(str, set(choice) - set(ranges)))
    if missing or extra:
        what = "; ".join(part for part in (f"missing {missing}" if missing else "",
                                           f"unexpected {extra}" if extra else "") if part)
        return verdict(name, False, f"{name} should have exactly the keys {list(ranges)} ({what}).")
    out: dict[str, float] = {}
    for key, (low, high) in ranges.items():
        value = choice[key]
        if isinstance(value, (bool, np.bool_)) or _to_array(value) is None or np.ndim(_to_array(value)) != 0:
            return verdict(name, False, f"{key} should be a single number, got {_describe((value,))}.")
        number = float(_to_array(value))
        if not np.isfinite(number):
            return verdict(name, False, f"{key} should be a finite number, got {number}.")
        if key in integers and number != round(number):
            return verdict(name, False, f"{key} should be a whole number, got {number:g}.")
        if not low <= number <= high:
            return verdict(name, False, f"{key} should lie between {low:g} and {high:g}, got {number:g}.")
        out[key] = int(round(number)) if key in integers else number
    return out
