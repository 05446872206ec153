"""What the HTTP routers share: settings, per-request sessions, the signed-in user, markings, error answers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from setu.accounts.errors import AccessDenied, AccountError, AuthenticationError
from setu.accounts.service import (
    SESSION_COOKIE,
    get_organization,
    get_party,
    principal_of,
    require_role,
    resolve_token,
)
from setu.audit.log import AuditError, record
from setu.errors import Conflict, InputError, Problem, ScenarioError, SetuError
from setu.models.accounts import User
from setu.models.base import Marked
from setu.networks.overview import DEFAULT_CONCERN_COUNTRIES, parse_countries
from setu.networks.service import MarkingError, NotFound, ViewError, combine
from setu.networks.uploads import UploadTooLarge
from setu.schemas import ErrorBody, MarkingOut, PageBanner, ProblemOut
from setu.sharing.markings import LEVELS, MarkingSpec
from setu.sharing.policy import Principal

PageT = TypeVar("PageT", bound=BaseModel)

if TYPE_CHECKING:
    from setu.runs.jobs import RunJobs

log = logging.getLogger("setu.api")

MIB = 1024 * 1024
DEFAULT_MAX_UPLOAD = 50 * MIB
REALM = 'Bearer realm="setu"'
BODY_PARSE_ERROR = "There was an error parsing the body"


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Limits and switches of the HTTP API.

    Attributes
    ----------
    max_upload_bytes
        Largest network file accepted (413 above it); ``SETU_MAX_UPLOAD_MB`` sets it in MiB.
    max_zip_files
        Most files a .zip of CSV tables may hold.
    max_zip_bytes
        Most bytes a .zip of CSV tables may unpack to.
    secure_cookies
        Send the session cookie with ``Secure`` (HTTPS only); ``SETU_COOKIE_SECURE=0`` turns it off.
    run_jobs
        Worker processes each stress run uses (0: one per CPU).
    concern_countries
        Country codes whose nodes the dashboard counts as adversary-origin exposure;
        ``SETU_CONCERN_COUNTRIES`` (codes separated by commas or spaces) replaces the default
        :data:`setu.networks.overview.DEFAULT_CONCERN_COUNTRIES`.
    """

    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    max_zip_files: int = 64
    max_zip_bytes: int = 200 * MIB
    secure_cookies: bool = True
    run_jobs: int = 1
    concern_countries: frozenset[str] = DEFAULT_CONCERN_COUNTRIES

    @classmethod
    def from_env(cls) -> ApiSettings:
        """Settings from the environment, else the defaults.

        ``SETU_MAX_UPLOAD_MB``, ``SETU_COOKIE_SECURE`` and ``SETU_CONCERN_COUNTRIES`` (blank or unset:
        the default set).

        Returns
        -------
        ApiSettings
            The settings.
        """
        megabytes = os.environ.get("SETU_MAX_UPLOAD_MB", "").strip()
        upload = int(float(megabytes) * MIB) if megabytes else DEFAULT_MAX_UPLOAD
        concern = parse_countries(os.environ.get("SETU_CONCERN_COUNTRIES", "")) or DEFAULT_CONCERN_COUNTRIES
        return cls(
            max_upload_bytes=upload,
            secure_cookies=_env_flag("SETU_COOKIE_SECURE", True),
            concern_countries=concern,
        )


@dataclass(slots=True)
class ApiState:
    """What one app holds: its database, settings and the stress runs executing in this process."""

    engine: Engine
    sessions: sessionmaker[Session]
    settings: ApiSettings
    jobs: RunJobs
    owns_engine: bool = False


def api_state(request: Request) -> ApiState:
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


StateDep = Annotated[ApiState, Depends(api_state)]


def db_session(request: Request) -> Iterator[Session]:
    """A session for one request; endpoints commit their work, anything left uncommitted is rolled back.

    Parameters
    ----------
    request
        The request being answered.

    Yields
    ------
    Session
        The session.
    """
    session = api_state(request).sessions()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(db_session, scope="function")]

bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="An API token from `POST /api/v1/auth/login`."
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="The web's session cookie, set by `POST /api/v1/auth/login`.",
)


@dataclass(frozen=True, slots=True)
class Authenticated:
    """The signed-in user of a request and how they proved it."""

    user: User
    principal: Principal
    token: str
    via: Literal["bearer", "cookie"]


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
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Authenticated:
    """The user a request's API token (``Authorization: Bearer``) or session cookie stands for.

    Parameters
    ----------
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
        401 when no token was sent, or it is unknown, expired, revoked or its user disabled or locked.
    """
    if bearer is not None:
        token, kind, via = bearer.credentials, "api", "bearer"
    elif cookie:
        token, kind, via = cookie, "session", "cookie"
    else:
        raise unauthorized("not authenticated: send an API token (Authorization: Bearer) or the session cookie")
    user = resolve_token(session, token, kind=kind)
    if user is None:
        raise unauthorized("invalid, expired or revoked token", "invalid_token")
    return Authenticated(user, principal_of(user), token, "bearer" if via == "bearer" else "cookie")


