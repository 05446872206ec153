"""HTML pages of the web interface: login, dashboard, network and node pages, every read filtered by markings."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from setu.accounts.errors import AuthenticationError
from setu.accounts.service import SESSION_COOKIE, SESSION_TTL, login, principal_of, resolve_token, revoke_token
from setu.deps import Authenticated, Marker, SessionDep, StateDep
from setu.models.base import Marked
from setu.networks.service import NotFound, get_network, list_networks, list_nodes, node_neighbourhood
from setu.runs.service import list_runs
from setu.sharing.markings import LEVELS, MarkingSpec

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PAGE_SIZE = 25

templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)


def _signed_in(request: Request, session: Session) -> Authenticated | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    user = resolve_token(session, token, kind="session")
    if user is None:
        return None
    return Authenticated(user, principal_of(user), token, "cookie")


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


class _Page:
    """Markings of the records shown on one page: a label per record and the page's banner."""

    def __init__(self, session: Session, auth: Authenticated) -> None:
        self.auth = auth
        self.marker = Marker(session, auth.principal)
        self.specs: set[MarkingSpec] = set()

    def label(self, record: Marked) -> dict[str, str]:
        spec = self.marker.spec(record)
        self.specs.add(spec)
        return {"banner": self.marker.banner(spec), "level": LEVELS[spec.classification].lower()}

    def labels(self, records: Iterable[Marked]) -> list[dict[str, str]]:
        return [self.label(record) for record in records]

    def context(self, **values: Any) -> dict[str, Any]:
        page = self.marker.page(self.specs)
        user = self.auth.user
        return {
            "user": {
                "name": user.display_name or user.username,
                "username": user.username,
                "party": user.party_code,
                "organization": user.organization.name,
            },
            "banner": page.banner,
            "level": page.classification.lower(),
            **values,
        }


def _not_found(request: Request, page: _Page) -> HTMLResponse:
    page.specs.clear()
    return templates.TemplateResponse(request, "not_found.html", page.context(), status_code=404)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """The sign-in form."""
    return templates.TemplateResponse(request, "login.html", {"error": "", "username": ""})


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    state: StateDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Sign in with the form: the session cookie the API uses, then the dashboard; a failure shows the form again."""
    try:
        _user, token = login(state.sessions, username, password, kind="session")
    except AuthenticationError as exc:
        status = 423 if exc.reason == "locked" or exc.locked_until is not None else 401
        context = {"error": str(exc), "username": username}
        return templates.TemplateResponse(request, "login.html", context, status_code=status)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
    )
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, state: StateDep) -> Response:
    """Revoke the session cookie's token and go back to the sign-in form."""
    auth = _signed_in(request, session)
    if auth is not None:
        revoke_token(session, auth.token, actor=auth.principal, reason="logout")
        session.commit()
    response = _to_login()
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=state.settings.secure_cookies
    )
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep) -> Response:
    """The user's visible networks with their visible node counts, and the recent runs."""
    auth = _signed_in(request, session)
    if auth is None:
        return _to_login()
    page = _Page(session, auth)
    networks, total = list_networks(session, auth.principal, limit=50)
    rows = []
    for network in networks:
        _nodes, visible = list_nodes(session, auth.principal, network.id, limit=1)
        rows.append({"record": network, "nodes": visible, "marking": page.label(network)})
    runs, run_total = list_runs(session, auth.principal, limit=10)
    run_rows = [{"record": run, "marking": page.label(run)} for run in runs]
    context = page.context(networks=rows, network_total=total, runs=run_rows, run_total=run_total)
    session.commit()
    return templates.TemplateResponse(request, "dashboard.html", context)


@router.get("/networks/{network_id}", response_class=HTMLResponse)
def network_page(
    request: Request,
    session: SessionDep,
    network_id: int,
    q: Annotated[str, Query(max_length=200)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """A network's visible nodes: searched and paged on the server, each row with its marking."""
    auth = _signed_in(request, session)
    if auth is None:
        return _to_login()
    page = _Page(session, auth)
    try:
        network = get_network(session, auth.principal, network_id)
        offset = (page_number - 1) * PAGE_SIZE
        nodes, total = list_nodes(session, auth.principal, network_id, search=q, offset=offset, limit=PAGE_SIZE)
    except NotFound:
        session.commit()
        return _not_found(request, page)
    rows = [{"record": node, "marking": page.label(node)} for node in nodes]
    network_marking = page.label(network)
    pages = max(1, -(-total // PAGE_SIZE))
    context = page.context(
        network=network,
        network_marking=network_marking,
        rows=rows,
        total=total,
        q=q,
        page=page_number,
        pages=pages,
        first=offset + 1 if rows else 0,
        last=offset + len(rows),
    )
    session.commit()
    return templates.TemplateResponse(request, "network.html", context)


@router.get("/networks/{network_id}/nodes/{node_id}", response_class=HTMLResponse)
def node_page(request: Request, session: SessionDep, network_id: int, node_id: str) -> Response:
    """A node's details with its visible suppliers and customers; hidden and missing nodes answer the same 404."""
    auth = _signed_in(request, session)
    if auth is None:
        return _to_login()
    page = _Page(session, auth)
    try:
        network = get_network(session, auth.principal, network_id)
        around = node_neighbourhood(session, auth.principal, network_id, node_id)
    except NotFound:
        session.commit()
        return _not_found(request, page)
    context = page.context(
        network=network,
        node=around.node,
        node_marking=page.label(around.node),
        suppliers=[{"record": n, "marking": page.label(n)} for n in around.suppliers],
        customers=[{"record": n, "marking": page.label(n)} for n in around.customers],
    )
    session.commit()
    return templates.TemplateResponse(request, "node.html", context)
