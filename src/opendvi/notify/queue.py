"""Notification tasks as the front ends read them: the queue, the soonest due first; one
task with its contact, plan, words and steps; the tasks of one identification; a user's
alerts; and the counts on the dashboard. "Overdue" has one meaning everywhere
(``core.notification.is_overdue``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.notification import CHANNEL_WORDS, NOT_YET_TOLD, OPEN, is_overdue
from opendvi.db.rows import view_of
from opendvi.db.tables import (
    Contact,
    Identification,
    MissingPerson,
    Notification,
    NotificationStep,
    Photo,
    Remains,
    User,
)
from opendvi.errors import NotFound, Refused
from opendvi.notify.contacts import ContactView, contact_view, name_for, words_for
from opendvi.notify.task import Unreached, unreached

__all__ = [
    "STATUS_WORDS",
    "Alert",
    "ContactView",
    "FamilyPhotos",
    "StepView",
    "TaskChange",
    "TaskLine",
    "TaskSummary",
    "TaskView",
    "alerts",
    "family_photos",
    "open_counts",
    "task_in",
    "task_view",
    "tasks",
    "tasks_of",
]

STATUS_WORDS = {
    "prepared": "prepared: words to read, save and approve",
    "approved": "approved: ready to tell the family",
    "carried_out": "carried out",
    "acknowledged": "acknowledged by the family",
    "closed": "closed",
    "cancelled": "cancelled",
}


@dataclass(frozen=True)
class TaskSummary:
    """A task in the queue."""

    id: int
    identification: int  # the confirmed identification that opened it
    pm_ref: str
    am_ref: str
    contact: str  # the reporting contact to be told
    channel: str  # in_person, phone, letter or email
    language: str
    status: str
    due_on: dt.date | None
    assigned: list[str]  # the two people who tell the family

    @property
    def overdue(self) -> bool:
        return is_overdue(self.status, self.due_on)


def _summary(task: Notification, contact: str, pm_ref: str, am_ref: str) -> TaskSummary:
    return view_of(
        TaskSummary,
        task,
        identification=task.identification_id,
        pm_ref=pm_ref,
        am_ref=am_ref,
        contact=contact,
        assigned=list(task.assigned or []),
    )


def tasks(
    app: OpenDVI,
    *,
    role: str,
    status: str = "",
    only_open: bool = True,
    limit: int | None = 100,
    offset: int = 0,
) -> list[TaskSummary]:
    """Tasks, the soonest due first (tasks without a due date last): those in ``status``
    when given, else the open ones (``only_open``) or all; ``limit`` None: every one. Each
    contact named as a user of ``role`` may see them (core.sharing)."""
    query = (
        select(Notification, Contact, Remains.ref, MissingPerson.ref)
        .join(Contact, Notification.contact_id == Contact.id)
        .join(Identification, Notification.identification_id == Identification.id)
        .join(Remains, Identification.remains_id == Remains.id)
        .join(MissingPerson, Identification.missing_person_id == MissingPerson.id)
        .order_by(Notification.due_on.is_(None), Notification.due_on, Notification.id)
    )
    if status:
        query = query.where(Notification.status == status)
    elif only_open:
        query = query.where(Notification.status.in_(OPEN))
    with app.db.read() as session:
        rows = session.execute(query.offset(offset).limit(limit)).all()
        return [
            _summary(task, name_for(contact, role), pm_ref, am_ref)
            for task, contact, pm_ref, am_ref in rows
        ]


@dataclass(frozen=True)
class StepView:
    id: int
    kind: str
    outcome: str
    on: dt.date | None
    note: str
    by: str  # who recorded it; for an alert, who is alerted
    at: dt.datetime
    seen_at: dt.datetime | None


@dataclass(frozen=True)
class TaskView(TaskSummary):
    """One task with everything the front ends show of it, read in one session."""

    identification_status: str
    method: str
    missing_name: str
    contact_details: ContactView
    checklist: dict[str, bool]
    subject: str
    draft: str
    note: str
    drafted_by_id: int | None
    drafted_by: str | None  # who last saved the words
    approved_by: str | None  # the second person, who approved them
    approved_at: dt.datetime | None
    cancel_reason: str
    created_at: dt.datetime
    steps: list[StepView]  # what was done, oldest first
    unreached: list[Unreached]  # the report's other contacts who may not be told, with why
    trail: list[audit.Entry]  # the task's audit events, oldest first

    @property
    def photo_requested(self) -> bool:
        return any(step.kind == "photo_request" for step in self.steps)


def task_in(session: Session, task_id: int, *, role: str) -> TaskView:
    """Inside a read or a change: one task as it is now, its contacts as a user of ``role``
    may see them (core.sharing: masked for the auditor)."""
    task = session.get(Notification, task_id)
    if task is None:
        raise NotFound(f"there is no notification task {task_id}")
    contact = session.get(Contact, task.contact_id)
    identification = session.get(Identification, task.identification_id)
    assert contact is not None and identification is not None
    report = session.get(MissingPerson, identification.missing_person_id)
    remains = session.get(Remains, identification.remains_id)
    assert report is not None and remains is not None

    def name(user_id: int | None) -> str | None:
        if user_id is None:
            return None
        return session.execute(select(User.username).where(User.id == user_id)).scalar()

    steps = [
        StepView(s.id, s.kind, s.outcome, s.happened_on, s.note, by, s.created_at, s.seen_at)
        for s, by in session.execute(
            select(NotificationStep, User.username)
            .join(User, NotificationStep.user_id == User.id)
            .where(NotificationStep.notification_id == task.id)
            .order_by(NotificationStep.id)
        )
    ]
    trail = audit.recent(session, limit=None, entity=("notification", task.id), oldest_first=True)
    return view_of(
        TaskView,
        task,
        **vars(_summary(task, name_for(contact, role), remains.ref, report.ref)),
        identification_status=identification.status,
        method=identification.method,
        missing_name=report.full_name,
        contact_details=contact_view(contact, role),
        checklist=dict(task.checklist or {}),
        subject=words_for(task.subject, contact, role),
        draft=words_for(task.draft, contact, role),
        drafted_by=name(task.drafted_by_id),
        approved_by=name(task.approved_by_id),
        steps=steps,
        unreached=unreached(session, report.id, role=role),
        trail=trail,
    )


def task_view(app: OpenDVI, task_id: int, *, role: str) -> TaskView:
    """One task: the contact and how to reach them, the report's contacts who are not told
    and why, the plan, the checklist, the words, and every step; the contacts as a user of
    ``role`` may see them."""
    with app.db.read() as session:
        return task_in(session, task_id, role=role)


@dataclass(frozen=True)
class TaskChange:
    """What a change to a task left: the task as it is now, and what the person who made
    the change should know."""

    task: TaskView
    approval_withdrawn: bool = False  # changed words or plan are approved again
    drafted_for: str = ""  # set when the words were drafted for a way the plan no longer uses
    where: str = ""  # where an e-mail went: the mail server, or the outbox file


@dataclass(frozen=True)
class TaskLine:
    """A task as an identification's page lists it."""

    id: int
    contact: str
    channel: str  # in words: a visit in person, ...
    status: str
    status_words: str
    overdue: bool


