"""HTTP endpoints of accounts: log in (API token and session cookie), log out, who am I."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from setu.accounts.login import LoginLimits, login, principal_of
from setu.accounts.lookups import find_user
from setu.accounts.schemas import LoginIn, LoginOut, OrganizationRef, UserOut
from setu.accounts.tokens import (
    API_TOKEN_TTL,
    SESSION_COOKIE,
    SESSION_TTL,
    csrf_token_of,
    issue_token,
    resolve_token,
    revoke_token,
)
from setu.db import transaction
from setu.deps import ApiState, AuthDep, Marker, SessionDep, StateDep
from setu.errors import SetuError
from setu.models.accounts import User
from setu.schemas import ERROR_RESPONSES, ErrorBody
from setu.sharing.markings import LEVELS, marking_specs

router = APIRouter(prefix="/accounts", tags=["accounts"])


def user_out(marker: Marker, user: User) -> UserOut:
    """A user as answers show them.

    Parameters
    ----------
    marker
        The request's marker.
    user
        The user (organization, roles and groups loaded).

    Returns
    -------
    UserOut
        The user.
    """
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        party=user.party_code,
        organization=OrganizationRef(id=user.organization.id, name=user.organization.name),
        roles=sorted(user.roles),
        clearance=LEVELS[user.clearance],
        clearance_level=user.clearance,
        groups=sorted(user.groups),
        marking=marker.of(user),
    )


@router.post(
    "/login",
    responses={
        401: {"model": ErrorBody, "description": "Wrong username or password, or the account is disabled."},
        422: ERROR_RESPONSES[422],
        423: {"model": ErrorBody, "description": "The username is locked after repeated failures; says until when."},
        429: {"model": ErrorBody, "description": "Too many failed logins from this address; see Retry-After."},
        503: {"model": ErrorBody, "description": "Too many passwords being checked at once; see Retry-After."},
    },
)
async def log_in(body: LoginIn, request: Request, response: Response, state: StateDep) -> LoginOut:
    """Sign in: an API token in the answer, and a session token in an HttpOnly, SameSite=Strict cookie.

    Failures are audited. An unknown username and a wrong password give the same 401; after five
    failures within 15 minutes the username (existing or not, alike) locks for 15 minutes and logins
    answer 423 with the time it ends; after 30 failures from one address it gets 429; when too many
    sign-ins are being checked at once, 503 (settings: ``SETU_LOGIN_*``, ``SETU_MAX_CONCURRENT_HASHES``).
    A lockout refuses new logins only: tokens already issued keep working. Logging out with either
    the token or the cookie ends both.
    """
    source = request.client.host if request.client else ""
    out, token, cookie, now = await state.login_gate.run(lambda: _sign_in(state, body, source))
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
    )
    return LoginOut(token=token, expires_at=now + API_TOKEN_TTL, csrf_token=csrf_token_of(cookie), user=out)


def _sign_in(state: ApiState, body: LoginIn, source: str) -> tuple[UserOut, str, str, datetime]:
    """The blocking part of :func:`log_in` (a worker thread): the login, then its paired session token."""
    now = datetime.now(UTC)
    limits = LoginLimits.of(state.settings)
    user, token = login(state.sessions, body.username, body.password, kind="api", source=source, limits=limits, now=now)
    with transaction(state.sessions) as session:
        fresh = find_user(session, user.username)
        if fresh is None:  # removed between the two transactions
            raise SetuError("the account changed during login; try again")
        principal = principal_of(fresh)
        cookie = issue_token(session, fresh, "session", actor=principal, now=now, pair=token)
        out = user_out(Marker(session, principal), fresh)
    return out, token, cookie, now


@router.post("/logout", status_code=204, responses={401: ERROR_RESPONSES[401]})
def log_out(request: Request, auth: AuthDep, session: SessionDep, state: StateDep) -> Response:
    """Revoke the token the request was signed in with and the other token of its login (an API login's
    cookie and bearer token end together), and the session cookie's token if one was sent."""
    revoke_token(session, auth.token, actor=auth.principal, reason="logout")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and cookie != auth.token:
        holder = resolve_token(session, cookie, kind="session")
        if holder is not None and holder.id == auth.principal.user_id:
            revoke_token(session, cookie, actor=auth.principal, reason="logout")
    session.commit()
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=state.settings.secure_cookies
    )
    return response


@router.get("/me", responses={401: ERROR_RESPONSES[401]})
def who_am_i(auth: AuthDep, session: SessionDep) -> UserOut:
    """The signed-in user: username, party, organization, roles, clearance and groups."""
    # From what the request read with its token: the account row itself is not loaded again.
    holder, principal = auth.holder, auth.principal
    [spec] = marking_specs(session, [holder.marking_id])
    out = UserOut(
        id=principal.user_id,
        username=holder.username,
        display_name=holder.display_name,
        party=principal.party,
        organization=OrganizationRef(id=principal.org_id, name=holder.organization),
        roles=sorted(principal.roles),
        clearance=LEVELS[principal.clearance],
        clearance_level=principal.clearance,
        groups=sorted(principal.groups),
        marking=Marker(session, principal).out(spec),
    )
    session.commit()
    return out
