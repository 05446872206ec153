"""Scenario builders, the scenario and TTR CSV readers, and scenario validation."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import generated
from setu.errors import InputError, ScenarioError
from setu.network.compile import CompiledNetwork, compile_network
from setu.network.model import BomLine, Network, Node, Product, Supply
from setu.stress.engine import run_scenarios
from setu.stress.scenarios import (
    Scenario,
    by_attribute,
    by_chokepoint,
    by_material,
    export_control,
    from_ttr_table,
    node_sweep,
    read_scenarios_csv,
    read_ttr_csv,
    validate_scenario,
)

from .reference import reference_pi, reference_tts


def engine_network() -> Network:
    """An engine (P1) made from gallium (G1 in CN or G2 in the US, alternates), a forging and a chip.

    | node | material | class | country | site | organization | party | chokepoints | TTR |
    | G1 | gallium | critical-mineral | CN | cn-1 | OrgCN | | Malacca | 6 |
    | G2 | gallium | critical-mineral | US | us-1 | OrgUS | US | Panama | 3 |
    | F1 | forging | metal | IN | in-1 | Bharat Forge | IN | Malacca, Hormuz | 8 |
    | C1 | chip | electronics | CN | cn-1 | OrgCN | | Malacca | - |
    | P1 | engine | system | IN | in-2 | HAL | IN | | - |
    """
    return Network(
        name="engine",
        nodes=[
            Node("G1", "gallium", 10.0, 5.0, "cn-1", "OrgCN", "", "CN", "critical-mineral", ("Malacca",), 6.0),
            Node("G2", "gallium", 4.0, 0.0, "us-1", "OrgUS", "US", "US", "critical-mineral", ("Panama",), 3.0),
            Node("F1", "forging", 20.0, 10.0, "in-1", "Bharat Forge", "IN", "IN", "metal", ("Malacca", "Hormuz"), 8.0),
            Node("C1", "chip", 30.0, 20.0, "cn-1", "OrgCN", "", "CN", "electronics", ("Malacca",), None),
            Node("P1", "engine", 10.0, 2.0, "in-2", "HAL", "IN", "IN", "system", (), None),
        ],
        products=[Product("P1", demand=5.0, weight=4.0)],
        bom=[BomLine("P1", "gallium", 1.0), BomLine("P1", "forging", 2.0), BomLine("P1", "chip", 1.0)],
        supplies=[Supply("G1", "P1"), Supply("G2", "P1"), Supply("F1", "P1"), Supply("C1", "P1")],
    )


@pytest.fixture(scope="module")
def network() -> Network:
    return engine_network()


@pytest.fixture(scope="module")
def net(network: Network) -> CompiledNetwork:
    return compile_network(network)


# -- builders ----------------------------------------------------------------------------------------


def test_node_sweep_every_supplying_node(net: CompiledNetwork) -> None:
    scenarios = node_sweep(net, ttr=2.0)
    assert [s.id for s in scenarios] == ["G1", "G2", "F1", "C1"]  # P1 ships to nobody
    assert all(s.nodes == (s.id,) and s.ttr == 2.0 and s.kind == "node" and s.severity is None for s in scenarios)


def test_node_sweep_ttr_precedence(net: CompiledNetwork) -> None:
    # Per-node table first, then the common TTR, then the node's own estimate.
    scenarios = node_sweep(net, ttr=2.0, ttr_by_node={"G1": 9.0})
    assert [s.ttr for s in scenarios] == [9.0, 2.0, 2.0, 2.0]
    scenarios = node_sweep(net, ttr_by_node={"C1": 1.5})
    assert [s.ttr for s in scenarios] == [6.0, 3.0, 8.0, 1.5]


def test_node_sweep_without_any_ttr_for_a_node(net: CompiledNetwork) -> None:
    with pytest.raises(ScenarioError, match=r"node 'C1'.*no TTR given"):
        node_sweep(net)


def test_from_ttr_table(net: CompiledNetwork) -> None:
    scenarios = from_ttr_table(net, {"F1": 4.0, "G1": 0.0})
    assert [(s.id, s.nodes, s.ttr, s.kind) for s in scenarios] == [
        ("F1", ("F1",), 4.0, "node"),
        ("G1", ("G1",), 0.0, "node"),
    ]
    with pytest.raises(ScenarioError, match=r"ttr\.csv: unknown node\(s\) 'nope'"):
        from_ttr_table(net, {"G1": 1.0, "nope": 1.0}, where="ttr.csv")
    with pytest.raises(ScenarioError, match=r"node 'G1'.*TTR must be a finite number"):
        from_ttr_table(net, {"G1": -1.0})
    with pytest.raises(ScenarioError, match="TTR must be a finite number"):
        from_ttr_table(net, {"G1": math.inf})


@pytest.mark.parametrize(
    ("attribute", "value", "nodes", "ttr"),
    [
        ("country", "CN", ("G1", "C1"), 6.0),  # C1 has no estimate: the longest known one
        ("site", "cn-1", ("G1", "C1"), 6.0),
        ("organization", "Bharat Forge", ("F1",), 8.0),
        ("party", "IN", ("F1", "P1"), 8.0),
        ("party", "US", ("G2",), 3.0),
    ],
)
def test_by_attribute(net: CompiledNetwork, attribute: str, value: str, nodes: tuple[str, ...], ttr: float) -> None:
    scenario = by_attribute(net, attribute, value)
    assert scenario.nodes == nodes
    assert scenario.ttr == ttr
    assert scenario.kind == attribute
    assert scenario.id == f"{attribute}:{value}"
    assert scenario.label == f"{attribute}: {value}"
    assert by_attribute(net, attribute, value, ttr=1.25).ttr == 1.25
    validate_scenario(net, scenario)


def test_by_attribute_errors(net: CompiledNetwork) -> None:
    with pytest.raises(ScenarioError, match="cannot build a scenario by 'material_class'"):
        by_attribute(net, "material_class", "metal")
    with pytest.raises(ScenarioError, match=r"country FR \(France\): no node of the network is there; it has CN"):
        by_attribute(net, "country", "france")
    with pytest.raises(ScenarioError, match=r"'Chnia' names no country .*; did you mean CN \(China\)\?"):
        by_attribute(net, "country", "Chnia")
    # A name, a code or a three-letter code in any case: the same scenario.
    named = [by_attribute(net, "country", value, ttr=3.0) for value in ("China", "cn", "CHN")]
    assert {(s.id, s.nodes) for s in named} == {(named[0].id, named[0].nodes)} and named[0].id == "country:CN"
    with pytest.raises(ScenarioError, match="no TTR given"):
        by_attribute(net, "organization", "HAL")  # P1 has no TTR estimate
    assert by_attribute(net, "organization", "HAL", ttr=2.0).nodes == ("P1",)
    with pytest.raises(ScenarioError, match="TTR must be a finite number"):
        by_attribute(net, "country", "CN", ttr=-2.0)


def test_by_material(net: CompiledNetwork) -> None:
    by_name = by_material(net, "gallium")
    assert (by_name.nodes, by_name.ttr, by_name.kind, by_name.id) == (("G1", "G2"), 6.0, "material", "material:gallium")
    by_class = by_material(net, "critical-mineral", ttr=5.0)
    assert (by_class.nodes, by_class.ttr) == (("G1", "G2"), 5.0)
    assert by_material(net, "electronics", ttr=1.0).nodes == ("C1",)
    with pytest.raises(ScenarioError, match="material 'unobtainium'"):
        by_material(net, "unobtainium", ttr=1.0)


def test_by_chokepoint(net: CompiledNetwork) -> None:
    malacca = by_chokepoint(net, "Malacca")
    assert (malacca.nodes, malacca.ttr, malacca.kind) == (("G1", "F1", "C1"), 8.0, "chokepoint")
    assert by_chokepoint(net, "Hormuz").nodes == ("F1",)
    with pytest.raises(ScenarioError, match="chokepoint 'Suez'"):
        by_chokepoint(net, "Suez")


def test_export_control(net: CompiledNetwork) -> None:
    rule = export_control(net, ["gallium", "electronics"], ["CN"])
    assert rule.nodes == ("G1", "C1")  # gallium by material, the chip by its class; G2 is in the US
    assert rule.severity is None
    assert rule.ttr == 6.0
    assert rule.kind == "export_control"
    assert rule.id == "export_control:electronics+gallium from CN"
    assert rule.label == "export control: electronics+gallium from CN"
    licensed = export_control(net, ["gallium"], ["CN", "US"], ttr=4.0, severity=0.6, name="gallium licences")
    assert licensed.nodes == ("G1", "G2")
    assert licensed.severity == (0.6, 0.6)
    assert licensed.ttr == 4.0
    assert licensed.id == "export_control:gallium licences"
    np.testing.assert_allclose(licensed.remaining(), [0.4, 0.4])
    validate_scenario(net, licensed)
    with pytest.raises(ScenarioError, match="no node of the network matches"):
        export_control(net, ["gallium"], ["IN"], ttr=1.0)


def test_built_scenarios_through_the_engine(network: Network, net: CompiledNetwork) -> None:
    """Builder output runs as is, and matches the reference model (severities included)."""
    scenarios = [
        by_attribute(net, "country", "CN"),
        by_material(net, "gallium"),
        by_chokepoint(net, "Malacca", ttr=0.5),
        export_control(net, ["gallium"], ["CN", "US"], ttr=4.0, severity=0.6),
        *node_sweep(net, ttr=3.0),
    ]
    result = run_scenarios(net, scenarios)
    for scenario, pi, tts in zip(scenarios, result.lost_profit, result.tts, strict=True):
        severity = scenario.severity or (1.0,) * len(scenario.nodes)
        disrupted = dict(zip(scenario.nodes, severity, strict=True))
        assert pi == pytest.approx(reference_pi(network, disrupted, scenario.ttr), rel=1e-6, abs=1e-9)
        want_tts = reference_tts(network, disrupted)
        assert tts == (pytest.approx(want_tts, rel=1e-6, abs=1e-9) if math.isfinite(want_tts) else want_tts)
    # By hand, gallium sources out for 6: P1 gets G1's stock 5 (G2 has none), needs 5*6 - 2 = 28:
    # PI = 4 * (28 - 5) = 92; TTS: 5t <= 2 + 5, t = 1.4.
    assert result.lost_profit[1] == pytest.approx(92.0)
    assert result.tts[1] == pytest.approx(1.4)


def test_scenario_remaining() -> None:
    np.testing.assert_array_equal(Scenario("a", ("x", "y"), 1.0).remaining(), [0.0, 0.0])
    np.testing.assert_allclose(Scenario("a", ("x", "y"), 1.0, severity=(0.25, 1.0)).remaining(), [0.75, 0.0])


# -- validate_scenario -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        (Scenario("s", (), 1.0), "disrupts no node"),
        (Scenario("s", ("G1", "nope"), 1.0), "unknown node"),
        (Scenario("s", ("G1", "G1"), 1.0), "listed twice"),
        (Scenario("s", ("G1",), -1.0), "TTR must be a finite number"),
        (Scenario("s", ("G1",), math.nan), "TTR must be a finite number"),
        (Scenario("s", ("G1",), math.inf), "TTR must be a finite number"),
        (Scenario("s", ("G1", "G2"), 1.0, severity=(0.5,)), "one severity per disrupted node"),
        (Scenario("s", ("G1",), 1.0, severity=(1.5,)), "severity must be between 0 and 1"),
        (Scenario("s", ("G1",), 1.0, severity=(-0.1,)), "severity must be between 0 and 1"),
        (Scenario("s", ("G1",), 1.0, severity=(math.nan,)), "severity must be between 0 and 1"),
    ],
)
def test_validate_scenario_errors(net: CompiledNetwork, scenario: Scenario, message: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(message)) as info:
        validate_scenario(net, scenario)
    assert "scenario 's'" in str(info.value)


def test_validate_scenario_accepts_edges(net: CompiledNetwork) -> None:
    validate_scenario(net, Scenario("zero", ("G1", "G2"), 0.0, severity=(0.0, 1.0)))
    validate_scenario(net, Scenario("int", ("P1",), 3))


# -- read_scenarios_csv -----------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "scenarios.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_read_scenarios_csv(tmp_path: Path, net: CompiledNetwork) -> None:
    path = write(
        tmp_path,
        "\n".join(
            [
                "scenario_id,disrupted,ttr,severity",
                "china, G1 ; C1 ,4,",
                "",
                "forge,F1,2.5,0.5",
                "gallium,G1;G2,3,0.2;0.4",
                "",
            ]
        ),
        encoding="utf-8-sig",  # a spreadsheet's byte-order mark is fine
    )
    scenarios = read_scenarios_csv(path, net)
    assert [(s.id, s.nodes, s.ttr, s.severity) for s in scenarios] == [
        ("china", ("G1", "C1"), 4.0, None),
        ("forge", ("F1",), 2.5, (0.5,)),
        ("gallium", ("G1", "G2"), 3.0, (0.2, 0.4)),
    ]
    assert all(s.kind == "custom" and s.label == s.id for s in scenarios)
    for scenario in scenarios:
        validate_scenario(net, scenario)


def test_read_scenarios_csv_without_severity_column(tmp_path: Path, net: CompiledNetwork) -> None:
    path = write(tmp_path, "ttr,disrupted,scenario_id\n1,P1,only\n")
    (scenario,) = read_scenarios_csv(path, net)
    assert (scenario.id, scenario.nodes, scenario.ttr, scenario.severity) == ("only", ("P1",), 1.0, None)


HEADER = "scenario_id,disrupted,ttr,severity\n"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("scenario_id,nodes,ttr\na,G1,1\n", 1, "missing disrupted"),
        ("", 1, "missing scenario_id, disrupted, ttr"),
        (HEADER + "a,G1,1,\nb,G1;nope,1,\n", 3, "unknown node(s) 'nope'"),
        (HEADER + "a,,1,\n", 2, "disrupted lists no node"),
        (HEADER + ",G1,1,\n", 2, "scenario_id is empty"),
        (HEADER + "a,G1,abc,\n", 2, "ttr must be a finite number >= 0, got 'abc'"),
        (HEADER + "a,G1,-1,\n", 2, "ttr must be a finite number >= 0"),
        (HEADER + "a,G1,inf,\n", 2, "ttr must be a finite number >= 0"),
        (HEADER + "a,G1,,\n", 2, "ttr must be a finite number >= 0"),
        (HEADER + "a,G1,1,1.5\n", 2, "severity: one value in [0, 1]"),
        (HEADER + "a,G1,1,-0.5\n", 2, "severity: one value in [0, 1]"),
        (HEADER + "a,G1,1,high\n", 2, "severity must be numbers in [0, 1], got 'high'"),
        (HEADER + "a,G1,1,0.1;0.2\n", 2, "severity: one value in [0, 1], or one per disrupted node"),
        (HEADER + "a,G1;G2,1,0.1;0.2;0.3\n", 2, "one per disrupted node"),
        (HEADER + "a,G1,1,\nb,G2,1,\n\na,F1,1,\n", 5, "scenario_id 'a' repeats an earlier row"),
    ],
)
def test_read_scenarios_csv_errors(tmp_path: Path, net: CompiledNetwork, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        read_scenarios_csv(path, net)
    shown = str(info.value)
    assert f"{path}: line {line}: " in shown
    assert message in shown


def test_read_scenarios_csv_reports_every_bad_row(tmp_path: Path, net: CompiledNetwork) -> None:
    path = write(tmp_path, HEADER + "a,nope,1,\nb,G1,x,\nc,G1,1,\nc,G2,1,2\n")
    with pytest.raises(InputError) as info:
        read_scenarios_csv(path, net)
    wheres = [problem.where for problem in info.value.problems]
    assert wheres == [f"{path}: line 2", f"{path}: line 3", f"{path}: line 5", f"{path}: line 5"]


def test_read_scenarios_csv_file_errors(tmp_path: Path, net: CompiledNetwork) -> None:
    only_header = write(tmp_path, HEADER)
    with pytest.raises(InputError, match="holds no scenario") as info:
        read_scenarios_csv(only_header, net)
    assert str(only_header) in str(info.value)
    missing = tmp_path / "absent.csv"
    with pytest.raises(InputError, match="cannot read file") as info:
        read_scenarios_csv(missing, net)
    assert str(missing) in str(info.value)
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(HEADER.encode() + "caf\xe9,G1,1,\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8") as info:
        read_scenarios_csv(latin, net)
    assert str(latin) in str(info.value)


# -- read_ttr_csv -----------------------------------------------------------------------------------


def test_read_ttr_csv(tmp_path: Path, net: CompiledNetwork) -> None:
    path = write(tmp_path, "node,ttr,comment\nF1,4,forge fire\n\n G1 ,0.5,\nC1,0,\n", name="ttr.csv")
    table = read_ttr_csv(path)
    assert table == {"F1": 4.0, "G1": 0.5, "C1": 0.0}
    assert list(table) == ["F1", "G1", "C1"]  # file order
    assert [s.id for s in from_ttr_table(net, table)] == ["F1", "G1", "C1"]


def test_read_ttr_csv_shared_data(shared_data: Path) -> None:
    table = read_ttr_csv(shared_data / "stress-test-accelerator" / "ttr_small.csv")
    assert len(table) == 30
    assert (table["T2_1"], table["T3_20"]) == (4.0, 9.0)


def test_read_ttr_csv_of_a_generated_network(generated_data: Path) -> None:
    table = read_ttr_csv(generated_data / "ttr_small.csv")
    assert len(table) == 30 and table == generated.ttr_table(generated.small())
    assert list(table) == [node.id for node in generated.small().nodes[5:]]  # file order: node order


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("node,time\nG1,1\n", 1, "expected columns node,ttr"),
        ("", 1, "expected columns node,ttr"),
        ("node,ttr\n,1\n", 2, "column 'node' is empty"),
        ("node,ttr\nG1,1\nG2,soon\n", 3, "ttr must be a finite number >= 0, got 'soon'"),
        ("node,ttr\nG1,-3\n", 2, "ttr must be a finite number >= 0"),
        ("node,ttr\nG1,nan\n", 2, "ttr must be a finite number >= 0"),
        ("node,ttr\nG1,\n", 2, "ttr must be a finite number >= 0"),
        ("node,ttr\nG1,1\nG2,2\nG1,3\n", 4, "node 'G1' listed twice"),
    ],
)
def test_read_ttr_csv_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text, name="ttr.csv")
    with pytest.raises(InputError) as info:
        read_ttr_csv(path)
    shown = str(info.value)
    assert f"{path}: line {line}: " in shown
    assert message in shown


def test_read_ttr_csv_unknown_node_named_with_the_file(tmp_path: Path, net: CompiledNetwork) -> None:
    """A TTR table is read without the network; the unknown node shows when the scenarios are built."""
    path = write(tmp_path, "node,ttr\nG1,1\nnope,2\n", name="ttr.csv")
    table = read_ttr_csv(path)
    with pytest.raises(ScenarioError, match="unknown node") as info:
        from_ttr_table(net, table, where=str(path))
    assert str(path) in str(info.value)


def test_read_ttr_csv_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "absent.csv"
    with pytest.raises(InputError, match="cannot read file") as info:
        read_ttr_csv(missing)
    assert str(missing) in str(info.value)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"node,ttr\n\xff\xfe,1\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_ttr_csv(bad)
