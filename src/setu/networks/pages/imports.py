"""The import page: upload a network in any supported format and see its problems row by row."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.deps import StateDep
from setu.errors import AccessDenied, InputError, MarkingError, Problem, TooManyRequests
from setu.jobs.forms import job_limits, page_path, wake
from setu.jobs.submit import submit_import
from setu.network.io.setu_format import write_template
from setu.network.units import TIME_UNITS, Units
from setu.networks.forms import FORMATS, ImportForm, form_problems, posted_import, problem_row
from setu.networks.imports import may_import
from setu.networks.uploads import UploadFormat, UploadLimits, UploadTooLarge, safe_filename
from setu.runs.jobs import RunLimits
from setu.sharing.markings import LEVELS
from setu.sharing.requested import release_parties, requested_marking
from setu.web.shell import FormPageDep, Page, PageDep, size_text

router = APIRouter(include_in_schema=False)

IMPORT_PATH = "/networks/import"
NEEDS_ROLE = "Importing networks needs the analyst or admin role."
MAX_SHOWN = 500
"""Problems listed on the page; a file broken everywhere says how many more there are."""
TEMPLATE_NAME = "setu-template.xlsx"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
    found = problems or []
    rows = [problem_row(p, filename) for p in found[:MAX_SHOWN]]
    parties = [{"code": p.code, "name": p.name} for p in release_parties(page.session)]
    levels = [name for level, name in LEVELS.items() if level <= principal.clearance]
    values: dict[str, Any] = {
        "form": form,
        "formats": FORMATS,
        "time_units": TIME_UNITS,
        "levels": levels,
        "parties": parties,
        "own_party": principal.party,
        "groups": sorted(principal.groups),
        "organization": {"id": str(principal.org_id), "name": page.auth.holder.organization},
        "limit": size_text(state.settings.max_upload_bytes),
        "error": error,
        "problems": rows,
        "problem_total": len(found),
        "filename": filename,
    }
    return page.render(request, "networks/import.html", status_code=status_code, **values)


@router.get(IMPORT_PATH, response_class=HTMLResponse)
def import_page(request: Request, page: PageDep, state: StateDep) -> Response:
    """The import form (analysts and admins): a file, its format, a name and the marking of its records."""
    if not may_import(page.principal):
        return page.forbidden(request, NEEDS_ROLE)
    return _render(request, page, state, ImportForm())


@router.get(f"{IMPORT_PATH}/template.xlsx")
def import_template(_page: PageDep) -> Response:
    """The template workbook ``setu template`` writes: every table's header, a README sheet and an example."""
    with tempfile.TemporaryDirectory(prefix="setu-template-") as tmp:
        data = write_template(Path(tmp) / TEMPLATE_NAME).read_bytes()
    headers = {"Content-Disposition": f'attachment; filename="{TEMPLATE_NAME}"'}
    return Response(data, media_type=XLSX_TYPE, headers=headers)


@router.post(IMPORT_PATH, response_class=HTMLResponse)
def import_submit(
    request: Request,
    page: FormPageDep,
    state: StateDep,
    form: Annotated[ImportForm, Depends(posted_import)],
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Queue the import of the uploaded file as the API does; its job page leads to the network or its problems.

    Every field arrives as text and is checked here, so a bad value is a message on the page rather
    than the API's JSON; so are a missing role, a marking the user may not assign, a file over the
    limit or of a format that cannot be told. The file's own problems are the job's: all or nothing,
    a file with any problem stores nothing, and the job page lists every problem.
    """
    session = page.session
    filename = safe_filename(file.filename) if file is not None and file.filename else ""

    def refused(status: int, *, error: str = "", problems: list[Problem] | None = None) -> HTMLResponse:
        session.rollback()
        return _render(
            request, page, state, form, status_code=status, error=error, problems=problems, filename=filename
        )

    problems, owner_ids = form_problems(form)
    if not filename:
        problems.insert(0, Problem("file", "choose a network file to import"))
    if problems:
        return refused(422, problems=problems)
    assert file is not None
    settings = state.settings
    try:
        spec = requested_marking(
            session,
            page.principal,
            classification=form.classification,
            releases=list(form.releases),
            national_only=form.national_only,
            groups=list(form.groups),
            owners=owner_ids,
        )
        job = submit_import(
            session,
            page.principal,
            file.file,
            file.filename,
            format=cast(UploadFormat, form.format),  # checked against FORMATS above
            name=form.name,
            marking=spec,
            upload_limits=UploadLimits.of(settings),
            limits=job_limits(state),
            reference=RunLimits.of(settings) if settings.reference_on_import else None,
            units=Units(form.time_unit, form.weight_unit),
        )
    except InputError as exc:
        return refused(422, problems=exc.problems)
    except MarkingError as exc:
        # The refusal is already audited and committed.
        return refused(403, error=f"Nothing was imported: {exc}.")
    except AccessDenied:
        # A missing role (MarkingError above is the other refusal); audited and committed.
        return page.forbidden(request, NEEDS_ROLE)
    except UploadTooLarge:
        session.rollback()
        return page.render(
            request, "too_large.html", status_code=413, limit=size_text(settings.max_upload_bytes), back=IMPORT_PATH
        )
    except TooManyRequests as exc:
        answer = refused(exc.status, error=f"Nothing was imported: {exc}.")
        answer.headers.update(exc.http_headers)
        return answer
    wake(request)
    return RedirectResponse(page_path(job), status_code=303)
