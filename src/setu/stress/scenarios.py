"""Disruption scenarios and their builders: node sweep, site, firm, country, material, chokepoint, export rule, CSV."""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from setu.errors import InputError, Problem, ScenarioError
from setu.network.compile import CompiledNetwork, IntArray
from setu.network.countries import country_code, country_label, country_suggestions, same_country

KINDS = ("node", "site", "organization", "party", "country", "material", "chokepoint", "export_control", "custom")


@dataclass(frozen=True, slots=True)
class Scenario:
    """A set of disrupted nodes, out for ``ttr`` time units.

    ``severity`` is the fraction of capacity lost per node (1.0 = full outage, the default);
    ``kind`` and ``label`` say how the scenario was built, for reports.
    """

    id: str
    nodes: tuple[str, ...]
    ttr: float
    severity: tuple[float, ...] | None = None
    kind: str = "custom"
    label: str = ""

    def node_indices(self, net: CompiledNetwork) -> IntArray:
        """Positions of the disrupted nodes in ``net``."""
        return np.array([net.index_of(node) for node in self.nodes], dtype=np.int64)

    def remaining(self) -> np.ndarray:
        """Fraction of capacity each disrupted node keeps."""
        if self.severity is None:
            return np.zeros(len(self.nodes))
        return 1.0 - np.asarray(self.severity, dtype=np.float64)


def _check_ttr(ttr: float, where: str) -> float:
    if not isinstance(ttr, (int, float)) or not math.isfinite(ttr) or ttr < 0:
        raise ScenarioError(f"{where}: TTR must be a finite number >= 0, got {ttr!r}")
    return float(ttr)


def scenario_ttr(net: CompiledNetwork, nodes: Sequence[int], ttr: float | None, where: str) -> float:
    """The TTR of a scenario: ``ttr`` if given, else the longest TTR estimate among its nodes."""
    if ttr is not None:
        return _check_ttr(ttr, where)
    estimates = net.ttr[np.asarray(nodes, dtype=np.int64)]
    if len(estimates) == 0 or np.isnan(estimates).all():
        raise ScenarioError(f"{where}: no TTR given and the network has no TTR estimate for its nodes (use --ttr)")
    return float(np.nanmax(estimates))


def validate_scenario(net: CompiledNetwork, scenario: Scenario) -> None:
    """Raise :class:`ScenarioError` if ``scenario`` names unknown nodes or has a bad TTR or severity."""
    where = f"scenario {scenario.id!r}"
    if not scenario.nodes:
        raise ScenarioError(f"{where}: disrupts no node")
    unknown = [n for n in scenario.nodes if not net.has_node(n)]
    if unknown:
        raise ScenarioError(f"{where}: unknown node(s) {', '.join(map(repr, unknown[:5]))}")
    if len(set(scenario.nodes)) != len(scenario.nodes):
        twice = next(node for node, times in Counter(scenario.nodes).items() if times > 1)
        raise ScenarioError(f"{where}: node {twice!r} is listed twice")
    _check_ttr(scenario.ttr, where)
    if scenario.severity is not None:
        if len(scenario.severity) != len(scenario.nodes):
            raise ScenarioError(f"{where}: one severity per disrupted node expected")
        for value in scenario.severity:
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ScenarioError(f"{where}: severity must be between 0 and 1, got {value!r}")


def node_sweep(
    net: CompiledNetwork, ttr: float | None = None, ttr_by_node: dict[str, float] | None = None
) -> list[Scenario]:
    """One scenario per supplying node (every node that ships to another).

    The TTR of each comes from ``ttr_by_node``, else ``ttr``, else the node's own estimate.
    """
    scenarios = []
    for i in net.supplying_nodes():
        node = net.node_ids[int(i)]
        given = ttr_by_node.get(node) if ttr_by_node else None
        t = scenario_ttr(net, [int(i)], given if given is not None else ttr, f"node {node!r}")
        label = net.attributes["name"][int(i)] or node
        scenarios.append(Scenario(id=node, nodes=(node,), ttr=t, kind="node", label=label))
    return scenarios


