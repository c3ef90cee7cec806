"""Recording the numbers a notebook asserts, so two runs can be compared.

``record(name, value)`` returns ``value`` unchanged, keeps it in ``RESULTS`` and,
when ``COURSE_RESULTS_FILE`` names a file, appends ``{"name":..., "value":...}``
as one JSON line. The determinism test runs each notebook twice and checks that
the recorded values agree. Record the chapter's "must demonstrate" numbers.
"""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

RESULTS: dict[str, Any] = {}


def _plain(value: Any) -> Any:
    """JSON-ready copy: NumPy and torch scalars/arrays become Python numbers/lists, recursively."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy().tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def record(name: str, value: Any) -> Any:
    """Remember ``value`` under ``name`` (and write it to ``COURSE_RESULTS_FILE`` if set)."""
    plain = _plain(value)
    RESULTS[name] = plain
    path = os.environ.get("COURSE_RESULTS_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"name": name, "value": plain}) + "\n")
    return value


def read(path: str) -> dict[str, Any]:
    """Read a results file written by :func:`record` (later records win)."""
    out: dict[str, Any] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                item = json.loads(line)
                out[item["name"]] = item["value"]
    return out
