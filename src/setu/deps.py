"""What the HTTP routers share: settings, per-request sessions, the signed-in user, markings, error answers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.passwords import sign_ins_busy
from setu.accounts.tokens import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Holder,
    account_of,
    csrf_matches,
    note_use,
    token_holder,
    use_is_stale,
)
from setu.db import transaction
from setu.errors import Unavailable
from setu.models.accounts import User
from setu.models.base import Marked
from setu.schemas import MarkingOut, PageBanner
from setu.settings import ApiSettings
from setu.sharing.cache import ViewCache
from setu.sharing.markings import LEVELS, MarkingSpec, combine, owner_names, specs_by_id
from setu.sharing.policy import Principal

PageT = TypeVar("PageT", bound=BaseModel)
T = TypeVar("T")

log = logging.getLogger("setu.api")

REALM = 'Bearer realm="setu"'
COMPILED_VIEWS = 16
"""Compiled network views one server process keeps (see :attr:`ApiState.views`)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing, so a cookie alone may sign them; every other one needs the CSRF header too."""


class LoginGate:
    """Admission of sign-ins to the threads that check passwords, so a flood of logins stalls nobody else.

    At most ``slots`` sign-ins run (each in a worker thread, one argon2 run of 64 MiB at a time); up to
    ``queue`` more wait their turn as coroutines, holding no thread, each for at most ``wait`` seconds;
    the rest are answered 503 with ``Retry-After`` at once. Other requests keep the server's threads.

    Parameters
    ----------
    slots, queue, wait
        ``SETU_MAX_CONCURRENT_HASHES``, ``SETU_HASH_QUEUE``, ``SETU_HASH_WAIT_SECONDS``.
    """

    def __init__(self, slots: int, queue: int, wait: float) -> None:
        self.slots = slots
        self.queue = queue
        self.wait = wait
        self._limiter: anyio.CapacityLimiter | None = None  # made in the event loop, on first use

    def _busy(self) -> Unavailable:
        return sign_ins_busy(self.wait)

    async def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` (a sign-in) in a worker thread once admitted.

        Raises
        ------
        Unavailable
            (503) when the queue is full or no slot frees up within ``wait`` seconds; nothing ran.
        """
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.slots)
        limiter = self._limiter
        if limiter.available_tokens < 1 and limiter.statistics().tasks_waiting >= self.queue:
            raise self._busy()
        admitted = False
        with anyio.move_on_after(self.wait):
            await limiter.acquire()
            admitted = True
        if not admitted:
            raise self._busy()
        try:
            return await anyio.to_thread.run_sync(work)
        finally:
            limiter.release()


@dataclass(slots=True)
class ApiState:
    """What one app holds: its database, settings and sign-in gate."""

    engine: Engine
    sessions: sessionmaker[Session]
    settings: ApiSettings
    owns_engine: bool = False
    login_gate: LoginGate = field(init=False)
    figures: ViewCache = field(default_factory=ViewCache)
    """Figures computed once per reader's view and data version (the dashboard's sections, the map)."""
    views: ViewCache = field(default_factory=lambda: ViewCache(entries=COMPILED_VIEWS))
    """Compiled views of networks for starting runs: fewer, as one of a large network holds its arrays."""

    def __post_init__(self) -> None:
        limits = self.settings
        self.login_gate = LoginGate(limits.max_concurrent_hashes, limits.hash_queue, limits.hash_wait_seconds)


def state_of(request: Request) -> ApiState:
    """The app's :class:`ApiState`.

    Parameters
    ----------
    request
        The request being answered.

    Returns
    -------
    ApiState
        The state :func:`setu.api.create_app` stored.
    """
    state: ApiState = request.app.state.setu
    return state


async def api_state(request: Request) -> ApiState:
    """The app's :class:`ApiState`, as a dependency.

    A coroutine, as is every dependency that does no I/O: FastAPI runs a plain function's dependency
    in a worker thread, and each such hop costs a request a few tenths of a millisecond of CPU.
    """
    return state_of(request)


StateDep = Annotated[ApiState, Depends(api_state)]


