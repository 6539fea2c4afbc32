"""The forms of a notification task's page, and the photos shown to a family who asked.
Each calls one use-case of ``opendvi.notify``; a refused or invalid form comes back (422)
on the task's page with the reason tied to its field and what was typed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opendvi import notify
from opendvi.app import OpenDVI
from opendvi.core.notification import CHECKLIST
from opendvi.core.roles import Permission
from opendvi.errors import InputError, NotFound, Refused
from opendvi.notify.texts import LANGUAGES
from opendvi.people import Account
from opendvi.web.deps import DviDep, RowId, ViewerDep
from opendvi.web.pages.notifications import TELLING, problem_of, task_page
from opendvi.web.security import permits
from opendvi.web.templating import render

router = APIRouter(include_in_schema=False)
REFUSED: tuple[type[Exception], ...] = (InputError, Refused)


@dataclass(frozen=True)
class TaskForm:
    """A form posted on a task's page, and who posted it."""

    request: Request
    dvi: OpenDVI
    viewer: Account
    task_id: RowId

    @property
    def username(self) -> str:
        return self.viewer.username

    def submit(
        self,
        form: str,
        change: Callable[[], object],
        typed: dict[str, Any] | None = None,
        *,
        anchor: str = "",
        refused: tuple[type[Exception], ...] = REFUSED,
    ) -> Response:
        """Make the change and go back to the task's page (at ``anchor``); a refused or
        invalid form comes back (422) with the reason and what was typed."""
        try:
            change()
        except refused as problem:
            kept = {form: typed} if typed is not None else None
            return task_page(
                self.request,
                self.dvi,
                self.viewer,
                self.task_id,
                422,
                problem_of(form, problem),
                kept,
            )
        # The page says what was done (``done``), at the part it was done in.
        target = f"/notifications/{self.task_id}?done={form}{'#' + anchor if anchor else ''}"
        return RedirectResponse(target, status_code=303)


async def _task_form(request: Request, dvi: DviDep, viewer: ViewerDep, task_id: RowId) -> TaskForm:
    return TaskForm(request, dvi, viewer, task_id)


TaskFormDep = Annotated[TaskForm, Depends(_task_form)]


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
    on: TaskFormDep,
    channel: Annotated[str, Form()] = "",
    assigned: Annotated[list[str] | None, Form()] = None,
    due_on: Annotated[str, Form()] = "",
) -> Response:
    people = assigned or []

    def change() -> object:
        due = _date(due_on, "due_on")
        return notify.plan(
            on.dvi, on.task_id, channel=channel, assigned=people, due_on=due, username=on.username
        )

    typed = {"channel": channel, "assigned": people, "due_on": due_on}
    return on.submit("plan", change, typed, anchor="plan", refused=(*REFUSED, NotFound))


@router.post("/notifications/{task_id}/words")
@permits(Permission.TELL_FAMILIES)
def save_task_words(
    on: TaskFormDep, subject: Annotated[str, Form()] = "", draft: Annotated[str, Form()] = ""
) -> Response:
    def change() -> object:
        return notify.save_words(
            on.dvi, on.task_id, subject=subject, text=draft, username=on.username
        )

    return on.submit("words", change, {"subject": subject, "draft": draft}, anchor="words")


@router.post("/notifications/{task_id}/redraft")
@permits(Permission.TELL_FAMILIES)
def redraft_task(on: TaskFormDep, language: Annotated[str, Form()] = "") -> Response:
    def change() -> object:
        if language not in LANGUAGES:
            choose = ", ".join(LANGUAGES.values())
            raise InputError(f"language: choose one of {choose}", field="language")
        return notify.redraft(on.dvi, on.task_id, language=language, username=on.username)

    return on.submit("redraft", change, {"language": language}, anchor="words")


@router.post("/notifications/{task_id}/approve")
@permits(Permission.TELL_FAMILIES)
def approve_task(on: TaskFormDep) -> Response:
    return on.submit("approve", lambda: notify.approve(on.dvi, on.task_id, username=on.username))


