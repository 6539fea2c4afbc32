"""The tables of OpenDVI as typed SQLAlchemy 2 mappings.

Uncertain values are stored as ranges (``*_earliest``/``*_latest`` dates, ``*_min``/``*_max``
numbers). Photos, marks and effects belong to exactly one missing-person report or one
remains record, enforced by a check constraint.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


ONE_OWNER = "(missing_person_id IS NULL) <> (remains_id IS NULL)"


class CaseRecord:
    """What a missing-person report and a remains record both are: a reference, a status
    and an event, photos, marks and effects, and when it was made and last changed. Its
    columns stand where the migrations put them (the reference first, the times last)."""

    owner: ClassVar[str]  # what its parts call it: "missing_person" or "remains"
    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-4)
    ref: Mapped[str] = mapped_column(String(120), unique=True, sort_order=-3)
    status: Mapped[str] = mapped_column(String(20), default="open", sort_order=-2)
    # Indexed: the lists and the review queue keep to one event's records.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True, sort_order=-1)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, sort_order=1
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, sort_order=2
    )

    @declared_attr
    def event(cls) -> Mapped[Event | None]:
        return relationship("Event")

    @declared_attr
    def photos(cls) -> Mapped[list[Photo]]:
        return _parts(cls, "Photo", "position")

    @declared_attr
    def marks(cls) -> Mapped[list[Mark]]:
        return _parts(cls, "Mark", "id")

    @declared_attr
    def effects(cls) -> Mapped[list[Effect]]:
        return _parts(cls, "Effect", "id")


def _parts(owner: CaseRecord, part: str, order: str) -> Mapped[list[Any]]:
    """A record's photos, marks or effects, in order; they go with it."""
    return relationship(
        part,
        back_populates=owner.owner,
        order_by=f"{part}.{order}",
        cascade="all, delete-orphan",
    )


class PartOfRecord:
    """A row that belongs to exactly one missing-person report or one remains record (its
    table checks ONE_OWNER) and goes with it. Its columns come first, as the migrations
    made them."""

    __tablename__: str  # "photos", "marks", "effects": what the record calls them

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-3)
    missing_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("missing_persons.id", ondelete="CASCADE"), index=True, sort_order=-2
    )
    remains_id: Mapped[int | None] = mapped_column(
        ForeignKey("remains.id", ondelete="CASCADE"), index=True, sort_order=-1
    )

    @declared_attr
    def missing_person(cls) -> Mapped[MissingPerson | None]:
        return relationship("MissingPerson", back_populates=cls.__tablename__)

    @declared_attr
    def remains(cls) -> Mapped[Remains | None]:
        return relationship("Remains", back_populates=cls.__tablename__)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin','forensic','caseworker','reviewer','auditor','importer')",
            name="role",
        ),
    )