def from_ttr_table(net: CompiledNetwork, ttr_by_node: dict[str, float], where: str = "TTR table") -> list[Scenario]:
    """One single-node scenario per row of a ``node,ttr`` table, ``scenario_id`` = node id."""
    unknown = [node for node in ttr_by_node if not net.has_node(node)]
    if unknown:
        raise ScenarioError(f"{where}: unknown node(s) {', '.join(map(repr, unknown[:5]))}")
    return [
        Scenario(id=node, nodes=(node,), ttr=_check_ttr(t, f"{where}: node {node!r}"), kind="node", label=node)
        for node, t in ttr_by_node.items()
    ]


def _select(net: CompiledNetwork, mask: np.ndarray, kind: str, value: str, ttr: float | None) -> Scenario:
    nodes = np.flatnonzero(mask)
    if len(nodes) == 0:
        raise ScenarioError(f"{kind} {value!r}: no node of the network matches")
    label = f"{kind.replace('_', ' ')}: {value}"
    return Scenario(
        id=f"{kind}:{value}",
        nodes=tuple(net.node_ids[int(i)] for i in nodes),
        ttr=scenario_ttr(net, nodes.tolist(), ttr, label),
        kind=kind,
        label=label,
    )


def by_attribute(net: CompiledNetwork, attribute: str, value: str, ttr: float | None = None) -> Scenario:
    """Disrupt every node whose ``attribute`` (site, organization, party, country) equals ``value``."""
    if attribute not in ("site", "organization", "party", "country"):
        raise ScenarioError(f"cannot build a scenario by {attribute!r}")
    column = net.attributes[attribute]
    if attribute == "country":
        code = _country(net, value)
        return _select(net, np.array([same_country(v, code) for v in column], dtype=bool), attribute, code, ttr)
    return _select(net, np.array([v == value for v in column], dtype=bool), attribute, value, ttr)


def _country(net: CompiledNetwork, value: str) -> str:
    """``value`` as the ISO code of the country it names (any case, name or code); a clear error with suggestions
    when it names none, or when no node of the network is there (listing the countries that are)."""
    code = country_code(value)
    present = sorted({country_label(v) for v in net.attributes["country"] if v})
    if code is None:
        hint = country_suggestions(value)
        meant = f"; did you mean {' or '.join(hint)}?" if hint else ""
        raise ScenarioError(f"country {value!r} names no country (a name or an ISO code, e.g. CN or China){meant}")
    if not any(same_country(v, code) for v in net.attributes["country"]):
        shown = ", ".join(present[:12]) + (" ..." if len(present) > 12 else "")
        raise ScenarioError(f"country {country_label(code)}: no node of the network is there; it has {shown}")
    return code


def by_material(net: CompiledNetwork, material: str, ttr: float | None = None) -> Scenario:
    """Disrupt every source of ``material`` (matched on the material or its class)."""
    mask = np.array(
        [m == material or c == material for m, c in zip(net.materials, net.attributes["material_class"], strict=True)],
        dtype=bool,
    )
    return _select(net, mask, "material", material, ttr)


def by_chokepoint(net: CompiledNetwork, chokepoint: str, ttr: float | None = None) -> Scenario:
    """Disrupt every node whose outbound route crosses ``chokepoint``."""
    mask = np.array([chokepoint in route for route in net.chokepoints], dtype=bool)
    return _select(net, mask, "chokepoint", chokepoint, ttr)


def export_control(
    net: CompiledNetwork,
    materials: Iterable[str],
    origin_countries: Iterable[str],
    ttr: float | None = None,
    severity: float = 1.0,
    name: str = "",
) -> Scenario:
    """An export-control rule: sources of ``materials`` (or material classes) in ``origin_countries``.

    ``severity`` below 1 models licensing that lets part of the volume through.
    """
    wanted = set(materials)
    countries = {country_code(c) or c.strip() for c in origin_countries}
    mask = np.array(
        [
            (m in wanted or c in wanted) and (country_code(country) or country.strip()) in countries
            for m, c, country in zip(
                net.materials, net.attributes["material_class"], net.attributes["country"], strict=True
            )
        ],
        dtype=bool,
    )
    value = name or f"{'+'.join(sorted(wanted))} from {'+'.join(sorted(countries))}"
    scenario = _select(net, mask, "export_control", value, ttr)
    if severity != 1.0:
        scenario = Scenario(
            id=scenario.id,
            nodes=scenario.nodes,
            ttr=scenario.ttr,
            severity=tuple([severity] * len(scenario.nodes)),
            kind=scenario.kind,
            label=scenario.label,
        )
    return scenario


