"""``python -m course_utils grade``: planted submissions of every kind are graded, none stops the others."""
from __future__ import annotations

import csv
import json
import sys

import pytest
from helpers import ROOT

from course_utils.__main__ import main
from course_utils.grading import reference_exercises

pytestmark = pytest.mark.slow

P_NORM = '''def p_norm(v, p):
    v = np.asarray(v, dtype=float)
    return float(np.max(np.abs(v))) if np.isinf(p) else float(np.sum(np.abs(v) ** p) ** (1 / p))'''
CHOOSE_K = '''def choose_k(ks, accuracies):
    ks, accuracies = np.asarray(ks), np.asarray(accuracies)
    return int(ks[accuracies == accuracies.max()].max())'''


def _nb(*codes, title="# 01 · Learning basics"):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": title, "id": "t"}]
    for i, code in enumerate(("import numpy as np\nfrom course_utils.chapters import ch01_learning_basics as ch",) + codes):
        cells.append({"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None,
                      "id": f"c{i}"})
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    sub = tmp_path_factory.mktemp("submissions")
    planted = {
        "ada": _nb(P_NORM, "ch.check_p_norm(p_norm)", CHOOSE_K, "ch.check_choose_k(choose_k)"),
        "bob": _nb("def p_norm(v, p):\n    return float(np.sum(v ** p) ** (1 / p))  # no absolute value",
                   "ch.check_p_norm(p_norm)", "def choose_k(ks, acc)\n    return 1  # syntax error",
                   "ch.check_choose_k(choose_k)"),
        "cyd": _nb(P_NORM, "ch.check_p_norm(p_norm)"),                     # the choose_k cells deleted
        "dan": _nb("while True:\n    pass", P_NORM, "ch.check_p_norm(p_norm)"),  # an endless loop first
        "eve": _nb("def p_norm(v, p):\n    raise NotImplementedError", "ch.check_p_norm(p_norm)"),
    }
    for student, nb in planted.items():
        (sub / student).mkdir()
        (sub / student / "01_learning_basics.ipynb").write_text(json.dumps(nb))
    (sub / "fay").mkdir()
    (sub / "fay" / "01_learning_basics.ipynb").write_text("{ this is not json")
    out = tmp_path_factory.mktemp("out") / "grades.csv"
    argv = ["grade", str(sub), "--out", str(out), "--cell-timeout", "8", "--timeout", "120"]
    assert main(argv) == 0
    rows = list(csv.reader(out.open()))
    header = rows[0]
    table = {r[0]: dict(zip(header, r)) for r in rows[1:] if r and not r[0].startswith("#")}
    summary = [r for r in rows if r and r[0].startswith("# summary")]
    return header, table, summary


def test_one_column_per_exercise_of_the_reference_notebook(graded):
    header, _, summary = graded
    expected = [f"01:{name}" for name in reference_exercises(ROOT)["01"]]
    assert header[1:-2] == expected and "01:check_p_norm" in expected and "01:check_choose_k" in expected
    assert len(summary) == len(expected)


def test_each_kind_of_submission(graded):
    _, t, summary = graded
    assert t["ada"]["01:check_p_norm"] == "pass" and t["ada"]["01:check_choose_k"] == "pass"
    assert t["bob"]["01:check_p_norm"].startswith("fail: On inputs")           # the check's own message
    assert t["bob"]["01:check_choose_k"].startswith("error: no verdict")        # its cell had a syntax error
    assert "SyntaxError" in t["bob"]["notes"]
    assert t["cyd"]["01:check_p_norm"] == "pass" and t["cyd"]["01:check_choose_k"].startswith("error: no verdict")
    assert t["dan"]["01:check_p_norm"] == "pass"                               # graded after the loop was stopped
    assert t["eve"]["01:check_p_norm"].startswith("fail: not attempted")
    assert all(v.startswith("error") for k, v in t["fay"].items() if k.startswith("01:"))
    assert "not a readable notebook" in t["fay"]["notes"]
    p_norm_summary = next(r for r in summary if r[0].endswith("01:check_p_norm"))
    assert p_norm_summary[1] == "3 of 6 passed"


def test_a_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nope")]) == 1
    assert "no folder" in capsys.readouterr().err
    assert sys.executable  # the grader uses the current interpreter's kernel
