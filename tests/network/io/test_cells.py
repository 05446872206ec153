"""Formula injection: any text Setu writes to a spreadsheet file opens as text and reads back unchanged."""

from __future__ import annotations

import csv
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from setu.network.compile import compile_network
from setu.network.io.cells import FORMULA_STARTS, from_spreadsheet_text, spreadsheet_text
from setu.network.io.setu_format import read_csv_folder, write_setu
from setu.network.model import BomLine, Network, Node, Product, Supply
from setu.stress.engine import run_scenarios
from setu.stress.export import write_results
from setu.stress.scenarios import Scenario

PAYLOADS = ('=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "'=quoted")
"""Names a hostile importer gives nodes (whitespace around a name is trimmed on reading, so none here)."""


@given(st.text())
def test_protected_text_never_starts_a_formula_and_reads_back(text: str) -> None:
    cell = spreadsheet_text(text)
    assert not cell.startswith(FORMULA_STARTS)
    assert from_spreadsheet_text(cell) == text


def _network(names: tuple[str, ...]) -> Network:
    """A product fed by one supplier per hostile name, each name used as an id, a site and an organization."""
    suppliers = [Node(name, "m", capacity=10.0, site=name, organization=name) for name in names]
    product = Node("P", "p", capacity=100.0, inventory=5.0)
    return Network(
        name="hostile",
        nodes=[*suppliers, product],
        products=[Product("P", demand=5.0, weight=1.0)],
        bom=[BomLine("P", "m", 1.0)],
        supplies=[Supply(name, "P") for name in names],
    )


def test_a_network_written_as_csv_opens_as_text_and_reads_back_the_same(tmp_path: Path) -> None:
    network = _network(PAYLOADS)
    folder = write_setu(network, tmp_path / "tables")
    for path in folder.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                assert not any(cell.startswith(FORMULA_STARTS) for cell in row), (path.name, row)
    back = read_csv_folder(folder)
    assert [n.id for n in back.nodes] == [n.id for n in network.nodes]
    assert [n.organization for n in back.nodes] == [n.organization for n in network.nodes]


def test_exported_results_open_as_text(tmp_path: Path) -> None:
    net = compile_network(_network(PAYLOADS))
    result = run_scenarios(net, [Scenario(id=name, nodes=(name,), ttr=4.0) for name in PAYLOADS])
    path = write_results(result, tmp_path / "results.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["scenario_id", "disrupted", "ttr", "lost_profit", "tts", "rei"]
    for row in rows[1:]:
        assert not row[0].startswith(FORMULA_STARTS) and not row[1].startswith(FORMULA_STARTS), row
    assert [from_spreadsheet_text(row[0]) for row in rows[1:]] == list(PAYLOADS)
