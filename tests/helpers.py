"""Assertions shared by the chapter test files."""
from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Close:
    """How closely a retrained array must match the shipped one when this machine rounds differently.

    ``first``: compare only the first entries (a run that is chaotic, like a GAN's, drifts apart later).
    """

    rtol: float = 0.0
    atol: float = 0.0
    first: int | None = None


def training_differences(shipped: Mapping, retrained: Mapping, close: Mapping[str, Close | None],
                         skip: Iterable[str] = ()) -> list[str]:
    """What keeps ``retrained`` from being the run that made ``shipped`` (an empty list: it is that run).

    Bit for bit on a machine whose floating-point kernels round like the one that made the file. Another
    CPU family rounds differently inside torch's kernels (measured: an AMD EPYC against the Intel machine
    that made the files, differences of 1e-7 in the first steps), and a long run amplifies that: a GAN's
    samples end up elsewhere. So if any array differs, each array must instead satisfy its entry in
    ``close`` (keys or ``fnmatch`` patterns; the exact key wins): a :class:`Close` tolerance, or ``None``
    for an array that cannot be compared across machines. An array ``close`` does not name must still be
    bit for bit. ``skip``: measurements, not results (``train_seconds``).
    """
    keys = (set(shipped) | set(retrained)) - set(skip)
    missing = sorted(k for k in keys if k not in shipped or k not in retrained)
    if missing:
        return [f"{k}: in only one of the two" for k in missing]
    differ = sorted(k for k in keys if not np.array_equal(np.asarray(retrained[k]), np.asarray(shipped[k])))
    problems = []
    for k in differ:
        spec = close[k] if k in close else next((v for p, v in close.items() if fnmatch.fnmatchcase(k, p)), "exact")
        if spec is None:
            continue
        if spec == "exact":
            problems.append(f"{k}: differs, and it must be bit for bit on any machine")
            continue
        a, b = np.asarray(retrained[k], dtype=float), np.asarray(shipped[k], dtype=float)
        if spec.first is not None:
            a, b = a[:spec.first], b[:spec.first]
        if not np.allclose(a, b, rtol=spec.rtol, atol=spec.atol):
            worst = float(np.max(np.abs(a - b)))
            problems.append(f"{k}: differs by up to {worst:.3g}, more than {spec} allows")
    return problems


def assert_ships(file, sha256: str, names: Iterable[str], version: str, retrained: tuple[str, dict],
                 close: Mapping[str, Close | None]) -> None:
    """A shipped results file (``course_utils.cache.write_shipped``) is intact, holds every part in ``names`` at
    this code's ``version``, and one part retrained now, ``retrained = (name, arrays)``, is the file's: bit for
    bit, or on a machine that rounds differently, within ``close`` (:func:`training_differences`)."""
    from course_utils import cache

    shipped = cache.read_shipped(file, sha256)
    assert shipped, f"{file} is missing or its SHA-256 is not the constant in the code: regenerate it"
    for name in names:
        assert cache.from_shipped(shipped, name, version) is not None, f"{name} is missing or of another version"
    name, arrays = retrained
    from_file = cache.from_shipped(shipped, name, version)
    problems = training_differences(from_file, arrays, close)
    assert not problems, f"the shipped {name} is not what this code trains: {problems[:5]}; regenerate the file"
