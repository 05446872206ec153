"""Attacks on registry markings: restrictive defaults, lowering by the wrong person, deletes reaching hidden records.

Each test is written from the attacker's side: a firm's user widening what its government marked, a
writer relying on the default to publish to the other party, a delete that takes (and counts) records
its writer cannot see.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from networks.world import audit_count
from principals import (
    EVERYONE,
    IN_ADMIN,
    IN_BEL_INDUSTRY,
    IN_HAL,
    IN_HAL_INDUSTRY,
    IN_ONLY,
    SECRET_SHARED,
    US_ADMIN,
    US_ANALYST,
    US_GE_INDUSTRY,
)
from registry.world import RegistryWorld, released
from setu.audit.log import integrate
from setu.db import transaction
from setu.errors import AccessDenied, Conflict, MarkingError
from setu.models.audit import AuditEntry
from setu.models.registry import Capability, RegistrySite
from setu.registry.access import marking_of
from setu.registry.capabilities import add_capability, list_capabilities
from setu.registry.sites import create_site, delete_site, list_sites, update_site
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import allows

Factory = sessionmaker[Session]
BOTH = frozenset({"IN", "US"})


def entries(session: Session, action: str) -> list[AuditEntry]:
    integrate(session)  # sequence what is pending, as every reader of the log does
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def test_a_site_created_without_a_marking_stays_with_its_party_and_firm(
    sessions: Factory, world: RegistryWorld
) -> None:
    with transaction(sessions) as session:
        site = create_site(session, IN_HAL_INDUSTRY, IN_HAL, name="HAL Lucknow", country="IN")
        add_capability(session, IN_HAL_INDUSTRY, site.id, code="MET-FORGE", material="m", capacity=5.0)
        spec = marking_of(site)
        site_id = site.id
    # Neither the other party, nor another firm of the same party, nor anyone at all outside HAL and
    # India's government reads what a writer forgot to mark.
    assert spec.effective_releases == {"IN"} and spec.owners == {(IN_HAL, "IN")}
    with sessions() as session:
        for who in EVERYONE:
            rows, _ = list_sites(session, who)
            sees = site_id in {r.id for r in rows}
            assert sees == (who.party == "IN" and (who.org_is_government or who.org_id == IN_HAL)), who
            caps, _ = list_capabilities(session, who, site_id=site_id)
            assert bool(caps) == sees, who
        assert not allows(US_ADMIN, spec) and not allows(IN_BEL_INDUSTRY, spec)


def test_an_industry_user_cannot_lower_what_a_government_admin_marked(sessions: Factory, world: RegistryWorld) -> None:
    with transaction(sessions) as session:
        site_id = create_site(session, IN_ADMIN, IN_HAL, name="HAL Bengaluru", country="IN", marking=IN_ONLY).id
    attempts = (
        {"marking": MarkingSpec(0, "IN", BOTH)},  # released to the other party
        {"marking": MarkingSpec(1, "IN", BOTH, national_only=False)},  # national-only dropped
        {"marking": MarkingSpec(0, "IN", frozenset({"IN"}), national_only=True)},  # a lower classification
    )
    for attempt in attempts:
        with sessions() as session, pytest.raises(MarkingError, match="lower"):
            update_site(session, IN_HAL_INDUSTRY, site_id, {}, **attempt)  # type: ignore[arg-type]
    with sessions() as session:
        assert marking_of(session.get(RegistrySite, site_id)) == IN_ONLY  # type: ignore[arg-type]
        assert audit_count(session, "registry.site.update", "deny") == len(attempts)
        # One release only: the admin's own at creation (IN ONLY without the firm's proprietary mark).
        assert len([e for e in entries(session, "registry.site.release") if e.object_id == str(site_id)]) == 1
        # Raising is anyone's who may write: the firm makes its site proprietary, and more classified.
        raised = MarkingSpec(2, "IN", frozenset({"IN"}), national_only=True)
        update_site(session, IN_HAL_INDUSTRY, site_id, {}, marking=raised, proprietary=True)
        assert marking_of(session.get(RegistrySite, site_id)).owners == {(IN_HAL, "IN")}  # type: ignore[arg-type]
        # ... and may not take the proprietary mark off again: that releases it to other firms.
        with pytest.raises(MarkingError):
            update_site(session, IN_HAL_INDUSTRY, site_id, {}, proprietary=False)


def test_a_lowering_by_the_marking_authority_is_audited_as_a_release(sessions: Factory, world: RegistryWorld) -> None:
    with transaction(sessions) as session:
        site_id = create_site(session, IN_HAL_INDUSTRY, IN_HAL, name="HAL Kanpur", country="IN").id
    with transaction(sessions) as session:
        update_site(session, IN_ADMIN, site_id, {}, marking=released(IN_ADMIN), proprietary=False)
    with sessions() as session:
        assert marking_of(session.get(RegistrySite, site_id)) == released(IN_ADMIN)  # type: ignore[arg-type]
        (release,) = [e for e in entries(session, "registry.site.release") if e.object_id == str(site_id)]
        details = json.loads(release.details)
        assert release.decision == "permit" and release.object_id == str(site_id)
        assert details["old"].startswith("UNCLASSIFIED // IN ONLY // PROPRIETARY")
        assert details["new"] == "UNCLASSIFIED // REL TO IN, US"
        assert allows(US_ANALYST, marking_of(session.get(RegistrySite, site_id)))  # type: ignore[arg-type]


def test_a_marking_asked_for_without_owners_keeps_the_old_owners(sessions: Factory, world: RegistryWorld) -> None:
    """A new marking that does not mention the firm cannot drop its proprietary mark unnoticed."""
    with sessions() as session:
        site = update_site(session, IN_HAL_INDUSTRY, world.sites["HAL Koraput"], {}, marking=released(IN_HAL_INDUSTRY))
        assert marking_of(site).owners == {(IN_HAL, "IN")}


def test_deleting_a_site_never_takes_or_counts_capabilities_its_writer_cannot_see(
    sessions: Factory, world: RegistryWorld
) -> None:
    nashik = world.sites["HAL Nashik"]
    with transaction(sessions) as session:
        # India's admin records a SECRET capability at HAL's shared site; HAL's user is not cleared for it.
        hidden = add_capability(
            session, IN_ADMIN, nashik, code="MET-CAST", material="engine_casing", capacity=3.0, marking=SECRET_SHARED
        ).id
    with sessions() as session, pytest.raises(Conflict) as refused:
        delete_site(session, IN_HAL_INDUSTRY, nashik)
    assert "cannot see" in str(refused.value) and not any(ch.isdigit() for ch in str(refused.value).split(":", 1)[1])
    with sessions() as session:
        assert session.get(Capability, hidden) is not None and session.get(RegistrySite, nashik) is not None
        (denied,) = [e for e in entries(session, "registry.site.delete") if e.decision == "deny"]
        assert "capabilit" not in denied.details and str(hidden) not in denied.details
    # Whoever sees every capability of the site removes it, and the count is of what they saw.
    with transaction(sessions) as session:
        delete_site(session, IN_ADMIN, nashik)
    with sessions() as session:
        assert session.get(Capability, hidden) is None
        (done,) = [e for e in entries(session, "registry.site.delete") if e.decision == "permit"]
        assert json.loads(done.details)["capabilities"] == 2


def test_the_other_party_cannot_change_a_marking_it_can_read(sessions: Factory, world: RegistryWorld) -> None:
    """US officials and firms read HAL Nashik (released to both) but hold no authority over India's marking."""
    nashik = world.sites["HAL Nashik"]
    for who in (US_ADMIN, US_GE_INDUSTRY):
        with sessions() as session, pytest.raises(AccessDenied):
            update_site(session, who, nashik, {}, marking=MarkingSpec(0, "US", BOTH), proprietary=False)
    with sessions() as session:
        assert marking_of(session.get(RegistrySite, nashik)) == released(IN_HAL_INDUSTRY)  # type: ignore[arg-type]


def test_deleting_and_adding_a_site_again_does_not_lower_its_marking(sessions: Factory, world: RegistryWorld) -> None:
    """A firm's user cannot launder an India-only site by removing it and adding it again released to both."""
    with transaction(sessions) as session:
        site_id = create_site(session, IN_ADMIN, IN_HAL, name="HAL Sunabeda", country="IN", marking=IN_ONLY).id
    with transaction(sessions) as session:
        delete_site(session, IN_HAL_INDUSTRY, site_id)
    for asked in (released(IN_HAL_INDUSTRY), MarkingSpec(1, "IN", BOTH)):
        with sessions() as session, pytest.raises(MarkingError):
            create_site(session, IN_HAL_INDUSTRY, IN_HAL, name="HAL Sunabeda", country="IN", marking=asked)
    with sessions() as session:
        assert session.scalar(select(RegistrySite.id).where(RegistrySite.name == "HAL Sunabeda")) is None
        assert audit_count(session, "registry.site.create", "deny") == 2
