"""A per-user disk cache for results that are expensive to recompute (trained weights, big tables).

Contract:

- ``cached(name, build, version)`` returns ``build()``'s dict of NumPy arrays, computed
  once and then read from ``<user cache dir>/<name>-<version>.npz`` (``COURSE_CACHE_DIR``
  overrides the folder; ``platformdirs.user_cache_dir("dl-course")`` by default, never
  the course folder, so a read-only checkout on a lab machine works).
- Every file is written atomically with a SHA-256 checksum beside it; a file whose
  checksum does not match (a crash, a full disk, an edit) is detected, deleted and
  rebuilt. A cache folder that cannot be written only costs the recomputation.
- ``COURSE_CACHE=0`` turns the disk cache off (every call builds): CI uses it where a
  cached result would hide a change in the code that builds it.
- ``version`` is part of the file name: change it when ``build`` changes.

Results that ship with the course (``data/*.npz``, each with a SHA-256 constant in the
module that reads it) use the same arrays-by-name format: :func:`write_shipped` writes
named parts with the version of the code that made them, :func:`read_shipped` reads a
file only if its checksum matches, and :func:`cached_or_shipped` prefers the disk cache,
then a shipped part of the running code's version, then building it.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .config import env_flag

APP_NAME = "dl-course"


def cache_dir() -> Path:
    env = os.environ.get("COURSE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME))


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _paths(name: str, version: str) -> tuple[Path, Path]:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{name}-{version}")
    base = cache_dir() / safe
    return base.with_suffix(".npz"), base.with_suffix(".sha256")


def load(name: str, version: str = "1") -> dict[str, np.ndarray] | None:
    """The cached arrays, or ``None`` when missing or corrupt (a corrupt entry is deleted)."""
    data, digest = _paths(name, version)
    if not data.exists():
        return None
    try:
        ok = digest.read_text().strip() == _digest(data)
        if ok:
            with np.load(data, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
    except (OSError, ValueError):
        ok = False
    for p in (data, digest):
        try:
            p.unlink()
        except OSError:
            pass
    warnings.warn(f"the cached {name!r} was damaged; it is rebuilt", stacklevel=3)
    return None


def save(name: str, arrays: dict[str, np.ndarray], version: str = "1") -> bool:
    """Write ``arrays`` atomically with its checksum; False (and no error) if the folder is not writable."""
    data, digest = _paths(name, version)
    try:
        data.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=data.parent)
        os.close(fd)
        np.savez(tmp, **arrays)
        checksum = _digest(Path(tmp))
        os.replace(tmp, data)
        digest.write_text(checksum + "\n")
        return True
    except OSError:
        try:
            os.unlink(tmp)  # type: ignore[possibly-undefined]
        except (OSError, NameError):
            pass
        return False


def cached(name: str, build: Callable[[], dict[str, np.ndarray]], version: str = "1") -> dict[str, np.ndarray]:
    """``build()`` once per user and version, then from the disk cache (see the module docstring)."""
    if env_flag("COURSE_CACHE", default=True):
        hit = load(name, version)
        if hit is not None:
            return hit
    arrays = {k: np.asarray(v) for k, v in build().items()}
    if env_flag("COURSE_CACHE", default=True):
        save(name, arrays, version)
    return arrays


# ------------------------------------------------------------- results that ship with the course
#: where shipped results live: ``data/`` beside the package
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data"


def read_shipped(path: Path, sha256: str) -> dict[str, np.ndarray]:
    """Every array of a shipped ``.npz``, or ``{}`` if the file is missing, unreadable or its SHA-256 is not ``sha256``."""
    try:
        if _digest(Path(path)) != sha256:
            return {}
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError):
        return {}


def from_shipped(arrays: dict[str, np.ndarray], name: str, version: str) -> dict[str, np.ndarray] | None:
    """Part ``name`` of a shipped file's ``arrays``, or ``None`` unless it was made by code of this ``version``."""
    if str(arrays.get(f"{name}:version", "")) != version:
        return None
    return {k[len(name) + 1:]: v for k, v in arrays.items() if k.startswith(name + "/")}


def cached_or_shipped(name: str, build: Callable[[], dict[str, np.ndarray]], version: str,
                      shipped: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The disk cache's ``name`` (this ``version``), else the ``shipped`` part, else :func:`cached` ``(build)``."""
    hit = load(name, version) if env_flag("COURSE_CACHE", default=True) else None
    hit = hit if hit is not None else from_shipped(shipped, name, version)
    return hit if hit is not None else cached(name, build, version=version)


def write_shipped(path: Path, parts: dict[str, tuple[dict[str, np.ndarray], str]]) -> str:
    """Write ``{name: (arrays, version)}`` to ``path`` (compressed ``.npz``); returns the file's SHA-256."""
    out = {}
    for name, (arrays, version) in parts.items():
        out.update({f"{name}/{k}": np.asarray(v) for k, v in arrays.items()})
        out[f"{name}:version"] = np.asarray(version)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **out)
    return _digest(Path(path))
