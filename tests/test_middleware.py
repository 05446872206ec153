"""The middleware every request passes: NUL characters refused in addresses, security headers on every answer."""

from __future__ import annotations

import pytest

from clients import PASSWORD, Api, sign_in

PAGES_WITH_SEARCH = ["/networks?q=%00", "/sosa?q=a%00b", "/registry?q=%00", "/framework/actions?q=%00"]


def _cookie(api: Api, username: str) -> None:
    answer = api.client.post("/api/v1/accounts/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path", PAGES_WITH_SEARCH)
def test_a_nul_in_a_page_address_is_bad_input_not_a_server_error(api: Api, path: str) -> None:
    _cookie(api, "in-analyst")
    answer = api.client.get(path)
    assert answer.status_code == 422
    assert answer.json()["problems"] == [{"where": "query.q", "message": "must not contain NUL characters"}]


def test_a_nul_in_an_api_address_or_path_is_refused(api: Api) -> None:
    # Refused before routing, so even a parameter the endpoint does not take is answered as a NUL.
    answer = api.get("in-analyst", "/api/v1/networks?search=%00")
    assert answer.status_code == 422
    assert answer.json()["problems"] == [{"where": "query.search", "message": "must not contain NUL characters"}]
    assert api.get("in-analyst", "/api/v1/networks/1%00").status_code == 422


def test_every_answer_carries_the_content_security_policy(web: Api) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    for path in ("/", "/accounts/login", "/static/setu.css", "/api/v1/accounts/me", "/no/such/page"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
