"""Telling families, from the pages: the queue of notification tasks and the alerts for the
viewer, one task with its plan, words, approval, checklist, steps and history, and the
post-mortem photos shown to a family who asked to see them.

Each form calls one use-case of ``opendvi.notify``; a refused or invalid form comes back
(422) with the reason tied to its field and what was typed. Families' details are for the
staff who work with them (admin, caseworker) and the auditor, who reads only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from opendvi.core.notification import (
    CHANNEL_WORDS,
    CHANNELS,
    CHECKLIST,
    NOT_YET_TOLD,
    OUTCOMES,
    STEPS,
    is_overdue,
)
from opendvi.db.tables import (
    AuditEvent,
    Contact,
    Identification,
    MissingPerson,
    Notification,
    NotificationStep,
    Photo,
    Remains,
    User,
)
from opendvi.errors import InputError, NotFound, Refused
from opendvi.notify import NOTIFY_ROLES
from opendvi.notify.texts import LANGUAGES, direction
from opendvi.web.pages import render
from opendvi.web.security import roles

__all__ = ["FAMILY", "OPEN", "open_counts", "router", "tasks_of"]

router = APIRouter(include_in_schema=False)

# Who may read families' details: those who tell them, and the auditor (reads only).
FAMILY = ("admin", "caseworker", "auditor")
DONE = ("closed", "cancelled")
OPEN = ("prepared", "approved", "carried_out", "acknowledged")
STATUS_WORDS = {
    "prepared": "prepared: words to read, save and approve",
    "approved": "approved: ready to tell the family",
    "carried_out": "carried out",
    "acknowledged": "acknowledged by the family",
    "closed": "closed",
    "cancelled": "cancelled",
}
# What each recorded step is called (the steps a person records, and those the system adds).
STEP_WORDS = {
    **STEPS,
    "email": "E-mail sent",
    "outbox": "E-mail put in the outbox",
    "alert": "Alert",
}
TELLING = ("visit", "call", "letter")
QUEUE_LIMIT = 500
AFTER = ("acknowledged", "follow_up", "referral", "photo_request", "note")
# Each form's fields (ids on the page, after the form's name); a problem is tied to the
# field it names, else to the form's button.
FORM_FIELDS = {
    "plan": ("channel", "assigned", "due_on"),
    "words": ("subject", "draft"),
    "redraft": ("language",),
    "approve": (),
    "send": (),
    "checklist": (),
    "tell": ("kind", "outcome", "on", "note"),
    "after": ("kind", "on", "note"),
    "close": ("note",),
    "viewed": (),
    "seen": (),
}


# -- reading ----------------------------------------------------------------------------------


def open_counts(session: Any) -> dict[str, int]:
    """Open notification tasks and how many of them are past their due date."""
    today = dt.date.today()
    total, late = session.execute(
        select(
            func.count(Notification.id),
            func.count(Notification.id).filter(
                Notification.due_on < today, Notification.status.in_(NOT_YET_TOLD)
            ),
        ).where(Notification.status.in_(OPEN))
    ).one()
    return {"open": int(total), "overdue": int(late)}


def tasks_of(session: Any, identification_id: int) -> list[dict[str, Any]]:
    """An identification's tasks, for its page: id, contact, channel, status."""
    rows = session.execute(
        select(Notification, Contact.name)
        .join(Contact, Notification.contact_id == Contact.id)
        .where(Notification.identification_id == identification_id)
        .order_by(Notification.id)
    ).all()
    return [
        {
            "id": task.id,
            "contact": name,
            "channel": CHANNEL_WORDS.get(task.channel, task.channel),
            "status": task.status,
            "status_words": STATUS_WORDS.get(task.status, task.status),
            "overdue": is_overdue(task.status, task.due_on),
        }
        for task, name in rows
    ]


def _alerts(session: Any, user_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(NotificationStep, Contact.name, MissingPerson.ref)
        .join(Notification, NotificationStep.notification_id == Notification.id)
        .join(Contact, Notification.contact_id == Contact.id)
        .join(MissingPerson, Contact.missing_person_id == MissingPerson.id)
        .where(
            NotificationStep.kind == "alert",
            NotificationStep.user_id == user_id,
            NotificationStep.seen_at.is_(None),
        )
        .order_by(NotificationStep.id)
    ).all()
    return [
        {
            "id": step.id,
            "task": step.notification_id,
            "contact": name,
            "report": ref,
            "note": step.note,
            "on": step.happened_on,
        }
        for step, name, ref in rows
    ]


