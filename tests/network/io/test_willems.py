"""Tests of the Willems (2008) chain reader: both layouts of all 38 chains, the derivation rule, errors."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from setu.errors import InputError
from setu.network.compile import compile_network
from setu.network.io.loader import read_network
from setu.network.io.willems import WillemsOptions, read_willems
from setu.network.model import Network
from setu.stress.lp import StressLP

CHAINS = range(1, 39)


@pytest.fixture(scope="module")
def willems_dir(shared_data: Path) -> Path:
    folder = shared_data / "willems2008"
    if not folder.is_dir():
        pytest.skip(f"Willems data not found at {folder}")
    return folder


@pytest.fixture(scope="module")
def chain_sizes(willems_dir: Path) -> dict[int, dict[str, str]]:
    with (willems_dir / "chain_sizes.csv").open(encoding="utf-8", newline="") as handle:
        return {int(row["chain"]): row for row in csv.DictReader(handle)}


def _positive_demands(path: Path) -> int:
    """Count stages with avgDemand > 0 straight from the raw export (chain_sizes counts 0 too)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    col = rows[0].index("/stages/stage/@avgDemand")
    return sum(1 for row in rows[1:] if row[col] and float(row[col]) > 0)


def _invnet(root: Path, chain: int) -> Path:
    return root / "invnet_gsm" / f"{chain:02d}.csv"


def _snc(root: Path, chain: int) -> Path:
    return root / "snc" / f"willems_{chain:02d}.csv"


# -- the real chains ------------------------------------------------------------------------------


@pytest.mark.parametrize("chain", CHAINS)
def test_both_layouts_load_compile_and_agree(
    willems_dir: Path, chain_sizes: dict[int, dict[str, str]], chain: int
) -> None:
    a = read_willems(_invnet(willems_dir, chain))
    b = read_willems(_snc(willems_dir, chain))
    size = chain_sizes[chain]
    demands = _positive_demands(_invnet(willems_dir, chain))
    assert 0 < demands <= int(size["demand_stages"])
    for net in (a, b):
        assert net.name == f"willems-{chain:02d}"
        assert len(net.nodes) == int(size["stages"])
        assert len(net.supplies) == int(size["arcs"])
        assert len(net.bom) == int(size["arcs"])
        assert len(net.products) == demands
        compiled = compile_network(net)
        assert compiled.n_nodes == int(size["stages"])
    assert a.source == str(_invnet(willems_dir, chain))
    assert b.source == str(_snc(willems_dir, chain))

    nodes_a = {n.id: n for n in a.nodes}
    nodes_b = {n.id: n for n in b.nodes}
    assert nodes_a.keys() == nodes_b.keys()
    assert {(s.supplier, s.customer) for s in a.supplies} == {(s.supplier, s.customer) for s in b.supplies}
    assert {(x.node, x.material, x.quantity) for x in a.bom} == {(x.node, x.material, x.quantity) for x in b.bom}
    assert {p.node: p.demand for p in a.products} == {p.node: p.demand for p in b.products}
    weights_b = {p.node: p.weight for p in b.products}
    for p in a.products:
        assert p.weight == pytest.approx(weights_b[p.node], rel=1e-9)
    for node_id, x in nodes_a.items():
        y = nodes_b[node_id]
        assert x.material == y.material == node_id
        assert x.material_class == y.material_class
        assert x.ttr == pytest.approx(y.ttr, rel=1e-8)  # snc wrote some mean lead times with float noise
        assert x.capacity == pytest.approx(y.capacity, rel=1e-9)
        assert x.inventory == pytest.approx(y.inventory, rel=1e-9)


def test_classes_of_chain_38_match_the_published_counts(
    willems_dir: Path, chain_sizes: dict[int, dict[str, str]]
) -> None:
    net = read_willems(_invnet(willems_dir, 38))
    size = chain_sizes[38]
    for cls in ("Part", "Manuf", "Trans", "Dist", "Retail"):
        assert sum(n.material_class == cls for n in net.nodes) == int(size[f"n_{cls}"])


def test_chain_19_parts_is_normalised_to_part(willems_dir: Path) -> None:
    classes = {n.material_class for n in read_willems(_invnet(willems_dir, 19)).nodes}
    assert "Parts" not in classes
    assert "Part" in classes


def test_chain_38_loads_every_stage(willems_dir: Path) -> None:
    """The largest chain loads whole (its load time is measured in bench/, not asserted here)."""
    for path in (_invnet(willems_dir, 38), _snc(willems_dir, 38)):
        assert len(read_willems(path).nodes) == 2025


