"""A real browser: JupyterLab in headless Chromium opens chapter 02, runs all cells,
moves a slider of the first interactive figure, and sees the figure change."""
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

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "notebooks/02_perceptron.ipynb"
pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port, token = _free_port(), "course-test-token"
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "COURSE_QUICK": "1", "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    jupyter = Path(sys.executable).with_name("jupyter")
    log = open(home / "lab.log", "w")
    proc = subprocess.Popen([str(jupyter), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
                             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}",
                             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except Exception:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("JupyterLab did not start:\n" + (home / "lab.log").read_text()[-3000:])
    if proc.poll() is not None:
        pytest.fail("JupyterLab exited:\n" + (home / "lab.log").read_text()[-3000:])
    yield url, token
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_run_all_and_move_a_slider(lab):
    from playwright.sync_api import sync_playwright

    url, token = lab
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}&reset")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        # wait for the kernel, then Run -> Run All Cells from the menu bar
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        # the first interactive figure: live controls above an image
        box = page.locator(".course-interactive").first
        box.wait_for(timeout=180_000)
        box.scroll_into_view_if_needed()
        img = box.locator("img").first
        page.wait_for_function("el => el.src && el.src.length > 0", arg=img.element_handle(), timeout=60_000)
        before = img.get_attribute("src")
        handle = box.locator(".noUi-handle").first
        handle.click()
        handle.press("End")
        page.wait_for_function("([el, old]) => el.src !== old", arg=[img.element_handle(), before], timeout=60_000)
        after = img.get_attribute("src")
        assert after != before
        (ROOT / "_build").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "_build" / "browser_lab.png"))
        # no cell ended in an error
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=180_000)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                              has_text="Traceback").count()
        assert errors == 0
        browser.close()
