"""The ``opendvi`` command as a user runs it: exit codes, messages, exports."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import MissingPerson, Remains
from opendvi.errors import InputError
from opendvi.records.intake import save_record
from tests.factories import drop_audit_protection, tamper, write_csv, write_photo

# Imports and face edits act as a signed-in user.
pytestmark = pytest.mark.usefixtures("operator")


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys; from opendvi.cli import app; "
        "heavy = [m for m in ('sqlalchemy', 'PIL', 'numpy', 'alembic', 'pydantic_settings') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    result = subprocess.run(
        [sys.executable, "-m", "opendvi", "--help"], capture_output=True, text=True, check=True
    )
    assert "import" in result.stdout and "audit" in result.stdout


def test_import_reports_bad_rows_on_stderr_and_exits_non_zero(cli: Any, tmp_path: Path) -> None:
    write_photo(tmp_path / "ok.jpg")
    path = write_csv(
        tmp_path / "m.csv",
        [
            {"ref": "AM-1", "photos": "ok.jpg", "sex": "F", "birth_date": "2001-02-03"},
            {"ref": "AM-2", "photos": "missing.jpg", "sex": "F"},
        ],
    )
    result = cli("import", "missing", "--no-faces", str(path), "--quiet")
    assert result.exit_code == 1
    assert f"{path}:3 (ref AM-2): photos:" in result.stderr
    assert "1 created, 0 updated, 0 unchanged, 1 failed" in result.stderr
    again = cli("import", "missing", "--no-faces", str(path))
    assert again.exit_code == 1 and "0 created, 0 updated, 1 unchanged, 1 failed" in again.stderr


def test_a_clean_import_exits_zero_and_quiet_prints_nothing(cli: Any, tmp_path: Path) -> None:
    write_photo(tmp_path / "ok.jpg")
    path = write_csv(tmp_path / "pm.csv", [{"ref": "PM-1", "photos": "ok.jpg", "age_min": "20"}])
    result = cli("import", "unidentified", "--no-faces", str(path), "--quiet")
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""


def test_a_file_level_error_is_one_line_naming_the_file(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    path = write_csv(tmp_path / "m.csv", [{"ref": "AM-1"}])
    result = subprocess.run(
        [sys.executable, "-m", "opendvi", "import", "missing", "--no-faces", str(path)],
        capture_output=True,
        text=True,
        env={**_base_env(), **cli_env},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {path}:1: the required column 'photos' is missing; the first line must name "
        "at least: ref, photos"
    )


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("OPENDVI_")}


def test_export_candidates_prints_the_contract_columns(cli: Any) -> None:
    result = cli("export", "candidates", "--format", "csv")
    assert result.exit_code == 0
    header = next(csv.reader(io.StringIO(result.stdout)))
    assert header[:4] == ["pm_ref", "am_ref", "rank", "score"]


def test_export_candidates_lists_stored_pairs_in_rank_order(cli: Any, dvi: OpenDVI) -> None:
    from opendvi.db.tables import Candidate

    with dvi.db.write() as session:
        pm = save_record(session, Remains, actor="t", ref="PM-1", fields={})
        am = [
            save_record(session, MissingPerson, actor="t", ref=f"AM-{n}", fields={}) for n in (1, 2)
        ]
        session.add_all(
            [
                Candidate(
                    remains_id=pm.record_id,
                    missing_person_id=am[1].record_id,
                    score=0.4,
                    rank_for_remains=2,
                ),
                Candidate(
                    remains_id=pm.record_id,
                    missing_person_id=am[0].record_id,
                    score=0.9,
                    rank_for_remains=1,
                ),
            ]
        )
    rows = list(csv.DictReader(io.StringIO(cli("export", "candidates").stdout)))
    assert [(r["pm_ref"], r["am_ref"], r["rank"], r["score"]) for r in rows] == [
        ("PM-1", "AM-1", "1", "0.9"),
        ("PM-1", "AM-2", "2", "0.4"),
    ]


def test_an_exported_csv_imports_back_unchanged(cli: Any, tmp_path: Path) -> None:
    write_photo(tmp_path / "a.jpg", seed=1)
    write_photo(tmp_path / "b.jpg", seed=2)
    source = write_csv(
        tmp_path / "m.csv",
        [
            {
                "ref": "AM-7",
                "photos": "a.jpg|b.jpg",
                "photo_dates": "2020-05|",
                "full_name": "Ana",
                "sex": "F",
                "birth_year": "1990",
                "height_cm": "160-165",
                "last_seen_date": "2026-03",
                "last_seen_place": "Eastport",
                "marks": "left wrist: swallow tattoo",
                "effects": "red coat; ring",
                "contact_name": "Rui",
                "contact_relationship": "brother",
                "contact_language": "pt",
                "consent_contact": "yes",
                "contact_channels": "in_person,phone",
            }
        ],
    )
    assert cli("import", "missing", "--no-faces", str(source), "-q").exit_code == 0
    exported = tmp_path / "out" / "export.csv"
    exported.parent.mkdir()
    result = cli(
        "export",
        "missing",
        "--for",
        "team",
        "--output",
        str(exported),
        "--photos-dir",
        str(tmp_path / "out" / "photos"),
    )
    assert result.exit_code == 0
    row = next(csv.DictReader(exported.open()))
    assert row["birth_year"] == "1990" and row["height_cm"] == "160-165"
    assert row["last_seen_date"] == "2026-03" and row["photo_dates"] == "2020-05|"
    again = cli("import", "missing", "--no-faces", str(exported))
    assert again.exit_code == 0 and "1 unchanged" in again.stdout
    # Without --photos-dir, photos are listed by hash and found again in the photo store.
    by_hash = tmp_path / "by-hash.csv"
    assert cli("export", "missing", "--output", str(by_hash)).exit_code == 0
    assert "sha256:" in by_hash.read_text()
    third = cli("import", "missing", "--no-faces", str(by_hash))
    assert third.exit_code == 0 and "1 unchanged" in third.stdout


def test_export_json_carries_nested_records(cli: Any, tmp_path: Path) -> None:
    write_photo(tmp_path / "a.jpg")
    source = write_csv(
        tmp_path / "pm.csv",
        [{"ref": "PM-1", "photos": "a.jpg", "marks": "chest: scar", "condition": "decomposed"}],
    )
    cli("import", "unidentified", "--no-faces", str(source), "-q")
    records = json.loads(cli("export", "unidentified", "--format", "json").stdout)
    assert records[0]["ref"] == "PM-1" and records[0]["condition"] == "decomposed"
    assert records[0]["marks"][0]["body_location"] == "chest"
    assert records[0]["photos"][0]["detection_status"] == "pending"


def test_stats_counts_what_was_imported(cli: Any, tmp_path: Path) -> None:
    write_photo(tmp_path / "a.jpg")
    cli(
        "import",
        "unidentified",
        "--no-faces",
        str(write_csv(tmp_path / "pm.csv", [{"ref": "PM-1", "photos": "a.jpg"}])),
        "-q",
    )
    counts = json.loads(cli("stats", "--json").stdout)
    assert counts["unidentified_remains"] == 1 and counts["photos"] == 1
    # The record, and before it the operator's account and sign-in.
    assert counts["missing_person_reports"] == 0 and counts["audit_events"] == 3
    assert counts["photos_awaiting_face_detection"] == 1
    table = cli("stats").stdout
    assert "unidentified remains" in table and "identifications confirmed" in table


def test_audit_verify_fails_and_names_the_tampered_event(
    cli: Any, dvi: OpenDVI, tmp_path: Path
) -> None:
    cli("demo")
    # The operator's account and sign-in, then the demo's eight events.
    assert "audit log intact: 10 events verified" in cli("audit", "verify").stdout
    tamper(dvi, "UPDATE audit_events SET entity_ref = 'DEMO-AM-9999' WHERE id = 5")
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "AUDIT LOG BROKEN at event 5" in result.stderr


def test_audit_verify_fails_when_the_last_event_is_rewritten_whole(
    cli: Any, dvi: OpenDVI, tmp_path: Path
) -> None:
    cli("demo")
    drop_audit_protection(dvi)
    with dvi.db.write() as session:
        n = audit.count(session)  # the operator's account and sign-in, then the demo's
        last = session.get(audit.AuditEvent, n)
        assert last is not None
        last.details = {"forged": True}
        last.hash = audit.link_hash(last)
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert f"AUDIT LOG BROKEN at event {n}" in result.stderr
    assert "does not match the chain's head" in result.stderr
    assert f"{n - 1} events before it verified" in result.stderr


def test_demo_builds_records_once_and_refuses_a_real_database(
    cli: Any, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    first = cli("demo")
    assert first.exit_code == 0 and "7 newly added" in first.stdout
    assert "demo --photos PATH/TO/PEOPLE" in first.stdout
    assert "0 newly added" in cli("demo").stdout
    cli(
        "import",
        "missing",
        "--no-faces",
        str(write_csv(tmp_path / "m.csv", [{"ref": "AM-1", "photos": ""}])),
        "-q",
    )
    refused = subprocess.run(
        [sys.executable, "-m", "opendvi", "demo"],
        capture_output=True,
        text=True,
        env={**_base_env(), **cli_env},
    )
    assert refused.returncode == 2
    assert "already holds records that are not demo records (1)" in refused.stderr


def test_the_photo_demo_ranks_each_persons_other_photos_first(
    cli: Any, small_knn: Path, tmp_path: Path
) -> None:
    result = cli("demo", "--photos", str(small_knn / "train"))
    assert result.exit_code == 0, result.stderr
    # Four people have two photos (one becomes remains), one has a single photo (a report).
    assert "5 missing-person reports and 4 remains records" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("│ DEMO-PM-")]
    assert len(rows) == 4
    assert all("yes" in row for row in rows), result.stdout
    assert "4 of 4 remains records have the report made from" in result.stdout
    assert "opendvi serve" in result.stdout
    single = tmp_path / "single" / "someone"
    single.mkdir(parents=True)
    write_photo(single / "one.jpg")
    with pytest.raises(InputError, match="no sub-folder holds two photos of one person"):
        cli("demo", "--photos", str(tmp_path / "single"))


def test_audit_log_lists_events_for_one_record(cli: Any) -> None:
    cli("demo")
    out = cli("audit", "log", "--ref", "DEMO-PM-0002").stdout
    assert out.count("\n") == 1 and "remains.created" in out


def test_info_reports_where_the_data_is(cli: Any, cli_env: dict[str, str]) -> None:
    out = cli("info").stdout
    versions = Path(__file__).parents[2] / "src/opendvi/db/migrations/versions"
    head = max(p.name[:4] for p in versions.glob("[0-9]*.py"))
    assert cli_env["OPENDVI_DATA_DIR"] in out and f"schema version:  {head}" in out


def test_import_finds_faces_and_faces_list_shows_them(cli: Any, small_knn: Path) -> None:
    result = cli("import", "folder", str(small_knn / "test"), "--as", "unidentified")
    assert result.exit_code == 0
    assert "faces: 5 photos" in result.stdout
    listing = cli("faces", "list", "obama_and_biden").stdout
    assert listing.startswith("photo ") and listing.count("  face ") >= 2
    assert "(the person)" not in listing
    face_id = listing.split("  face ")[1].split()[0]
    assert cli("faces", "subject", face_id).exit_code == 0
    assert (
        f"face {face_id} (the person, chosen by staff)"
        in cli("faces", "list", "obama_and_biden").stdout
    )
    assert "faces: " not in cli("faces", "detect").stdout


def test_faces_box_embeds_a_face_marked_by_hand(cli: Any, tmp_path: Path) -> None:
    write_photo(tmp_path / "p.jpg", size=(200, 200))
    cli(
        "import",
        "unidentified",
        "--no-faces",
        str(write_csv(tmp_path / "pm.csv", [{"ref": "PM-1", "photos": "p.jpg"}])),
        "-q",
    )
    photo_id = cli("faces", "list", "PM-1").stdout.split()[1]
    assert cli("faces", "box", photo_id, "40,40,100,100").exit_code == 0
    assert "boxed by hand" in cli("faces", "list", "PM-1").stdout


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_import_folder_as_the_readme_writes_it_works_from_any_folder(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    people = tmp_path / "work" / "folder" / "missing"
    write_photo(people / "AM-1" / "a.jpg", seed=1)
    write_photo(people / "AM-1" / "b.jpg", seed=2)
    write_photo(people / "AM-2.jpg", seed=3)
    # The shell is neither in the folder nor in its parent.
    elsewhere = tmp_path / "work" / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(tmp_path / "work" if how == "relative" else elsewhere)
    given = "folder/missing" if how == "relative" else str(people)
    result = cli("import", "folder", given, "--as", "missing", "--no-faces")
    assert result.exit_code == 0, result.output
    assert "2 created, 0 updated, 0 unchanged, 0 failed" in result.stdout
    listing = cli("faces", "list", "AM-1").stdout
    assert listing.count("photo ") == 2 and "a.jpg" in listing and "b.jpg" in listing
    again = cli("import", "folder", given, "--as", "missing", "--no-faces")
    assert "0 created, 0 updated, 2 unchanged, 0 failed" in again.stdout


def test_a_bad_photo_in_a_folder_import_names_the_file_not_a_column(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = tmp_path / "folder" / "missing"
    write_photo(people / "AM-1.jpg")
    (people / "AM-2.jpg").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    result = cli("import", "folder", "folder/missing", "--as", "missing", "--no-faces")
    assert result.exit_code == 1
    assert "folder/missing/AM-2.jpg: the file is empty" in result.stderr
    assert "photos" not in result.stderr.replace("AM-2.jpg", "")
    assert "1 created, 0 updated, 0 unchanged, 1 failed" in result.stderr


def test_a_group_photo_is_said_to_wait_for_the_person_in_the_summary_stats_and_lists(
    cli: Any, small_knn: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "people"
    folder.mkdir()
    (folder / "AM-1.jpg").write_bytes((small_knn / "test" / "kit_with_rose.jpg").read_bytes())
    result = cli("import", "folder", str(folder), "--as", "missing", "--no-match")
    assert result.exit_code == 0, result.output
    assert "faces: 1 photos — 2 faces (0 used for matching)" in result.stdout
    assert "1 photos of several faces: person not chosen" in result.stdout
    listing = cli("faces", "list", "AM-1").stdout
    assert "person not chosen" in listing and "usable once chosen as the person" in listing
    assert "  usable  " not in listing
    stats = json.loads(cli("stats", "--json").stdout)
    assert stats["usable_faces"] == 0 and stats["photos_person_not_chosen"] == 1
    waiting = cli("faces", "waiting").stdout
    assert (
        waiting.startswith("AM-1  photo ") and "1 photos where the person is not chosen" in waiting
    )
    face_id = waiting.split("faces ")[1].split(",")[0].strip()
    assert cli("faces", "subject", face_id).exit_code == 0
    assert f"face {face_id} (the person, chosen by staff)" in cli("faces", "list", "AM-1").stdout
    assert "0 photos where the person is not chosen" in cli("faces", "waiting").stdout
    stats = json.loads(cli("stats", "--json").stdout)
    assert stats["usable_faces"] == 1 and stats["photos_person_not_chosen"] == 0


def _reports_csv(tmp_path: Path) -> Path:
    """A file of missing-person reports, as a family liaison team keeps it."""
    write_photo(tmp_path / "family" / "a.jpg", seed=1)
    write_photo(tmp_path / "family" / "b.jpg", seed=2)
    rows = [
        {
            "ref": f"AM-{n}",
            "photos": f"family/{'ab'[n - 1]}.jpg",
            "full_name": f"Person {n}",
            "sex": "F",
            "birth_year": "1990",
            "last_seen_date": "2024-05-01",
            "contact_name": f"Contact {n}",
            "contact_relationship": "mother",
            "consent_contact": "yes",
        }
        for n in (1, 2)
    ]
    return write_csv(tmp_path / "reports.csv", rows)


def test_a_file_of_reports_imported_as_remains_is_refused_and_the_right_command_named(
    cli: Any, dvi: OpenDVI, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    path = _reports_csv(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "opendvi", "import", "unidentified", str(path), "--no-faces"],
        capture_output=True,
        text=True,
        env={**_base_env(), **cli_env},
    )
    assert result.returncode == 2
    assert "are those of missing-person reports, not unidentified-remains records" in (
        result.stderr
    )
    assert "opendvi import missing reports.csv" in result.stderr
    with dvi.db.read() as session:
        assert session.query(Remains).count() == 0
    assert cli("import", "missing", str(path), "--no-faces", "-q").exit_code == 0


def test_a_photo_already_on_a_record_of_the_other_kind_is_refused_unless_a_reason_is_given(
    cli: Any, dvi: OpenDVI, tmp_path: Path
) -> None:
    assert cli("import", "missing", str(_reports_csv(tmp_path)), "--no-faces", "-q").exit_code == 0
    remains = write_csv(tmp_path / "pm.csv", [{"ref": "AM-1", "photos": "family/a.jpg"}])
    refused = cli("import", "unidentified", str(remains), "--no-faces")
    assert refused.exit_code == 1
    assert "already a photo of the missing-person report AM-1" in refused.stderr
    assert "--force-reason" in refused.stderr and "0 created" in refused.stderr
    # The folder import checks the same.
    folder = tmp_path / "pm"
    (folder / "PM-7").mkdir(parents=True)
    (folder / "PM-7" / "b.jpg").write_bytes((tmp_path / "family" / "b.jpg").read_bytes())
    by_folder = cli("import", "folder", str(folder), "--as", "unidentified", "--no-faces")
    assert by_folder.exit_code == 1 and "missing-person report AM-2" in by_folder.stderr
    forced = cli(
        "import",
        "unidentified",
        str(remains),
        "--no-faces",
        "--force-reason",
        "the family's photo shown beside the body for recognition",
    )
    assert forced.exit_code == 0, forced.output
    assert "1 created" in forced.stdout
    assert "note: " in forced.stderr and "a missing-person report has this reference too" in (
        forced.stderr
    )
    with dvi.db.read() as session:
        event = next(
            e
            for e in audit.recent(session, entity_ref="AM-1")
            if e.action == "photo.kept_on_both_kinds"
        )
        assert event.actor == "operator" and event.details["other_ref"] == "AM-1"
        assert event.details["reason"].startswith("the family's photo")


def test_photos_added_to_an_identified_record_say_it_is_matched_again_and_stands(
    cli: Any, dvi: OpenDVI, tmp_path: Path
) -> None:
    from tests.factories import identified, users

    users(dvi)
    identified(dvi)
    write_photo(tmp_path / "new.jpg", seed=4)
    path = write_csv(tmp_path / "m.csv", [{"ref": "AM-0", "photos": "new.jpg"}])
    result = cli("import", "missing", str(path), "--no-faces", "-q")
    assert result.exit_code == 0
    assert (
        "AM-0 is identified: its new photo will be matched again, and the identification "
        "stands" in result.stderr
    )
