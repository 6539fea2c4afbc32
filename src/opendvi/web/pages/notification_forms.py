"""The forms of a notification task's page, and the photos shown to a family who asked.
Each calls one use-case of ``opendvi.notify``; a refused or invalid form comes back (422)
on the task's page with the reason tied to its field and what was typed."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opendvi.core.notification import CHECKLIST
from opendvi.core.roles import Permission
from opendvi.errors import InputError, NotFound, Refused
from opendvi.notify import (
    approve,
    close,
    family_photos,
    plan,
    record_step,
    redraft,
    save_words,
    send,
    set_checklist,
)
from opendvi.notify.texts import LANGUAGES
from opendvi.people import Account
from opendvi.web.deps import DviDep, ViewerDep
from opendvi.web.pages.notifications import TELLING, problem_of, task_page
from opendvi.web.security import permits
from opendvi.web.templating import render

router = APIRouter(include_in_schema=False)
Refusal = (InputError, Refused)


def _back(task_id: int, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(
        f"/notifications/{task_id}{'#' + anchor if anchor else ''}", status_code=303
    )


def _date(text: str, field: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{field}: {text} is not a date (YYYY-MM-DD)", field=field) from None


@router.post("/notifications/{task_id}/plan")
@permits(Permission.TELL_FAMILIES)
def plan_task(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    task_id: int,
    channel: Annotated[str, Form()] = "",
    assigned: Annotated[list[str] | None, Form()] = None,
    due_on: Annotated[str, Form()] = "",
) -> Response:
    people = assigned or []
    try:
        due = _date(due_on, "due_on")
        plan(dvi, task_id, channel=channel, assigned=people, due_on=due, username=viewer.username)
    except (*Refusal, NotFound) as problem:
        typed = {"plan": {"channel": channel, "assigned": people, "due_on": due_on}}
        return task_page(request, dvi, viewer, task_id, 422, problem_of("plan", problem), typed)
    return _back(task_id, "plan")


@router.post("/notifications/{task_id}/words")
@permits(Permission.TELL_FAMILIES)
def save_task_words(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    task_id: int,
    subject: Annotated[str, Form()] = "",
    draft: Annotated[str, Form()] = "",
) -> Response:
    try:
        save_words(dvi, task_id, subject=subject, text=draft, username=viewer.username)
    except Refusal as problem:
        typed = {"words": {"subject": subject, "draft": draft}}
        return task_page(request, dvi, viewer, task_id, 422, problem_of("words", problem), typed)
    return _back(task_id, "words")


@router.post("/notifications/{task_id}/redraft")
@permits(Permission.TELL_FAMILIES)
def redraft_task(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    task_id: int,
    language: Annotated[str, Form()] = "",
) -> Response:
    try:
        if language not in LANGUAGES:
            raise InputError(
                f"language: choose one of {', '.join(LANGUAGES.values())}", field="language"
            )
        redraft(dvi, task_id, language=language, username=viewer.username)
    except Refusal as problem:
        typed = {"redraft": {"language": language}}
        return task_page(request, dvi, viewer, task_id, 422, problem_of("redraft", problem), typed)
    return _back(task_id, "words")


@router.post("/notifications/{task_id}/approve")
@permits(Permission.TELL_FAMILIES)
def approve_task(request: Request, dvi: DviDep, viewer: ViewerDep, task_id: int) -> Response:
    try:
        approve(dvi, task_id, username=viewer.username)
    except Refusal as problem:
        return task_page(request, dvi, viewer, task_id, 422, problem_of("approve", problem))
    return _back(task_id)


@router.post("/notifications/{task_id}/send")
@permits(Permission.TELL_FAMILIES)
def send_task(request: Request, dvi: DviDep, viewer: ViewerDep, task_id: int) -> Response:
    """Send the approved e-mail: plain text, no picture, through the mail server or into the
    outbox folder."""
    problem: Exception | None = None
    try:
        send(dvi, task_id, username=viewer.username)
    except Refusal as refused:
        problem = refused
    except OSError as failed:  # the mail server did not take it: nothing was recorded
        problem = Refused(f"not sent: the mail server did not take the message ({failed})")
    if problem is not None:
        return task_page(request, dvi, viewer, task_id, 422, problem_of("send", problem))
    return _back(task_id)


@router.post("/notifications/{task_id}/checklist")
@permits(Permission.TELL_FAMILIES)
def checklist_task(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    task_id: int,
    item: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """The checklist as ticked on the form: what is not ticked is not done."""
    ticked = set(item or [])
    try:
        unknown = ticked - set(CHECKLIST)
        if unknown:
            raise InputError(f"checklist: unknown item {sorted(unknown)[0]!r}", field="checklist")
        items = {key: key in ticked for key in CHECKLIST}
        set_checklist(dvi, task_id, items=items, username=viewer.username)
    except Refusal as problem:
        return task_page(request, dvi, viewer, task_id, 422, problem_of("checklist", problem))
    return _back(task_id, "checklist")


@router.post("/notifications/{task_id}/steps")
@permits(Permission.TELL_FAMILIES)
def record_task_step(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    task_id: int,
    kind: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    on: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """A visit, call or letter with its outcome, or what came after: an acknowledgement, a
    follow-up, a referral, the family's request to see photos, a note."""
    form = "tell" if kind in TELLING or outcome else "after"
    try:
        if kind == "photo_viewed":
            raise InputError(
                "kind: photos viewed with the family are recorded on the photos page",
                field="kind",
            )
        outcome_kept = outcome if kind in TELLING else ""
        when = _date(on, "on")
        record_step(
            dvi,
            task_id,
            kind=kind,
            outcome=outcome_kept,
            on=when,
            note=note,
            username=viewer.username,
        )
    except Refusal as problem:
        typed = {form: {"kind": kind, "outcome": outcome, "on": on, "note": note}}
        return task_page(request, dvi, viewer, task_id, 422, problem_of(form, problem), typed)
    return _back(task_id, "history")


