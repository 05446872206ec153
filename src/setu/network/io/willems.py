"""Reader for the 38 real-world multi-echelon chains of Willems (2008), with derived capacity and inventory."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix  # type: ignore[import-untyped, unused-ignore]
from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped, unused-ignore]

from setu.errors import InputError, Problem, TooLarge
from setu.network.model import BomLine, Network, Node, Product, Supply
from setu.network.validate import network_problems

Layout = Literal["invnet_gsm", "snc"]

_STAGE = "/stages/stage/@"
_FROM = "/arcs/arc/@from"
_TO = "/arcs/arc/@to"
INVNET_REQUIRED: tuple[str, ...] = (
    _FROM,
    _TO,
    f"{_STAGE}stageName",
    f"{_STAGE}stageTime",
    f"{_STAGE}stageCost",
    f"{_STAGE}avgDemand",
)
"""Columns an InvNet-GSM export (``invnet_gsm/NN.csv``) must have; ``stageClassification`` is optional."""
SNC_REQUIRED: tuple[str, ...] = ("stage_id", "lead_time", "cost_rate", "ext_demand_mean", "up_stages")
"""Columns an snc chain file (``snc/willems_NN.csv``) must have; ``up_stages`` must be the last one."""

_EXPECTED = (
    "expected a Willems (2008) chain: either the InvNet-GSM export (a '/chain' row, then a header with "
    + ", ".join(INVNET_REQUIRED)
    + ") or the snc layout (a header "
    + ", ".join(SNC_REQUIRED)
    + ", with up_stages last)"
)
# Spellings of a stage classification that mean the same class (chain 19 writes "Parts").
_CLASS_ALIASES = {"Parts": "Part"}


@dataclass(frozen=True, slots=True, kw_only=True)
class WillemsOptions:
    """Knobs of the rule that derives capacity and inventory, which Willems (2008) does not give.

    Parameters
    ----------
    capacity_slack
        Capacity of a stage is its required flow times ``1 + capacity_slack``.
    inventory_cover
        Inventory of a stage is its stage time times its flow times ``inventory_cover``
        (periods of its own lead time covered).
    demand_scale
        Multiplies every ``avgDemand`` before anything is derived from it.

    Raises
    ------
    setu.errors.InputError
        If a knob is not a finite number >= 0 (the message names the knob).
    """

    capacity_slack: float = 0.2
    inventory_cover: float = 1.0
    demand_scale: float = 1.0

    def __post_init__(self) -> None:
        problems = []
        for f in fields(self):
            value: object = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                problems.append(Problem(f"Willems option {f.name!r}", f"expected a finite number >= 0, got {value!r}"))
            else:
                object.__setattr__(self, f.name, float(value))
        if problems:
            raise InputError(problems)


@dataclass(slots=True)
class _Stage:
    name: str
    line: int
    time: float
    cost: float
    demand: float
    material_class: str


@dataclass(slots=True)
class _Arc:
    supplier: str
    customer: str
    quantity: float
    line: int


@dataclass(slots=True)
class _Parsed:
    stages: list[_Stage]
    arcs: list[_Arc]


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, cells)``; the line is the file line on which the record ends."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        for row in reader:
            yield reader.line_num, row


def _read_rows(path: Path, max_rows: int | None) -> list[tuple[int, list[str]]]:
    """Every row of the file, or :class:`~setu.errors.TooLarge` as soon as there are more than ``max_rows``."""
    rows: list[tuple[int, list[str]]] = []
    for row in _rows(path):
        rows.append(row)
        if max_rows is not None and len(rows) > max_rows:
            raise TooLarge(f"{path}: the file has more than {max_rows:,} rows; at most {max_rows:,} are accepted")
    return rows


def _number(text: str, where: str, problems: list[Problem], *, positive: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        expected = "a number > 0" if positive else "a number >= 0"
        problems.append(Problem(where, f"expected {expected}, got {text!r}"))
        return 0.0
    return value


def _cell(
    cells: list[str], col: dict[str, int], column: str, at: str, problems: list[Problem], *, required: bool
) -> float:
    """The number in ``column``; an empty cell is 0 unless ``required``."""
    text = cells[col[column]]
    if not text:
        if required:
            problems.append(Problem(f"{at}, column {column!r}", "missing value; expected a number >= 0"))
        return 0.0
    return _number(text, f"{at}, column {column!r}", problems)


def _class_from_name(name: str) -> str:
    """``Part_0001`` -> ``Part``: the name prefix, where the layout has no classification."""
    prefix = name.rsplit("_", 1)[0] if "_" in name else ""
    return _CLASS_ALIASES.get(prefix, prefix)


def _detect(rows: list[tuple[int, list[str]]], where: str) -> tuple[Layout, int]:
    """Return the layout and the position in ``rows`` of its header row."""
    if not rows:
        raise InputError(f"the file is empty; {_EXPECTED}", where)
    first = [c.strip() for c in rows[0][1]]
    at = 0
    if first and first[0] == "/chain":
        if len(rows) < 2:
            raise InputError(f"a '/chain' row but no header row after it; {_EXPECTED}", where)
        at = 1
    header = [c.strip() for c in rows[at][1]]
    if any(c.startswith(("/arcs/", "/stages/")) for c in header):
        layout: Layout = "invnet_gsm"
        missing = [c for c in INVNET_REQUIRED if c not in header]
    elif header and header[0] == "stage_id":
        layout = "snc"
        missing = [c for c in SNC_REQUIRED if c not in header]
        if not missing and header[-1] != "up_stages":
            raise InputError(f"line {rows[at][0]}: 'up_stages' must be the last column of the snc layout", where)
    else:
        shown = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
        raise InputError(f"line {rows[at][0]}: unrecognised header ({shown}); {_EXPECTED}", where)
    if missing:
        raise InputError(
            f"line {rows[at][0]}: header of the {layout} layout lacks column(s) {', '.join(map(repr, missing))}", where
        )
    return layout, at


def _parse_invnet(rows: list[tuple[int, list[str]]], where: str, problems: list[Problem]) -> _Parsed:
    header = [c.strip() for c in rows[0][1]]
    col = {name: i for i, name in enumerate(header)}
    width = len(header)
    stage_cols = [i for i, name in enumerate(header) if name.startswith(_STAGE)]
    name_col = col[f"{_STAGE}stageName"]
    class_col = col.get(f"{_STAGE}stageClassification")
    stages: list[_Stage] = []
    arcs: list[_Arc] = []
    for line, raw in rows[1:]:
        cells = [c.strip() for c in raw]
        if not any(cells):
            continue
        at = f"{where}: line {line}"
        if len(cells) > width and any(cells[width:]):
            problems.append(Problem(at, f"{len(cells)} cells but the header has {width} columns"))
            continue
        cells += [""] * (width - len(cells))
        supplier, customer, name = cells[col[_FROM]], cells[col[_TO]], cells[name_col]
        if supplier or customer:
            if name:
                problems.append(Problem(at, "the row holds both an arc and a stage; expected one or the other"))
            elif not (supplier and customer):
                empty = _FROM if not supplier else _TO
                problems.append(Problem(f"{at}, column {empty!r}", "an arc needs both a from and a to stage"))
            else:
                arcs.append(_Arc(supplier, customer, 1.0, line))
            continue
        if not name:
            if any(cells[i] for i in stage_cols):
                problems.append(Problem(f"{at}, column {header[name_col]!r}", "stage row without a stage name"))
            else:
                problems.append(Problem(at, "the row is neither an arc (from, to) nor a stage (stageName)"))
            continue

        classification = cells[class_col] if class_col is not None else ""
        stages.append(
            _Stage(
                name=name,
                line=line,
                time=_cell(cells, col, f"{_STAGE}stageTime", at, problems, required=True),
                cost=_cell(cells, col, f"{_STAGE}stageCost", at, problems, required=True),
                demand=_cell(cells, col, f"{_STAGE}avgDemand", at, problems, required=False),
                material_class=_CLASS_ALIASES.get(classification, classification) or _class_from_name(name),
            )
        )
    return _Parsed(stages, arcs)


def _parse_snc(rows: list[tuple[int, list[str]]], where: str, problems: list[Problem]) -> _Parsed:
    header = [c.strip() for c in rows[0][1]]
    col = {name: i for i, name in enumerate(header)}
    ups = len(header) - 1
    stages: list[_Stage] = []
    arcs: list[_Arc] = []
    for line, raw in rows[1:]:
        cells = [c.strip() for c in raw]
        if not any(cells):
            continue
        at = f"{where}: line {line}"
        cells += [""] * (ups - len(cells))
        name = cells[col["stage_id"]]
        if not name:
            problems.append(Problem(f"{at}, column 'stage_id'", "missing stage id"))
            continue

        stages.append(
            _Stage(
                name=name,
                line=line,
                time=_cell(cells, col, "lead_time", at, problems, required=True),
                cost=_cell(cells, col, "cost_rate", at, problems, required=True),
                demand=_cell(cells, col, "ext_demand_mean", at, problems, required=False),
                material_class=_class_from_name(name),
            )
        )
        pairs = cells[ups:]
        while pairs and not pairs[-1]:
            pairs.pop()
        if len(pairs) % 2:
            problems.append(
                Problem(f"{at}, column 'up_stages'", "expected pairs of upstream stage and quantity, got an odd count")
            )
            continue
        for k in range(0, len(pairs), 2):
            supplier = pairs[k]
            where_q = f"{at}, column 'up_stages' (pair {k // 2 + 1})"
            if not supplier:
                problems.append(Problem(where_q, "empty upstream stage name"))
                continue
            quantity = _number(pairs[k + 1], where_q, problems, positive=True)
            arcs.append(_Arc(supplier, name, quantity, line))
    return _Parsed(stages, arcs)


def _levels(supplier: NDArray[np.int64], customer: NDArray[np.int64], n: int) -> list[NDArray[np.int64]] | None:
    """Kahn's algorithm one level at a time over arrays; ``None`` if the arcs have a cycle."""
    graph = csr_matrix((np.ones(len(supplier)), (supplier, customer)), shape=(n, n))
    indptr, indices = graph.indptr, graph.indices
    indegree = np.bincount(customer, minlength=n)
    frontier = np.flatnonzero(indegree == 0)
    levels: list[NDArray[np.int64]] = []
    placed = 0
    while frontier.size:
        levels.append(frontier)
        placed += frontier.size
        starts, stops = indptr[frontier], indptr[frontier + 1]
        lengths = stops - starts
        if not lengths.sum():
            break
        offsets = np.repeat(stops - np.cumsum(lengths), lengths) + np.arange(int(lengths.sum()))
        targets = indices[offsets]
        # csr_matrix sums duplicate arcs; weights restore their multiplicity in the in-degree.
        counts = np.bincount(targets, weights=graph.data[offsets], minlength=n).astype(np.int64)
        indegree -= counts
        frontier = np.flatnonzero((indegree == 0) & (counts > 0))
    return levels if placed == n else None


