"""The rules of telling a family: who may be told, how, and when a message may leave.

Pure functions over plain facts, so the same rules hold for the pages, the command line and
the property test, and can be read in one place:

- Only after a confirmed identification (two confirmers, neither the proposer).
- Only to a contact entitled to be told who said yes to being contacted and has not withdrawn.
- In a way they chose: in person is preferred; e-mail only if they chose e-mail.
- Nothing leaves before a second person approved the words (not the one who wrote them).
- Never a photo: messages are plain text, without attachments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = [
    "BEFORE_TELLING",
    "CARRIED_OUT_BY",
    "CHANNELS",
    "CHANNEL_WORDS",
    "CHECKLIST",
    "NOT_YET_TOLD",
    "OPEN",
    "OUTCOMES",
    "STEPS",
    "STEP_WORDS",
    "ContactFacts",
    "Delivery",
    "channel_problem",
    "delivery_problems",
    "is_overdue",
    "preferred_channel",
    "why_not_told",
]

# In order of preference (DOMAIN.md: preferably in person).
CHANNELS = ("in_person", "phone", "letter", "email")
CHANNEL_WORDS = {
    "in_person": "a visit in person",
    "phone": "a phone call",
    "letter": "a letter",
    "email": "an e-mail",
}
# What the two people who tell the family go through (ICRC practice).
CHECKLIST = {
    "identity": "The contact's identity is checked",
    "relationship": "Their relationship to the missing person is checked",
    "plain_words": "Told in plain words, without euphemism, with time for questions",
    "next_steps": "What happens next explained: return of the remains, documents",
    "support": "Family support offered (psychosocial, legal, practical)",
}
# Checked before anyone records that the family was told.
BEFORE_TELLING = ("identity", "relationship")
# What is recorded on a task, besides the message itself.
STEPS = {
    "visit": "Visit",
    "call": "Phone call",
    "letter": "Letter handed over or posted",
    "acknowledged": "The family acknowledged the news",
    "follow_up": "Follow-up",
    "referral": "Referral",
    "photo_request": "The family asked to see photos",
    "photo_viewed": "Photos viewed with the family",
    "note": "Note",
}
# What each recorded step is called: those a person records, and those OpenDVI adds.
STEP_WORDS = {
    **STEPS,
    "email": "E-mail sent",
    "outbox": "E-mail put in the outbox",
    "alert": "Alert",
}
OUTCOMES = {
    "told": "the family was told",
    "not_reached": "not reached",
    "postponed": "postponed at the family's wish",
}
# A task is open until closed or cancelled; the family is not yet told while it is pending.
OPEN = ("prepared", "approved", "carried_out", "acknowledged")
NOT_YET_TOLD = ("prepared", "approved")
# The step that carries out each channel.
CARRIED_OUT_BY = {"in_person": "visit", "phone": "call", "letter": "letter", "email": "email"}


def is_overdue(status: str, due_on: dt.date | None, today: dt.date | None = None) -> bool:
    """Whether the family should have been told by now and is not: a task not yet carried
    out whose due date has passed. A task carried out late is no longer overdue."""
    return status in NOT_YET_TOLD and due_on is not None and due_on < (today or dt.date.today())


@dataclass(frozen=True)
class ContactFacts:
    """What the rules need to know about one reporting contact."""

    name: str
    entitled: bool
    consent: bool | None
    withdrawn_on: dt.date | None
    channels: tuple[str, ...]
    email: str = ""
    phone: str = ""


def why_not_told(contact: ContactFacts) -> str | None:
    """Why this contact may not be contacted at all; None if they may."""
    if contact.withdrawn_on is not None:
        return f"{contact.name} withdrew consent to be contacted on {contact.withdrawn_on}"
    if contact.consent is False:
        return f"{contact.name} did not consent to be contacted"
    if contact.consent is None:
        return (
            f"{contact.name}'s consent to be contacted is not recorded; nobody reaches out "
            "until they have said yes"
        )
    if not contact.entitled:
        return f"{contact.name} is not among those entitled to be told"
    return None


def channel_problem(channel: str, contact: ContactFacts) -> str | None:
    """Why this way of reaching the contact may not be used; None if it may."""
    if channel not in CHANNELS:
        return f"{channel!r} is not a way of telling a family; use {', '.join(CHANNELS)}"
    if channel == "email" and "email" not in contact.channels:
        return f"{contact.name} did not choose e-mail; e-mail is used only when chosen"
    if contact.channels and channel not in contact.channels:
        chosen = " or ".join(CHANNEL_WORDS[c] for c in contact.channels if c in CHANNEL_WORDS)
        return f"{contact.name} chose {chosen}, not {CHANNEL_WORDS[channel]}"
    if channel == "email" and not contact.email:
        return f"there is no e-mail address for {contact.name}"
    if channel == "phone" and not contact.phone:
        return f"there is no phone number for {contact.name}"
    return None


def preferred_channel(contact: ContactFacts) -> str:
    """The first way allowed, in person first; in person when nothing fits."""
    for channel in CHANNELS:
        if channel_problem(channel, contact) is None:
            return channel
    return "in_person"


@dataclass(frozen=True)
class Delivery:
    """Everything that decides whether words may go to a family now."""

    identification_status: str
    proposed_by: int
    confirmed_by: tuple[int | None, int | None]
    task_status: str
    drafted_by: int | None
    approved_by: int | None
    draft: str
    channel: str
    contact: ContactFacts
    attachments: int = 0


def delivery_problems(d: Delivery) -> list[str]:
    """Every reason the message may not be delivered (an empty list: it may)."""
    problems = []
    first, second = d.confirmed_by
    confirmers = {first, second} - {None}
    if (
        d.identification_status != "confirmed"
        or len(confirmers) != 2
        or d.proposed_by in confirmers
    ):
        problems.append(
            "the identification is not confirmed by two reviewers other than the proposer"
        )
    if d.task_status != "approved":
        problems.append(f"the task is {d.task_status}, not approved")
    if d.approved_by is None or d.drafted_by is None or d.approved_by == d.drafted_by:
        problems.append("the words were not approved by a second person")
    if not d.draft.strip():
        problems.append("there are no words to send")
    refused = why_not_told(d.contact)
    if refused:
        problems.append(refused)
    else:
        wrong_way = channel_problem(d.channel, d.contact)
        if wrong_way:
            problems.append(wrong_way)
    if d.attachments:
        problems.append("nothing is ever attached to a message to a family")
    return problems
