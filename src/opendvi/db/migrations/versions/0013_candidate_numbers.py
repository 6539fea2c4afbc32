"""a candidate pair's number kept for good, so links by number survive re-matching

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-02 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candidate_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remains_id", sa.Integer(), nullable=False),
        sa.Column("missing_person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["remains_id"],
            ["remains.id"],
            name=op.f("fk_candidate_numbers_remains_id_remains"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["missing_person_id"],
            ["missing_persons.id"],
            name=op.f("fk_candidate_numbers_missing_person_id_missing_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidate_numbers")),
        sa.UniqueConstraint(
            "remains_id", "missing_person_id", name=op.f("uq_candidate_numbers_pair")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_candidate_numbers_missing_person_id"),
        "candidate_numbers",
        ["missing_person_id"],
        unique=False,
    )
    # The pairs stored now keep the numbers they have.
    op.execute(
        "INSERT INTO candidate_numbers (id, remains_id, missing_person_id) "
        "SELECT id, remains_id, missing_person_id FROM candidates"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('candidate_numbers', 'id'), "
            "GREATEST((SELECT COALESCE(MAX(id), 0) FROM candidate_numbers), "
            "(SELECT COALESCE(MAX(id), 0) FROM candidates)) + 1, false)"
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_candidate_numbers_missing_person_id"), table_name="candidate_numbers")
    op.drop_table("candidate_numbers")