def _derive(
    stages: list[_Stage], arcs: list[_Arc], index: dict[str, int], demand_scale: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Per-stage flow and cumulative cost, or ``None`` if the arcs have a cycle."""
    n = len(stages)
    supplier = np.array([index[a.supplier] for a in arcs], dtype=np.int64)
    customer = np.array([index[a.customer] for a in arcs], dtype=np.int64)
    quantity = np.array([a.quantity for a in arcs], dtype=np.float64)
    levels = _levels(supplier, customer, n)
    if levels is None:
        return None
    level_of = np.empty(n, dtype=np.int64)
    for depth, members in enumerate(levels):
        level_of[members] = depth
    # Arcs grouped by the level of their customer, so each level is one vectorised step.
    order = np.argsort(level_of[customer], kind="stable")
    bounds = np.searchsorted(level_of[customer][order], np.arange(len(levels) + 1))
    flow = np.array([s.demand for s in stages], dtype=np.float64) * demand_scale
    for depth in range(len(levels) - 1, 0, -1):
        sel = order[bounds[depth] : bounds[depth + 1]]
        np.add.at(flow, supplier[sel], quantity[sel] * flow[customer[sel]])
    cumulative = np.array([s.cost for s in stages], dtype=np.float64)
    for depth in range(1, len(levels)):
        sel = order[bounds[depth] : bounds[depth + 1]]
        np.add.at(cumulative, customer[sel], quantity[sel] * cumulative[supplier[sel]])
    return flow, cumulative


def _chain_name(path: Path) -> str:
    match = re.search(r"(\d+)$", path.stem)
    return f"willems-{int(match.group(1)):02d}" if match else f"willems-{path.stem}"


def _cycle_lines(arcs: list[_Arc], index: dict[str, int]) -> list[int]:
    """File lines of the arcs inside a strongly connected set of stages (or from a stage to itself)."""
    n = len(index)
    rows = np.array([index[a.supplier] for a in arcs], dtype=np.int64)
    cols = np.array([index[a.customer] for a in arcs], dtype=np.int64)
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    count, labels = connected_components(graph, directed=True, connection="strong")
    sizes = np.bincount(labels, minlength=count)
    inside = (labels[rows] == labels[cols]) & ((sizes[labels[rows]] > 1) | (rows == cols))
    return sorted({arcs[int(k)].line for k in np.flatnonzero(inside)})


def _on_lines(where: str, lines: list[int]) -> str:
    shown = ", ".join(map(str, lines[:20])) + (", ..." if len(lines) > 20 else "")
    return f"{where}: line{'s' if len(lines) > 1 else ''} {shown}"


def _locate(problem: Problem, where: str, stage_line: dict[str, int], arc_line: dict[tuple[str, str], int]) -> Problem:
    """Map a validation problem (``nodes[X]``, ``bom[X/Y]``, ``supplies[X->Y]``) back to a file line."""
    key = re.fullmatch(r"(\w+)\[(.*)\]", problem.where)
    line: int | None = None
    if key:
        table, item = key.groups()
        if table in ("nodes", "products"):
            line = stage_line.get(item)
        elif table == "bom" and "/" in item:
            customer, material = item.split("/", 1)
            line = arc_line.get((material, customer))
        elif table == "supplies" and "->" in item:
            supplier, customer = item.split("->", 1)
            line = arc_line.get((supplier, customer))
    if line is None:
        return Problem(f"{where}: {problem.where}" if problem.where else where, problem.message)
    return Problem(f"{where}: line {line}", f"{problem.where}: {problem.message}")


def read_willems(path: str | Path, options: WillemsOptions | None = None, *, max_rows: int | None = None) -> Network:
    """Read one Willems (2008) chain CSV, in either the InvNet-GSM or the snc layout.

    Each stage becomes a node making its own material (so there are no alternates); each
    arc ``from -> to`` becomes a supply edge and a BOM line of ``to`` for ``from``'s
    material (quantity 1; the snc layout's own quantity where it gives one). Stages with
    demand are products weighted by their cumulative cost. Capacity and inventory, which
    the data set lacks, are derived from the demand flowing through each stage; see
    ``docs/willems.md`` and :class:`WillemsOptions`.

    Parameters
    ----------
    path
        ``invnet_gsm/NN.csv`` or ``snc/willems_NN.csv``; the layout is detected from the header.
    options
        Knobs of the capacity and inventory rule; the defaults when ``None``.
    max_rows
        The most lines the file may hold (header lines included), counted while reading: a longer file is
        refused before any of it is parsed.

    Returns
    -------
    Network
        Named ``willems-NN`` after the file's chain number, with ``source`` set to ``path``.

    Raises
    ------
    setu.errors.InputError
        Listing every malformed row (file and line, and column where one is at fault),
        an unrecognised header, or a network that fails validation (such as a cycle).
    """
    if options is None:
        options = WillemsOptions()
    path = Path(path)
    where = str(path)
    try:
        rows = _read_rows(path, max_rows)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where) from None
    except csv.Error as exc:
        raise InputError(f"not a readable CSV file: {exc}", where) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", where) from None
    layout, at = _detect(rows, where)
    problems: list[Problem] = []
    parse = _parse_invnet if layout == "invnet_gsm" else _parse_snc
    parsed = parse(rows[at:], where, problems)

    index: dict[str, int] = {}
    stage_line: dict[str, int] = {}
    for stage in parsed.stages:
        if stage.name in index:
            problems.append(
                Problem(
                    f"{where}: line {stage.line}",
                    f"duplicate stage {stage.name!r} (first at line {stage_line[stage.name]})",
                )
            )
            continue
        index[stage.name] = len(index)
        stage_line[stage.name] = stage.line
    if not parsed.stages and not problems:
        problems.append(Problem(where, "the file has no stages"))
    arc_line: dict[tuple[str, str], int] = {}
    arcs: list[_Arc] = []
    for arc in parsed.arcs:
        at_line = f"{where}: line {arc.line}"
        unknown = [s for s in (arc.supplier, arc.customer) if s not in index]
        for name in unknown:
            column = "up_stages" if layout == "snc" else (_FROM if name == arc.supplier else _TO)
            problems.append(Problem(f"{at_line}, column {column!r}", f"arc names unknown stage {name!r}"))
        if unknown:
            continue
        pair = (arc.supplier, arc.customer)
        if pair in arc_line:
            problems.append(
                Problem(at_line, f"duplicate arc {arc.supplier} -> {arc.customer} (first at line {arc_line[pair]})")
            )
            continue
        arc_line[pair] = arc.line
        arcs.append(arc)
    if problems:
        raise InputError(problems)

    stages = [s for s in parsed.stages if stage_line[s.name] == s.line]
    derived = _derive(stages, arcs, index, options.demand_scale)
    if derived is None:
        flow = cumulative = np.zeros(len(stages))
    else:
        flow, cumulative = derived
    capacity = flow * (1.0 + options.capacity_slack)
    times = np.array([s.time for s in stages], dtype=np.float64)
    inventory = times * flow * options.inventory_cover

    nodes = [
        Node(
            id=s.name,
            material=s.name,
            capacity=float(capacity[i]),
            inventory=float(inventory[i]),
            material_class=s.material_class,
            ttr=s.time,
        )
        for i, s in enumerate(stages)
    ]
    products = [
        Product(node=s.name, demand=s.demand * options.demand_scale, weight=float(cumulative[i]))
        for i, s in enumerate(stages)
        if s.demand > 0
    ]
    bom = [BomLine(node=a.customer, material=a.supplier, quantity=a.quantity) for a in arcs]
    supplies = [Supply(supplier=a.supplier, customer=a.customer) for a in arcs]
    network = Network(name=_chain_name(path), nodes=nodes, products=products, bom=bom, supplies=supplies, source=where)
    problems = [_locate(p, where, stage_line, arc_line) for p in network_problems(network)]
    if derived is None:
        # Validation names the stages on the cycle; the arcs that close it are on these lines.
        at_cycle = _on_lines(where, _cycle_lines(arcs, index))
        problems = [Problem(at_cycle, p.message) if "cycle" in p.message else p for p in problems]
        if not any("cycle" in p.message for p in problems):
            problems.append(Problem(at_cycle, "the arcs form a cycle (a stage needs its own output)"))
    if problems:
        raise InputError(problems)
    return network
