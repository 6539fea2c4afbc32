"""Exporting records and candidates as CSV or JSON.

The CSV of records uses the import's columns, so an export can be edited and imported back;
the JSON carries everything, nested (contacts, marks, effects, photos and their faces).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from opendvi.core.fields import MISSING_FIELDS, REMAINS_FIELDS
from opendvi.core.uncertain import DateRange, IntRange
from opendvi.db.tables import Candidate, MissingPerson, Photo, Remains
from opendvi.media import MediaStore

__all__ = ["CANDIDATE_COLUMNS", "export_candidates", "export_records", "record_values"]

FACTORS = ("face", "sex", "age", "height", "dates", "place", "marks", "effects")
CANDIDATE_COLUMNS = (
    "pm_ref",
    "am_ref",
    "rank",
    "score",
    "face_score",
    "false_candidate_rate",
    "credible",
    "status",
    "rank_for_missing",
    "model",
    *(f"{name}_points" for name in FACTORS),
)
Kind = Literal["missing", "unidentified"]
Format = Literal["csv", "json"]
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/tiff": ".tif", "image/gif": ".gif"}


def _json_default(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _write_json_array(out: IO[str], items: Iterable[dict[str, Any]]) -> int:
    """Write ``items`` as a JSON array, one item a line, without holding them all in memory."""
    count = 0
    out.write("[")
    for item in items:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(item, ensure_ascii=False, default=_json_default))
        count += 1
    out.write("\n]\n")
    return count


def _range_text(earliest: Any, latest: Any) -> str:
    return str(DateRange(earliest, latest)) if earliest and latest else ""


def _int_text(low: int | None, high: int | None) -> str:
    return str(IntRange(low, high)).replace("–", "-") if (low, high) != (None, None) else ""


def _photo_entry(photo: Photo, media: MediaStore, photos_dir: Path | None) -> str:
    if photos_dir is None:
        return f"sha256:{photo.sha256}"
    photos_dir.mkdir(parents=True, exist_ok=True)
    target = photos_dir / f"{photo.sha256}{_EXTENSIONS.get(photo.media_type, '')}"
    if not target.exists():
        shutil.copyfile(media.path(photo.sha256), target)
    return str(target)


def _common_row(
    record: MissingPerson | Remains, media: MediaStore, photos_dir: Path | None
) -> dict[str, str]:
    photos = [p for p in record.photos if p.withdrawn_at is None]
    return {
        "ref": record.ref,
        "photos": "|".join(_photo_entry(p, media, photos_dir) for p in photos),
        "photo_dates": "|".join(_range_text(p.taken_earliest, p.taken_latest) for p in photos)
        if any(p.taken_earliest for p in photos)
        else "",
        "event": record.event.code if record.event else "",
        "sex": record.sex,
        "description": record.description,
        "marks": "; ".join(
            f"{m.body_location}: {m.description}" if m.body_location else m.description
            for m in record.marks
        ),
        "effects": "; ".join(e.description for e in record.effects),
    }


def _missing_row(
    record: MissingPerson, media: MediaStore, photos_dir: Path | None
) -> dict[str, str]:
    row = _common_row(record, media, photos_dir)
    birth = _range_text(record.birth_earliest, record.birth_latest)
    contact = record.contacts[0] if record.contacts else None
    row.update(
        full_name=record.full_name,
        other_names=record.other_names,
        birth_date=birth if birth and len(birth) > 4 else "",
        birth_year=birth if len(birth) == 4 else "",
        height_cm=_int_text(record.height_min_cm, record.height_max_cm),
        hair=record.hair,
        eyes=record.eyes,
        circumstances=record.circumstances,
        last_seen_date=_range_text(record.last_seen_earliest, record.last_seen_latest),
        last_seen_place=record.last_seen_place,
        contact_name=contact.name if contact else "",
        contact_relationship=contact.relationship_ if contact else "",
        contact_email=contact.email if contact else "",
        contact_phone=contact.phone if contact else "",
        contact_language=contact.language if contact else "",
        consent_contact=""
        if contact is None or contact.consent_contact is None
        else ("yes" if contact.consent_contact else "no"),
        contact_channels=contact.consent_channels if contact else "",
        contact_sharing=contact.sharing_scope if contact else "",
    )
    return row


def _remains_row(record: Remains, media: MediaStore, photos_dir: Path | None) -> dict[str, str]:
    row = _common_row(record, media, photos_dir)
    row.update(
        age_min="" if record.age_min is None else str(record.age_min),
        age_max="" if record.age_max is None else str(record.age_max),
        height_min_cm="" if record.height_min_cm is None else str(record.height_min_cm),
        height_max_cm="" if record.height_max_cm is None else str(record.height_max_cm),
        found_date=_range_text(record.found_earliest, record.found_latest),
        found_place=record.found_place,
        condition=record.condition,
        storage_location=record.storage_location,
    )
    return row


def record_values(record: MissingPerson | Remains) -> dict[str, str]:
    """A record's fields as text, as an import or a form reads them (photos aside)."""
    row = (
        _missing_row(record, None, None)  # type: ignore[arg-type]
        if isinstance(record, MissingPerson)
        else _remains_row(record, None, None)  # type: ignore[arg-type]
    )
    row.pop("photos")
    row.pop("photo_dates")
    return {key: value or "" for key, value in row.items()}


