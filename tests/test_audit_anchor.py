"""The audit chain's anchor beside the data: written after every change, never moving back,
and checked by ``audit verify`` so that a rolled-back or truncated database is reported."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import text

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.audit_anchor import verify_anchored
from opendvi.db.tables import Remains
from opendvi.infra.anchor import Anchor, AnchorFile, anchor_path
from opendvi.records.intake import save_record
from tests.factories import drop_audit_protection, tamper


def add_events(dvi: OpenDVI, count: int, *, first: int = 0) -> None:
    for number in range(first, first + count):
        with dvi.db.write() as session:
            save_record(session, Remains, actor="tester", ref=f"PM-{number}", fields={})


def head(dvi: OpenDVI) -> tuple[int, str]:
    with dvi.db.read() as session:
        row = session.get(audit.AuditHead, 1)
        assert row is not None
        return row.last_id, row.last_hash


def roll_back_to(dvi: OpenDVI, event: int) -> None:
    """What restoring an old copy of the database does to its audit log: the chain is
    whole, it just ends earlier."""
    drop_audit_protection(dvi)
    with dvi.db.engine.begin() as connection:
        connection.execute(text(f"DELETE FROM audit_events WHERE id > {event}"))
        connection.execute(
            text(
                f"UPDATE audit_head SET last_id = {event}, "
                f"last_hash = (SELECT hash FROM audit_events WHERE id = {event})"
            )
        )


def test_every_change_moves_the_anchor_beside_the_data_to_the_chain_head(dvi: OpenDVI) -> None:
    add_events(dvi, 3)
    path = anchor_path(dvi.settings.data_dir)
    written = json.loads(path.read_text())
    assert (written["event"], written["hash"]) == head(dvi) and written["event"] == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_anchor_never_moves_back(tmp_path: Path) -> None:
    anchor = AnchorFile(tmp_path / "audit_anchor")
    anchor.advance(Anchor(7, "a" * 64))
    anchor.advance(Anchor(5, "b" * 64))  # a slower process committing an older event
    assert anchor.read() == Anchor(7, "a" * 64)
    anchor.advance(Anchor(8, "c" * 64))
    assert anchor.read() == Anchor(8, "c" * 64)


def test_an_intact_chain_agrees_with_its_anchor(dvi: OpenDVI) -> None:
    add_events(dvi, 4)
    report = verify_anchored(dvi)
    assert report.ok and report.chain.checked == 4 and report.anchor == Anchor(*head(dvi))


def test_a_rolled_back_database_is_reported_against_its_anchor(dvi: OpenDVI) -> None:
    add_events(dvi, 5)
    anchored = head(dvi)
    roll_back_to(dvi, 3)
    assert audit.verify_chain(dvi).ok  # the chain alone cannot tell
    report = verify_anchored(dvi)
    assert not report.ok
    assert "rolled back or truncated" in report.problem
    assert f"event 5 with hash {anchored[1]}" in report.problem
    assert "the database ends at event 3" in report.problem


def test_a_rolled_back_database_written_again_does_not_move_the_anchor_and_is_reported(
    dvi: OpenDVI,
) -> None:
    add_events(dvi, 5)
    anchor = AnchorFile(anchor_path(dvi.settings.data_dir))
    before = anchor.read()
    roll_back_to(dvi, 3)
    add_events(dvi, 3, first=10)  # events 4, 5, 6 written anew over the old 4 and 5
    assert anchor.read() == before  # it never follows another chain
    report = verify_anchored(dvi)
    assert not report.ok
    assert "event 5" in report.problem and "not the one" in report.problem


def test_no_anchor_yet_is_said_and_is_no_failure(dvi: OpenDVI) -> None:
    add_events(dvi, 2)
    anchor_path(dvi.settings.data_dir).unlink()
    report = verify_anchored(dvi)
    assert report.ok and report.anchor is None and "no anchor" in report.note


def test_audit_verify_reports_a_rollback_and_exits_one(cli: Any, dvi: OpenDVI) -> None:
    add_events(dvi, 5)
    assert cli("audit", "verify").exit_code == 0
    roll_back_to(dvi, 2)
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "ROLLED BACK" in result.stderr and "the database ends at event 2" in result.stderr


def test_audit_verify_still_reports_a_broken_chain(cli: Any, dvi: OpenDVI) -> None:
    add_events(dvi, 4)
    tamper(dvi, "UPDATE audit_events SET actor = 'someone else' WHERE id = 2")
    result = cli("audit", "verify")
    assert result.exit_code == 1 and "AUDIT LOG BROKEN at event 2" in result.stderr
