"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL:
tables, columns, indexes and foreign keys (alembic's comparison), the CHECK constraints
(compared with a database the models made) and the triggers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text

from opendvi.db.engine import MIGRATIONS, Database, newest_migration
from opendvi.db.tables import Base
from opendvi.errors import DatabaseError


def test_upgrade_head_matches_the_models(database_url: str) -> None:
    db = Database.open(database_url)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert db.current_revision() == db.head_revision()
    db.dispose()


def test_the_newest_migration_read_from_the_file_names_is_alembics_head() -> None:
    """Opening a database trusts it (one query, no Alembic): a migration whose file name
    does not start with its revision, or a second head, would be missed."""
    assert newest_migration() == ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_a_database_one_migration_behind_is_brought_up_on_open(database_url: str) -> None:
    db = Database.open(database_url)
    with db.engine.begin() as connection:
        command.downgrade(db._alembic_config(connection), "-1")
    behind = db.current_revision()
    db.dispose()
    assert behind is not None and behind != newest_migration()
    db = Database.open(database_url)
    assert db.current_revision() == newest_migration()
    db.dispose()


# The triggers the migrations create (the models cannot say it): table, when, on what.
TRIGGERS = {
    "sqlite": {
        "audit_events_no_update": ("audit_events", "BEFORE UPDATE"),
        "audit_events_no_delete": ("audit_events", "BEFORE DELETE"),
        "notifications_need_confirmed": ("notifications", "BEFORE INSERT"),
        "notifications_move_need_confirmed": ("notifications", "BEFORE UPDATE OF status"),
    },
    "postgresql": {
        "audit_events_append_only": ("audit_events", "BEFORE DELETE,UPDATE"),
        "notifications_need_confirmed": ("notifications", "BEFORE INSERT,UPDATE"),
    },
}


@pytest.fixture
def models_url(tmp_path: Path, postgres_server: object | None) -> Iterator[str]:
    """A second empty database, for the schema the models make by themselves."""
    if postgres_server is None:
        yield f"sqlite:///{tmp_path / 'models.sqlite3'}"
        return
    name = f"models_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    postgres_server.psql(f"CREATE DATABASE {name};")  # type: ignore[attr-defined]
    uri: str = postgres_server.get_uri(name)  # type: ignore[attr-defined]
    yield uri.replace("postgresql://", "postgresql+psycopg://", 1)


def check_constraints(connection: Connection) -> dict[tuple[str, str | None], str]:
    """Every CHECK constraint, by table and name, as the database itself reads it back."""
    found = inspect(connection)
    return {
        (table, check["name"]): " ".join(check["sqltext"].split())
        for table in found.get_table_names()
        for check in found.get_check_constraints(table)
    }


def triggers(connection: Connection) -> dict[str, tuple[str, str]]:
    if connection.dialect.name == "sqlite":
        rows = connection.execute(
            text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        ).all()
        return {
            name: (table, sql.split(" ON ")[0].split(name, 1)[1].strip())
            for name, table, sql in rows
        }
    rows = connection.execute(
        text(
            "SELECT trigger_name, event_object_table, action_timing, "
            "string_agg(event_manipulation, ',' ORDER BY event_manipulation) "
            "FROM information_schema.triggers GROUP BY 1, 2, 3"
        )
    ).all()
    return {name: (table, f"{timing} {events}") for name, table, timing, events in rows}


def test_upgrade_head_has_the_check_constraints_of_the_models(
    database_url: str, models_url: str
) -> None:
    db = Database.open(database_url)
    models = create_engine(models_url)
    Base.metadata.create_all(models)
    with db.engine.connect() as migrated, models.connect() as made:
        expected = check_constraints(made)
        assert ("identifications", "ck_identifications_first_other") in expected
        assert check_constraints(migrated) == expected
    models.dispose()
    db.dispose()


def test_upgrade_head_has_the_triggers_that_guard_the_audit_log_and_the_tasks(
    database_url: str,
) -> None:
    db = Database.open(database_url)
    with db.engine.connect() as connection:
        assert triggers(connection) == TRIGGERS[connection.dialect.name]
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
