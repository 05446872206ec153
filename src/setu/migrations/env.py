"""Alembic environment: runs the packaged migrations on the connection setu.db.upgrade hands over."""

from __future__ import annotations

from alembic import context

import setu.models  # noqa: F401  (registers every model on the metadata)
from setu.db import make_engine
from setu.models.base import Base

target_metadata = Base.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # `alembic` run by hand: use SETU_DATABASE_URL
        with make_engine().begin() as own:
            _migrate(own)
    else:
        _migrate(connection)


def _migrate(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
