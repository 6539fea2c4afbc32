"""Notification tasks, from a confirmed identification to a family told, acknowledged and
supported. Every function is one transaction with its audit event; the rules themselves are
in ``core.notification``.

A task is *prepared* with words drafted from a template; a person reads and saves them; a
second person approves them (and the plan: how, in which language, by which two staff);
then the family is told (a visit, a call or a letter recorded with its outcome, or an
e-mail sent when the family chose e-mail), acknowledges, and the task is closed. Revoking
the identification cancels what has not been carried out and alerts whoever handled the
rest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.notification import (
    BEFORE_TELLING,
    CARRIED_OUT_BY,
    CHECKLIST,
    OUTCOMES,
    STEPS,
    ContactFacts,
    Delivery,
    channel_problem,
    delivery_problems,
    preferred_channel,
    why_not_told,
)
from opendvi.db.tables import (
    Contact,
    Identification,
    MissingPerson,
    Notification,
    NotificationStep,
    Remains,
    User,
    utcnow,
)
from opendvi.errors import InputError, NotFound, Refused
from opendvi.notify.texts import draft
from opendvi.users import acting_user

__all__ = [
    "NOTIFY_ROLES",
    "TaskRecord",
    "Unreached",
    "approve",
    "cancel_for_contacts",
    "cancel_for_revocation",
    "close",
    "contact_facts",
    "mark_alert_seen",
    "open_for_identification",
    "plan",
    "read_task",
    "record_step",
    "redraft",
    "save_words",
    "send",
    "set_checklist",
    "unreached",
]

# Caseworkers work with families; admins may do everything.
NOTIFY_ROLES = ("admin", "caseworker")
PENDING = ("prepared", "approved")


def contact_facts(contact: Contact) -> ContactFacts:
    return ContactFacts(
        name=contact.name,
        entitled=bool(contact.entitled),
        consent=contact.consent_contact,
        withdrawn_on=contact.consent_withdrawn_at.date() if contact.consent_withdrawn_at else None,
        channels=tuple(c for c in contact.consent_channels.replace(" ", ",").split(",") if c),
        email=contact.email,
        phone=contact.phone,
    )


@dataclass(frozen=True)
class Unreached:
    contact: str
    why: str


def unreached(session: Session, report_id: int) -> list[Unreached]:
    """The report's contacts who may not be told, each with why."""
    contacts = session.execute(
        select(Contact).where(Contact.missing_person_id == report_id).order_by(Contact.id)
    ).scalars()
    out = []
    for contact in contacts:
        why = why_not_told(contact_facts(contact))
        if why:
            out.append(Unreached(contact.name, why))
    return out


@dataclass(frozen=True)
class TaskRecord:
    """A task with everything the front ends show of it, read in one session."""

    task: Notification
    contact: Contact
    identification: Identification
    report: MissingPerson
    remains: Remains
    drafted_by: str | None
    approved_by: str | None
    steps: list[tuple[NotificationStep, str]]  # each with the user name who recorded it
    unreached: list[Unreached]


def read_task(session: Session, task_id: int) -> TaskRecord:
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
        (step, username)
        for step, username in session.execute(
            select(NotificationStep, User.username)
            .join(User, NotificationStep.user_id == User.id)
            .where(NotificationStep.notification_id == task.id)
            .order_by(NotificationStep.id)
        )
    ]
    return TaskRecord(
        task=task,
        contact=contact,
        identification=identification,
        report=report,
        remains=remains,
        drafted_by=name(task.drafted_by_id),
        approved_by=name(task.approved_by_id),
        steps=steps,
        unreached=unreached(session, report.id),
    )


def _words(
    settings: Any, task: Notification, contact: Contact, report: MissingPerson, method: str
) -> tuple[str, str, str]:
    made = draft(
        "message" if task.channel in ("letter", "email") else "words",
        language=task.language or contact.language or "en",
        contact_name=contact.name,
        missing_name=report.full_name or report.ref,
        method=method,
        team=settings.team_name,
        team_phone=settings.team_phone,
    )
    return made.subject, made.text, made.note