def _json_record(record: MissingPerson | Remains) -> dict[str, Any]:
    out: dict[str, Any] = {c.key: getattr(record, c.key) for c in record.__mapper__.column_attrs}
    out["event"] = record.event.code if record.event else None
    out["marks"] = [
        {"kind": m.kind, "body_location": m.body_location, "description": m.description}
        for m in record.marks
    ]
    out["effects"] = [
        {"category": e.category, "description": e.description} for e in record.effects
    ]
    out["photos"] = [
        {
            "sha256": p.sha256,
            "original_name": p.original_name,
            "media_type": p.media_type,
            "width": p.width,
            "height": p.height,
            "taken": _range_text(p.taken_earliest, p.taken_latest) or None,
            "detection_status": p.detection_status,
            "faces": len(p.faces),
            "withdrawn_at": p.withdrawn_at,
        }
        for p in record.photos
    ]
    if isinstance(record, MissingPerson):
        out["contacts"] = [
            {
                "name": c.name,
                "relationship": c.relationship_,
                "email": c.email,
                "phone": c.phone,
                "language": c.language,
                "consent_contact": c.consent_contact,
                "consent_channels": c.consent_channels,
                "sharing_scope": c.sharing_scope,
                "consent_withdrawn_at": c.consent_withdrawn_at,
            }
            for c in record.contacts
        ]
    return out


def _records(session: Session, kind: Kind) -> Iterator[MissingPerson | Remains]:
    model: type[MissingPerson] | type[Remains] = MissingPerson if kind == "missing" else Remains
    options = [
        selectinload(model.photos).selectinload(Photo.faces),
        selectinload(model.marks),
        selectinload(model.effects),
        selectinload(model.event),
    ]
    if model is MissingPerson:
        options.append(selectinload(MissingPerson.contacts))
    query = select(model).options(*options).order_by(model.ref)
    yield from session.execute(query.execution_options(yield_per=500)).scalars()


def export_records(
    session: Session,
    out: IO[str],
    *,
    kind: Kind,
    fmt: Format,
    media: MediaStore,
    photos_dir: Path | None = None,
) -> int:
    """Write every record of ``kind``; returns how many were written."""
    count = 0
    if fmt == "csv":
        columns = MISSING_FIELDS if kind == "missing" else REMAINS_FIELDS
        writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for record in _records(session, kind):
            if isinstance(record, MissingPerson):
                writer.writerow(_missing_row(record, media, photos_dir))
            else:
                writer.writerow(_remains_row(record, media, photos_dir))
            count += 1
        return count
    return _write_json_array(out, map(_json_record, _records(session, kind)))


def export_candidates(session: Session, out: IO[str], *, fmt: Format) -> int:
    """Write every candidate pair, for each remains record in rank order."""
    query = (
        select(Candidate, Remains.ref, MissingPerson.ref)
        .join(Remains, Candidate.remains_id == Remains.id)
        .join(MissingPerson, Candidate.missing_person_id == MissingPerson.id)
        .order_by(
            Remains.ref,
            Candidate.rank_for_remains.is_(None),
            Candidate.rank_for_remains,
            Candidate.score.desc(),
        )
    )
    rows = (
        {
            "pm_ref": pm_ref,
            "am_ref": am_ref,
            "rank": candidate.rank_for_remains,
            "rank_for_missing": candidate.rank_for_missing,
            "status": candidate.status,
            "score": round(candidate.score, 6),
            "face_score": None if candidate.face_score is None else round(candidate.face_score, 6),
            "false_candidate_rate": candidate.false_candidate_rate,
            "credible": candidate.credible,
            "model": f"{candidate.model_name} {candidate.model_version}".strip(),
            "factors": candidate.factors,
            **{
                f"{name}_points": (candidate.factors.get(name) or {}).get("points")
                for name in FACTORS
            },
        }
        for candidate, pm_ref, am_ref in session.execute(query.execution_options(yield_per=1000))
    )
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(
            out, fieldnames=list(CANDIDATE_COLUMNS), lineterminator="\n", extrasaction="ignore"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
        return count
    return _write_json_array(out, rows)
