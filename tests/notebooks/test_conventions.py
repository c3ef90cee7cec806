"""Every chapter follows the authoring guide's template (AUTHORING.md)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from course_utils.notebooks import chapter_notebooks, tags

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = chapter_notebooks(ROOT)
ALL_NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def load(p: Path) -> dict:
    return json.loads(p.read_text(encoding="utf-8"))


def src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [ch["file"] for ch in part.get("chapters", [])]
    return files


@pytest.mark.parametrize("nb_path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_stripped(nb_path):
    nb = load(nb_path)
    for i, c in enumerate(code_cells(nb)):
        assert c.get("outputs") == [] and c.get("execution_count") is None, \
            f"{nb_path.name}: code cell {i} has stored outputs; run `make strip`"
    assert "widgets" not in nb["metadata"], f"{nb_path.name}: stored widget state; strip it"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_recorded_results_are_not_wall_times(nb_path):
    """Recorded numbers must be equal in every run (the determinism test compares them): never a time."""
    import re

    for c in code_cells(load(nb_path)):
        for name in re.findall(r"record\(\s*f?[\"']([^\"']+)", "".join(c["source"])):
            assert not re.search(r"seconds|_time|_s$|_ms$", name), f"{nb_path.name} records a wall time: {name!r}"


def test_toc_lists_every_chapter_and_only_existing_files():
    listed = toc_files()
    for p in CHAPTERS:
        assert f"notebooks/{p.stem}" in listed, f"{p.name} is missing from _toc.yml"
    for f in listed:
        assert (ROOT / f"{f}.ipynb").exists() or (ROOT / f"{f}.md").exists(), f"_toc.yml lists missing {f}"


def test_start_page_links_every_chapter():
    text = "".join(src(c) for c in load(ROOT / "notebooks" / "00_start_here.ipynb")["cells"])
    for p in CHAPTERS:
        assert f"]({p.name})" in text, f"00_start_here does not link {p.name}"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_template(nb_path):
    nb = load(nb_path)
    cells = nb["cells"]
    name = nb_path.name
    first = cells[0]
    assert first["cell_type"] == "markdown" and src(first).startswith(f"# {name[:2]}"), \
        f"{name}: first cell must be the title '# {name[:2]} · …'"
    head = src(first).lower()
    assert "learning objectives" in head and "prerequisites" in head, f"{name}: title cell needs objectives and prerequisites"
    titles = [l for c in cells if c["cell_type"] == "markdown" for l in src(c).splitlines() if re.match(r"# ", l)]
    assert len(titles) == 1, f"{name}: exactly one '# ' title, found {titles}"

    codes = code_cells(nb)
    params = [c for c in codes if "parameters" in tags(c)]
    assert len(params) == 1 and codes[0] is params[0], f"{name}: the first code cell must be the only 'parameters' cell"
    assert "quick_mode()" in src(params[0]), f"{name}: parameters must read COURSE_QUICK via quick_mode()"
    uses = [l for l in src(params[0]).splitlines() if re.search(r"\bQUICK\b", l) and not l.startswith("QUICK =")]
    assert not uses, (f"{name}: compute sizes from QUICK in the next cell, not in the parameters cell "
                      f"(papermill injects its values after it): {uses}")

    all_code = "\n".join(src(c) for c in codes)
    assert "interactive_figure(" in all_code, f"{name}: needs at least one widget"
    assert re.search(r"^\s*assert ", all_code, re.M), f"{name}: state the chapter's results as asserts"
    assert "record(" in all_code, f"{name}: record the asserted numbers with results.record"
    assert any(re.match(r"## Summary", src(c)) for c in cells if c["cell_type"] == "markdown"), f"{name}: needs '## Summary'"


#: Exercise kinds (a tag next to ``exercise``); a cell without one is an "implement" exercise.
KINDS = ("predict", "derive", "debug", "design")


def exercise_kind(cell) -> str:
    kinds = [k for k in KINDS if k in tags(cell)]
    assert len(kinds) <= 1, f"an exercise cell has several kinds: {kinds}"
    return kinds[0] if kinds else "implement"


def _after_hints(cells, i):
    """Index of the first cell after exercise cell ``i`` that is not a hint."""
    j = i + 1
    while j < len(cells) and "hint" in tags(cells[j]):
        j += 1
    return j


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_exercises_have_solutions_and_checks(nb_path):
    cells = load(nb_path)["cells"]
    name = nb_path.name
    ex = [i for i, c in enumerate(cells) if "exercise" in tags(c)]
    assert len(ex) >= 3, f"{name}: needs at least 3 exercises, found {len(ex)}"
    for i in ex:
        if exercise_kind(cells[i]) == "debug":
            assert "raise NotImplementedError" not in src(cells[i]), \
                f"{name}: debug exercise cell {i} holds the broken code to repair, not a stub"
        else:
            assert "raise NotImplementedError" in src(cells[i]) or re.search(r"=\s*\.\.\.", src(cells[i])), \
                f"{name}: exercise cell {i} must end in a stub (`raise NotImplementedError`, or `answer = ...`)"
        j = _after_hints(cells, i)
        sol = cells[j]
        assert {"solution", "hide-cell"} <= set(tags(sol)), \
            f"{name}: after exercise {i} (and its hints) comes its solution, tagged 'solution' and 'hide-cell'"
        check = cells[j + 1]
        assert check["cell_type"] == "code" and "check" in src(check), f"{name}: a check must follow the solution of exercise {i}"
    for c in cells:
        if "solution" in tags(c):
            assert "hide-cell" in tags(c), f"{name}: every solution cell is hidden in the book (tag 'hide-cell')"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_every_exercise_has_a_hint(nb_path):
    """Hints before solutions: one or two collapsed comment-only cells right after each exercise cell."""
    cells = load(nb_path)["cells"]
    for i, c in enumerate(cells):
        if "exercise" not in tags(c):
            continue
        hints = cells[i + 1:_after_hints(cells, i)]
        assert 1 <= len(hints) <= 2, f"{nb_path.name}: exercise cell {i} needs one or two hint cells after it"
        for h in hints:
            assert h["cell_type"] == "code" and {"hint", "hide-cell"} <= set(tags(h)), \
                f"{nb_path.name}: a hint is a code cell tagged 'hint' and 'hide-cell' (collapsed in the book)"
            assert h.get("metadata", {}).get("jupyter", {}).get("source_hidden") is True, \
                f"{nb_path.name}: a hint cell is collapsed in JupyterLab too (metadata.jupyter.source_hidden)"
            lines = [l for l in src(h).splitlines() if l.strip()]
            assert lines and all(l.lstrip().startswith("#") for l in lines) and lines[0].lstrip().startswith("# Hint"), \
                f"{nb_path.name}: a hint cell holds only comments, starting with '# Hint'"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_exercises_are_of_several_kinds(nb_path):
    """Students think, not only transcribe: at least two exercises that are not "implement this formula"."""
    kinds = [exercise_kind(c) for c in load(nb_path)["cells"] if "exercise" in tags(c)]
    others = [k for k in kinds if k != "implement"]
    assert len(others) >= 2, (f"{nb_path.name}: needs at least two exercises tagged one of {KINDS} "
                              f"(predict-then-run, derive-then-check, debug-this, design-to-a-target); found {kinds}")


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_notebooks_stay_thin(nb_path):
    """Helpers live in course_utils: notebooks define functions only for exercises, and only short ones."""
    for c in code_cells(load(nb_path)):
        if {"exercise", "solution"} & set(tags(c)):
            continue
        s = src(c)
        assert not re.search(r"^class ", s, re.M), f"{nb_path.name}: move class definitions into course_utils"
        for m in re.finditer(r"^def .*?(?=^\S|\Z)", s, re.M | re.S):
            n = len([l for l in m.group(0).splitlines() if l.strip()])
            assert n <= 15, f"{nb_path.name}: a {n}-line function in a notebook cell belongs in course_utils"


def _names(reqs) -> set[str]:
    out = set()
    for r in reqs:
        if isinstance(r, str) and not r.startswith("-") and r != "pip" and not r.startswith("python"):
            out.add(re.split(r"[<>=!~ \[]", r)[0].strip().lower())
    return out


def test_environment_yml_matches_pyproject():
    deps = _names(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    conda = _names([d for d in env if isinstance(d, str)])
    pip = _names(next(d["pip"] for d in env if isinstance(d, dict)))
    assert conda | pip == deps, f"environment.yml {sorted(conda | pip)} != pyproject {sorted(deps)}"


def test_readme_and_ci_use_the_same_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make lab" in readme and "make test" in readme
    assert re.search(r"^make test$", ci, re.M)
    # An unpinned torch makes pip fetch a multi-GB CUDA build on Linux: the constraints pin one build.
    assert re.search(r"^torch==\d+\.\d+\.\d+", (ROOT / "constraints.txt").read_text(), re.M)


def test_the_course_map_reads_every_chapter():
    """Each title cell states its prerequisites (earlier chapters only) and an estimated time."""
    from course_utils import course_map

    chapters = course_map.read_chapters(ROOT)  # raises, naming the chapter, if a line is missing
    numbers = [c.number for c in chapters]
    assert numbers == [p.name[:2] for p in CHAPTERS]
    for c in chapters:
        later = [r for r in c.requires if r >= c.number]
        assert not later, f"chapter {c.number} lists later chapters as prerequisites: {later}"
        assert 20 <= c.minutes[0] <= c.minutes[1] <= 240, f"chapter {c.number}: estimated time {c.minutes} minutes?"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_papermill_reads_every_parameter(nb_path):
    """``papermill -p NAME VALUE`` warns "Passed unknown parameter" for a name it cannot parse in the
    parameters cell, e.g. one whose comment has an ``=`` in it (``# COURSE_QUICK=1: ...``): the value is
    still injected, but an instructor following the README sees a warning saying it was not."""
    import ast
    import logging

    import papermill

    cell = next(c for c in code_cells(load(nb_path)) if "parameters" in tags(c))
    names = [t.id for node in ast.parse(src(cell)).body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)]
    logging.disable(logging.WARNING)  # papermill's "Unable to parse line" messages: the assert says which
    try:
        parsed = set(papermill.inspect_notebook(str(nb_path)))
    finally:
        logging.disable(logging.NOTSET)
    missing = [n for n in names if n not in parsed]
    assert not missing, (f"{nb_path.name}: papermill cannot read the parameter(s) {missing}; keep '=' out of "
                         "their comments (write 'set to', 'at least', 'from 1 to')")
