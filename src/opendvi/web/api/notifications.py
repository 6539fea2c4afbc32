"""``/api/notifications``: telling families through the API (docs/notification.md). Read
by those who work with families and by the auditor; changed by caseworkers and admins.
Every change answers with the task as it is now."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator

from opendvi import notify
from opendvi.core.notification import CHECKLIST
from opendvi.core.roles import Permission
from opendvi.notify import TaskChange
from opendvi.web.api.answers import Answer, Moment, errors
from opendvi.web.deps import DviDep, PagingDep, RowId, ViewerDep
from opendvi.web.security import permits

router = APIRouter(prefix="/api", tags=["api"])
# A change with a body, and one without (approve, send).
CHANGE = errors(400, 401, 403, 404, 409, 422)
STEP = errors(401, 403, 404, 409, 422)
TASK_STATUS = "prepared|approved|carried_out|acknowledged|closed|cancelled"


class NotificationOut(Answer):
    id: int
    identification: int = Field(description="The confirmed identification that opened it")
    pm_ref: str
    am_ref: str
    contact: str = Field(description="The reporting contact to be told")
    channel: str = Field(description="in_person, phone, letter or email")
    language: str = Field(description="Language of the words, e.g. uk")
    status: str = Field(
        description="prepared, approved, carried_out (told), acknowledged, closed or cancelled"
    )
    due_on: dt.date | None
    overdue: bool = Field(description="Due before today and the family not yet told")
    assigned: list[str] = Field(description="The two people who tell the family")


class ContactOut(Answer):
    name: str = Field(description="'withheld: the reporter chose not to share' where it is")
    relationship: str
    language: str
    channels: list[str] = Field(description="The ways the contact chose to be reached")
    email: str = Field(description="Masked for the auditor (o…@…) unless revealed")
    phone: str = Field(description="Masked for the auditor (+38 … 12) unless revealed")
    address: str
    shown: str = Field(description="full, masked or withheld: how much of the contact is shown")


class RevealIn(BaseModel):
    why: str = Field(description="Why you need to see this contact's details (audited)")


class ChecklistItemOut(BaseModel):
    item: str
    label: str
    done: bool


class StepOut(Answer):
    id: int
    kind: str = Field(
        description="visit, call, letter, email, outbox, acknowledged, follow_up, referral, "
        "photo_request, photo_viewed, note, or alert (to whoever handled a task whose "
        "identification was revoked)"
    )
    outcome: str = Field(description="told, not_reached, postponed; sent for an e-mail")
    on: dt.date | None
    note: str
    by: str = Field(description="Who recorded it; for an alert, who is alerted")
    at: Moment


class UnreachedOut(Answer):
    contact: str
    why: str = Field(description="Why this contact of the report is not told")


class NotificationDetail(NotificationOut):
    identification_status: str
    method: str
    contact_details: ContactOut
    checklist: list[ChecklistItemOut]

    @field_validator("checklist", mode="before")
    @classmethod
    def _every_item(cls, done: object) -> object:
        """The task keeps what is done; the answer lists every item, done or not."""
        if not isinstance(done, dict):
            return done
        return [
            {"item": item, "label": label, "done": bool(done.get(item))}
            for item, label in CHECKLIST.items()
        ]

    subject: str = Field(description="Subject of an e-mail or letter")
    draft: str = Field(description="The words")
    note: str = Field(description="For staff: about the template, and how the task ended")
    drafted_by: str | None = Field(description="Who last saved the words")
    approved_by: str | None = Field(description="The second person, who approved them")
    approved_at: Moment | None
    cancel_reason: str
    created_at: Moment
    steps: list[StepOut] = Field(description="What was done, oldest first")
    unreached: list[UnreachedOut] = Field(
        description="The report's other contacts who may not be told, each with why"
    )


class SentOut(NotificationDetail):
    where: str = Field(description="Where the e-mail went: the mail server, or the outbox file")


class WordsIn(BaseModel):
    draft: str = Field(description="The words, as read (and perhaps changed) by you")
    subject: str | None = Field(None, description="Subject of the e-mail or letter (absent: kept)")


class RedraftIn(BaseModel):
    language: str = Field(description="Language of the new words: en, es, fr, ar, uk, ru, ...")


class PlanIn(BaseModel):
    channel: str = Field(
        description="in_person, phone, letter or email (e-mail only if the contact chose it)"
    )
    assigned: list[str] = Field(description="The usernames of the two people who tell the family")
    due_on: dt.date | None = Field(
        None, description="Tell the family by this date; absent: kept; null: no date"
    )


class ChecklistIn(BaseModel):
    checklist: dict[str, bool] = Field(
        description="Items and whether done: identity, relationship, plain_words, next_steps, "
        "support"
    )


class StepIn(BaseModel):
    kind: str = Field(
        description="visit, call, letter, acknowledged, follow_up, referral, photo_request, "
        "photo_viewed or note"
    )
    outcome: str = Field(
        "", description="For a visit, call or letter: told, not_reached, postponed"
    )
    on: dt.date | None = Field(None, description="When it happened (absent: today)")
    note: str = Field("", description="What happened (required for follow_up, referral, note)")


class CloseIn(BaseModel):
    note: str = Field("", description="How it ended, kept with the task")


def _now(change: TaskChange) -> NotificationDetail:
    return NotificationDetail.model_validate(change.task)


@router.get("/notifications", responses=errors(401, 403, 422))
@permits(Permission.READ_FAMILIES)
def api_notifications(
    dvi: DviDep,
    viewer: ViewerDep,
    paging: PagingDep,
    status: Annotated[
        str, Query(pattern=f"^(|{TASK_STATUS})$", description="Only tasks in this status")
    ] = "",
    only_open: Annotated[
        bool,
        Query(
            alias="open",
            description="Only tasks not closed or cancelled (ignored with status); false: all",
        ),
    ] = True,
) -> list[NotificationOut]:
    """Notification tasks, the soonest due first (tasks without a due date last)."""
    found = notify.tasks(dvi, role=viewer.role, status=status, only_open=only_open, **vars(paging))
    return [NotificationOut.model_validate(task) for task in found]


@router.get("/notifications/{task_id}", responses=errors(401, 403, 404, 422))
@permits(Permission.READ_FAMILIES)
def api_notification(dvi: DviDep, viewer: ViewerDep, task_id: RowId) -> NotificationDetail:
    """One task: the contact and how to reach them, the report's contacts who are not told
    and why, the plan, the checklist, the words, and every step. The auditor sees the
    contact's e-mail, phone and address masked; none of a contact who chose to share with
    no one is shown to anyone but those who tell families."""
    return NotificationDetail.model_validate(notify.task_view(dvi, task_id, role=viewer.role))


@router.post("/notifications/{task_id}/contact/reveal", responses=CHANGE)
@permits(Permission.READ_FAMILIES)
def api_notification_reveal(
    dvi: DviDep, viewer: ViewerDep, task_id: RowId, body: RevealIn
) -> ContactOut:
    """The task's contact in full, for the reason given (kept in the audit log), in this
    answer only; refused (409) for a contact who chose to share with no one."""
    return ContactOut.model_validate(
        notify.reveal_contact(dvi, task_id, username=viewer.username, why=body.why)
    )


@router.post("/notifications/{task_id}/words", responses=CHANGE)
@permits(Permission.TELL_FAMILIES)
def api_notification_words(
    dvi: DviDep, viewer: ViewerDep, task_id: RowId, body: WordsIn
) -> NotificationDetail:
    """Save the words you have read (and perhaps changed); someone else approves them. Words
    changed after an approval need a new approval."""
    return _now(
        notify.save_words(
            dvi, task_id, subject=body.subject, text=body.draft, username=viewer.username
        )
    )


@router.post("/notifications/{task_id}/redraft", responses=CHANGE)
@permits(Permission.TELL_FAMILIES)
def api_notification_redraft(
    dvi: DviDep, viewer: ViewerDep, task_id: RowId, body: RedraftIn
) -> NotificationDetail:
    """New words from the template in a language, to be read and saved again."""
    return _now(notify.redraft(dvi, task_id, language=body.language, username=viewer.username))


@router.post("/notifications/{task_id}/plan", responses=CHANGE)
@permits(Permission.TELL_FAMILIES)
def api_notification_plan(
    dvi: DviDep, viewer: ViewerDep, task_id: RowId, body: PlanIn
) -> NotificationDetail:
    """How the family is told, by which two staff, by when. A changed plan needs a new
    approval."""
    due_on: dt.date | Literal["keep"] | None = (
        body.due_on if "due_on" in body.model_fields_set else "keep"
    )
    return _now(
        notify.plan(
            dvi,
            task_id,
            channel=body.channel.strip(),
            assigned=body.assigned,
            due_on=due_on,
            username=viewer.username,
        )
    )


@router.post("/notifications/{task_id}/checklist", responses=CHANGE)
@permits(Permission.TELL_FAMILIES)
def api_notification_checklist(
    dvi: DviDep, viewer: ViewerDep, task_id: RowId, body: ChecklistIn
) -> NotificationDetail:
    """Tick (true) or untick (false) items of the checklist; the others stay as they are."""
    return _now(notify.set_checklist(dvi, task_id, items=body.checklist, username=viewer.username))


@router.post("/notifications/{task_id}/approve", responses=STEP)
@permits(Permission.TELL_FAMILIES)
def api_notification_approve(dvi: DviDep, viewer: ViewerDep, task_id: RowId) -> NotificationDetail:
    """Approve the words and the plan. Refused (409) to whoever saved the words, before
    anyone saved them, and before two people are named to tell the family."""
    return _now(notify.approve(dvi, task_id, username=viewer.username))


@router.post("/notifications/{task_id}/send", responses=STEP)
@permits(Permission.TELL_FAMILIES)
def api_notification_send(dvi: DviDep, viewer: ViewerDep, task_id: RowId) -> SentOut:
    """Send the approved e-mail as plain text, without attachment, through the mail server,
    or write it to the outbox folder when none is set."""
    sent = notify.send(dvi, task_id, username=viewer.username)
    return SentOut(**_now(sent).model_dump(), where=sent.where)


@router.post("/notifications/{task_id}/steps", status_code=201, responses=CHANGE)
@permits(Permission.TELL_FAMILIES)
def api_notification_step(
    dvi: DviDep, viewer: ViewerDep, task_id: RowId, body: StepIn
) -> NotificationDetail:
    """Record what was done: a visit, call or letter with its outcome, the family's
    acknowledgement, a follow-up, a referral, a request to see photos, photos viewed, a note."""
    return _now(
        notify.record_step(
            dvi,
            task_id,
            kind=body.kind.strip(),
            outcome=body.outcome.strip(),
            on=body.on,
            note=body.note,
            username=viewer.username,
        )
    )


@router.post("/notifications/{task_id}/close", responses=CHANGE)
@permits(Permission.TELL_FAMILIES)
def api_notification_close(
    dvi: DviDep, viewer: ViewerDep, task_id: RowId, body: CloseIn
) -> NotificationDetail:
    """Close a task once the family was told."""
    return _now(notify.close(dvi, task_id, note=body.note, username=viewer.username))
