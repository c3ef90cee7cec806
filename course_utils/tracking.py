"""A student's progress: which exercise checks passed, remembered across sessions.

Contract:

- ``record(chapter, exercise, passed, attempted)`` is called by ``checks`` for every
  verdict it shows. ``chapter`` is the two-digit chapter number (``"01"``) and
  ``exercise`` the name of the chapter's check function (``"check_p_norm"``).
- The file is ``COURSE_PROGRESS_FILE`` if set, else ``progress.json`` in the per-user
  data directory (``platformdirs.user_data_dir("dl-course")``: ``~/.local/share/dl-course``
  on Linux), created on demand, never inside the course folder. It is written
  atomically (a temporary file renamed over the old one), so an interrupted kernel
  cannot leave half a file.
- Harmless if deleted or corrupt: a file that is not valid JSON of the expected shape
  is moved aside (``progress.json.corrupt``) and a fresh one started; a location that
  cannot be written (a read-only home on a lab machine) turns recording off with one
  warning. Nothing here ever raises into a student's cell.
- ``COURSE_TRACK_PROGRESS=0`` turns recording off: ``make test`` sets it, so the
  instructor notebooks run by CI never write to a real student's file.
- ``summary()`` counts per chapter the exercises whose latest check passed, out of the
  exercises in the chapter's notebook; ``table()`` formats it, ``show()`` displays it
  (the start page calls it) and ``python -m course_utils progress`` prints it.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import time
import warnings
from pathlib import Path

from .config import env_flag

APP_NAME = "dl-course"
VERSION = 1
_warned: set[str] = set()


def progress_file() -> Path:
    """Where the progress is kept (see the module docstring)."""
    env = os.environ.get("COURSE_PROGRESS_FILE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "progress.json"


def enabled() -> bool:
    return env_flag("COURSE_TRACK_PROGRESS", default=True)


def _empty() -> dict:
    return {"version": VERSION, "chapters": {}}


def _valid(state) -> bool:
    if not isinstance(state, dict) or state.get("version") != VERSION or not isinstance(state.get("chapters"), dict):
        return False
    for chapter, exercises in state["chapters"].items():
        if not isinstance(chapter, str) or not isinstance(exercises, dict):
            return False
        for entry in exercises.values():
            if not isinstance(entry, dict) or not isinstance(entry.get("passed"), bool):
                return False
    return True


def load(path: Path | None = None) -> dict:
    """The recorded state; an empty one if the file is missing, and (moving it aside) if it is corrupt."""
    path = path or progress_file()
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return _empty()
    except OSError as exc:
        _warn_once(f"cannot read your progress file {path} ({exc}); showing no progress")
        return _empty()
    try:
        state = json.loads(text)
    except ValueError:
        state = None
    if _valid(state):
        return state
    try:
        os.replace(path, path.with_name(path.name + ".corrupt"))
        _warn_once(f"your progress file {path} was damaged; it was moved to {path.name}.corrupt and a new one started")
    except OSError:
        pass
    return _empty()


def _save(state: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, stacklevel=3)


def record(chapter: str, exercise: str, passed: bool, attempted: bool = True) -> bool:
    """Remember one verdict; returns whether it was written. Never raises."""
    if not enabled():
        return False
    path = progress_file()
    try:
        state = load(path)
        entry = state["chapters"].setdefault(str(chapter), {}).setdefault(
            exercise, {"passed": False, "attempts": 0, "first_passed": None})
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        if attempted:
            entry["attempts"] = int(entry.get("attempts", 0)) + 1
        entry["passed"] = bool(passed)
        entry["last"] = now
        if passed and not entry.get("first_passed"):
            entry["first_passed"] = now
        _save(state, path)
        return True
    except OSError as exc:
        _warn_once(f"cannot save your progress to {path} ({exc.strerror or exc}); "
                   "set COURSE_PROGRESS_FILE to a writable file to keep it")
        return False
    except Exception as exc:  # a progress file must never break an exercise check
        _warn_once(f"could not record your progress ({type(exc).__name__}: {exc})")
        return False


_CHAPTER_MODULE = re.compile(r"course_utils\.chapters\.ch(\d\d)_")


def caller_exercise(stack_frames) -> tuple[str, str] | None:
    """``(chapter, check function name)`` of the first chapter-module frame in ``stack_frames``."""
    for frame in stack_frames:
        module = frame.f_globals.get("__name__", "")
        m = _CHAPTER_MODULE.match(module)
        if m:
            return m.group(1), frame.f_code.co_name
    return None


def course_root() -> Path | None:
    """The course folder (with ``notebooks/``) when the package is used from a checkout."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "notebooks").is_dir() else None


def chapter_exercises(root: Path | None = None) -> dict[str, tuple[str, int]]:
    """``{"01": ("Learning basics", 6), …}``: each chapter's title and number of exercises."""
    root = root or course_root()
    out: dict[str, tuple[str, int]] = {}
    if root is None:
        return out
    for nb_path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if nb_path.name.startswith("00"):
            continue
        try:
            cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError):
            continue
        title = "".join(cells[0].get("source", "")).splitlines()[0] if cells else nb_path.stem
        title = re.sub(r"^#\s*\d\d\s*·\s*", "", title).strip()
        n = sum("exercise" in c.get("metadata", {}).get("tags", []) for c in cells)
        out[nb_path.name[:2]] = (title, n)
    return out


def summary(state: dict | None = None, root: Path | None = None) -> list[tuple[str, str, int, int | None]]:
    """Rows ``(chapter, title, passed, total)`` for every chapter (total ``None`` if unknown)."""
    state = state if state is not None else load()
    known = chapter_exercises(root)
    chapters = sorted(set(known) | set(state["chapters"]))
    rows = []
    for ch in chapters:
        done = sum(e.get("passed", False) for e in state["chapters"].get(ch, {}).values())
        title, total = known.get(ch, ("", None))
        rows.append((ch, title, done, total))
    return rows


def table(state: dict | None = None, root: Path | None = None) -> str:
    """The progress as a plain-text table."""
    rows = summary(state, root)
    if not rows:
        return "No chapters found."
    width = max(len(t) for _, t, _, _ in rows) + 4
    lines = [f"{'chapter':<{width}}  passed / exercises"]
    tot_done = tot_all = 0
    for ch, title, done, total in rows:
        lines.append(f"{ch} {title:<{width - 3}}  {done:>6} / {total if total is not None else '?'}")
        tot_done += done
        tot_all += total or 0
    lines.append(f"{'total':<{width}}  {tot_done:>6} / {tot_all}")
    return "\n".join(lines)


def show() -> None:
    """Print the table, and where the progress is kept (the start page calls this)."""
    state = load()
    if not any(state["chapters"].values()):
        print("No exercise checked yet: your progress appears here as you solve them.\n")
    print(table(state))
    if not enabled():
        print("\n(recording is off: COURSE_TRACK_PROGRESS=0)")
    else:
        print(f"\nKept in {progress_file()} (delete it to start over).")
