"""The HTML pages over the app: login, redirects, markings on every record, nothing hidden leaks."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from api.conftest import Api
from web.conftest import csrf_of, sign_in

STATIC = Path(__file__).parents[2] / "src" / "setu" / "web" / "static"
REFERENCE = re.compile(r"""\b(?:src|href|action)\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)


def network_id(client: TestClient) -> int:
    found = re.search(r'href="/networks/(\d+)"', client.get("/").text)
    assert found, "no network on the dashboard"
    return int(found.group(1))


def external(text: str) -> list[str]:
    refs = REFERENCE.findall(text) + re.findall(r"url\(([^)]*)\)", text) + re.findall(r"@import[^;]*", text)
    return [ref for ref in refs if "http://" in ref or "https://" in ref or ref.strip("'\" ").startswith("//")]


def test_logged_out_pages_redirect_to_login(web: Api) -> None:
    client = web.client
    client.cookies.clear()
    for path in ("/", "/networks/1", "/networks/1/nodes/T1_1"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
    form = client.get("/login")
    assert form.status_code == 200 and 'name="password"' in form.text and 'action="/login"' in form.text


def test_login_flow_sets_the_api_session_cookie(web: Api) -> None:
    client = web.client
    wrong = sign_in(client, "in-analyst", "not the password")
    assert wrong.status_code == 401
    assert "invalid username or password" in wrong.text and 'name="password"' in wrong.text
    assert "setu_session" not in wrong.cookies
    answer = sign_in(client, "in-analyst")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert answer.cookies.get("setu_session")
    # The same cookie signs in to the API.
    assert client.get("/api/v1/auth/me").json()["username"] == "in-analyst"
    home = client.get("/")
    assert home.status_code == 200
    assert "in-analyst" in home.text and ">IN<" in home.text and "Ministry of Defence" in home.text
    assert 'href="#main"' in home.text
    forged = client.post("/logout", data={"csrf": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403 and "did not come from Setu" in forged.text
    assert client.get("/api/v1/auth/me").status_code == 200
    logout = client.post("/logout", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    assert logout.status_code == 303 and logout.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/auth/me").status_code == 401


def test_no_page_or_style_references_an_external_url(web: Api) -> None:
    client = web.client
    assert not external(client.get("/login").text)
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


def test_every_answer_carries_the_content_security_policy(web: Api) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    for path in ("/", "/login", "/static/setu.css", "/api/v1/auth/me", "/no/such/page"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
