"""Screenshots of the web interface's main pages for docs/img, taken from the demo as `setu demo` seeds it.

Seeds a throwaway SQLite database exactly as `setu demo` does (parties, users, the marked demo network,
each analyst's scenario library and node sweep), serves the app with uvicorn on a free port, and saves
one PNG per page with Debian's chromium. Usage: ``.venv/bin/python tools/web_screenshots.py [OUT_DIR]``.
"""

from __future__ import annotations

import re
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from playwright.sync_api import Page, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.login import principal_of
from setu.accounts.lookups import get_user
from setu.api import create_app
from setu.db import make_engine, prepare, session_factory
from setu.demo.seed import seed_whole_demo
from setu.models.networks import NetworkRecord
from setu.networks.standins import generate, release
from setu.runs.service import execute_run, start_run
from setu.settings import ApiSettings
from setu.sharing.read import readable

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARGS += ["--disable-component-update", "--disable-sync"]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.press("#password", "Enter")
    page.wait_for_url(f"{base}/")


def _first(pattern: str, html: str) -> str:
    found = re.search(pattern, html)
    if found is None:
        raise SystemExit(f"no link matching {pattern!r} on the page")
    return found.group(1)


def _long_outage(factory: sessionmaker[Session]) -> int:
    """An ad-hoc sweep as in.analyst, every supplier out for 26 weeks, to compare with the reference sweep."""
    with factory() as session, session.begin():
        principal = principal_of(get_user(session, "in.analyst"))
        network = session.scalar(readable(principal, NetworkRecord.id).order_by(NetworkRecord.id.desc()))
        assert network is not None
        run_id = start_run(session, principal, network, "sweep", ttr=26.0, name="Every supplier out for 26 weeks").id
    execute_run(factory, run_id, principal)
    return run_id


def _draft_standins(factory: sessionmaker[Session], network: int) -> int:
    """in.analyst drafts stand-ins of the demo network for the US, as the stand-ins page's form does."""
    with factory() as session, session.begin():
        principal = principal_of(get_user(session, "in.analyst"))
        return generate(session, principal, network, audience="US", classification=1).id


