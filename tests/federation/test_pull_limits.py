"""A hostile partner's listener cannot exhaust the puller's memory or crash it, nor a hostile bundle file the importer.

The US instance pulls from "India's listener", here a small HTTPS server holding India's pinned certificate
and answering whatever the test makes it answer. The puller must refuse, with an error naming the page and
nothing stored: a page of more objects than it asked for, an answer larger than a page of that many objects
may be, a header whose release entry runs on further than any release entry can, and JSON nested too deep
(which would otherwise raise RecursionError, in the parser or later in signing and validation) or holding
numbers JSON has not. A bundle file is parsed by the same rules.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from federation.conftest import SQLITE_ONLY, Link, Side, held
from federation.online import HOST, certificate, pin
from federation.test_online import SMALL, Online, link_level, online  # noqa: F401 (fixtures)
from setu.db import transaction
from setu.federation import pull as puller
from setu.federation.bundles import BATCH_CONTEXT
from setu.federation.feed import publish
from setu.federation.identity import FederationError, this_instance
from setu.federation.stix import canonical
from setu.federation.taxii import MEDIA_TAXII
from setu.federation.witness import MAX_RELEASE_CHUNK
from setu.models.audit import AuditEntry

Answer = tuple[int, bytes]


@dataclass
class Hostile:
    """India's listener as a hostile operator runs it: each request answered by ``answer``, every request kept."""

    answer: Callable[[str, dict[str, list[str]]], Answer]
    requests: list[str] = field(default_factory=list)

    def endpoints(self) -> list[str]:
        """What each request asked for, in order: ``collection``, ``objects`` or ``witness``."""
        last = [urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] for url in self.requests]
        return [name if name in ("objects", "witness") else "collection" for name in last]


def _envelope(objects: list[object], *, more: bool = False) -> Answer:
    return 200, json.dumps({"objects": objects, "more": more}).encode()


def _honest_collection(path: str, query: dict[str, list[str]]) -> Answer | None:
    """The collection resource (asked first), answered as the real listener would."""
    if path.endswith("/objects/") or path.endswith("/witness/"):
        return None
    return 200, json.dumps({"id": path.rstrip("/").rsplit("/", 1)[-1], "title": "feed", "can_read": True}).encode()


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[tuple[Hostile, int, Path]]:
    """A TLS server on the loopback address with India's certificate; its port and the certificate."""
    cert, key = certificate(tmp_path / "certs", "IN")
    state = Hostile(lambda path, query: (404, b"{}"))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            status, body = _honest_collection(parts.path, query) or state.answer(parts.path, query)
            self.send_response(status)
            self.send_header("Content-Type", MEDIA_TAXII)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the puller hangs up once it has read enough to refuse
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, int(server.server_address[1]), cert
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def us(
    sessions: sessionmaker[Session], hostile: tuple[Hostile, int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Side, Hostile, tuple[Path, Path]]:
    """The US instance, India pinned with the hostile listener's URL and certificate; the US certificate and key."""
    state, port, cert = hostile
    india_key = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    pin(sessions, local="US", party="IN", public_key=india_key, certificate=cert, url=f"https://{HOST}:{port}")
    monkeypatch.setenv("SETU_INSTANCE_PARTY", "US")
    return Side("US", sessions), state, certificate(tmp_path / "certs", "US")


def _pull_refused(us: tuple[Side, Hostile, tuple[Path, Path]], match: str, page_size: int = 5) -> None:
    """The pull fails with an error matching ``match`` and leaves the US database as it was."""
    side, _state, (cert, key) = us
    before = held(side)
    with pytest.raises(FederationError, match=match):
        puller.pull(side.sessions, "IN", cert=cert, key=key, page_size=page_size)
    assert held(side) == before == (0, 0, 0, 0)
    with transaction(side.sessions) as session:
        pulls = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "federation.pull")
        )
        assert pulls == 0


@SQLITE_ONLY
@pytest.mark.parametrize("sent", [6, 200_000], ids=["one-more", "a-flood-of-empty-objects"])
def test_a_page_of_more_objects_than_asked_for_is_refused(
    us: tuple[Side, Hostile, tuple[Path, Path]], sent: int
) -> None:
    _side, state, _certs = us
    state.answer = lambda path, query: _envelope([{}] * sent, more=True)
    _pull_refused(us, rf"IN's TAXII feed, page 1 \(after seq 0\): the partner sent {sent} objects, 5 were asked for")
    assert state.endpoints() == ["collection", "objects"]  # refused before asking for its header


@SQLITE_ONLY
def test_an_answer_larger_than_a_page_of_that_many_objects_may_be_is_refused(
    us: tuple[Side, Hostile, tuple[Path, Path]],
) -> None:
    _side, state, _certs = us
    limit = puller.answer_bytes(5)
    state.answer = lambda path, query: _envelope([{"padding": "x" * limit}])
    _pull_refused(us, rf"page 1 \(after seq 0\): the answer is over {limit} bytes")
    assert limit < 8 * 1024**2  # a page of 5 objects: far below the 256 MB once allowed


