"""a pair can be assigned to a reviewer; records are indexed by event for the queue's filter

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-02 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remains_id", sa.Integer(), nullable=False),
        sa.Column("missing_person_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["remains_id"],
            ["remains.id"],
            name="fk_review_assignments_remains_id_remains",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["missing_person_id"],
            ["missing_persons.id"],
            name="fk_review_assignments_missing_person_id_missing_persons",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_review_assignments_user_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"], ["users.id"], name="fk_review_assignments_assigned_by_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_review_assignments"),
        sa.UniqueConstraint("remains_id", "missing_person_id", name="uq_review_assignments_pair"),
    )
    op.create_index("ix_review_assignments_user_id", "review_assignments", ["user_id"])
    op.create_index("ix_remains_event_id", "remains", ["event_id"])
    op.create_index("ix_missing_persons_event_id", "missing_persons", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_missing_persons_event_id", table_name="missing_persons")
    op.drop_index("ix_remains_event_id", table_name="remains")
    op.drop_index("ix_review_assignments_user_id", table_name="review_assignments")
    op.drop_table("review_assignments")
