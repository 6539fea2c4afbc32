"""a photo whose person is not chosen among its faces is marked and indexed; each face says
how it became the person

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("person_not_chosen", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            "ix_photos_person_not_chosen",
            ["id"],
            unique=False,
            sqlite_where=sa.text("person_not_chosen = 1"),
            postgresql_where=sa.text("person_not_chosen"),
        )
    with op.batch_alter_table("faces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("subject_by", sa.String(length=20), nullable=False, server_default="")
        )
    # Faces already the person: the only face of their photo, or chosen by someone.
    op.execute(
        "UPDATE faces SET subject_by = CASE WHEN (SELECT count(*) FROM faces AS f "
        "WHERE f.photo_id = faces.photo_id) = 1 THEN 'only_face' ELSE 'person' END "
        "WHERE is_subject"
    )
    op.execute(
        "UPDATE photos SET person_not_chosen = true WHERE "
        "EXISTS (SELECT 1 FROM faces WHERE faces.photo_id = photos.id AND faces.usable) AND "
        "NOT EXISTS (SELECT 1 FROM faces WHERE faces.photo_id = photos.id AND faces.is_subject)"
    )


def downgrade() -> None:
    with op.batch_alter_table("faces", schema=None) as batch_op:
        batch_op.drop_column("subject_by")
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_index("ix_photos_person_not_chosen")
        batch_op.drop_column("person_not_chosen")
