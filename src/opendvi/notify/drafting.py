"""Preparing to tell a family: the tasks opened by a confirmed identification, the words
drafted from a template in the family's language, read and saved by one person, the plan
(how, by which two staff, by when), the checklist, and the approval by a second person.
Every function is one transaction with its audit event and returns the task as it is now."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.notification import (
    CHECKLIST,
    channel_problem,
    delivery_problems,
    preferred_channel,
    why_not_told,
)
from opendvi.db.tables import Contact, Identification, MissingPerson, Notification, utcnow
from opendvi.errors import InputError, Refused
from opendvi.notify.queue import TaskChange, task_in
from opendvi.notify.task import (
    PENDING,
    caseworker,
    contact_facts,
    delivery,
    locked,
    record_change,
    snapshot,
    words_for,
)
from opendvi.settings import Settings

__all__ = [
    "approve",
    "open_for_identification",
    "plan",
    "redraft",
    "save_words",
    "set_checklist",
]


def open_for_identification(
    session: Session, settings: Settings, identification: Identification, *, actor: str
) -> list[int]:
    """Inside the confirmation's transaction: a task for each contact who may be told."""
    if identification.status != "confirmed":
        raise Refused(
            f"identification {identification.id} is {identification.status}; families are "
            "told only of a confirmed identification"
        )
    report = session.get(MissingPerson, identification.missing_person_id)
    assert report is not None
    due = dt.date.today() + dt.timedelta(days=settings.notify_within_days)
    opened, skipped = [], []
    for contact in sorted(report.contacts, key=lambda c: c.id):
        facts = contact_facts(contact)
        why = why_not_told(facts)
        if why:
            skipped.append({"contact": contact.name, "why": why})
            continue
        task = Notification(
            identification_id=identification.id,
            contact_id=contact.id,
            channel=preferred_channel(facts),
            language=contact.language or "en",
            due_on=due,
            assigned=[],
            checklist=dict.fromkeys(CHECKLIST, False),
        )
        task.subject, task.draft, task.note = words_for(
            settings, task, contact, report, identification.method
        )
        session.add(task)
        session.flush()
        opened.append(task.id)
        audit.record(
            session,
            actor=actor,
            action="notification.opened",
            about=task,
            ref=report.ref,
            after=snapshot(task),
            details={"contact": contact.name, "identification": identification.id},
        )
    if skipped:
        audit.record(
            session,
            actor=actor,
            action="notification.not_opened",
            about=identification,
            ref=report.ref,
            details={"contacts": skipped},
        )
    return opened


def _unapprove(task: Notification) -> bool:
    """Changed words or plan need a new approval."""
    if task.status == "approved":
        task.status, task.approved_by_id, task.approved_at = "prepared", None, None
        return True
    return False


def _editable(task: Notification) -> None:
    if task.status not in PENDING:
        raise Refused(
            f"task {task.id} is {task.status}; its words and plan are kept as they were used"
        )


def save_words(
    app: OpenDVI, task_id: int, *, subject: str | None = None, text: str, username: str
) -> TaskChange:
    """A person has read the words (and perhaps changed them); someone else approves them."""
    if not text.strip():
        raise InputError("draft: the words are empty", field="draft")
    with app.db.write() as session:
        user = caseworker(session, username, "write to a family")
        task = locked(session, task_id)
        _editable(task)
        before = snapshot(task)
        task.subject = task.subject if subject is None else subject.strip()
        task.draft = text.strip()
        task.drafted_by_id = user.id
        reopened = _unapprove(task)
        record_change(
            session,
            task,
            before,
            actor=username,
            action="notification.drafted",
            details={"approval_withdrawn": reopened},
        )
        return TaskChange(task_in(session, task.id, role=user.role), approval_withdrawn=reopened)


