"""The tables of Setu's network format: their columns, and the raw rows a reader collects."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from openpyxl.utils import get_column_letter

from setu.errors import Problem

Kind = Literal["text", "number", "positive", "optional_number", "degrees", "names"]
Cell = str | float | None

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
README = "README"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table.

    Attributes
    ----------
    name
        The header, as written in the header row.
    kind
        ``text``, ``number`` (>= 0), ``positive`` (> 0), ``optional_number`` (>= 0 or empty), ``degrees``
        (signed, or empty) or ``names`` (texts joined by ``;``).
    required
        Whether the column must be in the header row (and its cells filled in).
    meaning
        What the column holds, for the README sheet and the documentation.
    default
        The value an empty cell or an absent column stands for, as shown to users.
    """

    name: str
    kind: Kind
    required: bool
    meaning: str
    default: str = ""


TABLES: dict[str, tuple[Column, ...]] = {
    "nodes": (
        Column("id", "text", True, "Unique node id: one site making one material."),
        Column("name", "text", False, "Display name."),
        Column("material", "text", True, "The material the node makes; its customers order it by this name."),
        Column("capacity", "number", True, "Production capacity, units of its material per time unit."),
        Column("inventory", "number", False, "On-hand inventory, units of its own output.", "0"),
        Column("ttr", "optional_number", False, "Own time-to-recover estimate, in time units.", "unknown"),
        Column("site", "text", False, "Plant or site; nodes at one site can share a site capacity."),
        Column("organization", "text", False, "Company or agency running the node."),
        Column("party", "text", False, "Partner nation or party the node belongs to."),
        Column("country", "text", False, "Country the node is in."),
        Column("material_class", "text", False, "Material class (semiconductor, energetics, ...) for scenarios."),
        Column("program", "text", False, "Program the node serves."),
        Column("chokepoints", "names", False, "Chokepoints on the node's outbound route, joined by ';'."),
        Column(
            "latitude",
            "optional_number",
            False,
            "Latitude of the site, degrees north (WGS 84).",
            "its country's centre",
        ),
        Column(
            "longitude",
            "optional_number",
            False,
            "Longitude of the site, degrees east (WGS 84).",
            "its country's centre",
        ),
    ),
    "products": (
        Column("node", "text", True, "A node whose output is delivered to an end user."),
        Column("demand", "number", True, "Demand, units per time unit."),
        Column("weight", "number", True, "Weight of one lost unit: margin or mission criticality."),
    ),
    "bom": (
        Column("node", "text", True, "The node that consumes the material."),
        Column("material", "text", True, "A material the node needs."),
        Column("quantity", "positive", True, "Units of material per unit of the node's output."),
    ),
    "supplies": (
        Column("supplier", "text", True, "A node shipping its material to the customer."),
        Column("customer", "text", True, "A node that has the supplier's material in its bom."),
    ),
    "site_capacities": (
        Column("site", "text", True, "A site named in the nodes table."),
        Column("capacity", "number", True, "Capacity shared by every node at the site, units per time unit."),
    ),
    "units": (
        Column(
            "time_unit", "text", False, "hour, day, week, month or year: of capacities, demand and ttr.", "not stated"
        ),
        Column(
            "weight_unit",
            "text",
            False,
            "What a product's weight is in, e.g. USD k (pages label losses so).",
            "not stated",
        ),
    ),
}
REQUIRED_TABLES = ("nodes", "products", "bom", "supplies")
OPTIONAL_TABLES = ("site_capacities", "units")

KIND_TEXT: dict[Kind, str] = {
    "text": "text",
    "number": "number >= 0",
    "positive": "number > 0",
    "optional_number": "number >= 0",
    "degrees": "degrees, signed",
    "names": "names joined by ;",
}
KEYED = re.compile(r"^(\w+)\[(.*)\]$", re.DOTALL)


def tables_text() -> str:
    return f"required: {', '.join(REQUIRED_TABLES)}; optional: {', '.join(OPTIONAL_TABLES)}"


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def shown(value: object) -> str:
    """Show a cell's content as a user typed it, for messages."""
    if blank(value):
        return "an empty cell"
    if isinstance(value, str):
        return value.strip() if _to_number(value) is not None else repr(value.strip())
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return f"a date/time ({value})"
    return f"{type(value).__name__} {value!r}"


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(slots=True)
class RawTable:
    """A table's non-blank rows as read, with the user-visible number of each row."""

    name: str
    label: str
    row_word: str
    workbook: bool
    rows: list[tuple[int, Sequence[object]]] = field(default_factory=list)

    def at(self, number: int, column: str | None = None) -> str:
        where = f"{self.label}, {self.row_word} {number}"
        return f"{where}, column {column}" if column else where

    def column_ref(self, index: int) -> str:
        return get_column_letter(index + 1) if self.workbook else str(index + 1)


class Row:
    """One data row; parses its cells on demand and records each problem at the cell's place."""

    __slots__ = ("cells", "lineno", "ok", "problems", "raw", "texts")

    def __init__(self, raw: RawTable, number: int, cells: dict[str, object], problems: list[Problem]) -> None:
        self.raw = raw
        self.lineno = number
        self.cells = cells
        self.problems = problems
        self.ok = True
        self.texts: dict[str, str] = {}

    def where(self, column: str | None = None) -> str:
        return self.raw.at(self.lineno, column)

    def fail(self, column: str | None, message: str) -> None:
        self.problems.append(Problem(self.where(column), message))
        self.ok = False

    def text(self, column: str, what: str = "") -> str:
        """The cell as text (``""`` if empty); ``what`` names the expected content of a required cell."""
        value = self.cells.get(column)
        result = ""
        if blank(value):
            if what:
                self.fail(column, f"expected {what}, got an empty cell")
        elif isinstance(value, str):
            result = value.strip()
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(column, f"expected text, got {shown(value)}")
        elif isinstance(value, float) and not (value.is_integer() and abs(value) < 2**53):
            result = repr(value)
        else:
            result = str(int(value))
        self.texts[column] = result
        return result

    def names(self, column: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.text(column).split(";") if part.strip())

    def number(self, column: str, *, positive: bool = False, default: float = 0.0) -> float:
        """The cell as a finite number >= 0 (> 0 if ``positive``); ``default`` if empty and not required."""
        value = self.optional_number(column, positive=positive, required=_required(self.raw.name, column))
        return default if value is None else value

    def optional_number(self, column: str, *, positive: bool = False, required: bool = False) -> float | None:
        value = self.cells.get(column)
        if blank(value) and not required:
            return None
        bound = "> 0" if positive else ">= 0"
        number = _to_number(value)
        if number is None:
            self.fail(column, f"expected a number {bound}, got {shown(value)}")
        elif not math.isfinite(number):
            self.fail(column, f"expected a finite number {bound}, got {shown(value)}")
        elif number < 0 or (positive and number == 0):
            self.fail(column, f"expected a number {bound}, got {shown(value)}")
        else:
            return number
        return 1.0 if positive else 0.0

    def degrees(self, column: str, limit: float) -> float | None:
        """The cell as degrees from ``-limit`` to ``limit``, or None when empty."""
        value = self.cells.get(column)
        if blank(value):
            return None
        number = _to_number(value)
        if number is None or not math.isfinite(number) or abs(number) > limit:
            self.fail(column, f"expected degrees from -{limit:g} to {limit:g}, got {shown(value)}")
            return None
        return number


def _required(table: str, column: str) -> bool:
    return any(c.name == column and c.required for c in TABLES[table])


def _to_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except (ValueError, OverflowError):
        return None
    return None
