"""Assertions shared by the chapter test files."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

#: the repository root (tests/helpers.py sits one level below it)
ROOT = Path(__file__).resolve().parents[1]


def stub(*args, **kwargs):
    """What a student's untouched exercise cell does."""
    raise NotImplementedError


def assert_checker(check: Callable, reference: Callable, wrongs: Iterable[Callable], must_say: str | None = None) -> None:
    """An exercise checker passes the reference, rejects each wrong answer with a
    useful message (containing ``must_say`` if given) and reports a stub as not written."""
    ok = check(reference)
    assert ok and ok.passed, ok.message
    assert "Correct" in ok.message
    for wrong in wrongs:
        with np.errstate(all="ignore"):
            r = check(wrong)
        assert not r and r.attempted, (getattr(wrong, "__name__", wrong), r.message)
        assert len(r.message) > 20, r.message
        if must_say:
            assert must_say in r.message, r.message
    s = check(stub)
    assert not s and not s.attempted and "not written yet" in s.message, s.message


def assert_ships(file, sha256: str, names: Iterable[str], version: str, retrained: tuple[str, dict]) -> None:
    """A shipped results file (``course_utils.cache.write_shipped``) is intact, holds every part in ``names`` at
    this code's ``version``, and one part retrained now, ``retrained = (name, arrays)``, is bit for bit the file's."""
    from course_utils import cache

    shipped = cache.read_shipped(file, sha256)
    assert shipped, f"{file} is missing or its SHA-256 is not the constant in the code: regenerate it"
    for name in names:
        assert cache.from_shipped(shipped, name, version) is not None, f"{name} is missing or of another version"
    name, arrays = retrained
    from_file = cache.from_shipped(shipped, name, version)
    assert arrays.keys() == from_file.keys(), (sorted(arrays), sorted(from_file))
    for k in arrays:
        np.testing.assert_array_equal(np.asarray(arrays[k]), from_file[k], err_msg=f"{name}: {k}")
