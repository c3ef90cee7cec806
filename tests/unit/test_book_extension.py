"""_ext/course_book.py: the Sphinx tweaks, tested without building a book."""
from __future__ import annotations

import importlib.util
import io
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
from helpers import ROOT


def _extension():
    spec = importlib.util.spec_from_file_location("course_book", ROOT / "_ext" / "course_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_figures_are_saved_with_a_palette_after_the_build(tmp_path):
    images = tmp_path / "_images"
    images.mkdir()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    x = np.linspace(0, 6, 200)
    for k in range(4):
        ax.plot(x, np.sin(x + k), label=f"curve {k}")
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)  # the house style may set another savefig dpi
    plt.close(fig)
    (images / "figure.png").write_bytes(buf.getvalue())
    before = len(buf.getvalue())
    from PIL import Image

    with Image.open(io.BytesIO(buf.getvalue())) as im:
        size = im.size
    app = SimpleNamespace(outdir=str(tmp_path), builder=SimpleNamespace(format="html"))
    _extension()._shrink_images(app, None)
    after = (images / "figure.png").stat().st_size
    assert after < 0.6 * before, (before, after)
    with Image.open(images / "figure.png") as im:
        assert im.size == size and im.mode == "P"
    _extension()._shrink_images(app, RuntimeError("the build failed"))  # a failed build is left as it is


def test_pages_drop_the_unused_widget_state_and_thebe_scripts_and_keep_the_rest():
    from sphinx.builders.html._assets import _JavaScript

    keep = [_JavaScript("_static/course.js"), _JavaScript(None, body="var x = 1;")]
    state = _JavaScript(None, type="application/vnd.jupyter.widget-state+json", body='{"state": {}}')
    thebe = _JavaScript("https://unpkg.com/thebe@0.8.2/lib/index.js")
    context = {"script_files": [keep[0], state, thebe, keep[1]]}
    _extension()._drop_unused_scripts(None, "notebooks/08_training", "page.html", context, None)
    assert context["script_files"] == keep
