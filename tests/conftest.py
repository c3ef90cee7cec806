"""Shared fixtures and the per-notebook timing report.

Every chapter's default run (the instructor pass of ``tests/notebooks/test_execution.py``,
less the book's extra widget frames) and every notebook nbval executes (the start page:
``pytest --nbval-lax notebooks/00_start_here.ipynb``) is timed; at the end pytest prints
one line per notebook, writes ``_build/timings.json`` and fails the run if a notebook took
longer than ``COURSE_TIME_LIMIT`` seconds (default 120: four times the 30 s budget, a guard
against a notebook that runs away, not the budget itself: in the suite two notebooks share
the two cores with other tests, and on a loaded machine chapters measured up to 2.4× their
time in an otherwise identical run). The report marks every notebook over the 30 s budget (45 s for chapter 20: ``BUDGETS``).
"""
from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # unit tests draw off-screen (kernels keep their inline backend)

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from course_utils.kernels import use_ipc_kernels  # noqa: E402

use_ipc_kernels()  # every kernel this test process starts (nbval, papermill, the grader) talks over IPC
# the disk cache (course_utils.cache) of this test process and its kernels: empty at the start, never the user's
os.environ.setdefault("COURSE_CACHE_DIR", tempfile.mkdtemp(prefix="course-cache-"))

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 30.0
#: chapters with a larger budget: chapter 20 trains a DQN to a perfect CartPole on top of the rest (20-30 s alone)
BUDGETS = {"notebooks/20_reinforcement_learning.ipynb": 45.0}
_times: dict[str, float] = defaultdict(float)


#: files whose tests are independent of each other (each runs whole notebooks in fresh kernels): with
#: ``--dist loadfile`` their tests are spread over the workers one at a time; every other file stays on one
#: worker, in order (nbval's cells share one kernel per notebook, and module fixtures are built once)
SPREAD = {"tests/notebooks/test_execution.py"}


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SpreadSomeFiles(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if path in SPREAD else path

    return SpreadSomeFiles(config, log)


def pytest_collection_modifyitems(config, items):
    """Longest first: the chapters' executions start before everything else, the later (heavier) chapters first.

    The unit tests, many and short, then fill both workers evenly to the end; a heavy chapter
    left for last (chapter 19's takes about 80 s) would keep one worker busy while the other idles.
    """
    def order(item) -> tuple[int, int]:
        path, _, rest = item.nodeid.partition("::")
        if path in SPREAD and "[" in rest:
            return 0, -int(rest.split("[")[-1][:2] or 0)
        return 1, 0

    items.sort(key=order)  # stable: everything else keeps its order


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):  # nbval: one test per cell
        _times[path] += report.duration
    for name, value in report.user_properties:  # test_execution: the chapter's default run
        if name == "notebook_seconds" and report.when == "call":
            _times[f"notebooks/{report.nodeid.split('[')[-1].rstrip(']')}.ipynb"] = float(value)


def _limit() -> float:
    return float(os.environ.get("COURSE_TIME_LIMIT", 4 * BUDGET))


def pytest_terminal_summary(terminalreporter):
    if not _times:
        return
    tr = terminalreporter
    tr.section("notebook timings (default run)")
    for path, t in sorted(_times.items()):
        budget = BUDGETS.get(path, BUDGET)
        flag = "  OVER LIMIT" if t > _limit() else (f"  over the {budget:.0f} s budget" if t > budget else "")
        tr.write_line(f"{t:7.1f} s  {path}{flag}")
    tr.write_line(f"{sum(_times.values()):7.1f} s  total")
    out = ROOT / "_build"
    out.mkdir(exist_ok=True)
    (out / "timings.json").write_text(json.dumps(dict(sorted(_times.items())), indent=1))


def pytest_sessionfinish(session, exitstatus):
    slow = {p: t for p, t in _times.items() if t > _limit()}
    if slow and exitstatus == 0:
        print(f"\nFAILED: notebook(s) over the {_limit():.0f} s limit: {slow}")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def _unit_test_defaults(monkeypatch):
    """Checks report instead of raising in unit tests (``make test`` sets strict mode for
    the notebooks), progress is not recorded, and figures drawn by a test are closed after it."""
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)
    monkeypatch.setenv("COURSE_TRACK_PROGRESS", "0")  # never write to a real student's progress file
    yield
    plt.close("all")


@pytest.fixture
def lenient():
    """Named for readability in checker tests; the autouse fixture already did the work."""