def test_loader_detects_willems_csv(willems_dir: Path) -> None:
    net = read_network(_snc(willems_dir, 1), capacity_slack=0.5)
    nodes = {n.id: n for n in net.nodes}
    # Manuf_0001 feeds Retail_0001 (253) and Retail_0002 (45).
    assert nodes["Manuf_0001"].capacity == pytest.approx(298 * 1.5)


def test_stress_lps_solve_on_chain_1(willems_dir: Path) -> None:
    net = compile_network(read_willems(_invnet(willems_dir, 1)))
    tts = StressLP(net, "tts").solve_base()
    assert tts.value == math.inf or (math.isfinite(tts.value) and tts.value > 0)
    ttr = StressLP(net, "ttr")
    ttr.set_horizon(5)
    assert ttr.solve_base().value >= 0


# -- a hand-made chain ----------------------------------------------------------------------------
#
#   A (part, cost 2, time 4) --+--> M (cost 5, time 3) --+--> D (cost 1, time 1, demand 10) --> R1 (demand 20)
#   B (part, cost 3, time 2) --+                         +--> R2 (cost 0, time 0, demand 5)
#   B ------------------------------------------------------> R2
#   O (part, cost 7, time 6) --> Z (cost 1, time 2, demand 0: feeds no demand)
#
# Flow: R1 = 20, R2 = 5, D = 10 + 20 = 30, M = D + R2 = 35, A = M = 35, B = M + R2 = 40, O = Z = 0.
# Cumulative cost: A 2, B 3, M 5 + 2 + 3 = 10, D 1 + 10 = 11, R1 0 + 11 = 11, R2 0 + 10 + 3 = 13.

STAGES = [  # name, class, cost, time, demand
    ("Part_A", "Part", 2, 4, ""),
    ("Part_B", "Part", 3, 2, ""),
    ("Manuf_M", "Manuf", 5, 3, ""),
    ("Dist_D", "Dist", 1, 1, 10),
    ("Retail_R1", "Retail", 0, 0, 20),
    ("Retail_R2", "Retail", 0, 0, 5),
    ("Part_O", "Part", 7, 6, ""),
    ("Manuf_Z", "Manuf", 1, 2, 0),
]
ARCS = [
    ("Part_A", "Manuf_M"),
    ("Part_B", "Manuf_M"),
    ("Manuf_M", "Dist_D"),
    ("Dist_D", "Retail_R1"),
    ("Manuf_M", "Retail_R2"),
    ("Part_B", "Retail_R2"),
    ("Part_O", "Manuf_Z"),
]
FLOW = {"Part_A": 35, "Part_B": 40, "Manuf_M": 35, "Dist_D": 30, "Retail_R1": 20, "Retail_R2": 5}
TIME = {name: t for name, _, _, t, _ in STAGES}
WEIGHT = {"Dist_D": 11, "Retail_R1": 11, "Retail_R2": 13}
DEMAND = {"Dist_D": 10, "Retail_R1": 20, "Retail_R2": 5}

INVNET_HEADER = [
    "/@company",
    "/arcs/arc/@from",
    "/arcs/arc/@to",
    "/stages/stage/@avgDemand",
    "/stages/stage/@stageClassification",
    "/stages/stage/@stageCost",
    "/stages/stage/@stageName",
    "/stages/stage/@stageTime",
]
SNC_HEADER = (
    "stage_id,lead_time,max_s_time,cost_rate,risk_pool,ext_demand_mean,ext_demand_std,ext_demand_thres,up_stages"
)


