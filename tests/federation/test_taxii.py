"""`setu federation serve`: India's feed to the US as a TAXII 2.1 collection behind mutual TLS.

One real listener process on the seeded demo serves the whole module; the OASIS client (taxii2-client)
and plain HTTPS requests read it with the US certificate India pinned, and strangers are turned away in
the TLS handshake.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import stix2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from taxii2client.v21 import Server, as_pages
from typer.testing import CliRunner

from federation.online import HOST, Listener, certificate, environment, pin, serve
from setu.accounts.passwords import configure_hasher
from setu.cli import app
from setu.db import create_schema, make_engine, session_factory, transaction
from setu.demo.seed import seed_demo, seed_demo_registry
from setu.federation.kinds import KINDS
from setu.federation.taxii import MAX_PAGE, MEDIA_TAXII, FeedQuery, collection_id, read_page
from setu.federation.taxii_http import accepts_taxii
from setu.models.audit import AuditEntry, AuditPending
from setu.models.federation import OutboundEntry
from setu.models.sosa import CalendarEntry
from setu.sharing.markings import MarkingSpec, store

OUR_TYPES = {kind.stix_type for kind in KINDS} | {"identity", "marking-definition"}


@dataclass
class Served:
    """India's listener for the US, and the certificates around it."""

    listener: Listener
    sessions: sessionmaker[Session]
    server_cert: Path
    us: tuple[str, str]
    stranger: tuple[str, str]

    @property
    def root(self) -> str:
        return f"{self.listener.base}/setu/"

    @property
    def objects_url(self) -> str:
        return f"{self.root}collections/{collection_id('IN', 'US')}/objects/"

    def get(self, url: str, accept: str = MEDIA_TAXII, **params: Any) -> requests.Response:
        return requests.get(
            url, params=params, headers={"Accept": accept}, cert=self.us, verify=str(self.server_cert), timeout=30
        )


@pytest.fixture(autouse=True)
def no_ca_bundle_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE) win over a session's own ``verify``; the tests pin."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def _random_public_key() -> str:
    return Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("taxii")
    url = f"sqlite:///{folder / 'in.db'}"
    engine = make_engine(url)
    with pytest.MonkeyPatch.context() as patch:
        # Module-wide, so the per-test key folder and cheap hashing are not there yet: set them here.
        patch.setenv("SETU_KEY_DIR", str(folder / "keys"))
        patch.setenv("SETU_CHECKPOINT_AUTO", "0")
        configure_hasher(time_cost=1, memory_cost=8192, parallelism=1)
        try:
            create_schema(engine)
            sessions = session_factory(engine)
            seed_demo(sessions)
            seed_demo_registry(sessions)
            _more_of_indias_own(sessions)
        finally:
            configure_hasher()
        server_cert, server_key = certificate(folder, "IN")
        us_cert, us_key = certificate(folder, "US")
        stranger_cert, stranger_key = certificate(folder, "US", "stranger")  # a US certificate, not the pinned one
        pin(sessions, local="IN", party="US", public_key=_random_public_key(), certificate=us_cert)
        env = environment("IN", url, folder / "keys")
    listener = serve(env, "US", server_cert, server_key, folder / "serve.log")
    try:
        yield Served(
            listener, sessions, server_cert, (str(us_cert), str(us_key)), (str(stranger_cert), str(stranger_key))
        )
    finally:
        listener.stop()
        print(listener.output())
        engine.dispose()


def _more_of_indias_own(sessions: sessionmaker[Session]) -> None:
    """400 calendar entries of India's: the demo's records India may release (its own, under its own markings)
    are fewer than a page of ``MAX_PAGE``, and paging is tested across more than one."""
    with transaction(sessions) as session:
        marking = store(session, MarkingSpec(0, "IN", frozenset({"IN", "US"})))
        session.add_all(
            CalendarEntry(
                party_code="IN",
                day=date(2030, 1, 1) + timedelta(days=day),
                name="Closed",
                working=False,
                created_by=0,
                marking_id=marking.id,
            )
            for day in range(400)
        )


def _feed(served: Served) -> list[tuple[int, str]]:
    with transaction(served.sessions) as session:
        rows = session.execute(
            select(OutboundEntry.seq, OutboundEntry.stix_id).where(OutboundEntry.partner == "US").order_by("seq")
        )
        return [(seq, stix_id) for seq, stix_id in rows]


def _reads(served: Served) -> int:
    with transaction(served.sessions) as session:
        return sum(
            int(session.scalar(select(func.count()).select_from(table).where(table.action == "federation.taxii.read")))
            for table in (AuditPending, AuditEntry)
        )


