"""Two instances over the wire: India's `setu federation serve`, the US running `setu federation pull`.

India holds the seeded demo on the suite's database (SQLite and PostgreSQL), the US an SQLite file;
each pinned the other's key and certificate. What crosses must be exactly what India releases, a
retraction must come back as a receipt, and a pull cut off anywhere must leave the US at a page
boundary, from which the next pull completes the feed with nothing twice.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from federation.conftest import Side
from federation.online import (
    Listener,
    certificate,
    environment,
    free_port,
    pin,
    public_key,
    pull,
    serve,
)
from federation.picture import received_picture, released_picture
from setu.db import session_factory, transaction
from setu.demo.seed import seed_demo, seed_demo_registry
from setu.federation import pull as puller
from setu.federation.feed import publish
from setu.federation.identity import FederationError, this_instance
from setu.models.federation import AppliedEntry, OutboundEntry, ReceivedObject, SentObject
from setu.models.registry import RegistrySite
from setu.sharing.markings import LEVEL_OF, MarkingSpec, store

IN_ONLY = MarkingSpec(LEVEL_OF["RESTRICTED"], "IN", frozenset({"IN", "US"}), national_only=True)


@dataclass
class Online:
    """India serving its feed to the US, and everything the US needs to pull it."""

    india: Side
    us: Side
    india_env: dict[str, str]
    us_env: dict[str, str]
    certs: dict[str, tuple[Path, Path]]
    listener: Listener
    us_port: int
    folder: Path

    def pull(self, page_size: int = 1000) -> subprocess.CompletedProcess[str]:
        return pull(self.us_env, "IN", *self.certs["US"], page_size=page_size)

    def restart(self) -> None:
        """India's listener again, on the same port (the US pinned that URL)."""
        self.listener.stop()
        self.listener = serve(self.india_env, "US", *self.certs["IN"], self.folder / "in-serve.log", self.listener.port)

    def pictures(self) -> tuple[dict, dict]:
        with transaction(self.india.sessions) as india, transaction(self.us.sessions) as us:
            return released_picture(india, "US"), received_picture(us, "IN")

    def applied(self) -> list[int]:
        with transaction(self.us.sessions) as us:
            return list(us.scalars(select(AppliedEntry.seq).where(AppliedEntry.partner == "IN").order_by("seq")))


def _words(text: str) -> str:
    """Output as one line (the console wraps at its width)."""
    return " ".join(text.split())


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def link_level() -> int:
    """The highest classification the link carries: CONFIDENTIAL, so the demo's RESTRICTED records cross."""
    return LEVEL_OF["CONFIDENTIAL"]


