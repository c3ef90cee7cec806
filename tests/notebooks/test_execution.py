"""Every chapter's default run, shared by the "it runs" check, the Run-All-twice check and the book.

For each chapter one kernel runs the chapter twice, the way a student's Run All twice would,
both times at the default (full) size a student runs:

1. **Instructor pass.** The instructor notebook runs through papermill with ``QUICK=False``
   injected, strict checks (a wrong solution cell fails), static widget frames baked
   (``COURSE_STATIC_WIDGETS=1``), a fresh ``HOME`` and the network blocked. It is saved to
   ``_build/executed/`` for the book (``tests/e2e/test_book.py`` builds from it without
   executing anything again), and it is timed: the summary's "notebook timings" are this
   pass's cells, less the book's extra widget frames (``widgets.BOOK_FRAMES_SECONDS``).
2. **Student pass, in the same kernel.** The student copy (solutions removed) runs next,
   with the size from the environment (``COURSE_QUICK=0``, as in a student's kernel) and
   lenient checks, each unsolved exercise saying "not written yet". The notebook's variables
   are cleared first (``%reset``: a student's copy must not lean on a variable only a
   solution cell defines), but everything else the first pass left behind stays: imported
   modules, their caches, the random generators' global state, the registered widgets, the
   figures, the progress bars.
3. **Run All twice gives the same numbers.** Both passes must record the same numbers: a
   student who presses Run All again (or runs their copy after the instructor's) sees the
   same results. A last cell sweeps every interactive figure the notebook declared over its
   controls (``tests/widget_sweep.py``: hypothesis, with the notebook's own data).
4. **Read-only checkout.** Nothing in the course folder is created or modified by either
   pass (outside ``_build``/``student``/caches): what the notebooks cache goes to the
   per-user cache folder.

Until the speed work (issue 16) nbval ran each chapter's default run separately and this test
ran quick mode twice (three executions of every chapter); the default run here replaces both.
Quick mode (``QUICK=True``) of the chapters is exercised by ``make bench``, which runs it once per
chapter and reports a run that fails.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import nbformat
import pytest
from helpers import ROOT

from course_utils.kernels import run_notebook
from course_utils.notebooks import chapter_notebooks, make_student_copy, tags
from course_utils.results import read

CHAPTERS = chapter_notebooks(ROOT)
EXECUTED = ROOT / "_build" / "executed" / "notebooks"
TESTS = Path(__file__).resolve().parents[1]
IGNORED = {".git", ".venv", "_build", "student", ".pytest_cache", "__pycache__", ".ipynb_checkpoints", ".hypothesis",
           ".ruff_cache", ".import_linter_cache"}

BETWEEN_PASSES = '''
import os, shutil
from course_utils.widgets import BOOK_FRAMES_SECONDS
with open(os.environ["COURSE_RESULTS_FILE"] + ".book_frames_s", "w") as _f:
    _f.write(str(BOOK_FRAMES_SECONDS[0]))
shutil.copy(os.environ["COURSE_RESULTS_FILE"], os.environ["COURSE_RESULTS_FILE"] + ".pass1")
open(os.environ["COURSE_RESULTS_FILE"], "w").close()
os.environ.update({"COURSE_STATIC_WIDGETS": "0",   # the book's frames were baked in the first pass
                   "COURSE_QUICK": "0",            # the student copy takes its size from the environment
                   "COURSE_STRICT_CHECKS": "0"})   # and its unsolved exercises only say so
get_ipython().run_line_magic("reset", "-f")
'''
SWEEP = '''
import sys
sys.path.insert(0, {tests!r})
from widget_sweep import sweep_all
_swept = sweep_all(max_examples=8, max_seconds=5.0)
print("widgets swept:", _swept)
assert _swept, "the notebook declared no interactive figure"
'''


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of the course folder, skipping build outputs and caches."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in IGNORED]
        for name in filenames:
            p = Path(dirpath) / name
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def _execute(src: Path, out: Path, results: Path, env: dict, parameters: dict | None, cwd: Path) -> dict:
    # MPLBACKEND unset: kernels keep the inline backend, the book needs their figures
    return run_notebook(src, out, parameters=parameters, cwd=cwd, timeout=900,
                        env={**env, "COURSE_RESULTS_FILE": str(results), "MPLBACKEND": None})


def _errors(nb: dict) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def _instructor_then_student(nb_path: Path, dest: Path) -> tuple[int, int]:
    """Write one notebook: the instructor's cells, a reset, the student copy's cells, the sweep.

    Returns ``(cells in the first pass, solution cells the student copy removed)``. Papermill
    injects its parameters after the first pass's ``parameters`` cell only; the student pass
    takes its size from the environment, as a student's copy does.
    """
    nb = nbformat.read(str(nb_path), as_version=4)
    first = list(nb.cells)
    student_src = dest.with_name("student_" + dest.name)
    removed = make_student_copy(nb_path, student_src)
    second = []
    for cell in nbformat.read(str(student_src), as_version=4).cells:
        cell["id"] = f"student-{cell.get('id', len(second))}"
        cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if t != "parameters"]
        second.append(cell)
    between = nbformat.v4.new_code_cell(BETWEEN_PASSES)
    sweep = nbformat.v4.new_code_cell(SWEEP.format(tests=str(TESTS)))
    for c, name in ((between, "between-passes"), (sweep, "widget-sweep")):
        c["id"] = name
    nb.cells = first + [between] + second + [sweep]
    nbformat.write(nb, str(dest))
    return len(first), removed


def first_pass_seconds(executed: dict, n_first: int, book_frames_file: Path) -> float:
    """The instructor pass's time, as a student's Run All would take it: its cells' durations (papermill's
    injected parameters cell included) less the time spent drawing the book's extra widget frames."""
    cells = [c for c in executed["cells"] if "injected-parameters" in tags(c)] + [
        c for c in executed["cells"] if "injected-parameters" not in tags(c)][:n_first]
    seconds = sum(c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0 for c in cells)
    return seconds - float(book_frames_file.read_text())


