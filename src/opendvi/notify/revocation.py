"""What stops a notification: a revoked identification cancels the tasks not yet carried
out and alerts whoever handled the others; a contact who withdraws consent has their
pending tasks cancelled. Both run inside the transaction of the change that causes them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi.core.notification import why_not_told
from opendvi.db.tables import Contact, Identification, Notification, NotificationStep, User
from opendvi.notify.task import PENDING, contact_facts, record_change, snapshot

__all__ = ["cancel_for_contacts", "cancel_for_revocation"]


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
        before = snapshot(task)
        if task.status in PENDING:
            task.status = "cancelled"
            task.cancel_reason = f"identification {identification.id} revoked: {reason}"
            cancelled += 1
            record_change(session, task, before, actor=actor, action="notification.cancelled")
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
            record_change(
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
        before = snapshot(task)
        task.status, task.cancel_reason = "cancelled", refused[task.contact_id]
        count += 1
        record_change(session, task, before, actor=actor, action="notification.cancelled")
    return count
