"""Uploads over a limit (rows, nodes, edges, unpacked bytes) are answered 413 and store nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, import_file, make_api, table_counts
from setu.network.io.setu_format import template_network, write_setu
from setu.network.model import BomLine, Network, Node, Product, Supply


def _upload(api: Api, name: str, content: bytes) -> Any:
    """The upload's end: refused at once, or its import job's failure with the status it carries."""
    return import_file(api, "in-analyst", name, content, classification="RESTRICTED")


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
    queues = {"audit_entries": 0, "audit_pending": 0, "jobs": 0}  # the failed jobs and their trail
    assert table_counts(api.app.state.setu.engine) | queues == before | queues


def _willems_chain(stages: int) -> bytes:
    """An InvNet-GSM chain of ``stages`` stages in a line, the last one with demand."""
    lines = ["stage_id,lead_time,cost_rate,ext_demand_mean,up_stages"]
    lines += [f"s{i},1,1,{1 if i == stages - 1 else 0},{f's{i - 1}' if i else ''}" for i in range(stages)]
    return ("\n".join(lines) + "\n").encode()


def test_a_willems_or_accelerator_file_over_the_row_limit_is_refused_while_it_is_read(
    small_limits_api: Api,
) -> None:
    """Every format counts its rows as it reads them, not after building the whole network.

    A 49 MiB chain of three million stages used to be read whole (73 s and 3.9 GB in the worker) before
    the node limit refused it; with bad cells, nearly ten million problems were built first.
    """
    api = small_limits_api
    before = table_counts(api.app.state.setu.engine)
    for chain in (_willems_chain(40), _willems_chain(40).replace(b",1,1,", b",a,b,")):
        answer = _upload(api, "01.csv", chain)
        assert answer.status_code == 413, answer.text
        assert "more than 5 rows; at most 5 are accepted" in answer.json()["detail"], answer.text
    accelerator = {
        "tier1": ["P"],
        "tier2": [f"S{i}" for i in range(40)],
        "tier3": [],
        "edges": [[f"S{i}", "P"] for i in range(40)],
        "supplier_material_type": {f"S{i}": "m" for i in range(40)},
        "f": {"P": 1},
        "d": {"P": 1},
        "s": {},
        "c": {},
        "r": {},
    }
    answer = _upload(api, "net.json", json.dumps(accelerator).encode())
    assert answer.status_code == 413, answer.text
    assert "'tier2' has 40 entries; at most 5 are accepted" in answer.json()["detail"], answer.text
    queues = {"audit_entries": 0, "audit_pending": 0, "jobs": 0}
    assert table_counts(api.app.state.setu.engine) | queues == before | queues
