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

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import Session, aliased, sessionmaker

from setu.audit.log import record
from setu.db import transaction
from setu.federation.bundles import export_bundle
from setu.federation.feed import publish
from setu.federation.identity import FederationError, this_instance
from setu.federation.partners import get_partner
from setu.federation.witness import record_shown
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
    sessions: sessionmaker[Session],
    local: str,
    partner: str,
    query: FeedQuery,
    *,
    endpoint: str,
    fresh: bool = True,
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
    fresh
        Publish the latest changes first (the listener does at most every few seconds: a publish reads the
        whole releasable set, and a partner's requests must not make it do that on every page).

    Returns
    -------
    FeedPage
        The page, every entry as stored.
    """
    # Publishing first, in a transaction of its own, means a pull always sees what is releasable now;
    # the read after it then holds no lock while the page is written out.
    if fresh:
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
            raise LookupError(f"the feed holds no entries {first}-{last}")
        record_shown(session, local, partner, header, f"partner {partner} (mutual TLS)")
    return header
