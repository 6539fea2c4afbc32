"""``/api/records``: reports and remains as the lists and record pages show them, and new
ones from the import's fields, read by the same parsers and checks as the form."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.concurrency import run_in_threadpool

from opendvi.core.fields import form_fields
from opendvi.core.roles import Permission
from opendvi.errors import FormProblems
from opendvi.records import (
    Filters,
    Upload,
    add_record,
    change_record,
    page_of_records,
    record_detail,
)
from opendvi.records.intake import Kind
from opendvi.records.lists import PAGE
from opendvi.web.api.answers import Answer, Moment, Problem, Unreadable, errors
from opendvi.web.deps import ROW_MAX, DviDep, RowId, ViewerDep
from opendvi.web.labels import LABELS
from opendvi.web.security import permits

router = APIRouter(prefix="/api", tags=["api"])


class RecordOut(Answer):
    kind: Kind
    ref: str
    status: str = Field(description="open, identified, closed, merged or withdrawn")
    fields: dict[str, str] = Field(
        description="The record's fields as text, named as the import's columns "
        "(docs/import.md); photos and the reporting contact are not included"
    )


class RecordList(Answer):
    total: int = Field(description="How many records the filters keep")
    page: int
    per_page: int
    more: bool = Field(description="Whether a later page has more")
    records: list[RecordOut]


class FaceOut(Answer):
    id: int
    subject: bool = Field(description="The record's person, in a group photo")
    subject_by: str = Field(
        description="How it became the person: only_face or dominant (chosen by the system: "
        "the only face, or clearly the largest), person (chosen by staff); empty if it is not"
    )
    usable: bool
    why_not: str
    quality: float | None
    manual: bool = Field(description="Boxed by hand")


class PhotoOut(Answer):
    id: int
    name: str
    detection_status: str
    detection_note: str
    width: int
    height: int
    faces: list[FaceOut]
    person_not_chosen: bool = Field(
        description="Several faces and nobody chose the person: none of them is matched yet"
    )
    ready: bool = Field(
        description="Its served copy is made; false while the background worker has not yet "
        "read a photo sent from a form"
    )


class RecordCandidateOut(Answer):
    candidate_id: RowId
    ref: str = Field(description="The other side's reference")
    rank: int
    score: float
    credible: bool
    status: str


class HistoryOut(Answer):
    at: Moment
    actor: str
    action: str


class RecordDetail(RecordOut):
    photos: list[PhotoOut]
    candidates: list[RecordCandidateOut] = Field(description="Listed candidates, best first")
    history: list[HistoryOut] = Field(description="Audit events on this record, newest first")


class PhotosAdded(RecordDetail):
    notes: list[str] = Field(
        description="What adding the photos changes: an identified record's new photos are "
        "matched again and the identification stands; a reference of the other kind too"
    )


class Problems(BaseModel):
    detail: str = Field(description="The first problem, with its field's name")
    field: str = Field(description="The first field with a problem")
    problems: dict[str, str] = Field(description="Every field with a problem, and what it is")


def _record_in(kind: str) -> type[BaseModel]:
    """The import's text fields for one kind of record, photos aside (docs/import.md)."""
    fields: dict[str, Any] = {}
    for name in form_fields(kind):
        label, hint = LABELS.get(name, (name.replace("_", " ").capitalize(), ""))
        about = f"{label}: {hint}" if hint else label
        if name == "ref":
            fields[name] = (str, Field(description=f"{about} (required)"))
        else:
            fields[name] = (str | None, Field(None, description=about))
    return create_model(
        "MissingPersonIn" if kind == "missing" else "RemainsIn",
        __config__=ConfigDict(extra="forbid", coerce_numbers_to_str=True),
        __doc__="Text values read as an imported row's cells are; absent or empty: unknown.",
        **fields,
    )


MissingPersonIn = _record_in("missing")
RemainsIn = _record_in("remains")
# A new record's problems, every field at once; or a request not of the described shape.
_ADDING = errors(400, 401, 403, 422, _422=Problems | Problem | Unreadable)
_ADDING[422]["description"] = "A field cannot be read, or the ref is taken (problems lists all)"


