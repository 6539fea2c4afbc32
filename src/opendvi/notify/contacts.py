"""A reporting contact as each reader may see them (``core.sharing``): in full for those who
tell families, masked for the auditor, withheld where the reporter chose to share with no
one; and one contact shown in full to the auditor for a reason they record, audited.

A reveal lasts for the one answer that carries it: the next reading is masked again."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.notification import CHANNEL_WORDS, why_not_told
from opendvi.core.roles import Permission
from opendvi.core.sharing import (
    WITHHELD,
    WITHHELD_NAME,
    Shown,
    mask_email,
    mask_phone,
    mask_text,
    shown_to,
)
from opendvi.db.rows import view_of
from opendvi.db.tables import Contact, MissingPerson, Notification, User
from opendvi.errors import InputError, NotFound, Refused
from opendvi.notify.task import contact_facts
from opendvi.people.accounts import acting_user

__all__ = [
    "WHY_LIMIT",
    "ContactView",
    "contact_view",
    "name_for",
    "reader_role",
    "reveal_contact",
    "words_for",
]

WHY_LIMIT = 1000


@dataclass(frozen=True)
class ContactView:
    name: str
    relationship: str
    language: str
    channels: tuple[str, ...]  # the ways the contact chose to be reached
    email: str
    phone: str
    address: str
    consent: bool | None
    withdrawn_on: dt.date | None
    why_not_told: str | None  # why this contact may not be told now; None if they may
    shown: str = Shown.FULL  # full, masked or withheld (core.sharing.Shown)
    sharing_scope: str = "team"  # who the reporter let see their details (core.sharing)

    @property
    def consent_words(self) -> str:
        if self.withdrawn_on:
            return f"withdrawn on {self.withdrawn_on.isoformat()}"
        return {True: "yes", False: "no", None: "not recorded"}[self.consent]

    @property
    def chosen(self) -> list[str]:
        return [CHANNEL_WORDS.get(c, c) for c in self.channels]


def name_for(contact: Contact, role: str) -> str:
    """The contact's name as a user of ``role`` may see it."""
    if shown_to(contact.sharing_scope, role) is Shown.WITHHELD:
        return WITHHELD
    return contact.name


def words_for(text: str, contact: Contact, role: str) -> str:
    """Words written to the contact (a draft, a subject), their name left out where it is
    withheld from a user of ``role``."""
    if contact.name and shown_to(contact.sharing_scope, role) is Shown.WITHHELD:
        return text.replace(contact.name, "[name withheld]")
    return text


def _shown(contact: Contact, shown: Shown) -> ContactView:
    facts = contact_facts(contact)
    if shown is Shown.WITHHELD:
        facts = dataclasses.replace(facts, name=WITHHELD_NAME)
    view = view_of(
        ContactView,
        contact,
        relationship=contact.relationship_,
        channels=facts.channels,
        consent=contact.consent_contact,
        withdrawn_on=facts.withdrawn_on,
        why_not_told=why_not_told(facts),
        shown=shown,
    )
    if shown is Shown.MASKED:
        return dataclasses.replace(
            view,
            email=mask_email(view.email),
            phone=mask_phone(view.phone),
            address=mask_text(view.address),
        )
    if shown is Shown.WITHHELD:
        return dataclasses.replace(
            view,
            name=WITHHELD,
            relationship=WITHHELD,
            email=WITHHELD,
            phone=WITHHELD,
            address=WITHHELD,
        )
    return view


def contact_view(contact: Contact, role: str) -> ContactView:
    """The contact as a user of ``role`` may see them ("" for a person who has not said
    who they are: masked)."""
    return _shown(contact, shown_to(contact.sharing_scope, role))


def reader_role(app: OpenDVI, username: str | None) -> str:
    """The role contacts are shown for: the active user ``username``'s, or none ("": masked)
    for a person at the command line who has not said who they are."""
    if username is None:
        return ""
    with app.db.read() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or not user.active:
            raise NotFound(f"there is no active user {username!r}; `opendvi users add` adds one")
        return user.role


def reveal_contact(app: OpenDVI, task_id: int, *, username: str, why: str) -> ContactView:
    """The contact of task ``task_id`` in full, for ``username`` who reads families' details
    (the auditor, who otherwise sees them masked), for the reason ``why`` (required). The
    reveal is audited (contact.revealed: who, which contact, for which task, why; never the
    details themselves) and lasts for this answer only. Refused where the reporter chose
    to share with no one, unless the user is one who tells families."""
    why = why.strip()
    if not why:
        raise InputError(
            "why: give the reason you need to see this contact's details; it is kept in "
            "the audit log",
            field="why",
        )
    if len(why) > WHY_LIMIT:
        raise InputError(f"why: keep the reason under {WHY_LIMIT} characters", field="why")
    with app.db.write() as session:
        user = acting_user(session, username, Permission.READ_FAMILIES, doing="see a contact")
        contact, ref = _contact_of(session, task_id)
        if shown_to(contact.sharing_scope, user.role) is Shown.WITHHELD:
            raise Refused(
                f"the contact of task {task_id} chose to share their details with no one; "
                f"only those who tell families may see them, and a {user.role} may not"
            )
        audit.record(
            session,
            actor=username,
            action="contact.revealed",
            about=("contact", contact.id),
            ref=ref,
            details={"task": task_id, "why": why, "role": user.role},
        )
        return _shown(contact, Shown.FULL)


def _contact_of(session: Session, task_id: int) -> tuple[Contact, str]:
    task = session.get(Notification, task_id)
    if task is None:
        raise NotFound(f"there is no notification task {task_id}")
    contact = session.get(Contact, task.contact_id)
    assert contact is not None
    report = session.get(MissingPerson, contact.missing_person_id)
    return contact, report.ref if report else ""
