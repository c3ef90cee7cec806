"""``python -m course_utils grade SUBMISSIONS/``: run students' notebooks, collect their check verdicts.

Contract:

- A submission is any ``.ipynb`` under ``SUBMISSIONS/``. In ``SUBMISSIONS/<student>/…``
  the student is the folder's name; a notebook directly in ``SUBMISSIONS/`` is named
  after its file. The chapter comes from the file name (``07_optimization.ipynb`` or
  ``alice_07.ipynb``: the first two-digit number) or, failing that, from the title cell.
- Each submission is executed in its own temporary working directory, offline (the
  network guard of ``offline_guard``), in quick mode, with a time limit per cell
  (``--cell-timeout``; an endless loop is interrupted and the next cell runs) and for
  the whole notebook (``--timeout``). Cells that raise do not stop the run: the
  notebook is graded as far as it goes.
- The verdicts are the ones the student saw: every ``check_*`` of a chapter module
  appends its verdict to the file named by ``COURSE_GRADE_FILE`` (``checks`` does this).
- The exercises of a chapter are the ``check_*`` calls in the reference notebook's
  check cells, so a deleted or never-reached exercise is reported, not skipped.
- Output: a CSV with one row per student and one column per exercise
  (``NN:check_name``), each cell ``pass``, ``fail: <the check's message>`` or
  ``error: <why there is no verdict>``, then one summary line per exercise (how many
  passed). A broken submission (not JSON, a syntax error, deleted cells, an endless
  loop) never stops the others.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import offline_guard

CHECK_CALL = re.compile(r"\bch\.(check_\w+)\s*\(")
CHAPTER_IN_NAME = re.compile(r"(?<!\d)(\d\d)(?!\d)")


@dataclass
class Submission:
    student: str
    path: Path
    chapter: str | None
    verdicts: dict[str, tuple[bool, bool, str]] = field(default_factory=dict)  # exercise -> (passed, attempted, msg)
    problem: str = ""  # why the notebook could not be (fully) run
    seconds: float = 0.0


def reference_exercises(root: Path) -> dict[str, list[str]]:
    """``{"01": ["check_p_norm", …]}``: the checks each reference chapter notebook calls, in order."""
    out: dict[str, list[str]] = {}
    for nb_path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if nb_path.name.startswith("00"):
            continue
        cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
        names: list[str] = []
        for i, cell in enumerate(cells):
            if "exercise" not in cell.get("metadata", {}).get("tags", []):
                continue
            for later in cells[i + 1:]:  # past the hints and the solution: the first check after the exercise
                found = CHECK_CALL.findall("".join(later["source"])) if later["cell_type"] == "code" else []
                if found and "solution" not in later.get("metadata", {}).get("tags", []):
                    names += [n for n in found if n not in names]
                    break
        out[nb_path.name[:2]] = names
    return out


def discover(submissions: Path) -> list[Submission]:
    """Every submitted notebook under ``submissions``, with its student and chapter."""
    found = []
    for path in sorted(submissions.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        rel = path.relative_to(submissions)
        student = rel.parts[0] if len(rel.parts) > 1 else path.stem
        m = CHAPTER_IN_NAME.search(path.stem)
        found.append(Submission(student=student, path=path, chapter=m.group(1) if m else None))
    return found


def _chapter_from_title(nb: dict) -> str | None:
    for cell in nb.get("cells", [])[:3]:
        if cell.get("cell_type") == "markdown":
            m = re.match(r"#\s*(\d\d)\b", "".join(cell.get("source", "")))
            if m:
                return m.group(1)
    return None


def run_submission(sub: Submission, root: Path, timeout: float = 900, cell_timeout: float = 120) -> Submission:
    """Execute one submission (see the module docstring); fills ``sub.verdicts`` and ``sub.problem``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    t0 = time.perf_counter()
    try:
        nb = nbformat.read(str(sub.path), as_version=4)
    except Exception as exc:  # not JSON, not a notebook
        sub.problem = f"not a readable notebook ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
        return sub
    sub.chapter = sub.chapter or _chapter_from_title(nb)
    work = Path(tempfile.mkdtemp(prefix="grade-"))
    guard = work / "_guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(offline_guard.sitecustomize_source(), encoding="utf-8")
    verdict_file = work / "verdicts.jsonl"
    env = {**os.environ, "COURSE_OFFLINE_GUARD": "1", "COURSE_QUICK": "1", "COURSE_STRICT_CHECKS": "0",
           "COURSE_TRACK_PROGRESS": "0", "COURSE_PROGRESS_BARS": "0", "COURSE_GRADE_FILE": str(verdict_file),
           "PYTHONPATH": os.pathsep.join([str(guard), str(root)] + ([os.environ["PYTHONPATH"]]
                                                                    if os.environ.get("PYTHONPATH") else []))}
    env.pop("MPLBACKEND", None)
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(work)}})
    client.km = client.create_kernel_manager()
    deadline_hit = False
    try:
        client.start_new_kernel(env=env, cwd=str(work))
        client.start_new_kernel_client()
        for index, cell in enumerate(nb.cells):
            if time.perf_counter() - t0 > timeout:
                deadline_hit = True
                break
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                continue
    except DeadKernelError as exc:
        sub.problem = f"the kernel died ({exc})"
    except Exception as exc:
        sub.problem = f"execution stopped: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
    finally:
        try:
            client._cleanup_kernel()
        except Exception:
            pass
    if deadline_hit:
        sub.problem = f"time limit of {timeout:g} s reached; later cells were not run"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors and not sub.problem:
        first = errors[0]
        sub.problem = f"{len(errors)} cell(s) raised, first {first.get('ename')}: {str(first.get('evalue'))[:120]}"
    if verdict_file.exists():
        for line in verdict_file.read_text(encoding="utf-8").splitlines():
            try:
                v = json.loads(line)
            except ValueError:
                continue
            if sub.chapter is None or v.get("chapter") == sub.chapter:
                sub.verdicts[v["exercise"]] = (bool(v["passed"]), bool(v["attempted"]), str(v.get("message", "")))
    shutil.rmtree(work, ignore_errors=True)
    sub.seconds = time.perf_counter() - t0
    return sub


