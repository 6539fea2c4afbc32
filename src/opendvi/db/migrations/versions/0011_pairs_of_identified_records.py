"""pairs of an identified record leave the review queue (kept on each candidate, in the
queue's index); a reviewer's objection to an identification is a decision

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OPEN = "status <> 'excluded' AND rank_for_remains IS NOT NULL"
KINDS = (
    "'exclude','possible_match','propose_identification','confirm','revoke','reopen','judgement'"
)


def upgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("record_identified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.drop_index("ix_candidates_open")
        batch_op.create_index(
            "ix_candidates_open",
            ["false_candidate_rate", "id"],
            unique=False,
            sqlite_where=sa.text(f"credible = 1 AND {OPEN} AND record_identified = 0"),
            postgresql_where=sa.text(f"credible AND {OPEN} AND NOT record_identified"),
        )
    op.execute(
        "UPDATE candidates SET record_identified = true WHERE remains_id IN "
        "(SELECT remains_id FROM identifications WHERE status = 'confirmed') OR "
        "missing_person_id IN "
        "(SELECT missing_person_id FROM identifications WHERE status = 'confirmed')"
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", f"kind IN ({KINDS},'objection')")


def downgrade() -> None:
    op.execute("DELETE FROM decisions WHERE kind = 'objection'")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", f"kind IN ({KINDS})")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_candidates_open")
        batch_op.create_index(
            "ix_candidates_open",
            ["false_candidate_rate", "id"],
            unique=False,
            sqlite_where=sa.text(f"credible = 1 AND {OPEN}"),
            postgresql_where=sa.text(f"credible AND {OPEN}"),
        )
        batch_op.drop_column("record_identified")
