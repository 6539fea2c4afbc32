"""Records as the front ends show them: plain values read in one session, never the stored
rows themselves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from opendvi.core.fields import CONTACT_FIELDS
from opendvi.db.rows import view_of
from opendvi.db.tables import Face, MissingPerson, Photo, Remains
from opendvi.records.values import record_values

__all__ = ["FaceView", "PhotoView", "RecordView"]


@dataclass(frozen=True)
class RecordView:
    """A report or a remains record. ``fields`` holds its values as the import's text
    columns, the reporting contact's left out (they are for the families' pages)."""

    kind: str  # "missing" or "remains"
    id: int
    ref: str
    status: str
    sex: str
    height_min_cm: int | None
    height_max_cm: int | None
    description: str
    event: str
    marks: tuple[tuple[str, str, str], ...] = ()  # kind, where on the body, what
    effects: tuple[tuple[str, str], ...] = ()  # category, what
    # A missing-person report
    full_name: str = ""
    other_names: str = ""
    birth_earliest: dt.date | None = None
    birth_latest: dt.date | None = None
    last_seen_earliest: dt.date | None = None
    last_seen_latest: dt.date | None = None
    last_seen_place: str = ""
    # Unidentified remains
    age_min: int | None = None
    age_max: int | None = None
    found_earliest: dt.date | None = None
    found_latest: dt.date | None = None
    found_place: str = ""
    condition: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, record: MissingPerson | Remains) -> RecordView:
        values = record_values(record)
        report = isinstance(record, MissingPerson)
        return view_of(
            cls,
            record,
            absent=_REMAINS_ONLY if report else _REPORT_ONLY,
            kind="missing" if report else "remains",
            event=record.event.code if record.event else "",
            marks=tuple((m.kind, m.body_location, m.description) for m in record.marks),
            effects=tuple((e.category, e.description) for e in record.effects),
            fields={k: v for k, v in values.items() if k not in CONTACT_FIELDS},
        )


_REPORT_ONLY = (
    "full_name",
    "other_names",
    "birth_earliest",
    "birth_latest",
    "last_seen_earliest",
    "last_seen_latest",
    "last_seen_place",
)
_REMAINS_ONLY = ("age_min", "age_max", "found_earliest", "found_latest", "found_place", "condition")


@dataclass(frozen=True)
class FaceView:
    id: int
    photo_id: int
    subject: bool  # the record's person, in a group photo
    subject_by: str  # only_face, dominant (the system chose) or person; "" if not the person
    usable: bool
    why_not: str
    quality: float | None
    manual: bool  # boxed by hand
    box: tuple[int, int, int, int]
    turned: float  # degrees the photo is turned to stand the face upright
    model: str

    @classmethod
    def of(cls, face: Face) -> FaceView:
        box = (face.box_x, face.box_y, face.box_w, face.box_h)
        return view_of(
            cls,
            face,
            subject=face.is_subject,
            why_not=face.unusable_reason,
            box=box,
            turned=face.rotation_deg,
            model=face.model_name,
        )


@dataclass(frozen=True)
class PhotoView:
    id: int
    name: str
    detection_status: str
    detection_note: str
    width: int
    height: int
    faces: list[FaceView]
    ready: bool  # its served copy made: False while the background worker has not read it
    person_not_chosen: bool  # several faces, and nobody chose the person: none is matched

    @classmethod
    def of(cls, photo: Photo) -> PhotoView:
        faces = [FaceView.of(face) for face in photo.faces]
        ready = bool(photo.served_sha256)
        return view_of(cls, photo, name=photo.original_name, faces=faces, ready=ready)

    @staticmethod
    def of_record(record: MissingPerson | Remains) -> list[PhotoView]:
        """A record's active photos in order, each with its faces."""
        return [
            PhotoView.of(p)
            for p in sorted(record.photos, key=lambda p: p.position)
            if p.withdrawn_at is None
        ]
