"""Pulling a partner's feed over TAXII 2.1 with mutual TLS, page by page, each page checked in full and applied whole.

The client trusts one certificate, the partner's pinned one, as the only authority (no system CA can
speak for the partner), and shows this instance's own certificate, the one the partner pinned. It asks
for the whole feed (``match[version]=all``) after the last sequence number applied from the partner,
so a pull that stopped anywhere resumes where the database stands. Each page is one transaction: the
same checks as a bundle file (:func:`setu.federation.bundles.check_entries`: signatures of the pinned
key, sender and receiver, sequence without gaps, no fork), then :func:`setu.federation.receive.apply_entries`;
a page refused stores nothing, and the pages before it stay applied.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session, sessionmaker

from setu.audit.log import record
from setu.db import transaction
from setu.federation.bundles import check_bundle, last_applied_seq, load_json
from setu.federation.feed import lock_partner
from setu.federation.identity import FederationError, configured_party, this_instance
from setu.federation.partners import get_partner
from setu.federation.receive import ApplyReport, apply_entries
from setu.federation.taxii import API_ROOT, MAX_PAGE, MEDIA_TAXII, collection_id
from setu.federation.witness import MAX_RELEASE_CHUNK, ForkDetected, keep_fork

TIMEOUT_SECONDS = 120.0
"""How long one request may wait for the partner (a page of 1000 objects is about 1 MB)."""
ANSWER_BYTES_BASE = 4 * 1024**2
ANSWER_BYTES_PER_ENTRY = 8 * 1024


def answer_bytes(entries: int) -> int:
    """The most bytes an answer about ``entries`` feed entries may have (a page, its header): 4 MiB and 8 KiB an entry.

    A signed entry is about 1 KB, so an honest page is far below it (a full page of 1,000 may have 11.8 MiB). The
    bound is what keeps a hostile listener from exhausting the puller's memory: parsed, JSON can take some 25
    times its size (a page of ``{}``).
    """
    return ANSWER_BYTES_BASE + entries * ANSWER_BYTES_PER_ENTRY


@dataclass(frozen=True, slots=True)
class PageReport:
    """One page pulled and applied: its number, the sequence numbers it held, what applying it did."""

    page: int
    first_seq: int
    last_seq: int
    report: ApplyReport


@dataclass
class PullReport:
    """A whole pull: every page applied, and where the feed from the partner stands now."""

    partner: str
    start_seq: int
    pages: list[PageReport] = field(default_factory=list)

    @property
    def last_seq(self) -> int:
        """The last sequence number applied from the partner after the pull."""
        return self.pages[-1].last_seq if self.pages else self.start_seq

    @property
    def applied(self) -> int:
        """Entries applied by this pull (entries another pull applied first are not counted)."""
        return sum(page.report.applied for page in self.pages)


def client_context(pinned: str, cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS client context trusting only the ``pinned`` certificate (PEM) and presenting ``cert`` and ``key``."""
    try:
        context = ssl.create_default_context(cadata=pinned)
    except ssl.SSLError as error:
        raise FederationError(f"the pinned certificate cannot be used as a trust anchor: {error}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # TAXII 2.1 asks for TLS 1.2 or later
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise FederationError(f"cannot use the certificate {cert} and key {key}: {error}") from None
    return context


def collection_url(base: str, sender: str, receiver: str) -> str:
    """The URL of ``sender``'s collection for ``receiver`` on ``sender``'s listener at ``base`` (https://host:port)."""
    return f"{base.rstrip('/')}/{API_ROOT}/collections/{collection_id(sender, receiver)}/"


def _taxii_error(error: urllib.error.HTTPError) -> str:
    """The title and description of a TAXII error message, or the HTTP reason."""
    try:
        body = load_json(error.read(64 * 1024))
        return f"{body.get('title', error.reason)}: {body.get('description', '')}".rstrip(": ")
    except (ValueError, OSError, AttributeError):
        return str(error.reason)


def fetch(opener: urllib.request.OpenerDirector, url: str, where: str, max_bytes: int) -> dict[str, Any]:
    """GET a TAXII resource of at most ``max_bytes`` and return its JSON, or a :class:`FederationError` naming
    ``where`` and the cause (no more than ``max_bytes + 1`` bytes are ever read)."""
    request = urllib.request.Request(url, headers={"Accept": MEDIA_TAXII})
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            content_type = response.headers.get("Content-Type", "")
            body = response.read(max_bytes + 1)
    except urllib.error.HTTPError as error:
        raise FederationError(f"{where}: the partner answered {error.code}, {_taxii_error(error)}") from None
    except urllib.error.URLError as error:
        raise FederationError(f"{where}: cannot reach {url}: {error.reason}") from None
    except (OSError, http.client.HTTPException) as error:
        raise FederationError(f"{where}: the connection to {url} failed: {error!r}") from None
    if not content_type.replace(" ", "").startswith("application/taxii+json"):
        raise FederationError(f"{where}: the answer is {content_type or 'untyped'}, not {MEDIA_TAXII}")
    if len(body) > max_bytes:
        raise FederationError(f"{where}: the answer is over {max_bytes} bytes")
    try:
        parsed = load_json(body)
    except ValueError as error:  # a syntax error, not UTF-8, nested too deep, a number out of range
        raise FederationError(f"{where}: the answer is not JSON ({error})") from None
    if not isinstance(parsed, dict):
        raise FederationError(f"{where}: the answer is not a TAXII resource (a JSON object)")
    return parsed


def _objects(envelope: dict[str, Any], asked: int, where: str) -> list[Any]:
    """The objects of a TAXII envelope, refused unless a list of at most the ``asked`` limit."""
    objects = envelope.get("objects", [])
    if not isinstance(objects, list):
        raise FederationError(f"{where}: 'objects' is not a list")
    if len(objects) > asked:
        raise FederationError(f"{where}: the partner sent {len(objects)} objects, {asked} were asked for")
    return objects


def _apply_page(
    sessions: sessionmaker[Session],
    party: str,
    header: dict[str, Any],
    objects: list[Any],
    after: int,
    source: str,
    actor_name: str,
) -> ApplyReport:
    """Check and apply one page in one transaction: all of it, or nothing and an error naming the object.

    The page and its signed header are checked as a bundle file is (:func:`check_bundle`), the witness's
    checks included; a fork stores nothing of the page but its evidence, in a transaction of its own.
    """
    try:
        with transaction(sessions) as session:
            instance = this_instance(session)
            # Under the partner row's lock, so two pulls on one database take turns rather than collide.
            lock_partner(session, party)
            checked = check_bundle(session, instance, {"type": "bundle", "objects": [header, *objects]}, source)
            if checked.first_seq != after + 1:
                raise FederationError(f"{source}: the header is for seq {checked.first_seq}, not {after + 1}")
            try:
                report = apply_entries(session, instance, checked.partner, checked.new, checked.witnessed)
            except FederationError as error:
                raise FederationError(f"{source}: {error}") from None
            _record_pull(session, instance.party, party, actor_name, after, objects, report)
    except ForkDetected as fork:
        with transaction(sessions) as session:
            keep_fork(session, this_instance(session), fork)
        raise
    return report


def _header(
    opener: urllib.request.OpenerDirector, url: str, after: int, objects: list[Any], source: str
) -> dict[str, Any]:
    """The partner's signed header of entries ``after + 1`` .. ``after + len(objects)`` (checkpoint and proofs)."""
    witness = urlencode({"first": after + 1, "last": after + len(objects)})
    return fetch(opener, f"{url}witness/?{witness}", f"{source}, its signed header", answer_bytes(len(objects)))


def release_end(release: Any) -> int:
    """The last sequence number a release entry of a header covers (0 if it cannot be read: the check says why)."""
    try:
        return int(json.loads(release["entry"]["details"])["last_seq"])
    except (KeyError, TypeError, ValueError, RecursionError):
        return 0


def _record_pull(
    session: Session, local: str, party: str, actor_name: str, after: int, objects: list[Any], report: ApplyReport
) -> None:
    record(
        session,
        None,
        "federation.pull",
        "partner",
        party,
        actor_name=actor_name,
        party=local,
        details={
            "first_seq": after + 1,
            "last_seq": after + len(objects),
            "applied": report.applied,
            "retracted": report.retracted,
            "receipts": report.receipts,
        },
    )


def pull(
    sessions: sessionmaker[Session],
    party: str,
    *,
    cert: Path,
    key: Path,
    page_size: int = MAX_PAGE,
    actor_name: str = "",
    on_page: Callable[[PageReport], None] | None = None,
) -> PullReport:
    """Pull ``party``'s feed from its TAXII listener and apply it, one transaction a page, until none is left.

    Parameters
    ----------
    sessions
        This instance's database.
    party
        The partner (its URL and pinned certificate come from its partner row).
    cert, key
        This instance's TLS certificate and key (the ones the partner pinned).
    page_size
        Objects asked per page (the partner may answer fewer).
    actor_name
        Who pulls, for the audit entry of each page.
    on_page
        Called after each page is committed (the CLI prints it).

    Returns
    -------
    PullReport
        Every page applied.

    Raises
    ------
    FederationError
        Naming the partner, the page and, for a refused entry, the object; the pages before it stay applied.
    """
    if not 1 <= page_size <= MAX_PAGE:
        raise FederationError(f"the page size must be 1 to {MAX_PAGE}, got {page_size}")
    local = configured_party()
    with transaction(sessions) as session:
        partner = get_partner(session, party)
        if not partner.url:
            raise FederationError(f"{party} has no URL (an air-gapped partner): exchange bundle files with it")
        base, pinned = partner.url, partner.tls_certificate
        after = last_applied_seq(session, party)
    opener = urllib.request.build_opener(
        # Straight to the partner: no proxy from the environment sits inside the mutual TLS link.
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=client_context(pinned, cert, key)),
    )
    url = collection_url(base, party, local)
    fetch(
        opener, url, f"{party}'s TAXII collection", answer_bytes(0)
    )  # a clear error when the listener serves another feed
    report = PullReport(party, after)
    while True:
        number = len(report.pages) + 1
        source = f"{party}'s TAXII feed, page {number} (after seq {after})"
        query = urlencode({"match[version]": "all", "limit": page_size, "next": after})
        envelope = fetch(opener, f"{url}objects/?{query}", source, answer_bytes(page_size))
        objects = _objects(envelope, page_size, source)
        if objects:
            header = _header(opener, url, after, objects, source)
            releases = header.get("releases") or []
            ends = [release_end(release) for release in releases] if isinstance(releases, list) else []
            last = after + len(objects)
            if ends and max(ends) > last:
                # The last release entry the page starts runs on: fetch the rest of it, so that it can be verified.
                # As many as the header says, but never more than a release entry may cover: the puller's bound.
                more = max(ends) - last
                if more >= MAX_RELEASE_CHUNK:
                    raise FederationError(
                        f"{source}: its header's release entries run on to seq {max(ends)}, {more} entries after the "
                        f"page, and a release entry covers at most {MAX_RELEASE_CHUNK}"
                    )
                query = urlencode({"match[version]": "all", "limit": more, "next": last})
                where = f"{source}, the rest of its release entry"
                rest = fetch(opener, f"{url}objects/?{query}", where, answer_bytes(more))
                objects = [*objects, *_objects(rest, more, where)]
                header = _header(opener, url, after, objects, source)
            applied = _apply_page(sessions, party, header, objects, after, source, actor_name)
            page = PageReport(number, after + 1, after + len(objects), applied)
            report.pages.append(page)
            after = page.last_seq
            if on_page is not None:
                on_page(page)
        if envelope.get("more") is not True:
            return report
        if not objects:
            raise FederationError(f"{source}: the partner says there is more but sent no objects")
