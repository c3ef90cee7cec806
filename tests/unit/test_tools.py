"""Student copies, results recording, the doctor and the command line."""
import json

import numpy as np

from course_utils import doctor, notebooks, results
from course_utils.__main__ import main


def _nb(cells):
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}, "widgets": {"x": 1}},
            "nbformat": 4, "nbformat_minor": 5}


def _code(src, tags=(), outputs=None):
    return {"cell_type": "code", "execution_count": 3 if outputs else None, "metadata": {"tags": list(tags)},
            "outputs": outputs or [], "source": src}


def test_student_copy_drops_solutions_and_outputs(tmp_path):
    src = tmp_path / "01_x.ipynb"
    src.write_text(json.dumps(_nb([
        {"cell_type": "markdown", "metadata": {}, "source": "# Title"},
        _code("def f():\n    raise NotImplementedError", ["exercise"]),
        _code("def f():\n    return 1", ["solution", "hide-cell"]),
        _code("check(f)", outputs=[{"output_type": "stream", "name": "stdout", "text": "ok"}]),
    ])))
    dst = tmp_path / "student" / "01_x.ipynb"
    assert notebooks.make_student_copy(src, dst) == 1
    nb = json.loads(dst.read_text())
    sources = ["".join(c["source"]) for c in nb["cells"]]
    assert not any("return 1" in s for s in sources)
    assert any("NotImplementedError" in s for s in sources)
    assert "solutions were removed" in sources[1]
    assert all(c.get("outputs", []) == [] for c in nb["cells"])
    assert "widgets" not in nb["metadata"]


def test_cli_student(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    for name in ["00_start_here.ipynb", "01_a.ipynb", "02_b.ipynb", "scratch.ipynb"]:
        (tmp_path / "notebooks" / name).write_text(json.dumps(_nb([_code("x", ["solution"])])))
    assert [p.name for p in notebooks.chapter_notebooks(tmp_path)] == ["01_a.ipynb", "02_b.ipynb"]
    out = tmp_path / "student"
    assert main(["student", "--root", str(tmp_path), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.ipynb")) == ["00_start_here.ipynb", "01_a.ipynb", "02_b.ipynb"]


def test_results_record_and_read(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    monkeypatch.setenv("COURSE_RESULTS_FILE", str(path))
    assert results.record("acc", np.float64(0.5)) == 0.5
    results.record("curve", np.array([1, 2]))
    results.record("nested", {"k": np.int64(3), "v": [np.float32(0.5)]})
    assert results.read(str(path)) == {"acc": 0.5, "curve": [1, 2], "nested": {"k": 3, "v": [0.5]}}


def test_doctor_reports_all_set():
    lines = []
    assert doctor.run(lines.append) == 0
    text = "\n".join(lines)
    assert "torch" in text and "MNIST" in text and "All set" in text


def _chapters(tmp_path, names=("00_start_here.ipynb", "01_a.ipynb", "02_b.ipynb")):
    (tmp_path / "notebooks").mkdir(exist_ok=True)
    for name in names:
        (tmp_path / "notebooks" / name).write_text(json.dumps(_nb([
            _code("def f():\n    raise NotImplementedError", ["exercise"]), _code("x = 1", ["solution"])])))
    return tmp_path


def test_make_student_never_overwrites_an_edited_copy(tmp_path, capsys):
    root = _chapters(tmp_path)
    out = tmp_path / "student"
    assert main(["student", "--root", str(root), "--out", str(out)]) == 0
    first = (out / "01_a.ipynb").read_text()
    assert "x = 1" not in first and (out / ".course-copies.json").exists()
    # the student works on chapter 01
    edited = first.replace("raise NotImplementedError", "return 42")
    (out / "01_a.ipynb").write_text(edited)
    # the course is updated, and make student runs again
    (root / "notebooks" / "01_a.ipynb").write_text(json.dumps(_nb([_code("def f():\n    raise NotImplementedError  # v2",
                                                                         ["exercise"])])))
    (root / "notebooks" / "02_b.ipynb").write_text(json.dumps(_nb([_code("y = 2  # v2")])))
    capsys.readouterr()
    assert main(["student", "--root", str(root), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert (out / "01_a.ipynb").read_text() == edited                    # the student's work is intact
    assert "v2" in (out / "01_a.new.ipynb").read_text()                  # the new version sits next to it
    assert "you edited 01_a.ipynb, so it was kept" in said
    assert "y = 2  # v2" in (out / "02_b.ipynb").read_text()             # an untouched copy is refreshed
    assert "02_b.ipynb: updated" in said and "00_start_here.ipynb: unchanged" in said


def test_make_student_with_a_profile(tmp_path, capsys):
    root = _chapters(tmp_path, ("00_start_here.ipynb", "01_a.ipynb", "02_b.ipynb", "03_c.ipynb"))
    out = tmp_path / "student"
    assert main(["student", "--root", str(root), "--out", str(out), "--chapters", "01 03"]) == 0
    assert sorted(p.name for p in out.glob("*.ipynb")) == ["00_start_here.ipynb", "01_a.ipynb", "03_c.ipynb"]
    assert main(["student", "--root", str(root), "--out", str(out), "--chapters", "40-45"]) == 1
    assert "names none of the chapters" in capsys.readouterr().err


def test_bench_takes_each_frames_median_over_the_default_runs():
    from course_utils.bench import median_frames

    runs = [[{"widget": "draw", "seconds": [0.1, 0.5, 0.2], "compute_s": [0.01, 0.02, 0.03]}],
            [{"widget": "draw", "seconds": [0.3, 0.1, 0.2], "compute_s": [0.03, 0.02, 0.01]}],
            [{"widget": "draw", "seconds": [0.2, 0.1, 0.9], "compute_s": [0.02, 0.02, 0.02]}]]
    (w,) = median_frames(runs)
    assert w == {"widget": "draw", "runs": 3, "seconds": [0.2, 0.1, 0.2], "compute_s": [0.02, 0.02, 0.02]}
    assert median_frames(runs[:1])[0]["seconds"] == [0.1, 0.5, 0.2]  # one run: its own times
    assert median_frames([]) == []