AuthDep = Annotated[Authenticated, Depends(current_user)]


def require(session: Session, principal: Principal, action: str, *roles: str) -> None:
    """Allow the operation only to holders of one of ``roles``; a refusal is audited and committed.

    Parameters
    ----------
    session
        The request's session.
    principal
        The user.
    action
        The audited action refused (``network.import``, ``audit.read`` ...).
    *roles
        The roles that may do it.

    Raises
    ------
    AccessDenied
        If the user holds none of them (answered 403).
    """
    try:
        require_role(principal, *roles)
    except AccessDenied:
        record(session, principal, action, decision="deny", details={"reason": "role", "requires": list(roles)})
        session.commit()
        raise


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
            self._specs[marking_id] = MarkingSpec.of(record.marking)
        return self._specs[marking_id]

    def _owner_names(self, spec: MarkingSpec) -> dict[int, str]:
        for org_id, party in spec.owners:
            if org_id not in self._names:
                try:
                    self._names[org_id] = get_organization(self.session, get_party(self.session, party), org_id).name
                except AccountError:
                    self._names[org_id] = f"org {org_id}"
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
            Classification, banner, releases, national-only flag and groups.
        """
        return MarkingOut(
            classification=LEVELS[spec.classification],
            banner=self.banner(spec),
            releases=sorted(spec.releases),
            national_only=spec.national_only,
            groups=sorted(spec.groups),
        )

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


def marker(session: SessionDep, auth: AuthDep) -> Marker:
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


# --- errors -----------------------------------------------------------------------------------------------


def problems_of(problems: Iterable[Problem]) -> list[ProblemOut]:
    """Problems as answers list them.

    Parameters
    ----------
    problems
        Problems from an :class:`setu.errors.InputError`.

    Returns
    -------
    list of ProblemOut
        ``where`` and ``message`` of each, unchanged.
    """
    return [ProblemOut(where=p.where, message=p.message) for p in problems]


def error_response(
    status: int, detail: str, problems: list[ProblemOut] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error answer ``{detail, problems?}``.

    Parameters
    ----------
    status
        The HTTP status.
    detail
        The message.
    problems
        Every problem found, for bad input.
    headers
        Extra headers.

    Returns
    -------
    JSONResponse
        The answer.
    """
    body = ErrorBody(detail=detail, problems=problems).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


def _location(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _status_of(exc: SetuError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, (AccessDenied, MarkingError)):
        return 403
    if isinstance(exc, (InputError, ScenarioError, ViewError, AccountError, AuditError)):
        return 422
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, UploadTooLarge):
        return 413
    return 400


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error as ``{detail, problems?}`` with the status its kind calls for.

    ``NotFound`` 404 (hidden and missing alike), ``AccessDenied``/``MarkingError`` 403, bad input 422
    (with each problem), a ``Conflict`` (a run in the wrong state, a stale version) 409, a failed login
    401 (423 while the account is locked), a write conflict 409, a busy database 503; unexpected errors
    500 without internals.

    Parameters
    ----------
    app
        The application.
    """

    async def setu_error(_request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, AuthenticationError):
            if exc.reason == "locked" or exc.locked_until is not None:
                return error_response(423, str(exc))
            return error_response(401, str(exc), headers={"WWW-Authenticate": REALM})
        assert isinstance(exc, SetuError)
        if isinstance(exc, InputError):
            return error_response(422, f"{len(exc.problems)} problem(s) in input", problems_of(exc.problems))
        return error_response(_status_of(exc), str(exc))

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [
            ProblemOut(where=_location(error.get("loc", ())), message=str(error.get("msg", "invalid")))
            for error in exc.errors()
        ]
        return error_response(422, "invalid request", problems)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
            # FastAPI's answer to a body that is not JSON or form data at all: bad input like any other.
            problem = ProblemOut(where="body", message="cannot be parsed: not valid JSON, form data or UTF-8")
            return error_response(422, "invalid request", [problem])
        return error_response(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))

    async def conflict(_request: Request, exc: Exception) -> JSONResponse:
        log.info("write conflict: %s", exc)
        return error_response(409, "the change conflicts with a concurrent one; try again")

    async def busy(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return error_response(503, "the database is busy or unavailable; try again", headers={"Retry-After": "2"})

    async def internal(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal error")

    app.add_exception_handler(SetuError, setu_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(IntegrityError, conflict)
    app.add_exception_handler(OperationalError, busy)
    app.add_exception_handler(Exception, internal)
