"""A revision per stored network, changed by the database itself whenever any of its records changes.

Cached figures (the dashboard's, the map's, a compiled view, a reader's view digest) are keyed by what
they were computed from. Fingerprinting every record of a network on every request cost a scan of the
whole network per figure; a revision is one indexed row. Triggers, not the application, change it, so a
change made outside Setu (an operator's SQL that re-marks a node or deletes one) changes it too, in the
same transaction. A new revision is a random 64-bit number rather than a count: a database restored
from a backup, or emptied and refilled, never brings back a revision a cache has already seen.

A network without a revision row (a schema made before the triggers) has no revision, and its figures
are then fingerprinted in full (:func:`setu.networks.stamps.records_stamp`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, event
from sqlalchemy.orm import Mapped, mapped_column

from setu.models.base import Base

REVISED_TABLES = (
    "network_nodes",
    "network_supplies",
    "network_bom",
    "network_products",
    "network_site_capacities",
    "network_tear_line_covers",
)
"""Every table whose rows make up a network's data and the views readers have of it."""


class NetworkRevision(Base):
    """The current revision of a network's records (never read through the marking filter: it is no record)."""

    __tablename__ = "network_revisions"

    network_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(BigInteger, nullable=False)


_SQLITE_BUMP = (
    "INSERT INTO network_revisions (network_id, revision) VALUES ({row}.network_id, random()) "
    "ON CONFLICT (network_id) DO UPDATE SET revision = excluded.revision;"
)

# PostgreSQL fires one trigger per statement with the changed rows as a table. An upsert may touch a
# row once per statement, hence DISTINCT before the random value. A revision is changed once per
# transaction: updating one row for each of a bulk import's thousands of statements would leave a chain
# of dead versions that every later update walks (an import of 30,000 nodes took 82 s instead of 4 s).
# What that asks of readers: a transaction that has written uses no cached figure (see stamps).
_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION setu_revise_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO network_revisions (network_id, revision)
  SELECT changed.network_id, (random() * 9.2e18 - 4.6e18)::bigint
  FROM ({rows}) AS changed
  ON CONFLICT (network_id) DO UPDATE SET revision = excluded.revision
  WHERE network_revisions.xmin <> pg_current_xact_id()::xid;
  RETURN NULL;
END $$
"""
_POSTGRES_ROWS = {
    "inserted": "SELECT DISTINCT network_id FROM new_rows",
    "deleted": "SELECT DISTINCT network_id FROM old_rows",
    "updated": "SELECT network_id FROM new_rows UNION SELECT network_id FROM old_rows",
}
_POSTGRES_EVENTS = {
    "inserted": ("INSERT", "NEW TABLE AS new_rows"),
    "deleted": ("DELETE", "OLD TABLE AS old_rows"),
    "updated": ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
}


def trigger_statements(dialect: str) -> list[str]:
    """The statements that create the revision triggers on ``dialect`` ("sqlite" or "postgresql").

    Parameters
    ----------
    dialect
        The database's dialect name.

    Returns
    -------
    list of str
        Statements to run in order; empty for another dialect (whose networks then have no revision).
    """
    statements: list[str] = []
    if dialect == "sqlite":
        for table in REVISED_TABLES:
            for event_name, changed in (("INSERT", ("NEW",)), ("DELETE", ("OLD",)), ("UPDATE", ("OLD", "NEW"))):
                bumps = " ".join(_SQLITE_BUMP.format(row=row) for row in changed)
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_revise_{event_name.lower()} "
                    f"AFTER {event_name} ON {table} FOR EACH ROW BEGIN {bumps} END"
                )
    elif dialect == "postgresql":
        for name, selected in _POSTGRES_ROWS.items():
            statements.append(_POSTGRES_FUNCTION.format(name=name, rows=selected))
        for table in REVISED_TABLES:
            for name, (event_name, referencing) in _POSTGRES_EVENTS.items():
                trigger = f"{table}_revise_{event_name.lower()}"
                statements.append(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
                statements.append(
                    f"CREATE TRIGGER {trigger} AFTER {event_name} ON {table} REFERENCING {referencing} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION setu_revise_{name}()"
                )
    return statements


@event.listens_for(Base.metadata, "after_create")
def _create_triggers(_metadata: Any, connection: Any, **_kw: Any) -> None:
    # After every table exists: the triggers sit on the network tables and write network_revisions.
    for statement in trigger_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)
