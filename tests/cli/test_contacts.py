"""The reporting contact at the command line: ``opendvi notify show`` masks the e-mail and
phone for the auditor (and for a person who does not say who they are), and ``opendvi
notify reveal`` shows one contact in full for a recorded reason, audited."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import select

from opendvi.app import OpenDVI
from opendvi.db.tables import AuditEvent, Notification
from opendvi.errors import InputError
from tests.factories import OLENA, identified, users

EMAIL, PHONE = "olena@example.org", "+380440000000"
WHY = "checking that the e-mail went to the address the mother gave"


@pytest.fixture
def task(dvi: OpenDVI) -> str:
    """Olena's task (tests/factories.py), her details shared with the team."""
    users(dvi)
    identified(dvi)
    with dvi.db.read() as session:
        return str(session.execute(select(Notification.id)).scalar_one())


def test_notify_show_masks_the_contact_for_the_auditor(cli: Any, cli_as: Any, task: str) -> None:
    shown = cli_as("auditor", "notify", "show", task)
    assert shown.exit_code == 0, shown.output
    assert EMAIL not in shown.stdout and PHONE not in shown.stdout
    assert "o…@…" in shown.stdout and "+38 … 00" in shown.stdout


def test_notify_show_masks_the_contact_for_whoever_does_not_say_who_they_are(
    cli: Any, task: str
) -> None:
    shown = cli("notify", "show", task)
    assert shown.exit_code == 0, shown.output
    assert EMAIL not in shown.stdout and "o…@…" in shown.stdout


def test_notify_show_gives_a_caseworker_the_contact_in_full(
    cli: Any, cli_as: Any, task: str
) -> None:
    shown = cli_as("case1", "notify", "show", task)
    assert EMAIL in shown.stdout and PHONE in shown.stdout


def test_notify_reveal_shows_the_contact_for_a_reason_and_audits_it(
    cli: Any, cli_as: Any, dvi: OpenDVI, task: str
) -> None:
    shown = cli_as("auditor", "notify", "reveal", task, "--why", WHY)
    assert shown.exit_code == 0, shown.output
    assert EMAIL in shown.stdout and PHONE in shown.stdout
    with dvi.db.read() as session:
        [event] = session.execute(
            select(AuditEvent).where(AuditEvent.action == "contact.revealed")
        ).scalars()
    assert event.actor == "auditor" and event.details["why"] == WHY


def test_notify_reveal_without_a_reason_says_one_is_needed(
    cli: Any, cli_as: Any, dvi: OpenDVI, task: str
) -> None:
    with pytest.raises(InputError, match="why: give the reason"):
        cli_as("auditor", "notify", "reveal", task, "--why", " ")
    with dvi.db.read() as session:
        assert (
            session.execute(
                select(AuditEvent).where(AuditEvent.action == "contact.revealed")
            ).first()
            is None
        )


@pytest.mark.parametrize("scope", ["none", "team", "partners"])
def test_notify_show_and_list_give_the_auditor_what_the_sharing_scope_lets_through(
    cli: Any, cli_as: Any, dvi: OpenDVI, scope: str
) -> None:
    users(dvi)
    identified(dvi, contacts=(dataclasses.replace(OLENA, sharing_scope=scope),))
    with dvi.db.read() as session:
        task = str(session.execute(select(Notification.id)).scalar_one())
    shown = cli_as("auditor", "notify", "show", task).stdout
    listed = cli_as("auditor", "notify", "list").stdout
    assert EMAIL not in shown + listed
    assert ("Olena Kovalenko" in shown + listed) is (scope != "none")
    assert ("withheld: the reporter chose not to share" in shown) is (scope == "none")
    assert "Olena Kovalenko" in cli_as("case1", "notify", "show", task).stdout