@router.post("/notifications/{task_id}/close")
@permits(Permission.TELL_FAMILIES)
def close_task(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    task_id: int,
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        close(dvi, task_id, note=note, username=viewer.username)
    except Refusal as problem:
        typed = {"close": {"note": note}}
        return task_page(request, dvi, viewer, task_id, 422, problem_of("close", problem), typed)
    return _back(task_id)


def _photos_page(
    request: Request, dvi: DviDep, viewer: Account, task_id: int, status: int = 200, **extra: Any
) -> HTMLResponse:
    from opendvi.core.notification import STEP_WORDS

    found = family_photos(dvi, task_id)
    history = [
        {"what": STEP_WORDS[step.kind], "on": step.on, "by": step.by, "note": step.note}
        for step in found.history
    ]
    return render(
        request,
        "notification_photos.html",
        status_code=status,
        task={"id": found.task},
        contact={"name": found.contact},
        remains={"ref": found.remains_ref},
        photos=found.photos,
        history=history,
        can_change=viewer.may(Permission.TELL_FAMILIES),
        **extra,
    )


@router.get("/notifications/{task_id}/photos")
@permits(Permission.TELL_FAMILIES)
def photos_page(request: Request, dvi: DviDep, viewer: ViewerDep, task_id: int) -> HTMLResponse:
    """The identified remains' post-mortem photos, blurred until revealed, for staff showing
    them to a family who asked (never sent, never linked in a message)."""
    return _photos_page(request, dvi, viewer, task_id)


@router.post("/notifications/{task_id}/photos/viewed")
@permits(Permission.TELL_FAMILIES)
def photos_viewed(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    task_id: int,
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        record_step(dvi, task_id, kind="photo_viewed", note=note, username=viewer.username)
    except Refusal as problem:
        return _photos_page(
            request,
            dvi,
            viewer,
            task_id,
            422,
            problem=problem_of("viewed", problem),
            viewed_note=note,
        )
    return RedirectResponse(f"/notifications/{task_id}/photos", status_code=303)
