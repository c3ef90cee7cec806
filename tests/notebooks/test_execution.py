"""Second executions of every chapter, in quick mode, where they prove something new:

1. the instructor notebook runs through papermill with ``QUICK=True`` injected
   as a parameter (the instructor's "rerun bigger or smaller" path);
2. the student copy (solutions removed, ``COURSE_QUICK=1`` from the
   environment) runs without errors, each check saying "not written yet";
3. determinism: both runs record the same asserted numbers (``results.record``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import papermill as pm
import pytest

from course_utils.notebooks import chapter_notebooks, make_student_copy, tags
from course_utils.results import read

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = chapter_notebooks(ROOT)


def _run(src: Path, out: Path, results: Path, env: dict, parameters: dict | None) -> dict:
    old = dict(os.environ)
    os.environ.update(env)
    os.environ["COURSE_RESULTS_FILE"] = str(results)
    try:
        pm.execute_notebook(str(src), str(out), parameters=parameters or {}, cwd=str(ROOT / "notebooks"),
                            kernel_name="python3", progress_bar=False, execution_timeout=600)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return json.loads(out.read_text())


def _errors(nb: dict) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_quick_instructor_and_student_runs_agree(nb_path, tmp_path):
    # 1. instructor copy, QUICK injected by papermill, strict checks
    inst = _run(nb_path, tmp_path / "instructor.ipynb", tmp_path / "instructor.jsonl",
                {"COURSE_QUICK": "0", "COURSE_STRICT_CHECKS": "1"}, {"QUICK": True})
    assert not _errors(inst)
    assert any("injected-parameters" in tags(c) for c in inst["cells"]), "papermill found no 'parameters' cell"

    # 2. student copy, quick mode from the environment, lenient checks
    student_src = tmp_path / nb_path.name
    removed = make_student_copy(nb_path, student_src)
    assert removed >= 3
    stud = _run(student_src, tmp_path / "student_out.ipynb", tmp_path / "student.jsonl",
                {"COURSE_QUICK": "1", "COURSE_STRICT_CHECKS": "0"}, None)
    assert not _errors(stud), f"the student copy of {nb_path.name} fails: {_errors(stud)}"
    text = json.dumps(stud)
    debug = sum("debug" in tags(c) for c in stud["cells"] if "exercise" in tags(c))
    assert text.count("not written yet") >= removed - debug, \
        "each exercise check should say 'not written yet' (a debug exercise reports its bug instead)"

    # 3. the asserted numbers are reproducible
    a, b = read(str(tmp_path / "instructor.jsonl")), read(str(tmp_path / "student.jsonl"))
    assert a, f"{nb_path.name} records no results"
    assert a == b, f"two quick runs of {nb_path.name} recorded different numbers: " \
                   f"{ {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)} }"