@router.get("/records/{kind}", responses=errors(401, 422))
@permits(Permission.READ)
def api_records(
    dvi: DviDep,
    kind: Kind,
    q: Annotated[str, Query(description="Words in the reference, names, description, place")] = "",
    status: Annotated[str, Query(pattern="^(|open|identified|closed|merged|withdrawn)$")] = "",
    sex: Annotated[str, Query(pattern="^(|F|M|U)$")] = "",
    age: Annotated[int | None, Query(ge=0, le=120)] = None,
    since: Annotated[dt.date | None, Query(description="Last seen or found on or after")] = None,
    until: Annotated[dt.date | None, Query(description="Last seen or found on or before")] = None,
    event: Annotated[str, Query(description="Event code")] = "",
    place: Annotated[str, Query(description="Words in the place last seen or found")] = "",
    page: Annotated[int, Query(ge=1, le=ROW_MAX // PAGE)] = 1,
) -> RecordList:
    """Missing-person reports or unidentified remains, filtered as on the list pages, by
    reference, fifty a page. Uncertain dates and ages are kept when their range overlaps."""
    filters = Filters(
        q=q, status=status, sex=sex, age=age, since=since, until=until, event=event, place=place
    )
    return RecordList.model_validate(page_of_records(dvi, kind, filters, page))


@router.get("/records/{kind}/{ref:path}", responses=errors(401, 404, 422))
@permits(Permission.READ)
def api_record(dvi: DviDep, kind: Kind, ref: str) -> RecordDetail:
    """One record with its photos and faces, candidates and history."""
    found = record_detail(dvi, kind, ref)
    return RecordDetail.model_validate({**vars(found.record), **vars(found)})


def _add(
    dvi: DviDep, viewer: ViewerDep, response: Response, kind: Kind, body: BaseModel
) -> RecordDetail | JSONResponse:
    """Save a new record from the import's fields, with the same parsers and checks as the
    form: every problem is reported at once and nothing is saved."""
    values = {k: v for k, v in body.model_dump().items() if v}
    try:
        saved = add_record(dvi, kind=kind, values=values, actor=viewer.username, source="api")
    except FormProblems as problem:
        content = Problems(
            detail=str(problem), field=problem.field or "", problems=problem.problems
        ).model_dump()
        return JSONResponse(content, status_code=422)
    response.headers["Location"] = f"/api/records/{kind}/{quote(saved.ref, safe='')}"
    return api_record(dvi, kind, saved.ref)


def _add_route(
    kind: Kind, name: str, body: type[BaseModel], permission: Permission, what: str
) -> None:
    """``POST /api/records/{kind}`` for one kind of record, its body that kind's fields;
    ``name`` is the route's name (and the API's operation) as clients know it."""

    def add(
        dvi: DviDep, viewer: ViewerDep, response: Response, body: BaseModel
    ) -> RecordDetail | JSONResponse:
        return _add(dvi, viewer, response, kind, body)

    # Annotations are text here (from __future__): the body's model is given as the class.
    add.__annotations__["body"] = body
    add.__doc__ = f"Add {what}; photos are added from its page or by import."
    add.__name__ = add.__qualname__ = name
    route = router.post(
        f"/records/{kind}", status_code=201, responses=_ADDING, response_model=RecordDetail
    )
    route(permits(permission)(add))


_add_route(
    "missing", "api_add_report", MissingPersonIn, Permission.ADD_REPORTS, "a missing-person report"
)
_add_route(
    "remains",
    "api_add_remains",
    RemainsIn,
    Permission.ADD_REMAINS,
    "an unidentified-remains record",
)


_PHOTOS = errors(400, 401, 403, 404, 422, _422=Problems | Problem | Unreadable)
_PHOTOS[422]["description"] = (
    "A photo cannot be used, or is already a photo of a record of the other kind (give "
    "force_reason to keep it on both)"
)


async def _add_photos(
    dvi: DviDep, viewer: ViewerDep, kind: Kind, ref: str, photos: list[UploadFile], reason: str
) -> PhotosAdded | JSONResponse:
    uploads = [Upload(Path(u.filename or "photo").name, await u.read()) for u in photos]
    try:
        saved = await run_in_threadpool(
            change_record,
            dvi,
            kind=kind,
            ref=ref,
            values={},
            photos=uploads,
            actor=viewer.username,
            source="api",
            force_reason=reason,
        )
    except FormProblems as problem:
        content = Problems(
            detail=str(problem), field=problem.field or "", problems=problem.problems
        ).model_dump()
        return JSONResponse(content, status_code=422)
    found = api_record(dvi, kind, saved.ref)
    return PhotosAdded.model_validate({**found.model_dump(), "notes": list(saved.notes)})


def _photos_route(kind: Kind, name: str, permission: Permission) -> None:
    """``POST /api/records/{kind}/{ref}/photos`` for one kind of record."""

    async def add_photos(
        dvi: DviDep,
        viewer: ViewerDep,
        ref: str,
        photos: Annotated[list[UploadFile], File(description="The photo files")],
        force_reason: Annotated[
            str,
            Form(max_length=2000, description="Why photos of the other kind belong here too"),
        ] = "",
    ) -> PhotosAdded | JSONResponse:
        """Add photos to a record, checked and kept as from its page; the background worker
        finds their faces, then the record is matched again."""
        return await _add_photos(dvi, viewer, kind, ref, photos, force_reason)

    add_photos.__name__ = add_photos.__qualname__ = name
    route = router.post(
        f"/records/{kind}/{{ref:path}}/photos", responses=_PHOTOS, response_model=PhotosAdded
    )
    route(permits(permission)(add_photos))


_photos_route("missing", "api_add_report_photos", Permission.ADD_REPORTS)
_photos_route("remains", "api_add_remains_photos", Permission.ADD_REMAINS)
