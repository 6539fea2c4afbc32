"""indexes for the review queue and a record's history

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 07:08:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_candidates_queue", ["credible", "false_candidate_rate", "id"], unique=False
        )
    op.create_index("ix_audit_events_ref", "audit_events", ["entity_ref"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_events_ref", table_name="audit_events")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_candidates_queue")
