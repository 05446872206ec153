"""The import page: upload a network in any supported format and see its problems row by row."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, cast, get_args

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from setu.deps import SessionDep, StateDep
from setu.errors import AccessDenied, InputError, MarkingError, Problem
from setu.network.io.setu_format import write_template
from setu.networks.service import import_upload
from setu.networks.uploads import UploadFormat, UploadLimits, UploadTooLarge, safe_filename
from setu.sharing.markings import LEVEL_OF, LEVELS
from setu.sharing.requested import release_parties, requested_marking
from setu.sharing.roles import require_role
from setu.web.shell import CSRF_FIELD, Page, csrf_ok, signed_in, size_text, to_login

router = APIRouter(include_in_schema=False)

IMPORT_ROLES = ("analyst", "admin")
MAX_SHOWN = 500
"""Problems listed on the page; a file broken everywhere says how many more there are."""
FORMATS: dict[str, str] = {
    "auto": "Detect from the file name",
    "setu": "Setu workbook (.xlsx) or .zip of Setu CSV tables",
    "accelerator": "Stress-test accelerator JSON (.json)",
    "willems": "Willems (2008) chain (.csv)",
}
assert set(FORMATS) == set(get_args(UploadFormat)), "FORMATS must offer every upload format"
TEMPLATE_NAME = "setu-template.xlsx"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

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


def _may_import(page: Page) -> bool:
    return bool(page.principal.roles & set(IMPORT_ROLES))


def _render(
    request: Request,
    page: Page,
    state: StateDep,
    form: ImportForm,
    *,
    status_code: int = 200,
    error: str = "",
    problems: list[Problem] | None = None,
    filename: str = "",
) -> HTMLResponse:
    """The import form with what was entered, and the refusal or the problems of the last try."""
    principal = page.principal
    user = page.auth.user
    found = problems or []
    rows = [problem_row(p, filename) for p in found[:MAX_SHOWN]]
    parties = [{"code": p.code, "name": p.name} for p in release_parties(page.session)]
    levels = [name for level, name in LEVELS.items() if level <= principal.clearance]
    values: dict[str, Any] = {
        "form": form,
        "formats": FORMATS,
        "levels": levels,
        "parties": parties,
        "own_party": principal.party,
        "groups": sorted(principal.groups),
        "organization": {"id": str(principal.org_id), "name": user.organization.name},
        "limit": size_text(state.settings.max_upload_bytes),
        "error": error,
        "problems": rows,
        "problem_total": len(found),
        "filename": filename,
    }
    return page.render(request, "import.html", status_code=status_code, **values)


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, session: SessionDep, state: StateDep) -> Response:
    """The import form (analysts and admins): a file, its format, a name and the marking of its records."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not _may_import(page):
        return page.forbidden(request, "Importing networks needs the analyst or admin role.")
    return _render(request, page, state, ImportForm())


@router.get("/import/template.xlsx")
def import_template(request: Request, session: SessionDep) -> Response:
    """The template workbook ``setu template`` writes: every table's header, a README sheet and an example."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    with tempfile.TemporaryDirectory(prefix="setu-template-") as tmp:
        data = write_template(Path(tmp) / TEMPLATE_NAME).read_bytes()
    headers = {"Content-Disposition": f'attachment; filename="{TEMPLATE_NAME}"'}
    return Response(data, media_type=XLSX_TYPE, headers=headers)


def _form_problems(form: ImportForm) -> tuple[list[Problem], list[int]]:
    """Problems of the fields themselves (the API's request validation), and the owner ids."""
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


@router.post("/import", response_class=HTMLResponse)
def import_submit(
    request: Request,
    session: SessionDep,
    state: StateDep,
    file: Annotated[UploadFile | None, File()] = None,
    format: Annotated[str, Form()] = "auto",
    name: Annotated[str, Form()] = "",
    classification: Annotated[str, Form()] = "UNCLASSIFIED",
    releases: Annotated[list[str] | None, Form()] = None,
    national_only: Annotated[str, Form()] = "",
    groups: Annotated[list[str] | None, Form()] = None,
    owners: Annotated[list[str] | None, Form()] = None,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Import the uploaded file as the API does; on success the new network's page, else the problems.

    Every field arrives as text and is checked here, so a bad value is a message on the page rather
    than the API's JSON. All or nothing: on any problem nothing is stored.
    """
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not csrf_ok(auth, csrf):
        return page.forbidden(request, "The form has expired or did not come from Setu. Reload the page and try again.")
    try:
        require_role(session, auth.principal, "network.import", *IMPORT_ROLES)
    except AccessDenied:
        return page.forbidden(request, "Importing networks needs the analyst or admin role.")
    form = ImportForm(
        name=name,
        format=format,
        classification=classification,
        releases=tuple(releases or ()),
        national_only=national_only.strip().lower() in ("on", "true", "1", "yes"),
        groups=tuple(groups or ()),
        owners=tuple(owners or ()),
    )
    filename = safe_filename(file.filename) if file is not None and file.filename else ""

    def refused(status: int, *, error: str = "", problems: list[Problem] | None = None) -> HTMLResponse:
        session.rollback()
        return _render(
            request, page, state, form, status_code=status, error=error, problems=problems, filename=filename
        )

    problems, owner_ids = _form_problems(form)
    if not filename:
        problems.insert(0, Problem("file", "choose a network file to import"))
    if problems:
        return refused(422, problems=problems)
    assert file is not None
    settings = state.settings
    limits = UploadLimits.of(settings)
    try:
        spec = requested_marking(
            session,
            auth.principal,
            classification=form.classification,
            releases=list(form.releases),
            national_only=form.national_only,
            groups=list(form.groups),
            owners=owner_ids,
        )
        record = import_upload(
            session,
            auth.principal,
            file.file,
            file.filename,
            format=cast(UploadFormat, form.format),  # checked against FORMATS above
            name=form.name,
            marking=spec,
            limits=limits,
        )
        session.commit()
    except InputError as exc:
        return refused(422, problems=exc.problems)
    except MarkingError as exc:
        # The refusal is already audited and committed by the import.
        return refused(403, error=f"Nothing was imported: {exc}.")
    except UploadTooLarge:
        session.rollback()
        return page.render(
            request, "too_large.html", status_code=413, limit=size_text(settings.max_upload_bytes), back="/import"
        )
    except IntegrityError:
        return refused(409, error="Another import of the same name took this version at the same time; try again.")
    return RedirectResponse(f"/networks/{record.id}?imported=1", status_code=303)
