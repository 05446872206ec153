"""The import page's form: the fields as posted, their own problems, and a reader's problems split for the table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, get_args

from fastapi import Form

from setu.errors import Problem
from setu.networks.uploads import UploadFormat
from setu.sharing.markings import LEVEL_OF, LEVELS

FORMATS: dict[str, str] = {
    "auto": "Detect from the file name",
    "setu": "Setu workbook (.xlsx) or .zip of Setu CSV tables",
    "accelerator": "Stress-test accelerator JSON (.json)",
    "willems": "Willems (2008) chain (.csv)",
}
"""The formats the page offers, with what the select shows for each."""
assert set(FORMATS) == set(get_args(UploadFormat)), "FORMATS must offer every upload format"

_KEYED = re.compile(r"^(\w+)\[(.*)\](?:\.(\w+))?$", re.DOTALL)
_ROWS = re.compile(r"^(?:rows?|lines?) (\d.*)$")
_MORE_ROWS = re.compile(r"^(?:\d+(?: \.\.\.)?|\.\.\.)$")


@dataclass(frozen=True, slots=True)
class ProblemRow:
    """One problem as the page's table shows it: where in the upload, and what is wrong there."""

    file: str
    sheet: str
    row: str
    column: str
    message: str


def problem_row(problem: Problem, filename: str) -> ProblemRow:
    """Split a reader's problem place into file, sheet or table, row and column or field.

    Readers name places as text: ``net.xlsx, sheet nodes, row 3, column capacity``,
    ``net.zip/nodes.csv, line 3, column capacity``, ``net.json: node 'A' in 'c'``,
    ``01.csv: line 4, column 'to'`` or, for checks on the whole network, ``nodes[A].party``.
    Whatever part is not a file, sheet, row or column goes to the column or field.

    Parameters
    ----------
    problem
        A problem from an :class:`~setu.errors.InputError`.
    filename
        The uploaded file's (safe) name; every place in the file starts with it.

    Returns
    -------
    ProblemRow
        The parts, each ``""`` where the place does not name it.
    """
    where = problem.where
    file, rest = "", where
    if filename and where.startswith(filename):
        cuts = [i for i in (where.find(", "), where.find(": ")) if i >= 0]
        cut = min(cuts, default=len(where))
        file, rest = where[:cut], where[cut + 2 :]
    sheet = row = column = ""
    keyed = _KEYED.match(rest)
    if keyed:
        # A check on the network read from the upload: the table, the record's key and its attribute.
        file = file or filename
        sheet, row, column = keyed[1], keyed[2], keyed[3] or ""
    else:
        parts = rest.split(", ") if rest else []
        others: list[str] = []
        i = 0
        while i < len(parts):
            part = parts[i]
            rows = _ROWS.match(part)
            if part.startswith("sheet ") and not sheet and not row:
                sheet = part.removeprefix("sheet ")
            elif rows and not row:
                numbers = [rows[1]]
                while i + 1 < len(parts) and _MORE_ROWS.match(parts[i + 1]):
                    i += 1
                    numbers.append(parts[i])
                row = ", ".join(numbers)
            elif part.startswith("column ") and not column:
                # A column name may itself hold ", ": it runs to the end of the place.
                column = ", ".join(parts[i:]).removeprefix("column ").strip("'")
                break
            else:
                others.append(part)
            i += 1
        if others:
            column = ", ".join([*others, column] if column else others)
    return ProblemRow(file or (filename if not where else ""), sheet, row, column, problem.message)


@dataclass(slots=True)
class ImportForm:
    """What the user entered, shown again when the import is refused."""

    name: str = ""
    format: str = "auto"
    classification: str = "UNCLASSIFIED"
    releases: tuple[str, ...] = ()
    national_only: bool = False
    groups: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    time_unit: str = ""
    weight_unit: str = ""


def posted_import(
    format: Annotated[str, Form()] = "auto",
    name: Annotated[str, Form()] = "",
    classification: Annotated[str, Form()] = "UNCLASSIFIED",
    releases: Annotated[list[str] | None, Form()] = None,
    national_only: Annotated[str, Form()] = "",
    groups: Annotated[list[str] | None, Form()] = None,
    owners: Annotated[list[str] | None, Form()] = None,
    time_unit: Annotated[str, Form(max_length=16)] = "",
    weight_unit: Annotated[str, Form(max_length=200)] = "",
) -> ImportForm:
    """The import form's fields as posted (every one arrives as text and is checked by :func:`form_problems`)."""
    return ImportForm(
        name=name,
        format=format,
        classification=classification,
        releases=tuple(releases or ()),
        national_only=national_only.strip().lower() in ("on", "true", "1", "yes"),
        groups=tuple(groups or ()),
        owners=tuple(owners or ()),
        time_unit=time_unit.strip(),
        weight_unit=weight_unit.strip(),
    )


def form_problems(form: ImportForm) -> tuple[list[Problem], list[int]]:
    """Problems of the fields themselves (the API's request validation), and the owner ids.

    Parameters
    ----------
    form
        The fields as posted.

    Returns
    -------
    tuple[list[Problem], list[int]]
        A problem for an unknown format or classification and each malformed owner id, and the
        owner ids that parsed.
    """
    problems: list[Problem] = []
    if form.format not in FORMATS:
        problems.append(Problem("format", f"unknown format {form.format!r}; expected one of {', '.join(FORMATS)}"))
    classification = form.classification
    if classification not in LEVEL_OF and not (classification.isdigit() and int(classification) in LEVELS):
        expected = ", ".join(LEVEL_OF)
        problems.append(Problem("classification", f"unknown classification {classification!r}; expected {expected}"))
    owners: list[int] = []
    for owner in form.owners:
        if owner.strip().isdigit() and len(owner.strip()) <= 12:
            owners.append(int(owner))
        else:
            problems.append(Problem("owners", f"expected an organization id, got {owner!r}"))
    return problems, owners
