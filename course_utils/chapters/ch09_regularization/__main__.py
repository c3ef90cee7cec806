"""``python -m course_utils.chapters.ch09_regularization``: regenerate the widget's shipped runs (about 5 s)."""
from __future__ import annotations

from . import WIDGET_RUNS_FILE, write_widget_runs

if __name__ == "__main__":
    print(f"wrote {WIDGET_RUNS_FILE}\nSHA-256 {write_widget_runs()}\nput this value into WIDGET_RUNS_SHA256 (and data/README.md)")
