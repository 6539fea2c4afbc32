"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from opendvi.db.engine import Database
from opendvi.db.tables import Base
from opendvi.errors import DatabaseError


def test_upgrade_head_matches_the_models(database_url: str) -> None:
    db = Database.open(database_url)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert db.current_revision() == db.head_revision()
    db.dispose()


def test_downgrade_to_nothing_and_back_up_works(database_url: str) -> None:
    db = Database.open(database_url)
    with db.engine.begin() as connection:
        command.downgrade(db._alembic_config(connection), "base")
    with db.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    db.upgrade()
    assert db.current_revision() == db.head_revision()
    db.dispose()


def test_sqlite_is_opened_with_wal_foreign_keys_and_full_sync(database_url: str) -> None:
    db = Database.open(database_url)
    if not db.is_sqlite:
        pytest.skip("SQLite settings")
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2
    db.dispose()


def test_a_database_from_a_newer_opendvi_is_refused(database_url: str) -> None:
    db = Database.open(database_url)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(DatabaseError, match=r"schema version 9999.*upgrade OpenDVI"):
        Database.open(database_url)
    db.dispose()