def test_the_oasis_client_reads_the_collection_and_every_object_is_valid_stix(served: Served) -> None:
    server = Server(f"{served.listener.base}/taxii2/", cert=served.us, verify=str(served.server_cert))
    assert server.title == "Setu instance of IN"
    root = server.default
    assert root is not None and root.url == served.root
    assert root.versions == [MEDIA_TAXII]
    [collection] = root.collections
    assert collection.id == collection_id("IN", "US")
    assert collection.can_read and not collection.can_write
    objects = [obj for envelope in as_pages(collection.get_objects, per_request=900) for obj in envelope["objects"]]
    feed = _feed(served)
    assert feed, "the first objects request publishes the feed"
    # TAXII's default is the last version of each object: here each object once (nothing changed yet).
    assert [obj["id"] for obj in objects] == [stix_id for _seq, stix_id in feed]
    for obj in objects:
        parsed = stix2.parse(obj, allow_custom=True)
        assert parsed["type"] in OUR_TYPES
        assert obj["x_setu_from"] == "IN" and obj["x_setu_to"] == "US" and obj["x_setu_signature"]
    assert {obj["type"] for obj in objects} >= {"identity", "marking-definition", "x-setu-node", "x-setu-supply"}


def test_a_client_without_the_pinned_certificate_is_refused_in_the_handshake(served: Served) -> None:
    def answer(cert: tuple[str, str] | None, tls: ssl.TLSVersion) -> bytes | Exception:
        context = ssl.create_default_context(cafile=str(served.server_cert))
        context.maximum_version = tls
        if cert is not None:
            context.load_cert_chain(*cert)
        with socket.create_connection((HOST, served.listener.port), timeout=10) as raw:
            try:
                tls_socket = context.wrap_socket(raw, server_hostname=HOST)
            except (ssl.SSLError, ConnectionError) as error:
                return error
            with tls_socket:
                tls_socket.sendall(f"GET /taxii2/ HTTP/1.1\r\nHost: {HOST}\r\nAccept: {MEDIA_TAXII}\r\n\r\n".encode())
                try:
                    return tls_socket.recv(4096)
                except (ssl.SSLError, ConnectionError) as error:
                    return error

    for tls in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        assert answer(served.us, tls)[:12] == b"HTTP/1.1 200"  # type: ignore[index]
        for cert in (None, served.stranger):
            refused = answer(cert, tls)
            if tls == ssl.TLSVersion.TLSv1_2:
                assert isinstance(refused, ssl.SSLError), refused  # the handshake itself fails
            else:
                # TLS 1.3 ends the client's side of the handshake first; the server then closes without a word.
                assert refused == b"" or isinstance(refused, ssl.SSLError | ConnectionError), refused
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        Server(f"{served.listener.base}/taxii2/", cert=served.stranger, verify=str(served.server_cert)).refresh()
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(f"{served.listener.base}/taxii2/", verify=str(served.server_cert), timeout=10)


