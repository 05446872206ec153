"""The accelerator JSON reader and writer: published sets load, written networks read back, errors name the place."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from setu.errors import InputError
from setu.network.generate import three_tier
from setu.network.io.accelerator import accelerator_document, read_accelerator, write_accelerator
from setu.network.model import Network, SiteCapacity


def small() -> dict[str, Any]:
    return {
        "tier1": ["P"], "tier2": ["A", "B"], "tier3": ["R"],
        "edges": [["A", "P"], ["B", "P"], ["R", "A"], ["R", "B"]],
        "supplier_material_type": {"A": "m", "B": "m", "R": "raw"},
        "f": {"P": 1.0}, "d": {"P": 10}, "s": {"P": 0, "A": 1, "B": 2, "R": 3},
        "c": {"P": 20, "A": 20, "B": 20, "R": 40}, "r": {"P": {"m": 1}, "A": {"raw": 2}, "B": {"raw": 1}},
    }  # fmt: skip


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "net.json"
    path.write_text(json.dumps(data))
    return path


def test_shared_data_sets_load(shared_data: Path) -> None:
    for name, nodes, edges in (("dataset_small.json", 35, 44), ("dataset_large.json", 1700, 2001)):
        network = read_accelerator(shared_data / "stress-test-accelerator" / name)
        assert (len(network.nodes), len(network.supplies)) == (nodes, edges)


def test_alternates_share_a_bom_line(tmp_path: Path) -> None:
    network = read_accelerator(write(tmp_path, small()))
    assert [(line.node, line.material) for line in network.bom if line.node == "P"] == [("P", "m")]
    assert {s.supplier for s in network.supplies if s.customer == "P"} == {"A", "B"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["c"].update(A=-5), "net.json: node 'A' in 'c': expected a number >= 0, got -5"),
        (lambda d: d["s"].update(B="lots"), "node 'B' in 's': expected a number >= 0, got 'lots'"),
        (lambda d: d["edges"].append(["A", "NOPE"]), "supplies[A->NOPE]: unknown node 'NOPE'"),
        (lambda d: d["edges"].append(["A"]), "edges[4]: expected [supplier, customer]"),
        (lambda d: d["r"]["P"].update(extra=1), "bom[P/extra]: material has no supplier"),
        (lambda d: d["d"].pop("P"), "product 'P' in 'd': missing value"),
        (lambda d: d.update(tier2="A"), "key 'tier2': expected a list of node ids"),
        (lambda d: (d["edges"].append(["P", "R"]), d["r"].update(R={"P": 1})), "bill of materials has a cycle"),
    ],
)
def test_malformed_input_names_the_place(tmp_path: Path, change: Any, expected: str) -> None:
    data = small()
    change(data)
    with pytest.raises(InputError) as error:
        read_accelerator(write(tmp_path, data))
    assert expected in str(error.value)


def test_not_json_and_not_an_object(tmp_path: Path) -> None:
    bad = tmp_path / "net.json"
    bad.write_text("[1, 2")
    with pytest.raises(InputError, match=r"net.json: not valid JSON: .* line 1"):
        read_accelerator(bad)
    with pytest.raises(InputError, match="expected a JSON object"):
        read_accelerator(write(tmp_path, [1, 2]))


# -- writing ---------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 8), st.integers(1, 15), st.integers(0, 30), st.integers(0, 2**32 - 1))
def test_a_written_network_reads_back_the_same(products: int, suppliers: int, sub_suppliers: int, seed: int) -> None:
    network = three_tier(products, suppliers, sub_suppliers, seed)
    with tempfile.TemporaryDirectory() as folder:
        path = write_accelerator(network, Path(folder) / "three.json")
        again = read_accelerator(path)
    assert (again.name, again.source) == ("three", str(path))
    assert again.nodes == [dataclasses.replace(node, ttr=None) for node in network.nodes]  # the layout has no TTR
    assert (again.products, again.bom, again.supplies) == (network.products, network.bom, network.supplies)


def test_the_written_document_has_the_accelerators_keys_and_indexes() -> None:
    document = accelerator_document(three_tier(5, 10, 20, seed=1))
    assert list(document) == [
        "tier1", "tier2", "tier3", "edges", "material_types", "supplier_material_type",
        "f", "s", "d", "c", "r", "N_minus", "N_plus", "P",
    ]  # fmt: skip
    assert (len(document["tier1"]), len(document["tier2"]), len(document["tier3"])) == (5, 10, 20)
    assert all(isinstance(value, int) for value in document["c"].values())  # whole numbers stay whole
    for customer, by_material in document["P"].items():
        for material, suppliers in by_material.items():
            assert material in document["r"][customer]
            assert all(document["supplier_material_type"][s] == material for s in suppliers)
            assert all(customer in document["N_plus"][s] for s in suppliers)


def test_a_network_the_layout_cannot_hold_is_refused() -> None:
    network = read_network_of(small())
    network.nodes = [dataclasses.replace(n, material="engine") if n.id == "P" else n for n in network.nodes]
    network.site_capacities = [SiteCapacity("forge", 5.0)]
    with pytest.raises(InputError) as error:
        accelerator_document(network)
    assert [p.where for p in error.value.problems] == ["nodes[P]", "site_capacities[forge]"]


def read_network_of(data: dict[str, Any]) -> Network:
    with tempfile.TemporaryDirectory() as folder:
        return read_accelerator(write(Path(folder), data))
