"""Intake from the pages: a new missing-person report or remains record with its photos
(several at once, dropped or chosen), the person chosen in a group photo, and a face boxed
by hand where none was found. The form's fields are the import's columns, read by the same
parsers, so a typed value means what it means in a CSV file (docs/import.md).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from opendvi.core.fields import (
    MISSING_FIELDS,
    REMAINS_FIELDS,
    parse_missing_person,
    parse_remains,
)
from opendvi.db.tables import Face, MissingPerson, Photo, Remains
from opendvi.errors import OpenDVIError, PhotoError
from opendvi.web.pages import render
from opendvi.web.security import roles

router = APIRouter(include_in_schema=False)

# Who adds which records: caseworkers take reports from families, forensic staff record
# remains; admins may do both.
ADD = {"missing": ("admin", "caseworker"), "remains": ("admin", "forensic")}
FACES = ("admin", "caseworker", "forensic")

LABELS: dict[str, tuple[str, str]] = {
    "ref": ("Reference", "your case number, unique"),
    "full_name": ("Full name", ""),
    "other_names": ("Other names", "nicknames, maiden name"),
    "sex": ("Sex", ""),
    "birth_date": ("Date of birth", "YYYY-MM-DD, or YYYY-MM, or YYYY"),
    "birth_year": ("Year of birth", "when only the year is known"),
    "height_cm": ("Height (cm)", "e.g. 172 or 170-180"),
    "hair": ("Hair", ""),
    "eyes": ("Eyes", ""),
    "description": ("Description", ""),
    "circumstances": ("Circumstances", "how and where they went missing"),
    "last_seen_date": ("Last seen", "YYYY-MM-DD, or a range 2024-05-01..2024-05-10"),
    "last_seen_place": ("Last seen at", "place; optionally lat,lon"),
    "event": ("Event", "code of the disaster or incident, if any"),
    "marks": ("Marks and tattoos", "location: description; e.g. left forearm: anchor tattoo"),
    "effects": ("Clothing and effects", "separated by semicolons"),
    "contact_name": ("Reporting contact: name", ""),
    "contact_relationship": ("Relationship", "e.g. mother"),
    "contact_email": ("E-mail", ""),
    "contact_phone": ("Phone", ""),
    "contact_language": ("Language", "e.g. uk, es, ar"),
    "consent_contact": ("Consents to be contacted", ""),
    "contact_channels": ("Channels they chose", "e.g. in_person,phone"),
    "contact_sharing": ("Sharing", "who may see their details"),
    "age_min": ("Estimated age from", "years"),
    "age_max": ("to", "years"),
    "height_min_cm": ("Estimated height from (cm)", ""),
    "height_max_cm": ("to (cm)", ""),
    "found_date": ("Found on", "YYYY-MM-DD, or a range 2024-05-01..2024-05-10"),
    "found_place": ("Found at", "place; optionally lat,lon"),
    "condition": ("Condition", "of the remains when found"),
    "storage_location": ("Stored at", "mortuary, drawer"),
}
AREAS = {"description", "circumstances", "marks", "effects"}
# Fields with a fixed set of answers are chosen, not typed (values as the import reads them).
CHOICES: dict[str, list[tuple[str, str]]] = {
    "sex": [("", "unknown"), ("F", "female"), ("M", "male")],
    "consent_contact": [("", "not asked yet"), ("yes", "yes"), ("no", "no")],
    "condition": [
        ("", "unknown"),
        ("fresh", "fresh"),
        ("decomposed", "decomposed"),
        ("skeletal", "skeletal"),
        ("fragment", "fragment"),
    ],
}


def _fields(kind: str) -> list[str]:
    known = MISSING_FIELDS if kind == "missing" else REMAINS_FIELDS
    return [f for f in known if f not in ("photos", "photo_dates")]


def _form(
    request: Request,
    kind: str,
    values: dict[str, str],
    problems: dict[str, str],
    status: int = 200,
    editing: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "new_record.html",
        status_code=status,
        kind=kind,
        editing=editing,
        fields=[(f, *LABELS.get(f, (f.replace("_", " ").capitalize(), ""))) for f in _fields(kind)],
        areas=AREAS,
        choices=CHOICES,
        values=values,
        problems=problems,
    )


def _blank_form(request: Request, kind: str) -> HTMLResponse:
    return _form(request, kind, {}, {})


@router.get("/records/missing/new")
@roles(*ADD["missing"])
def new_report(request: Request) -> HTMLResponse:
    return _blank_form(request, "missing")


@router.get("/records/remains/new")
@roles(*ADD["remains"])
def new_remains(request: Request) -> HTMLResponse:
    return _blank_form(request, "remains")


@router.post("/records/missing/new")
@roles(*ADD["missing"])
async def add_report(
    request: Request, photos: Annotated[list[UploadFile] | None, File()] = None
) -> Response:
    return await _add(request, "missing", photos)


@router.post("/records/remains/new")
@roles(*ADD["remains"])
async def add_remains(
    request: Request, photos: Annotated[list[UploadFile] | None, File()] = None
) -> Response:
    return await _add(request, "remains", photos)


async def _add(
    request: Request, kind: str, photos: list[UploadFile] | None, editing: str | None = None
) -> Response:
    """Save a new record, or (``editing``: its reference) change one and add photos to it."""
    from opendvi.intake import save_parsed, store_photo

    viewer = request.state.viewer
    form = await request.form()
    values = {f: str(form.get(f, "")).strip() for f in _fields(kind)}
    if editing is not None:
        values["ref"] = editing  # the reference names the record; it is not changed here
    parse = parse_missing_person if kind == "missing" else parse_remains
    # A new record reads the fields filled in; a change reads every field, so one emptied
    # in the form is cleared (as an empty cell of an imported row is).
    parsed = parse(values if editing else {k: v for k, v in values.items() if v})
    problems = dict(parsed.problems)
    dvi = request.app.state.dvi
    model: Any = MissingPerson if kind == "missing" else Remains
    with dvi.db.read() as session:
        taken = session.execute(select(model.id).where(model.ref == parsed.ref)).first()
        if editing is None and parsed.ref and taken:
            problems["ref"] = f"{parsed.ref!r} is already taken; choose another reference"
        if editing is not None and not taken:
            raise HTTPException(404, f"there is no record {editing}")
    uploads = [u for u in (photos or []) if u.filename]
    stored = []
    if not problems:
        with tempfile.TemporaryDirectory(prefix="opendvi-upload-") as folder:
            for upload in uploads:
                target = Path(folder) / Path(upload.filename or "photo").name
                target.write_bytes(await upload.read())
                try:
                    stored.append(store_photo(target, media=dvi.media, settings=dvi.settings))
                except PhotoError as exc:
                    problems["photos"] = str(exc).replace(f"{folder}/", "")
                    break
    if problems:
        return _form(request, kind, values, problems, 422, editing=editing)
    actor = viewer.username
    try:
        with dvi.db.write() as session:
            photos_now: list[Any] | None = stored
            if editing is not None:
                # Photos are added to those the record has; none given leaves them as they are.
                photos_now = _current_photos(session, model, editing) + stored if stored else None
            save_parsed(
                session,
                kind=kind,
                parsed=parsed,
                photos=photos_now,
                actor=actor,
                source="web form",
            )
    except OpenDVIError as exc:
        return _form(request, kind, values, {"ref": str(exc)}, 422, editing=editing)
    return _to_record(kind, parsed.ref)


def _current_photos(session: Any, model: Any, ref: str) -> list[Any]:
    """The record's active photos as the intake takes them, in order, dates kept."""
    from dataclasses import replace

    from opendvi.core.uncertain import DateRange
    from opendvi.intake import known_photo

    record = session.execute(select(model).where(model.ref == ref)).scalar_one()
    out = []
    for photo in sorted(record.photos, key=lambda p: (p.position, p.id)):
        if photo.withdrawn_at is not None:
            continue
        stored = known_photo(session, photo.sha256)
        assert stored is not None
        when = (
            DateRange(photo.taken_earliest, photo.taken_latest or photo.taken_earliest)
            if photo.taken_earliest
            else None
        )
        out.append(replace(stored, taken=when))
    return out


