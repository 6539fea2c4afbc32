"""The rules of telling a family (core.notification), read alone: who may be told, and
everything that must hold before words leave."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from opendvi.core.notification import ContactFacts, Delivery, delivery_problems, why_not_told

MARIA = ContactFacts(
    name="Maria",
    entitled=True,
    consent=True,
    withdrawn_on=None,
    channels=("in_person", "email"),
    email="maria@example.org",
)
READY = Delivery(
    identification_status="confirmed",
    proposed_by=1,
    confirmed_by=(2, 3),
    task_status="approved",
    drafted_by=4,
    approved_by=5,
    draft="Words read and saved.",
    channel="email",
    contact=MARIA,
)


def test_a_contact_who_said_yes_and_is_entitled_may_be_told() -> None:
    assert why_not_told(MARIA) is None
    assert delivery_problems(READY) == []


def test_a_contact_not_entitled_to_be_told_is_not_told_even_after_saying_yes() -> None:
    neighbour = replace(MARIA, entitled=False)
    assert why_not_told(neighbour) == "Maria is not among those entitled to be told"
    assert delivery_problems(replace(READY, contact=neighbour)) == [
        "Maria is not among those entitled to be told"
    ]


def test_consent_withdrawn_refused_or_never_asked_is_said_before_entitlement() -> None:
    assert why_not_told(replace(MARIA, withdrawn_on=dt.date(2026, 3, 1))) == (
        "Maria withdrew consent to be contacted on 2026-03-01"
    )
    assert why_not_told(replace(MARIA, consent=False)) == "Maria did not consent to be contacted"
    assert "not recorded" in (why_not_told(replace(MARIA, consent=None)) or "")


NOT_CONFIRMED = "the identification is not confirmed by two reviewers other than the proposer"
NOT_SECOND = "the words were not approved by a second person"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"identification_status": "proposed"}, NOT_CONFIRMED),
        ({"confirmed_by": (2, None)}, NOT_CONFIRMED),
        ({"confirmed_by": (2, 2)}, NOT_CONFIRMED),
        ({"confirmed_by": (1, 3)}, NOT_CONFIRMED),  # the proposer among the confirmers
        ({"task_status": "prepared"}, "the task is prepared, not approved"),
        ({"approved_by": None}, NOT_SECOND),
        ({"drafted_by": None}, NOT_SECOND),
        ({"approved_by": 4}, NOT_SECOND),  # approved by whoever wrote them
        ({"draft": "  \n"}, "there are no words to send"),
        ({"channel": "phone"}, "Maria chose a visit in person or an e-mail, not a phone call"),
        ({"attachments": 1}, "nothing is ever attached to a message to a family"),
    ],
)
def test_each_reason_a_message_may_not_leave_is_said_alone(
    change: dict[str, object], problem: str
) -> None:
    # The last check before words leave, whatever the use-cases and the database let by.
    assert delivery_problems(replace(READY, **change)) == [problem]  # type: ignore[arg-type]
