"""Finding Debian's Chromium and launching it headless with Playwright (shared by the browser tests)."""
from __future__ import annotations

import os
import shutil

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for name in (os.environ.get("COURSE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def require_chromium() -> str:
    """Path to Chromium; skip the test without it, except under CI where that is a failure."""
    path = chromium_path()
    if path is None:
        msg = "Chromium not found (Debian: `apt-get install chromium`; or set COURSE_CHROMIUM)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def launch(playwright):
    return playwright.chromium.launch(executable_path=require_chromium(), args=FLAGS, headless=True)
