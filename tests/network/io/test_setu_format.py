"""Tests of the Setu workbook / CSV-folder format: round trips, the template, and precise errors."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from setu.errors import InputError
from setu.network.io.setu_format import (
    TABLES,
    read_csv_folder,
    read_setu,
    read_workbook,
    template_network,
    write_setu,
    write_template,
)
from setu.network.model import BomLine, Network, Node, Product, SiteCapacity, Supply
from setu.network.validate import network_problems


def same_tables(a: Network, b: Network) -> bool:
    return (a.nodes, a.products, a.bom, a.supplies, a.site_capacities) == (
        b.nodes,
        b.products,
        b.bom,
        b.supplies,
        b.site_capacities,
    )


def error_of(path: Path) -> str:
    with pytest.raises(InputError) as info:
        read_setu(path)
    return str(info.value)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The template as a CSV folder, to break in each test."""
    return write_template(tmp_path / "net")


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """The template as a workbook, to break in each test."""
    return write_template(tmp_path / "net.xlsx")


def edit_csv(folder: Path, table: str, old: str, new: str) -> None:
    path = folder / f"{table}.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def lines_of(folder: Path, table: str) -> list[str]:
    return (folder / f"{table}.csv").read_text(encoding="utf-8").splitlines()


def set_cell(workbook: Path, sheet: str, row: int, column: str, value: object) -> None:
    book = openpyxl.load_workbook(workbook)
    worksheet = book[sheet]
    header = [cell.value for cell in worksheet[1]]
    worksheet.cell(row=row, column=header.index(column) + 1, value=value)
    book.save(workbook)


# ------------------------------------------------------------------------------------------------ round trips


def sample_network() -> Network:
    net = template_network()
    nodes = list(net.nodes)
    nodes[0] = dataclasses.replace(nodes[0], capacity=0.1 + 0.2, inventory=1e-300, name="=not a formula")
    nodes[1] = dataclasses.replace(nodes[1], ttr=2.5, name='Ünïcode — naïve, "quoted"; with comma', country="007")
    return dataclasses.replace(net, nodes=nodes)


@pytest.mark.parametrize("target", ["out.xlsx", "out_folder"])
def test_round_trip(tmp_path: Path, target: str) -> None:
    net = sample_network()
    path = write_setu(net, tmp_path / target)
    back = read_setu(path)
    assert same_tables(back, net)
    assert back.name == Path(target).stem
    assert back.source == str(path)
    assert back == dataclasses.replace(net, name=back.name, source=back.source)


def test_round_trip_without_site_capacities(tmp_path: Path) -> None:
    net = dataclasses.replace(template_network(), site_capacities=[])
    assert same_tables(read_workbook(write_setu(net, tmp_path / "a.xlsx")), net)
    assert same_tables(read_csv_folder(write_setu(net, tmp_path / "a")), net)


def test_writer_rejects_chokepoint_with_separator(tmp_path: Path) -> None:
    net = template_network()
    net.nodes[0] = dataclasses.replace(net.nodes[0], chokepoints=("a;b",))
    with pytest.raises(ValueError, match="chokepoint"):
        write_setu(net, tmp_path / "x")


# --------------------------------------------------------------------------------------------------- template


@pytest.mark.parametrize("target", ["template.xlsx", "template"])
def test_template_loads_and_validates(tmp_path: Path, target: str) -> None:
    path = write_template(tmp_path / target)
    net = read_setu(path)
    assert network_problems(net) == []
    assert len(net.nodes) == 6
    assert len(net.products) == 2
    assert same_tables(net, template_network())
    # two products share the alternate chip suppliers
    edges = {(s.supplier, s.customer) for s in net.supplies}
    assert {(chip, p.node) for chip in ("CHIP_A", "CHIP_B") for p in net.products} <= edges


