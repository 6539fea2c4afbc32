"""Withdrawing a photo, or a whole report at the reporting contact's request: the original,
the served copy and the face embeddings are erased, the pairs they supported leave the lists
at once, and one audit event per photo keeps only digests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.fields import ContactInput
from opendvi.db.tables import (
    AuditEvent,
    Candidate,
    Contact,
    Face,
    Job,
    MissingPerson,
    Photo,
)
from opendvi.errors import Refused
from opendvi.records import withdraw_photo, withdraw_report
from opendvi.records.intake import save_record
from tests.factories import build_site, client, csrf_of, login, write_csv, write_photo


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    site = build_site(dvi, tmp_path)
    mother = ContactInput(
        name="Maria Lopez",
        relationship="mother",
        email="maria@example.org",
        phone="+3400000",
        consent_contact=True,
    )
    with dvi.db.write() as session:
        save_record(
            session,
            MissingPerson,
            actor="test",
            ref="AM-0",
            fields={"full_name": "Juan Lopez", "description": "scar on the chin"},
            contacts=[mother],
        )
    return site


def files_of(dvi: OpenDVI, photo_id: int) -> list[Path]:
    with dvi.db.read() as session:
        photo = session.get(Photo, photo_id)
        assert photo is not None
        return [dvi.media.path(photo.sha256), dvi.media.path(photo.served_sha256)]


def candidates_of(dvi: OpenDVI, missing_id: int) -> int:
    with dvi.db.read() as session:
        query = select(func.count()).where(Candidate.missing_person_id == missing_id)
        return int(session.execute(query).scalar_one())


def events_named(dvi: OpenDVI, action: str) -> list[AuditEvent]:
    with dvi.db.read() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(session.execute(query).scalars())


def test_a_withdrawn_photo_leaves_no_embedding_and_no_candidate_on_its_strength(
    site: dict[str, Any], dvi: OpenDVI
) -> None:
    ids = site["ids"]
    with dvi.db.read() as session:
        sha = session.get(Photo, ids["am0-photo"]).sha256  # type: ignore[union-attr]
    assert candidates_of(dvi, ids["am0"]) > 0
    done = withdraw_photo(dvi, ids["am0-photo"], actor="caseworker", reason="contact_request")
    assert (done.ref, done.photos, done.faces) == ("AM-0", 1, 1)
    with dvi.db.read() as session:
        assert session.get(Photo, ids["am0-photo"]) is None
        faces = select(Face).where(Face.photo_id == ids["am0-photo"])
        assert session.execute(faces).first() is None
        queued = session.execute(select(Job.subject).where(Job.status == "queued")).scalars()
        assert f"missing:{ids['am0']}" in set(queued)
    assert candidates_of(dvi, ids["am0"]) == 0
    (event,) = events_named(dvi, "photo.erased")
    assert event.entity_ref == "AM-0" and event.actor == "caseworker"
    assert event.details["sha256"] == sha and event.details["reason"] == "contact_request"
    assert "am0.jpg" not in audit.canonical_json(event.details)
    assert audit.verify_chain(dvi).ok


def test_the_files_go_once_no_record_holds_the_photo(site: dict[str, Any], dvi: OpenDVI) -> None:
    from opendvi.records.photos import StoredPhoto

    ids = site["ids"]
    # The same file on a report and on remains: kept on both for a reason given.
    with dvi.db.write() as session:
        shared = StoredPhoto.of(session.get(Photo, ids["pm0-photo"]))  # type: ignore[arg-type]
        save_record(
            session,
            MissingPerson,
            actor="test",
            ref="AM-0",
            fields={},
            photos=[shared],
            force_reason="the family's photo laid beside the body",
        )
        am_photo = session.execute(
            select(Photo.id).where(
                Photo.missing_person_id == ids["am0"], Photo.sha256 == shared.sha256
            )
        ).scalar_one()
    files = files_of(dvi, am_photo)
    assert files == files_of(dvi, ids["pm0-photo"])
    assert all(f.exists() for f in files)
    withdraw_photo(dvi, am_photo, actor="caseworker", reason="contact_request")
    assert all(f.exists() for f in files)  # still PM-0's photo
    withdraw_photo(dvi, ids["pm0-photo"], actor="forensic", reason="wrong_person")
    assert not any(f.exists() for f in files)


def test_a_photo_dropped_by_an_import_is_erased_as_well(
    site: dict[str, Any], dvi: OpenDVI, tmp_path: Path
) -> None:
    from opendvi.interchange.csv_import import import_csv

    ids = site["ids"]
    files = files_of(dvi, ids["am1-photo"]) + files_of(dvi, ids["pm1-photo"])
    for seed, kind, ref in ((77, "missing", "AM-1"), (78, "unidentified", "PM-1")):
        other = write_photo(tmp_path / f"other-{seed}.jpg", seed=seed)
        rows = [{"ref": ref, "photos": str(other)}]
        import_csv(dvi, write_csv(tmp_path / f"{ref}.csv", rows), kind=kind, actor="test")
    with dvi.db.read() as session:
        for photo_id in (ids["am1-photo"], ids["pm1-photo"]):
            assert session.get(Photo, photo_id) is None
            faces = select(Face).where(Face.photo_id == photo_id)
            assert session.execute(faces).first() is None
    assert [e.entity_ref for e in events_named(dvi, "photo.erased")] == ["AM-1", "PM-1"]
    assert not any(f.exists() for f in files)


def test_withdrawing_a_report_erases_its_person_photos_and_contacts_and_keeps_its_ref(
    site: dict[str, Any], dvi: OpenDVI
) -> None:
    ids = site["ids"]
    done = withdraw_report(dvi, "AM-0", actor="caseworker", reason="contact_request")
    assert (done.ref, done.photos, done.contacts) == ("AM-0", 1, 1)
    with dvi.db.read() as session:
        record = session.get(MissingPerson, ids["am0"])
        assert record is not None and record.ref == "AM-0" and record.status == "withdrawn"
        assert (record.full_name, record.description, record.photos) == ("", "", [])
        contact = session.execute(select(Contact)).scalar_one()
        assert (contact.name, contact.email, contact.phone) == ("", "", "")
        assert contact.consent_contact is False and contact.consent_withdrawn_at is not None
    assert candidates_of(dvi, ids["am0"]) == 0
    (event,) = events_named(dvi, "missing_person.withdrawn")
    text = audit.canonical_json(event.details)
    assert event.details["reason"] == "contact_request"
    assert "Lopez" not in text and "maria" not in text
    assert audit.verify_chain(dvi).ok


def test_a_withdrawn_report_is_no_longer_matched(site: dict[str, Any], dvi: OpenDVI) -> None:
    from opendvi.matching import run_matching

    withdraw_report(dvi, "AM-0", actor="caseworker", reason="contact_request")
    run_matching(dvi, actor="test", everything=True)
    assert candidates_of(dvi, site["ids"]["am0"]) == 0


def test_only_those_who_may_change_a_report_withdraw_it_or_its_photos(
    site: dict[str, Any], dvi: OpenDVI
) -> None:
    ids = site["ids"]
    with pytest.raises(Refused, match="only a caseworker or an admin"):
        withdraw_report(dvi, "AM-0", actor="reviewer", reason="contact_request")
    with pytest.raises(Refused, match="only a caseworker or an admin"):
        withdraw_photo(dvi, ids["am0-photo"], actor="forensic", reason="contact_request")
    with pytest.raises(Refused, match="only a forensic specialist or an admin"):
        withdraw_photo(dvi, ids["pm0-photo"], actor="caseworker", reason="wrong_person")
    assert all(f.exists() for f in files_of(dvi, ids["am0-photo"]))


def test_a_report_under_identification_is_not_withdrawn(site: dict[str, Any], dvi: OpenDVI) -> None:
    with pytest.raises(Refused, match=r"AM-1.*identification \d+.*revoke"):
        withdraw_report(dvi, "AM-1", actor="caseworker", reason="contact_request")


def test_a_reason_outside_the_list_is_refused(site: dict[str, Any], dvi: OpenDVI) -> None:
    from opendvi.errors import InputError

    with pytest.raises(InputError, match="contact_request"):
        withdraw_report(dvi, "AM-0", actor="caseworker", reason="Maria asked")


# -- the front ends ----------------------------------------------------------------------------


def test_the_command_line_withdraws_a_photo_and_a_report(
    site: dict[str, Any], dvi: OpenDVI, cli: Any
) -> None:
    ids = site["ids"]
    login(cli, "admin")
    result = cli("withdraw", "photo", str(ids["pm1-photo"]), "--reason", "wrong_person")
    assert result.exit_code == 0, result.output
    assert "photo" in result.output and "PM-1" in result.output and "erased" in result.output
    result = cli("withdraw", "report", "AM-0", "--reason", "contact_request", "--yes")
    assert result.exit_code == 0, result.output
    assert "AM-0" in result.output and "withdrawn" in result.output
    with dvi.db.read() as session:
        assert session.get(MissingPerson, ids["am0"]).status == "withdrawn"  # type: ignore[union-attr]
    assert [e.actor for e in events_named(dvi, "photo.erased")] == ["admin", "admin"]


def test_the_record_page_withdraws_a_report_once_confirmed(
    site: dict[str, Any], dvi: OpenDVI
) -> None:
    ids = site["ids"]
    web = client(site, "caseworker")
    page = web.get("/records/missing/AM-0")
    assert "Withdraw this report" in page.text and "Withdraw this photo" in page.text
    token = csrf_of(page.text)
    unconfirmed = web.post(
        "/records/missing/AM-0/withdraw", data={"csrf": token, "reason": "contact_request"}
    )
    assert unconfirmed.status_code == 422 and "confirm" in unconfirmed.text
    done = web.post(
        "/records/missing/AM-0/withdraw",
        data={"csrf": token, "reason": "contact_request", "confirm": "yes"},
    )
    assert done.status_code == 303
    assert "withdrawn" in web.get("/records/missing/AM-0").text
    with dvi.db.read() as session:
        assert session.get(MissingPerson, ids["am0"]).status == "withdrawn"  # type: ignore[union-attr]
    assert "Withdraw this report" not in client(site, "reviewer").get("/records/missing/AM-1").text


def test_the_record_page_withdraws_one_photo(site: dict[str, Any], dvi: OpenDVI) -> None:
    ids = site["ids"]
    web = client(site, "forensic")
    token = csrf_of(web.get("/records/remains/PM-0").text)
    done = web.post(
        f"/photos/{ids['pm0-photo']}/withdraw",
        data={"csrf": token, "reason": "wrong_person", "confirm": "yes"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/records/remains/PM-0"
    assert web.get(f"/photos/{ids['pm0-photo']}.jpg").status_code == 404


def test_the_api_withdraws_a_photo_and_a_report(site: dict[str, Any], dvi: OpenDVI) -> None:
    ids = site["ids"]
    web = client(site, "caseworker")
    headers = {"X-CSRF-Token": csrf_of(web.get("/").text)}
    photo = web.post(
        f"/api/photos/{ids['am1-photo']}/withdrawal",
        json={"reason": "wrong_person"},
        headers=headers,
    )
    assert photo.status_code == 200, photo.text
    assert photo.json()["ref"] == "AM-1" and photo.json()["photos"] == 1
    report = web.post(
        "/api/records/missing/AM-0/withdrawal", json={"reason": "contact_request"}, headers=headers
    )
    assert report.status_code == 200, report.text
    assert report.json()["contacts"] == 1
    wrong = web.post(
        "/api/records/missing/AM-0/withdrawal", json={"reason": "because"}, headers=headers
    )
    assert wrong.status_code == 422
    refused = client(site, "reviewer")
    answer = refused.post(
        "/api/records/missing/AM-1/withdrawal",
        json={"reason": "contact_request"},
        headers={"X-CSRF-Token": csrf_of(refused.get("/").text)},
    )
    assert answer.status_code == 403
