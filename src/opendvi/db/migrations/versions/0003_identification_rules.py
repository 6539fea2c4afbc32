"""identification rules: a face alone never identifies; one active identification per
record; candidates referred for primary identifiers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status <> 'revoked'")


def upgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_constraint("status", type_="check")
        batch_op.create_check_constraint(
            "status", "status IN ('open','excluded','resurfaced','referred')"
        )
    with op.batch_alter_table("identifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("basis", sa.Text(), server_default="", nullable=False))
        batch_op.create_check_constraint("method", "method <> '' AND method <> 'secondary:face'")
        batch_op.create_index(
            "ux_identifications_remains_active",
            ["remains_id"],
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )
        batch_op.create_index(
            "ux_identifications_missing_active",
            ["missing_person_id"],
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("identifications", schema=None) as batch_op:
        batch_op.drop_index("ux_identifications_missing_active")
        batch_op.drop_index("ux_identifications_remains_active")
        batch_op.drop_constraint("method", type_="check")
        batch_op.drop_column("basis")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_constraint("status", type_="check")
        batch_op.create_check_constraint("status", "status IN ('open','excluded','resurfaced')")
