"""The framework's public structure for the demo: its six pillars, the Defence Policy Group and its groups,
co-production projects, and an illustrative meeting with decisions and action items (some overdue).

Pillars, bodies and projects are as named in public statements (see DOMAIN.md, "The partnership"); the
meeting, its decisions and the action items are invented for the demo and say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.framework.common import SYSTEM_USER, today_utc
from setu.models.base import Marked
from setu.models.framework import ActionItem, Body, Decision, Meeting, Pillar, Project
from setu.models.networks import NetworkRecord
from setu.models.parties import Organization
from setu.sharing.markings import LEVEL_OF, MarkingSpec, combine, store
from setu.sharing.read import unfiltered

OPERATOR = "setu framework seed"
BOTH = frozenset({"IN", "US"})
PUBLIC = MarkingSpec(LEVEL_OF["UNCLASSIFIED"], "IN", BOTH)
"""The framework's public structure: unclassified, released to both parties."""
JOINT = MarkingSpec(LEVEL_OF["RESTRICTED"], "IN", BOTH)
"""Joint working records: restricted, released to both parties."""
IN_ONLY = MarkingSpec(LEVEL_OF["RESTRICTED"], "IN", frozenset({"IN"}), national_only=True)
US_ONLY = MarkingSpec(LEVEL_OF["RESTRICTED"], "US", frozenset({"US"}), national_only=True)

POLICY_GROUP = "Defence Policy Group"

# (code, name, description)
PILLARS = (
    ("TECH", "Technology cooperation", "Co-development and co-production of defence technology."),
    ("SUPPLY", "Supply-chain integration", "Integrating the two defence-industrial supply chains."),
    ("INTEROP", "Interoperability", "Forces, systems and procedures that work together."),
    ("LOGINFO", "Logistics and information sharing", "Reciprocal logistics support and information exchange."),
    ("EXERCISES", "Joint exercises", "Bilateral and multilateral exercises."),
    ("INNOVATION", "Innovation", "Start-ups, defence innovation ecosystems and emerging technology."),
)
# (name, kind, parent, pillar code, chairs)
BODIES = (
    (
        POLICY_GROUP,
        "policy_group",
        None,
        None,
        "India's Defence Secretary; U.S. Under Secretary of Defense for Policy",
    ),
    ("Military Cooperation Group", "working_group", POLICY_GROUP, "EXERCISES", ""),
    ("Defense Technology and Trade Initiative (DTTI)", "working_group", POLICY_GROUP, "TECH", ""),
    ("Supply Chain Integration Working Group (illustrative)", "working_group", POLICY_GROUP, "SUPPLY", ""),
    ("INDUS-X", "other", None, "INNOVATION", "U.S. Defense Innovation Unit; India's iDEX"),
)
# (name, pillar code, program as in the demo network, description)
PROJECTS = (
    ("Javelin co-production", "SUPPLY", "Javelin-ATGM", "Co-production of the Javelin anti-tank missile."),
    ("Stryker co-production", "SUPPLY", "Stryker-AFV", "Co-production of the Stryker armoured vehicle."),
    ("P-8I additional aircraft", "INTEROP", "P-8I-sustainment", "Six more P-8I maritime patrol aircraft."),
    ("F414 engine co-production", "TECH", "F414-engine", "Jet-engine co-production (HAL with GE Aerospace)."),
    ("Autonomous Systems Industry Alliance", "INNOVATION", "", "Industry alliance on autonomous systems."),
)
INDIAN_MINISTRY = "Ministry of Defence (India)"
US_MINISTRY = "Department of Defense"


@dataclass(frozen=True)
class SeededFramework:
    """How many records :func:`seed_framework` wrote (all zero when the structure was there already)."""

    pillars: int = 0
    bodies: int = 0
    projects: int = 0
    meetings: int = 0
    decisions: int = 0
    actions: int = 0


def _add(session: Session, row: Marked, spec: MarkingSpec, sources: Sequence[Marked | None] = ()) -> None:
    """Store ``row`` under ``spec``, made at least as restrictive as each record it is made from or linked to."""
    specs = {MarkingSpec.of(source.marking) for source in sources if source is not None}
    row.marking_id = store(session, combine({spec, *specs}, spec.origin_party) if specs else spec).id
    session.add(row)
    session.flush()


def _org(session: Session, party: str, name: str) -> int | None:
    """The id of the organization named ``name`` (the operator's lookup for an action's owner, not a user's read)."""
    found: int | None = session.scalar(
        unfiltered(Organization.id).where(Organization.party_code == party, Organization.name == name).limit(1)
    )
    return found