async def db_session(request: Request) -> AsyncIterator[Session]:
    """A session for one request; endpoints commit their work, anything left uncommitted is rolled back.

    A coroutine, not a plain generator, which FastAPI would enter and leave in two worker-thread hops:
    making the session touches no database. Leaving it does only while a transaction is still open
    (the endpoint failed, or read without committing); that rollback runs in a worker thread, shielded
    from the request's cancellation so that a client gone away cannot keep the connection from the pool.

    Parameters
    ----------
    request
        The request being answered.

    Yields
    ------
    Session
        The session.
    """
    session = state_of(request).sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(session.close)
        else:
            session.close()  # nothing to roll back: the connection went back to the pool at the commit


SessionDep = Annotated[Session, Depends(db_session, scope="function")]

bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="An API token from `POST /api/v1/accounts/login`."
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="The web's session cookie, set by `POST /api/v1/accounts/login`.",
)


@dataclass(frozen=True, slots=True)
class Authenticated:
    """The signed-in user of a request and how they proved it.

    Attributes
    ----------
    holder
        The token's user as read with it for this request (principal, names).
    token
        The token the request carried.
    via
        ``bearer`` (an API token) or ``cookie`` (the web's session).
    session
        The request's session, for :attr:`user`.
    """

    holder: Holder
    token: str
    via: Literal["bearer", "cookie"]
    session: Session

    @property
    def principal(self) -> Principal:
        """What the read filter and role checks look at, as the database held it at this request."""
        return self.holder.principal

    @property
    def user(self) -> User:
        """The user's account row (read on demand: most requests need the principal only)."""
        return account_of(self.session, self.holder.principal.user_id)


def request_holder(request: Request, session: Session, token: str, kind: str) -> Holder | None:
    """The holder of the request's token (see :func:`setu.accounts.tokens.token_holder`), its use noted.

    The use is noted at most once a minute per token, in a transaction of its own that ends at once: the
    request's own transaction writes nothing for it, so a client's concurrent reads do not queue on their
    token's row (PostgreSQL) or the database's write lock (SQLite). The note is bookkeeping: if the
    database is too busy to take it, the request goes on and a later one notes the use.

    Parameters
    ----------
    request
        The request (its app's sessions).
    session
        The request's session (the token is read in it).
    token
        The token it carried.
    kind
        ``api`` or ``session``.

    Returns
    -------
    Holder or None
        The holder, or None when the token is not good.
    """
    holder = token_holder(session, token, kind=kind)
    if holder is not None and use_is_stale(holder):
        try:
            with transaction(state_of(request).sessions) as apart:
                note_use(apart, holder.token_id)
        except OperationalError:
            log.warning("the last use of token %s was not noted: the database is busy", holder.token_id)
    return holder


def unauthorized(detail: str, error: str = "") -> HTTPException:
    """A 401 answer with its ``WWW-Authenticate`` challenge.

    Parameters
    ----------
    detail
        The message.
    error
        The RFC 6750 error code (``invalid_token``), if a token was offered.

    Returns
    -------
    HTTPException
        The error to raise.
    """
    challenge = f'{REALM}, error="{error}"' if error else REALM
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": challenge})


