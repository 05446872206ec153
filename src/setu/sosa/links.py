"""A request's links (network, node, scenario, firm, site), checked as visible, and its marking against theirs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from setu.errors import InputError, MarkingError, Problem
from setu.models.networks import NetworkRecord, NodeRecord
from setu.models.parties import Organization
from setu.models.registry import RegistrySite
from setu.models.sosa import RATINGS, PriorityRequest
from setu.models.stress import ScenarioRecord
from setu.sharing.markings import MarkingSpec, marking_specs
from setu.sharing.policy import Principal, allows
from setu.sharing.read import fetch_visible
from setu.sosa.common import EDITABLE

_TEXT_LIMITS = {
    "title": 300,
    "program": 200,
    "program_symbol": 16,
    "unit": 32,
    "authorized_signer": 200,
    "supplier_site": 200,
    "item_node_id": 200,
    "justification": 20000,
}


def _covers(spec: MarkingSpec, other: MarkingSpec) -> bool:
    """Whether every reader ``spec`` admits is admitted by ``other`` too (``spec`` is at least as strict)."""
    return (
        spec.classification >= other.classification
        and spec.effective_releases <= other.effective_releases
        and spec.groups >= other.groups
        and spec.owners >= other.owners
    )


def _check_links(
    session: Session, principal: Principal, values: Mapping[str, Any], action: str
) -> dict[str, MarkingSpec]:
    """Refuse links to records the user cannot see (as missing); the markings of the linked records.

    Returns
    -------
    dict
        The marking of each linked record, by the field linking it.

    Raises
    ------
    NotFound
        If a linked network, node, scenario, organization or site is missing or hidden (audited).
    setu.errors.InputError
        If a link is incomplete or of the wrong party.
    """
    problems: list[Problem] = []
    marking_ids: dict[str, int] = {}
    network_id = values.get("network_id")
    if network_id is not None:
        network = fetch_visible(
            session,
            principal,
            NetworkRecord,
            [NetworkRecord.id == network_id],
            action=action,
            kind="network",
            key=network_id,
            audit_permit=False,
        )
        marking_ids["network_id"] = network.marking_id
    item = values.get("item_node_id") or ""
    if item:
        if network_id is None:
            problems.append(Problem("item_node_id", "the requested item is a node of a network: give network_id"))
        else:
            node = fetch_visible(
                session,
                principal,
                NodeRecord,
                [NodeRecord.network_id == network_id, NodeRecord.node_id == item],
                action=action,
                kind="node",
                key=item,
                audit_permit=False,
            )
            marking_ids["item_node_id"] = node.marking_id
    scenario_pk = values.get("scenario_pk")
    if scenario_pk is not None:
        scenario = fetch_visible(
            session,
            principal,
            ScenarioRecord,
            [ScenarioRecord.id == scenario_pk],
            action=action,
            kind="scenario",
            key=scenario_pk,
            audit_permit=False,
        )
        marking_ids["scenario_pk"] = scenario.marking_id
        if network_id is not None and scenario.network_id != network_id:
            problems.append(Problem("scenario_pk", f"scenario {scenario_pk} is not on network {network_id}"))
    supplier = values["supplier_party"]
    org_id = values.get("supplier_organization_id")
    if org_id is not None:
        organization = fetch_visible(
            session,
            principal,
            Organization,
            [Organization.id == org_id],
            action=action,
            kind="organization",
            key=org_id,
            audit_permit=False,
        )
        if organization.party_code != supplier or organization.is_government:
            problems.append(
                Problem("supplier_organization_id", f"expected a firm of the supplier party {supplier}, got {org_id}")
            )
    site = values.get("supplier_site") or ""
    if site:
        if org_id is None:
            problems.append(
                Problem("supplier_site", "a supplier site belongs to a firm: give supplier_organization_id")
            )
        else:
            found = fetch_visible(
                session,
                principal,
                RegistrySite,
                [RegistrySite.organization_id == org_id, RegistrySite.name == site],
                action=action,
                kind="site",
                key=site,
                audit_permit=False,
            )
            marking_ids["supplier_site"] = found.marking_id
    if problems:
        raise InputError(problems)
    return {name: next(iter(marking_specs(session, [marking_id]))) for name, marking_id in marking_ids.items()}


def _check_covers(spec: MarkingSpec, linked: Mapping[str, MarkingSpec]) -> None:
    """Refuse a request marking that would show a linked record's id to readers who may not see the record."""
    problems = [
        Problem(
            "marking",
            f"the record linked by {name} is marked {other.banner()}; the request's marking "
            f"{spec.banner()} would reveal it to readers who may not see it",
        )
        for name, other in linked.items()
        if not _covers(spec, other)
    ]
    if problems:
        raise InputError(problems)


def _default_marking(principal: Principal, supplier: str) -> MarkingSpec:
    return MarkingSpec(0, principal.party, frozenset({principal.party, supplier}))


def _originated(spec: MarkingSpec, party: str) -> MarkingSpec:
    """``spec`` as the requesting party's own marking.

    ``combine`` may hand back a linked record's stored marking (one admitting the same readers), whose
    origin is the party that imported that record; unless national-only, the origin admits no one
    differently, so the request takes its own party's.
    """
    if spec.national_only or spec.origin_party == party:
        return spec
    return dataclasses.replace(spec, origin_party=party)


def _check_marking(principal: Principal, spec: MarkingSpec) -> None:
    if spec.origin_party != principal.party:
        raise MarkingError(f"a request's marking originates with your party {principal.party}")
    if not allows(principal, spec):
        raise MarkingError(f"you may not mark a request {spec.banner()}: you could not read it yourself")


def _typed(values: Mapping[str, Any]) -> dict[str, Any]:
    """Editable values checked by type and length; unknown names refused."""
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in EDITABLE:
            problems.append(Problem(name, f"not an editable field; expected one of {', '.join(EDITABLE)}"))
        elif name in _TEXT_LIMITS:
            if value is None:
                out[name] = ""
            elif not isinstance(value, str):
                problems.append(Problem(name, f"expected text, got {value!r}"))
            elif len(value) > _TEXT_LIMITS[name]:
                problems.append(Problem(name, f"at most {_TEXT_LIMITS[name]} characters, got {len(value)}"))
            else:
                out[name] = value.strip().upper() if name == "program_symbol" else value.strip()
        elif name == "rating":
            if value not in RATINGS:
                problems.append(Problem(name, f"expected one of {', '.join(RATINGS)}, got {value!r}"))
            out[name] = value
        elif name == "quantity":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e15:
                problems.append(Problem(name, f"expected a number from 0, got {value!r}"))
            else:
                out[name] = float(value)
        elif name == "delivery_date":
            if value is not None and not isinstance(value, date):
                problems.append(Problem(name, f"expected a date, got {value!r}"))
            out[name] = value
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            problems.append(Problem(name, f"expected an id (a positive integer) or null, got {value!r}"))
        else:
            out[name] = value
    if problems:
        raise InputError(problems)
    return out


def _link_values(request: PriorityRequest) -> dict[str, Any]:
    return {name: getattr(request, name) for name in EDITABLE} | {"supplier_party": request.supplier_party}
