"""Texts the database cannot store are refused as bad input by the import itself, on both databases.

A page's form posts them as well as an upload does: a NUL in the import form's name field stores nothing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clients import PASSWORD, Api, table_counts
from setu.errors import InputError
from setu.models.networks import NetworkRecord, NodeRecord
from setu.network.io.setu_format import template_network, write_setu
from setu.networks.imports import import_network

from .world import IN_ANALYST, SHARED, seed, small_network


def _cookie(api: Api, username: str) -> None:
    answer = api.client.post("/api/v1/accounts/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text


def test_overlong_party_is_refused_before_anything_is_written(sessions: sessionmaker[Session]) -> None:
    network = small_network()
    network.nodes[0] = dataclasses.replace(network.nodes[0], party="INDIA-AND-MORE")
    network.nodes[1] = dataclasses.replace(network.nodes[1], name="bad\x00name")
    with sessions() as session, session.begin():
        seed(session)
    with sessions() as session:
        with pytest.raises(InputError) as error:
            import_network(session, IN_ANALYST, network, name="n", format="accelerator", source="x", marking=SHARED)
        shown = str(error.value)
        assert f"nodes[{network.nodes[0].id}].party: longer than 8 characters" in shown
        assert f"nodes[{network.nodes[1].id}].name: contains a NUL character" in shown
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(NetworkRecord)) == 0
        assert session.scalar(select(func.count()).select_from(NodeRecord)) == 0


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
    assert {k: v for k, v in after.items() if k not in ("audit_entries", "audit_pending")} == {
        k: v for k, v in before.items() if k not in ("audit_entries", "audit_pending")
    }