class UserSession(Base):
    """A signed-in session, in the web application or at the command line: the cookie or
    the token file holds a random id, this table only its SHA-256, so a copy of the database
    signs nobody in. Ended by signing out, a new password or role, a deactivation; a web
    session also by an idle spell."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    csrf: Mapped[str] = mapped_column(String(64))
    revealed: Mapped[list[Any]] = mapped_column(default=list)
    address: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_why: Mapped[str] = mapped_column(String(40), default="")
    __table_args__ = (CheckConstraint("kind IN ('web','cli')", name="kind"),)


class SignInFailure(Base):
    """A failed sign-in, by the account as stored (whatever was typed) and the address it
    came from: the limits count these, in every process."""

    __tablename__ = "sign_in_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        Index("ix_sign_in_failures_account_at", "account", "at"),
        Index("ix_sign_in_failures_address_at", "address", "at"),
    )


class Event(Base):
    """An incident, disaster or grave site that groups records."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(40), default="")
    place: Mapped[str] = mapped_column(Text, default="")
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MissingPerson(CaseRecord, Base):
    """An ante-mortem (AM) report of a missing person."""

    __tablename__ = "missing_persons"
    owner: ClassVar[str] = "missing_person"
    full_name: Mapped[str] = mapped_column(String(300), default="")
    other_names: Mapped[str] = mapped_column(String(300), default="")
    sex: Mapped[str] = mapped_column(String(1), default="U")
    birth_earliest: Mapped[dt.date | None] = mapped_column(Date)
    birth_latest: Mapped[dt.date | None] = mapped_column(Date)
    height_min_cm: Mapped[int | None] = mapped_column(Integer)
    height_max_cm: Mapped[int | None] = mapped_column(Integer)
    hair: Mapped[str] = mapped_column(String(200), default="")
    eyes: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    circumstances: Mapped[str] = mapped_column(Text, default="")
    last_seen_earliest: Mapped[dt.date | None] = mapped_column(Date)
    last_seen_latest: Mapped[dt.date | None] = mapped_column(Date)
    last_seen_place: Mapped[str] = mapped_column(Text, default="")
    last_seen_lat: Mapped[float | None] = mapped_column(Float)
    last_seen_lon: Mapped[float | None] = mapped_column(Float)
    dna_reference: Mapped[bool | None] = mapped_column(Boolean)
    dental_records: Mapped[bool | None] = mapped_column(Boolean)
    fingerprint_records: Mapped[bool | None] = mapped_column(Boolean)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("missing_persons.id"))
    # When the case was closed (records.closing), which retention counts from.
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="missing_person", order_by="Contact.id", cascade="all, delete-orphan"
    )
    __table_args__ = (
        CheckConstraint("sex IN ('F','M','U')", name="sex"),
        # withdrawn: at the reporting contact's request, its personal data erased, its
        # reference and history kept (records.withdrawal).
        CheckConstraint(
            "status IN ('open','identified','closed','merged','withdrawn')", name="status"
        ),
    )


class Remains(CaseRecord, Base):
    """A post-mortem (PM) record of unidentified human remains."""

    __tablename__ = "remains"
    owner: ClassVar[str] = "remains"
    found_earliest: Mapped[dt.date | None] = mapped_column(Date)
    found_latest: Mapped[dt.date | None] = mapped_column(Date)
    found_place: Mapped[str] = mapped_column(Text, default="")
    found_lat: Mapped[float | None] = mapped_column(Float)
    found_lon: Mapped[float | None] = mapped_column(Float)
    condition: Mapped[str] = mapped_column(String(20), default="unknown")
    sex: Mapped[str] = mapped_column(String(1), default="U")
    age_min: Mapped[int | None] = mapped_column(Integer)
    age_max: Mapped[int | None] = mapped_column(Integer)
    height_min_cm: Mapped[int | None] = mapped_column(Integer)
    height_max_cm: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    storage_location: Mapped[str] = mapped_column(Text, default="")
    dna_sampled: Mapped[bool | None] = mapped_column(Boolean)
    fingerprints_taken: Mapped[bool | None] = mapped_column(Boolean)
    dental_charted: Mapped[bool | None] = mapped_column(Boolean)
    # Fragments of one body are linked to the record that holds the body's main part.
    linked_to_id: Mapped[int | None] = mapped_column(ForeignKey("remains.id"))
    # When the case was closed, and when the remains were released (records.closing).
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("sex IN ('F','M','U')", name="sex"),
        CheckConstraint(
            "condition IN ('fresh','decomposed','skeletal','fragment','unknown')", name="condition"
        ),
        CheckConstraint("status IN ('open','identified','closed','merged')", name="status"),
        CheckConstraint("age_min IS NULL OR age_max IS NULL OR age_min <= age_max", name="age"),
        CheckConstraint(
            "height_min_cm IS NULL OR height_max_cm IS NULL OR height_min_cm <= height_max_cm",
            name="height",
        ),
    )


