"""The parts every notification use-case is made of: the acting caseworker, the task locked
for a change, its state as the audit log records it, the change recorded, the contact's
facts as the rules in ``core.notification`` read them, and the words drafted from a
template. Each works inside the transaction of the use-case that calls it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.core.notification import ContactFacts, Delivery, why_not_told
from opendvi.core.roles import Permission
from opendvi.core.sharing import WITHHELD, WITHHELD_NAME, Shown, shown_to
from opendvi.db.rows import locked as locked_row
from opendvi.db.tables import Contact, Identification, MissingPerson, Notification, User
from opendvi.notify.texts import draft
from opendvi.people.accounts import acting_user
from opendvi.settings import Settings

__all__ = [
    "PENDING",
    "Unreached",
    "caseworker",
    "contact_facts",
    "delivery",
    "locked",
    "record_change",
    "snapshot",
    "unreached",
    "words_for",
]

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


def unreached(session: Session, report_id: int, *, role: str) -> list[Unreached]:
    """The report's contacts who may not be told, each with why, named as a user of
    ``role`` may see them (core.sharing)."""
    contacts = session.execute(
        select(Contact).where(Contact.missing_person_id == report_id).order_by(Contact.id)
    ).scalars()
    out = []
    for contact in contacts:
        facts, name = contact_facts(contact), contact.name
        if shown_to(contact.sharing_scope, role) is Shown.WITHHELD:
            facts, name = replace(facts, name=WITHHELD_NAME), WITHHELD
        why = why_not_told(facts)
        if why:
            out.append(Unreached(name, why))
    return out


def caseworker(session: Session, username: str, doing: str) -> User:
    """The acting user, who must work with families (a caseworker or an admin)."""
    return acting_user(session, username, Permission.TELL_FAMILIES, doing=doing)


def locked(session: Session, task_id: int) -> Notification:
    """The task, locked until the change commits."""
    return locked_row(session, Notification, task_id, "notification task")


def snapshot(task: Notification) -> dict[str, Any]:
    """The task's state as its audit events record it, before and after a change."""
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


def record_change(
    session: Session,
    task: Notification,
    before: dict[str, Any],
    *,
    actor: str,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    """The task's audit event, with its state before and after."""
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        about=task,
        before=before,
        after=snapshot(task),
        details=details or {},
    )


def words_for(
    settings: Settings, task: Notification, contact: Contact, report: MissingPerson, method: str
) -> tuple[str, str, str]:
    """Subject, words and a note for staff, from the template for the task's channel."""
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


def delivery(session: Session, task: Notification, channel: str) -> Delivery:
    """Everything the rules need to decide whether words may reach the family now."""
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
