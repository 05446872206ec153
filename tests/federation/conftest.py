"""Two instances in one test, each with a database of its own: two SQLite files, or two PostgreSQL databases.

Each has its own database and signs with its own party's key; they know each other as partners
(keys pinned both ways) and exchange signed bundles as a guard would carry them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from principals import IN_MOD, US_DOD, US_GE
from registry.world import build
from setu.db import create_schema, make_engine, session_factory, transaction
from setu.federation.identity import Instance, this_instance
from setu.federation.partners import add_partner
from setu.federation.receive import ApplyReport
from setu.federation.service import export, import_bundle
from setu.models import Organization, Party
from setu.models.federation import AppliedEntry, ReceivedObject
from setu.models.networks import NodeRecord
from setu.models.registry import RegistrySite
from setu.sharing.markings import MarkingSpec, store

SQLITE_ONLY = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
"""For tests of the format and protocol, whatever the database: the suite's budget runs them on SQLite only
(the exchange, witness and online tests that store what crosses run on PostgreSQL as well)."""


@dataclass
class Side:
    """One instance: its party and database."""

    party: str
    sessions: sessionmaker[Session]

    def instance(self, session: Session) -> Instance:
        return this_instance(session, self.party)

    def export(self, to: str, since: int = 0) -> dict[str, Any]:
        with transaction(self.sessions) as session:
            bundle, _report = export(session, self.instance(session), to, since)
        return bundle

    def import_(self, bundle: dict[str, Any] | bytes) -> ApplyReport:
        data = bundle if isinstance(bundle, bytes) else json.dumps(bundle).encode()
        return import_bundle(self.sessions, data, "bundle.json", party=self.party)


@dataclass
class Link:
    """India's and the United States' instances, partners of each other."""

    india: Side
    us: Side

    def sync(self) -> tuple[ApplyReport, ApplyReport]:
        """India's feed to the US instance, then the US feed (receipts) back; each from where the other stands."""
        to_us = self.us.import_(self.india.export("US", since=_applied(self.us, "IN")))
        to_india = self.india.import_(self.us.export("IN", since=_applied(self.india, "US")))
        return to_us, to_india


def _applied(side: Side, partner: str) -> int:
    from setu.federation.service import link_states

    with transaction(side.sessions) as session:
        return next((s.last_applied_seq for s in link_states(session) if s.partner == partner), 0)


def pin(a: Side, b: Side, *, max_classification: int = 2, groups: list[str] | None = None) -> None:
    """Make ``b`` a partner of ``a`` (``b``'s key pinned on ``a``)."""
    with transaction(b.sessions) as session:
        key = b.instance(session).public_key_hex
    with transaction(a.sessions) as session:
        add_partner(
            session,
            local_party=a.party,
            party=b.party,
            public_key=key,
            max_classification=max_classification,
            groups=groups,
            actor_name="test",
        )


@pytest.fixture
def us_engine(engine: Engine, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The US instance's database: of the same kind as India's (a PostgreSQL database of its own, or an SQLite file)."""
    if engine.dialect.name != "postgresql":
        us = make_engine(f"sqlite:///{tmp_path / 'us.db'}")
        create_schema(us)
        yield us
        us.dispose()
        return
    server = str(request.getfixturevalue("postgres_url")).rsplit("/", 1)[0]
    name = f"setu_test_us_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))  # as tests/conftest.py
    us = make_engine(f"{server}/{name}")
    try:
        create_schema(us)
        yield us
    finally:
        us.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def link(sessions: sessionmaker[Session], us_engine: Engine) -> Link:
    """India (the suite's database) and the US (an SQLite file), each the other's partner, nothing exchanged yet."""
    india, us = Side("IN", sessions), Side("US", session_factory(us_engine))
    pin(india, us)
    pin(us, india)
    return Link(india, us)


@pytest.fixture
def small_link(link: Link) -> Link:
    """India holds the registry test world (sites, capabilities, the hand network); nothing exchanged yet."""
    with transaction(link.india.sessions) as session:
        build(session)
    return link


def held(side: Side) -> tuple[int, ...]:
    """Rows received, feed entries applied, nodes and registry sites: what a refused bundle must leave as it was."""
    with transaction(side.sessions) as session:
        return tuple(
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (ReceivedObject, AppliedEntry, NodeRecord, RegistrySite)
        )


OWN_ORGANIZATIONS = {
    "IN": ((IN_MOD, "Ministry of Defence", "ministry"),),
    "US": ((US_DOD, "Department of Defense", "ministry"), (US_GE, "GE Aerospace", "firm")),
}
"""Each instance's own organizations, under the ids tests/principals.py gives them."""


def seed_own(side: Side) -> None:
    """Both parties; only this side's own organizations (the other's arrive from its instance)."""
    with transaction(side.sessions) as session:
        session.add_all([Party(code="IN", name="India", holiday_country="IN"), Party(code="US", name="USA")])
        session.flush()
        public = store(session, MarkingSpec(0, side.party, frozenset({"IN", "US"})))
        for org, name, kind in OWN_ORGANIZATIONS[side.party]:
            session.add(Organization(id=org, party_code=side.party, name=name, kind=kind, marking=public))
        session.flush()
        if session.get_bind().dialect.name == "postgresql":  # rows the partner sends take ids after these
            session.execute(text("SELECT setval(pg_get_serial_sequence('organizations', 'id'), 10)"))


@pytest.fixture
def parties(link: Link) -> Link:
    """Each instance holding its own party's ministry (and the U.S. GE), then one exchange: GE reaches India."""
    seed_own(link.india)
    seed_own(link.us)
    link.sync()
    return link
