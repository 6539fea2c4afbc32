"""a rebuild of every list staged beside the stored lists, swapped in at the end

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 06:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rebuilds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("context", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=80), nullable=False),
        sa.Column("model_version", sa.String(length=300), nullable=False),
        sa.Column("last_job", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebuilds")),
    )
    op.create_table(
        "rebuild_records",
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("evidence_digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("side", "record_id", name=op.f("pk_rebuild_records")),
    )
    op.create_table(
        "rebuild_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remains_id", sa.Integer(), nullable=False),
        sa.Column("missing_person_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("face_score", sa.Float(), nullable=True),
        sa.Column("face_points", sa.Float(), nullable=True),
        sa.Column("false_candidate_rate", sa.Float(), nullable=True),
        sa.Column("rank_for_remains", sa.Integer(), nullable=True),
        sa.Column("rank_for_missing", sa.Integer(), nullable=True),
        sa.Column("credible", sa.Boolean(), nullable=False),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("model_name", sa.String(length=80), nullable=False),
        sa.Column("model_version", sa.String(length=300), nullable=False),
        sa.Column("evidence_digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("record_identified", sa.Boolean(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["remains_id"],
            ["remains.id"],
            name=op.f("fk_rebuild_rows_remains_id_remains"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["missing_person_id"],
            ["missing_persons.id"],
            name=op.f("fk_rebuild_rows_missing_person_id_missing_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebuild_rows")),
        sa.UniqueConstraint("remains_id", "missing_person_id", name=op.f("uq_rebuild_rows_pair")),
    )
    op.create_index(
        op.f("ix_rebuild_rows_missing_person_id"),
        "rebuild_rows",
        ["missing_person_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_rebuild_rows_missing_person_id"), table_name="rebuild_rows")
    op.drop_table("rebuild_rows")
    op.drop_table("rebuild_records")
    op.drop_table("rebuilds")
