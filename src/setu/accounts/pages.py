"""The sign-in pages: the form (``/accounts/login``) and signing out (``/accounts/logout``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.accounts.errors import AuthenticationError
from setu.accounts.login import LoginLimits, login
from setu.accounts.tokens import SESSION_COOKIE, SESSION_TTL, revoke_token
from setu.deps import SessionDep, StateDep
from setu.errors import Unavailable
from setu.web.shell import CSRF_FIELD, FormExpired, Page, csrf_ok, signed_in, templates, to_login

router = APIRouter(prefix="/accounts", include_in_schema=False)

HOME = "/"
"""Where a browser goes once signed in: the dashboard."""


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """The sign-in form."""
    return templates.TemplateResponse(request, "accounts/login.html", {"error": "", "username": ""})


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    state: StateDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Sign in with the form: the session cookie the API uses, then the dashboard; a failure shows the form again.

    The password check waits its turn at the app's sign-in gate, as the API's login does.
    """
    source = request.client.host if request.client else ""
    limits = LoginLimits.of(state.settings)
    try:
        _user, token = await state.login_gate.run(
            lambda: login(state.sessions, username, password, kind="session", source=source, limits=limits)
        )
    except (AuthenticationError, Unavailable) as exc:
        context = {"error": str(exc), "username": username}
        return templates.TemplateResponse(
            request, "accounts/login.html", context, status_code=exc.http_status, headers=exc.http_headers
        )
    response = RedirectResponse(HOME, status_code=303)
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
    """Revoke the session cookie's token and go back to the sign-in form (the form must carry its token).

    A browser whose session is already over is sent to the form too, its stale cookie cleared: signing
    out needs no valid session, so this takes no :data:`~setu.web.shell.PageDep`.
    """
    auth = signed_in(request, session)
    if auth is not None:
        if not csrf_ok(auth, csrf):
            raise FormExpired(Page(session, auth), request)
        revoke_token(session, auth.token, actor=auth.principal, reason="logout")
        session.commit()
    response = to_login()
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=state.settings.secure_cookies
    )
    return response