def seed_framework(
    session: Session, *, today: date | None = None, network_id: int | None = None, operator: str = OPERATOR
) -> SeededFramework:
    """Write the framework's public structure and an illustrative meeting, once.

    Parameters
    ----------
    session
        The caller's session; the caller commits (everything is one transaction with its audit entry).
    today
        The date due dates are placed around (default: today in UTC): two items are overdue on it.
    network_id
        The demo network, linked to the projects whose program it holds (the seed leaves it out
        when ``None``).
    operator
        Whom the audit log names for the writes (an operator tool acting for no user).

    Returns
    -------
    SeededFramework
        Counts of the records written; all zero if the Defence Policy Group exists already.

    Notes
    -----
    Action owners point at the organizations ``Ministry of Defence (India)`` and ``Department of
    Defense`` when the database has them (the demo seed's names). One action item is India-only and
    one US-only, to show that each party's national records stay its own.
    """
    # Whether the structure exists, whoever may read it: the seed writes it at most once.
    if session.scalar(unfiltered(Body.id).where(Body.name == POLICY_GROUP)) is not None:
        return SeededFramework()
    day = today or today_utc()
    pillars: dict[str, Pillar] = {}
    for code, name, description in PILLARS:
        pillars[code] = Pillar(code=code, name=name, description=description)
        _add(session, pillars[code], PUBLIC)
    bodies: dict[str, Body] = {}
    for name, kind, parent, pillar, chairs in BODIES:
        bodies[name] = Body(
            name=name,
            kind=kind,
            parent_id=bodies[parent].id if parent else None,
            pillar_id=pillars[pillar].id if pillar else None,
            chairs=chairs,
        )
        _add(session, bodies[name], PUBLIC, [bodies[parent] if parent else None, pillars[pillar] if pillar else None])
    programs_linked = {"Javelin-ATGM", "Stryker-AFV", "P-8I-sustainment", "F414-engine"}
    # The operator links the demo network it just stored: not a user's read.
    network = (
        None if network_id is None else session.scalar(unfiltered(NetworkRecord).where(NetworkRecord.id == network_id))
    )
    for name, pillar, program, description in PROJECTS:
        project = Project(
            name=name,
            pillar_id=pillars[pillar].id,
            program=program,
            network_id=network_id if program in programs_linked else None,
            status="active",
            description=description,
        )
        _add(session, project, PUBLIC, [pillars[pillar], network if project.network_id is not None else None])
    dpg = bodies[POLICY_GROUP]
    meeting = Meeting(
        body_id=dpg.id,
        held_on=day - timedelta(days=60),
        title="Defence Policy Group (illustrative meeting)",
        location="New Delhi",
        summary="Invented for the demo: the group reviewed the framework's pillars and co-production projects.",
    )
    _add(session, meeting, JOINT, [dpg])
    structure = Decision(
        meeting_id=meeting.id, text="Working groups report progress against the framework's pillars each quarter."
    )
    _add(session, structure, JOINT, [meeting])
    supply = Decision(meeting_id=meeting.id, text="Map the co-production supply chains into a shared Setu network.")
    _add(session, supply, JOINT, [meeting])
    india = _org(session, "IN", INDIAN_MINISTRY)
    us = _org(session, "US", US_MINISTRY)
    # (title, decision, body, pillar, owner, org, due in days, status, marking)
    items = (
        ("Quarterly pillar progress report", structure, dpg, "SUPPLY", "DPG secretariat", india, -14, "open", JOINT),
        (
            "Map the Stryker co-production supply chain",
            supply,
            bodies["Supply Chain Integration Working Group (illustrative)"],
            "SUPPLY",
            "OUSD(P) South Asia",
            us,
            -3,
            "in_progress",
            JOINT,
        ),
        (
            "Identify sole-source Javelin components",
            supply,
            bodies["Supply Chain Integration Working Group (illustrative)"],
            "SUPPLY",
            "Department of Defence Production",
            india,
            -40,
            "done",
            JOINT,
        ),
        ("Update the SoSA code-of-conduct participant list", None, dpg, "SUPPLY", "", india, 30, "open", JOINT),
        ("Plan the next bilateral exercise cycle", None, bodies["Military Cooperation Group"], "EXERCISES", "",
         None, 45, "open", JOINT),
        ("Brief the Raksha Mantri on Su-30MKI spares exposure", None, None, "SUPPLY", "MoD (Plans)", india, -7,
         "open", IN_ONLY),
        ("Assess DPAS ratings for P-8I sustainment parts", None, None, "SUPPLY", "OUSD(A&S) Industrial Policy", us,
         10, "open", US_ONLY),
    )  # fmt: skip
    for title, decision, body, pillar, owner, org, due, status, spec in items:
        action = ActionItem(
            title=title,
            decision_id=decision.id if decision else None,
            meeting_id=meeting.id if decision else None,
            body_id=body.id if body else None,
            pillar_id=pillars[pillar].id,
            owner=owner,
            owner_organization_id=org,
            due_on=day + timedelta(days=due),
            status=status,
            completed_on=day + timedelta(days=due - 5) if status == "done" else None,
            notes="Illustrative item for the demo.",
            created_by=SYSTEM_USER,
        )
        _add(session, action, spec, [decision, meeting if decision else None, body, pillars[pillar]])
    seeded = SeededFramework(
        pillars=len(PILLARS),
        bodies=len(BODIES),
        projects=len(PROJECTS),
        meetings=1,
        decisions=2,
        actions=len(items),
    )
    record(
        session,
        None,
        "framework.seed",
        "framework",
        "",
        actor_name=operator,
        details={**asdict(seeded), "today": day.isoformat(), "network_id": network_id},
    )
    return seeded
