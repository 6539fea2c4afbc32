"""The rules of telling a family (core.notification), read alone: who may be told, and
everything that must hold before words leave."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

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
