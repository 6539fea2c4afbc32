"""Intake from the pages: a new missing-person report or remains record with its photos
(several at once, dropped or chosen), a record changed or given more photos, the person
chosen in a group photo, and a face boxed by hand where none was found. The form's fields
are the import's columns, read by the same parsers, so a typed value means what it means in
a CSV file (docs/import.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from opendvi.core.fields import CONTACTS_MAX, contact_fields, numbered_fields
from opendvi.core.roles import Permission
from opendvi.errors import FormProblems, NotFound, OpenDVIError
from opendvi.records import Upload, add_manual_face, add_record, change_record, choose_subject
from opendvi.records import form_values as stored_values
from opendvi.records.intake import Kind
from opendvi.web.deps import DviDep, RowId, ViewerDep
from opendvi.web.sections import (
    CHANNEL_CHOICES,
    CHOICES,
    DATE_SPANS,
    contact_lines,
    date_parts,
    form_sections,
    form_values,
    language_choices,
)
from opendvi.web.security import permits
from opendvi.web.templating import render, same_site

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
# Who adds (and changes) each kind of record.
ADD = {"missing": Permission.ADD_REPORTS, "remains": Permission.ADD_REMAINS}
WEB = "web form"


def _contacts_shown(values: dict[str, str]) -> int:
    """How many reporting contacts the form shows: those filled in, at least one."""
    filled = [
        n
        for n in range(1, CONTACTS_MAX + 1)
        if any(values.get(f) for f in contact_fields(n) if not f.startswith("contact_sharing"))
    ]
    return max([1, *filled])


def _form(
    request: Request,
    kind: Kind,
    values: dict[str, str],
    problems: dict[str, str],
    status: int = 200,
    editing: str | None = None,
    chosen: tuple[str, ...] = (),
) -> HTMLResponse:
    """The form; ``chosen``: the names of photos sent with a form shown again after a
    problem (a browser cannot keep them: the page asks for them again)."""
    shown = _contacts_shown(values) if kind == "missing" else 0
    return render(
        request,
        "new_record.html",
        status_code=status,
        kind=kind,
        editing=editing,
        sections=form_sections(kind),
        contacts=range(1, shown + 1),
        contacts_max=CONTACTS_MAX,
        contact_lines=contact_lines(1),
        choices=CHOICES,
        languages=language_choices,
        channels=CHANNEL_CHOICES,
        date_parts=date_parts,
        values=values,
        problems=problems,
        chosen=chosen,
    )


def to_record(kind: str, ref: str, *, added: int = 0) -> RedirectResponse:
    """To the record's page; a reference may hold "/" or "#" (percent-encoded here).
    ``added``: how many photos were just added, for the page to say what that changes."""
    after = f"?added={added}" if added else ""
    return RedirectResponse(f"/records/{kind}/{quote(ref)}{after}", status_code=303)


async def _save(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    kind: Kind,
    photos: list[UploadFile] | None,
    editing: str | None = None,
) -> Response:
    """Save a new record, or (``editing``: its reference) change one and add photos to it."""
    form = await request.form()
    # Only the fields sent: a change keeps what its form did not send.
    sent = [*numbered_fields(kind), *(f"{n}_to" for n in DATE_SPANS)]
    values = form_values(
        kind,
        {f: str(form[f]).strip() for f in sent if f in form},
        {f: [str(v) for v in form.getlist(f)] for f in sent if f.startswith("contact_channels")},
    )
    uploads = [Upload(Path(u.filename).name, await u.read()) for u in (photos or []) if u.filename]
    chosen = tuple(u.name for u in uploads)
    force_reason = str(form.get("force_reason", "")).strip()
    if editing is not None:
        values["ref"] = editing  # the reference names the record; it is not changed here
    # The use-case reads and writes files and the database: off the event loop, in the
    # thread pool, so other requests go on while it runs.
    try:
        if editing is None:
            saved = await run_in_threadpool(
                add_record,
                dvi,
                kind=kind,
                values=values,
                photos=uploads,
                actor=viewer.username,
                source=WEB,
                force_reason=force_reason,
            )
        else:
            saved = await run_in_threadpool(
                change_record,
                dvi,
                kind=kind,
                ref=editing,
                values=values,
                photos=uploads,
                actor=viewer.username,
                source=WEB,
                force_reason=force_reason,
            )
    except FormProblems as problem:
        return _form(request, kind, values, problem.problems, 422, editing, chosen)
    except NotFound:
        raise
    except OpenDVIError as problem:
        return _form(request, kind, values, {"ref": str(problem)}, 422, editing, chosen)
    # The record's page says what the photos added change (an identified record).
    return to_record(kind, saved.ref, added=len(uploads) if editing is not None else 0)


def _routes(kind: Kind) -> None:
    """The forms of one kind of record, for those who may add it: new, and change."""
    allowed = permits(ADD[kind])

    @router.get(f"/records/{kind}/new")
    @allowed
    def blank_form(request: Request) -> HTMLResponse:
        return _form(request, kind, {}, {})

    @router.post(f"/records/{kind}/new")
    @allowed
    async def add(
        request: Request,
        dvi: DviDep,
        viewer: ViewerDep,
        photos: Annotated[list[UploadFile] | None, File()] = None,
    ) -> Response:
        return await _save(request, dvi, viewer, kind, photos)

    @router.get(f"/records/{kind}/{{ref:path}}/edit")
    @allowed
    def edit_form(request: Request, dvi: DviDep, ref: str) -> HTMLResponse:
        """The record's form, filled in with what is stored (as an export would write it)."""
        return _form(request, kind, stored_values(dvi, kind, ref), {}, editing=ref)

    @router.post(f"/records/{kind}/{{ref:path}}/edit")
    @allowed
    async def change(
        request: Request,
        dvi: DviDep,
        viewer: ViewerDep,
        ref: str,
        photos: Annotated[list[UploadFile] | None, File()] = None,
    ) -> Response:
        return await _save(request, dvi, viewer, kind, photos, editing=ref)


_routes("missing")
_routes("remains")


@router.post("/faces/{face_id}/subject")
@permits(Permission.EDIT_FACES)
def choose_face(
    dvi: DviDep, viewer: ViewerDep, face_id: RowId, back: Annotated[str, Form()] = ""
) -> Response:
    """This face is the record's person (in a group photo); then the record's page, or the
    page it was chosen on (``back``: the photos waiting for a choice)."""
    chosen = choose_subject(dvi, face_id=face_id, actor=viewer.username)
    if back:
        return RedirectResponse(same_site(back), status_code=303)
    return to_record(chosen.kind, chosen.ref)


@router.post("/photos/{photo_id}/box")
@permits(Permission.EDIT_FACES)
def box_face(
    dvi: DviDep,
    viewer: ViewerDep,
    photo_id: RowId,
    x: Annotated[float, Form()],
    y: Annotated[float, Form()],
    width: Annotated[float, Form()],
    height: Annotated[float, Form()],
) -> Response:
    """Mark a face by hand where the detector found none (pixels of the photo as shown)."""
    added = add_manual_face(
        dvi, photo_id=photo_id, box=(x, y, width, height), actor=viewer.username
    )
    return to_record(added.kind, added.ref)
