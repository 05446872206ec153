"""The demo's audit trail starts signed: each party issues a checkpoint over the seeded log, the other countersigns.

The demo runs both parties on one host, so this instance holds both keys (in ``SETU_KEY_DIR``, one
folder per party); a deployment runs one instance per party with ``SETU_SIGNING_PARTIES`` set to its
own, and the schedule (:mod:`setu.audit.schedule`) keeps issuing checkpoints after the seed.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from setu.audit.checkpoints import countersign, issue_checkpoint, log_name
from setu.audit.keys import forget_signed, signing_parties
from setu.db import transaction

DEMO_PARTIES = ("IN", "US")


def seed_demo_checkpoints(factory: sessionmaker[Session], actor_name: str = "demo seed") -> list[int]:
    """Each demo party this instance signs for issues a checkpoint; every other such party countersigns it.

    For a database just seeded: it first forgets what this host signed in an earlier database at the
    same URL (see :func:`setu.audit.keys.last_signed`).

    Parameters
    ----------
    factory
        The demo database.
    actor_name
        Who the audit entries name.

    Returns
    -------
    list of int
        The ids of the checkpoints issued.
    """
    allowed = signing_parties()
    parties = [p for p in DEMO_PARTIES if allowed is None or p in allowed]
    with factory() as session:
        log = log_name(session)
    for party in parties:
        # Called on a freshly seeded database only: what this host signed in an earlier demo database at
        # the same URL is no log of this one.
        forget_signed(party, log)
    issued: list[int] = []
    for party in parties:
        with transaction(factory) as session:
            issued.append(issue_checkpoint(session, party, actor_name=actor_name).id)
    for checkpoint_id, issuer in zip(issued, parties, strict=True):
        for other in parties:
            if other != issuer:
                with transaction(factory) as session:
                    countersign(session, checkpoint_id, other, actor_name=actor_name)
    return issued
