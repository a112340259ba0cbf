"""Fixtures for the browser tests (the machinery is in lab_tools.py).

Without Chromium or Playwright the tests are skipped -- unless REQUIRE_BROWSER=1 (CI), where
that is a failure.
"""

from __future__ import annotations

import os
import shutil

import psutil
import pytest
from lab_tools import (
    CHROMIUM_ARGS,
    _start_server,
    _stop_server,
    browser_missing,
    kill_tree,
)


@pytest.fixture(scope="session")
def playwright_api():
    """The Playwright sync API, or skip/fail (REQUIRE_BROWSER=1) if it or Chromium is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        browser_missing(f"the playwright package is not installed ({exc})")
    executable = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if not os.access(executable, os.X_OK):
        found = shutil.which("chromium") or shutil.which("chromium-browser")
        if not found:
            browser_missing(f"no Chromium at {executable} (Debian: apt-get install -y chromium)")
        executable = found
    return sync_playwright, executable


@pytest.fixture(scope="session")
def browser(playwright_api):
    sync_playwright, executable = playwright_api
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    manager = sync_playwright().start()
    try:
        chromium = manager.chromium.launch(executable_path=executable, headless=True,
                                           args=CHROMIUM_ARGS, timeout=60_000)
    except Exception as exc:
        manager.stop()
        browser_missing(f"Chromium at {executable} would not start: {str(exc).splitlines()[0]}")
    started = [p for p in me.children(recursive=True) if p.pid not in before]
    yield chromium
    try:
        chromium.close()
    finally:
        manager.stop()
        kill_tree(started)  # the driver and Chromium, should either outlive close()


@pytest.fixture(scope="session")
def lab(browser, tmp_path_factory):
    """A running JupyterLab server (started only once a browser is known to work)."""
    server = _start_server(tmp_path_factory.mktemp("jupyterlab"))
    yield server
    _stop_server(server)