def cell_text(sub: Submission, exercise: str) -> str:
    """``pass``, ``fail: …`` or ``error: …`` for one exercise of one submission."""
    if exercise in sub.verdicts:
        passed, attempted, message = sub.verdicts[exercise]
        if passed:
            return "pass"
        one_line = " ".join(message.split())
        return f"fail: {one_line}" if attempted else f"fail: not attempted ({one_line})"
    return f"error: no verdict ({sub.problem or 'its check cell was deleted, changed or not reached'})"


def write_csv(subs: list[Submission], exercises: dict[str, list[str]], out: Path) -> list[list[str]]:
    """The grade sheet (see module docstring); returns its rows."""
    chapters = sorted({s.chapter for s in subs if s.chapter in exercises})
    columns = [f"{c}:{e}" for c in chapters for e in exercises[c]]
    students = sorted({s.student for s in subs})
    by_student: dict[str, dict[str, str]] = {st: {} for st in students}
    notes: dict[str, list[str]] = {st: [] for st in students}
    for s in subs:
        if s.chapter not in exercises:
            notes[s.student].append(f"{s.path.name}: {s.problem or 'chapter not recognised'}")
            continue
        for e in exercises[s.chapter]:
            by_student[s.student][f"{s.chapter}:{e}"] = cell_text(s, e)
        if s.problem:
            notes[s.student].append(f"{s.path.name}: {s.problem}")
    rows = [["student", *columns, "passed", "notes"]]
    for st in students:
        cells = [by_student[st].get(col, "error: not submitted") for col in columns]
        rows.append([st, *cells, str(sum(c == "pass" for c in cells)), "; ".join(notes[st])])
    rows.append([])
    for col in columns:
        results = [by_student[st].get(col, "error: not submitted") for st in students]
        rows.append([f"# summary {col}", f"{sum(r == 'pass' for r in results)} of {len(students)} passed",
                     f"{sum(r.startswith('fail') for r in results)} failed",
                     f"{sum(r.startswith('error') for r in results)} without a verdict"])
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return rows


def grade(submissions: str | Path, out: str | Path = "grades.csv", root: str | Path | None = None,
          timeout: float = 900, cell_timeout: float = 120, log=print) -> list[list[str]]:
    """Grade every submission; write and return the CSV rows."""
    submissions, out = Path(submissions), Path(out)
    root = Path(root) if root is not None else Path(__file__).resolve().parents[1]
    if not submissions.is_dir():
        raise FileNotFoundError(f"no folder {submissions}")
    from .kernels import use_ipc_kernels

    use_ipc_kernels()  # kernels on Unix sockets, not loopback TCP ports other users could reach
    exercises = reference_exercises(root)
    subs = discover(submissions)
    if not subs:
        log(f"no .ipynb files under {submissions}")
    for i, sub in enumerate(subs, 1):
        run_submission(sub, root, timeout=timeout, cell_timeout=cell_timeout)
        n_pass = sum(v[0] for v in sub.verdicts.values())
        log(f"[{i}/{len(subs)}] {sub.student} / {sub.path.name}: chapter {sub.chapter or '?'}, "
            f"{n_pass} check(s) passed in {sub.seconds:.0f} s" + (f"  ({sub.problem})" if sub.problem else ""))
    rows = write_csv(subs, exercises, out)
    log(f"wrote {out}: {len({s.student for s in subs})} student(s), {len(rows[0]) - 3} exercise column(s)")
    return rows