def _queue(request: Request, show: str, status_code: int = 200, **extra: Any) -> HTMLResponse:
    viewer = request.state.viewer
    query = (
        select(Notification, Contact.name, MissingPerson.ref)
        .join(Contact, Notification.contact_id == Contact.id)
        .join(MissingPerson, Contact.missing_person_id == MissingPerson.id)
        .order_by(Notification.due_on.is_(None), Notification.due_on, Notification.id)
        .limit(QUEUE_LIMIT + 1)
    )
    if show == "open":
        query = query.where(Notification.status.in_(OPEN))
    today = dt.date.today()
    with request.app.state.dvi.db.read() as session:
        rows = session.execute(query).all()
        alerts = _alerts(session, viewer.id)
    tasks = [
        {
            "id": task.id,
            "contact": name,
            "report": ref,
            "channel": CHANNEL_WORDS.get(task.channel, task.channel),
            "language": LANGUAGES.get(task.language, task.language),
            "language_code": task.language,
            "status": task.status,
            "status_words": STATUS_WORDS.get(task.status, task.status),
            "due_on": task.due_on,
            "overdue": is_overdue(task.status, task.due_on, today),
        }
        for task, name, ref in rows[:QUEUE_LIMIT]
    ]
    return render(
        request,
        "notifications.html",
        more=len(rows) > QUEUE_LIMIT,
        status_code=status_code,
        tasks=tasks,
        alerts=alerts,
        show=show,
        overdue_count=sum(t["overdue"] for t in tasks),
        can_change=viewer.may(NOTIFY_ROLES),
        **extra,
    )


def _task_view(session: Any, task_id: int) -> dict[str, Any]:
    """Everything the task page shows, read in one session."""
    from opendvi.core.notification import why_not_told
    from opendvi.notify.tasks import contact_facts, read_task

    found = read_task(session, task_id)
    task, contact, identification = found.task, found.contact, found.identification
    report, remains, steps = found.report, found.remains, found.steps
    staff = session.execute(
        select(User.username, User.display_name, User.role)
        .where(User.active, User.role.in_(NOTIFY_ROLES))
        .order_by(User.username)
    ).all()
    trail = (
        session.execute(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "notification", AuditEvent.entity_id == task.id)
            .order_by(AuditEvent.id)
        )
        .scalars()
        .all()
    )
    facts = contact_facts(contact)
    view = {
        "task": task,
        "contact": contact,
        "chosen": [CHANNEL_WORDS.get(c, c) for c in facts.channels],
        "identification": identification,
        "report": report,
        "remains": remains,
        "drafted_by": found.drafted_by,
        "approved_by": found.approved_by,
        "steps": [
            {
                "id": step.id,
                "kind": step.kind,
                "what": STEP_WORDS.get(step.kind, step.kind),
                "outcome": OUTCOMES.get(step.outcome, step.outcome),
                "on": step.happened_on,
                "note": step.note,
                "by": username,
                "seen_at": step.seen_at,
            }
            for step, username in steps
        ],
        "staff": [{"username": u, "name": d or u, "role": r} for u, d, r in staff],
        "trail": trail,
        "unreached": found.unreached,
        "photo_requested": any(s.kind == "photo_request" for s, _ in steps),
        "overdue": is_overdue(task.status, task.due_on),
        "status_words": STATUS_WORDS.get(task.status, task.status),
        "way_words": CHANNEL_WORDS.get(task.channel, task.channel),
        "language_name": LANGUAGES.get(task.language, task.language),
        "direction": direction(task.language or "en"),
        "consent_words": (
            "withdrawn on " + contact.consent_withdrawn_at.date().isoformat()
            if contact.consent_withdrawn_at
            else {True: "yes", False: "no", None: "not recorded"}[contact.consent_contact]
        ),
        "why_not_told": why_not_told(facts),
    }
    session.expunge_all()
    return view


