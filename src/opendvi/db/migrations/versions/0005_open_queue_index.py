"""the review queue's index holds only credible pairs still to review; reviewers' blind
judgements are decisions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 08:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = "status <> 'excluded' AND rank_for_remains IS NOT NULL"
KINDS = "'exclude','possible_match','propose_identification','confirm','revoke','reopen'"


def upgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_candidates_queue")
        batch_op.create_index(
            "ix_candidates_open",
            ["false_candidate_rate", "id"],
            unique=False,
            sqlite_where=sa.text(f"credible = 1 AND {OPEN}"),
            postgresql_where=sa.text(f"credible AND {OPEN}"),
        )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", f"kind IN ({KINDS},'judgement')")


def downgrade() -> None:
    op.execute("DELETE FROM decisions WHERE kind = 'judgement'")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_constraint("kind", type_="check")
        batch_op.create_check_constraint("kind", f"kind IN ({KINDS})")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_candidates_open")
        batch_op.create_index(
            "ix_candidates_queue", ["credible", "false_candidate_rate", "id"], unique=False
        )
