"""The page shell: no page or style references an outside address, and unknown paths get the shell's 404 page.

Sign-in is tested in tests/accounts, each domain's pages in its own folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from clients import TEST_SETTINGS, Api, sign_in
from setu.api import create_app
from setu.web.shell import templates

STATIC = Path(__file__).parents[2] / "src" / "setu" / "web" / "static"
REFERENCE = re.compile(r"""\b(?:src|href|action)\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)


def network_id(client: TestClient) -> int:
    found = re.search(r'href="/networks/(\d+)"', client.get("/").text)
    assert found, "no network on the dashboard"
    return int(found.group(1))


def external(text: str) -> list[str]:
    refs = REFERENCE.findall(text) + re.findall(r"url\(([^)]*)\)", text) + re.findall(r"@import[^;]*", text)
    return [ref for ref in refs if "http://" in ref or "https://" in ref or ref.strip("'\" ").startswith("//")]


def test_no_page_or_style_references_an_external_url(web: Api) -> None:
    client = web.client
    assert not external(client.get("/accounts/login").text)
    sign_in(client, "in-analyst")
    nid = network_id(client)
    pages = ["/", f"/networks/{nid}", f"/networks/{nid}?page=2", f"/networks/{nid}/nodes/T1_1", "/networks/9999"]
    for path in pages:
        text = client.get(path).text
        assert not external(text), path
        for ref in REFERENCE.findall(text):
            if ref.startswith("/static/"):
                asset = client.get(ref)
                assert asset.status_code == 200 and not external(asset.text), ref
    css = client.get("/static/setu.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    for asset in STATIC.iterdir():
        assert not external(asset.read_text()), asset.name


def test_unknown_paths_get_an_html_404_and_api_paths_json(web: Api) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    page = client.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no such page" in page.text
    api = client.get("/api/v1/no/such/thing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


def test_a_started_server_has_compiled_every_template_before_its_first_request(engine: Engine) -> None:
    """A process just started must not compile templates while its first burst of requests waits (10-80 ms each)."""
    env = templates.env
    assert env.cache is not None
    env.cache.clear()  # as in a process that has served nothing yet
    with TestClient(create_app(engine, settings=TEST_SETTINGS)):
        compiled = {key[1] for key in env.cache}  # the cache's keys: (the loader's weak reference, the name)
    names = env.list_templates()
    assert len(names) > 40
    assert set(names) <= compiled, f"not compiled at start: {sorted(set(names) - compiled)[:5]}"
