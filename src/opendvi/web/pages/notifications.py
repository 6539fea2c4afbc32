"""Telling families, from the pages: the queue of notification tasks and the viewer's alerts,
and one task's page with its plan, words, approval, checklist, steps and history.

Families' details are for the staff who work with them (admin, caseworker) and the
auditor, who reads only and sees a contact's e-mail, phone and address masked unless they
give a reason to see them (``notify.reveal_contact``). The task's forms are in
``notification_forms``; a refused or invalid form comes back (422) with the reason tied to
its field and what was typed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opendvi.core.notification import (
    CHANNEL_WORDS,
    CHANNELS,
    CHECKLIST,
    OUTCOMES,
    STEP_WORDS,
    STEPS,
)
from opendvi.core.roles import Permission
from opendvi.errors import InputError, NotFound, Refused
from opendvi.notify import ContactView, alerts, mark_alert_seen, task_view, tasks, transport_for
from opendvi.notify.queue import STATUS_WORDS, TaskView
from opendvi.notify.texts import LANGUAGES, direction
from opendvi.people import Account, staff
from opendvi.web.deps import ID_MAX, DviDep, RowId, ViewerDep
from opendvi.web.security import permits
from opendvi.web.templating import render

__all__ = ["FORM_FIELDS", "problem_of", "router", "task_page"]

router = APIRouter(include_in_schema=False)
QUEUE_LIMIT = 500
TELLING = ("visit", "call", "letter")
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
    "reveal": ("why",),
}


def problem_of(form: str, error: Exception) -> dict[str, str]:
    """A form's problem, tied to the field it names (else to the form's button)."""
    field = getattr(error, "field", None) or ""
    return {
        "form": form,
        "message": str(error),
        "field": field if field in FORM_FIELDS[form] else "button",
    }


def _queue(
    request: Request, dvi: DviDep, viewer: Account, show: str, status: int = 200, **extra: Any
) -> HTMLResponse:
    found = tasks(dvi, role=viewer.role, only_open=show == "open", limit=QUEUE_LIMIT + 1)
    rows = [
        {
            "id": task.id,
            "contact": task.contact,
            "report": task.am_ref,
            "channel": CHANNEL_WORDS.get(task.channel, task.channel),
            "language": LANGUAGES.get(task.language, task.language),
            "language_code": task.language,
            "status": task.status,
            "status_words": STATUS_WORDS.get(task.status, task.status),
            "due_on": task.due_on,
            "overdue": task.overdue,
        }
        for task in found[:QUEUE_LIMIT]
    ]
    return render(
        request,
        "notifications.html",
        status_code=status,
        more=len(found) > QUEUE_LIMIT,
        tasks=rows,
        alerts=alerts(dvi, viewer.id),
        show=show,
        overdue_count=sum(t["overdue"] for t in rows),
        can_change=viewer.may(Permission.TELL_FAMILIES),
        **extra,
    )


@router.get("/notifications")
@permits(Permission.READ_FAMILIES)
def queue(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    show: Annotated[str, Query(pattern="^(open|all)$")] = "open",
) -> HTMLResponse:
    """Open tasks, the soonest due first (overdue marked), and the viewer's alerts."""
    return _queue(request, dvi, viewer, show)


@router.post("/notifications/alerts/seen")
@permits(Permission.TELL_FAMILIES)
def alert_seen(
    request: Request, dvi: DviDep, viewer: ViewerDep, step: Annotated[str, Form()] = ""
) -> Response:
    try:
        if not step.strip().isdigit() or int(step) > ID_MAX:
            raise InputError("step: say which alert was seen", field="step")
        mark_alert_seen(dvi, int(step), username=viewer.username)
    except (InputError, Refused, NotFound) as problem:
        return _queue(
            request, dvi, viewer, "open", 422, problem=problem_of("seen", problem), seen_step=step
        )
    return RedirectResponse("/notifications", status_code=303)


