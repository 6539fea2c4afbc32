"""each confirmer of an identification says what they checked

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identifications") as batch:
        batch.add_column(sa.Column("checked_1", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("checked_2", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    # Dropped in place (SQLite 3.35 and later can): a batch copy of the table would break
    # the notification trigger that names it.
    op.drop_column("identifications", "checked_2")
    op.drop_column("identifications", "checked_1")