def forms_shown(task: Notification, can_change: bool, photo_requested: bool) -> dict[str, bool]:
    """Which forms the task page shows (an auditor sees none): those the task's status allows.
    A problem from a form not shown is shown at the top of the page."""
    status = task.status
    pending = status in ("prepared", "approved")
    shown = {
        "plan": pending,
        "words": pending,
        "redraft": pending,
        "approve": status == "prepared",
        "send": task.channel == "email" and pending,
        "checklist": status not in DONE,
        "tell": status in ("approved", "carried_out", "acknowledged"),
        "after": status in ("carried_out", "acknowledged", "closed"),
        "close": status in ("carried_out", "acknowledged"),
        "photos": photo_requested,
    }
    return {form: can_change and allowed for form, allowed in shown.items()}


def _task_page(
    request: Request,
    task_id: int,
    status_code: int = 200,
    problem: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
) -> HTMLResponse:
    from opendvi.notify import transport

    dvi = request.app.state.dvi
    with dvi.db.read() as session:
        view = _task_view(session, task_id)
    viewer = request.state.viewer
    task = view["task"]
    way_out = transport(dvi.settings)
    return render(
        request,
        "notification.html",
        status_code=status_code,
        **view,
        show=forms_shown(task, viewer.may(NOTIFY_ROLES), view["photo_requested"]),
        # The second person approves: whoever saved the words does not see the button.
        can_approve=task.status == "prepared"
        and task.drafted_by_id is not None
        and task.drafted_by_id != viewer.id,
        channels=CHANNELS,
        channel_words=CHANNEL_WORDS,
        languages=LANGUAGES,
        checklist=CHECKLIST,
        outcomes=OUTCOMES,
        step_words=STEPS,
        telling=TELLING,
        after=AFTER,
        way_out=(
            f"the mail server {dvi.settings.smtp_host}"
            if getattr(way_out, "name", "") == "email"
            else "the outbox folder (to be carried to a connected machine)"
        ),
        today=dt.date.today().isoformat(),
        problem=problem,
        typed=typed or {},
    )


def _problem(form: str, error: Exception) -> dict[str, str]:
    field = getattr(error, "field", None) or ""
    return {
        "form": form,
        "message": str(error),
        "field": field if field in FORM_FIELDS[form] else "button",
    }