def _runs_on_to(last_seq: int) -> Callable[[str, dict[str, list[str]]], Answer]:
    """Answers with one object, whose header's release entry runs on to ``last_seq``."""

    def answer(path: str, query: dict[str, list[str]]) -> Answer:
        if path.endswith("/witness/"):
            release = {"entry": {"details": json.dumps({"first_seq": 1, "last_seq": last_seq})}, "path": []}
            return 200, json.dumps({"releases": [release]}).encode()
        rest = min(
            int(query["limit"][0]) + 1, 2 * MAX_RELEASE_CHUNK
        )  # one more than asked (this server's memory is finite)
        return _envelope([{"type": "x-setu-node"}] * (1 if query["next"] == ["0"] else rest))

    return answer


@SQLITE_ONLY
def test_a_release_entry_running_on_further_than_any_can_is_refused_before_asking_for_it(
    us: tuple[Side, Hostile, tuple[Path, Path]],
) -> None:
    _side, state, _certs = us
    state.answer = _runs_on_to(10**9)
    _pull_refused(
        us,
        rf"page 1 \(after seq 0\): its header's release entries run on to seq {10**9}, .* at most {MAX_RELEASE_CHUNK}",
    )
    assert state.endpoints() == ["collection", "objects", "witness"]  # the rest was never asked for


@SQLITE_ONLY
def test_the_rest_of_a_release_entry_with_more_objects_than_asked_for_is_refused(
    us: tuple[Side, Hostile, tuple[Path, Path]],
) -> None:
    _side, state, _certs = us
    state.answer = _runs_on_to(300)
    _pull_refused(us, r"page 1 \(after seq 0\), the rest of its release entry: the partner sent 300 objects, 299 were")
    assert [parse_qs(urlsplit(url).query).get("limit") for url in state.requests[1:]] == [["5"], None, ["299"]]


DEEP = 900
"""Nesting the parser takes but signing a header, or validating an object, would not (the recursion limit is 1,000)."""
HOSTILE_JSON = {
    "too-deep-to-parse": b"[" * 200_000,
    "deep-but-parseable": b'{"objects": [{"a": ' + b"[" * DEEP + b"]" * DEEP + b"}]}",
    "NaN": b'{"objects": [{"capacity": NaN}]}',
    "infinite": b'{"objects": [{"capacity": 1e999}]}',
    "a-5000-digit-number": b'{"objects": [{"capacity": ' + b"1" * 5000 + b"}]}",
}


@SQLITE_ONLY
@pytest.mark.parametrize("body", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
@pytest.mark.parametrize("endpoint", ["objects", "witness"])
def test_hostile_json_in_an_answer_is_refused_as_not_json(
    us: tuple[Side, Hostile, tuple[Path, Path]], body: bytes, endpoint: str
) -> None:
    _side, state, _certs = us

    def answer(path: str, query: dict[str, list[str]]) -> Answer:
        return (200, body) if path.endswith(f"/{endpoint}/") else _envelope([{"type": "x-setu-node"}])

    state.answer = answer
    where = "" if endpoint == "objects" else ", its signed header"
    _pull_refused(us, rf"IN's TAXII feed, page 1 \(after seq 0\){where}: the answer is not JSON \(")


@SQLITE_ONLY
def test_a_hostile_error_message_is_refused_as_an_error(us: tuple[Side, Hostile, tuple[Path, Path]]) -> None:
    _side, state, _certs = us
    state.answer = lambda path, query: (400, b"[" * 60_000)
    _pull_refused(us, r"page 1 \(after seq 0\): the partner answered 400, Bad Request")


@SQLITE_ONLY
@pytest.mark.parametrize("body", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_hostile_json_in_a_bundle_file_is_refused_as_not_json(link: Link, body: bytes) -> None:
    before = held(link.us)
    with pytest.raises(FederationError, match=r"^bundle\.json: not JSON"):
        link.us.import_(body)
    assert held(link.us) == before


@SQLITE_ONLY
def test_a_bundle_whose_signed_header_nests_deep_is_refused_as_not_json(link: Link) -> None:
    """India's operator signs a header nested so deep that checking its signature would exhaust the stack."""
    bundle = link.india.export("US")
    header = bundle["objects"][0]
    header["x_setu_note"] = json.loads("[" * DEEP + "]" * DEEP)
    with transaction(link.india.sessions) as session:
        header["x_setu_signature"] = link.india.instance(session).sign(BATCH_CONTEXT, canonical(header))
    before = held(link.us)
    with pytest.raises(FederationError, match=r"^bundle\.json: not JSON: nested more than \d+ deep"):
        link.us.import_(json.dumps(bundle).encode())
    assert held(link.us) == before


@pytest.mark.parametrize(("engine", "link_level"), SMALL, indirect=["engine"])
def test_an_honest_release_entry_running_on_past_a_page_is_still_fetched_whole(
    online: Online,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """India's real listener: a page of 5 runs on to the end of its release entry (256 entries), within the bounds."""
    with transaction(online.india.sessions) as india:
        last = publish(india, this_instance(india, "IN"), "US").last_seq
    assert 5 < last <= MAX_RELEASE_CHUNK
    monkeypatch.setenv("SETU_INSTANCE_PARTY", "US")
    cert, key = online.certs["US"]
    report = puller.pull(online.us.sessions, "IN", cert=cert, key=key, page_size=5)
    assert report.pages[0].first_seq == 1 and report.pages[0].last_seq == min(last, 256)
    assert online.applied() == list(range(1, last + 1))
