"""The audit log: one event per change, hash-chained, append-only, and verified."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import Remains
from opendvi.records.intake import save_record
from tests.factories import drop_audit_protection, tamper


def add_events(dvi: OpenDVI, count: int) -> None:
    for number in range(count):
        with dvi.db.write() as session:
            save_record(
                session, Remains, actor="tester", ref=f"PM-{number}", fields={"found_place": "x"}
            )


def check(dvi: OpenDVI) -> audit.ChainReport:
    with dvi.db.read() as session:
        return audit.verify(session)


def test_an_untouched_chain_verifies(dvi: OpenDVI) -> None:
    add_events(dvi, 5)
    report = check(dvi)
    assert report.ok and report.checked == 5


def test_an_empty_chain_verifies(dvi: OpenDVI) -> None:
    assert check(dvi).ok


def test_the_database_refuses_to_change_or_delete_an_event(dvi: OpenDVI) -> None:
    add_events(dvi, 1)
    for sql in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), dvi.db.engine.begin() as connection:
            connection.execute(text(sql))
    assert check(dvi).ok


def test_a_changed_event_is_named_as_the_first_broken_link(dvi: OpenDVI) -> None:
    add_events(dvi, 6)
    tamper(dvi, "UPDATE audit_events SET actor = 'someone else' WHERE id = 4")
    report = check(dvi)
    assert not report.ok
    assert report.broken_id == 4 and report.checked == 3
    assert "event 4" in report.reason and "changed after it was written" in report.reason


@pytest.mark.parametrize(
    "change",
    [
        "at = '2001-01-01 00:00:00'",
        "actor = 'someone else'",
        "action = 'record.deleted'",
        "entity_type = 'missing_person'",
        "entity_id = 99",
        "entity_ref = 'PM-99'",
        "before_digest = '" + "0" * 64 + "'",
        "after_digest = '" + "0" * 64 + "'",
        """details = '{"changed": ["found_place"], "by": "someone else"}'""",
    ],
)
def test_every_field_of_an_event_is_covered_by_its_hash(dvi: OpenDVI, change: str) -> None:
    add_events(dvi, 2)
    with dvi.db.write() as session:  # event 3: a change, with its state before and after
        save_record(session, Remains, actor="tester", ref="PM-1", fields={"found_place": "y"})
    add_events(dvi, 1)
    with dvi.db.read() as session:
        event = session.get(audit.AuditEvent, 3)
        assert event is not None and event.before_digest and event.after_digest
        assert event.details
    tamper(dvi, f"UPDATE audit_events SET {change} WHERE id = 3")
    report = check(dvi)
    assert report.broken_id == 3 and "changed after it was written" in report.reason


def test_a_removed_event_in_the_middle_is_found(dvi: OpenDVI) -> None:
    add_events(dvi, 5)
    tamper(dvi, "DELETE FROM audit_events WHERE id = 2")
    report = check(dvi)
    assert report.broken_id == 2 and report.checked == 1 and "missing" in report.reason


def test_a_removed_last_event_is_found_from_the_chain_head(dvi: OpenDVI) -> None:
    add_events(dvi, 3)
    tamper(dvi, "DELETE FROM audit_events WHERE id = 3")
    report = check(dvi)
    assert report.broken_id == 3 and "removed" in report.reason


def test_a_rewritten_event_with_a_recomputed_hash_breaks_the_next_link(dvi: OpenDVI) -> None:
    add_events(dvi, 4)
    drop_audit_protection(dvi)
    with dvi.db.write() as session:
        event = session.get(audit.AuditEvent, 2)
        assert event is not None
        event.actor = "forger"
        event.hash = audit.link_hash(event)
    report = check(dvi)
    assert report.broken_id == 3 and "does not follow" in report.reason


def test_a_rewritten_last_event_with_a_recomputed_hash_is_found_from_the_chain_head(
    dvi: OpenDVI,
) -> None:
    add_events(dvi, 4)
    drop_audit_protection(dvi)
    with dvi.db.write() as session:
        event = session.get(audit.AuditEvent, 4)
        assert event is not None
        event.actor = "forger"
        event.hash = audit.link_hash(event)  # no event follows it to break
    report = check(dvi)
    assert not report.ok and (report.broken_id, report.checked) == (4, 3)
    assert report.reason == (
        "event 4, the last, does not match the chain's head (table audit_head): the event "
        "or the head was changed after it was written"
    )


def test_a_rolled_back_change_leaves_no_event(dvi: OpenDVI) -> None:
    with pytest.raises(RuntimeError), dvi.db.write() as session:
        save_record(session, Remains, actor="tester", ref="PM-X", fields={})
        raise RuntimeError("power cut")
    with dvi.db.read() as session:
        assert audit.count(session) == 0
    add_events(dvi, 1)
    assert check(dvi).ok


def test_events_added_past_the_chain_head_are_named(dvi: OpenDVI) -> None:
    add_events(dvi, 3)
    with dvi.db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_head SET last_id = 2"))
    report = check(dvi)
    assert report.broken_id == 3 and "without the chain's head" in report.reason