def open_for_identification(
    session: Session, settings: Any, identification: Identification, *, actor: str
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
        task.subject, task.draft, task.note = _words(
            settings, task, contact, report, identification.method
        )
        session.add(task)
        session.flush()
        opened.append(task.id)
        audit.record(
            session,
            actor=actor,
            action="notification.opened",
            entity_type="notification",
            entity_id=task.id,
            entity_ref=report.ref,
            after=_snapshot(task),
            details={"contact": contact.name, "identification": identification.id},
        )
    if skipped:
        audit.record(
            session,
            actor=actor,
            action="notification.not_opened",
            entity_type="identification",
            entity_id=identification.id,
            entity_ref=report.ref,
            details={"contacts": skipped},
        )
    return opened


def _snapshot(task: Notification) -> dict[str, Any]:
    return {
        "status": task.status,
        "channel": task.channel,
        "language": task.language,
        "due_on": task.due_on.isoformat() if task.due_on else None,
        "assigned": list(task.assigned or []),
        "checklist": dict(task.checklist or {}),
        "subject": task.subject,
        "draft": task.draft,
        "drafted_by_id": task.drafted_by_id,
        "approved_by_id": task.approved_by_id,
    }


def _staff(session: Session, username: str, doing: str) -> User:
    return acting_user(session, username, NOTIFY_ROLES, who="a caseworker or an admin", doing=doing)


def _task(session: Session, task_id: int) -> Notification:
    task = session.get(Notification, task_id, with_for_update=True)
    if task is None:
        raise NotFound(f"there is no notification task {task_id}")
    return task


def _changed(
    session: Session,
    task: Notification,
    before: dict[str, Any],
    *,
    actor: str,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="notification",
        entity_id=task.id,
        before=before,
        after=_snapshot(task),
        details=details or {},
    )


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


def save_words(app: OpenDVI, task_id: int, *, subject: str, text: str, username: str) -> None:
    """A person has read the words (and perhaps changed them); someone else approves them."""
    if not text.strip():
        raise InputError("draft: the words are empty", field="draft")
    with app.db.write() as session:
        user = _staff(session, username, "write to a family")
        task = _task(session, task_id)
        _editable(task)
        before = _snapshot(task)
        task.subject, task.draft = subject.strip(), text.strip()
        task.drafted_by_id = user.id
        reopened = _unapprove(task)
        _changed(
            session,
            task,
            before,
            actor=username,
            action="notification.drafted",
            details={"approval_withdrawn": reopened},
        )


def redraft(app: OpenDVI, task_id: int, *, language: str, username: str) -> None:
    """New words from the template, in ``language`` (to be read and saved again)."""
    with app.db.write() as session:
        _staff(session, username, "write to a family")
        task = _task(session, task_id)
        _editable(task)
        before = _snapshot(task)
        contact = session.get(Contact, task.contact_id)
        identification = session.get(Identification, task.identification_id)
        assert contact is not None and identification is not None
        report = session.get(MissingPerson, identification.missing_person_id)
        assert report is not None
        task.language = language.strip() or "en"
        task.subject, task.draft, task.note = _words(
            app.settings, task, contact, report, identification.method
        )
        task.drafted_by_id = None  # a template's words are nobody's until read and saved
        _unapprove(task)
        _changed(session, task, before, actor=username, action="notification.redrafted")


def plan(
    app: OpenDVI,
    task_id: int,
    *,
    channel: str,
    assigned: list[str],
    due_on: dt.date | None,
    username: str,
) -> None:
    """How the family is told, by which two staff, by when."""
    names = [n.strip() for n in assigned if n.strip()]
    if len(set(names)) != len(names):
        raise InputError("assigned: name two different people", field="assigned")
    with app.db.write() as session:
        _staff(session, username, "plan telling a family")
        task = _task(session, task_id)
        _editable(task)
        for name in names:
            _staff(session, name, "tell a family")
        contact = session.get(Contact, task.contact_id)
        assert contact is not None
        wrong = channel_problem(channel, contact_facts(contact))
        if wrong:
            raise InputError(f"channel: {wrong}", field="channel")
        before = _snapshot(task)
        words_kind_changed = (task.channel in ("letter", "email")) != (
            channel in ("letter", "email")
        )
        task.channel, task.assigned, task.due_on = channel, names, due_on
        if _snapshot(task) == before:
            return
        _unapprove(task)
        _changed(
            session,
            task,
            before,
            actor=username,
            action="notification.planned",
            details={"redraft_advised": words_kind_changed},
        )


def set_checklist(app: OpenDVI, task_id: int, *, items: dict[str, bool], username: str) -> None:
    unknown = set(items) - set(CHECKLIST)
    if unknown:
        raise InputError(f"checklist: unknown item {sorted(unknown)[0]!r}", field="checklist")
    with app.db.write() as session:
        _staff(session, username, "keep the checklist of telling a family")
        task = _task(session, task_id)
        if task.status == "cancelled":
            raise Refused(f"task {task.id} is cancelled")
        before = _snapshot(task)
        task.checklist = {**dict.fromkeys(CHECKLIST, False), **(task.checklist or {}), **items}
        if _snapshot(task) != before:
            _changed(session, task, before, actor=username, action="notification.checklist")


def _delivery(session: Session, task: Notification, channel: str) -> Delivery:
    identification = session.get(Identification, task.identification_id)
    contact = session.get(Contact, task.contact_id)
    assert identification is not None and contact is not None
    return Delivery(
        identification_status=identification.status,
        proposed_by=identification.proposed_by_id,
        confirmed_by=(identification.confirmed_by_1_id, identification.confirmed_by_2_id),
        task_status=task.status,
        drafted_by=task.drafted_by_id,
        approved_by=task.approved_by_id,
        draft=task.draft,
        channel=channel,
        contact=contact_facts(contact),
    )


def approve(app: OpenDVI, task_id: int, *, username: str) -> None:
    """A second person approves the words and the plan; only then may anyone use them."""
    with app.db.write() as session:
        user = _staff(session, username, "approve words to a family")
        task = _task(session, task_id)
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
            for p in delivery_problems(_delivery(session, task, task.channel))
            if not p.startswith(("the task is", "the words were not approved"))
        ]
        if problems:
            raise Refused("; ".join(problems))
        before = _snapshot(task)
        task.status, task.approved_by_id, task.approved_at = "approved", user.id, utcnow()
        _changed(session, task, before, actor=username, action="notification.approved")


