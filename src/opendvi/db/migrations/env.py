"""Alembic environment: migrations run on the connection OpenDVI hands over."""

from __future__ import annotations

from alembic import context

from opendvi.db.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations through OpenDVI: `opendvi db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
