"""a report's pairs indexed with their rank for it, as a remains record's are: a list's
last ranks are read without reading every pair of the report

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 22:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_candidates_missing_rank", "candidates", ["missing_person_id", "rank_for_missing"]
    )
    op.drop_index("ix_candidates_missing_person_id", table_name="candidates")


def downgrade() -> None:
    op.create_index("ix_candidates_missing_person_id", "candidates", ["missing_person_id"])
    op.drop_index("ix_candidates_missing_rank", table_name="candidates")