def redraft(app: OpenDVI, task_id: int, *, language: str, username: str) -> TaskChange:
    """New words from the template, in ``language`` (to be read and saved again)."""
    with app.db.write() as session:
        user = caseworker(session, username, "write to a family")
        task = locked(session, task_id)
        _editable(task)
        before = snapshot(task)
        contact = session.get(Contact, task.contact_id)
        identification = session.get(Identification, task.identification_id)
        assert contact is not None and identification is not None
        report = session.get(MissingPerson, identification.missing_person_id)
        assert report is not None
        task.language = language.strip() or "en"
        task.subject, task.draft, task.note = words_for(
            app.settings, task, contact, report, identification.method
        )
        task.drafted_by_id = None  # a template's words are nobody's until read and saved
        reopened = _unapprove(task)
        record_change(session, task, before, actor=username, action="notification.redrafted")
        return TaskChange(task_in(session, task.id, role=user.role), approval_withdrawn=reopened)


def plan(
    app: OpenDVI,
    task_id: int,
    *,
    channel: str,
    assigned: list[str],
    due_on: dt.date | Literal["keep"] | None = "keep",
    username: str,
) -> TaskChange:
    """How the family is told, by which two staff, by when (``"keep"``: the due date
    stays as it is; ``None``: no due date)."""
    names = [n.strip() for n in assigned if n.strip()]
    if len(set(names)) != len(names):
        raise InputError("assigned: name two different people", field="assigned")
    with app.db.write() as session:
        user = caseworker(session, username, "plan telling a family")
        task = locked(session, task_id)
        _editable(task)
        for name in names:
            caseworker(session, name, "tell a family")
        contact = session.get(Contact, task.contact_id)
        assert contact is not None
        wrong = channel_problem(channel, contact_facts(contact))
        if wrong:
            raise InputError(f"channel: {wrong}", field="channel")
        before = snapshot(task)
        drafted_for = task.channel
        words_kind_changed = (drafted_for in ("letter", "email")) != (
            channel in ("letter", "email")
        )
        task.channel, task.assigned = channel, names
        if due_on != "keep":
            task.due_on = due_on
        reopened = False
        if snapshot(task) != before:
            reopened = _unapprove(task)
            record_change(
                session,
                task,
                before,
                actor=username,
                action="notification.planned",
                details={"redraft_advised": words_kind_changed},
            )
        return TaskChange(
            task_in(session, task.id, role=user.role),
            approval_withdrawn=reopened,
            drafted_for=drafted_for if words_kind_changed else "",
        )


def set_checklist(
    app: OpenDVI, task_id: int, *, items: dict[str, bool], username: str
) -> TaskChange:
    """Tick (true) or untick (false) items of the checklist; the others stay as they are."""
    unknown = set(items) - set(CHECKLIST)
    if unknown:
        raise InputError(f"checklist: unknown item {sorted(unknown)[0]!r}", field="checklist")
    with app.db.write() as session:
        user = caseworker(session, username, "keep the checklist of telling a family")
        task = locked(session, task_id)
        if task.status == "cancelled":
            raise Refused(f"task {task.id} is cancelled")
        before = snapshot(task)
        task.checklist = {**dict.fromkeys(CHECKLIST, False), **(task.checklist or {}), **items}
        if snapshot(task) != before:
            record_change(session, task, before, actor=username, action="notification.checklist")
        return TaskChange(task_in(session, task.id, role=user.role))


def approve(app: OpenDVI, task_id: int, *, username: str) -> TaskChange:
    """A second person approves the words and the plan; only then may anyone use them."""
    with app.db.write() as session:
        user = caseworker(session, username, "approve words to a family")
        task = locked(session, task_id)
        if task.status != "prepared":
            raise Refused(f"task {task.id} is {task.status}; only a prepared task is approved")
        if task.drafted_by_id is None:
            raise Refused(
                "nobody has read and saved these words yet; someone saves them, and another "
                "person approves"
            )
        if task.drafted_by_id == user.id:
            raise Refused("you wrote these words; a second person approves them")
        if len(task.assigned or []) < 2:
            raise Refused("name the two people who will tell the family before approving")
        # Everything that must hold when the words are used, except the approval itself.
        problems = [
            p
            for p in delivery_problems(delivery(session, task, task.channel))
            if not p.startswith(("the task is", "the words were not approved"))
        ]
        if problems:
            raise Refused("; ".join(problems))
        before = snapshot(task)
        task.status, task.approved_by_id, task.approved_at = "approved", user.id, utcnow()
        record_change(session, task, before, actor=username, action="notification.approved")
        return TaskChange(task_in(session, task.id, role=user.role))
