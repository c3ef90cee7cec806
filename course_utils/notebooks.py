"""Notebook housekeeping: chapter discovery and student copies.

- ``make_student_copy(src, dst)`` writes ``dst`` without the cells tagged
  ``solution`` and with outputs and run metadata cleared; a short note says
  where the answers went.
- ``write_student_copies(sources, out)`` does that for ``make student`` without
  ever overwriting a copy the student has edited (a checksum manifest tells).
- ``chapter_notebooks(root)`` lists ``notebooks/NN_*.ipynb`` chapters (01-99).

Used by ``python -m course_utils student`` and by the tests. Stripping the
outputs of the stored notebooks is nbstripout's job (``make strip``).
"""
from __future__ import annotations

import hashlib
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


def student_copy(src: str | Path) -> tuple[str, int]:
    """The text of the student copy of ``src`` (no ``solution`` cells) and how many cells were removed."""
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
    return _dump(nb), removed


def make_student_copy(src: str | Path, dst: str | Path) -> int:
    """Write the student copy of ``src`` to ``dst`` (overwriting it); returns how many cells were removed."""
    text, removed = student_copy(src)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(text, encoding="utf-8")
    return removed


MANIFEST = ".course-copies.json"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_student_copies(sources: list[Path], out: str | Path) -> list[tuple[Path, str]]:
    """Write student copies of ``sources`` into ``out`` without ever losing a student's work.

    ``out/.course-copies.json`` remembers a checksum of every copy written. A copy that is
    missing is written (``"new"``); one that still matches what was written last time is
    refreshed (``"updated"`` or ``"unchanged"``); one the student has edited is left alone
    and the fresh version goes next to it as ``NN_name.new.ipynb`` (``"kept yours"``).
    Returns ``(path written or kept, status)`` per source.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            manifest = {}
    except (OSError, ValueError):
        manifest = {}
    report = []
    for src in sources:
        src = Path(src)
        text = student_copy(src)[0] if CHAPTER_RE.match(src.name) and src.name[:2] != "00" else \
            _dump(_strip_nb(json.loads(src.read_text(encoding="utf-8"))))
        dst = out / src.name
        if not dst.exists():
            dst.write_text(text, encoding="utf-8")
            manifest[src.name] = _sha(text)
            report.append((dst, "new"))
            continue
        current = dst.read_text(encoding="utf-8")
        if current == text:
            manifest[src.name] = _sha(text)
            report.append((dst, "unchanged"))
        elif manifest.get(src.name) == _sha(current):
            dst.write_text(text, encoding="utf-8")
            manifest[src.name] = _sha(text)
            report.append((dst, "updated"))
        else:
            fresh = dst.with_name(dst.stem + ".new.ipynb")
            fresh.write_text(text, encoding="utf-8")
            report.append((fresh, "kept yours"))
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return report
