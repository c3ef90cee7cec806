"""The student's progress file: recorded by checks, atomic, harmless when missing, corrupt or read-only."""
from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from course_utils import tracking
from course_utils.chapters import ch01_learning_basics as ch


@pytest.fixture
def progress(tmp_path, monkeypatch):
    path = tmp_path / "data" / "progress.json"
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(path))
    monkeypatch.setenv("COURSE_TRACK_PROGRESS", "1")
    return path


def _p_norm(v, p):
    return float(np.max(np.abs(v))) if np.isinf(p) else float(np.sum(np.abs(v) ** p) ** (1 / p))


def test_a_chapter_check_records_its_verdict(progress):
    assert not progress.exists()
    ch.check_p_norm(lambda v, p: 0.0)
    state = json.loads(progress.read_text())
    assert state["chapters"]["01"]["check_p_norm"]["passed"] is False
    ch.check_p_norm(_p_norm)
    entry = json.loads(progress.read_text())["chapters"]["01"]["check_p_norm"]
    assert entry["passed"] is True and entry["attempts"] == 2 and entry["first_passed"]


def test_summary_counts_against_the_notebooks_exercises(progress):
    ch.check_p_norm(_p_norm)
    rows = {c: (title, done, total) for c, title, done, total in tracking.summary()}
    title, done, total = rows["01"]
    assert title == "Learning basics" and done == 1 and total >= 6
    text = tracking.table()
    assert "01 Learning basics" in text and "total" in text


def test_recording_is_off_in_ci(progress, monkeypatch):
    monkeypatch.setenv("COURSE_TRACK_PROGRESS", "0")
    ch.check_p_norm(_p_norm)
    assert not progress.exists()


def test_a_corrupt_file_is_moved_aside_and_recording_continues(progress):
    progress.parent.mkdir(parents=True)
    progress.write_text("{not json")
    with pytest.warns(UserWarning, match="damaged"):
        ch.check_p_norm(_p_norm)
    assert progress.with_name("progress.json.corrupt").read_text() == "{not json"
    assert json.loads(progress.read_text())["chapters"]["01"]["check_p_norm"]["passed"]
    progress.write_text(json.dumps({"version": 1, "chapters": {"01": {"x": {"passed": "yes"}}}}))
    assert tracking.load(progress) == {"version": 1, "chapters": {}}  # valid JSON, wrong shape: also reset


def test_a_deleted_file_is_harmless(progress):
    ch.check_p_norm(_p_norm)
    progress.unlink()
    assert tracking.summary()  # no error, zero progress
    assert all(done == 0 for _, _, done, _ in tracking.summary())


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_location_warns_once_and_never_breaks_a_check(progress):
    progress.parent.mkdir(parents=True)
    progress.parent.chmod(stat.S_IREAD | stat.S_IEXEC)
    try:
        with pytest.warns(UserWarning, match="cannot save your progress"):
            r = ch.check_p_norm(_p_norm)
        assert r.passed
    finally:
        progress.parent.chmod(stat.S_IRWXU)


def test_an_unwritable_path_never_breaks_a_check(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(blocker / "progress.json"))  # parent is a file: cannot mkdir
    monkeypatch.setenv("COURSE_TRACK_PROGRESS", "1")
    with pytest.warns(UserWarning, match="cannot save your progress"):
        assert ch.check_p_norm(_p_norm).passed


def test_the_write_is_atomic(progress, monkeypatch):
    ch.check_p_norm(_p_norm)
    before = progress.read_text()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tracking.os, "replace", crash)
    with pytest.warns(UserWarning):
        ch.check_p_norm(lambda v, p: 0.0)
    assert progress.read_text() == before  # the old file is intact, no temporary file left behind
    assert [p.name for p in progress.parent.iterdir()] == ["progress.json"]


def test_the_default_location_is_outside_the_course(monkeypatch):
    monkeypatch.delenv("COURSE_PROGRESS_FILE", raising=False)
    path = tracking.progress_file()
    root = tracking.course_root()
    assert root is None or root not in path.parents
