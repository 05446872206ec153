"""Input an attacker or a careless client sends: NUL characters in addresses, fields and bodies."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import openpyxl
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.conftest import PASSWORD, TEST_SETTINGS, Api, make_api, table_counts
from setu.network.io.setu_format import template_network, write_setu
from setu.network.model import BomLine, Network, Node, Product, Supply

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
    assert api.get("in-analyst", "/api/v1/networks?search=%00").status_code == 422
    assert api.get("in-analyst", "/api/v1/networks/1%00").status_code == 422


def test_a_nul_in_a_form_field_stores_nothing_and_answers_422(api: Api, tmp_path: Path) -> None:
    """A form post carries text straight to a column: a NUL must be bad input, never a 500 or half a write."""
    _cookie(api, "in-analyst")
    workbook = write_setu(template_network(), tmp_path / "net.xlsx")
    before = table_counts(api.app.state.setu.engine)
    page = api.client.get("/networks/import")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = api.client.post(
        "/networks/import",
        data={"csrf": csrf, "name": "bad\x00name", "classification": "RESTRICTED", "format": "setu"},
        files={"file": ("net.xlsx", workbook.read_bytes(), "application/octet-stream")},
    )
    assert answer.status_code == 422, answer.text[:300]
    after = table_counts(api.app.state.setu.engine)
    assert {k: v for k, v in after.items() if k != "audit_entries"} == {
        k: v for k, v in before.items() if k != "audit_entries"
    }


def _upload(api: Api, name: str, content: bytes) -> httpx.Response:
    return api.post(
        "in-analyst",
        "/api/v1/networks",
        data={"classification": "RESTRICTED"},
        files={"file": (name, content, "application/octet-stream")},
    )


@pytest.fixture
def small_limits_api(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Api]:
    limits = replace(TEST_SETTINGS, max_upload_rows=5, max_nodes=4, max_supplies=3, max_zip_bytes=60_000)
    yield from make_api(engine, sessions, settings=limits)


def test_uploads_over_a_limit_are_413_and_store_nothing(small_limits_api: Api, tmp_path: Path) -> None:
    """Rows, nodes, edges and unpacked bytes each have a limit; passing one stores nothing."""
    api = small_limits_api
    before = table_counts(api.app.state.setu.engine)
    network = template_network()
    assert len(network.nodes) > 5
    workbook = write_setu(network, tmp_path / "net.xlsx").read_bytes()
    answer = _upload(api, "net.xlsx", workbook)
    assert answer.status_code == 413, answer.text
    assert "table has more than 5 rows" in answer.json()["detail"]
    small = Network(
        name="five",
        nodes=[Node(f"S{i}", "m", capacity=1.0) for i in range(4)] + [Node("P", "p", capacity=9.0)],
        products=[Product("P", demand=1.0, weight=1.0)],
        bom=[BomLine("P", "m", 1.0)],
        supplies=[Supply(f"S{i}", "P") for i in range(4)],
    )
    answer = _upload(api, "five.xlsx", write_setu(small, tmp_path / "five.xlsx").read_bytes())
    assert answer.status_code == 413 and "5 nodes; at most 4" in answer.json()["detail"], answer.text
    padded = tmp_path / "padded.xlsx"
    book = openpyxl.load_workbook(tmp_path / "five.xlsx")
    readme = book.create_sheet("README")
    for _ in range(10):
        readme.append(["x" * 30_000])  # compresses to almost nothing, unpacks to 300 kB
    book.save(padded)
    answer = _upload(api, "padded.xlsx", padded.read_bytes())
    assert answer.status_code == 413 and "unpacks to" in answer.json()["detail"], answer.text
    assert table_counts(api.app.state.setu.engine) | {"audit_entries": 0} == before | {"audit_entries": 0}
