"""Every chapter's quick-mode executions, which the book and the robustness checks share.

For each chapter (``nbval`` runs the default, full-size execution separately):

1. **Instructor run, Run All twice.** The instructor notebook runs through papermill with
   ``QUICK=True`` injected, strict checks, static widget frames baked (``COURSE_STATIC_WIDGETS=1``,
   first pass only), a fresh ``HOME`` and the network blocked; then every cell runs a second
   time in the same kernel, and both passes must record the same numbers (a student who
   presses Run All twice sees the same results). A last cell sweeps every interactive figure
   the notebook declared over its controls (``tests/widget_sweep.py``: hypothesis, with the
   notebook's own data). The first pass is saved to ``_build/executed/`` for the book
   (``tests/e2e/test_book.py`` builds from it without executing anything again).
2. **Student copy.** The solutions are removed; the copy runs in quick mode (from the
   environment) with lenient checks, each unsolved exercise saying "not written yet".
3. **Determinism.** The student copy records the same numbers as the instructor run.
4. **Read-only checkout.** Nothing in the course folder is created or modified by either
   run (outside ``_build``/``student``/caches): what the notebooks cache goes to the
   per-user cache folder.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from helpers import ROOT

from course_utils.notebooks import chapter_notebooks, make_student_copy, tags
from course_utils.results import read

CHAPTERS = chapter_notebooks(ROOT)
EXECUTED = ROOT / "_build" / "executed" / "notebooks"
TESTS = Path(__file__).resolve().parents[1]
IGNORED = {".git", ".venv", "_build", "student", ".pytest_cache", "__pycache__", ".ipynb_checkpoints", ".hypothesis",
           ".ruff_cache", ".import_linter_cache"}

BETWEEN_PASSES = '''
import os, shutil
shutil.copy(os.environ["COURSE_RESULTS_FILE"], os.environ["COURSE_RESULTS_FILE"] + ".pass1")
open(os.environ["COURSE_RESULTS_FILE"], "w").close()
os.environ["COURSE_STATIC_WIDGETS"] = "0"  # the book's frames were baked in the first pass
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
    old = dict(os.environ)
    os.environ.update(env)
    os.environ["COURSE_RESULTS_FILE"] = str(results)
    os.environ.pop("MPLBACKEND", None)  # kernels keep the inline backend: the book needs their figures
    try:
        pm.execute_notebook(str(src), str(out), parameters=parameters or {}, cwd=str(cwd),
                            kernel_name="python3", progress_bar=False, execution_timeout=900)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return json.loads(out.read_text())


def _errors(nb: dict) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def _twice_with_sweep(nb_path: Path, dest: Path, parameters: dict) -> int:
    """Write the instructor notebook with every cell twice (new ids), a reset between, and the sweep; returns n.

    Papermill injects ``parameters`` after the first pass's parameters cell only; the second
    pass gets the same values in a cell of its own, so both passes run the same configuration.
    """
    nb = nbformat.read(str(nb_path), as_version=4)
    first = list(nb.cells)
    second = []
    for cell in first:
        copy = nbformat.from_dict(json.loads(json.dumps(cell)))
        copy["id"] = f"again-{cell.get('id', len(second))}"
        was_parameters = "parameters" in copy.metadata.get("tags", [])
        copy.metadata["tags"] = [t for t in copy.metadata.get("tags", []) if t != "parameters"]
        second.append(copy)
        if was_parameters:
            again = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in parameters.items()))
            again["id"] = "again-injected-parameters"
            second.append(again)
    between = nbformat.v4.new_code_cell(BETWEEN_PASSES)
    sweep = nbformat.v4.new_code_cell(SWEEP.format(tests=str(TESTS)))
    for c, name in ((between, "between-passes"), (sweep, "widget-sweep")):
        c["id"] = name
    nb.cells = first + [between] + second + [sweep]
    nbformat.write(nb, str(dest))
    return len(first)


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
def test_quick_runs_agree_and_leave_the_checkout_alone(nb_path, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    runtime = tempfile.mkdtemp(prefix="rt-")  # short: IPC kernel sockets are files, and socket paths are limited
    fresh = {"HOME": str(home), "JUPYTER_RUNTIME_DIR": runtime,
             "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local/share"),
             "MPLCONFIGDIR": str(home / ".mpl"), "COURSE_TRACK_PROGRESS": "0"}
    before = snapshot(ROOT)

    # 1. instructor: quick, strict, frames baked, Run All twice, widgets swept
    twice = tmp_path / nb_path.name
    n_first = _twice_with_sweep(nb_path, twice, {"QUICK": True})
    inst = _execute(twice, tmp_path / "instructor.ipynb", tmp_path / "instructor.jsonl",
                    {**fresh, "COURSE_QUICK": "0", "COURSE_STRICT_CHECKS": "1", "COURSE_STATIC_WIDGETS": "1"},
                    {"QUICK": True}, nb_path.parent)
    assert not _errors(inst), f"{nb_path.name}: {_errors(inst)}"
    assert any("injected-parameters" in tags(c) for c in inst["cells"]), "papermill found no 'parameters' cell"
    _save_for_book(inst, n_first, nb_path)
    first = read(str(tmp_path / "instructor.jsonl") + ".pass1")
    again = read(str(tmp_path / "instructor.jsonl"))
    assert first, f"{nb_path.name} records no results"
    assert first == again, f"Run All twice in one kernel changed recorded numbers: " \
                           f"{ {k: (first.get(k), again.get(k)) for k in set(first) | set(again) if first.get(k) != again.get(k)} }"

    # 2. the student copy, quick mode from the environment, lenient checks
    student_src = tmp_path / "student" / nb_path.name
    removed = make_student_copy(nb_path, student_src)
    assert removed >= 3
    stud = _execute(student_src, tmp_path / "student_out.ipynb", tmp_path / "student.jsonl",
                    {**fresh, "COURSE_QUICK": "1", "COURSE_STRICT_CHECKS": "0"}, None, nb_path.parent)
    assert not _errors(stud), f"the student copy of {nb_path.name} fails: {_errors(stud)}"
    text = json.dumps(stud)
    debug = sum("debug" in tags(c) for c in stud["cells"] if "exercise" in tags(c))
    assert text.count("not written yet") >= removed - debug, \
        "each exercise check should say 'not written yet' (a debug exercise reports its bug instead)"

    # 3. the asserted numbers are reproducible across processes
    b = read(str(tmp_path / "student.jsonl"))
    assert first == b, f"two quick runs of {nb_path.name} recorded different numbers: " \
                       f"{ {k: (first.get(k), b.get(k)) for k in set(first) | set(b) if first.get(k) != b.get(k)} }"

    # 4. nothing was written into the course folder
    after = snapshot(ROOT)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"running {nb_path.name} created or modified files in the checkout: {changed[:10]}"
