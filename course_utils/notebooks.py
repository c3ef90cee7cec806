"""Notebook housekeeping: chapter discovery and student copies.

- ``make_student_copy(src, dst)`` writes ``dst`` without the cells tagged
  ``solution`` and with outputs and run metadata cleared; a short note says
  where the answers went.
- ``chapter_notebooks(root)`` lists ``notebooks/NN_*.ipynb`` chapters (01-99).

Used by ``python -m course_utils student`` and by the tests. Stripping the
outputs of the stored notebooks is nbstripout's job (``make strip``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

CHAPTER_RE = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")
RUN_METADATA = ("execution", "papermill", "collapsed", "scrolled", "ExecuteTime")


def chapter_notebooks(root: str | Path = ".") -> list[Path]:
    """Chapter notebooks under ``root/notebooks`` (``01_…`` to ``99_…``), sorted."""
    nb_dir = Path(root) / "notebooks"
    return sorted(p for p in nb_dir.glob("*.ipynb") if CHAPTER_RE.match(p.name) and p.name[:2] != "00")


def tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _strip_nb(nb: dict) -> dict:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        md = cell.get("metadata", {})
        for key in RUN_METADATA:
            md.pop(key, None)
    nb.get("metadata", {}).pop("widgets", None)
    nb.get("metadata", {}).pop("papermill", None)
    return nb


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


STUDENT_NOTE = ("*Student copy: the reference solutions were removed. Write your answer in the cell "
                "above and run the check below it.*")


def make_student_copy(src: str | Path, dst: str | Path) -> int:
    """Write a copy of ``src`` without ``solution`` cells; returns how many were removed."""
    nb = _strip_nb(json.loads(Path(src).read_text(encoding="utf-8")))
    kept, removed = [], 0
    for cell in nb["cells"]:
        if "solution" in tags(cell):
            removed += 1
            continue
        kept.append(cell)
    if removed:
        note = {"cell_type": "markdown", "metadata": {}, "source": [STUDENT_NOTE]}
        if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
            note["id"] = "student-note"  # cell ids are required from nbformat 4.5 on
        kept.insert(1, note)
    nb["cells"] = kept
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(_dump(nb), encoding="utf-8")
    return removed