def _write_invnet(path: Path, stages: Sequence[tuple[object, ...]], arcs: Sequence[tuple[str, str]]) -> Path:
    lines = ["\ufeff/chain" + "," * (len(INVNET_HEADER) - 1), ",".join(INVNET_HEADER)]
    lines += [f"1,{s},{t},,,,," for s, t in arcs]
    lines += [f"1,,,{d},{c},{cost},{name},{t}" for name, c, cost, t, d in stages]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _write_snc(path: Path, stages: Sequence[tuple[object, ...]], arcs: Sequence[tuple[str, str]]) -> Path:
    lines = [SNC_HEADER]
    for name, _, cost, t, d in stages:
        ups = "".join(f",{s},1" for s, c in arcs if c == name)
        lines.append(f"{name},{t},,{cost},2,{d},,{ups}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(params=["invnet_gsm", "snc"])
def hand_chain(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "invnet_gsm":
        return _write_invnet(tmp_path / "07.csv", STAGES, ARCS)
    return _write_snc(tmp_path / "willems_07.csv", STAGES, ARCS)


def _by_id(net: Network) -> dict[str, tuple[float, float]]:
    return {n.id: (n.capacity, n.inventory) for n in net.nodes}


def test_hand_chain_structure(hand_chain: Path) -> None:
    net = read_willems(hand_chain)
    assert net.name == "willems-07"
    assert [n.id for n in net.nodes] == [s[0] for s in STAGES]
    assert all(n.material == n.id for n in net.nodes)
    assert {n.id: n.material_class for n in net.nodes} == {s[0]: s[1] for s in STAGES}
    assert {n.id: n.ttr for n in net.nodes} == TIME
    assert {(s.supplier, s.customer) for s in net.supplies} == set(ARCS)
    assert {(b.node, b.material, b.quantity) for b in net.bom} == {(c, s, 1.0) for s, c in ARCS}
    # Manuf_Z has avgDemand 0: not a product.
    assert {p.node: p.demand for p in net.products} == DEMAND
    compile_network(net)


def test_hand_chain_derived_capacity_and_inventory(hand_chain: Path) -> None:
    got = _by_id(read_willems(hand_chain))
    for name, (capacity, inventory) in got.items():
        flow = FLOW.get(name, 0)
        assert capacity == pytest.approx(flow * 1.2), name
        assert inventory == pytest.approx(TIME[name] * flow * 1.0), name
    # Stages feeding no demand stage get nothing.
    assert got["Part_O"] == (0.0, 0.0)
    assert got["Manuf_Z"] == (0.0, 0.0)
    # Written out by hand: B feeds M (35) and R2 (5); A only M.
    assert got["Part_B"] == pytest.approx((48.0, 80.0))
    assert got["Part_A"] == pytest.approx((42.0, 140.0))
    assert got["Manuf_M"] == pytest.approx((42.0, 105.0))


def test_hand_chain_weight_is_cumulative_cost(hand_chain: Path) -> None:
    weights = {p.node: p.weight for p in read_willems(hand_chain).products}
    assert weights == pytest.approx(WEIGHT)


def test_option_knobs(hand_chain: Path) -> None:
    options = WillemsOptions(capacity_slack=0.0, inventory_cover=2.0, demand_scale=3.0)
    net = read_willems(hand_chain, options)
    got = _by_id(net)
    for name, flow in FLOW.items():
        assert got[name][0] == pytest.approx(3 * flow), name
        assert got[name][1] == pytest.approx(2 * TIME[name] * 3 * flow), name
    assert {p.node: p.demand for p in net.products} == pytest.approx({k: 3 * v for k, v in DEMAND.items()})
    # Weights are costs, untouched by the knobs.
    assert {p.node: p.weight for p in net.products} == pytest.approx(WEIGHT)
    slack = _by_id(read_willems(hand_chain, WillemsOptions(capacity_slack=1.5)))
    assert slack["Part_B"][0] == pytest.approx(40 * 2.5)
    assert slack["Part_B"][1] == pytest.approx(80.0)


def test_options_through_loader(hand_chain: Path) -> None:
    net = read_network(hand_chain, "willems", capacity_slack=0.0, inventory_cover=0.5)
    assert _by_id(net)["Part_A"] == pytest.approx((35.0, 70.0))


@pytest.mark.parametrize("name", ["capacity_slack", "inventory_cover", "demand_scale"])
@pytest.mark.parametrize("value", [-0.1, math.nan, math.inf, "1"])
def test_bad_option_is_an_error_naming_it(name: str, value: object) -> None:
    with pytest.raises(InputError, match=name):
        WillemsOptions(**{name: value})  # type: ignore[arg-type]


def test_defaults_and_ints_accepted() -> None:
    assert WillemsOptions() == WillemsOptions(capacity_slack=0.2, inventory_cover=1.0, demand_scale=1.0)
    options = WillemsOptions(capacity_slack=0, inventory_cover=2)
    assert isinstance(options.capacity_slack, float)
    assert options.inventory_cover == 2.0


def test_snc_quantity_is_used(tmp_path: Path) -> None:
    path = tmp_path / "willems_01.csv"
    path.write_text(f"{SNC_HEADER}\nPart_1,2,,3,,,,\nRetail_1,0,0,1,,4,1,1.645,Part_1,2\n", encoding="utf-8")
    net = read_willems(path)
    nodes = _by_id(net)
    assert nodes["Part_1"] == pytest.approx((8 * 1.2, 2 * 8))
    assert net.products[0].weight == pytest.approx(1 + 2 * 3)
    assert net.bom[0].quantity == 2.0


# -- malformed input ------------------------------------------------------------------------------


def _problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        read_willems(path)
    return [str(p) for p in info.value.problems]


def test_unknown_stage_in_arc(tmp_path: Path) -> None:
    path = _write_invnet(tmp_path / "01.csv", STAGES, [*ARCS, ("Part_X", "Manuf_M")])
    problems = _problems(path)
    # Line 1 /chain, line 2 header, arcs from line 3: the eighth arc is on line 10.
    assert any(f"{path}: line 10" in p and "Part_X" in p and "@from" in p for p in problems), problems
    snc = tmp_path / "willems_01.csv"
    snc.write_text(f"{SNC_HEADER}\nPart_1,2,,3,,,,\nRetail_1,0,0,1,,4,1,1.645,Part_1,1,Part_9,1\n", encoding="utf-8")
    problems = _problems(snc)
    assert any(f"{snc}: line 3" in p and "Part_9" in p for p in problems), problems


def test_bad_numbers_all_reported(tmp_path: Path) -> None:
    stages: list[tuple[object, ...]] = list(STAGES)
    stages[0] = ("Part_A", "Part", 2, "four", "")
    stages[4] = ("Retail_R1", "Retail", 0, 0, -20)
    path = _write_invnet(tmp_path / "01.csv", stages, ARCS)
    problems = _problems(path)
    # Stage rows start after 2 header lines and 7 arcs: stage 1 on line 10, stage 5 on line 14.
    assert any(f"{path}: line 10" in p and "stageTime" in p and "'four'" in p for p in problems), problems
    assert any(f"{path}: line 14" in p and "avgDemand" in p and "-20" in p for p in problems), problems
    assert len(problems) == 2


def test_bad_number_snc(tmp_path: Path) -> None:
    path = tmp_path / "willems_02.csv"
    path.write_text(f"{SNC_HEADER}\nPart_1,x,,3,,,,\nRetail_1,0,0,1,,4,1,1.645,Part_1,zero\n", encoding="utf-8")
    problems = _problems(path)
    assert any(f"{path}: line 2" in p and "lead_time" in p for p in problems), problems
    assert any(f"{path}: line 3" in p and "up_stages" in p and "'zero'" in p for p in problems), problems


def test_duplicate_stage_and_arc(tmp_path: Path) -> None:
    path = _write_invnet(tmp_path / "01.csv", [*STAGES, STAGES[1]], [*ARCS, ARCS[0]])
    problems = _problems(path)
    assert any(f"{path}: line 10" in p and "duplicate arc" in p and "line 3" in p for p in problems), problems
    assert any(f"{path}: line 19" in p and "duplicate stage 'Part_B'" in p for p in problems), problems


@pytest.mark.parametrize(
    "text",
    ["a,b,c\n1,2,3\n", "/chain,,\nfoo,bar,baz\n", "stage,lead\nx,1\n"],
)
def test_wrong_header(tmp_path: Path, text: str) -> None:
    path = tmp_path / "chain.csv"
    path.write_text(text, encoding="utf-8")
    (problem,) = _problems(path)
    assert str(path) in problem
    assert "line" in problem
    assert "stage_id" in problem and "/arcs/arc/@from" in problem


def test_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "willems_03.csv"
    path.write_text("stage_id,lead_time,max_s_time,ext_demand_mean,up_stages\nPart_1,2,,,\n", encoding="utf-8")
    (problem,) = _problems(path)
    assert str(path) in problem and "line 1" in problem and "cost_rate" in problem


@pytest.mark.parametrize("text", ["", "\ufeff"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "04.csv"
    path.write_text(text, encoding="utf-8")
    (problem,) = _problems(path)
    assert str(path) in problem and "empty" in problem


def test_header_only(tmp_path: Path) -> None:
    path = tmp_path / "willems_05.csv"
    path.write_text(SNC_HEADER + "\n", encoding="utf-8")
    (problem,) = _problems(path)
    assert str(path) in problem and "no stages" in problem


@pytest.mark.parametrize(
    ("extra", "lines"), [(("Manuf_M", "Part_A"), "lines 3, 10"), (("Part_O", "Part_O"), "line 10")]
)
def test_cycle_is_an_input_error(tmp_path: Path, extra: tuple[str, str], lines: str) -> None:
    path = _write_invnet(tmp_path / "01.csv", STAGES, [*ARCS, extra])
    problems = _problems(path)
    assert any(f"{path}: {lines}:" in p and "cycle" in p and extra[0] in p for p in problems), problems


def test_half_arc_and_nameless_row(tmp_path: Path) -> None:
    path = _write_invnet(tmp_path / "01.csv", STAGES, ARCS)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = "1,Part_A,,,,,,"
    lines.append("1,,,,Part,3,,4")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = _problems(path)
    assert any(f"{path}: line 3" in p and "@to" in p for p in problems), problems
    assert any(f"{path}: line 18" in p and "stageName" in p for p in problems), problems


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "willems_06.csv"
    path.write_bytes(b"stage_id,lead_time\n\xff\xfe\n")
    (problem,) = _problems(path)
    assert str(path) in problem and "UTF-8" in problem
