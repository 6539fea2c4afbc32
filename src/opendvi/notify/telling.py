"""Telling a family, and what comes after: the approved e-mail sent (text only, never a
picture), a visit, call or letter recorded with its outcome, the acknowledgement, follow-ups
and referrals, photos viewed only when the family asked, the task closed, and an alert
marked seen. Every function is one transaction with its audit event and returns the task
as it is now."""

from __future__ import annotations

import datetime as dt

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
    channel_problem,
    delivery_problems,
)
from opendvi.db.tables import Contact, Notification, NotificationStep, User, utcnow
from opendvi.errors import InputError, NotFound, Refused
from opendvi.notify.mail import Transport, transport_for
from opendvi.notify.queue import TaskChange, task_in
from opendvi.notify.task import caseworker, contact_facts, delivery, locked, record_change, snapshot

__all__ = ["close", "mark_alert_seen", "record_step", "send"]


def send(
    app: OpenDVI, task_id: int, *, username: str, transport: Transport | None = None
) -> TaskChange:
    """Send the approved e-mail (or put it in the outbox): text only, never a picture."""
    from opendvi.notify.mail import plain_message

    transport = transport or transport_for(app.settings)
    with app.db.write() as session:
        user = caseworker(session, username, "send words to a family")
        task = locked(session, task_id)
        if task.channel != "email":
            raise Refused(
                f"task {task.id} is to be carried out by {task.channel.replace('_', ' ')}; "
                "record it when it is done"
            )
        problems = delivery_problems(delivery(session, task, "email"))
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
        before = snapshot(task)
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
        record_change(
            session,
            task,
            before,
            actor=username,
            action="notification.sent",
            details={"via": transport.name, "to": contact.email, "where": where},
        )
        return TaskChange(task_in(session, task.id, role=user.role), where=where)


def record_step(
    app: OpenDVI,
    task_id: int,
    *,
    kind: str,
    outcome: str = "",
    on: dt.date | None = None,
    note: str = "",
    username: str,
) -> TaskChange:
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
        user = caseworker(session, username, "record what was done for a family")
        task = locked(session, task_id)
        before = snapshot(task)
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
        record_change(
            session,
            task,
            before,
            actor=username,
            action=f"notification.{kind}",
            details={"step": step.id, "outcome": outcome, "note": note.strip()},
        )
        return TaskChange(task_in(session, task.id, role=user.role))


def _telling_problems(session: Session, task: Notification, channel: str) -> list[str]:
    """What must hold to tell the family by visit, call or letter: a confirmed
    identification, approved words, and a contact who may be told (the way may differ from
    the plan when the family asks, but e-mail is sent, not recorded)."""
    problems = delivery_problems(delivery(session, task, channel))
    contact = session.get(Contact, task.contact_id)
    assert contact is not None
    wrong_way = channel_problem(channel, contact_facts(contact))
    return [p for p in problems if p != wrong_way and not p.startswith("the task is")]


def close(app: OpenDVI, task_id: int, *, note: str, username: str) -> TaskChange:
    """Close a task once the family was told (and, usually, acknowledged it)."""
    with app.db.write() as session:
        user = caseworker(session, username, "close a notification task")
        task = locked(session, task_id)
        if task.status not in ("carried_out", "acknowledged"):
            raise Refused(f"task {task.id} is {task.status}; close it once the family was told")
        before = snapshot(task)
        task.status = "closed"
        if note.strip():
            task.note = (task.note + "\n" if task.note else "") + note.strip()
        record_change(session, task, before, actor=username, action="notification.closed")
        return TaskChange(task_in(session, task.id, role=user.role))


def mark_alert_seen(app: OpenDVI, step_id: int, *, username: str) -> TaskChange:
    """The alerted person has seen the alert. One transaction with its audit event."""
    with app.db.write() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        step = session.get(NotificationStep, step_id, with_for_update=True)
        if step is None or step.kind != "alert" or step.user_id != user.id:
            raise NotFound(f"there is no alert {step_id} for {username}")
        if step.seen_at is not None:
            raise Refused(f"alert {step_id} was already seen")
        step.seen_at = utcnow()
        audit.record(
            session,
            actor=username,
            action="notification.alert_seen",
            about=("notification", step.notification_id),
            details={"step": step.id},
        )
        return TaskChange(task_in(session, step.notification_id, role=user.role))
