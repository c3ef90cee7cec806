"""The Jupyter Book builds offline with no warnings, and its widgets work with no server.

The book is built once per test session into a temporary folder. ``make test`` first
runs ``tests/notebooks/test_execution.py``, whose instructor runs (quick mode, static
widget frames baked) are saved to ``_build/executed/``: when those are complete and
newer than the notebooks, the book is built from them without executing the chapters
again. Otherwise (this file run on its own) the build executes every notebook itself.
The tests then read its HTML and drive pages in a real browser from ``file://``.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser import launch

from course_utils.notebooks import chapter_notebooks

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = chapter_notebooks(ROOT)
pytestmark = pytest.mark.slow


EXECUTED = ROOT / "_build" / "executed" / "notebooks"


def executed_copies_are_current() -> bool:
    return all((EXECUTED / nb.name).exists() and (EXECUTED / nb.name).stat().st_mtime >= nb.stat().st_mtime
               for nb in CHAPTERS)


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    env = {**os.environ, "COURSE_QUICK": "1", "COURSE_STATIC_WIDGETS": "1", "COURSE_STRICT_CHECKS": "1"}
    env.pop("MPLBACKEND", None)  # kernels must use the inline backend, or pages lose their figures
    source = ROOT
    if executed_copies_are_current():
        from course_utils import profiles

        source = profiles.stage(ROOT, [nb.name[:2] for nb in CHAPTERS], out / "src", executed=EXECUTED)
        config = (source / "_config.yml").read_text()
        # the chapters were run by the tests: execute only the start page. ("auto" alone is not enough: it
        # re-executes every notebook with one code cell that has no output, which is every chapter.)
        assert "execute_notebooks: force" in config
        (source / "_config.yml").write_text(config.replace(
            "execute_notebooks: force",
            'execute_notebooks: auto\n  exclude_patterns: ["0[1-9]_*.ipynb", "[1-9][0-9]_*.ipynb"]'))
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(source), "--path-output", str(out), "--builder", "html", "-W",
                           "--keep-going"], capture_output=True, text=True, env=env, timeout=1800)
    log = proc.stdout + proc.stderr
    (out / "build.log").write_text(log)
    assert proc.returncode == 0, f"book build failed:\n{log[-6000:]}"
    warnings = [l for l in log.splitlines() if re.search(r": WARNING: |^WARNING: ", l)]
    assert not warnings, "book build warnings:\n" + "\n".join(warnings)
    return out / "_build" / "html"


#: what one chapter page may weigh (HTML with its widget frames, plus its images): issue 16's goal
PAGE_MB_MAX = 1.5


def test_every_page_is_light(book):
    from course_utils.bench import weigh_pages

    weights = weigh_pages(book)
    assert len(weights) >= len(CHAPTERS)
    heavy = {page: round(mb, 2) for page, mb in weights.items() if mb > PAGE_MB_MAX}
    assert not heavy, f"pages over {PAGE_MB_MAX} MB: {heavy}"


def test_every_chapter_has_a_page(book):
    assert (book / "index.html").exists()
    for nb in CHAPTERS:
        assert (book / "notebooks" / f"{nb.stem}.html").exists(), f"no page for {nb.name}"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_pages_have_working_static_widgets_and_hidden_solutions(book, nb_path):
    html = (book / "notebooks" / f"{nb_path.stem}.html").read_text(encoding="utf-8")
    frames = [int(n) for n in re.findall(r'class="course-static-widget" data-frames="(\d+)"', html)]
    assert frames and all(n > 1 for n in frames), f"{nb_path.stem}: static widgets {frames} (need >1 frame each)"
    assert "application/vnd.jupyter.widget-view+json" not in html, "live widget views leaked into the book"
    assert "application/vnd.jupyter.widget-state+json" not in html, "the unused ipywidgets state is back in the page"
    assert "tag_hide-cell" in html, "solution cells should be collapsed (hide-cell)"
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    for tag, label in (("solution", "Show solution"), ("hint", "Show hint")):
        n_cells = sum(tag in c.get("metadata", {}).get("tags", []) for c in cells)
        shown = html.count(f'<p class="collapsed admonition-title">{label}</p>')
        assert shown == n_cells, f"{nb_path.stem}: {n_cells} {tag} cell(s) but {shown} collapsed '{label}' label(s)"
    assert "Traceback" not in html
    figures = len(re.findall(r'<img[^>]+src="[^"]*\.png"', html))
    assert figures >= 3, f"{nb_path.stem}: only {figures} figure(s) on the page"


def test_book_loads_nothing_from_the_network(book):
    pattern = re.compile(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(https?:)?//', re.I)
    for page in book.rglob("*.html"):
        hits = pattern.findall(page.read_text(encoding="utf-8"))
        assert not hits, f"{page.relative_to(book)} loads a resource from the network"
    assert (book / "_static" / "mathjax" / "tex-chtml.js").exists(), "MathJax must be served from the book"


@pytest.mark.parametrize("nb_path", CHAPTERS[:2], ids=lambda p: p.stem)
def test_widget_moves_in_a_plain_browser(book, nb_path):
    """Open a chapter page from disk (no server), move the first slider, see the figure change."""
    from playwright.sync_api import sync_playwright

    page_path = book / "notebooks" / f"{nb_path.stem}.html"
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(page_path.as_uri())
        widget = page.locator(".course-static-widget").first
        slider = widget.locator('input[type="range"]:not([disabled])').first
        img = widget.locator("img").first
        before = img.get_attribute("src")
        slider.focus()
        slider.press("End")
        page.wait_for_function("([el, old]) => el.src !== old", arg=[img.element_handle(), before], timeout=5000)
        assert img.get_attribute("src") != before
        # MathJax rendered the formulas from the local copy
        page.wait_for_selector("mjx-container", state="attached", timeout=15000)
        browser.close()
    # No console errors at all: _ext/course_book.py removes the two that Jupyter Book 1's
    # defaults cause (sphinx-thebe's duplicated constant, an empty theme mode).
    assert not errors, errors


def test_a_profile_book_builds_without_dangling_links(tmp_path):
    """`make book CHAPTERS=…`: only those chapters, and every remaining link valid (-W turns a bad one into an error)."""
    from course_utils import profiles

    chapters = profiles.available_chapters(ROOT)
    keep = [chapters[0], chapters[-1]]
    src = profiles.stage(ROOT, keep, tmp_path / "src")
    config = (src / "_config.yml").read_text().replace("execute_notebooks: force", "execute_notebooks: 'off'")
    (src / "_config.yml").write_text(config)  # structure and links only: the full book test executes everything
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(src), "--path-output", str(tmp_path / "out"), "--builder", "html",
                           "-W", "--keep-going"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    html = tmp_path / "out" / "_build" / "html" / "notebooks"
    assert sorted(p.stem[:2] for p in html.glob("[0-9][0-9]_*.html")) == ["00", *keep]