def test_template_readme(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx"))
    assert book.sheetnames[0] == "README"
    text = "\n".join(str(c) for row in book["README"].iter_rows(values_only=True) for c in row if c)
    for table, columns in TABLES.items():
        for column in columns:
            assert column.name in text and table in text
        assert [c.value for c in book[table][1]] == [c.name for c in columns]
    assert (write_template(tmp_path / "f") / "README.md").is_file()


def test_template_does_not_overwrite(tmp_path: Path) -> None:
    path = write_template(tmp_path / "t.xlsx")
    with pytest.raises(InputError, match="already exists"):
        write_template(path)
    folder = write_template(tmp_path / "f")
    with pytest.raises(InputError, match=r"already holds .*nodes\.csv"):
        write_template(folder)
    write_template(folder, overwrite=True)


# ----------------------------------------------------------------------------------------------- valid variants


def test_column_order_free_optional_columns_absent_and_blank_rows(folder: Path) -> None:
    (folder / "nodes.csv").write_text(
        "capacity,material,id\n\n10,radar,RADAR\n20,missile,MISSILE\n100,chip,CHIP_A\n"
        "60,chip,CHIP_B\n,,\n80,steel,STEEL\n50,propellant,PROPELLANT\n",
        encoding="utf-8",
    )
    (folder / "site_capacities.csv").unlink()
    net = read_setu(folder)
    assert [n.id for n in net.nodes] == ["RADAR", "MISSILE", "CHIP_A", "CHIP_B", "STEEL", "PROPELLANT"]
    assert net.nodes[0].inventory == 0.0 and net.nodes[0].ttr is None and net.nodes[0].site == ""
    assert net.site_capacities == []


def test_utf8_bom_and_headers_case_insensitive(folder: Path) -> None:
    text = (folder / "products.csv").read_text(encoding="utf-8").replace("node,demand,weight", "Node, Demand ,WEIGHT")
    (folder / "products.csv").write_text(text, encoding="utf-8-sig")
    assert read_setu(folder).products == template_network().products


def test_workbook_numeric_strings_and_numbers_as_ids(workbook: Path) -> None:
    set_cell(workbook, "nodes", 2, "capacity", " 12.5 ")
    set_cell(workbook, "products", 2, "demand", "8")
    net = read_setu(workbook)
    assert net.nodes[0].capacity == 12.5
    assert net.products[0].demand == 8.0


def test_workbook_readme_sheet_ignored_other_sheet_rejected(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    book["README"]["A1"] = "anything at all"
    book.create_sheet("notes")
    book.save(workbook)
    message = error_of(workbook)
    assert f"{workbook}, sheet notes: unknown sheet" in message


# ------------------------------------------------------------------------------------------------ bad inputs


def test_missing_table_csv(folder: Path) -> None:
    (folder / "bom.csv").unlink()
    assert f"{folder / 'bom.csv'}: missing file: the bom table is required" in error_of(folder)


def test_missing_table_workbook(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    del book["bom"]
    book.save(workbook)
    assert f"{workbook}: missing sheet 'bom'" in error_of(workbook)


def test_unknown_table_file(folder: Path) -> None:
    (folder / "node.csv").write_text("id\n", encoding="utf-8")
    assert f"{folder / 'node.csv'}: unknown table 'node' (did you mean 'nodes'?)" in error_of(folder)


def test_missing_column(folder: Path) -> None:
    lines = [",".join(line.split(",")[:3] + line.split(",")[4:]) for line in lines_of(folder, "nodes")]
    (folder / "nodes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert f"{folder / 'nodes.csv'}, line 1: missing required column 'capacity'" in error_of(folder)


def test_missing_column_workbook(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    book["bom"].delete_cols(3)
    book.save(workbook)
    assert f"{workbook}, sheet bom, row 1: missing required column 'quantity'" in error_of(workbook)


def test_unknown_column(folder: Path) -> None:
    edit_csv(folder, "products", "node,demand,weight", "node,demand,weight,margn")
    message = error_of(folder)
    assert f"{folder / 'products.csv'}, line 1, column 4: unknown column 'margn'" in message
    assert "products table has columns node, demand, weight" in message


def test_unknown_column_workbook_names_letter_and_suggests(workbook: Path) -> None:
    set_cell(workbook, "nodes", 1, "capacity", "capcity")
    message = error_of(workbook)
    assert f"{workbook}, sheet nodes, row 1, column D: unknown column 'capcity' (did you mean 'capacity'?)" in message
    assert "missing required column 'capacity'" in message


def test_value_in_column_without_header(folder: Path) -> None:
    edit_csv(folder, "supplies", "STEEL,RADAR", "STEEL,RADAR,oops")
    assert f"{folder / 'supplies.csv'}, line 6, column 3: 'oops' in a column with no header" in error_of(folder)


def test_not_a_number(folder: Path) -> None:
    edit_csv(folder, "nodes", "MISSILE,Missile integration,missile,20,", "MISSILE,Missile integration,missile,abc,")
    message = error_of(folder)
    assert f"{folder / 'nodes.csv'}, line 3, column capacity: expected a number >= 0, got 'abc'" in message
    assert message.count("\n  - ") == 1  # no follow-on problem from the placeholder


def test_not_a_number_workbook(workbook: Path) -> None:
    set_cell(workbook, "nodes", 7, "capacity", "abc")
    message = error_of(workbook)
    assert f"{workbook}, sheet nodes, row 7, column capacity: expected a number >= 0, got 'abc'" in message


def test_negative_number(folder: Path) -> None:
    edit_csv(folder, "products", "RADAR,8,5", "RADAR,-8,5")
    assert f"{folder / 'products.csv'}, line 2, column demand: expected a number >= 0, got -8" in error_of(folder)


def test_negative_number_workbook(workbook: Path) -> None:
    set_cell(workbook, "nodes", 3, "inventory", -2)
    assert f"{workbook}, sheet nodes, row 3, column inventory: expected a number >= 0, got -2" in error_of(workbook)


@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
def test_nan_and_infinity(folder: Path, text: str) -> None:
    edit_csv(folder, "bom", "RADAR,steel,2", f"RADAR,steel,{text}")
    assert f"{folder / 'bom.csv'}, line 3, column quantity: expected a finite number > 0, got {text}" in error_of(
        folder
    )


def test_zero_quantity_and_empty_required_cell(folder: Path) -> None:
    edit_csv(folder, "bom", "RADAR,steel,2", "RADAR,steel,0")
    edit_csv(folder, "nodes", "STEEL,Armour steel mill,steel,80", "STEEL,Armour steel mill,,80")
    message = error_of(folder)
    assert f"{folder / 'bom.csv'}, line 3, column quantity: expected a number > 0, got 0" in message
    assert f"{folder / 'nodes.csv'}, line 6, column material: expected a material name, got an empty cell" in message


def test_duplicate_node_id(folder: Path) -> None:
    edit_csv(folder, "nodes", "CHIP_B,", "CHIP_A,")
    message = error_of(folder)
    assert f"{folder / 'nodes.csv'}, line 5, column id: duplicate node id 'CHIP_A' (first at line 4)" in message


def test_unknown_node_in_supplies(folder: Path) -> None:
    edit_csv(folder, "supplies", "STEEL,RADAR", "STEEL,RADDAR")
    message = error_of(folder)
    assert f"{folder / 'supplies.csv'}, line 6, column customer: unknown node 'RADDAR'" in message


def test_bom_material_without_supplier(folder: Path) -> None:
    edit_csv(folder, "supplies", "STEEL,RADAR\n", "")
    message = error_of(folder)
    assert f"{folder / 'bom.csv'}, line 3, column material: material has no supplier" in message
    assert message.count("\n  - ") == 1


def test_bom_material_without_supplier_workbook(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    book["supplies"].delete_rows(6)
    book.save(workbook)
    assert f"{workbook}, sheet bom, row 3, column material: material has no supplier" in error_of(workbook)


def test_bom_cycle(folder: Path) -> None:
    with (folder / "bom.csv").open("a", encoding="utf-8") as handle:
        handle.write("CHIP_A,radar,1\n")
    with (folder / "supplies.csv").open("a", encoding="utf-8") as handle:
        handle.write("RADAR,CHIP_A\n")
    message = error_of(folder)
    assert f"{folder / 'supplies.csv'}, lines 2, 8: the bill of materials has a cycle through CHIP_A, RADAR" in message


def test_text_file_named_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "network.xlsx"
    path.write_text("id,material,capacity\nA,steel,1\n", encoding="utf-8")
    assert f"{path}: not a valid .xlsx workbook" in error_of(path)


def test_empty_workbook_file(tmp_path: Path) -> None:
    path = tmp_path / "network.xlsx"
    path.touch()
    assert f"{path}: empty file, not a .xlsx workbook" in error_of(path)


def test_empty_csv_file(folder: Path) -> None:
    (folder / "nodes.csv").write_text("", encoding="utf-8")
    message = error_of(folder)
    assert f"{folder / 'nodes.csv'}: empty file; expected a header row with columns id, name, material" in message


def test_empty_sheet(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    del book["products"]
    book.create_sheet("products")
    book.save(workbook)
    assert f"{workbook}, sheet products: empty sheet; expected a header row" in error_of(workbook)


def test_semicolon_separated_csv(folder: Path) -> None:
    (folder / "supplies.csv").write_text("supplier;customer\nCHIP_A;RADAR\n", encoding="utf-8")
    assert f"{folder / 'supplies.csv'}, line 1: the header is the single cell" in error_of(folder)


def test_not_utf8(folder: Path) -> None:
    (folder / "products.csv").write_bytes("node,demand,weight\nRADAR,8,5\nMISSILE,15,3\nR\xe9\n".encode("latin-1"))
    assert f"{folder / 'products.csv'}: not UTF-8 text" in error_of(folder)


def test_line_numbers_count_blank_and_quoted_multiline_rows(folder: Path) -> None:
    edit_csv(folder, "nodes", "RADAR,Radar assembly,", '\n\nRADAR,"Radar\nassembly",')
    edit_csv(folder, "nodes", "CHIP_A,Chip fab A,chip,100,30", "CHIP_A,Chip fab A,chip,100,x")
    # header line 1, two blank lines, RADAR on lines 4-5, MISSILE 6, CHIP_A 7
    assert f"{folder / 'nodes.csv'}, line 7, column inventory: expected a number >= 0, got 'x'" in error_of(folder)


def test_every_problem_reported_at_once(folder: Path) -> None:
    edit_csv(folder, "nodes", "CHIP_B,Chip fab B,chip,60", "CHIP_B,Chip fab B,chip,-1")
    edit_csv(folder, "products", "MISSILE,15,3", "MISSILE,15,lots")
    edit_csv(folder, "site_capacities", "Works 1", "Works 2")
    message = error_of(folder)
    assert message.startswith("3 problems in input:")
    assert f"{folder / 'nodes.csv'}, line 5, column capacity" in message
    assert f"{folder / 'products.csv'}, line 3, column weight" in message
    assert f"{folder / 'site_capacities.csv'}, line 2, column site: no node is at this site" in message


def test_read_setu_paths(tmp_path: Path, folder: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        read_setu(tmp_path / "missing")
    with pytest.raises(InputError, match="pass the folder"):
        read_setu(folder / "nodes.csv")
    with pytest.raises(InputError, match="no such file"):
        read_setu(tmp_path / "missing.xlsx")
    with pytest.raises(InputError, match="not a folder"):
        read_csv_folder(folder / "nodes.csv")


# ------------------------------------------------------------------------------------- random valid networks

names = st.text(alphabet=st.sampled_from("abcXYZ019_-./ éß中"), min_size=1, max_size=8).filter(lambda s: s == s.strip())
texts = st.one_of(st.just(""), names, st.text(alphabet="=+-@ab\"',;:", max_size=6).filter(lambda s: s == s.strip()))
numbers = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(float),
    st.floats(min_value=0, max_value=1e15, allow_nan=False, allow_infinity=False),
)
positives = st.floats(min_value=0, max_value=1e9, exclude_min=True, allow_nan=False, allow_infinity=False)


@st.composite
def networks(draw: st.DrawFn) -> Network:
    """A valid network in layers: each node sources only from deeper layers, so the BOM is acyclic."""
    ids = draw(st.lists(names, min_size=2, max_size=9, unique=True))
    cut = draw(st.integers(min_value=1, max_value=len(ids) - 1))
    layers = [ids[:cut], ids[cut:]]
    if len(layers[1]) > 2 and draw(st.booleans()):
        layers = [layers[0], layers[1][:2], layers[1][2:]]
    materials = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    material_of = {node: draw(st.sampled_from(materials)) for node in ids}
    sites = draw(st.lists(names, max_size=2, unique=True))
    nodes = [
        Node(
            id=node,
            material=material_of[node],
            capacity=draw(numbers),
            inventory=draw(numbers),
            site=draw(st.sampled_from([*sites, ""])),
            organization=draw(texts),
            party=draw(texts),
            country=draw(texts),
            material_class=draw(texts),
            chokepoints=tuple(draw(st.lists(names.filter(lambda s: ";" not in s), max_size=2))),
            ttr=draw(st.none() | numbers),
            name=draw(texts),
            program=draw(texts),
        )
        for node in ids
    ]
    bom: list[BomLine] = []
    supplies: list[Supply] = []
    for depth, layer in enumerate(layers[:-1]):
        deeper = [n for later in layers[depth + 1 :] for n in later]
        for customer in layer:
            suppliers = draw(st.lists(st.sampled_from(deeper), max_size=3, unique=True))
            for material in dict.fromkeys(material_of[s] for s in suppliers):
                bom.append(BomLine(customer, material, draw(positives)))
            supplies.extend(Supply(s, customer) for s in suppliers)
    products = [
        Product(n, draw(numbers), draw(numbers))
        for n in draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True))
    ]
    used_sites = sorted({n.site for n in nodes if n.site})
    chosen_sites = draw(st.lists(st.sampled_from(used_sites), unique=True)) if used_sites else []
    site_capacities = [SiteCapacity(s, draw(numbers)) for s in chosen_sites]
    bom = draw(st.permutations(bom))
    supplies = draw(st.permutations(supplies))
    return Network("random", nodes, products, bom, supplies, site_capacities)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_random_networks_round_trip(net: Network) -> None:
    assert network_problems(net) == []
    with tempfile.TemporaryDirectory() as tmp:
        for target in ("net.xlsx", "net"):
            back = read_setu(write_setu(net, Path(tmp) / target))
            assert same_tables(back, net)


def test_table_twice_in_workbook(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    book.copy_worksheet(book["bom"]).title = "BOM "
    book.save(workbook)
    assert f"{workbook}, sheet BOM : the bom table is also in sheet 'bom'" in error_of(workbook)


def test_coordinates_round_trip_and_bad_ones_are_named(folder: Path, tmp_path: Path) -> None:
    net = template_network()
    assert [(n.id, n.latitude, n.longitude) for n in net.nodes if n.latitude is not None] == [("CHIP_A", 34.69, 135.5)]
    back = read_setu(write_setu(net, tmp_path / "coords.xlsx"))
    assert [(n.latitude, n.longitude) for n in back.nodes] == [(n.latitude, n.longitude) for n in net.nodes]
    edit_csv(folder, "nodes", "34.69,135.5", "95,-200")
    message = error_of(folder)
    assert "column latitude: expected degrees from -90 to 90, got 95" in message
    assert "column longitude: expected degrees from -180 to 180, got -200" in message


def test_a_latitude_without_its_longitude_is_refused() -> None:
    net = template_network()
    net.nodes[0] = dataclasses.replace(net.nodes[0], latitude=20.0)
    assert [str(p) for p in network_problems(net)] == [
        "nodes[RADAR]: longitude is empty: give both latitude and longitude, or neither"
    ]


def test_units_travel_in_the_file_and_a_wrong_one_is_named(tmp_path: Path) -> None:
    net = dataclasses.replace(template_network(), time_unit="week", weight_unit="USD k")
    for target in ("units.xlsx", "units_folder"):
        back = read_setu(write_setu(net, tmp_path / target))
        assert (back.time_unit, back.weight_unit) == ("week", "USD k")
    folder = tmp_path / "units_folder"
    (folder / "units.csv").write_text("time_unit,weight_unit\nfortnight,USD k\nweek,\n", encoding="utf-8")
    message = error_of(folder)
    assert f"{folder / 'units.csv'}, line 2, column time_unit: expected one of hour, day, week" in message
    assert f"{folder / 'units.csv'}, line 3: the units table holds one row" in message
    # A network that declares none writes no units table.
    plain = dataclasses.replace(template_network(), time_unit="", weight_unit="")
    assert not (write_setu(plain, tmp_path / "plain") / "units.csv").exists()
