"""The architecture is a rule, not a convention: import-linter's contracts and ruff, as tests.

The contracts live in pyproject.toml ([tool.importlinter]); CONTRIBUTING.md draws them.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from helpers import ROOT


def test_import_contracts_are_kept():
    exe = shutil.which("lint-imports", path=str(ROOT / ".venv" / "bin")) or shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports is missing: install the test extra (pip install -e '.[test]')")
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "broken" in proc.stdout and " 0 broken" in proc.stdout


def test_ruff_passes():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_a_forbidden_import_would_be_caught(tmp_path):
    """The contracts can fail: a scratch module that imports Matplotlib breaks one."""

    pkg = tmp_path / "course_utils"
    shutil.copytree(ROOT / "course_utils", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "scratch" / "bad.py").write_text("import matplotlib.pyplot as plt\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    exe = shutil.which("lint-imports", path=str(ROOT / ".venv" / "bin")) or shutil.which("lint-imports")
    proc = subprocess.run([exe, "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path), "PATH": ""})
    assert proc.returncode != 0 and "course_utils.scratch.bad" in proc.stdout, proc.stdout[-2000:]


def test_every_module_belongs_to_a_tier():
    """A new top-level module must be placed in the contracts (pyproject.toml), or it escapes the rules."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layered = set()
    for layer in next(c for c in config if c["type"] == "layers")["layers"]:
        layered |= {m.strip() for m in layer.replace("|", ":").split(":")}
    top = {f"course_utils.{p.stem}" for p in (ROOT / "course_utils").glob("*.py") if p.stem not in ("__init__", "__main__")}
    top |= {f"course_utils.{p.parent.name}" for p in (ROOT / "course_utils").glob("*/__init__.py")}
    assert top <= layered, f"modules in no tier of the layers contract: {sorted(top - layered)}"
