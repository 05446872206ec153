"""The one set of test principals: the two parties' ministries and firms, a user per role, and the markings tests use.

Service tests act as these principals directly; API and page tests create users with the same party,
organization, clearance, roles and groups. Visibility tests rely on the differences between them:

- IN and US government users (ministry principals) read their party's firms' proprietary records;
- firm users read only their own firm's proprietary records;
- the analysts and the BEL user hold the need-to-know group ENGINE, nobody else does;
- admins hold clearance 3 (SECRET), everyone else 2 (CONFIDENTIAL).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from setu.models import Organization, Party
from setu.sharing.markings import MarkingSpec, store
from setu.sharing.policy import Principal

IN_MOD, IN_HAL, IN_BEL, US_DOD, US_GE, US_OTHER = 1, 2, 3, 4, 5, 6
ORGS = (
    (IN_MOD, "IN", "Ministry of Defence", "ministry"),
    (IN_HAL, "IN", "HAL", "firm"),
    (IN_BEL, "IN", "BEL", "firm"),
    (US_DOD, "US", "Department of Defense", "ministry"),
    (US_GE, "US", "GE Aerospace", "firm"),
)
"""Organizations :func:`seed` stores (``US_OTHER`` is a second U.S. firm some tests add)."""

ENGINE = frozenset({"ENGINE"})


def _principal(user_id: int, party: str, org: int, role: str, clearance: int = 2, groups: frozenset[str] = frozenset()):
    government = org in (IN_MOD, US_DOD)
    return Principal(user_id, party, org, government, clearance, groups=groups, roles=frozenset({role}))


IN_ADMIN = _principal(100, "IN", IN_MOD, "admin", clearance=3)
IN_ANALYST = _principal(101, "IN", IN_MOD, "analyst", groups=ENGINE)
IN_HAL_INDUSTRY = _principal(102, "IN", IN_HAL, "industry")
IN_BEL_INDUSTRY = _principal(103, "IN", IN_BEL, "industry", groups=ENGINE)
IN_DESK = _principal(111, "IN", IN_MOD, "desk_officer")
IN_AUDITOR = _principal(121, "IN", IN_MOD, "auditor")
US_ADMIN = _principal(200, "US", US_DOD, "admin", clearance=3)
US_ANALYST = _principal(201, "US", US_DOD, "analyst", groups=ENGINE)
US_GE_INDUSTRY = _principal(202, "US", US_GE, "industry")
US_DESK = _principal(211, "US", US_DOD, "desk_officer")
US_OTHER_INDUSTRY = _principal(215, "US", US_OTHER, "industry")
US_AUDITOR = _principal(221, "US", US_DOD, "auditor")
EVERYONE = (
    IN_ADMIN,
    IN_ANALYST,
    IN_HAL_INDUSTRY,
    IN_BEL_INDUSTRY,
    IN_DESK,
    IN_AUDITOR,
    US_ADMIN,
    US_ANALYST,
    US_GE_INDUSTRY,
    US_DESK,
    US_OTHER_INDUSTRY,
    US_AUDITOR,
)

SHARED = MarkingSpec(1, "IN", frozenset({"IN", "US"}))
IN_ONLY = MarkingSpec(1, "IN", frozenset({"IN", "US"}), national_only=True)
US_ONLY = MarkingSpec(1, "US", frozenset({"IN", "US"}), national_only=True)
HAL_PROPRIETARY = MarkingSpec(1, "IN", frozenset({"IN", "US"}), owners=frozenset({(IN_HAL, "IN")}))
GE_PROPRIETARY = MarkingSpec(1, "US", frozenset({"IN", "US"}), owners=frozenset({(US_GE, "US")}))
ENGINE_NTK = MarkingSpec(1, "IN", frozenset({"IN", "US"}), groups=ENGINE)
SECRET_SHARED = MarkingSpec(3, "IN", frozenset({"IN", "US"}))


def seed(session: Session) -> None:
    """Parties IN and US with their ministries and firms (:data:`ORGS`), all public."""
    public = store(session, MarkingSpec(0, "IN", frozenset({"IN", "US"})))
    session.add_all([Party(code="IN", name="India", holiday_country="IN"), Party(code="US", name="USA")])
    session.flush()
    session.add_all(
        Organization(id=org, party_code=party, name=name, kind=kind, marking=public) for org, party, name, kind in ORGS
    )
    session.flush()
