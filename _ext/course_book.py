"""Sphinx tweaks for the course's Jupyter Book (loaded through ``sphinx.local_extensions``).

- The theme's colour mode: pydata-sphinx-theme reads ``default_mode`` from the HTML
  context and, when Jupyter Book leaves it empty, logs "Got invalid theme mode" in every
  page's console. We set it to light (a reader can still switch).
- sphinx-thebe: Jupyter Book 1 always loads it, and it adds the same configuration
  script (``const THEBE_JS_URL = …``) twice, which is a JavaScript error on every page.
  Live code cells are off in this book (``launch_buttons.thebe: false``): we drop the
  extension's scripts from the pages instead of shipping an error.
- Kernels: the book's notebooks execute on kernels with IPC transport (``course_utils.kernels``).
- Collapsed cells say what they hide: a cell tagged ``solution`` reads "Show solution",
  one tagged ``hint`` "Show hint" (myst-nb's default is "Show code cell content").
- Lighter pages: once the book is written, every figure in ``_images`` is re-saved with a
  palette (``course_utils.widgets.book_png``, as the static widget frames already are),
  about three times smaller and the same to the eye. And no page carries the ipywidgets
  state that the executed notebook saved (myst-nb embeds it whenever it is there, as a
  ``<script type="application/vnd.jupyter.widget-state+json">``; the live image alone is
  an unquantised PNG of the widget's last frame): the book shows our static HTML widgets
  and loads no ipywidgets JavaScript (``_config.yml``), so nothing reads it. It was 2.5 MB
  over the book's 20 chapter pages, up to 0.29 MB (22 %) of one page.
"""
from __future__ import annotations

from docutils import nodes

#: labels of the collapsed cells, by tag: what the reader is about to reveal
TOGGLE_LABELS = {"solution": ("Show solution", "Hide solution"), "hint": ("Show hint", "Hide hint")}


def _set_mode(app, config) -> None:
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "light")  # pydata-sphinx-theme reads it from the HTML context
    config.html_context = context


def _is_thebe(script) -> bool:
    filename = str(getattr(script, "filename", script) or "")
    body = str(getattr(script, "attributes", {}).get("body", "") or "")
    return "sphinx-thebe" in filename or "thebe@" in filename or "THEBE_JS_URL" in body


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _is_widget_state(script) -> bool:
    return (getattr(script, "attributes", None) or {}).get("type") == WIDGET_STATE


def _drop_unused_scripts(app, pagename, templatename, context, doctree) -> None:
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not (_is_thebe(s) or _is_widget_state(s))]


def _label_toggles(app, doctree) -> None:
    for node in doctree.findall(nodes.container):
        if node.get("nb_element") != "cell_code" or not node.get("hide_mode"):
            continue
        tags = node.get("cell_metadata", {}).get("tags", [])
        for tag, (show, hide) in TOGGLE_LABELS.items():
            if tag in tags:
                node["prompt_show"], node["prompt_hide"] = show, hide
                break


def _shrink_images(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from pathlib import Path

    from course_utils.widgets import book_png

    for png in sorted((Path(app.outdir) / "_images").glob("*.png")):
        data = png.read_bytes()
        smaller = book_png(data)
        if len(smaller) < len(data):
            png.write_bytes(smaller)


def setup(app):
    from course_utils.kernels import use_ipc_kernels

    use_ipc_kernels()  # the notebooks' kernels talk over Unix sockets: no "running over TCP" warning
    app.connect("doctree-read", _label_toggles)
    app.connect("config-inited", _set_mode)
    app.connect("html-page-context", _drop_unused_scripts, priority=900)  # after myst-nb has added its scripts
    app.connect("build-finished", _shrink_images)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