class Contact(Base):
    """Someone who reported a missing person, and what they consent to."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    missing_person_id: Mapped[int] = mapped_column(
        ForeignKey("missing_persons.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    relationship_: Mapped[str] = mapped_column("relationship", String(100), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(20), default="")
    # None: not recorded yet; only an explicit yes allows any contact.
    consent_contact: Mapped[bool | None] = mapped_column(Boolean)
    consent_channels: Mapped[str] = mapped_column(String(200), default="")
    sharing_scope: Mapped[str] = mapped_column(String(40), default="team")
    entitled: Mapped[bool] = mapped_column(Boolean, default=True)
    consent_withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    missing_person: Mapped[MissingPerson] = relationship(back_populates="contacts")
    __table_args__ = (
        CheckConstraint("sharing_scope IN ('none','team','partners')", name="sharing_scope"),
    )


class Mark(PartOfRecord, Base):
    """A distinguishing mark (tattoo, scar, birthmark, piercing) and where on the body it is."""

    __tablename__ = "marks"
    kind: Mapped[str] = mapped_column(String(40), default="mark")
    body_location: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (CheckConstraint(ONE_OWNER, name="one_owner"),)


class Effect(PartOfRecord, Base):
    """Clothing or a belonging: last worn by a missing person, or found with remains."""

    __tablename__ = "effects"
    category: Mapped[str] = mapped_column(String(40), default="clothing")
    description: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (CheckConstraint(ONE_OWNER, name="one_owner"),)


class Photo(PartOfRecord, Base):
    """A photo of a record: the original kept unchanged by its SHA-256, and a served copy."""

    __tablename__ = "photos"
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(20), default="face")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    original_name: Mapped[str] = mapped_column(String(500), default="")
    media_type: Mapped[str] = mapped_column(String(60))
    byte_size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    served_sha256: Mapped[str] = mapped_column(String(64))
    taken_earliest: Mapped[dt.date | None] = mapped_column(Date)
    taken_latest: Mapped[dt.date | None] = mapped_column(Date)
    # pending → done | no_face | error, written by the face pipeline.
    detection_status: Mapped[str] = mapped_column(String(20), default="pending")
    detection_note: Mapped[str] = mapped_column(Text, default="")
    # Usable faces, and none of them is the person: a person must choose (faces.subject);
    # kept by records.faces with every change to the photo's faces, so the pages count and
    # list these photos from an index of them alone.
    person_not_chosen: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    faces: Mapped[list[Face]] = relationship(
        back_populates="photo", order_by="Face.id", cascade="all, delete-orphan"
    )
    __table_args__ = (
        CheckConstraint(ONE_OWNER, name="one_owner"),
        CheckConstraint("kind IN ('face','mark','effect','other')", name="kind"),
        CheckConstraint(
            "detection_status IN ('pending','done','no_face','error')", name="detection_status"
        ),
        UniqueConstraint("missing_person_id", "sha256", name="uq_photos_missing_person_sha256"),
        UniqueConstraint("remains_id", "sha256", name="uq_photos_remains_sha256"),
        Index(
            "ix_photos_person_not_chosen",
            "id",
            sqlite_where=text("person_not_chosen = 1"),
            postgresql_where=text("person_not_chosen"),
        ),
    )


class Face(Base):
    """One face found (or boxed by hand) in a photo, with its quality and embedding."""

    __tablename__ = "faces"
    id: Mapped[int] = mapped_column(primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    box_x: Mapped[int] = mapped_column(Integer)
    box_y: Mapped[int] = mapped_column(Integer)
    box_w: Mapped[int] = mapped_column(Integer)
    box_h: Mapped[int] = mapped_column(Integer)
    rotation_deg: Mapped[float] = mapped_column(Float, default=0.0)
    landmarks: Mapped[list[Any] | None] = mapped_column(JSON)
    detector_score: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[float | None] = mapped_column(Float)
    quality_factors: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    usable: Mapped[bool] = mapped_column(Boolean, default=True)
    unusable_reason: Mapped[str] = mapped_column(Text, default="")
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    is_subject: Mapped[bool] = mapped_column(Boolean, default=False)
    # How it became the person (faces.subject): only_face, dominant (both by the system) or
    # person (chosen or boxed by someone); empty when it is not the person.
    subject_by: Mapped[str] = mapped_column(String(20), default="", server_default="")
    model_name: Mapped[str] = mapped_column(String(80))
    model_version: Mapped[str] = mapped_column(String(300))
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_dim: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    photo: Mapped[Photo] = relationship(back_populates="faces")
    __table_args__ = (Index("ix_faces_model", "model_name", "model_version"),)


class CandidateNumber(Base):
    """The number a pair was given the first time it was stored as a candidate, kept for
    good: a pair stored again gets it back, and a link by number (``/candidates/37``) still
    finds its pair after it left the lists. Numbers are never given twice."""

    __tablename__ = "candidate_numbers"
    id: Mapped[int] = mapped_column(primary_key=True)
    remains_id: Mapped[int] = mapped_column(ForeignKey("remains.id", ondelete="CASCADE"))
    missing_person_id: Mapped[int] = mapped_column(
        ForeignKey("missing_persons.id", ondelete="CASCADE"), index=True
    )
    __table_args__ = (
        UniqueConstraint("remains_id", "missing_person_id", name="uq_candidate_numbers_pair"),
        {"sqlite_autoincrement": True},
    )


# A candidate still listed and not excluded (the review queue, with ``credible`` and no
# record of the pair identified).
OPEN_CANDIDATE = "status <> 'excluded' AND rank_for_remains IS NOT NULL"


class Candidate(Base):
    """A proposed AM–PM pair with its evidence: a lead for review, never a verdict."""

    __tablename__ = "candidates"
    id: Mapped[int] = mapped_column(primary_key=True)
    remains_id: Mapped[int] = mapped_column(ForeignKey("remains.id", ondelete="CASCADE"))
    missing_person_id: Mapped[int] = mapped_column(
        ForeignKey("missing_persons.id", ondelete="CASCADE")
    )
    score: Mapped[float] = mapped_column(Float)
    face_score: Mapped[float | None] = mapped_column(Float)
    false_candidate_rate: Mapped[float | None] = mapped_column(Float)
    rank_for_remains: Mapped[int | None] = mapped_column(Integer)
    rank_for_missing: Mapped[int | None] = mapped_column(Integer)
    credible: Mapped[bool] = mapped_column(Boolean, default=True)
    factors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model_name: Mapped[str] = mapped_column(String(80), default="")
    model_version: Mapped[str] = mapped_column(String(300), default="")
    evidence_digest: Mapped[str] = mapped_column(String(64), default="")
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # open: to review; excluded: a reviewer excluded the pair on this same evidence (kept,
    # not listed); resurfaced: excluded before, but the evidence has changed since.
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    # Either record of the pair is identified (a confirmed identification, this pair's or
    # another's): nothing is left to review, so the pair is out of the review queue until
    # that identification is revoked.
    record_identified: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    __table_args__ = (
        UniqueConstraint("remains_id", "missing_person_id", name="uq_candidates_pair"),
        CheckConstraint("status IN ('open','excluded','resurfaced','referred')", name="status"),
        Index("ix_candidates_remains_rank", "remains_id", "rank_for_remains"),
        Index("ix_candidates_missing_rank", "missing_person_id", "rank_for_missing"),
        # The review queue: credible pairs still to review, the rarest strangers first. Only
        # those pairs are in the index, so counting them reads the index alone.
        Index(
            "ix_candidates_open",
            "false_candidate_rate",
            "id",
            sqlite_where=text(f"credible = 1 AND {OPEN_CANDIDATE} AND record_identified = 0"),
            postgresql_where=text(f"credible AND {OPEN_CANDIDATE} AND NOT record_identified"),
        ),
    )


class Rebuild(Base):
    """A rebuild of every list under way (``opendvi match --all``). Its lists are staged in
    ``rebuild_rows`` beside the stored ones and swapped in by one transaction at the end; a
    run that finds it unfinished resumes it. One at a time."""

    __tablename__ = "rebuilds"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Digest of what every score depends on (model, calibration, gallery size, settings):
    # a run that finds another starts the staging over.
    context: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(80))
    model_version: Mapped[str] = mapped_column(String(300))
    # The match jobs queued up to this one are done by the rebuild; later ones stay queued.
    last_job: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RebuildRecord(Base):
    """A record whose list the rebuild has staged, with the evidence digest it was scored
    on: a resumed rebuild scores again only the records whose evidence changed."""

    __tablename__ = "rebuild_records"
    side: Mapped[str] = mapped_column(String(10), primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evidence_digest: Mapped[str] = mapped_column(String(64))


class RebuildRow(Base):
    """A pair the rebuild found, as it will be stored in ``candidates``; a rank of 0 marks
    the pair listed for that record (numbered at the swap)."""

    __tablename__ = "rebuild_rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    remains_id: Mapped[int] = mapped_column(ForeignKey("remains.id", ondelete="CASCADE"))
    missing_person_id: Mapped[int] = mapped_column(
        ForeignKey("missing_persons.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float] = mapped_column(Float)
    face_score: Mapped[float | None] = mapped_column(Float)
    # The face factor's points, so the swap orders pairs by face without reading factors.
    face_points: Mapped[float | None] = mapped_column(Float)
    false_candidate_rate: Mapped[float | None] = mapped_column(Float)
    rank_for_remains: Mapped[int | None] = mapped_column(Integer)
    rank_for_missing: Mapped[int | None] = mapped_column(Integer)
    credible: Mapped[bool] = mapped_column(Boolean)
    factors: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_name: Mapped[str] = mapped_column(String(80))
    model_version: Mapped[str] = mapped_column(String(300))
    evidence_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    record_identified: Mapped[bool] = mapped_column(Boolean)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        UniqueConstraint("remains_id", "missing_person_id", name="uq_rebuild_rows_pair"),
    )


class Assignment(Base):
    """A pair given to one reviewer to look at. Kept by its two records, not by a stored
    candidate, so it outlives re-matching; one reviewer a pair."""

    __tablename__ = "review_assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    remains_id: Mapped[int] = mapped_column(ForeignKey("remains.id", ondelete="CASCADE"))
    missing_person_id: Mapped[int] = mapped_column(
        ForeignKey("missing_persons.id", ondelete="CASCADE")
    )
    # Indexed: "assigned to me" reads this reviewer's pairs alone.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        UniqueConstraint("remains_id", "missing_person_id", name="uq_review_assignments_pair"),
    )


class Decision(Base):
    """A reviewer's recorded judgement on a pair: exclusion, possible match, or a step
    of an identification."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    remains_id: Mapped[int] = mapped_column(ForeignKey("remains.id"), index=True)
    missing_person_id: Mapped[int] = mapped_column(ForeignKey("missing_persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence_digest: Mapped[str] = mapped_column(String(64), default="")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        CheckConstraint(
            "kind IN ('exclude','possible_match','propose_identification','confirm','revoke',"
            "'reopen','judgement','objection')",
            name="kind",
        ),
    )


