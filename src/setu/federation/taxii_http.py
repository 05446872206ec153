"""The TAXII 2.1 listener as a plain ASGI app: routes, query parsing and TAXII error messages.

The queries it answers with live in :mod:`setu.federation.taxii`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from setu.db import transaction
from setu.federation.identity import FederationError
from setu.federation.taxii import (
    API_ROOT,
    MAX_PAGE,
    MEDIA_STIX,
    MEDIA_TAXII,
    STIX_ID,
    STIX_TYPE,
    VERSIONS,
    FeedPage,
    FeedQuery,
    FeedRow,
    check_link,
    collection_id,
    serve_page,
    taxii_time,
    witness_header,
)
from setu.federation.witness import release_chunk

# -- HTTP ------------------------------------------------------------------------------------------------

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


log = logging.getLogger("setu.federation.taxii")


MAX_IN_FLIGHT = 4
"""Requests one listener answers at once; more are answered 503 with ``Retry-After`` (a partner's pull asks one
page at a time)."""
PUBLISH_EVERY_SECONDS = 5.0
"""A listener publishes the latest changes before a read at most this often: a publish reads the whole
releasable set, which no partner's stream of requests should make it do on every page."""


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
        self.in_flight = 0
        self.published_at = -PUBLISH_EVERY_SECONDS
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # served with lifespan="off" and no websockets: HTTP is all there is
        if self.in_flight >= MAX_IN_FLIGHT:
            # One partner's listener does a few things at once; a flood is refused at once, not queued.
            busy = TaxiiError(503, "the listener is busy", f"at most {MAX_IN_FLIGHT} requests at once; retry")
            refused = _error(busy)
            response = replace(refused, headers=(*refused.headers, ("Retry-After", "1")))
        else:
            self.in_flight += 1
            try:
                # The database work runs in a thread, so a slow page never holds up the event loop.
                response = await asyncio.to_thread(self.respond, scope)
            finally:
                self.in_flight -= 1
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
        try:
            return witness_header(self.sessions, self.local, self.partner, first, last)
        except LookupError as missing:
            raise TaxiiError(404, str(missing)) from None

    def _page(self, query: FeedQuery, endpoint: str, stix_id: str = "") -> FeedPage:
        with self._lock:
            fresh = time.monotonic() - self.published_at >= PUBLISH_EVERY_SECONDS
            if fresh:
                self.published_at = time.monotonic()
        page = serve_page(self.sessions, self.local, self.partner, query, endpoint=endpoint, fresh=fresh)
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
