"""records, photos, faces, review, notification and audit tables

Revision ID: 0001
Revises:
Create Date: 2026-11-27 02:54:09.280048
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("entity_ref", sa.String(length=200), nullable=False),
        sa.Column("before_digest", sa.String(length=64), nullable=False),
        sa.Column("after_digest", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_entity", ["entity_type", "entity_id"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("code", name=op.f("uq_events_code")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_status_kind", ["status", "kind"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin','forensic','caseworker','reviewer','auditor')",
            name=op.f("ck_users_role"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "missing_persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("full_name", sa.String(length=300), nullable=False),
        sa.Column("other_names", sa.String(length=300), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_earliest", sa.Date(), nullable=True),
        sa.Column("birth_latest", sa.Date(), nullable=True),
        sa.Column("height_min_cm", sa.Integer(), nullable=True),
        sa.Column("height_max_cm", sa.Integer(), nullable=True),
        sa.Column("hair", sa.String(length=200), nullable=False),
        sa.Column("eyes", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("circumstances", sa.Text(), nullable=False),
        sa.Column("last_seen_earliest", sa.Date(), nullable=True),
        sa.Column("last_seen_latest", sa.Date(), nullable=True),
        sa.Column("last_seen_place", sa.Text(), nullable=False),
        sa.Column("last_seen_lat", sa.Float(), nullable=True),
        sa.Column("last_seen_lon", sa.Float(), nullable=True),
        sa.Column("dna_reference", sa.Boolean(), nullable=True),
        sa.Column("dental_records", sa.Boolean(), nullable=True),
        sa.Column("fingerprint_records", sa.Boolean(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sex IN ('F','M','U')", name=op.f("ck_missing_persons_sex")),
        sa.CheckConstraint(
            "status IN ('open','identified','closed','merged')",
            name=op.f("ck_missing_persons_status"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_missing_persons_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["missing_persons.id"],
            name=op.f("fk_missing_persons_merged_into_id_missing_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_missing_persons")),
        sa.UniqueConstraint("ref", name=op.f("uq_missing_persons_ref")),
    )
    op.create_table(
        "remains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("found_earliest", sa.Date(), nullable=True),
        sa.Column("found_latest", sa.Date(), nullable=True),
        sa.Column("found_place", sa.Text(), nullable=False),
        sa.Column("found_lat", sa.Float(), nullable=True),
        sa.Column("found_lon", sa.Float(), nullable=True),
        sa.Column("condition", sa.String(length=20), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("age_min", sa.Integer(), nullable=True),
        sa.Column("age_max", sa.Integer(), nullable=True),
        sa.Column("height_min_cm", sa.Integer(), nullable=True),
        sa.Column("height_max_cm", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("storage_location", sa.Text(), nullable=False),
        sa.Column("dna_sampled", sa.Boolean(), nullable=True),
        sa.Column("fingerprints_taken", sa.Boolean(), nullable=True),
        sa.Column("dental_charted", sa.Boolean(), nullable=True),
        sa.Column("linked_to_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "condition IN ('fresh','decomposed','skeletal','fragment','unknown')",
            name=op.f("ck_remains_condition"),
        ),
        sa.CheckConstraint("sex IN ('F','M','U')", name=op.f("ck_remains_sex")),
        sa.CheckConstraint(
            "status IN ('open','identified','closed','merged')", name=op.f("ck_remains_status")
        ),
        sa.CheckConstraint(
            "age_min IS NULL OR age_max IS NULL OR age_min <= age_max", name=op.f("ck_remains_age")
        ),
        sa.CheckConstraint(
            "height_min_cm IS NULL OR height_max_cm IS NULL OR height_min_cm <= height_max_cm",
            name=op.f("ck_remains_height"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_remains_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["linked_to_id"], ["remains.id"], name=op.f("fk_remains_linked_to_id_remains")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remains")),
        sa.UniqueConstraint("ref", name=op.f("uq_remains_ref")),
    )
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remains_id", sa.Integer(), nullable=False),
        sa.Column("missing_person_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("face_score", sa.Float(), nullable=True),
        sa.Column("false_candidate_rate", sa.Float(), nullable=True),
        sa.Column("rank_for_remains", sa.Integer(), nullable=True),
        sa.Column("rank_for_missing", sa.Integer(), nullable=True),
        sa.Column("credible", sa.Boolean(), nullable=False),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("model_name", sa.String(length=80), nullable=False),
        sa.Column("model_version", sa.String(length=300), nullable=False),
        sa.Column("evidence_digest", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["missing_person_id"],
            ["missing_persons.id"],
            name=op.f("fk_candidates_missing_person_id_missing_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["remains_id"],
            ["remains.id"],
            name=op.f("fk_candidates_remains_id_remains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidates")),
        sa.UniqueConstraint("remains_id", "missing_person_id", name="uq_candidates_pair"),
    )
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_candidates_missing_person_id"), ["missing_person_id"], unique=False
        )

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("missing_person_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("relationship", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=60), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=False),
        sa.Column("consent_contact", sa.Boolean(), nullable=True),
        sa.Column("consent_channels", sa.String(length=200), nullable=False),
        sa.Column("sharing_scope", sa.String(length=40), nullable=False),
        sa.Column("entitled", sa.Boolean(), nullable=False),
        sa.Column("consent_withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "sharing_scope IN ('none','team','partners')", name=op.f("ck_contacts_sharing_scope")
        ),
        sa.ForeignKeyConstraint(
            ["missing_person_id"],
            ["missing_persons.id"],
            name=op.f("fk_contacts_missing_person_id_missing_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contacts_missing_person_id"), ["missing_person_id"], unique=False
        )

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remains_id", sa.Integer(), nullable=False),
        sa.Column("missing_person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('exclude','possible_match','propose_identification','confirm','revoke','reopen')",
            name=op.f("ck_decisions_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["missing_person_id"],
            ["missing_persons.id"],
            name=op.f("fk_decisions_missing_person_id_missing_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["remains_id"], ["remains.id"], name=op.f("fk_decisions_remains_id_remains")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_decisions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decisions_missing_person_id"), ["missing_person_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_decisions_remains_id"), ["remains_id"], unique=False)

    op.create_table(
        "effects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("missing_person_id", sa.Integer(), nullable=True),
        sa.Column("remains_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "(missing_person_id IS NULL) <> (remains_id IS NULL)", name=op.f("ck_effects_one_owner")
        ),
        sa.ForeignKeyConstraint(
            ["missing_person_id"],
            ["missing_persons.id"],
            name=op.f("fk_effects_missing_person_id_missing_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["remains_id"],
            ["remains.id"],
            name=op.f("fk_effects_remains_id_remains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_effects")),
    )
    with op.batch_alter_table("effects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_effects_missing_person_id"), ["missing_person_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_effects_remains_id"), ["remains_id"], unique=False)

    op.create_table(
        "identifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remains_id", sa.Integer(), nullable=False),
        sa.Column("missing_person_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("confirmed_by_1_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_by_2_id", sa.Integer(), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "status <> 'confirmed' OR (confirmed_by_1_id IS NOT NULL AND confirmed_by_2_id IS NOT NULL)",
            name=op.f("ck_identifications_confirmed_twice"),
        ),
        sa.CheckConstraint(
            "status IN ('proposed','confirmed','revoked')", name=op.f("ck_identifications_status")
        ),
        sa.CheckConstraint(
            "confirmed_by_1_id IS NULL OR confirmed_by_1_id <> proposed_by_id",
            name=op.f("ck_identifications_first_other"),
        ),
        sa.CheckConstraint(
            "confirmed_by_2_id IS NULL OR (confirmed_by_2_id <> proposed_by_id AND confirmed_by_2_id <> confirmed_by_1_id)",
            name=op.f("ck_identifications_second_other"),
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_1_id"],
            ["users.id"],
            name=op.f("fk_identifications_confirmed_by_1_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_2_id"],
            ["users.id"],
            name=op.f("fk_identifications_confirmed_by_2_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["missing_person_id"],
            ["missing_persons.id"],
            name=op.f("fk_identifications_missing_person_id_missing_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["users.id"], name=op.f("fk_identifications_proposed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["remains_id"], ["remains.id"], name=op.f("fk_identifications_remains_id_remains")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identifications")),
    )
    with op.batch_alter_table("identifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identifications_missing_person_id"), ["missing_person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_identifications_remains_id"), ["remains_id"], unique=False
        )

    op.create_table(
        "marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("missing_person_id", sa.Integer(), nullable=True),
        sa.Column("remains_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("body_location", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "(missing_person_id IS NULL) <> (remains_id IS NULL)", name=op.f("ck_marks_one_owner")
        ),
        sa.ForeignKeyConstraint(
            ["missing_person_id"],
            ["missing_persons.id"],
            name=op.f("fk_marks_missing_person_id_missing_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["remains_id"],
            ["remains.id"],
            name=op.f("fk_marks_remains_id_remains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marks")),
    )
    with op.batch_alter_table("marks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_marks_missing_person_id"), ["missing_person_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_marks_remains_id"), ["remains_id"], unique=False)

    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("missing_person_id", sa.Integer(), nullable=True),
        sa.Column("remains_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=500), nullable=False),
        sa.Column("media_type", sa.String(length=60), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("served_sha256", sa.String(length=64), nullable=False),
        sa.Column("taken_earliest", sa.Date(), nullable=True),
        sa.Column("taken_latest", sa.Date(), nullable=True),
        sa.Column("detection_status", sa.String(length=20), nullable=False),
        sa.Column("detection_note", sa.Text(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "detection_status IN ('pending','done','no_face','error')",
            name=op.f("ck_photos_detection_status"),
        ),
        sa.CheckConstraint("kind IN ('face','mark','effect','other')", name=op.f("ck_photos_kind")),
        sa.CheckConstraint(
            "(missing_person_id IS NULL) <> (remains_id IS NULL)", name=op.f("ck_photos_one_owner")
        ),
        sa.ForeignKeyConstraint(
            ["missing_person_id"],
            ["missing_persons.id"],
            name=op.f("fk_photos_missing_person_id_missing_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["remains_id"],
            ["remains.id"],
            name=op.f("fk_photos_remains_id_remains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
        sa.UniqueConstraint("missing_person_id", "sha256", name="uq_photos_missing_person_sha256"),
        sa.UniqueConstraint("remains_id", "sha256", name="uq_photos_remains_sha256"),
    )
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_photos_missing_person_id"), ["missing_person_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_photos_remains_id"), ["remains_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_photos_sha256"), ["sha256"], unique=False)

    op.create_table(
        "faces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("box_x", sa.Integer(), nullable=False),
        sa.Column("box_y", sa.Integer(), nullable=False),
        sa.Column("box_w", sa.Integer(), nullable=False),
        sa.Column("box_h", sa.Integer(), nullable=False),
        sa.Column("rotation_deg", sa.Float(), nullable=False),
        sa.Column("landmarks", sa.JSON(), nullable=True),
        sa.Column("detector_score", sa.Float(), nullable=True),
        sa.Column("quality", sa.Float(), nullable=True),
        sa.Column("quality_factors", sa.JSON(), nullable=True),
        sa.Column("usable", sa.Boolean(), nullable=False),
        sa.Column("unusable_reason", sa.Text(), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("is_subject", sa.Boolean(), nullable=False),
        sa.Column("model_name", sa.String(length=80), nullable=False),
        sa.Column("model_version", sa.String(length=300), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_dim", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photos.id"], name=op.f("fk_faces_photo_id_photos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faces")),
    )
    with op.batch_alter_table("faces", schema=None) as batch_op:
        batch_op.create_index("ix_faces_model", ["model_name", "model_version"], unique=False)
        batch_op.create_index(batch_op.f("ix_faces_photo_id"), ["photo_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identification_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("assigned", sa.JSON(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("draft", sa.Text(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('prepared','approved','carried_out','acknowledged','closed','cancelled')",
            name=op.f("ck_notifications_status"),
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_notifications_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_notifications_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["identification_id"],
            ["identifications.id"],
            name=op.f("fk_notifications_identification_id_identifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_identification_id"), ["identification_id"], unique=False
        )

    op.bulk_insert(
        sa.table(
            "audit_head",
            sa.column("id", sa.Integer),
            sa.column("last_id", sa.Integer),
            sa.column("last_hash", sa.String),
        ),
        [{"id": 1, "last_id": 0, "last_hash": "0" * 64}],
    )
    _forbid_audit_changes()


def downgrade() -> None:
    _allow_audit_changes()
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_identification_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_contact_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("faces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faces_photo_id"))
        batch_op.drop_index("ix_faces_model")

    op.drop_table("faces")
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photos_sha256"))
        batch_op.drop_index(batch_op.f("ix_photos_remains_id"))
        batch_op.drop_index(batch_op.f("ix_photos_missing_person_id"))

    op.drop_table("photos")
    with op.batch_alter_table("marks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_marks_remains_id"))
        batch_op.drop_index(batch_op.f("ix_marks_missing_person_id"))

    op.drop_table("marks")
    with op.batch_alter_table("identifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identifications_remains_id"))
        batch_op.drop_index(batch_op.f("ix_identifications_missing_person_id"))

    op.drop_table("identifications")
    with op.batch_alter_table("effects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_effects_remains_id"))
        batch_op.drop_index(batch_op.f("ix_effects_missing_person_id"))

    op.drop_table("effects")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_remains_id"))
        batch_op.drop_index(batch_op.f("ix_decisions_missing_person_id"))

    op.drop_table("decisions")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_missing_person_id"))

    op.drop_table("contacts")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidates_missing_person_id"))

    op.drop_table("candidates")
    op.drop_table("remains")
    op.drop_table("missing_persons")
    op.drop_table("users")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_kind")

    op.drop_table("jobs")
    op.drop_table("events")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_entity")

    op.drop_table("audit_events")


# The audit log is append-only: the database itself refuses to change or delete a row, so a
# mistake in code cannot rewrite history. Someone with file access can still drop these
# triggers; the hash chain is what detects that.
AUDIT_MESSAGE = "audit events are append-only"


def _forbid_audit_changes() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, '{AUDIT_MESSAGE}'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION opendvi_audit_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{AUDIT_MESSAGE}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION opendvi_audit_append_only()"
        )


def _allow_audit_changes() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS opendvi_audit_append_only()")
