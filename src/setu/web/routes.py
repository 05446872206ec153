"""The web interface's router: sign-in and sign-out, the dashboard, and each domain's pages included."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.accounts.errors import AuthenticationError
from setu.accounts.service import SESSION_COOKIE, SESSION_TTL, login, revoke_token
from setu.deps import SessionDep, StateDep
from setu.networks.service import list_networks, list_nodes
from setu.runs.service import list_runs
from setu.web import audit, explorer, imports, networks, stress
from setu.web.pages import CSRF_FIELD, Page, csrf_ok, signed_in, templates, to_login

router = APIRouter(include_in_schema=False)


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
def logout(
    request: Request, session: SessionDep, state: StateDep, csrf: Annotated[str, Form(alias=CSRF_FIELD)] = ""
) -> Response:
    """Revoke the session cookie's token and go back to the sign-in form (the form must carry its token)."""
    auth = signed_in(request, session)
    if auth is not None:
        if not csrf_ok(auth, csrf):
            return Page(session, auth).forbidden(request, "The form has expired or did not come from Setu.")
        revoke_token(session, auth.token, actor=auth.principal, reason="logout")
        session.commit()
    response = to_login()
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=state.settings.secure_cookies
    )
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep) -> Response:
    """The user's visible networks with their visible node counts, and the recent runs."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    networks, total = list_networks(session, auth.principal, limit=50)
    rows = []
    for network in networks:
        _nodes, visible = list_nodes(session, auth.principal, network.id, limit=1)
        rows.append({"record": network, "nodes": visible, "marking": page.label(network)})
    runs, run_total = list_runs(session, auth.principal, limit=10)
    run_rows = [{"record": run, "marking": page.label(run)} for run in runs]
    return page.render(
        request, "dashboard.html", networks=rows, network_total=total, runs=run_rows, run_total=run_total
    )


for _domain in (networks, explorer, stress, imports, audit):
    router.include_router(_domain.router)
