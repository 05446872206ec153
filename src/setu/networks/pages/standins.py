"""A network's stand-ins page: draft, review, release and withdraw tear lines; the stand-ins a reader uses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from setu.errors import AccessDenied, Conflict, InputError, MarkingError, NotFound
from setu.models.parties import Party
from setu.network.tearline import STANDIN_PREFIX
from setu.networks.imports import may_import
from setu.networks.reads import get_network, list_nodes, standins_left_out
from setu.networks.standins import (
    generate,
    get_tear_line,
    release,
    release_marking,
    standins,
    tear_lines,
    withdraw,
)
from setu.report.charts import fmt
from setu.schemas import MAX_ID
from setu.sharing.markings import LEVELS
from setu.web.shell import FormPageDep, Page, PageDep

router = APIRouter(include_in_schema=False)


def _check_sentence(tear: Any) -> str:
    """What the check found, as one plain sentence."""
    check = dict(tear.check)
    if check.get("error"):
        return f"{tear.audience} would see no product of this network, so there is no figure to compare."
    scenarios, candidates, differences = (
        check.get("scenarios", 0),
        check.get("candidates", 0),
        check.get("differences", 0),
    )
    scope = f"all {scenarios}" if scenarios == candidates else f"the first {scenarios} of {candidates}"
    if not differences:
        return (
            f"Checked: in the view {tear.audience} will have, PI and TTS of {scope} scenarios they can run "
            "(each node they see, and each stand-in, disrupted for its TTR) equal yours."
        )
    worst = check.get("worst") or {}
    return (
        f"{differences} of {scope} scenarios differ in the view {tear.audience} will have. The largest: "
        f"{worst.get('scenario')}, PI {fmt(worst.get('full_pi', 0.0))} here and {fmt(worst.get('partner_pi', 0.0))} "
        "there."
    )


def _render(request: Request, page: Page, network_id: int, *, message: str = "", status_code: int = 200) -> Response:
    session, principal = page.session, page.principal
    try:
        network = get_network(session, principal, network_id)
        found = tear_lines(session, principal, network_id)
    except NotFound:
        return page.not_found(request)
    lines = []
    owned: set[str] = set()
    for tear in found:
        rows = standins(session, principal, tear)
        owned |= {r.node.node_id for r in rows}
        lines.append(
            {
                "tear": tear,
                "marking": page.label(tear),
                "release_banner": release_marking(principal, tear.audience, tear.classification).banner(),
                "check": _check_sentence(tear),
                "inexact": list(dict(tear.check).get("inexact", [])),
                "rows": [{"s": r, "marking": page.label(r.node)} for r in rows],
            }
        )
    nodes, _ = list_nodes(session, principal, network_id, search=STANDIN_PREFIX, limit=500)
    skipped = standins_left_out(session, principal, network_id)
    visible = sorted(
        (n for n in nodes if n.node_id.startswith(STANDIN_PREFIX) and n.node_id not in owned),
        key=lambda n: (len(n.node_id), n.node_id),  # standin-2 before standin-10
    )
    in_view = [{"node": n, "marking": page.label(n)} for n in visible if n.id not in skipped]
    beside = [{"node": n, "marking": page.label(n)} for n in visible if n.id in skipped]
    parties = [p for p in session.scalars(select(Party.code).order_by(Party.code)) if p != principal.party]
    return page.render(
        request,
        "networks/standins.html",
        status_code=status_code,
        network=network,
        network_marking=page.label(network),
        lines=lines,
        in_view=in_view,
        beside=beside,
        parties=parties,
        levels=[(LEVELS[k], LEVELS[k].title()) for k in sorted(LEVELS) if k <= principal.clearance],
        may_draft=may_import(principal) and not network.received_from,
        message=message,
        fmt=fmt,
    )


@router.get("/networks/{network_id}/standins", response_class=HTMLResponse)
def standins_page(request: Request, page: PageDep, network_id: int) -> Response:
    """The network's tear lines you may read, a form to draft one, and the stand-ins in your view."""
    if not 1 <= network_id <= MAX_ID:
        return page.not_found(request)
    return _render(request, page, network_id)


@router.post("/networks/{network_id}/standins", response_class=HTMLResponse)
def standins_draft(
    request: Request,
    page: FormPageDep,
    network_id: int,
    audience: Annotated[str, Form(max_length=8)] = "",
    classification: Annotated[str, Form(max_length=20)] = "",
    fold: Annotated[str, Form(max_length=16)] = "twins",
) -> Response:
    """Draft stand-ins for the nodes ``audience`` may not see; a refusal shows the page with why."""
    if not 1 <= network_id <= MAX_ID:
        return page.not_found(request)
    level = {name: k for k, name in LEVELS.items()}.get(classification, -1)
    try:
        tear = generate(page.session, page.principal, network_id, audience=audience, classification=level, fold=fold)
    except NotFound:
        return page.not_found(request)
    except MarkingError as exc:
        page.session.rollback()
        return _render(request, page, network_id, message=str(exc), status_code=403)
    except AccessDenied:
        return page.forbidden(request, "Drafting stand-ins needs the analyst or admin role.")
    except (InputError, Conflict) as exc:
        page.session.rollback()
        message = "; ".join(str(p) for p in exc.problems) if isinstance(exc, InputError) else str(exc)
        return _render(request, page, network_id, message=message, status_code=exc.status)
    page.session.commit()
    return RedirectResponse(f"/networks/{network_id}/standins#tear-line-{tear.id}", status_code=303)


def _act(request: Request, page: Page, network_id: int, tear_line_id: int, action: str) -> Response:
    if not (1 <= network_id <= MAX_ID and 1 <= tear_line_id <= MAX_ID):
        return page.not_found(request)
    try:
        tear = get_tear_line(
            page.session, page.principal, tear_line_id, f"network.standins.{action}", audit_permit=False
        )
        if tear.network_id != network_id:
            return page.not_found(request)
        if action == "release":
            release(page.session, page.principal, tear_line_id)
        else:
            withdraw(page.session, page.principal, tear_line_id)
    except NotFound:
        return page.not_found(request)
    except MarkingError as exc:
        page.session.rollback()
        return _render(request, page, network_id, message=str(exc), status_code=403)
    except AccessDenied:
        return page.forbidden(request, f"To {action} stand-ins needs the analyst or admin role.")
    except Conflict as exc:
        page.session.rollback()
        return _render(request, page, network_id, message=str(exc), status_code=409)
    page.session.commit()
    done = "released" if action == "release" else "withdrawn"
    return RedirectResponse(f"/networks/{network_id}/standins?{done}={tear_line_id}", status_code=303)


@router.post("/networks/{network_id}/standins/{tear_line_id}/release", response_class=HTMLResponse)
def standins_release(request: Request, page: FormPageDep, network_id: int, tear_line_id: int) -> Response:
    """Release a draft tear line, then show the page again."""
    return _act(request, page, network_id, tear_line_id, "release")


@router.post("/networks/{network_id}/standins/{tear_line_id}/withdraw", response_class=HTMLResponse)
def standins_withdraw(request: Request, page: FormPageDep, network_id: int, tear_line_id: int) -> Response:
    """Withdraw (delete) a tear line and its stand-ins, then show the page again."""
    return _act(request, page, network_id, tear_line_id, "withdraw")