def tasks_of(session: Session, identification_id: int, *, role: str) -> list[TaskLine]:
    """Inside a read: an identification's tasks, each contact named as a user of ``role``
    may see them."""
    rows = session.execute(
        select(Notification, Contact)
        .join(Contact, Notification.contact_id == Contact.id)
        .where(Notification.identification_id == identification_id)
        .order_by(Notification.id)
    ).all()
    return [
        TaskLine(
            id=task.id,
            contact=name_for(contact, role),
            channel=CHANNEL_WORDS.get(task.channel, task.channel),
            status=task.status,
            status_words=STATUS_WORDS.get(task.status, task.status),
            overdue=is_overdue(task.status, task.due_on),
        )
        for task, contact in rows
    ]


@dataclass(frozen=True)
class Alert:
    """A task whose identification was revoked after the family was told, for one of the
    people who handled it."""

    id: int
    task: int
    contact: str
    report: str
    note: str
    on: dt.date | None


def alerts(app: OpenDVI, user_id: int) -> list[Alert]:
    """The alerts this user has not yet marked seen, oldest first."""
    with app.db.read() as session:
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
        Alert(step.id, step.notification_id, name, ref, step.note, step.happened_on)
        for step, name, ref in rows
    ]


def open_counts(session: Session) -> dict[str, int]:
    """Inside a read: open tasks, and how many of them are overdue."""
    # Overdue as core.notification.is_overdue has it, counted by the database.
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


@dataclass(frozen=True)
class FamilyPhotos:
    """The identified remains' post-mortem photos, for staff showing them to a family who
    asked (never sent, never linked in a message), and what was recorded about them."""

    task: int
    contact: str
    remains_ref: str
    identification: int
    photos: list[int]
    history: list[StepView]  # the family's requests, and photos viewed with them


def family_photos(app: OpenDVI, task_id: int, *, role: str) -> FamilyPhotos:
    """Refused until the family has asked to see photos."""
    with app.db.read() as session:
        view = task_in(session, task_id, role=role)
        history = [s for s in view.steps if s.kind in ("photo_request", "photo_viewed")]
        if not view.photo_requested:
            raise Refused(
                "The family has not asked to see photos. Post-mortem photos are shown to a "
                "family only when they ask: record their request on the task page first."
            )
        remains_id = session.execute(
            select(Identification.remains_id).where(Identification.id == view.identification)
        ).scalar_one()
        photos = list(
            session.execute(
                select(Photo.id)
                .where(Photo.remains_id == remains_id, Photo.withdrawn_at.is_(None))
                .order_by(Photo.position, Photo.id)
            ).scalars()
        )
    return FamilyPhotos(view.id, view.contact, view.pm_ref, view.identification, photos, history)