def send(app: OpenDVI, task_id: int, *, username: str, transport: Any) -> str:
    """Send the approved e-mail (or put it in the outbox): text only, never a picture."""
    from opendvi.notify.mail import plain_message

    with app.db.write() as session:
        user = _staff(session, username, "send words to a family")
        task = _task(session, task_id)
        if task.channel != "email":
            raise Refused(
                f"task {task.id} is to be carried out by {task.channel.replace('_', ' ')}; "
                "record it when it is done"
            )
        problems = delivery_problems(_delivery(session, task, "email"))
        sender = app.settings.mail_from
        if not sender:
            problems.append("no sender is set (OPENDVI_MAIL_FROM)")
        if problems:
            raise Refused("not sent: " + "; ".join(problems))
        contact = session.get(Contact, task.contact_id)
        assert contact is not None
        message = plain_message(
            sender=sender,
            to=contact.email,
            subject=task.subject,
            text=task.draft,
            language=task.language,
        )
        where = transport.deliver(message)
        before = _snapshot(task)
        task.status = "carried_out"
        session.add(
            NotificationStep(
                notification_id=task.id,
                kind="email" if transport.name == "email" else "outbox",
                outcome="sent",
                happened_on=dt.date.today(),
                note=where,
                user_id=user.id,
            )
        )
        _changed(
            session,
            task,
            before,
            actor=username,
            action="notification.sent",
            details={"via": transport.name, "to": contact.email, "where": where},
        )
        return where


def record_step(
    app: OpenDVI,
    task_id: int,
    *,
    kind: str,
    outcome: str = "",
    on: dt.date | None = None,
    note: str = "",
    username: str,
) -> int:
    """A visit, call or letter with its outcome, an acknowledgement, a follow-up, a referral,
    the family's request to see photos, or a note."""
    if kind not in STEPS:
        raise InputError(f"kind: choose one of {', '.join(STEPS)}", field="kind")
    telling = kind in ("visit", "call", "letter")
    if telling and outcome not in OUTCOMES:
        raise InputError(f"outcome: choose one of {', '.join(OUTCOMES)}", field="outcome")
    if kind in ("follow_up", "referral", "note") and not note.strip():
        raise InputError(f"note: say what the {STEPS[kind].lower()} was", field="note")
    with app.db.write() as session:
        user = _staff(session, username, "record what was done for a family")
        task = _task(session, task_id)
        before = _snapshot(task)
        if task.status == "cancelled":
            raise Refused(f"task {task.id} is cancelled: {task.cancel_reason}")
        if telling:
            channel = next(c for c, step in CARRIED_OUT_BY.items() if step == kind)
            problems = _telling_problems(session, task, channel)
            if task.status not in ("approved", "carried_out", "acknowledged"):
                problems.insert(0, f"the task is {task.status}, not approved")
            if outcome == "told":
                missing = [CHECKLIST[i] for i in BEFORE_TELLING if not task.checklist.get(i)]
                if missing:
                    problems.append("first: " + "; ".join(m.lower() for m in missing))
            if problems:
                raise Refused("; ".join(problems))
            if outcome == "told" and task.status == "approved":
                task.status = "carried_out"
        elif kind == "acknowledged":
            if task.status != "carried_out":
                raise Refused(f"task {task.id} is {task.status}; the family is told first")
            task.status = "acknowledged"
        elif kind == "photo_request" and task.status not in (
            "carried_out",
            "acknowledged",
            "closed",
        ):
            raise Refused("the family asks to see photos after they have been told")
        elif kind == "photo_viewed":
            asked = session.execute(
                select(NotificationStep.id).where(
                    NotificationStep.notification_id == task.id,
                    NotificationStep.kind == "photo_request",
                )
            ).first()
            if asked is None:
                raise Refused("photos are shown only when the family has asked to see them")
        step = NotificationStep(
            notification_id=task.id,
            kind=kind,
            outcome=outcome,
            happened_on=on or dt.date.today(),
            note=note.strip(),
            user_id=user.id,
        )
        session.add(step)
        session.flush()
        _changed(
            session,
            task,
            before,
            actor=username,
            action=f"notification.{kind}",
            details={"step": step.id, "outcome": outcome, "note": note.strip()},
        )
        return step.id


