"""Input an attacker or a careless client sends: NUL characters in addresses, fields and bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.conftest import PASSWORD, Api, table_counts
from setu.network.io.setu_format import template_network, write_setu

PAGES_WITH_SEARCH = ["/networks?q=%00", "/requests?q=a%00b", "/registry?q=%00", "/framework/actions?q=%00"]


def _cookie(api: Api, username: str) -> None:
    answer = api.client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path", PAGES_WITH_SEARCH)
def test_a_nul_in_a_page_address_is_bad_input_not_a_server_error(api: Api, path: str) -> None:
    _cookie(api, "in-analyst")
    answer = api.client.get(path)
    assert answer.status_code == 422
    assert answer.json()["problems"] == [{"where": "query", "message": "must not contain NUL characters"}]


def test_a_nul_in_an_api_address_or_path_is_refused(api: Api) -> None:
    assert api.get("in-analyst", "/api/v1/networks?search=%00").status_code == 422
    assert api.get("in-analyst", "/api/v1/networks/1%00").status_code == 422


def test_a_nul_in_a_form_field_stores_nothing_and_answers_422(api: Api, tmp_path: Path) -> None:
    """A form post carries text straight to a column: a NUL must be bad input, never a 500 or half a write."""
    _cookie(api, "in-analyst")
    workbook = write_setu(template_network(), tmp_path / "net.xlsx")
    before = table_counts(api.app.state.setu.engine)
    page = api.client.get("/import")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = api.client.post(
        "/import",
        data={"csrf": csrf, "name": "bad\x00name", "classification": "RESTRICTED", "format": "setu"},
        files={"file": ("net.xlsx", workbook.read_bytes(), "application/octet-stream")},
    )
    assert answer.status_code == 422, answer.text[:300]
    after = table_counts(api.app.state.setu.engine)
    assert {k: v for k, v in after.items() if k != "audit_entries"} == {
        k: v for k, v in before.items() if k != "audit_entries"
    }
