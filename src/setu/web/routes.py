"""The web interface's router: sign-in and sign-out (each domain's pages are in its own package)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.accounts.errors import AuthenticationError
from setu.accounts.service import SESSION_COOKIE, SESSION_TTL, login, revoke_token
from setu.deps import SessionDep, StateDep
from setu.web.shell import CSRF_FIELD, Page, csrf_ok, signed_in, templates, to_login

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
