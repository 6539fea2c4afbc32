"""Rows saved in batches: one row that fails inside a batch fails alone, and the audit chain
holds whatever the batch size."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import AuditEvent, AuditHead, Job, MissingPerson
from opendvi.interchange.csv_import import import_csv
from tests.factories import write_csv, write_photo


def reports(folder: Path, shared: str) -> Path:
    rows = []
    for number in range(5):
        write_photo(folder / f"p{number}.jpg", seed=100 + number)
        photo = shared if number == 2 else f"p{number}.jpg"
        rows.append({"ref": f"AM-{number}", "photos": photo, "full_name": f"Person {number}"})
    return write_csv(folder / "reports.csv", rows)


@pytest.mark.parametrize("batch", [1, 2, 200])
def test_a_row_refused_by_the_save_fails_alone_and_the_rest_of_its_batch_is_kept(
    dvi: OpenDVI, tmp_path: Path, operator: str, batch: int
) -> None:
    write_photo(tmp_path / "body.jpg", seed=1)
    remains = write_csv(tmp_path / "remains.csv", [{"ref": "PM-1", "photos": "body.jpg"}])
    assert import_csv(dvi, remains, kind="unidentified", actor=operator).ok
    path = reports(tmp_path, "body.jpg")  # row AM-2 lists the body's photo: refused

    report = import_csv(dvi, path, kind="missing", actor=operator, batch=batch)

    assert (report.created, report.failed) == (4, 1)
    [problem] = report.problems
    assert (problem.line, problem.field, problem.ref) == (4, "photos", "AM-2")
    with dvi.db.read() as session:
        refs = session.execute(select(MissingPerson.ref)).scalars().all()
        assert sorted(refs) == ["AM-0", "AM-1", "AM-3", "AM-4"]
        created = select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "missing_person.created"
        )
        assert session.execute(created).scalar_one() == 4
        assert audit.verify(session).ok
    again = import_csv(dvi, path, kind="missing", actor=operator, batch=batch)
    assert (again.created, again.unchanged, again.failed) == (0, 4, 1)


def rows_without_photos(folder: Path, count: int, *, bad: int | None = None) -> Path:
    """``count`` reports with no photos; row ``bad`` (from 0) given a birth year that cannot be."""
    rows = []
    for number in range(count):
        row = {"ref": f"AM-{number:03d}", "photos": "", "full_name": f"Person {number}"}
        row["birth_year"] = "19x0" if number == bad else str(1950 + number % 40)
        rows.append(row)
    return write_csv(folder / "reports.csv", rows)


def stored(dvi: OpenDVI) -> tuple[list[str], list[str], list[str]]:
    """The refs stored, the refs their audit events name, the subjects of queued jobs."""
    with dvi.db.read() as session:
        refs = sorted(session.execute(select(MissingPerson.ref)).scalars())
        events = session.execute(
            select(AuditEvent.entity_ref)
            .where(AuditEvent.action.like("missing_person.%"))
            .order_by(AuditEvent.id)
        )
        jobs = session.execute(select(Job.subject).where(Job.status == "queued").order_by(Job.id))
        return refs, list(events.scalars()), list(jobs.scalars())


def test_a_batch_without_photos_stores_each_record_with_its_event_and_job_in_row_order(
    dvi: OpenDVI, tmp_path: Path, operator: str
) -> None:
    path = rows_without_photos(tmp_path, 25)

    report = import_csv(dvi, path, kind="missing", actor=operator, batch=10)

    assert (report.created, report.failed) == (25, 0)
    refs, events, jobs = stored(dvi)
    assert refs == [f"AM-{n:03d}" for n in range(25)]
    assert events == refs  # one event each, chained in the rows' order
    with dvi.db.read() as session:
        pairs = session.execute(select(MissingPerson.ref, MissingPerson.id)).all()
        ids = {ref: number for ref, number in pairs}
        assert audit.verify(session).ok
        assert session.get(AuditHead, 1).last_id == audit.count(session)
    assert jobs == [f"missing:{ids[ref]}" for ref in refs]


def test_a_bad_row_in_the_middle_of_a_batch_fails_alone_with_its_line_and_field(
    dvi: OpenDVI, tmp_path: Path, operator: str
) -> None:
    write_photo(tmp_path / "body.jpg", seed=1)
    remains = write_csv(tmp_path / "remains.csv", [{"ref": "PM-1", "photos": "body.jpg"}])
    assert import_csv(dvi, remains, kind="unidentified", actor=operator).ok
    rows = [{"ref": f"AM-{n}", "photos": "", "full_name": f"P {n}"} for n in range(9)]
    rows[4]["photos"] = "body.jpg"  # refused by the save: the photo is the remains'
    path = write_csv(tmp_path / "reports.csv", rows)

    report = import_csv(dvi, path, kind="missing", actor=operator, batch=9)

    assert (report.created, report.failed) == (8, 1)
    [problem] = report.problems
    assert (problem.line, problem.field, problem.ref) == (6, "photos", "AM-4")
    refs, events, jobs = stored(dvi)
    assert refs == sorted(f"AM-{n}" for n in range(9) if n != 4)
    assert events == [f"AM-{n}" for n in range(9) if n != 4]
    assert len(jobs) == 8 + 1  # the remains' job and one per report stored
    with dvi.db.read() as session:
        assert audit.verify(session).ok


def test_a_batched_import_again_changes_nothing_and_a_changed_row_updates_alone(
    dvi: OpenDVI, tmp_path: Path, operator: str
) -> None:
    path = rows_without_photos(tmp_path, 12)
    assert import_csv(dvi, path, kind="missing", actor=operator, batch=5).created == 12
    _, events_before, jobs_before = stored(dvi)

    again = import_csv(dvi, path, kind="missing", actor=operator, batch=5)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 12)
    assert stored(dvi)[1:] == (events_before, jobs_before)
    text = path.read_text().replace("Person 7", "Person Seven")
    path.write_text(text)
    changed = import_csv(dvi, path, kind="missing", actor=operator, batch=5)
    assert (changed.updated, changed.unchanged) == (1, 11)
    _, events, jobs = stored(dvi)
    assert events == [*events_before, "AM-007"]
    assert jobs == jobs_before  # its job was still waiting: not queued twice
    with dvi.db.read() as session:
        assert audit.verify(session).ok


def test_the_head_held_for_a_batch_takes_back_the_events_of_a_savepoint_rolled_back(
    dvi: OpenDVI,
) -> None:
    with dvi.db.write() as session:
        audit.hold_head(session)
        audit.record(session, actor="test", action="user.created", about=("user", 1))
        with pytest.raises(RuntimeError), session.begin_nested():
            audit.record(session, actor="test", action="user.created", about=("user", 2))
            raise RuntimeError("the row is refused")
        audit.record(session, actor="test", action="user.created", about=("user", 3))
        assert session.info[audit.HEAD_KEY][0] == audit.count(session) + 2  # not yet written
    with dvi.db.read() as session:
        written = session.execute(select(AuditEvent.entity_id).order_by(AuditEvent.id))
        assert list(written.scalars())[-2:] == [1, 3]
        assert audit.verify(session).ok


def test_holding_the_head_inside_a_savepoint_is_refused(dvi: OpenDVI) -> None:
    with dvi.db.write() as session:
        session.begin_nested()
        with pytest.raises(RuntimeError, match="savepoint"):
            audit.hold_head(session)
