"""Telling the family: tasks only for consenting contacts of a confirmed identification,
words approved by a second person, e-mail as plain text through a real SMTP server, visits
recorded with the checklist, photos only viewed on request, revocation and withdrawn consent
stopping what is pending."""

from __future__ import annotations

import datetime as dt
import email
import socket
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import Contact, MissingPerson, Notification, NotificationStep, Remains
from opendvi.errors import InputError, Refused
from opendvi.notify import (
    approve,
    close,
    plan,
    record_step,
    redraft,
    save_words,
    send,
    set_checklist,
    unreached,
)
from opendvi.notify.mail import Outbox, Smtp
from opendvi.records.intake import save_record
from opendvi.review import revoke_identification
from tests.factories import OLENA, PETRO, identified, not_entitled, users

NOT_ENTITLED = "Olena Kovalenko is not among those entitled to be told"


@pytest.fixture
def site(dvi: OpenDVI) -> dict[str, Any]:
    users(dvi)
    return identified(dvi)


def _tasks(dvi: OpenDVI) -> list[Notification]:
    with dvi.db.read() as session:
        return list(session.execute(select(Notification).order_by(Notification.id)).scalars())


def _ready(dvi: OpenDVI, task_id: int, channel: str = "email") -> None:
    """Words read and saved by one caseworker, the plan made, approved by another."""
    plan(dvi, task_id, channel=channel, assigned=["case1", "case3"], due_on=None, username="case1")
    task = _tasks(dvi)[0]
    save_words(dvi, task_id, subject=task.subject, text=task.draft, username="case1")
    approve(dvi, task_id, username="case2")