def _back(task_id: int, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(
        f"/notifications/{task_id}{'#' + anchor if anchor else ''}", status_code=303
    )


def _exists(request: Request, task_id: int) -> None:
    with request.app.state.dvi.db.read() as session:
        if session.get(Notification, task_id) is None:
            raise HTTPException(404, f"there is no notification task {task_id}")


def _date(text: str, field: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{field}: {text} is not a date (YYYY-MM-DD)", field=field) from None


# -- the queue and the alerts ------------------------------------------------------------------


@router.get("/notifications")
@roles(*FAMILY)
def queue(
    request: Request, show: Annotated[str, Query(pattern="^(open|all)$")] = "open"
) -> HTMLResponse:
    """Open tasks, the soonest due first (overdue marked), and the viewer's alerts."""
    return _queue(request, show)


@router.post("/notifications/alerts/seen")
@roles(*NOTIFY_ROLES)
def alert_seen(request: Request, step: Annotated[str, Form()] = "") -> Response:
    try:
        if not step.strip().isdigit():
            raise InputError("step: say which alert was seen", field="step")
        from opendvi.notify.tasks import mark_alert_seen

        mark_alert_seen(request.app.state.dvi, int(step), username=request.state.viewer.username)
    except (InputError, Refused, NotFound) as problem:
        return _queue(request, "open", 422, problem=_problem("seen", problem), seen_step=step)
    return RedirectResponse("/notifications", status_code=303)


# -- one task ----------------------------------------------------------------------------------


@router.get("/notifications/{task_id}")
@roles(*FAMILY)
def task_page(request: Request, task_id: int) -> HTMLResponse:
    return _task_page(request, task_id)


@router.post("/notifications/{task_id}/plan")
@roles(*NOTIFY_ROLES)
def plan_task(
    request: Request,
    task_id: int,
    channel: Annotated[str, Form()] = "",
    assigned: Annotated[list[str] | None, Form()] = None,
    due_on: Annotated[str, Form()] = "",
) -> Response:
    from opendvi.notify import plan

    _exists(request, task_id)
    people = assigned or []
    try:
        plan(
            request.app.state.dvi,
            task_id,
            channel=channel,
            assigned=people,
            due_on=_date(due_on, "due_on"),
            username=request.state.viewer.username,
        )
    except (InputError, Refused, NotFound) as problem:
        typed = {"channel": channel, "assigned": people, "due_on": due_on}
        return _task_page(request, task_id, 422, _problem("plan", problem), {"plan": typed})
    return _back(task_id, "plan")


@router.post("/notifications/{task_id}/words")
@roles(*NOTIFY_ROLES)
def save_task_words(
    request: Request,
    task_id: int,
    subject: Annotated[str, Form()] = "",
    draft: Annotated[str, Form()] = "",
) -> Response:
    from opendvi.notify import save_words

    _exists(request, task_id)
    try:
        save_words(
            request.app.state.dvi,
            task_id,
            subject=subject,
            text=draft,
            username=request.state.viewer.username,
        )
    except (InputError, Refused) as problem:
        typed = {"subject": subject, "draft": draft}
        return _task_page(request, task_id, 422, _problem("words", problem), {"words": typed})
    return _back(task_id, "words")


@router.post("/notifications/{task_id}/redraft")
@roles(*NOTIFY_ROLES)
def redraft_task(request: Request, task_id: int, language: Annotated[str, Form()] = "") -> Response:
    from opendvi.notify import redraft

    _exists(request, task_id)
    try:
        if language not in LANGUAGES:
            raise InputError(
                f"language: choose one of {', '.join(LANGUAGES.values())}", field="language"
            )
        redraft(
            request.app.state.dvi,
            task_id,
            language=language,
            username=request.state.viewer.username,
        )
    except (InputError, Refused) as problem:
        typed = {"language": language}
        return _task_page(request, task_id, 422, _problem("redraft", problem), {"redraft": typed})
    return _back(task_id, "words")


@router.post("/notifications/{task_id}/approve")
@roles(*NOTIFY_ROLES)
def approve_task(request: Request, task_id: int) -> Response:
    from opendvi.notify import approve

    _exists(request, task_id)
    try:
        approve(request.app.state.dvi, task_id, username=request.state.viewer.username)
    except (InputError, Refused) as problem:
        return _task_page(request, task_id, 422, _problem("approve", problem))
    return _back(task_id)


@router.post("/notifications/{task_id}/send")
@roles(*NOTIFY_ROLES)
def send_task(request: Request, task_id: int) -> Response:
    """Send the approved e-mail: plain text, no picture, through the mail server or into the
    outbox folder."""
    from opendvi.notify import send, transport

    _exists(request, task_id)
    dvi = request.app.state.dvi
    problem: Exception | None = None
    try:
        send(
            dvi, task_id, username=request.state.viewer.username, transport=transport(dvi.settings)
        )
    except (InputError, Refused) as refused:
        problem = refused
    except OSError as failed:  # the mail server did not take it: nothing was recorded
        problem = Refused(f"not sent: the mail server did not take the message ({failed})")
    if problem is not None:
        return _task_page(request, task_id, 422, _problem("send", problem))
    return _back(task_id)


@router.post("/notifications/{task_id}/checklist")
@roles(*NOTIFY_ROLES)
def checklist_task(
    request: Request, task_id: int, item: Annotated[list[str] | None, Form()] = None
) -> Response:
    """The checklist as ticked on the form: what is not ticked is not done."""
    from opendvi.notify import set_checklist

    _exists(request, task_id)
    ticked = set(item or [])
    try:
        unknown = ticked - set(CHECKLIST)
        if unknown:
            raise InputError(f"checklist: unknown item {sorted(unknown)[0]!r}", field="checklist")
        set_checklist(
            request.app.state.dvi,
            task_id,
            items={key: key in ticked for key in CHECKLIST},
            username=request.state.viewer.username,
        )
    except (InputError, Refused) as problem:
        return _task_page(request, task_id, 422, _problem("checklist", problem))
    return _back(task_id, "checklist")


@router.post("/notifications/{task_id}/steps")
@roles(*NOTIFY_ROLES)
def record_task_step(
    request: Request,
    task_id: int,
    kind: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    on: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """A visit, call or letter with its outcome, or what came after: an acknowledgement, a
    follow-up, a referral, the family's request to see photos, a note."""
    from opendvi.notify import record_step

    _exists(request, task_id)
    form = "tell" if kind in TELLING or outcome else "after"
    try:
        if kind == "photo_viewed":
            raise InputError(
                "kind: photos viewed with the family are recorded on the photos page",
                field="kind",
            )
        record_step(
            request.app.state.dvi,
            task_id,
            kind=kind,
            outcome=outcome if kind in TELLING else "",
            on=_date(on, "on"),
            note=note,
            username=request.state.viewer.username,
        )
    except (InputError, Refused) as problem:
        typed = {"kind": kind, "outcome": outcome, "on": on, "note": note}
        return _task_page(request, task_id, 422, _problem(form, problem), {form: typed})
    return _back(task_id, "history")


@router.post("/notifications/{task_id}/close")
@roles(*NOTIFY_ROLES)
def close_task(request: Request, task_id: int, note: Annotated[str, Form()] = "") -> Response:
    from opendvi.notify import close

    _exists(request, task_id)
    try:
        close(request.app.state.dvi, task_id, note=note, username=request.state.viewer.username)
    except (InputError, Refused) as problem:
        return _task_page(
            request, task_id, 422, _problem("close", problem), {"close": {"note": note}}
        )
    return _back(task_id)


# -- photos, shown with the family when they ask -----------------------------------------------


def _photos_page(
    request: Request, task_id: int, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    from opendvi.web.pictures import revealed

    with request.app.state.dvi.db.read() as session:
        task = session.get(Notification, task_id)
        if task is None:
            raise HTTPException(404, f"there is no notification task {task_id}")
        steps = session.execute(
            select(NotificationStep, User.username)
            .join(User, NotificationStep.user_id == User.id)
            .where(
                NotificationStep.notification_id == task.id,
                NotificationStep.kind.in_(("photo_request", "photo_viewed")),
            )
            .order_by(NotificationStep.id)
        ).all()
        if not any(step.kind == "photo_request" for step, _ in steps):
            raise HTTPException(
                409,
                "The family has not asked to see photos. Post-mortem photos are shown to a "
                "family only when they ask: record their request on the task page first.",
            )
        identification = session.get(Identification, task.identification_id)
        contact = session.get(Contact, task.contact_id)
        assert identification is not None and contact is not None
        remains = session.get(Remains, identification.remains_id)
        assert remains is not None
        photos = (
            session.execute(
                select(Photo.id)
                .where(Photo.remains_id == remains.id, Photo.withdrawn_at.is_(None))
                .order_by(Photo.position, Photo.id)
            )
            .scalars()
            .all()
        )
        history = [
            {
                "what": STEP_WORDS[step.kind],
                "on": step.happened_on,
                "by": username,
                "note": step.note,
            }
            for step, username in steps
        ]
        view = {
            "task": task,
            "contact": contact,
            "remains": remains,
            "identification": identification,
        }
        session.expunge_all()
    return render(
        request,
        "notification_photos.html",
        status_code=status_code,
        **view,
        photos=photos,
        history=history,
        revealed=revealed(request),
        can_change=request.state.viewer.may(NOTIFY_ROLES),
        **extra,
    )


@router.get("/notifications/{task_id}/photos")
@roles(*NOTIFY_ROLES)
def photos_page(request: Request, task_id: int) -> HTMLResponse:
    """The identified remains' post-mortem photos, blurred until revealed, for staff showing
    them to a family who asked (never sent, never linked in a message)."""
    return _photos_page(request, task_id)


@router.post("/notifications/{task_id}/photos/viewed")
@roles(*NOTIFY_ROLES)
def photos_viewed(request: Request, task_id: int, note: Annotated[str, Form()] = "") -> Response:
    from opendvi.notify import record_step

    _exists(request, task_id)
    try:
        record_step(
            request.app.state.dvi,
            task_id,
            kind="photo_viewed",
            note=note,
            username=request.state.viewer.username,
        )
    except (InputError, Refused) as problem:
        return _photos_page(
            request, task_id, 422, problem=_problem("viewed", problem), viewed_note=note
        )
    return RedirectResponse(f"/notifications/{task_id}/photos", status_code=303)
