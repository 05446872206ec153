"""The online transport: one partner's feed served as a TAXII 2.1 collection, behind mutual TLS.

``setu federation serve`` runs :class:`TaxiiApp` in its own uvicorn process, one listener per partner,
trusting exactly that partner's pinned certificate: a client is refused in the TLS handshake unless it
holds the partner's key, so every request that reaches the app is the partner's and only its own
collection is there to read. The app serves the read endpoints of TAXII 2.1 under one API root
(``/setu/``) with one collection, the feed to the partner, each object exactly as signed and stored.

The app is a plain ASGI callable rather than a FastAPI app: domain services import no web framework
(the import contracts), and a listener open to another state's instance should answer TAXII and
nothing else (no docs pages, no schema). The queries and the audit live in the functions above it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased, sessionmaker

from setu.audit.log import record
from setu.db import transaction
from setu.federation.bundles import export_bundle
from setu.federation.feed import publish
from setu.federation.identity import FederationError, this_instance
from setu.federation.partners import get_partner
from setu.federation.witness import release_chunk
from setu.models.federation import OutboundEntry
from setu.sharing.read import unfiltered

MEDIA_TAXII = "application/taxii+json;version=2.1"
MEDIA_STIX = "application/stix+json;version=2.1"
API_ROOT = "setu"
MAX_PAGE = 1000
"""The most objects one page answers (``limit`` above it is lowered to it): about 1 MB of signed objects."""
VERSIONS = frozenset({"last", "first", "all"})
"""The ``match[version]`` values served; ``last`` is TAXII's default, ``all`` the whole feed (what ``pull`` asks)."""
STIX_TYPE = re.compile(r"[a-z0-9][a-z0-9-]{0,249}")
STIX_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,249}--[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_COLLECTIONS = uuid.UUID("0b7d4f52-9c1e-4a63-8f2d-6e5a1c3b9d70")

log = logging.getLogger("setu.federation.taxii")


def collection_id(sender: str, receiver: str) -> str:
    """The id of the collection holding ``sender``'s feed to ``receiver``: the same on both sides, never reused."""
    return str(uuid.uuid5(_COLLECTIONS, f"setu feed {sender} to {receiver}"))


def taxii_time(moment: datetime) -> str:
    """A TAXII timestamp (UTC, microseconds, ``Z``); SQLite gives stored UTC times back without a zone."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class FeedQuery:
    """What a client asked of the collection: after a seq (``next``), after a time, how many, which objects."""

    after: int = 0
    added_after: datetime | None = None
    limit: int = MAX_PAGE
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: frozenset[str] = frozenset({"last"})
    spec_versions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One feed entry as served: its seq, STIX id, when it was added and the signed object's text as stored."""

    seq: int
    stix_id: str
    added: datetime
    text: str


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page of the feed, in seq order, and whether more entries match after it."""

    rows: list[FeedRow]
    more: bool


def pinned_certificate(session: Session, party: str) -> str:
    """The TLS certificate pinned for ``party`` (PEM), or a precise error: unknown partner, or none pinned."""
    partner = get_partner(session, party)
    if not partner.tls_certificate.strip():
        raise FederationError(
            f"{party} has no pinned TLS certificate (an air-gapped partner): to serve its feed online, pin one "
            f"(`setu partner remove {party}`, then `setu partner add {party} --cert ...`)"
        )
    return partner.tls_certificate


def check_link(session: Session, party: str, pinned: str) -> None:
    """Refuse when ``party`` is no longer a partner, or its pinned certificate changed since the listener started."""
    if pinned_certificate(session, party) != pinned:
        raise FederationError(f"the certificate pinned for {party} changed since this listener started; restart it")


def read_page(session: Session, partner: str, query: FeedQuery) -> FeedPage:
    """The entries of the feed to ``partner`` that ``query`` matches, in seq order, at most ``query.limit``."""
    if query.spec_versions and "2.1" not in query.spec_versions:
        return FeedPage([], False)  # every object here is STIX 2.1
    conditions: list[ColumnElement[bool]] = [OutboundEntry.partner == partner, OutboundEntry.seq > query.after]
    if query.added_after is not None:
        conditions.append(OutboundEntry.created_at > query.added_after.astimezone(UTC))
    if query.ids:
        conditions.append(OutboundEntry.stix_id.in_(query.ids))
    if query.types:
        conditions.append(or_(*(OutboundEntry.stix_id.startswith(f"{t}--", autoescape=True) for t in query.types)))
    if "all" not in query.versions:
        other = aliased(OutboundEntry)
        # The feed's own bookkeeping (is there a later or earlier version of the same object), not a read of records.
        later = unfiltered(other.seq).where(other.partner == partner, other.stix_id == OutboundEntry.stix_id)
        wanted = []
        if "last" in query.versions:
            wanted.append(~later.where(other.seq > OutboundEntry.seq).exists())
        if "first" in query.versions:
            wanted.append(~later.where(other.seq < OutboundEntry.seq).exists())
        conditions.append(or_(*wanted))
    # The feed is the partner's already: the read filter was applied as the partner when each entry was
    # appended (feed.publish), and the listener is reachable only with the partner's pinned certificate.
    statement = (
        unfiltered(OutboundEntry.seq, OutboundEntry.stix_id, OutboundEntry.created_at, OutboundEntry.object)
        .where(and_(*conditions))
        .order_by(OutboundEntry.seq)
        .limit(query.limit + 1)
    )
    rows = [FeedRow(*row) for row in session.execute(statement).all()]
    return FeedPage(rows[: query.limit], len(rows) > query.limit)


def serve_page(
    sessions: sessionmaker[Session], local: str, partner: str, query: FeedQuery, *, endpoint: str
) -> FeedPage:
    """Publish the latest changes to ``partner``, then read one page of its feed and audit the read.

    Parameters
    ----------
    sessions
        This instance's database.
    local
        This instance's party.
    partner
        The partner whose feed it is (the one the listener's certificate admits).
    query
        What the partner asked for.
    endpoint
        Which TAXII endpoint answers (``objects``, ``object``, ``versions``, ``manifest``), for the audit.

    Returns
    -------
    FeedPage
        The page, every entry as stored.
    """
    # Publishing first, in a transaction of its own, means a pull always sees what is releasable now;
    # the read after it then holds no lock while the page is written out.
    with transaction(sessions) as session:
        publish(session, this_instance(session, local), partner)
    with transaction(sessions) as session:
        page = read_page(session, partner, query)
        details: dict[str, Any] = {
            "endpoint": endpoint,
            "collection": collection_id(local, partner),
            "after_seq": query.after,
            "added_after": taxii_time(query.added_after) if query.added_after else None,
            "limit": query.limit,
            "count": len(page.rows),
            "first_seq": page.rows[0].seq if page.rows else None,
            "last_seq": page.rows[-1].seq if page.rows else None,
            "more": page.more,
        }
        if query.ids:
            details["ids"] = list(query.ids)[:20]
        record(
            session,
            None,
            "federation.taxii.read",
            "partner",
            partner,
            actor_name=f"partner {partner} (mutual TLS)",
            party=local,
            details=details,
        )
    return page


def witness_header(sessions: sessionmaker[Session], local: str, partner: str, first: int, last: int) -> dict[str, Any]:
    """The signed header of feed entries ``first``..``last`` to ``partner`` (a checkpoint is issued for it)."""
    with transaction(sessions) as session:
        bundle = export_bundle(session, this_instance(session, local), partner, first - 1, last)
        header: dict[str, Any] = bundle["objects"][0]
        if header["count"] != last - first + 1:
            raise TaxiiError(404, f"the feed holds no entries {first}-{last}")
        record(
            session,
            None,
            "federation.export",
            "partner",
            partner,
            actor_name=f"partner {partner} (mutual TLS)",
            party=local,
            details={
                "first_seq": first,
                "last_seq": last,
                "count": header["count"],
                "tree_size": header["checkpoint"]["tree_size"],
            },
        )
    return header


# -- HTTP ------------------------------------------------------------------------------------------------

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class TaxiiError(Exception):
    """A request the server refuses, answered with a TAXII error message."""

    def __init__(self, status: int, title: str, description: str = "") -> None:
        super().__init__(title)
        self.status, self.title, self.description = status, title, description


@dataclass(frozen=True, slots=True)
class Response:
    """What one request gets: a status, TAXII JSON, extra headers."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, value: dict[str, Any], headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, json.dumps(value, ensure_ascii=False).encode(), headers)


def _error(error: TaxiiError) -> Response:
    body = {"title": error.title, "description": error.description, "http_status": str(error.status)}
    headers = (("Allow", "GET"),) if error.status == 405 else ()
    return _json(error.status, body, headers)


def accepts_taxii(header: str) -> bool:
    """Whether an ``Accept`` header admits TAXII 2.1 JSON (``application/taxii+json``, version 2.1 or unstated)."""
    for media_range in header.split(","):
        kind, *parameters = (part.strip().lower() for part in media_range.split(";"))
        params = {name.strip(): value.strip().strip('"') for name, _, value in (p.partition("=") for p in parameters)}
        if params.get("q", "1") in ("0", "0.0", "0.00", "0.000"):
            continue  # "q=0": explicitly not acceptable
        if kind == "application/taxii+json" and params.get("version", "2.1") == "2.1":
            return True
    return False


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise TaxiiError(400, f"{name} given {len(values)} times", f"give {name} at most once")
    return values[0].strip()


def _many(params: dict[str, list[str]], name: str) -> tuple[str, ...]:
    """A filter's values: comma-separated, repeated or both (TAXII's ``match[...]``)."""
    return tuple(value.strip() for given in params.get(name, []) for value in given.split(",") if value.strip())


def _count(text: str | None, name: str, *, least: int) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < least:
        raise TaxiiError(400, f"{name} must be an integer of at least {least}, got {text[:40]!r}")
    return int(text)


def parse_query(query_string: bytes, *, versions: frozenset[str] = frozenset({"last"})) -> FeedQuery:
    """A :class:`FeedQuery` from a URL's query (``next``, ``added_after``, ``limit``, ``match[...]``), or a 400.

    ``next`` is a sequence number: the last seq of the previous page, so a reader resumes from what it
    applied. ``limit`` above :data:`MAX_PAGE` is lowered to it (TAXII lets a server answer fewer).
    """
    params = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
    added_after = None
    if (text := _one(params, "added_after")) is not None:
        try:
            added_after = datetime.fromisoformat(text.replace("z", "Z"))
            if added_after.tzinfo is None:
                raise TaxiiError(400, f"added_after needs a time zone (e.g. Z), got {text[:40]!r}")
            added_after = added_after.astimezone(UTC)
        except (ValueError, OverflowError):
            raise TaxiiError(400, f"added_after is not a timestamp: {text[:40]!r}") from None
    wanted = frozenset(_many(params, "match[version]")) or versions
    if not wanted <= VERSIONS:
        raise TaxiiError(
            400, "match[version] not supported", f"this server matches versions {', '.join(sorted(VERSIONS))}"
        )
    types = _many(params, "match[type]")
    if not all(STIX_TYPE.fullmatch(t) for t in types):
        raise TaxiiError(400, "match[type] holds a value that is not a STIX type")
    ids = _many(params, "match[id]")
    for stix_id in ids:
        check_stix_id(stix_id)
    limit = _count(_one(params, "limit"), "limit", least=1) or MAX_PAGE
    return FeedQuery(
        after=_count(_one(params, "next"), "next", least=0) or 0,
        added_after=added_after,
        limit=min(limit, MAX_PAGE),
        ids=ids,
        types=types,
        versions=wanted,
        spec_versions=_many(params, "match[spec_version]"),
    )


def check_stix_id(text: str) -> str:
    """``text`` if it is a STIX identifier (``type--uuid``), else a 400."""
    if not STIX_ID.fullmatch(text):
        raise TaxiiError(400, f"not a STIX identifier: {text[:80]!r}", "a STIX id is type--UUID")
    return text


def _date_headers(page: FeedPage) -> tuple[tuple[str, str], ...]:
    if not page.rows:
        return ()
    return (
        ("X-TAXII-Date-Added-First", taxii_time(page.rows[0].added)),
        ("X-TAXII-Date-Added-Last", taxii_time(page.rows[-1].added)),
    )


def _paged(page: FeedPage, key: str, items: list[str]) -> Response:
    """An envelope (or manifest, versions) of ``items``, already JSON, with ``more`` and ``next``."""
    parts = [f'"more":{"true" if page.more else "false"}']
    if page.more:
        parts.append(f'"next":"{page.rows[-1].seq}"')
    if items:
        parts.append(f'"{key}":[' + ",".join(items) + "]")
    return Response(200, ("{" + ",".join(parts) + "}").encode(), _date_headers(page))


def _version(row: FeedRow) -> str:
    obj = json.loads(row.text)
    return str(obj.get("modified") or obj["created"])  # marking definitions have no versions: created


class TaxiiApp:
    """The ASGI app of one partner's listener: TAXII 2.1 discovery, API root, the one collection, its objects.

    Parameters
    ----------
    sessions
        This instance's database.
    local
        This instance's party.
    partner
        The partner whose pinned certificate the listener requires.
    pinned
        That certificate (PEM) as pinned when the listener started.
    """

    def __init__(self, sessions: sessionmaker[Session], local: str, partner: str, pinned: str) -> None:
        self.sessions, self.local, self.partner, self.pinned = sessions, local, partner, pinned
        self.collection = collection_id(local, partner)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # served with lifespan="off" and no websockets: HTTP is all there is
        # The database work runs in a thread, so a slow page never holds up the event loop's other requests.
        response = await asyncio.to_thread(self.respond, scope)
        headers = [
            (b"content-type", MEDIA_TAXII.encode()),
            (b"content-length", str(len(response.body)).encode()),
            # Records marked for a partner are not for any cache on the way.
            (b"cache-control", b"no-store"),
            *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.headers),
        ]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    def respond(self, scope: Scope) -> Response:
        """The response to one request (errors as TAXII error messages)."""
        try:
            return self._route(scope)
        except TaxiiError as error:
            return _error(error)
        except FederationError as error:
            return _error(TaxiiError(403, f"the link to {self.partner} is closed here", str(error)))
        except OperationalError:
            log.exception("the database refused a TAXII request")
            return _error(TaxiiError(503, "the database is busy or unreachable", "retry later"))
        except Exception:
            log.exception("a TAXII request failed")
            return _error(TaxiiError(500, "internal error", "the server's log has the details"))

    def _route(self, scope: Scope) -> Response:
        if scope["method"] != "GET":
            raise TaxiiError(405, f"{scope['method']} is not served", "every collection here is read-only: GET only")
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            headers[name] = ", ".join(filter(None, (headers.get(name), raw_value.decode("latin-1"))))
        if not accepts_taxii(headers.get("accept", "")):
            raise TaxiiError(406, "not acceptable", f"this server answers {MEDIA_TAXII} only (Accept)")
        with transaction(self.sessions) as session:
            check_link(session, self.partner, self.pinned)
        path: str = scope["path"]
        parts = path.strip("/").split("/") if path.endswith("/") else []
        match parts:
            case ["taxii2"]:
                return self._discovery(scope, headers)
            case [root] if root == API_ROOT:
                return _json(200, self._api_root())
            case [root, "collections"] if root == API_ROOT:
                return _json(200, {"collections": [self._collection()]})
            case [root, "collections", collection, *rest] if root == API_ROOT:
                if collection != self.collection:
                    raise TaxiiError(404, f"no collection {collection[:64]} here", f"the one here is {self.collection}")
                return self._in_collection(rest, scope["query_string"])
        raise TaxiiError(404, f"nothing at {path[:200]}", f"TAXII 2.1: /taxii2/ and /{API_ROOT}/ (paths end in /)")

    def _in_collection(self, rest: list[str], query_string: bytes) -> Response:
        match rest:
            case []:
                return _json(200, self._collection())
            case ["objects"]:
                page = self._page(parse_query(query_string), "objects")
                return _paged(page, "objects", [row.text for row in page.rows])
            case ["witness"]:
                return _json(200, self._witness(query_string))
            case ["manifest"]:
                page = self._page(parse_query(query_string), "manifest")
                manifest = [
                    json.dumps(
                        {
                            "id": r.stix_id,
                            "date_added": taxii_time(r.added),
                            "version": _version(r),
                            "media_type": MEDIA_STIX,
                        }
                    )
                    for r in page.rows
                ]
                return _paged(page, "objects", manifest)
            case ["objects", stix_id]:
                query = parse_query(query_string)
                page = self._page(replace(query, ids=(check_stix_id(stix_id),)), "object", stix_id)
                return _paged(page, "objects", [row.text for row in page.rows])
            case ["objects", stix_id, "versions"]:
                query = parse_query(query_string, versions=frozenset({"all"}))
                page = self._page(replace(query, ids=(check_stix_id(stix_id),)), "versions", stix_id)
                return _paged(page, "versions", [json.dumps(_version(row)) for row in page.rows])
        raise TaxiiError(404, "no such resource in the collection", "objects/, objects/{id}/, versions/, manifest/")

    def _witness(self, query_string: bytes) -> dict[str, Any]:
        """The signed batch header of the feed entries ``first``..``last`` (Setu's extension, beside TAXII's).

        What a bundle file's first object holds: the objects' digest, this instance's newest checkpoint, the
        consistency proofs and the release entries with their inclusion proofs. A puller checks a page with
        it exactly as it checks a bundle file.
        """
        params = parse_qs(query_string.decode("ascii", "replace"))
        first, last = _count(_one(params, "first"), "first", least=1), _count(_one(params, "last"), "last", least=0)
        most = MAX_PAGE + release_chunk()  # a page, extended to the end of the last release entry it starts
        if first is None or last is None or last < first - 1 or last - first >= most:
            raise TaxiiError(400, "first and last must name at most one page of the feed", f"up to {most} entries")
        return witness_header(self.sessions, self.local, self.partner, first, last)

    def _page(self, query: FeedQuery, endpoint: str, stix_id: str = "") -> FeedPage:
        page = serve_page(self.sessions, self.local, self.partner, query, endpoint=endpoint)
        if stix_id and not page.rows and not query.after and query.added_after is None:
            raise TaxiiError(404, f"no object {stix_id[:100]} in the collection")
        return page

    def _discovery(self, scope: Scope, headers: dict[str, str]) -> Response:
        host = headers.get("host") or "{}:{}".format(*scope["server"])
        root = f"{scope.get('scheme', 'https')}://{host}/{API_ROOT}/"
        return _json(
            200,
            {
                "title": f"Setu instance of {self.local}",
                "description": f"The records {self.local} releases to {self.partner}, for {self.partner} only.",
                "default": root,
                "api_roots": [root],
            },
        )

    def _api_root(self) -> dict[str, Any]:
        return {
            "title": f"Setu federation feeds of {self.local}",
            "description": "Signed STIX 2.1 feeds of released records, one collection per partner listener.",
            "versions": [MEDIA_TAXII],
            "max_content_length": 0,  # nothing may be written here
        }

    def _collection(self) -> dict[str, Any]:
        return {
            "id": self.collection,
            "title": f"Records {self.local} releases to {self.partner}",
            "description": (
                f"Every change to what {self.local} releases to {self.partner}, numbered from 1 (x_setu_seq) and "
                f"signed by {self.local}'s key; a retraction is a revoked version. Ask match[version]=all for the "
                "whole feed; next is the last seq read."
            ),
            "can_read": True,
            "can_write": False,
            "media_types": [MEDIA_STIX],
        }
