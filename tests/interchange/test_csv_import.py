"""Importing CSV files: idempotent, row by row, with bad rows named and good rows kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import AuditEvent, MissingPerson, Photo, Remains
from opendvi.errors import InputError
from opendvi.interchange.csv_import import import_csv, import_folder
from tests.factories import write_csv, write_photo


def count(dvi: OpenDVI, model: type) -> int:
    with dvi.db.read() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def knn_missing_csv(small_knn: Path, tmp_path: Path) -> Path:
    """A CSV beside a copy of small-knn/train, one report per person, photos relative."""
    folder = tmp_path / "reports"
    shutil.copytree(small_knn / "train", folder / "photos")
    rows = []
    for number, person in enumerate(sorted((folder / "photos").iterdir()), start=1):
        photos = "|".join(f"photos/{person.name}/{p.name}" for p in sorted(person.iterdir()))
        rows.append(
            {
                "ref": f"AM-{number:03d}",
                "photos": photos,
                "full_name": person.name.replace("_", " ").title(),
                "sex": "U",
                "birth_year": str(1960 + number),
                "contact_name": f"Contact {number}",
                "contact_relationship": "sister",
                "contact_language": "en",
                "consent_contact": "yes",
            }
        )
    return write_csv(folder / "missing.csv", rows)


def test_a_small_knn_style_folder_imports_and_a_second_run_is_a_no_op(
    dvi: OpenDVI, small_knn: Path, tmp_path: Path
) -> None:
    path = knn_missing_csv(small_knn, tmp_path)
    first = import_csv(dvi, path, kind="missing", actor="t")
    assert first.ok and (first.created, first.failed) == (5, 0)
    photos_before, events_before = count(dvi, Photo), count(dvi, AuditEvent)
    assert photos_before == sum(1 for _ in (small_knn / "train").rglob("*.jp*g"))
    second = import_csv(dvi, path, kind="missing", actor="t")
    assert (second.created, second.updated, second.unchanged) == (0, 0, 5)
    assert (count(dvi, Photo), count(dvi, AuditEvent)) == (photos_before, events_before)


def test_a_changed_row_updates_its_record(dvi: OpenDVI, tmp_path: Path) -> None:
    write_photo(tmp_path / "a.jpg")
    path = write_csv(tmp_path / "m.csv", [{"ref": "AM-1", "photos": "a.jpg", "height_cm": "170"}])
    import_csv(dvi, path, kind="missing", actor="t")
    write_csv(path, [{"ref": "AM-1", "photos": "a.jpg", "height_cm": "172"}])
    report = import_csv(dvi, path, kind="missing", actor="t")
    assert (report.updated, report.created) == (1, 0)
    with dvi.db.read() as session:
        record = session.execute(select(MissingPerson)).scalar_one()
        assert (record.height_min_cm, record.height_max_cm) == (172, 172)
        last = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
        assert last is not None and last.details["source"] == "m.csv:2"


def test_a_corrupt_image_and_a_missing_file_fail_their_rows_only(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    write_photo(tmp_path / "good.jpg", seed=1)
    (tmp_path / "corrupt.jpg").write_bytes(write_photo(tmp_path / "x.jpg").read_bytes()[:300])
    path = write_csv(
        tmp_path / "pm.csv",
        [
            {"ref": "PM-1", "photos": "good.jpg", "sex": "M"},
            {"ref": "PM-2", "photos": "corrupt.jpg", "sex": "M"},
            {"ref": "PM-3", "photos": "gone.jpg", "sex": "F"},
            {"ref": "PM-4", "photos": "", "sex": "F"},
        ],
    )
    report = import_csv(dvi, path, kind="unidentified", actor="t")
    assert (report.created, report.failed) == (2, 2)
    lines = [str(p) for p in report.problems]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert lines[0].startswith(f"{path}:3 (ref PM-2): photos:") and "corrupt.jpg" in lines[0]
    assert "damaged or cut short" in lines[0]
    assert lines[1].startswith(f"{path}:4 (ref PM-3): photos:") and "no such file" in lines[1]
    with dvi.db.read() as session:
        refs = session.execute(select(Remains.ref).order_by(Remains.ref)).scalars().all()
    assert refs == ["PM-1", "PM-4"]


def test_bad_values_name_line_field_and_fix(dvi: OpenDVI, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "pm.csv",
        [
            {"ref": "PM-1", "photos": "", "found_date": "31/12/2025", "age_min": "18"},
            {"ref": "PM-1", "photos": "", "found_date": "2025", "age_min": "x"},
        ],
    )
    report = import_csv(dvi, path, kind="unidentified", actor="t")
    lines = [str(p) for p in report.problems]
    assert any(
        ":2 (ref PM-1): found_date: '31/12/2025' is not a date; write YYYY-MM-DD" in line
        for line in lines
    )
    assert any(":3 (ref PM-1): ref: 'PM-1' is already on line 2" in line for line in lines)
    assert any(":3 (ref PM-1): age_min: 'x' is not a number" in line for line in lines)
    assert count(dvi, Remains) == 0


def test_an_unknown_column_is_reported_and_the_rows_still_import(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "m.csv", [{"ref": "AM-1", "photos": "", "full_nme": "Ana"}])
    report = import_csv(dvi, path, kind="missing", actor="t")
    assert report.created == 1 and not report.ok
    assert str(report.problems[0]).startswith(f"{path}:1: full_nme: unknown column 'full_nme'")


def test_a_missing_required_column_stops_the_file_before_any_row(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "m.csv", [{"ref": "AM-1", "full_name": "Ana"}])
    with pytest.raises(InputError, match=r"m\.csv:1: the required column 'photos' is missing"):
        import_csv(dvi, path, kind="missing", actor="t")
    assert count(dvi, MissingPerson) == 0


def test_semicolon_separated_files_from_spreadsheets_are_read(dvi: OpenDVI, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "m.csv",
        [{"ref": "AM-1", "photos": "", "last_seen_place": "Calle 5, Oaxaca"}],
        delimiter=";",
    )
    report = import_csv(dvi, path, kind="missing", actor="t")
    assert report.ok and report.created == 1


def test_photo_dates_are_kept_per_photo(dvi: OpenDVI, tmp_path: Path) -> None:
    write_photo(tmp_path / "a.jpg", seed=1)
    write_photo(tmp_path / "b.jpg", seed=2)
    path = write_csv(
        tmp_path / "m.csv", [{"ref": "AM-1", "photos": "a.jpg|b.jpg", "photo_dates": "2019|"}]
    )
    assert import_csv(dvi, path, kind="missing", actor="t").ok
    with dvi.db.read() as session:
        photos = session.execute(select(Photo).order_by(Photo.position)).scalars().all()
        assert [str(p.taken_earliest) for p in photos] == ["2019-01-01", "None"]


def test_a_folder_imports_one_record_per_sub_folder_or_loose_photo(
    dvi: OpenDVI, small_knn: Path
) -> None:
    report = import_folder(dvi, small_knn / "test", kind="unidentified", actor="t")
    assert report.ok and report.created == len(list((small_knn / "test").glob("*.jpg")))
    report = import_folder(dvi, small_knn / "train", kind="missing", actor="t")
    assert report.ok and report.created == 5
    with dvi.db.read() as session:
        obama = session.execute(
            select(MissingPerson).where(MissingPerson.ref == "obama")
        ).scalar_one()
        assert len(obama.photos) == len(list((small_knn / "train" / "obama").iterdir()))
        assert audit.verify(session).ok


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("height_min_cm", "inf", "not a number"),
        ("age_min", "1e999", "not a number"),
        ("found_date", "0000", "not a year"),
        ("photo_dates", "0000-01", "not a year and month"),
    ],
)
def test_odd_values_fail_their_row_with_a_message_not_the_import(
    dvi: OpenDVI, tmp_path: Path, column: str, value: str, words: str
) -> None:
    write_photo(tmp_path / "a.jpg")
    path = write_csv(
        tmp_path / "pm.csv",
        [{"ref": "PM-1", "photos": "a.jpg", column: value}, {"ref": "PM-2", "photos": "a.jpg"}],
    )
    report = import_csv(dvi, path, kind="unidentified", actor="t")
    assert report.created == 1 and report.failed == 1
    assert words in report.problems[0].message and report.problems[0].field == column


def test_a_height_of_only_a_dash_is_a_row_problem(dvi: OpenDVI, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [{"ref": "AM-1", "photos": "", "height_cm": "-"}])
    report = import_csv(dvi, path, kind="missing", actor="t")
    assert report.failed == 1 and report.problems[0].field == "height_cm"


def test_empty_columns_a_spreadsheet_adds_at_the_right_are_ignored(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    path = tmp_path / "m.csv"
    path.write_text("ref,photos,full_name,,\nAM-1,,Ana,,\nAM-2,,Rui,,\n")
    report = import_csv(dvi, path, kind="missing", actor="t")
    assert report.ok and report.created == 2


def test_a_line_separator_inside_a_field_does_not_split_the_record(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    path = tmp_path / "m.csv"
    path.write_text("ref,photos,description\nAM-1,,tall\u2028thin\nAM-2,,short\n")
    report = import_csv(dvi, path, kind="missing", actor="t")
    assert report.ok and report.created == 2
    with dvi.db.read() as session:
        first = session.execute(
            select(MissingPerson).where(MissingPerson.ref == "AM-1")
        ).scalar_one()
        assert first.description == "tall\u2028thin"


def test_reordering_photos_is_an_audited_update(dvi: OpenDVI, tmp_path: Path) -> None:
    write_photo(tmp_path / "a.jpg", seed=1)
    write_photo(tmp_path / "b.jpg", seed=2)
    path = write_csv(tmp_path / "m.csv", [{"ref": "AM-1", "photos": "a.jpg|b.jpg"}])
    import_csv(dvi, path, kind="missing", actor="t")
    write_csv(path, [{"ref": "AM-1", "photos": "b.jpg|a.jpg"}])
    assert import_csv(dvi, path, kind="missing", actor="t").updated == 1
    assert import_csv(dvi, path, kind="missing", actor="t").unchanged == 1


def test_hidden_files_in_a_folder_are_skipped(dvi: OpenDVI, tmp_path: Path) -> None:
    write_photo(tmp_path / "people" / "ana" / "1.jpg")
    (tmp_path / "people" / "ana" / "._1.jpg").write_bytes(b"\x00\x05\x16\x07 mac metadata")
    report = import_folder(dvi, tmp_path / "people", kind="missing", actor="t")
    assert report.ok and report.created == 1
