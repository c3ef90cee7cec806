"""``python -m course_utils bench``: chapters timed with their widget frames, a table written as JSON and Markdown."""
from __future__ import annotations

import json

import pytest

from course_utils import bench

pytestmark = pytest.mark.slow

NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "QUICK = False", "outputs": [],
         "execution_count": None, "id": "p"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "id": "w", "source":
         "import matplotlib.pyplot as plt\nfrom course_utils.widgets import Slider, interactive_figure\n"
         "import time\n"
         "def draw(k=1):\n    time.sleep(0.7)\n    fig, ax = plt.subplots()\n    ax.plot([0, k])\n    return fig\n"
         "interactive_figure(draw, k=Slider(1, 3, 1, static=[1, 2, 3]))"},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def test_a_chapter_is_timed_with_its_widget_frames_and_reported(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_tiny.ipynb").write_text(json.dumps(NOTEBOOK))
    result = bench.run(tmp_path, tmp_path / "out", ["01"], repeat=2, micro=True, log=lambda *a: None)
    (t,) = result["chapters"]
    assert not t["error"] and len(t["default_s"]) == 2 and t["quick_s"] > 0
    # the first run also timed the three frames (2.1 s of sleeping): the chapter's time leaves them out
    assert t["default_s"][0] < t["default_s"][1] + 1.2, t["default_s"]
    (w,) = t["frames"]
    assert w["widget"] == "draw" and len(w["seconds"]) == 3
    assert all(0 < c < s for c, s in zip(w["compute_s"], w["seconds"]))  # drawing the PNG takes time too
    assert result["micro"] and all("ratio" in r for r in result["micro"]), result["micro"]
    names = " ".join(r["what"] for r in result["micro"])
    for piece in ("affine", "conv2d via im2col", "LSTM cell", "multi-head", "autodiff engine", "training.fit"):
        assert piece in names, f"no micro-benchmark of {piece}"
    md = (tmp_path / "out" / "bench.md").read_text()
    assert "| 01_tiny |" in md and "From scratch vs PyTorch" in md and "drawing share" in md
    assert json.loads((tmp_path / "out" / "bench.json").read_text())["goals"]["page_mb"] == 1.5
