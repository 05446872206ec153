"""The PDF report of a run: printed by Chromium, the reader's banner on every page, nothing they may not see.

The report is read back with pdfium (each page's text, the document's title) and its first page rendered to
pixels, where the banner and the chart must have ink.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from browser import needs_chromium
from clients import Api, execute_here
from networks.world import SECRET_WORDS
from principals import IN_ANALYST, US_ANALYST
from setu.db import transaction
from setu.report import pdf
from setu.runs.reference import start_reference_sweep
from setu.sharing.policy import Principal

API = "/api/v1"
IN_BANNER = "RESTRICTED // IN ONLY // PROPRIETARY HAL // NTK ENGINE"


def _sweep(web: Api, sessions: sessionmaker[Session], principal: Principal, user: str) -> int:
    nid = web.get(user, f"{API}/networks").json()["items"][0]["id"]
    with transaction(sessions) as session:
        run_id = start_reference_sweep(session, principal, nid).id
    execute_here(sessions, run_id, principal)
    return run_id


def _read(document: bytes) -> tuple[list[str], str, list[np.ndarray]]:
    import pypdfium2 as pdfium

    pdf_file = pdfium.PdfDocument(document)
    try:
        texts = [pdf_file[i].get_textpage().get_text_range() for i in range(len(pdf_file))]
        title = str(pdf_file.get_metadata_dict().get("Title", ""))
        pixels = [pdf_file[i].render(scale=1).to_numpy() for i in range(len(pdf_file))]
    finally:
        pdf_file.close()
    return texts, title, pixels


def _ink(page: np.ndarray) -> np.ndarray:
    """The share of dark pixels in each row of a rendered page."""
    return np.asarray((page[..., :3].min(axis=2) < 128).mean(axis=1))


@needs_chromium
def test_every_page_of_the_report_carries_the_readers_banner(
    web: Api, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    run_id = _sweep(web, sessions, IN_ANALYST, "in-analyst")
    answer = web.get("in-analyst", f"{API}/runs/{run_id}/report.pdf")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf" and answer.headers["x-setu-marking"] == IN_BANNER
    (tmp_path / "report.pdf").write_bytes(answer.content)
    texts, title, pixels = _read(answer.content)
    assert len(texts) >= 2 and IN_BANNER in title
    for number, (text, page) in enumerate(zip(texts, pixels, strict=True), start=1):
        # The banner is the first and the last line of every page, drawn in a band at the top.
        lines = [line for line in text.strip().splitlines() if line.strip()]
        assert lines[0] == lines[-1] == IN_BANNER, f"page {number}: {lines[:1]} ... {lines[-1:]}"
        ink = _ink(page)
        assert ink[: len(ink) // 14].max() > 0.05, f"page {number}"
    assert "Time to survive against time to recover" in texts[0] and "T3_16" in " ".join(texts)
    assert _ink(pixels[0])[len(pixels[0]) // 4 :].mean() > 0.005  # the chart and the table have ink
    # The partner neither reads India's run nor, in their own run's report, anything India keeps back.
    assert web.get("us-analyst", f"{API}/runs/{run_id}/report.pdf").status_code == 404
    theirs = web.get("us-analyst", f"{API}/runs/{_sweep(web, sessions, US_ANALYST, 'us-analyst')}/report.pdf")
    assert theirs.status_code == 200
    us_texts, _, _ = _read(theirs.content)
    assert not [w for w in SECRET_WORDS if w in " ".join(us_texts)]


def test_without_chromium_the_report_is_refused_with_what_to_install(
    web: Api, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _sweep(web, sessions, IN_ANALYST, "in-analyst")
    monkeypatch.setenv("SETU_CHROMIUM", "/nonexistent/chromium")
    answer = web.get("in-analyst", f"{API}/runs/{run_id}/report.pdf")
    assert answer.status_code == 503 and "chromium" in answer.json()["detail"].lower()


def test_a_report_beyond_the_printers_is_asked_to_wait(web: Api, sessions: sessionmaker[Session]) -> None:
    run_id = _sweep(web, sessions, IN_ANALYST, "in-analyst")
    held = [pdf._SLOTS.acquire(blocking=False) for _ in range(pdf.MAX_PRINTS)]
    try:
        answer = web.get("in-analyst", f"{API}/runs/{run_id}/report.pdf")
    finally:
        for taken in held:
            if taken:
                pdf._SLOTS.release()
    assert all(held) and answer.status_code == 429 and int(answer.headers["retry-after"]) >= 1


def test_the_report_prints_names_as_text() -> None:
    from types import SimpleNamespace

    from setu.report.run import render_run_report

    run = SimpleNamespace(id=7, name="<b>bold</b>", reference=False, status="completed", baseline=None)
    row = SimpleNamespace(
        label="<img src=x onerror=alert(1)>",
        scenario_id="s",
        disrupted="a;b",
        ttr=2.0,
        tts=1.0,
        tts_infinite=False,
        tts_value=1.0,
        tts_relative_value=1.0,
        excess_loss=3.0,
        rei=1.0,
        at_risk=True,
        position=0,
    )
    html = render_run_report(run, [row], "RESTRICTED // REL TO IN, US", "<i>net</i>")  # type: ignore[arg-type]
    assert "<img" not in html and "<b>bold" not in html and "<i>net" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