class Identification(Base):
    """An identification: proposed, confirmed by two reviewers other than the proposer, or
    revoked."""

    __tablename__ = "identifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    remains_id: Mapped[int] = mapped_column(ForeignKey("remains.id"), index=True)
    missing_person_id: Mapped[int] = mapped_column(ForeignKey("missing_persons.id"), index=True)
    method: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_by_1_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by_2_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    # How the evidence agrees, in the proposer's words (required for secondary evidence).
    basis: Mapped[str] = mapped_column(Text, default="", server_default="")
    # What each confirmer says they checked before confirming (required since 0010).
    checked_1: Mapped[str] = mapped_column(Text, default="", server_default="")
    checked_2: Mapped[str] = mapped_column(Text, default="", server_default="")
    __table_args__ = (
        CheckConstraint("status IN ('proposed','confirmed','revoked')", name="status"),
        # A face alone never identifies anyone (core.workflow says why).
        CheckConstraint("method <> '' AND method <> 'secondary:face'", name="method"),
        Index(
            "ux_identifications_remains_active",
            "remains_id",
            unique=True,
            sqlite_where=text("status <> 'revoked'"),
            postgresql_where=text("status <> 'revoked'"),
        ),
        Index(
            "ux_identifications_missing_active",
            "missing_person_id",
            unique=True,
            sqlite_where=text("status <> 'revoked'"),
            postgresql_where=text("status <> 'revoked'"),
        ),
        CheckConstraint(
            "confirmed_by_1_id IS NULL OR confirmed_by_1_id <> proposed_by_id", name="first_other"
        ),
        CheckConstraint(
            "confirmed_by_2_id IS NULL OR (confirmed_by_2_id <> proposed_by_id "
            "AND confirmed_by_2_id <> confirmed_by_1_id)",
            name="second_other",
        ),
        CheckConstraint(
            "status <> 'confirmed' OR (confirmed_by_1_id IS NOT NULL "
            "AND confirmed_by_2_id IS NOT NULL)",
            name="confirmed_twice",
        ),
    )


