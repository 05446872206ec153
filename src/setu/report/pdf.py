"""Printing a self-contained HTML document to PDF with headless Chromium, the renderer users' browsers share.

Chromium is a Debian package on the server (``chromium``), found on the ``PATH`` or named by
``SETU_CHROMIUM``. Each print runs a fresh Chromium on a temporary profile, from a file, with networking
features off; the documents printed here load nothing (inline CSS and SVG). At most :data:`MAX_PRINTS`
run at once; another asks for a retry (429), and a server without Chromium answers 503.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from setu.errors import TooManyRequests, Unavailable

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
MAX_PRINTS = 2
"""Chromium processes printing at once (each holds a few hundred MB)."""
PRINT_SECONDS = 90.0
"""A print that takes longer is stopped and answered 503."""
_SLOTS = threading.BoundedSemaphore(MAX_PRINTS)
_FLAGS = (
    "--headless",
    "--no-sandbox",  # the server's own user, often root in a container, where the sandbox cannot start
    "--disable-gpu",
    "--no-pdf-header-footer",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
)


def chromium() -> str | None:
    """The Chromium executable: ``SETU_CHROMIUM``, else the first of :data:`CANDIDATES` on the ``PATH``."""
    named = os.environ.get("SETU_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


def html_to_pdf(html: str) -> bytes:
    """``html`` printed to PDF (A4, backgrounds on, no browser header or footer).

    Raises
    ------
    Unavailable
        If there is no Chromium, or it printed nothing within :data:`PRINT_SECONDS` (503).
    TooManyRequests
        If :data:`MAX_PRINTS` prints are running (429, retry in a few seconds).
    """
    executable = chromium()
    if executable is None:
        raise Unavailable(
            "PDF reports need Chromium on the server: install the Debian package chromium, or set SETU_CHROMIUM",
            retry_after=3600,
        )
    if not _SLOTS.acquire(blocking=False):
        raise TooManyRequests(f"{MAX_PRINTS} PDF reports are being printed; try again in a few seconds", retry_after=5)
    try:
        with tempfile.TemporaryDirectory(prefix="setu-print-") as folder:
            source, out = Path(folder) / "report.html", Path(folder) / "report.pdf"
            source.write_text(html, encoding="utf-8")
            command = [
                executable,
                *_FLAGS,
                f"--user-data-dir={Path(folder) / 'profile'}",
                f"--print-to-pdf={out}",
                source.as_uri(),
            ]
            try:
                done = subprocess.run(command, capture_output=True, timeout=PRINT_SECONDS, check=False)
            except subprocess.TimeoutExpired as exc:
                raise Unavailable(f"Chromium did not print the report within {PRINT_SECONDS:.0f} s", 30) from exc
            if not out.exists() or out.stat().st_size == 0:
                tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
                raise Unavailable(f"Chromium printed no PDF (exit {done.returncode}: {tail[0][:300]})", 30)
            return out.read_bytes()
    finally:
        _SLOTS.release()