@pytest.fixture
def smtp_server() -> Iterator[dict[str, Any]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list[Any] = []

    class Keep(Message):  # type: ignore[misc]
        def handle_message(self, message: Any) -> None:
            received.append(message)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    yield {"port": port, "received": received}
    controller.stop()


def test_a_confirmed_identification_opens_a_task_only_for_the_contact_who_said_yes(
    dvi: OpenDVI, site: dict[str, Any]
) -> None:
    tasks = _tasks(dvi)
    assert len(tasks) == 1
    task = tasks[0]
    assert (task.status, task.channel, task.language) == ("prepared", "in_person", "uk")
    assert task.drafted_by_id is None and task.approved_by_id is None
    assert "Що сказати Olena Kovalenko" in task.draft  # words for a visit, in Ukrainian
    assert task.due_on == dt.date.today() + dt.timedelta(days=dvi.settings.notify_within_days)
    with dvi.db.read() as session:
        contact = session.get(Contact, task.contact_id)
        assert contact is not None and contact.name == "Olena Kovalenko"
        why = {
            u.contact: u.why
            for u in unreached(session, contact.missing_person_id, role="caseworker")
        }
        assert why["Petro Kovalenko"] == "Petro Kovalenko did not consent to be contacted"
        assert "not recorded" in why["Ivan Shevchuk"]
        actions = [e.action for e in audit.recent(session, limit=20)]
        assert "notification.opened" in actions and "notification.not_opened" in actions


def test_the_database_refuses_a_task_for_an_identification_not_confirmed(
    dvi: OpenDVI, site: dict[str, Any]
) -> None:
    task = _tasks(dvi)[0]
    revoke_identification(dvi, site["identification"], reason="wrong DNA sample", username="rev1")
    with pytest.raises((IntegrityError, DBAPIError)), dvi.db.write() as session:
        session.execute(
            text(
                "INSERT INTO notifications (identification_id, contact_id, status, channel, "
                "language, assigned, checklist, subject, draft, cancel_reason, note, created_at)"
                " VALUES (:i, :c, 'prepared', 'in_person', 'uk', '[]', '{}', '', '', '', '', "
                "CURRENT_TIMESTAMP)"
            ),
            {"i": site["identification"], "c": task.contact_id + 1},
        )
    with pytest.raises((IntegrityError, DBAPIError)), dvi.db.write() as session:
        session.execute(
            text(
                "UPDATE notifications SET status = 'approved', approved_by_id = 1, "
                "drafted_by_id = 2 WHERE id = :t"
            ),
            {"t": task.id},
        )


def test_the_database_refuses_approval_by_the_writer_or_without_one(
    dvi: OpenDVI, site: dict[str, Any]
) -> None:
    task = _tasks(dvi)[0]
    for drafted, approved in ((None, 1), (3, 3)):
        with pytest.raises(IntegrityError), dvi.db.write() as session:
            session.execute(
                text(
                    "UPDATE notifications SET drafted_by_id = :d, approved_by_id = :a WHERE id = :t"
                ),
                {"d": drafted, "a": approved, "t": task.id},
            )


def test_words_are_approved_by_a_second_person_and_changing_them_needs_approval_again(
    dvi: OpenDVI, site: dict[str, Any]
) -> None:
    task = _tasks(dvi)[0]
    with pytest.raises(Refused, match="nobody has read and saved"):
        approve(dvi, task.id, username="case2")
    save_words(dvi, task.id, subject="", text=task.draft, username="case1")
    with pytest.raises(Refused, match="you wrote these words"):
        approve(dvi, task.id, username="case1")
    with pytest.raises(Refused, match="name the two people"):
        approve(dvi, task.id, username="case2")
    with pytest.raises(InputError, match="chose a visit in person or an e-mail, not a phone"):
        plan(dvi, task.id, channel="phone", assigned=["case1"], due_on=None, username="case1")
    with pytest.raises(Refused, match="only a caseworker or an admin"):
        plan(
            dvi,
            task.id,
            channel="in_person",
            assigned=["case1", "rev2"],
            due_on=None,
            username="case1",
        )
    plan(
        dvi,
        task.id,
        channel="in_person",
        assigned=["case1", "case3"],
        due_on=None,
        username="case1",
    )
    with pytest.raises(Refused, match="only a caseworker or an admin"):
        approve(dvi, task.id, username="rev2")
    approve(dvi, task.id, username="case2")
    assert _tasks(dvi)[0].status == "approved"
    save_words(dvi, task.id, subject="", text=task.draft + "\n\nP.S.", username="case3")
    again = _tasks(dvi)[0]
    assert again.status == "prepared" and again.approved_by_id is None


def test_an_approved_email_reaches_the_smtp_server_as_plain_text_without_attachment(
    dvi: OpenDVI, site: dict[str, Any], smtp_server: dict[str, Any]
) -> None:
    dvi.settings.mail_from = "team@dvi.example.org"
    task = _tasks(dvi)[0]
    plan(dvi, task.id, channel="email", assigned=["case1", "case3"], due_on=None, username="case1")
    redraft(dvi, task.id, language="uk", username="case1")
    fresh = _tasks(dvi)[0]
    assert fresh.subject == "Щодо Andrii Kovalenko" and "особисто" in fresh.draft
    transport = Smtp("127.0.0.1", smtp_server["port"])
    with pytest.raises(Refused, match=r"not sent: .*not approved"):
        send(dvi, task.id, username="case1", transport=transport)
    save_words(dvi, task.id, subject=fresh.subject, text=fresh.draft, username="case1")
    approve(dvi, task.id, username="case2")
    send(dvi, task.id, username="case3", transport=transport)
    assert len(smtp_server["received"]) == 1
    message = email.message_from_bytes(smtp_server["received"][0].as_bytes(), policy=policy.default)
    assert message["To"] == "olena@example.org" and message["Content-Language"] == "uk"
    assert not message.is_multipart() and message.get_content_type() == "text/plain"
    assert list(message.iter_attachments()) == []
    assert "особисто" in message.get_content()
    done = _tasks(dvi)[0]
    assert done.status == "carried_out"
    with pytest.raises(Refused, match="not sent"):  # never twice
        send(dvi, task.id, username="case3", transport=transport)
    with dvi.db.read() as session:
        assert audit.verify(session).ok


def test_the_outbox_keeps_the_message_for_a_site_without_network(
    dvi: OpenDVI, site: dict[str, Any], tmp_path: Path
) -> None:
    dvi.settings.mail_from = "team@dvi.example.org"
    task = _tasks(dvi)[0]
    _ready(dvi, task.id, "email")
    where = send(dvi, task.id, username="case1", transport=Outbox(tmp_path / "outbox")).where
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1 and str(files[0]) in where
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert not message.is_multipart() and message["To"] == "olena@example.org"
    with dvi.db.read() as session:
        step = session.execute(select(NotificationStep)).scalar_one()
        assert (step.kind, step.outcome) == ("outbox", "sent")


def test_a_picture_link_never_goes_into_a_message(
    dvi: OpenDVI, site: dict[str, Any], tmp_path: Path
) -> None:
    dvi.settings.mail_from = "team@dvi.example.org"
    task = _tasks(dvi)[0]
    plan(dvi, task.id, channel="email", assigned=["case1", "case3"], due_on=None, username="case1")
    save_words(dvi, task.id, subject="x", text="See https://dvi/photos/12.jpg", username="case1")
    approve(dvi, task.id, username="case2")
    with pytest.raises(Refused, match="pictures are never sent"):
        send(dvi, task.id, username="case1", transport=Outbox(tmp_path))
    assert not list(tmp_path.glob("*.eml")) and _tasks(dvi)[0].status == "approved"


def test_a_visit_after_the_checklist_then_acknowledgement_photos_on_request_and_closing(
    dvi: OpenDVI, site: dict[str, Any]
) -> None:
    task = _tasks(dvi)[0]
    with pytest.raises(Refused, match="not approved"):
        record_step(dvi, task.id, kind="visit", outcome="told", username="case1")
    _ready(dvi, task.id, "in_person")
    with pytest.raises(Refused, match="identity is checked"):
        record_step(dvi, task.id, kind="visit", outcome="told", username="case1")
    set_checklist(dvi, task.id, items={"identity": True, "relationship": True}, username="case1")
    with pytest.raises(Refused, match="after they have been told"):
        record_step(dvi, task.id, kind="photo_request", username="case1")
    record_step(dvi, task.id, kind="visit", outcome="not_reached", username="case1")
    assert _tasks(dvi)[0].status == "approved"
    record_step(dvi, task.id, kind="visit", outcome="told", note="with her son", username="case3")
    assert _tasks(dvi)[0].status == "carried_out"
    with pytest.raises(Refused, match="only when the family has asked"):
        record_step(dvi, task.id, kind="photo_viewed", username="case1")
    record_step(dvi, task.id, kind="photo_request", note="wants to see the face", username="case1")
    record_step(dvi, task.id, kind="photo_viewed", username="case1")
    record_step(dvi, task.id, kind="acknowledged", username="case1")
    with pytest.raises(InputError, match="note"):
        record_step(dvi, task.id, kind="referral", username="case1")
    record_step(dvi, task.id, kind="referral", note="psychosocial support", username="case1")
    close(dvi, task.id, note="remains returned", username="case1")
    assert _tasks(dvi)[0].status == "closed"
    with dvi.db.read() as session:
        kinds = [s.kind for s in session.execute(select(NotificationStep)).scalars()]
        assert kinds == [
            "visit",
            "visit",
            "photo_request",
            "photo_viewed",
            "acknowledged",
            "referral",
        ]
        assert audit.verify(session).ok


def test_revocation_cancels_what_is_pending_and_alerts_who_told_the_family(
    dvi: OpenDVI,
) -> None:
    users(dvi)
    first = identified(dvi, 1)
    second = identified(dvi, 2)
    told, pending = _tasks(dvi)
    _ready(dvi, told.id, "in_person")
    set_checklist(dvi, told.id, items={"identity": True, "relationship": True}, username="case1")
    record_step(dvi, told.id, kind="visit", outcome="told", username="case3")
    for number in (first["identification"], second["identification"]):
        revoke_identification(dvi, number, reason="DNA sample mix-up", username="rev1")
    after = {t.id: t for t in _tasks(dvi)}
    assert after[pending.id].status == "cancelled"
    assert "DNA sample mix-up" in after[pending.id].cancel_reason
    assert after[told.id].status == "carried_out"
    with dvi.db.read() as session:
        alerted = (
            session.execute(
                select(NotificationStep.user_id).where(NotificationStep.kind == "alert")
            )
            .scalars()
            .all()
        )
        from opendvi.db.tables import User

        names = set(session.execute(select(User.username).where(User.id.in_(alerted))).scalars())
    assert names == {"case1", "case2", "case3"}
    with pytest.raises(Refused, match="cancelled"):
        record_step(dvi, pending.id, kind="note", note="x", username="case1")


def test_withdrawn_consent_cancels_the_contacts_pending_task(
    dvi: OpenDVI, site: dict[str, Any]
) -> None:
    from dataclasses import replace

    task = _tasks(dvi)[0]
    with dvi.db.write() as session:
        save_record(
            session,
            MissingPerson,
            actor="case1",
            ref="AM-0",
            fields={},
            contacts=[replace(OLENA, consent_contact=False), PETRO],
        )
    after = _tasks(dvi)[0]
    assert after.id == task.id and after.status == "cancelled"
    assert "withdrew consent" in after.cancel_reason
    with pytest.raises(Refused):
        approve(dvi, task.id, username="case2")


def test_a_contact_not_entitled_to_be_told_gets_no_task_though_they_said_yes(
    dvi: OpenDVI,
) -> None:
    from opendvi.review import confirm_identification, propose_identification

    users(dvi)
    with dvi.db.write() as session:
        save_record(session, MissingPerson, actor="test", ref="AM-0", fields={}, contacts=[OLENA])
        save_record(session, Remains, actor="test", ref="PM-0", fields={})
    not_entitled(dvi, OLENA.name)
    number = propose_identification(
        dvi, ("PM-0", "AM-0"), primary=["dna"], secondary=[], note="", username="rev1"
    ).number
    confirm_identification(dvi, number, checked="DNA report read", username="rev2")
    assert (
        confirm_identification(dvi, number, checked="DNA report read", username="rev3").status
        == "confirmed"
    )
    assert _tasks(dvi) == []
    with dvi.db.read() as session:
        report = session.execute(select(MissingPerson).where(MissingPerson.ref == "AM-0"))
        why = {
            u.contact: u.why for u in unreached(session, report.scalar_one().id, role="caseworker")
        }
        not_opened = [e for e in audit.recent(session) if e.action == "notification.not_opened"]
    assert why == {OLENA.name: NOT_ENTITLED}
    assert len(not_opened) == 1 and NOT_ENTITLED in str(not_opened[0].details)


def test_nothing_reaches_a_contact_who_is_no_longer_entitled_to_be_told(
    dvi: OpenDVI, site: dict[str, Any]
) -> None:
    task = _tasks(dvi)[0]
    _ready(dvi, task.id)
    set_checklist(dvi, task.id, items={"identity": True, "relationship": True}, username="case1")
    not_entitled(dvi, OLENA.name)
    outbox = Outbox(dvi.settings.resolved_outbox_dir())
    dvi.settings.mail_from = "team@dvi.example.org"
    with pytest.raises(Refused, match=NOT_ENTITLED):
        send(dvi, task.id, username="case1", transport=outbox)
    with pytest.raises(Refused, match=NOT_ENTITLED):
        record_step(dvi, task.id, kind="visit", outcome="told", username="case1")
    assert _tasks(dvi)[0].status == "approved"
    assert list(dvi.settings.resolved_outbox_dir().glob("*.eml")) == []
