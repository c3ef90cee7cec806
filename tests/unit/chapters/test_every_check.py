"""Every exercise check in the course, given each kind of wrong answer a student hands in.

Each ``check_*`` defined in a chapter module gets ``None``, a list, an array of the wrong
shape, integers, NaN, a string, a torch tensor, and functions that raise, modify their
input in place, return a torch tensor or return nothing. Whatever the check expects (a
function, a number, a dict of design choices), it must answer with a failed, attempted
verdict whose message is one line and says something — never raise, never pass, never
take long once the check's own cached reference is built. Checks that need the chapter's data get a small stand-in (``CONTEXT``).
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import time

import numpy as np
import pytest
import torch

import course_utils.chapters as chapters
from course_utils import data
from course_utils.checks import CheckResult


def _raises(*args, **kwargs):
    raise RuntimeError("a bug in the student's code")


def _modifies(*args, **kwargs):
    for a in (*args, *kwargs.values()):
        if isinstance(a, np.ndarray) and a.flags.writeable:
            a[...] = 0
    return args[0] if args else None


WRONG = {
    "None": None, "a list": [1.0, 2.0, 3.0], "wrong shape": np.zeros((2, 3, 4)), "integers": np.arange(6).reshape(2, 3),
    "NaN": np.full(3, np.nan), "a string": "abc", "a torch tensor": torch.zeros(3),
    "a function that raises": _raises, "a function that modifies its input": _modifies,
    "a function returning a torch tensor": lambda *a, **k: torch.zeros(3),
    "a function returning nothing": lambda *a, **k: None,
}


def _context() -> dict[str, tuple]:
    """The extra arguments of the checks that also take the chapter's data (small stand-ins)."""
    ch03 = importlib.import_module("course_utils.chapters.ch03_linear_regression")
    ch04 = importlib.import_module("course_utils.chapters.ch04_classification")
    X2, y2 = data.make_separable(40, np.random.default_rng(0), margin=0.1)
    X4, y4 = ch04.shared_gaussian_data(60, np.random.default_rng(0), mu0=(-0.5, 0.5), mu1=(1.5, 1.5))
    return {
        "check_all_neighbours_prediction": (np.repeat(np.arange(10), 5), np.repeat(np.arange(10), 2)),
        "check_adaline_design": (X2, y2),
        "check_growth_prediction": (ch03.conditioning_study(range(1, 25), residual=1.0),),
        "check_learning_rate_design": (X4, y4),
        "check_untrained_bits": (data.load_char_corpus(max_chars=2000),),
    }


def _all_checks() -> list[tuple[str, object]]:
    found = []
    for info in pkgutil.iter_modules(chapters.__path__):
        module = importlib.import_module(f"{chapters.__name__}.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("check_") and fn.__module__.startswith(module.__name__):
                found.append((f"{info.name}.{name}", fn))
    return found


CHECKS = _all_checks()


def test_the_walk_finds_every_chapters_checks():
    assert len(CHECKS) >= 100
    assert len({name.split(".")[0] for name, _ in CHECKS}) >= 16


@pytest.mark.parametrize("name,check", CHECKS, ids=[n for n, _ in CHECKS])
def test_every_wrong_answer_gets_a_one_line_verdict(name, check, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "0")
    monkeypatch.setenv("COURSE_TRACK_PROGRESS", "0")
    extra = _CONTEXT.get(name.split(".")[1], ())
    required = [p for p in inspect.signature(check).parameters.values() if p.default is p.empty]
    assert len(required) == 1 + len(extra), f"{name} needs arguments this test does not supply: add them to _context"
    with np.errstate(all="ignore"):
        check(..., *extra)  # "not written yet": also builds what the check caches (a reference run), not timed
    for kind, answer in WRONG.items():
        start = time.perf_counter()
        with np.errstate(all="ignore"):
            try:
                r = check(answer, *extra)
            except Exception as exc:  # noqa: BLE001 - the point of the test
                pytest.fail(f"{name} given {kind} raised {type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - start
        assert isinstance(r, CheckResult), f"{name} given {kind} returned {type(r).__name__}, not a verdict"
        assert not r.passed, f"{name} accepted {kind}: {r.message}"
        message = r.message.strip()
        assert len(message) > 15 and "\n" not in message, f"{name} given {kind} said: {message!r}"
        assert seconds < 5, f"{name} took {seconds:.1f} s to reject {kind}"
    capsys.readouterr()


_CONTEXT = _context()
