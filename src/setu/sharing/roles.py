"""Role checks: the one place an operation's required roles are enforced and a refusal is audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import AccessDenied
from setu.sharing.policy import Principal


def has_role(principal: Principal, *roles: str) -> bool:
    """Whether ``principal`` holds one of ``roles``."""
    return not principal.roles.isdisjoint(roles)


def check_role(principal: Principal, *roles: str) -> None:
    """Allow the operation only if ``principal`` holds one of ``roles`` (no audit: the caller records it).

    Raises
    ------
    AccessDenied
        If the principal holds none of them.
    """
    if not has_role(principal, *roles):
        held = ", ".join(sorted(principal.roles)) or "no role"
        raise AccessDenied(f"requires role {' or '.join(roles)}; user {principal.user_id} holds {held}")


def require_role(session: Session, principal: Principal, action: str, *roles: str) -> None:
    """Allow ``action`` only to holders of one of ``roles``; a refusal is audited and committed at once.

    The denial commits so that the caller's rollback on the error cannot erase it.

    Parameters
    ----------
    session
        The caller's session (holding no pending work of its own when this refuses).
    principal
        The user.
    action
        The audited action refused (``network.import``, ``audit.read`` ...).
    *roles
        The roles that may do it.

    Raises
    ------
    AccessDenied
        If the user holds none of them (answered 403).
    """
    try:
        check_role(principal, *roles)
    except AccessDenied:
        record(session, principal, action, decision="deny", details={"reason": "role", "requires": list(roles)})
        session.commit()
        raise
