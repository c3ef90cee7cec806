"""Every ``course_utils`` name the guides, the docstrings and the notebooks cite exists.

- Markdown guides: every dotted ``course_utils.x.y`` path.
- Docstrings and comments of the package: Sphinx roles (:func:`name`) and
  double-backticked dotted names whose head is a module of the package
  (``checks.check_function``, ``scratch.layers.affine_forward``).
- Notebooks: every ``alias.attribute`` where ``alias`` was imported from
  ``course_utils`` in the notebook, in code and in backticks in the prose.
"""
from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from pathlib import Path

import pytest
from helpers import ROOT

import course_utils

GUIDES = ["README.md", "AUTHORING.md", "CONTRIBUTING.md"]


def _modules() -> dict[str, object]:
    """Every module of the package by dotted name relative to course_utils ("scratch.layers")."""
    out = {}
    for info in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
        if info.name.endswith(".__main__"):  # scripts: importing one runs it
            continue
        out[info.name[len("course_utils."):]] = importlib.import_module(info.name)
    return out


MODULES = _modules()
SHORT: dict[str, list[str]] = {}  # "layers" -> ["scratch.layers"]; "graphs" -> ["data.graphs", "scratch.graphs"]
for _name in MODULES:
    SHORT.setdefault(_name.rsplit(".", 1)[-1], []).append(_name)


def resolve(path: str, context: str | None = None) -> bool:
    """True if ``path`` names something in course_utils (tried as given, then from ``context``'s module)."""
    path = path.removeprefix("course_utils.").strip(".")
    parts = path.split(".")
    candidates = []
    for i in range(len(parts), 0, -1):
        head = ".".join(parts[:i])
        if head in MODULES:
            candidates.append((MODULES[head], parts[i:]))
        if i == 1 and head in SHORT:
            candidates += [(MODULES[name], parts[1:]) for name in SHORT[head]]
    if context is not None:
        mod = MODULES[context]
        candidates.append((mod, parts))
        # a method named from inside its module (:meth:`figure` in widgets) lives on one of its classes
        candidates += [(cls, parts) for cls in vars(mod).values()
                       if isinstance(cls, type) and cls.__module__ == mod.__name__]
    for obj, rest in candidates:
        ok = True
        for attr in rest:
            if not hasattr(obj, attr):
                ok = False
                break
            obj = getattr(obj, attr)
        if ok:
            return True
    return False


def _guide_refs():
    for guide in GUIDES:
        p = ROOT / guide
        if p.exists():
            for m in re.finditer(r"\bcourse_utils(?:\.[A-Za-z_]\w*)+", p.read_text(encoding="utf-8")):
                yield guide, m.group(0)


@pytest.mark.parametrize("where, ref", sorted(set(_guide_refs())))
def test_guides_cite_existing_names(where, ref):
    assert resolve(ref), f"{where} cites {ref}, which does not exist"


ROLE = re.compile(r":(?:func|class|mod|data|meth|attr):`~?([\w.]+)`")
BACKTICKED = re.compile(r"``([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\([^`]*\))?``")


def _docstring_refs():
    for name, mod in MODULES.items():
        src = Path(mod.__file__).read_text(encoding="utf-8")
        for m in ROLE.finditer(src):
            yield name, m.group(1)
        for m in BACKTICKED.finditer(src):
            head = m.group(1).split(".")[0]
            if m.group(1).endswith((".py", ".md", ".ipynb", ".json", ".yml")):
                continue  # a file name, not a Python name
            if head in MODULES or head in SHORT or head == "course_utils":
                yield name, m.group(1)


@pytest.mark.parametrize("module, ref", sorted(set(_docstring_refs())))
def test_docstrings_cite_existing_names(module, ref):
    assert resolve(ref, context=module), f"course_utils.{module} cites {ref}, which does not exist"


IMPORT = re.compile(r"^\s*(from\s+course_utils[\w.]*\s+import\s+[^\n(]+|import\s+course_utils[\w.]*(?:\s+as\s+\w+)?)", re.M)


def _aliases(code: str) -> dict[str, str]:
    """alias -> dotted module path for module imports from course_utils in ``code``."""
    out = {}
    for stmt in IMPORT.findall(code):
        try:
            tree = ast.parse(stmt.strip())
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("course_utils"):
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if full.removeprefix("course_utils.") in MODULES:
                        out[a.asname or a.name] = full
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("course_utils"):
                        out[a.asname or a.name] = a.name
    return out


def _notebook_refs():
    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        prose = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        aliases = _aliases(code)
        for alias, module in aliases.items():
            pattern = re.compile(rf"(?<![\w.]){re.escape(alias)}\.([A-Za-z_]\w*)")
            for text in (code, " ".join(re.findall(r"`([^`]+)`", prose))):
                for m in pattern.finditer(text):
                    yield nb_path.name, f"{module}.{m.group(1)}"


@pytest.mark.parametrize("notebook, ref", sorted(set(_notebook_refs())))
def test_notebooks_use_existing_names(notebook, ref):
    assert resolve(ref), f"{notebook} uses {ref}, which does not exist"


def test_the_resolver_can_fail():
    assert resolve("course_utils.scratch.layers.affine_forward")
    assert not resolve("course_utils.scratch.layers.no_such_layer")
    assert not resolve("checks.check_everything")