def _edit_form(request: Request, kind: str, ref: str) -> HTMLResponse:
    """The record's form, filled in with what is stored (as an export would write it)."""
    from opendvi.interchange.export import record_values

    model: Any = MissingPerson if kind == "missing" else Remains
    with request.app.state.dvi.db.read() as session:
        record = session.execute(select(model).where(model.ref == ref)).scalar_one_or_none()
        if record is None:
            raise HTTPException(404, f"there is no record {ref}")
        values = record_values(record)
    return _form(request, kind, values, {}, editing=ref)


@router.get("/records/missing/{ref:path}/edit")
@roles(*ADD["missing"])
def edit_report(request: Request, ref: str) -> HTMLResponse:
    return _edit_form(request, "missing", ref)


@router.get("/records/remains/{ref:path}/edit")
@roles(*ADD["remains"])
def edit_remains(request: Request, ref: str) -> HTMLResponse:
    return _edit_form(request, "remains", ref)


@router.post("/records/missing/{ref:path}/edit")
@roles(*ADD["missing"])
async def change_report(
    request: Request, ref: str, photos: Annotated[list[UploadFile] | None, File()] = None
) -> Response:
    return await _add(request, "missing", photos, editing=ref)


@router.post("/records/remains/{ref:path}/edit")
@roles(*ADD["remains"])
async def change_remains(
    request: Request, ref: str, photos: Annotated[list[UploadFile] | None, File()] = None
) -> Response:
    return await _add(request, "remains", photos, editing=ref)


def _to_record(kind: str, ref: str) -> RedirectResponse:
    """To the record's page; a reference may hold "/" or "#" (percent-encoded here)."""
    return RedirectResponse(f"/records/{kind}/{quote(ref)}", status_code=303)


def _owner(session: Any, photo: Photo) -> tuple[str, str]:
    if photo.missing_person_id is not None:
        return "missing", session.get(MissingPerson, photo.missing_person_id).ref
    return "remains", session.get(Remains, photo.remains_id).ref


@router.post("/faces/{face_id}/subject")
@roles(*FACES)
def choose_face(request: Request, face_id: int) -> Response:
    """This face is the record's person (in a group photo)."""
    from opendvi.detection import choose_subject

    dvi = request.app.state.dvi
    choose_subject(dvi, face_id=face_id, actor=request.state.viewer.username)
    with dvi.db.read() as session:
        face = session.get(Face, face_id)
        assert face is not None
        kind, ref = _owner(session, face.photo)
    return _to_record(kind, ref)


@router.post("/photos/{photo_id}/box")
@roles(*FACES)
def box_face(
    request: Request,
    photo_id: int,
    x: Annotated[float, Form()],
    y: Annotated[float, Form()],
    width: Annotated[float, Form()],
    height: Annotated[float, Form()],
) -> Response:
    """Mark a face by hand where the detector found none (pixels of the photo as shown)."""
    from opendvi.detection import add_manual_face

    dvi = request.app.state.dvi
    add_manual_face(
        dvi, photo_id=photo_id, box=(x, y, width, height), actor=request.state.viewer.username
    )
    with dvi.db.read() as session:
        photo = session.get(Photo, photo_id)
        assert photo is not None
        kind, ref = _owner(session, photo)
    return _to_record(kind, ref)