def _save_for_book(executed: dict, n_first: int, nb_path: Path) -> None:
    """The first pass, without papermill's injected cell: what the book shows."""
    cells = [c for c in executed["cells"] if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    executed = {**executed, "cells": cells[:n_first]}
    executed["metadata"].pop("papermill", None)
    executed["metadata"].pop("widgets", None)  # live widget state: the book shows the static frames
    EXECUTED.mkdir(parents=True, exist_ok=True)
    (EXECUTED / nb_path.name).write_text(json.dumps(executed, indent=1, ensure_ascii=False) + "\n")


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_default_runs_agree_and_leave_the_checkout_alone(nb_path, tmp_path, record_property):
    home = tmp_path / "home"
    home.mkdir()
    runtime = tempfile.mkdtemp(prefix="rt-")  # short: IPC kernel sockets are files, and socket paths are limited
    fresh = {"HOME": str(home), "JUPYTER_RUNTIME_DIR": runtime,
             "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local/share"),
             "MPLCONFIGDIR": str(home / ".mpl"), "COURSE_TRACK_PROGRESS": "0"}
    before = snapshot(ROOT)

    # 1-2. instructor (default size, strict, frames baked), then the student copy in the same kernel, the sweep
    both = tmp_path / nb_path.name
    n_first, removed = _instructor_then_student(nb_path, both)
    assert removed >= 3, f"{nb_path.name} has {removed} solution cells; every chapter has exercises"
    run = _execute(both, tmp_path / "executed.ipynb", tmp_path / "results.jsonl",
                   {**fresh, "COURSE_QUICK": "0", "COURSE_STRICT_CHECKS": "1", "COURSE_STATIC_WIDGETS": "1"},
                   {"QUICK": False}, nb_path.parent)
    assert not _errors(run), f"{nb_path.name} (instructor pass, then the student copy): {_errors(run)}"
    assert any("injected-parameters" in tags(c) for c in run["cells"]), "papermill found no 'parameters' cell"
    _save_for_book(run, n_first, nb_path)
    record_property("notebook_seconds", first_pass_seconds(run, n_first, tmp_path / "results.jsonl.book_frames_s"))

    # the student pass: each unsolved exercise says so (a debug exercise reports its bug instead)
    student = [c for c in run["cells"] if str(c.get("id", "")).startswith("student-")]
    text = json.dumps(student)
    debug = sum("debug" in tags(c) for c in student if "exercise" in tags(c))
    assert text.count("not written yet") >= removed - debug, \
        "each exercise check of the student copy should say 'not written yet'"

    # 3. both passes recorded the same numbers
    first = read(str(tmp_path / "results.jsonl") + ".pass1")
    again = read(str(tmp_path / "results.jsonl"))
    assert first, f"{nb_path.name} records no results"
    differ = {k: (first.get(k), again.get(k)) for k in set(first) | set(again) if first.get(k) != again.get(k)}
    assert first == again, f"the student copy, run after the instructor notebook in one kernel, recorded other numbers: {differ}"

    # 4. nothing was written into the course folder
    after = snapshot(ROOT)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"running {nb_path.name} created or modified files in the checkout: {changed[:10]}"
