"""What a partner may send: its own records, under markings of its own, that this instance may hold.

Every received record that names a party as its own (an organization's, a calendar entry's, a run's
origin, a request's requesting party) must name the sender: only a party's instance speaks for it.

The sender releases a record only when its marking admits the receiving party as a whole
(:func:`setu.sharing.policy.partner_reader`), and only under its own marking authority. The receiver
checks the same of every marking it is sent, so a partner cannot choose what this instance holds: a
marking must originate with the sender, release to this instance's party, be no higher than the link's
accreditation, need no group the link does not share, and name as owners only organizations of this
instance's party that it holds (a government body here may read a record proprietary to one of them, of
no other). The one other marking a partner may send is one this instance sent it: the holder's
transition of our request carries our request's marking, and only such a transition may carry it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from setu.audit.keys import check_party
from setu.audit.log import AuditError
from setu.federation.identity import FederationError, Instance
from setu.federation.kinds import MARKING_KIND, Kind
from setu.federation.stix import MARKING_EXTENSION
from setu.models.federation import Partner, SentObject
from setu.models.parties import Organization
from setu.models.sosa import PriorityRequest
from setu.sharing.markings import GROUP_PATTERN, LEVEL_OF, LEVELS, MarkingSpec, specs_by_id
from setu.sharing.read import unfiltered


class _UnknownOwner(Exception):
    """An owner named by a marking that is no organization this instance holds."""


class MarkingCheck:
    """The markings of one batch from ``partner``, read and checked against the link."""

    def __init__(self, session: Session, instance: Instance, partner: Partner) -> None:
        self.session = session
        self.instance = instance
        self.partner = partner
        self._sent: set[MarkingSpec] | None = None

    def sent(self) -> set[MarkingSpec]:
        """The markings this instance sent the partner (read once per batch)."""
        if self._sent is None:
            # The feed's own bookkeeping of what was sent to this partner, whatever the reader.
            ids = self.session.scalars(
                unfiltered(SentObject.local_id).where(
                    SentObject.partner == self.partner.party, SentObject.kind == MARKING_KIND
                )
            ).all()
            self._sent = set(specs_by_id(self.session, ids).values())
        return self._sent

    def _owner(self, owner: dict[str, Any]) -> tuple[int, str]:
        """An owner as named (party, name): an organization this instance holds, never one made for the partner."""
        party, name = str(owner["party"]), str(owner["name"])
        check_party(party)
        # Matching by name needs every organization, visible to a given user or not.
        found = self.session.scalar(
            unfiltered(Organization.id).where(Organization.party_code == party, Organization.name == name)
        )
        if found is None:
            raise _UnknownOwner(f"owner {name!r} of {party} is not an organization this instance holds")
        return int(found), party

    def spec(self, obj: dict[str, Any]) -> MarkingSpec:
        """The marking ``obj`` defines, checked; a precise :class:`FederationError` if it is malformed or refused."""
        where = f"{obj['id']} (seq {obj['x_setu_seq']})"
        ext = (obj.get("extensions") or {}).get(MARKING_EXTENSION)
        if not isinstance(ext, dict):
            raise FederationError(f"{where}: a marking definition without the Setu marking extension")
        try:
            spec = MarkingSpec(
                classification=LEVEL_OF[ext["classification"]],
                origin_party=str(ext["origin_party"]),
                releases=frozenset(str(p) for p in ext["releases"]),
                national_only=bool(ext["national_only"]),
                owners=frozenset(self._owner(o) for o in ext["owners"]),
                groups=frozenset(str(g) for g in ext["groups"]),
            )
            for party in {spec.origin_party, *spec.releases}:
                check_party(party)
            for group in spec.groups:
                if not GROUP_PATTERN.fullmatch(group):
                    raise ValueError(f"group {group!r} is not a need-to-know group name")
        except _UnknownOwner as error:
            raise FederationError(f"{where}: the Setu marking is refused: {error}") from None
        except (KeyError, TypeError, ValueError, AuditError) as error:
            raise FederationError(f"{where}: the Setu marking is incomplete or malformed ({error})") from None
        if spec in self.sent():
            return spec  # one of ours, as we sent it: the holder's transition of our request carries it
        problems = self.problems(spec)
        if problems:
            raise FederationError(f"{where}: the Setu marking is refused: {'; '.join(problems)}")
        return spec

    def problems(self, spec: MarkingSpec) -> list[str]:
        """What keeps ``spec`` from being a marking the partner may send: each part that fails, and what it must be."""
        here, sender = self.instance.party, self.partner.party
        problems = []
        if spec.origin_party != sender:
            problems.append(f"origin_party is {spec.origin_party}, expected the sender {sender}")
        if here not in spec.releases:
            problems.append(f"releases {', '.join(sorted(spec.releases)) or 'nothing'}, expected {here} among them")
        if spec.national_only:
            problems.append(f"national_only is set, expected false: {sender}'s national-only records never leave it")
        limit = self.partner.max_classification
        if spec.classification > limit:
            problems.append(
                f"classification {LEVELS[spec.classification]} is above the link's accreditation {LEVELS[limit]}"
            )
        unshared = sorted(spec.groups - set(self.partner.groups))
        if unshared:
            shared = ", ".join(sorted(self.partner.groups)) or "none"
            problems.append(f"groups {', '.join(unshared)} are not shared on the link (shared: {shared})")
        foreign = sorted({party for _org, party in spec.owners if party != here})
        if foreign:
            problems.append(f"owners of {', '.join(foreign)}, expected only organizations of {here}")
        return problems

    def check_record(self, kind: Kind, obj: dict[str, Any], values: dict[str, Any]) -> None:
        """Refuse a record that is not the sender's to send: one naming another party as its own (an organization or
        calendar entry of ours), or under another party's marking authority. The one exception is the holder's
        transition of our request, which carries our request's own marking."""
        where = f"{obj['id']} (seq {obj['x_setu_seq']})"
        sender = self.partner.party
        if kind.party:
            party = values[kind.party]
            try:
                check_party(str(party))
            except AuditError as error:
                raise FederationError(f"{where}: property {kind.fields[kind.party]}: {error}") from None
            if party != sender:
                raise FederationError(
                    f"{where}: property {kind.fields[kind.party]} is {party}, expected the sender {sender}: "
                    f"only {party}'s instance speaks for {party}"
                )
        marking_id = values["marking_id"]
        origin = specs_by_id(self.session, [marking_id])[marking_id].origin_party
        if origin == sender:
            return
        # The feed checks the request a partner's transition names, whoever may read it here.
        if kind.name == "request_event" and marking_id == self.session.scalar(
            unfiltered(PriorityRequest.marking_id).where(PriorityRequest.id == values["request_id"])
        ):
            return
        raise FederationError(
            f"{where}: marked with a marking of {origin}'s origin, expected one of the sender {sender}'s "
            f"(only a transition of a request of {origin}'s may carry that request's marking)"
        )