class Notification(Base):
    """A task to tell one reporting contact of a confirmed identification (core.notification
    has the rules; the database refuses a task for an identification not confirmed)."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    identification_id: Mapped[int] = mapped_column(ForeignKey("identifications.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="prepared")
    channel: Mapped[str] = mapped_column(String(20), default="in_person")
    language: Mapped[str] = mapped_column(String(20), default="")
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    # The two people who will tell the family (user names).
    assigned: Mapped[list[Any]] = mapped_column(JSON, default=list)
    checklist: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    draft: Mapped[str] = mapped_column(Text, default="")
    # Whoever last changed the words; the approver must be someone else.
    drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        CheckConstraint(
            "status IN ('prepared','approved','carried_out','acknowledged','closed','cancelled')",
            name="status",
        ),
        CheckConstraint(
            "approved_by_id IS NULL OR (drafted_by_id IS NOT NULL "
            "AND approved_by_id <> drafted_by_id)",
            name="second_approver",
        ),
        CheckConstraint(
            "status IN ('prepared','cancelled') OR approved_by_id IS NOT NULL",
            name="approved_before_use",
        ),
        CheckConstraint(
            "channel IN ('in_person','phone','letter','email')",
            name="channel",
        ),
        UniqueConstraint("identification_id", "contact_id", name="uq_notifications_contact"),
    )


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


class NotificationStep(Base):
    """One thing done on a task: a visit or call with its outcome, a message sent, the
    family's acknowledgement, a follow-up, a referral, a request to see photos; or an alert to
    someone who handled it (the identification was revoked after the family was told)."""

    __tablename__ = "notification_steps"
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    outcome: Mapped[str] = mapped_column(String(30), default="")
    happened_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    # Who recorded it; for an alert, who is alerted.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        CheckConstraint("kind IN (" + ",".join(f"'{k}'" for k in STEP_KINDS) + ")", name="kind"),
    )


class Job(Base):
    """Work queued in the database (matching of new or changed records)."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The worker working on it (host:pid:random) and until when its claim holds: a worker
    # that dies leaves its claim to expire, and the job is claimed again.
    claimed_by: Mapped[str] = mapped_column(String(120), default="", server_default="")
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Finding whether a record's job is already waiting reads the index alone.
    __table_args__ = (Index("ix_jobs_status_kind", "status", "kind", "subject"),)


class Calibration(Base):
    """The impostor distribution of one face model's fused scores, fitted from pairs of
    different missing-person reports; the latest row per model is the one in use."""

    __tablename__ = "calibrations"
    id: Mapped[int] = mapped_column(primary_key=True)
    model_name: Mapped[str] = mapped_column(String(80))
    model_version: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(40))
    records: Mapped[int] = mapped_column(Integer)
    pairs: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (Index("ix_calibrations_model", "model_name", "model_version"),)


class AuditEvent(Base):
    """One state change. Rows are hash-chained; the database refuses to change or delete them."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    entity_ref: Mapped[str] = mapped_column(String(200), default="")
    before_digest: Mapped[str] = mapped_column(String(64), default="")
    after_digest: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
        Index("ix_audit_events_ref", "entity_ref"),
    )


class AuditHead(Base):
    """The chain's last link, one row; locking it serialises appends on every database."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
