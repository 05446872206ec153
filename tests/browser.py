"""Helpers of the tests that speak to a real server: the app under uvicorn, Debian's chromium, axe-core.

The browser tests skip with :data:`needs_chromium` where chromium is not installed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine

from clients import PASSWORD, TEST_SETTINGS
from setu.api import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARGS += ["--disable-component-update", "--disable-sync"]
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no chromium at {CHROMIUM} (apt package chromium)")
"""The mark of every browser test module (``pytestmark = needs_chromium``)."""
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
"""The axe-core rules checked: WCAG 2.1 A and AA, contrast included."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(engine: Engine) -> Iterator[str]:
    """The app under uvicorn in a thread on a free port; its base URL while the block runs."""
    port = free_port()
    config = uvicorn.Config(
        create_app(engine, settings=TEST_SETTINGS), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)


def violations(page: Any) -> list[str]:
    """The WCAG violations axe-core finds on a Playwright page, one line per element."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG)
    return [
        f"{violation['id']}: {node['target']} {node.get('failureSummary', '')}"
        for violation in results.response["violations"]
        for node in violation["nodes"]
    ]


def log_in(page: Any, server: str, username: str, password: str = PASSWORD) -> None:
    """Sign ``page`` in as ``username`` through the login form, with the keyboard, and wait for the dashboard."""
    page.goto(f"{server}/accounts/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server}/")