def _telling_problems(session: Session, task: Notification, channel: str) -> list[str]:
    """What must hold to tell the family by visit, call or letter: a confirmed
    identification, approved words, and a contact who may be told (the way may differ from
    the plan when the family asks, but e-mail is sent, not recorded)."""
    problems = delivery_problems(_delivery(session, task, channel))
    contact = session.get(Contact, task.contact_id)
    assert contact is not None
    wrong_way = channel_problem(channel, contact_facts(contact))
    return [p for p in problems if p != wrong_way and not p.startswith("the task is")]


def close(app: OpenDVI, task_id: int, *, note: str, username: str) -> None:
    with app.db.write() as session:
        _staff(session, username, "close a notification task")
        task = _task(session, task_id)
        if task.status not in ("carried_out", "acknowledged"):
            raise Refused(f"task {task.id} is {task.status}; close it once the family was told")
        before = _snapshot(task)
        task.status = "closed"
        if note.strip():
            task.note = (task.note + "\n" if task.note else "") + note.strip()
        _changed(session, task, before, actor=username, action="notification.closed")


def cancel_for_revocation(
    session: Session, identification: Identification, *, reason: str, actor: str
) -> tuple[int, int]:
    """Inside the revocation's transaction: pending tasks are cancelled; whoever handled a
    task already carried out is alerted. Returns (cancelled, alerted)."""
    cancelled = alerted = 0
    tasks = session.execute(
        select(Notification).where(Notification.identification_id == identification.id)
    ).scalars()
    for task in tasks:
        before = _snapshot(task)
        if task.status in PENDING:
            task.status = "cancelled"
            task.cancel_reason = f"identification {identification.id} revoked: {reason}"
            cancelled += 1
            _changed(session, task, before, actor=actor, action="notification.cancelled")
        elif task.status in ("carried_out", "acknowledged", "closed"):
            for user_id in _handlers(session, task):
                session.add(
                    NotificationStep(
                        notification_id=task.id,
                        kind="alert",
                        note=(
                            f"identification {identification.id} was revoked after the family "
                            f"was told: {reason}"
                        ),
                        happened_on=dt.date.today(),
                        user_id=user_id,
                    )
                )
                alerted += 1
            _changed(
                session,
                task,
                before,
                actor=actor,
                action="notification.alerted",
                details={"reason": reason},
            )
    return cancelled, alerted


def _handlers(session: Session, task: Notification) -> set[int]:
    ids = {task.drafted_by_id, task.approved_by_id} - {None}
    for name in task.assigned or []:
        found = session.execute(select(User.id).where(User.username == name)).scalar()
        if found is not None:
            ids.add(found)
    ids |= set(
        session.execute(
            select(NotificationStep.user_id).where(
                NotificationStep.notification_id == task.id, NotificationStep.kind != "alert"
            )
        ).scalars()
    )
    return {i for i in ids if i is not None}


def cancel_for_contacts(session: Session, contacts: list[Contact], *, actor: str) -> int:
    """Inside the change that withdrew consent: those contacts' pending tasks are cancelled."""
    refused = {}
    for contact in contacts:
        why = why_not_told(contact_facts(contact))
        if why is not None and contact.id is not None:
            refused[contact.id] = why
    if not refused:
        return 0
    count = 0
    for task in session.execute(
        select(Notification).where(
            Notification.contact_id.in_(refused), Notification.status.in_(PENDING)
        )
    ).scalars():
        before = _snapshot(task)
        task.status, task.cancel_reason = "cancelled", refused[task.contact_id]
        count += 1
        _changed(session, task, before, actor=actor, action="notification.cancelled")
    return count


def mark_alert_seen(app: OpenDVI, step_id: int, *, username: str) -> int:
    """The alerted person has seen the alert; returns its task. One transaction with its
    audit event."""
    with app.db.write() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        step = session.get(NotificationStep, step_id, with_for_update=True)
        if step is None or step.kind != "alert" or step.user_id != user.id:
            raise NotFound(f"there is no alert {step_id} for {username}")
        if step.seen_at is not None:
            raise Refused(f"alert {step_id} was already seen")
        step.seen_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor=username,
            action="notification.alert_seen",
            entity_type="notification",
            entity_id=step.notification_id,
            details={"step": step.id},
        )
        return step.notification_id