@pytest.fixture
def online(
    engine: Engine,
    sessions: sessionmaker[Session],
    us_engine: Engine,
    tmp_path: Path,
    key_dir: Path,
    link_level: int,
) -> Iterator[Online]:
    seed_demo(sessions)
    seed_demo_registry(sessions)
    india, us = Side("IN", sessions), Side("US", session_factory(us_engine))
    certs = {party: certificate(tmp_path / "certs", party) for party in ("IN", "US")}
    india_port, us_port = free_port(), free_port()
    pin(
        india.sessions,
        local="IN",
        party="US",
        public_key=public_key(us.sessions, "US"),
        certificate=certs["US"][0],
        url=f"https://127.0.0.1:{us_port}",
        max_classification=link_level,
    )
    pin(
        us.sessions,
        local="US",
        party="IN",
        public_key=public_key(india.sessions, "IN"),
        certificate=certs["IN"][0],
        url=f"https://127.0.0.1:{india_port}",
    )
    india_env = environment("IN", _url(engine), key_dir)
    listener = serve(india_env, "US", *certs["IN"], tmp_path / "in-serve.log", india_port)
    link = Online(india, us, india_env, environment("US", _url(us_engine), key_dir), certs, listener, us_port, tmp_path)
    try:
        yield link
    finally:
        link.listener.stop()
        print(link.listener.output())


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_pull_holds_exactly_what_india_releases_and_a_retraction_comes_back_receipted(
    online: Online, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = online.pull(page_size=500)
    assert first.returncode == 0, first.stderr
    # Pages of 500 run on to the end of the release entry (256 feed entries each) they start: 512.
    assert "page 1: seq 1-512" in first.stdout and "pulled 2 pages from IN" in _words(first.stdout)
    released, received = online.pictures()
    assert received == released
    assert len(received["node"]) > 100
    # India tightens a released site's marking; the next pull retracts it on the US side.
    with transaction(online.india.sessions) as india:
        sent = india.scalars(select(SentObject).where(SentObject.kind == "registry_site")).first()
        assert sent is not None
        india.get_one(RegistrySite, sent.local_id).marking_id = store(india, IN_ONLY).id
        retracted = sent.stix_id
    second = online.pull()
    assert second.returncode == 0, second.stderr
    retractions = int(_words(second.stdout).split(" retracted")[0].rsplit(" ", 1)[1])
    assert retractions >= 2  # the site, and each capability of it (a required reference no longer crosses)
    released, received = online.pictures()
    assert received == released
    with transaction(online.us.sessions) as us:
        tomb = us.scalars(select(ReceivedObject).where(ReceivedObject.stix_id == retracted)).one()
        assert tomb.local_id is None and tomb.retracted_at is not None
        # The US feed back holds the receipts, and the witness's cosignatures of each checkpoint it was shown.
        receipts = [
            json.loads(entry.object)
            for entry in us.scalars(
                select(OutboundEntry).where(OutboundEntry.partner == "IN", OutboundEntry.kind == "receipt")
            )
        ]
    assert len(receipts) == retractions and retracted in {receipt["retracted_ref"] for receipt in receipts}
    assert "pulled 0 pages" in _words(online.pull().stdout)  # nothing new
    # The receipt travels back the same way: the US serves its feed to India, and India pulls it.
    us_listener = serve(online.us_env, "IN", *online.certs["US"], online.folder / "us-serve.log", online.us_port)
    try:
        monkeypatch.setenv("SETU_INSTANCE_PARTY", "IN")
        back = puller.pull(online.india.sessions, "US", cert=online.certs["IN"][0], key=online.certs["IN"][1])
    finally:
        us_listener.stop()
    report = back.pages[0].report
    assert report.receipts == retractions and report.cosignatures >= 1
    assert back.applied == report.receipts + report.cosignatures
    with transaction(online.india.sessions) as india:
        assert india.scalars(select(SentObject).where(SentObject.stix_id == retracted)).one().receipt_at is not None


@pytest.fixture
def small_releases(monkeypatch: pytest.MonkeyPatch) -> None:
    """One release entry per feed entry, so that pages of 3 or 5 need not run on (asked before ``online``)."""
    monkeypatch.setenv("SETU_FEDERATION_RELEASE_CHUNK", "1")


# The two below are about where a pull stops, not about what crosses: an UNCLASSIFIED link keeps the feed
# short (the demo's public organizations, sites and their markings), so many pages cost little.
SMALL = [pytest.param("sqlite", LEVEL_OF["UNCLASSIFIED"], id="sqlite")]


@pytest.mark.parametrize(("engine", "link_level"), SMALL, indirect=["engine"])
def test_a_refused_page_stores_nothing_and_the_next_pull_completes(small_releases: None, online: Online) -> None:
    with transaction(online.india.sessions) as india:
        last = publish(india, this_instance(india, "IN"), "US").last_seq
        assert last >= 12
        entry = india.get_one(OutboundEntry, ("US", 8))
        original = entry.object
        entry.object = json.dumps({**json.loads(original), "x_setu_note": "altered on the way"})
        altered = json.loads(original)["id"]
    refused = online.pull(page_size=5)
    assert refused.returncode == 2
    message = _words(refused.stderr)
    assert "IN's TAXII feed, page 2 (after seq 5): object 3" in message and altered in message
    assert "does not verify with IN's pinned key" in message
    assert online.applied() == [1, 2, 3, 4, 5]  # page 1 stays, nothing of page 2
    with transaction(online.india.sessions) as india:
        india.get_one(OutboundEntry, ("US", 8)).object = original
    completed = online.pull(page_size=5)
    assert completed.returncode == 0, completed.stderr
    assert "page 1: seq 6-10" in completed.stdout
    assert online.applied() == list(range(1, last + 1))
    released, received = online.pictures()
    assert received == released


@pytest.mark.parametrize(("engine", "link_level"), SMALL, indirect=["engine"])
def test_a_pull_cut_off_by_the_server_dying_stops_at_a_page_boundary_and_resumes(
    small_releases: None, online: Online, monkeypatch: pytest.MonkeyPatch
) -> None:
    def kill_after_page_2(page: puller.PageReport) -> None:
        if page.page == 2:
            online.listener.stop(kill=True)  # SIGKILL: no goodbye on the wire

    monkeypatch.setenv("SETU_INSTANCE_PARTY", "US")
    with pytest.raises(FederationError, match=r"IN's TAXII feed, page 3 \(after seq 6\): cannot reach"):
        cert, key = online.certs["US"]
        puller.pull(online.us.sessions, "IN", cert=cert, key=key, page_size=3, on_page=kill_after_page_2)
    assert online.applied() == [1, 2, 3, 4, 5, 6]
    online.restart()
    completed = online.pull(page_size=3)
    assert completed.returncode == 0, completed.stderr
    assert "page 1: seq 7-9" in completed.stdout
    with transaction(online.india.sessions) as india:
        last = max(india.scalars(select(OutboundEntry.seq).where(OutboundEntry.partner == "US")))
    assert online.applied() == list(range(1, last + 1))
    released, received = online.pictures()
    assert received == released