def forms_shown(task: TaskView, can_change: bool) -> dict[str, bool]:
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
        "checklist": status not in ("closed", "cancelled"),
        "tell": status in ("approved", "carried_out", "acknowledged"),
        "after": status in ("carried_out", "acknowledged", "closed"),
        "close": status in ("carried_out", "acknowledged"),
        "photos": task.photo_requested,
    }
    return {form: can_change and allowed for form, allowed in shown.items()}


# What the page says after each form, once it is done.
DONE = {
    "plan": "The plan is saved.",
    "words": "The words are saved. They are used only once another caseworker approves them.",
    "redraft": "Drafted again from the template: read the words, change them if needed, and "
    "save them.",
    "approve": "Approved: the words and the plan may now be used to tell the family.",
    "checklist": "The checklist is saved.",
    "tell": "Recorded.",
    "after": "Recorded.",
    "close": "The task is closed.",
    "send": "The e-mail has left.",
}


def _shown(view: TaskView, revealed: ContactView | None) -> dict[str, Any]:
    """The task as the page's template names its parts; the contact in full where it was
    revealed for this answer."""
    contact = revealed or view.contact_details
    return {
        "task": view,
        "contact": contact,
        "chosen": contact.chosen,
        "identification": {
            "id": view.identification,
            "status": view.identification_status,
            "method": view.method,
        },
        "report": {"ref": view.am_ref, "full_name": view.missing_name},
        "remains": {"ref": view.pm_ref},
        "drafted_by": view.drafted_by,
        "approved_by": view.approved_by,
        "steps": [
            {
                **vars(step),
                "what": STEP_WORDS.get(step.kind, step.kind),
                "outcome": OUTCOMES.get(step.outcome, step.outcome),
            }
            for step in view.steps
        ],
        "trail": view.trail,
        "unreached": view.unreached,
        "photo_requested": view.photo_requested,
        "overdue": view.overdue,
        "status_words": STATUS_WORDS.get(view.status, view.status),
        "way_words": CHANNEL_WORDS.get(view.channel, view.channel),
        "language_name": LANGUAGES.get(view.language, view.language),
        "direction": direction(view.language or "en"),
        "consent_words": contact.consent_words,
        "why_not_told": contact.why_not_told,
    }


def task_page(
    request: Request,
    dvi: DviDep,
    viewer: Account,
    task_id: RowId,
    status: int = 200,
    problem: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    revealed: ContactView | None = None,
    done: str = "",
) -> HTMLResponse:
    """The task's page, with a form's problem and what was typed when it came back, the
    contact in full where it was ``revealed`` for this answer, and what was ``done``."""
    view = task_view(dvi, task_id, role=viewer.role)
    by_mail = transport_for(dvi.settings).name == "email"
    team = staff(dvi, Permission.TELL_FAMILIES)
    return render(
        request,
        "notification.html",
        status_code=status,
        **_shown(view, revealed),
        staff=team,
        show=forms_shown(view, viewer.may(Permission.TELL_FAMILIES)),
        can_reveal=revealed is None and view.contact_details.shown == "masked",
        # The second person approves: whoever saved the words does not see the button.
        can_approve=view.status == "prepared"
        and view.drafted_by_id is not None
        and view.drafted_by_id != viewer.id,
        channels=CHANNELS,
        channel_words=CHANNEL_WORDS,
        languages=LANGUAGES,
        checklist=CHECKLIST,
        outcomes=OUTCOMES,
        step_words=STEPS,
        telling=TELLING,
        after=AFTER,
        way_out=f"the mail server {dvi.settings.smtp_host}"
        if by_mail
        else "the outbox folder (to be carried to a connected machine)",
        today=dt.date.today().isoformat(),
        problem=problem,
        typed=typed or {},
        done=done,
        approvers=[p for p in team if p.username != view.drafted_by],
    )


@router.get("/notifications/{task_id}")
@permits(Permission.READ_FAMILIES)
def task_page_route(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    task_id: RowId,
    done: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    return task_page(request, dvi, viewer, task_id, done=DONE.get(done, ""))
