"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and undo it."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

import setu.models
from setu.db import drop_schema, make_engine, upgrade
from setu.models.base import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    engine = make_engine(request.getfixturevalue("postgres_url"))
    drop_schema(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    return engine


def test_upgrade_matches_models_and_downgrade_empties(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diffs == []
    # Expression indexes are not reflected on SQLite: read the catalog itself.
    catalog = (
        "SELECT name FROM sqlite_master WHERE type = 'index'"
        if empty_engine.dialect.name == "sqlite"
        else "SELECT indexname FROM pg_indexes WHERE tablename = 'users'"
    )
    with empty_engine.connect() as connection:
        assert "uq_users_username_lower" in set(connection.exec_driver_sql(catalog).scalars())
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(setu.models.__file__).parents[1] / "migrations"))
    with empty_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