def test_paging_by_limit_and_next_returns_each_entry_once_in_seq_order(served: Served) -> None:
    reads_before = _reads(served)
    seqs: list[int] = []
    after, requests_made = 0, 0
    while True:
        answer = served.get(served.objects_url, limit=600, next=after, **{"match[version]": "all"})
        requests_made += 1
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"] == MEDIA_TAXII
        envelope = answer.json()
        page = [obj["x_setu_seq"] for obj in envelope["objects"]]
        assert len(page) <= 600
        assert answer.headers["X-TAXII-Date-Added-First"] <= answer.headers["X-TAXII-Date-Added-Last"]
        seqs += page
        if not envelope["more"]:
            assert "next" not in envelope
            break
        assert envelope["next"] == str(page[-1])
        after = int(envelope["next"])
    assert seqs == [seq for seq, _ in _feed(served)] == list(range(1, len(seqs) + 1))
    assert requests_made == -(-len(seqs) // 600)
    # Resumable from any sequence number, a limit above the cap is lowered to it, and added_after filters.
    resumed = served.get(served.objects_url, next=1000, limit=5, **{"match[version]": "all"}).json()
    assert [obj["x_setu_seq"] for obj in resumed["objects"]] == [1001, 1002, 1003, 1004, 1005]
    capped = served.get(served.objects_url, limit=MAX_PAGE * 5, **{"match[version]": "all"})
    assert len(capped.json()["objects"]) == MAX_PAGE and capped.json()["more"] is True
    later = served.get(served.objects_url, added_after=capped.headers["X-TAXII-Date-Added-Last"]).json()
    assert later["objects"] and min(obj["x_setu_seq"] for obj in later["objects"]) > MAX_PAGE
    assert _reads(served) - reads_before == requests_made + 3  # one audit entry per objects request


def test_manifest_object_and_versions_endpoints(served: Served) -> None:
    manifest = served.get(served.objects_url.replace("/objects/", "/manifest/"), limit=3).json()
    assert manifest["more"] is True and len(manifest["objects"]) == 3
    first = manifest["objects"][0]
    assert set(first) == {"id", "date_added", "version", "media_type"}
    assert first["media_type"] == "application/stix+json;version=2.1"
    one = served.get(f"{served.objects_url}{first['id']}/").json()
    assert [obj["id"] for obj in one["objects"]] == [first["id"]]
    versions = served.get(f"{served.objects_url}{first['id']}/versions/").json()
    assert versions == {"more": False, "versions": [first["version"]]}
    assert served.get(f"{served.objects_url}identity--00000000-0000-4000-8000-000000000000/").status_code == 404


def test_errors_are_taxii_error_messages(served: Served) -> None:
    wrong_accept = served.get(served.objects_url, accept="application/json")
    assert wrong_accept.status_code == 406
    assert wrong_accept.headers["Content-Type"] == MEDIA_TAXII
    unknown = served.get(f"{served.root}collections/{collection_id('IN', 'FR')}/objects/")
    assert unknown.status_code == 404 and unknown.json()["http_status"] == "404"
    assert "no collection" in unknown.json()["title"]
    assert served.get(served.objects_url, limit=0).status_code == 400
    assert served.get(served.objects_url, added_after="yesterday").status_code == 400
    assert served.get(served.objects_url, **{"match[id]": "x-setu-node--../../etc"}).status_code == 400
    assert served.get(served.objects_url, next="²").status_code == 400
    assert served.get(served.objects_url, **{"match[version]": "2020-01-01T00:00:00Z"}).status_code == 400
    assert served.get(f"{served.listener.base}/docs").status_code == 404  # TAXII only: no docs, no schema
    posted = requests.post(
        served.objects_url,
        json={},
        cert=served.us,
        verify=str(served.server_cert),
        timeout=10,
        headers={"Accept": MEDIA_TAXII},
    )
    assert posted.status_code == 405


def test_a_page_holds_the_versions_types_and_ids_asked_for_in_seq_order(sessions: sessionmaker[Session]) -> None:
    every = frozenset({"all"})
    with transaction(sessions) as session:
        marking = store(session, MarkingSpec(0, "IN", frozenset({"IN", "US"}))).id
        feed = [
            ("US", "x-a--1"),
            ("US", "x-b--1"),
            ("US", "x-a--1"),
            ("FR", "x-a--1"),
            ("US", "x-c--1"),
            ("US", "x-a--1"),
        ]
        for seq, (partner, stix_id) in enumerate(feed, start=1):
            session.add(
                OutboundEntry(partner=partner, seq=seq, stix_id=stix_id, kind="x", object="{}", marking_id=marking)
            )
    with transaction(sessions) as session:

        def seqs(**query: Any) -> list[int]:
            return [row.seq for row in read_page(session, "US", FeedQuery(**query)).rows]

        assert seqs() == [2, 5, 6]  # TAXII's default: the last version of each object
        assert seqs(versions=frozenset({"first"})) == [1, 2, 5]
        assert seqs(versions=frozenset({"first", "last"})) == [1, 2, 5, 6]
        assert seqs(versions=every) == [1, 2, 3, 5, 6]  # never another partner's entries
        assert seqs(versions=every, after=3) == [5, 6]
        assert seqs(versions=every, types=("x-a",)) == [1, 3, 6]
        assert seqs(ids=("x-b--1", "x-c--1")) == [2, 5]
        assert seqs(spec_versions=("2.0",)) == []
        page = read_page(session, "US", FeedQuery(versions=every, limit=2))
        assert [row.seq for row in page.rows] == [1, 2] and page.more
        assert not read_page(session, "US", FeedQuery(versions=every, after=3, limit=2)).more


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (MEDIA_TAXII, True),
        ("application/taxii+json", True),
        ('application/json, application/taxii+json; version="2.1"; q=0.9', True),
        ("application/taxii+json;version=2.0", False),
        ("application/taxii+json;version=2.1;q=0", False),
        ("application/json", False),
        ("*/*", False),
        ("", False),
    ],
)
def test_only_taxii_2_1_json_is_acceptable(header: str, accepted: bool) -> None:
    assert accepts_taxii(header) is accepted


@pytest.mark.parametrize(
    ("party", "pinned", "message"),
    [
        ("", True, "single-instance deployment"),
        ("IN", False, "no pinned TLS certificate"),
        ("IN", True, "FR is not a partner"),
    ],
)
def test_serve_refuses_to_start_without_a_party_a_partner_or_its_certificate(
    party: str, pinned: bool, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'in.db'}"
    engine = make_engine(url)
    create_schema(engine)
    cert, key = certificate(tmp_path, "IN")
    us_cert, _ = certificate(tmp_path, "US")
    with transaction(session_factory(engine)) as session:
        from setu.federation.partners import add_partner

        certificate_pem = us_cert.read_text() if pinned else ""
        add_partner(session, local_party="IN", party="US", public_key=_random_public_key(), certificate=certificate_pem)
    engine.dispose()
    monkeypatch.setenv("SETU_INSTANCE_PARTY", party)
    partner = "FR" if message.startswith("FR") else "US"
    arguments = ["federation", "serve", "--partner", partner, "--cert", str(cert), "--key", str(key)]
    result = CliRunner().invoke(app, [*arguments, "--port", "1", "--database-url", url])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
