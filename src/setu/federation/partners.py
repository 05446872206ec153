"""The partners this instance federates with, and what "released to a partner" means.

A partner is a party whose instance this one exchanges records with. Adding one pins its public key
(everything it signs is checked against it) and its TLS certificate. A record is released to the
partner when its marking admits the partner party *as a whole*:
:func:`setu.sharing.policy.partner_reader` is a reader of that party, of one of its government bodies,
cleared to the link's accreditation and holding only the need-to-know groups both sides agreed to
share. National-only records and records proprietary to an organization of any other party therefore
never qualify; the rule is the read filter's own (:mod:`setu.sharing.policy`), not a second copy of it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from setu.audit.keys import check_party, key_id_of
from setu.audit.log import AuditError, record
from setu.federation.certs import certificate_fingerprint, load_certificate
from setu.federation.identity import FederationError, fingerprint, public_key_from_hex
from setu.models.audit import SigningKey
from setu.models.federation import Partner
from setu.sharing.markings import GROUP_PATTERN, LEVELS


def get_partner(session: Session, party: str) -> Partner:
    """The partner ``party``, or a precise error naming the partners there are."""
    partner = session.get(Partner, party)
    if partner is None:
        known = ", ".join(session.scalars(select(Partner.party).order_by(Partner.party))) or "none"
        raise FederationError(
            f"{party} is not a partner of this instance (partners: {known}); add it with `setu partner add`"
        )
    return partner


def list_partners(session: Session) -> list[Partner]:
    """Every partner, by party code."""
    return list(session.scalars(select(Partner).order_by(Partner.party)))


def add_partner(
    session: Session,
    *,
    local_party: str,
    party: str,
    public_key: str,
    url: str = "",
    certificate: str = "",
    max_classification: int = 1,
    groups: list[str] | None = None,
    actor_name: str = "",
) -> Partner:
    """Record ``party``'s instance as a partner, pinning its key and certificate (audited).

    Parameters
    ----------
    session
        The transaction to write in.
    local_party
        This instance's party (a partner is always another one).
    party
        The partner's party code.
    public_key
        The partner instance's Ed25519 public key, 64 hex digits (compare its :func:`fingerprint` out of band).
    url
        Where its federation endpoint answers (``https://...``); empty for an air-gapped link.
    certificate
        Its TLS certificate (PEM), pinned for mutual TLS; empty for an air-gapped link.
    max_classification
        The highest classification the link is accredited for (default RESTRICTED).
    groups
        The need-to-know groups both sides agreed to share over the link (default none).
    actor_name
        Who added it, for the audit entry.

    Returns
    -------
    Partner
        The stored partner.
    """
    try:
        check_party(party)
    except AuditError as error:
        raise FederationError(str(error)) from None
    if party == local_party:
        raise FederationError(f"{party} is this instance's own party; a partner is another party's instance")
    if session.get(Partner, party) is not None:
        raise FederationError(f"{party} is a partner already; remove it first to pin a new key or certificate")
    raw = public_key_from_hex(public_key)
    if max_classification not in LEVELS:
        raise FederationError(f"max classification must be one of {sorted(LEVELS)}, got {max_classification}")
    wanted = sorted(set(groups or []))
    for group in wanted:
        if not GROUP_PATTERN.fullmatch(group):
            raise FederationError(f"group {group!r} is not a need-to-know group name (letters, digits, ._-)")
    if url and not url.startswith("https://"):
        raise FederationError(f"the partner's URL must start with https:// (mutual TLS), got {url!r}")
    if certificate:
        load_certificate(certificate, source=f"{party}'s certificate")
    if url and not certificate:
        raise FederationError("an online partner (--url) needs its TLS certificate pinned (--cert)")
    partner = Partner(
        party=party,
        url=url,
        public_key=raw.hex(),
        tls_certificate=certificate,
        max_classification=max_classification,
        groups=wanted,
        added_by=actor_name,
    )
    session.add(partner)
    if session.scalar(select(SigningKey.id).where(SigningKey.key_id == key_id_of(raw))) is None:
        # The partner's public key beside ours, so `setu audit verify` checks its cosignatures of our log.
        session.add(SigningKey(key_id=key_id_of(raw), party=party, public_key=raw))
    details = {
        "key_fingerprint": fingerprint(raw),
        "max_classification": LEVELS[max_classification],
        "groups": wanted,
        "url": url,
    }
    if certificate:
        details["certificate_fingerprint"] = certificate_fingerprint(certificate)
    record(
        session,
        None,
        "federation.partner.add",
        "partner",
        party,
        actor_name=actor_name,
        details=details,
        party=local_party,
    )
    return partner


def remove_partner(session: Session, party: str, *, local_party: str, actor_name: str = "") -> None:
    """Forget the partner ``party`` (audited); what was sent and received stays, with its provenance."""
    partner = get_partner(session, party)
    session.delete(partner)
    record(session, None, "federation.partner.remove", "partner", party, actor_name=actor_name, party=local_party)
