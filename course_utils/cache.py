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
