"""Changing a record's marking: who may lower one, and a lowering audited as a release.

A marking change *lowers* the marking when the new one admits a reader the old one did not: a lower
classification, a party added to the releases, national-only dropped, an owner or a need-to-know group
removed. Raising (admitting fewer readers) is any writer's to do; lowering is a release of the record,
which only the marking's authority may decide: an ``admin`` of a government body of the marking's
origin party, and, for each owning organization dropped, of that organization's party. Every update
path of every marked model calls :func:`check_marking_change`, so a firm's user cannot widen what a
government admin marked, and a lowering leaves a release entry (``registry.site.update`` ->
``registry.site.release``) naming both markings.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import MarkingError
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal

AUTHORITY_ROLES = frozenset({"admin"})
"""The roles that may release (lower) a marking, in a government body of the marking's party."""


def at_least_as_restrictive(new: MarkingSpec, old: MarkingSpec) -> bool:
    """Whether every reader ``new`` admits is admitted by ``old`` too (so changing to ``new`` releases nothing).

    Judged part by part, so a change that raises one part and lowers another counts as lowering.
    """
    return (
        new.classification >= old.classification
        and new.effective_releases <= old.effective_releases
        and new.owners >= old.owners
        and new.groups >= old.groups
    )


def lowers(old: MarkingSpec, new: MarkingSpec) -> bool:
    """Whether changing a record from ``old`` to ``new`` would admit a reader ``old`` kept out."""
    return not at_least_as_restrictive(new, old)


def may_lower(principal: Principal, old: MarkingSpec, new: MarkingSpec) -> bool:
    """Whether ``principal`` holds the authority to change ``old`` to the lower ``new``.

    An admin of a government body of ``old``'s origin party; when owners are dropped, of each dropped
    owner's party as well (a firm's proprietary mark is its own government's to lift).
    """
    if principal.roles.isdisjoint(AUTHORITY_ROLES) or not principal.org_is_government:
        return False
    parties = {old.origin_party} | {party for _org, party in old.owners - new.owners}
    return parties == {principal.party}


def release_action(action: str) -> str:
    """The audited action of a lowering made by the update ``action``: its last part becomes ``release``."""
    return action.rsplit(".", 1)[0] + ".release"


def check_marking_change(
    session: Session,
    principal: Principal,
    old: MarkingSpec,
    new: MarkingSpec,
    *,
    action: str,
    kind: str,
    key: object,
    audit_release: bool = True,
) -> bool:
    """Allow a change of a record's marking from ``old`` to ``new``; audit a lowering as a release.

    Call it from every update that may change a marking, after the writer's other checks and before
    the change is written, in the transaction that writes it.

    Parameters
    ----------
    session
        The writer's session: a refusal is recorded and committed at once (so the caller's rollback
        cannot erase it); a release is recorded in the caller's transaction, kept only if it commits.
    principal
        The writer.
    old, new
        The record's marking now and the one asked for.
    action
        The audited update (``registry.site.update`` ...): a refusal is recorded under it, a lowering
        under :func:`release_action` of it (``registry.site.release``).
    kind
        The record's kind as the audit log names it (``registry_site``, ``request`` ...).
    key
        The record's id.
    audit_release
        Record a permitted lowering here; a caller creating the record (``old`` being the restrictive
        default) records it itself once the record has its id.

    Returns
    -------
    bool
        Whether the change lowers the marking (and was recorded as a release).

    Raises
    ------
    MarkingError
        If the change lowers the marking and the writer is not its authority (403, audited as denied).
    """
    if new == old or not lowers(old, new):
        return False
    details = {"old": old.banner(), "new": new.banner()}
    if not may_lower(principal, old, new):
        reason = "lowering a marking needs its authority"
        record(session, principal, action, kind, str(key), decision="deny", details={"reason": reason, **details})
        session.commit()
        raise MarkingError(
            f"you may not lower the marking {old.banner()} to {new.banner()}: only an admin of a government "
            f"body of {old.origin_party} may release a record"
        )
    if audit_release:
        record(session, principal, release_action(action), kind, str(key), details=details)
    return True