def current_user(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Authenticated:
    """The user a request's API token (``Authorization: Bearer``) or session cookie stands for.

    A request the cookie signs that is not a plain read (any method but GET, HEAD and OPTIONS) must
    also carry the session's CSRF token in the ``X-CSRF-Token`` header (given at login): a browser
    sends the cookie on its own, a cross-site page cannot read the token. Checked here, for every
    endpoint that asks who the user is, so no write can forget it.

    Parameters
    ----------
    request
        The request (its method and CSRF header).
    session
        The request's session (the token's last use is noted there).
    bearer
        The bearer credentials, if sent; they must be an API token.
    cookie
        The session cookie, if sent and no bearer token was; it must be a session token.

    Returns
    -------
    Authenticated
        The user and their principal.

    Raises
    ------
    HTTPException
        401 when no token was sent, or it is unknown, expired, revoked or its user disabled;
        403 when a cookie-signed write lacks the session's CSRF token.
    """
    if bearer is not None:
        token, kind, via = bearer.credentials, "api", "bearer"
    elif cookie:
        token, kind, via = cookie, "session", "cookie"
    else:
        raise unauthorized("not authenticated: send an API token (Authorization: Bearer) or the session cookie")
    holder = request_holder(request, session, token, kind)
    if holder is None:
        raise unauthorized("invalid, expired or revoked token", "invalid_token")
    unsafe = via == "cookie" and request.method not in SAFE_METHODS
    if unsafe and not csrf_matches(token, request.headers.get(CSRF_HEADER, "")):
        raise HTTPException(
            status_code=403, detail=f"a write signed by the session cookie needs the {CSRF_HEADER} header from login"
        )
    return Authenticated(holder, token, "bearer" if via == "bearer" else "cookie", session)


AuthDep = Annotated[Authenticated, Depends(current_user)]


# --- markings ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Marker:
    """Markings of the records of one answer, as :class:`MarkingOut`, with owner names looked up once.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reading user (page banners combine markings with their party as origin).
    """

    session: Session
    principal: Principal
    _specs: dict[int, MarkingSpec] = field(default_factory=dict)
    _names: dict[int, str] = field(default_factory=dict)
    _unnamed: set[int] = field(default_factory=set)
    _outs: dict[MarkingSpec, MarkingOut] = field(default_factory=dict)

    def spec(self, record: Marked) -> MarkingSpec:
        """The marking of a stored record.

        Parameters
        ----------
        record
            Any marked record.

        Returns
        -------
        MarkingSpec
            Its marking's value.
        """
        marking_id: int = record.marking_id
        if marking_id not in self._specs:
            self._specs.update(specs_by_id(self.session, [marking_id]))
        return self._specs[marking_id]

    def _owner_names(self, spec: MarkingSpec) -> dict[int, str]:
        wanted = [org_id for org_id, _ in spec.owners if org_id not in self._names and org_id not in self._unnamed]
        if wanted:
            self._names.update(owner_names(self.session, [spec]))
            # An owner with no organization row here (a partner's) is asked for once, not once a record.
            self._unnamed.update(org_id for org_id in wanted if org_id not in self._names)
        return self._names

    def banner(self, spec: MarkingSpec) -> str:
        """The banner of ``spec``, owners by name.

        Parameters
        ----------
        spec
            A marking.

        Returns
        -------
        str
            The banner.
        """
        return spec.banner(self._owner_names(spec))

    def out(self, spec: MarkingSpec) -> MarkingOut:
        """``spec`` as answers carry it.

        Parameters
        ----------
        spec
            A marking.

        Returns
        -------
        MarkingOut
            Classification, banner, releases, national-only flag and groups (one frozen object per
            marking and request: a page of results shares a handful of markings).
        """
        found = self._outs.get(spec)
        if found is None:
            found = self._outs[spec] = MarkingOut(
                classification=LEVELS[spec.classification],
                banner=self.banner(spec),
                releases=sorted(spec.releases),
                national_only=spec.national_only,
                groups=sorted(spec.groups),
            )
        return found

    def of(self, record: Marked) -> MarkingOut:
        """The marking of a stored record as answers carry it.

        Parameters
        ----------
        record
            Any marked record.

        Returns
        -------
        MarkingOut
            Its marking.
        """
        return self.out(self.spec(record))

    def page(self, specs: Iterable[MarkingSpec]) -> PageBanner:
        """The banner fields of a page: the most restrictive combination of its items' markings.

        Parameters
        ----------
        specs
            The markings of the page's items.

        Returns
        -------
        PageBanner
            ``banner`` and ``classification`` (``UNCLASSIFIED`` for an empty page).
        """
        chosen = set(specs)
        if not chosen:
            return PageBanner(banner=LEVELS[0], classification=LEVELS[0])
        combined = combine(chosen, self.principal.party)
        return PageBanner(banner=self.banner(combined), classification=LEVELS[combined.classification])

    def listing(
        self, model: type[PageT], rows: Iterable[Marked], items: list[Any], total: int, offset: int, limit: int
    ) -> PageT:
        """A paged list answer: ``items`` (built from ``rows``), the total, and the page's banner."""
        page = self.page(self.spec(row) for row in rows)
        return model(
            items=items, total=total, offset=offset, limit=limit, banner=page.banner, classification=page.classification
        )


async def marker(session: SessionDep, auth: AuthDep) -> Marker:
    """A :class:`Marker` for the request's user.

    Parameters
    ----------
    session
        The request's session.
    auth
        The signed-in user.

    Returns
    -------
    Marker
        The marker.
    """
    return Marker(session, auth.principal)


MarkerDep = Annotated[Marker, Depends(marker)]