def _release_standins(factory: sessionmaker[Session], tear_line: int) -> None:
    with factory() as session, session.begin():
        release(session, principal_of(get_user(session, "in.analyst")), tear_line)


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/demo.db")
        prepare(engine)
        factory = session_factory(engine)
        passwords = {user.username: user.password for user in seed_whole_demo(factory)}
        adhoc = _long_outage(factory)
        port = _port()
        settings = ApiSettings.from_env()
        server = uvicorn.Server(uvicorn.Config(create_app(engine, settings=settings), port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                _log_in(page, base, "in.analyst", passwords["in.analyst"])
                shots: list[tuple[str, str, bool]] = [("web-dashboard.png", "/", False)]
                network = _first(r'href="/networks/(\d+)"', httpx.get(f"{base}/networks", cookies=_cookies(page)).text)
                runs = re.findall(r'href="/runs/(\d+)"', httpx.get(f"{base}/runs", cookies=_cookies(page)).text)
                run = min(runs, key=int)  # the scenario library's run (the reference sweep comes after it)
                shots += [
                    ("web-network.png", f"/networks/{network}", False),
                    ("web-map.png", f"/networks/{network}/map", False),
                    ("web-scenarios.png", f"/runs/scenarios?network={network}", False),
                    ("web-run.png", f"/runs/{run}", False),
                    ("web-import.png", "/networks/import", False),
                ]
                dashboard = httpx.get(f"{base}/", cookies=_cookies(page)).text
                reference = _first(r'your reference sweep: <a href="/runs/(\d+)"', dashboard)
                risky = _first(r'href="(/networks/\d+/nodes/[^"]+)"', dashboard.split('data-testid="program"', 1)[1])
                shots += [
                    ("web-node.png", risky, False),
                    ("web-compare.png", f"/runs/compare?a={reference}&b={adhoc}", False),
                    ("web-tree.png", f"/networks/{network}/tree?program=F414-engine", False),
                    ("web-geo.png", f"/networks/{network}/geo", False),
                ]
                _report_png(base, reference, _cookies(page), out_dir / "report-pdf.png")
                run_html = httpx.get(f"{base}/runs/{run}", cookies=_cookies(page)).text
                explain = re.search(r'href="(/runs/\d+/scenarios/forge-fire/explain)"', run_html)
                if explain:
                    shots.append(("web-explain.png", explain.group(1), False))
                started = time.monotonic()
                tear_line = _draft_standins(factory, int(network))
                print(f"stand-ins drafted and checked in {time.monotonic() - started:.1f} s")
                shots.append(("web-standins.png", f"/networks/{network}/standins", False))
                for name, path, full in shots:
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(out_dir / name), full_page=full)
                    print(f"{out_dir / name}  <- {path}")
                scenarios = httpx.get(f"{base}/runs/scenarios?network={network}", cookies=_cookies(page)).text
                mitigate = re.search(r'forge-fire</td>.*?href="(/registry/what-if\?scenario=\d+)"', scenarios, re.S)
                more = [("web-registry.png", "/registry"), ("web-framework.png", "/framework")]
                if mitigate:
                    more.append(("web-what-if.png", mitigate.group(1)))
                for name, path in more:
                    page.goto(base + path)
                    page.screenshot(path=str(out_dir / name), full_page=False)
                    print(f"{out_dir / name}  <- {path}")
                page.context.clear_cookies()
                _log_in(page, base, "us.analyst", passwords["us.analyst"])
                page.goto(f"{base}/")
                page.screenshot(path=str(out_dir / "web-dashboard-partial.png"), full_page=False)
                print(f"{out_dir / 'web-dashboard-partial.png'}  <- / as us.analyst")
                _release_standins(factory, tear_line)
                page.goto(f"{base}/networks/{network}/standins")
                page.screenshot(path=str(out_dir / "web-standins-partner.png"), full_page=False)
                print(f"{out_dir / 'web-standins-partner.png'}  <- /networks/{network}/standins as us.analyst")
                page.context.clear_cookies()
                _log_in(page, base, "in.desk", passwords["in.desk"])
                board = httpx.get(f"{base}/sosa", cookies=_cookies(page)).text
                request = re.search(r'href="(/sosa/\d+)"', board)
                for name, path in [("web-requests.png", "/sosa")] + (
                    [("web-request.png", request.group(1))] if request else []
                ):
                    page.goto(base + path)
                    page.screenshot(path=str(out_dir / name), full_page=False)
                    print(f"{out_dir / name}  <- {path}")
                page.context.clear_cookies()
                _log_in(page, base, "in.auditor", passwords["in.auditor"])
                page.goto(f"{base}/audit")
                page.screenshot(path=str(out_dir / "web-audit.png"), full_page=False)
                print(f"{out_dir / 'web-audit.png'}  <- /audit")
                browser.close()
        finally:
            server.should_exit = True
            thread.join(20)
            engine.dispose()


def _report_png(base: str, run: str, cookies: dict[str, str], path: Path) -> None:
    """The first page of a run's PDF report, rendered as a PNG (what a reader sees when they open the file)."""
    import pypdfium2 as pdfium

    answer = httpx.get(f"{base}/api/v1/runs/{run}/report.pdf", cookies=cookies, timeout=120)
    answer.raise_for_status()
    document = pdfium.PdfDocument(answer.content)
    try:
        document[0].render(scale=1.5).to_pil().save(path)
    finally:
        document.close()
    print(f"{path}  <- /api/v1/runs/{run}/report.pdf, page 1 of {len(answer.content)} bytes")


def _cookies(page: Page) -> dict[str, str]:
    return {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "docs" / "img")
