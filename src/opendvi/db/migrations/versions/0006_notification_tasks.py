"""notification tasks: words drafted by one person and approved by another, the steps taken,
and no task for an identification that is not confirmed; a waiting job is found by index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MESSAGE = "a notification task needs a confirmed identification"
STEP_KINDS = (
    "visit",
    "call",
    "letter",
    "email",
    "outbox",
    "acknowledged",
    "follow_up",
    "referral",
    "photo_request",
    "photo_viewed",
    "note",
    "alert",
)


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("drafted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("cancel_reason", sa.Text(), server_default="", nullable=False)
        )
        batch_op.create_foreign_key(
            "fk_notifications_drafted_by_id_users", "users", ["drafted_by_id"], ["id"]
        )
        batch_op.create_check_constraint(
            "second_approver",
            "approved_by_id IS NULL OR (drafted_by_id IS NOT NULL "
            "AND approved_by_id <> drafted_by_id)",
        )
        batch_op.create_check_constraint(
            "approved_before_use",
            "status IN ('prepared','cancelled') OR approved_by_id IS NOT NULL",
        )
        batch_op.create_check_constraint(
            "channel", "channel IN ('in_person','phone','letter','email')"
        )
        batch_op.create_unique_constraint(
            "uq_notifications_contact", ["identification_id", "contact_id"]
        )
    op.create_table(
        "notification_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN (" + ",".join(f"'{k}'" for k in STEP_KINDS) + ")",
            name=op.f("ck_notification_steps_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_steps_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_steps_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_steps")),
    )
    with op.batch_alter_table("notification_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_steps_notification_id"), ["notification_id"]
        )
        batch_op.create_index(batch_op.f("ix_notification_steps_user_id"), ["user_id"])
    _require_confirmed()
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_kind")
        batch_op.create_index("ix_jobs_status_kind", ["status", "kind", "subject"])


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_kind")
        batch_op.create_index("ix_jobs_status_kind", ["status", "kind"])
    _allow_unconfirmed()
    with op.batch_alter_table("notification_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_steps_user_id"))
        batch_op.drop_index(batch_op.f("ix_notification_steps_notification_id"))
    op.drop_table("notification_steps")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notifications_contact", type_="unique")
        batch_op.drop_constraint("channel", type_="check")
        batch_op.drop_constraint("approved_before_use", type_="check")
        batch_op.drop_constraint("second_approver", type_="check")
        batch_op.drop_constraint("fk_notifications_drafted_by_id_users", type_="foreignkey")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("approved_at")
        batch_op.drop_column("drafted_by_id")
        batch_op.drop_column("subject")


# The database itself refuses a task for an identification that is not confirmed, and a task
# that moves on (approved, carried out) once its identification is no longer confirmed.
def _require_confirmed() -> None:
    if op.get_bind().dialect.name == "sqlite":
        unconfirmed = (
            "(SELECT status FROM identifications WHERE id = NEW.identification_id) "
            "IS NOT 'confirmed'"
        )
        op.execute(
            "CREATE TRIGGER notifications_need_confirmed BEFORE INSERT ON notifications "
            f"WHEN {unconfirmed} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
        op.execute(
            "CREATE TRIGGER notifications_move_need_confirmed BEFORE UPDATE OF status ON "
            "notifications WHEN NEW.status IN ('approved','carried_out','acknowledged') "
            f"AND NEW.status <> OLD.status AND {unconfirmed} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
    else:
        op.execute(
            "CREATE FUNCTION opendvi_notification_needs_confirmed() RETURNS trigger AS $$ "
            "BEGIN IF (TG_OP = 'INSERT' OR (NEW.status IN ('approved','carried_out',"
            "'acknowledged') AND NEW.status <> OLD.status)) AND (SELECT status FROM "
            "identifications WHERE id = NEW.identification_id) IS DISTINCT FROM 'confirmed' "
            f"THEN RAISE EXCEPTION '{MESSAGE}'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER notifications_need_confirmed BEFORE INSERT OR UPDATE ON "
            "notifications FOR EACH ROW EXECUTE FUNCTION opendvi_notification_needs_confirmed()"
        )


def _allow_unconfirmed() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS notifications_need_confirmed")
        op.execute("DROP TRIGGER IF EXISTS notifications_move_need_confirmed")
    else:
        op.execute("DROP TRIGGER IF EXISTS notifications_need_confirmed ON notifications")
        op.execute("DROP FUNCTION IF EXISTS opendvi_notification_needs_confirmed()")
