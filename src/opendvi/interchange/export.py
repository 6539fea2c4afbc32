"""Exporting records and candidates as CSV or JSON.

The CSV of records uses the import's columns, so an export can be edited and imported back;
the JSON carries everything, nested (contacts, marks, effects, photos and their faces).
A reporting contact goes into a file only as far as their sharing scope lets it go
(``core.sharing.exported``): the file is for partners unless it says it stays with the team.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from opendvi.app import OpenDVI
from opendvi.core.fields import MISSING_FIELDS, REMAINS_FIELDS
from opendvi.core.odds import shown_factors
from opendvi.core.sharing import WITHHELD, Audience, exported
from opendvi.db.tables import Candidate, Contact, MissingPerson, Photo, Remains
from opendvi.infra.media import MediaStore
from opendvi.matching.figures import Figures, figures
from opendvi.records.values import contact_columns, range_text, record_row

__all__ = ["CANDIDATE_COLUMNS", "export_candidates", "export_records"]

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
    "odds",
    "odds_one_in",
    "odds_floor",
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


def _photo_entry(photos_dir: Path | None, media: MediaStore) -> Callable[[Photo], str]:
    """Name each photo by SHA-256, or copy it to ``photos_dir`` and give its path."""

    def entry(photo: Photo) -> str:
        if photos_dir is None:
            return f"sha256:{photo.sha256}"
        photos_dir.mkdir(parents=True, exist_ok=True)
        target = photos_dir / f"{photo.sha256}{_EXTENSIONS.get(photo.media_type, '')}"
        if not target.exists():
            shutil.copyfile(media.path(photo.sha256), target)
        return str(target)

    return entry


def _json_contact(contact: Contact, audience: Audience) -> dict[str, Any]:
    if not exported(contact.sharing_scope, audience):
        withheld: dict[str, Any] = dict.fromkeys(
            ("name", "relationship", "email", "phone", "language", "consent_channels"), WITHHELD
        )
        return {**withheld, "consent_contact": None, "consent_withdrawn_at": None} | {
            "sharing_scope": contact.sharing_scope
        }
    return {
        "name": contact.name,
        "relationship": contact.relationship_,
        "email": contact.email,
        "phone": contact.phone,
        "language": contact.language,
        "consent_contact": contact.consent_contact,
        "consent_channels": contact.consent_channels,
        "sharing_scope": contact.sharing_scope,
        "consent_withdrawn_at": contact.consent_withdrawn_at,
    }


def _json_record(record: MissingPerson | Remains, audience: Audience) -> dict[str, Any]:
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
            "taken": range_text(p.taken_earliest, p.taken_latest) or None,
            "detection_status": p.detection_status,
            "faces": len(p.faces),
            "withdrawn_at": p.withdrawn_at,
        }
        for p in record.photos
    ]
    if isinstance(record, MissingPerson):
        out["contacts"] = [_json_contact(c, audience) for c in record.contacts]
    return out


def _csv_row(
    record: MissingPerson | Remains, entry: Callable[[Photo], str], audience: Audience
) -> dict[str, str]:
    """The record's row; of a report's contacts, the first that may go in the file."""
    row = record_row(record, entry, csv=True)
    if isinstance(record, MissingPerson):
        shared = (c for c in record.contacts if exported(c.sharing_scope, audience))
        row.update(contact_columns(next(shared, None), csv=True))
    return row


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
    rows = session.execute(query.execution_options(yield_per=500)).scalars()
    yield from cast("Iterator[MissingPerson | Remains]", rows)


def export_records(
    app: OpenDVI,
    out: IO[str],
    *,
    kind: Kind,
    fmt: Format,
    photos_dir: Path | None = None,
    audience: Audience = "partners",
) -> int:
    """Write every record of ``kind``; returns how many were written. Each reporting
    contact goes in only where their sharing scope lets a file for ``audience`` carry them
    (a contact left out: withheld in the JSON, empty cells in the CSV)."""
    with app.db.read() as session:
        if fmt == "json":
            records = (_json_record(r, audience) for r in _records(session, kind))
            return _write_json_array(out, records)
        count = 0
        columns = MISSING_FIELDS if kind == "missing" else REMAINS_FIELDS
        writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        entry = _photo_entry(photos_dir, app.media)
        for record in _records(session, kind):
            writer.writerow(_csv_row(record, entry, audience))
            count += 1
        return count


def export_candidates(app: OpenDVI, out: IO[str], *, fmt: Format) -> int:
    """Write every candidate pair, for each remains record in rank order."""
    with app.db.read() as session:
        return _write_candidates(session, out, fmt, figures(app, session))


def _positional(rate: float | None) -> str | None:
    """A rate in a CSV cell as a plain decimal (``0.000000011``), never ``1.1e-08``."""
    return None if rate is None else format(Decimal(repr(rate)), "f")


def _write_candidates(session: Session, out: IO[str], fmt: Format, figure: Figures) -> int:
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

    def odds_of(candidate: Candidate) -> dict[str, Any]:
        odds = figure.of(
            candidate.false_candidate_rate, (candidate.model_name, candidate.model_version)
        )
        return {"odds": odds.sentence, "odds_one_in": odds.one_in, "odds_floor": odds.floor}

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
            "factors": shown_factors(candidate.factors or {}),
            **{
                f"{name}_points": (candidate.factors.get(name) or {}).get("points")
                for name in FACTORS
            },
            **odds_of(candidate),
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
            writer.writerow(
                {**row, "false_candidate_rate": _positional(row["false_candidate_rate"])}
            )
            count += 1
        return count
    return _write_json_array(out, rows)
