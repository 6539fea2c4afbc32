"""Several values in one CSV cell are separated by ``|`` in every column (photos,
photo_dates, marks, effects, contact_channels); files written with the old separators
(``;`` for marks and effects; spaces, commas or ``;`` for channels) still read the same; a
wrong value names its row, its column and the separator; an export writes ``|`` and reads
back unchanged (issue 14, item 16)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from opendvi.app import OpenDVI
from opendvi.db.tables import MissingPerson, Remains
from opendvi.interchange.csv_import import import_csv
from opendvi.interchange.export import export_records
from tests.factories import write_csv, write_photo


def _report(dvi: OpenDVI, ref: str) -> tuple[list[tuple[str, str]], list[str], str]:
    with dvi.db.read() as session:
        record = session.execute(
            select(MissingPerson)
            .options(
                selectinload(MissingPerson.marks),
                selectinload(MissingPerson.effects),
                selectinload(MissingPerson.contacts),
            )
            .where(MissingPerson.ref == ref)
        ).scalar_one()
        return (
            [(m.body_location, m.description) for m in record.marks],
            [e.description for e in record.effects],
            record.contacts[0].consent_channels if record.contacts else "",
        )


CONTACT = {"contact_name": "Olena Kovalenko", "consent_contact": "yes"}


def test_the_bar_separates_values_in_every_multi_valued_column(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    write_photo(tmp_path / "a.jpg", seed=1)
    write_photo(tmp_path / "b.jpg", seed=2)
    path = write_csv(
        tmp_path / "am.csv",
        [
            {
                "ref": "AM-1",
                "photos": "a.jpg|b.jpg",
                "photo_dates": "2019|2021-06",
                "marks": "left forearm: anchor tattoo | chin: scar; healed",
                "effects": "red scarf|silver ring",
                "contact_channels": "in_person|phone",
                **CONTACT,
            }
        ],
    )
    report = import_csv(dvi, path, kind="missing", actor="t")
    assert report.ok, [str(p) for p in report.problems]
    marks, effects, channels = _report(dvi, "AM-1")
    assert marks == [("left forearm", "anchor tattoo"), ("chin", "scar; healed")]
    assert effects == ["red scarf", "silver ring"]
    assert channels == "in_person,phone"


def test_files_written_with_the_old_separators_read_as_before(dvi: OpenDVI, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "am.csv",
        [
            {
                "ref": "AM-1",
                "photos": "",
                "marks": "left forearm: anchor tattoo; chin: scar",
                "effects": "red scarf; silver ring",
                "contact_channels": "in_person, phone;letter email",
                **CONTACT,
            }
        ],
    )
    report = import_csv(dvi, path, kind="missing", actor="t")
    assert report.ok, [str(p) for p in report.problems]
    marks, effects, channels = _report(dvi, "AM-1")
    assert marks == [("left forearm", "anchor tattoo"), ("chin", "scar")]
    assert effects == ["red scarf", "silver ring"]
    assert channels == "in_person,phone,letter,email"


def test_a_wrong_value_names_the_row_the_column_and_the_separator(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    write_photo(tmp_path / "a.jpg", seed=1)
    write_photo(tmp_path / "b.jpg", seed=2)
    path = write_csv(
        tmp_path / "am.csv",
        [
            {"ref": "AM-1", "photos": "", "contact_channels": "phone/email", **CONTACT},
            {"ref": "AM-2", "photos": "a.jpg;b.jpg"},
            {"ref": "AM-3", "photos": "a.jpg|b.jpg", "photo_dates": "2019;2021|"},
        ],
    )
    report = import_csv(dvi, path, kind="missing", actor="t")
    lines = [str(p) for p in report.problems]
    assert any(
        ":2 (ref AM-1): contact_channels: 'phone/email' is not a channel; use in_person, "
        "phone, letter, email, several separated by | (e.g. in_person|phone)" in line
        for line in lines
    ), lines
    assert any(
        ":3 (ref AM-2): photos: " in line and "several values are separated by |, not ;" in line
        for line in lines
    ), lines
    assert any(
        ":4 (ref AM-3): photo_dates: photo 1: " in line
        and "several values are separated by |, not ;" in line
        for line in lines
    ), lines


def test_an_export_writes_the_bar_and_reads_back_unchanged(dvi: OpenDVI, tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "am.csv",
        [
            {
                "ref": "AM-1",
                "photos": "",
                "marks": "left forearm: anchor tattoo; chin: scar",
                "effects": "red scarf",
                "contact_channels": "in_person phone",
                "contact_sharing": "partners",
                **CONTACT,
            },
            {"ref": "AM-2", "photos": "", "effects": "a coat; its lining torn|"},
        ],
    )
    assert import_csv(dvi, source, kind="missing", actor="t").ok
    out = io.StringIO()
    export_records(dvi, out, kind="missing", fmt="csv")
    rows = {row["ref"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert rows["AM-1"]["marks"] == "left forearm: anchor tattoo|chin: scar"
    assert rows["AM-1"]["effects"] == "red scarf"
    assert rows["AM-1"]["contact_channels"] == "in_person|phone"
    assert rows["AM-2"]["effects"] == "a coat; its lining torn|"  # one effect, kept whole
    before = [_report(dvi, "AM-1"), _report(dvi, "AM-2")]
    again = tmp_path / "again.csv"
    again.write_text(out.getvalue(), encoding="utf-8")
    reread = import_csv(dvi, again, kind="missing", actor="t")
    assert reread.ok and reread.unchanged == 2, [str(p) for p in reread.problems]
    assert [_report(dvi, "AM-1"), _report(dvi, "AM-2")] == before
    assert before[1][1] == ["a coat; its lining torn"]


def test_a_remains_record_reads_marks_and_effects_the_same_way(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "pm.csv",
        [{"ref": "PM-1", "photos": "", "marks": "chest: scar|back: tattoo", "effects": "boot"}],
    )
    assert import_csv(dvi, path, kind="unidentified", actor="t").ok
    with dvi.db.read() as session:
        record = session.execute(
            select(Remains).options(selectinload(Remains.marks)).where(Remains.ref == "PM-1")
        ).scalar_one()
        assert [(m.body_location, m.description) for m in record.marks] == [
            ("chest", "scar"),
            ("back", "tattoo"),
        ]
