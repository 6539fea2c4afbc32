"""a report can be withdrawn; when a case was closed and when remains were released, which
retention counts from

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

STATUSES = "status IN ('open','identified','closed','merged')"
WITH_WITHDRAWN = "status IN ('open','identified','closed','merged','withdrawn')"


def upgrade() -> None:
    with op.batch_alter_table("missing_persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint("status", type_="check")
        batch_op.create_check_constraint("status", WITH_WITHDRAWN)
    with op.batch_alter_table("remains", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("remains", schema=None) as batch_op:
        batch_op.drop_column("released_at")
        batch_op.drop_column("closed_at")
    op.execute("UPDATE missing_persons SET status = 'closed' WHERE status = 'withdrawn'")
    with op.batch_alter_table("missing_persons", schema=None) as batch_op:
        batch_op.drop_constraint("status", type_="check")
        batch_op.create_check_constraint("status", STATUSES)
        batch_op.drop_column("closed_at")
