"""The page shell every domain's pages use: templates, the signed-in user, marking labels and banner, CSRF, errors.

Each domain keeps its templates in ``setu/<domain>/templates/`` and names them ``"<domain>/<file>"``; the
layout (``base.html``), the shared macros and the error pages live here in ``web/templates``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from setu.accounts.tokens import SESSION_COOKIE, csrf_matches, csrf_token_of
from setu.deps import Authenticated, Marker, SessionDep, request_holder
from setu.models.base import Marked
from setu.network.countries import country_label
from setu.network.units import units_of
from setu.sharing.markings import LEVELS, MarkingSpec

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PAGE_SIZE = 25
CSRF_FIELD = "csrf"
EXPIRED = "The form has expired or did not come from Setu. Reload the page and try again."
LOGIN_PATH = "/accounts/login"

PACKAGE = HERE.parent


def _loader() -> ChoiceLoader:
    """The shell's templates, then each domain's under its own name (``"registry/site.html"``)."""
    domains = {
        folder.parent.name: FileSystemLoader(str(folder))
        for folder in sorted(PACKAGE.glob("*/templates"))
        if folder.parent != HERE
    }
    return ChoiceLoader([FileSystemLoader(str(HERE / "templates")), PrefixLoader(domains)])


templates = Jinja2Templates(env=Environment(loader=_loader(), autoescape=select_autoescape()))
templates.env.globals["units_of"] = units_of
templates.env.filters["country"] = country_label
"""``{{ node.country|country }}``: a country as pages show it, ``CN (China)`` (the text itself when it names none)."""
"""``units_of(network)`` in every template: the units its figures are in (:class:`setu.network.units.Units`)."""


def compile_templates() -> int:
    """Compile every page template now, as a server process starts, rather than at its first request of each.

    Compiling one costs 10-80 ms; left to the first requests, a process just started answers its first
    burst slowly while it compiles the templates of every page asked for (the environment keeps them
    for the process's life).

    Returns
    -------
    int
        The templates compiled (or found compiled).
    """
    names = templates.env.list_templates()
    for name in names:
        templates.env.get_template(name)
    return len(names)


class SignInRequired(Exception):
    """A page was asked for without a valid session: the browser is sent to the sign-in form."""


class FormExpired(Exception):
    """A form came without this session's CSRF token: answered with a 403 page saying so.

    The page is rendered when the error is raised: by the time the app's handler answers, the
    request's session has been closed and the signed-in user detached from it.
    """

    def __init__(self, page: Page, request: Request) -> None:
        super().__init__(EXPIRED)
        self.page = page
        self.response = page.forbidden(request, EXPIRED)


def size_text(size: int) -> str:
    """A byte count as people read it: ``50 MiB``, ``4 KiB``, ``512 bytes``.

    Parameters
    ----------
    size
        Bytes.

    Returns
    -------
    str
        The size in the largest binary unit it fills, to at most one decimal.
    """
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def signed_in(request: Request, session: Session) -> Authenticated | None:
    """The user behind the request's session cookie, or None when there is none or it expired."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    holder = request_holder(request, session, token, "session")
    if holder is None:
        return None
    return Authenticated(holder, token, "cookie", session)


def signed_in_page(request: Request, session: Session) -> Page | None:
    """A page for the request's signed-in user, or None when the browser must sign in first."""
    auth = signed_in(request, session)
    return None if auth is None else Page(session, auth)


def to_login() -> RedirectResponse:
    """Where a signed-out browser goes."""
    return RedirectResponse(LOGIN_PATH, status_code=303)


def csrf_token(auth: Authenticated) -> str:
    """The form token of a session: derived from the session token, which a cross-site page cannot read.

    The cookie is already ``SameSite=Strict``; the token is the second, independent guard on every form
    that changes something (the API takes the same token in a header: :func:`setu.accounts.tokens.csrf_token_of`).
    """
    return csrf_token_of(auth.token)


def csrf_ok(auth: Authenticated, submitted: str) -> bool:
    """Whether a submitted form token is this session's."""
    return csrf_matches(auth.token, submitted)


class Page:
    """One page being built: its user, and the markings of the records it shows (labels and banner).

    Every record a page shows goes through :meth:`label`, so the banner is the most restrictive
    combination of what is on the page.
    """

    def __init__(self, session: Session, auth: Authenticated) -> None:
        self.session = session
        self.auth = auth
        self.principal = auth.principal
        self.marker = Marker(session, auth.principal)
        self.specs: set[MarkingSpec] = set()

    def label(self, record: Marked) -> dict[str, str]:
        """The per-item label of ``record`` (banner text and level), counted into the page's banner."""
        spec = self.marker.spec(record)
        return self.label_spec(spec)

    def label_spec(self, spec: MarkingSpec) -> dict[str, str]:
        """The per-item label of a marking (for derived values whose marking is already combined)."""
        self.specs.add(spec)
        return {"banner": self.marker.banner(spec), "level": LEVELS[spec.classification].lower()}

    def labels(self, records: Iterable[Marked]) -> list[dict[str, str]]:
        """The labels of several records."""
        return [self.label(record) for record in records]

    def context(self, **values: Any) -> dict[str, Any]:
        """The template context: the user, the page banner and ``values``."""
        page = self.marker.page(self.specs)
        user = self.auth.holder
        return {
            "user": {
                "name": user.display_name or user.username,
                "username": user.username,
                "party": self.principal.party,
                "organization": user.organization,
                "roles": sorted(self.principal.roles),
            },
            "csrf": csrf_token(self.auth),
            "banner": page.banner,
            "level": page.classification.lower(),
            **values,
        }

    def render(self, request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        """Commit the reads' audit entries and render ``template`` with :meth:`context`."""
        context = self.context(**values)
        self.session.commit()
        return templates.TemplateResponse(request, template, context, status_code=status_code)

    def fragment(self, template: str, **values: Any) -> Markup:
        """``template`` rendered with ``values`` alone (no user, no banner): a part of a page kept for reuse."""
        return Markup(templates.env.get_template(template).render(**values))

    def not_found(self, request: Request) -> HTMLResponse:
        """The same 404 page for a hidden record as for a missing one: nothing on it is marked."""
        self.specs.clear()
        return self.render(request, "not_found.html", status_code=404)

    def conflict(self, request: Request, message: str, back: str = "/") -> HTMLResponse:
        """A 409 page: the change conflicts with the record (it is a partner's, say); nothing was changed."""
        self.specs.clear()
        return self.render(request, "conflict.html", status_code=409, message=message, back=back)

    def forbidden(self, request: Request, message: str) -> HTMLResponse:
        """A 403 page saying what is missing (a role, a valid form token)."""
        self.specs.clear()
        return self.render(request, "forbidden.html", status_code=403, message=message)


def signed_out_not_found(request: Request) -> HTMLResponse:
    """The 404 page for a path no route has, shown without a user."""
    return templates.TemplateResponse(request, "not_found.html", {}, status_code=404)


def page_of(request: Request, session: SessionDep) -> Page:
    """The page being built for the signed-in user (the dependency every page handler takes).

    Raises
    ------
    SignInRequired
        When the browser has no valid session; the app answers with a redirect to the sign-in form.
    """
    page = signed_in_page(request, session)
    if page is None:
        raise SignInRequired
    return page


PageDep = Annotated[Page, Depends(page_of)]


async def form_page_of(request: Request, page: PageDep) -> Page:
    """The page of a form post whose CSRF token is this session's (the dependency of every page that writes).

    Raises
    ------
    FormExpired
        When the token is missing or another session's; the app answers with a 403 page.
    """
    form = await request.form()
    submitted = form.get(CSRF_FIELD, "")
    if not isinstance(submitted, str) or not csrf_ok(page.auth, submitted):
        raise FormExpired(page, request)
    return page


FormPageDep = Annotated[Page, Depends(form_page_of)]


def install_page_handlers(app: FastAPI) -> None:
    """Answer :class:`SignInRequired` with the sign-in redirect and :class:`FormExpired` with a 403 page."""

    async def sign_in(_request: Request, _exc: Exception) -> Response:
        return to_login()

    async def expired(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FormExpired)
        return exc.response

    app.add_exception_handler(SignInRequired, sign_in)
    app.add_exception_handler(FormExpired, expired)
