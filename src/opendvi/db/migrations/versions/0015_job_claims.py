"""a queued job claimed by one worker for a while (its lease), so several workers share
the queue

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("claimed_by", sa.String(length=120), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
