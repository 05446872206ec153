"""Registry entries copied from a stored network: a firm's nodes become its sites and capabilities.

A copy is never more readable than what it was copied from. The copier reads the nodes through the
marking filter (so copies only what they may read), and each record carries the combined marking of
its sources: a site the network's and that of every node naming it (its name, country and chokepoints
reveal each of them), a capability its node's and its site's. India-only, need-to-know or
proprietary nodes stay exactly as hidden in the registry as in the network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlalchemy.orm import Session

from setu.models.networks import NetworkRecord, NodeRecord
from setu.models.parties import Organization
from setu.models.registry import Capability
from setu.registry.capabilities import add_capability
from setu.registry.codes import codes_for
from setu.registry.sites import create_site
from setu.sharing.markings import MarkingSpec, combine
from setu.sharing.policy import Principal
from setu.sharing.read import fetch_visible, readable


def _originated(spec: MarkingSpec, principal: Principal) -> MarkingSpec:
    """``spec`` as the copier's party's own marking, so that its admin is the authority over the copy.

    ``combine`` may hand back a source's stored marking, originated by the party that imported it; unless
    national-only (where the origin decides who reads), the origin admits no one differently.
    """
    return spec if spec.national_only else dataclasses.replace(spec, origin_party=principal.party)


def copy_nodes(
    session: Session,
    principal: Principal,
    network_id: int,
    firm: Organization,
    belongs: Callable[[NodeRecord], bool],
    *,
    committed_share: float = 0.0,
    lead_time_weeks: float = 0.0,
    qualification_weeks: float = 0.0,
) -> list[Capability]:
    """Register ``firm``'s nodes of network ``network_id`` that ``principal`` may read as sites and capabilities.

    Each site name of the chosen nodes becomes a site of the firm, each node with a capability code for
    its material (:func:`setu.registry.codes.codes_for`) a capability of its site at the node's capacity;
    nodes without a site name are left out.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The copier: who may keep the firm's registry entries (see :func:`setu.registry.sites.create_site`).
    network_id
        The stored network.
    firm
        The firm the nodes belong to.
    belongs
        Which of the readable nodes are the firm's.
    committed_share
        The share of each capacity recorded as already committed.
    lead_time_weeks, qualification_weeks
        Recorded for every capability.

    Returns
    -------
    list of Capability
        The capabilities stored (flushed), in node order.

    Raises
    ------
    NotFound
        If the network does not exist or the copier may not see it.
    setu.errors.InputError
        If the firm already has a site of one of the names.
    """
    network = fetch_visible(
        session,
        principal,
        NetworkRecord,
        [NetworkRecord.id == network_id],
        action="registry.copy",
        kind="network",
        key=network_id,
        audit_permit=False,
    )
    network_spec = MarkingSpec.of(network.marking)
    at_site: dict[str, list[tuple[NodeRecord, MarkingSpec]]] = {}
    nodes = readable(principal, NodeRecord).where(NodeRecord.network_id == network_id).order_by(NodeRecord.id)
    for node in session.scalars(nodes):
        if node.site.strip() and belongs(node) and codes_for(node.material, node.material_class):
            at_site.setdefault(node.site, []).append((node, MarkingSpec.of(node.marking)))
    copied: list[Capability] = []
    for name, sources in at_site.items():
        first = sources[0][0]
        site_spec = _originated(combine({network_spec, *(spec for _node, spec in sources)}, principal.party), principal)
        chokepoints = sorted({c for node, _spec in sources for c in node.chokepoints.split(";") if c})
        site = create_site(
            session, principal, firm.id, name=name, country=first.country, chokepoints=chokepoints, marking=site_spec
        )
        for node, spec in sources:
            copied.append(
                add_capability(
                    session,
                    principal,
                    site.id,
                    code=codes_for(node.material, node.material_class)[0].code,
                    material=node.material,
                    capacity=node.capacity,
                    committed=round(node.capacity * committed_share, 2),
                    unit="units/week",
                    lead_time_weeks=lead_time_weeks,
                    qualification_weeks=qualification_weeks,
                    marking=_originated(combine({network_spec, spec}, principal.party), principal),
                )
            )
    return copied
