"""A network's units: declared at import, stored, carried by the API, and on every figure's label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import Api, execute_here, sign_in
from networks.test_endpoints import refused, upload
from networks.world import small_network
from principals import IN_ANALYST
from setu.db import transaction
from setu.network.io.setu_format import write_setu
from setu.network.model import Network
from setu.network.units import Units, unit_problems, units_of
from setu.runs.reference import start_reference_sweep


@pytest.fixture
def network() -> Network:
    return small_network()


def test_undeclared_units_say_what_the_numbers_are() -> None:
    assert (Units().times, Units().loss, units_of(None)) == ("time units", "weighted units", Units())
    assert [p.where for p in unit_problems("fortnight", "x" * 61)] == ["time_unit", "weight_unit"]


def test_declared_units_are_stored_and_label_the_run(
    api: Api, network: Network, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    path = write_setu(network, tmp_path / "engine.xlsx")
    answer = upload(api, "engine.xlsx", path.read_bytes(), time_unit="week", weight_unit="USD k")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["time_unit"], body["weight_unit"]) == ("week", "USD k")
    with transaction(sessions) as session:
        run_id = start_reference_sweep(session, IN_ANALYST, body["id"]).id
    execute_here(sessions, run_id, IN_ANALYST)
    sign_in(api.client, "in-analyst")
    page = api.client.get(f"/runs/{run_id}").text
    assert "TTR (weeks)" in page and "TTS (weeks)" in page and "Loss (PI, USD k)" in page
    assert "time to recover (TTR, weeks)" in page  # the chart's axis
    node = re.search(r'href="(/networks/\d+/nodes/T2_1)"', api.client.get(f"/networks/{body['id']}").text)
    assert node and "USD k" in api.client.get(node.group(1)).text


def test_a_unit_no_page_could_name_is_refused_by_field_and_nothing_is_stored(
    api: Api, engine: Engine, network: Network, tmp_path: Path
) -> None:
    data = write_setu(network, tmp_path / "engine.xlsx").read_bytes()
    body = refused(api, engine, 422, "engine.xlsx", data, time_unit="fortnight")
    assert "time_unit" in str(body)
    body = refused(api, engine, 422, "engine.xlsx", data, weight_unit="USD\x01k")
    assert "weight_unit" in str(body)
