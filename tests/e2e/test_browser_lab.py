"""A real browser: JupyterLab in headless Chromium opens chapter 02, runs all cells,
moves a slider of the first interactive figure, and sees the figure change; and the
course's server (configured as `make lab` configures it) asks no question about news."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser import launch

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "notebooks/02_perceptron.ipynb"
TOKEN = "course-test-token"
pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(root: Path, home: Path) -> tuple[subprocess.Popen, str]:
    """Start JupyterLab on a free loopback port with private config dirs; return (process, url)."""
    port = _free_port()
    # JUPYTER_CONFIG_PATH and the update-check class: exactly what `make lab` passes (Makefile LAB_ENV)
    env = {**os.environ, "COURSE_QUICK": "1", "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_CONFIG_PATH": str(root / "jupyter_config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    jupyter = Path(sys.executable).with_name("jupyter")
    log = open(home / "lab.log", "w")
    proc = subprocess.Popen([str(jupyter), "lab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
                             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
                             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                             "--KernelManager.transport=ipc"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        if proc.poll() is not None:
            raise RuntimeError("JupyterLab exited:\n" + (home / "lab.log").read_text()[-3000:])
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            return proc, url
        except Exception:
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("JupyterLab did not start:\n" + (home / "lab.log").read_text()[-3000:])


def run_all_and_move_slider(url: str, notebook: str, screenshot: Path | None = None) -> tuple[str, str]:
    """Open ``notebook``, run all cells, move the first interactive figure's slider.

    Returns the image source before and after the move.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/tree/{notebook}?token={TOKEN}&reset")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.wait_for_timeout(3000)  # the announcements plugin would have asked by now
        news = page.locator(".jp-Notification-Toast, .Toastify__toast", has_text="news").count()
        box = page.locator(".course-interactive").first
        for attempt in range(3):  # the kernel may still be connecting on the first try
            page.get_by_text("| Idle").first.wait_for(timeout=120_000)
            page.locator(".lm-MenuBar-item", has_text="Run").first.click()
            page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
            try:
                box.wait_for(timeout=120_000)
                break
            except Exception:
                if attempt == 2:
                    raise
        box.scroll_into_view_if_needed()
        img = box.locator("img").first
        page.wait_for_function("el => el.src && el.src.length > 0", arg=img.element_handle(), timeout=60_000)
        before = img.get_attribute("src")
        handle = box.locator(".noUi-handle").first
        handle.click()
        handle.press("End")
        page.wait_for_function("([el, old]) => el.src !== old", arg=[img.element_handle(), before], timeout=60_000)
        after = img.get_attribute("src")
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=180_000)
        errors = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']",
                              has_text="Error").count()
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
        browser.close()
    if errors:
        raise AssertionError(f"{errors} cell(s) ended in an error")
    if news:
        raise AssertionError("JupyterLab asked about Jupyter news on first start")
    return before, after


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    proc, url = start_lab(ROOT, tmp_path_factory.mktemp("home"))
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_run_all_and_move_a_slider(lab):
    before, after = run_all_and_move_slider(lab, NOTEBOOK, ROOT / "_build" / "browser_lab.png")
    assert before and after and after != before