@router.post("/notifications/{task_id}/send")
@permits(Permission.TELL_FAMILIES)
def send_task(on: TaskFormDep) -> Response:
    """Send the approved e-mail: plain text, no picture, through the mail server or into the
    outbox folder."""

    def change() -> object:
        try:
            return notify.send(on.dvi, on.task_id, username=on.username)
        except OSError as failed:  # the mail server did not take it: nothing was recorded
            raise Refused(
                f"not sent: the mail server did not take the message ({failed})"
            ) from None

    return on.submit("send", change)


@router.post("/notifications/{task_id}/checklist")
@permits(Permission.TELL_FAMILIES)
def checklist_task(on: TaskFormDep, item: Annotated[list[str] | None, Form()] = None) -> Response:
    """The checklist as ticked on the form: what is not ticked is not done."""
    ticked = set(item or [])

    def change() -> object:
        unknown = ticked - set(CHECKLIST)
        if unknown:
            raise InputError(f"checklist: unknown item {sorted(unknown)[0]!r}", field="checklist")
        items = {key: key in ticked for key in CHECKLIST}
        return notify.set_checklist(on.dvi, on.task_id, items=items, username=on.username)

    return on.submit("checklist", change, anchor="checklist")


@router.post("/notifications/{task_id}/steps")
@permits(Permission.TELL_FAMILIES)
def record_task_step(
    on: TaskFormDep,
    kind: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    when: Annotated[str, Form(alias="on")] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """A visit, call or letter with its outcome, or what came after: an acknowledgement, a
    follow-up, a referral, the family's request to see photos, a note."""
    form = "tell" if kind in TELLING or outcome else "after"

    def change() -> object:
        if kind == "photo_viewed":
            raise InputError(
                "kind: photos viewed with the family are recorded on the photos page",
                field="kind",
            )
        kept = outcome if kind in TELLING else ""
        day = _date(when, "on")
        return notify.record_step(
            on.dvi, on.task_id, kind=kind, outcome=kept, on=day, note=note, username=on.username
        )

    typed = {"kind": kind, "outcome": outcome, "on": when, "note": note}
    return on.submit(form, change, typed, anchor="history")


@router.post("/notifications/{task_id}/close")
@permits(Permission.TELL_FAMILIES)
def close_task(on: TaskFormDep, note: Annotated[str, Form()] = "") -> Response:
    def change() -> object:
        return notify.close(on.dvi, on.task_id, note=note, username=on.username)

    return on.submit("close", change, {"note": note})


@router.post("/notifications/{task_id}/reveal")
@permits(Permission.READ_FAMILIES)
def reveal_contact(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    task_id: RowId,
    why: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """The task's page with its contact in full, for the reason given (audited), this once."""
    try:
        contact = notify.reveal_contact(dvi, task_id, username=viewer.username, why=why)
    except REFUSED as problem:
        kept = {"reveal": {"why": why}}
        return task_page(request, dvi, viewer, task_id, 422, problem_of("reveal", problem), kept)
    return task_page(request, dvi, viewer, task_id, revealed=contact)


def _photos_page(
    request: Request, dvi: DviDep, viewer: Account, task_id: RowId, status: int = 200, **extra: Any
) -> HTMLResponse:
    from opendvi.core.notification import STEP_WORDS

    found = notify.family_photos(dvi, task_id, role=viewer.role)
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
def photos_page(request: Request, dvi: DviDep, viewer: ViewerDep, task_id: RowId) -> HTMLResponse:
    """The identified remains' post-mortem photos, blurred until revealed, for staff showing
    them to a family who asked (never sent, never linked in a message)."""
    return _photos_page(request, dvi, viewer, task_id)


@router.post("/notifications/{task_id}/photos/viewed")
@permits(Permission.TELL_FAMILIES)
def photos_viewed(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    task_id: RowId,
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        notify.record_step(dvi, task_id, kind="photo_viewed", note=note, username=viewer.username)
    except REFUSED as problem:
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
