"""Who acts in the framework tests: desk officers and admins of both parties, analysts who only read."""

from __future__ import annotations

from datetime import date

from principals import IN_HAL, IN_MOD, US_DOD, US_GE
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal

IN_DESK = Principal(301, "IN", IN_MOD, True, 2, roles=frozenset({"desk_officer"}))
US_DESK = Principal(302, "US", US_DOD, True, 2, roles=frozenset({"desk_officer"}))
IN_ADMIN = Principal(303, "IN", IN_MOD, True, 3, roles=frozenset({"admin"}))
IN_READER = Principal(304, "IN", IN_MOD, True, 2, roles=frozenset({"analyst"}))
US_READER = Principal(305, "US", US_DOD, True, 2, roles=frozenset({"analyst"}))
IN_FIRM = Principal(306, "IN", IN_HAL, False, 1, roles=frozenset({"industry"}))
US_FIRM = Principal(307, "US", US_GE, False, 1, roles=frozenset({"industry"}))

JOINT = MarkingSpec(1, "IN", frozenset({"IN", "US"}))
IN_ONLY = MarkingSpec(1, "IN", frozenset({"IN"}), national_only=True)
US_ONLY = MarkingSpec(1, "US", frozenset({"US"}), national_only=True)
SECRET_JOINT = MarkingSpec(3, "IN", frozenset({"IN", "US"}))

TODAY = date(2026, 3, 16)
