"""Rows saved in batches: one row that fails inside a batch fails alone, and the audit chain
holds whatever the batch size."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import AuditEvent, MissingPerson
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