def _csv_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[str, dict[str, str]]]:
    """Rows of a UTF-8 CSV with at least ``columns``, each with its place (``file: line N``).

    Unreadable files and missing columns raise :class:`InputError` naming the file.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in columns if c not in header]
            if missing:
                raise InputError(
                    f"expected columns {','.join(columns)}; missing {', '.join(missing)}", f"{path}: line 1"
                )
            for row in reader:
                yield f"{path}: line {reader.line_num}", {k: (v or "").strip() for k, v in row.items() if k}
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", str(path)) from None


def _ttr_cell(text: str, where: str, problems: list[Problem]) -> float | None:
    try:
        ttr = float(text)
    except ValueError:
        ttr = math.nan
    if not math.isfinite(ttr) or ttr < 0:
        problems.append(Problem(where, f"ttr must be a finite number >= 0, got {text!r}"))
        return None
    return ttr


def _severity_cell(text: str, count: int, where: str, problems: list[Problem]) -> tuple[float, ...] | None:
    """One severity for every node of the row, or one per node joined by ``;``."""
    try:
        values = [float(v) for v in text.split(";")]
    except ValueError:
        problems.append(Problem(where, f"severity must be numbers in [0, 1], got {text!r}"))
        return None
    if len(values) == 1:
        values = values * count
    if len(values) != count or not all(0.0 <= v <= 1.0 for v in values):
        problems.append(Problem(where, "severity: one value in [0, 1], or one per disrupted node"))
        return None
    return tuple(values)


def read_scenarios_csv(path: str | Path, net: CompiledNetwork) -> list[Scenario]:
    """Read ``scenario_id,disrupted,ttr`` (``disrupted`` = node ids joined by ``;``).

    An optional ``severity`` column gives the capacity fraction lost, one value for all
    nodes of the row or one per node joined by ``;``. Every bad row is reported.
    """
    path = Path(path)
    problems: list[Problem] = []
    scenarios: list[Scenario] = []
    seen: set[str] = set()
    for where, row in _csv_rows(path, ("scenario_id", "disrupted", "ttr")):
        sid = row["scenario_id"]
        nodes = tuple(n.strip() for n in row["disrupted"].split(";") if n.strip())
        if not sid:
            problems.append(Problem(where, "scenario_id is empty"))
        elif sid in seen:
            problems.append(Problem(where, f"scenario_id {sid!r} repeats an earlier row"))
        seen.add(sid)
        if not nodes:
            problems.append(Problem(where, "disrupted lists no node"))
        unknown = [n for n in nodes if not net.has_node(n)]
        if unknown:
            problems.append(Problem(where, f"unknown node(s) {', '.join(map(repr, unknown[:5]))}"))
        ttr = _ttr_cell(row["ttr"], where, problems)
        severity = _severity_cell(row["severity"], len(nodes), where, problems) if row.get("severity") else None
        if ttr is not None:
            scenarios.append(Scenario(id=sid, nodes=nodes, ttr=ttr, severity=severity, kind="custom", label=sid))
    if problems:
        raise InputError(problems)
    if not scenarios:
        raise InputError("the file holds no scenario", str(path))
    return scenarios


def read_ttr_csv(path: str | Path) -> dict[str, float]:
    """Read a ``node,ttr`` CSV: one time-to-recover per node, in file order."""
    path = Path(path)
    problems: list[Problem] = []
    result: dict[str, float] = {}
    for where, row in _csv_rows(path, ("node", "ttr")):
        node = row["node"]
        if not node:
            problems.append(Problem(where, "column 'node' is empty"))
            continue
        ttr = _ttr_cell(row["ttr"], where, problems)
        if node in result:
            problems.append(Problem(where, f"node {node!r} listed twice"))
        if ttr is not None:
            result[node] = ttr
    if problems:
        raise InputError(problems)
    return result
