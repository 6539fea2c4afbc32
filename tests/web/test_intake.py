"""Intake from the pages: a new report with photos, validation that names the field and
keeps what was typed, the person chosen in a group photo, a face boxed by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import Face, MissingPerson, Photo
from opendvi.infra.worker import Worker
from tests.factories import build_site, client, csrf_of, jpeg_bytes


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


def test_who_may_add_which_records(site: dict[str, Any]) -> None:
    assert client(site, "caseworker").get("/records/missing/new").status_code == 200
    assert client(site, "caseworker").get("/records/remains/new").status_code == 403
    assert client(site, "forensic").get("/records/remains/new").status_code == 200
    assert client(site, "forensic").get("/records/missing/new").status_code == 403
    assert client(site, "auditor").get("/records/missing/new").status_code == 403


def test_a_form_with_mistakes_says_which_fields_and_keeps_what_was_typed(
    site: dict[str, Any],
) -> None:
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/new").text)
    response = web.post(
        "/records/missing/new",
        data={
            "csrf": token,
            "ref": "AM-0",
            "full_name": "Olena Kovalenko",
            "birth_date": "31/12/1990",
            "height_cm": "tall",
        },
    )
    assert response.status_code == 422
    text = response.text
    assert "Nothing was saved: 3 fields to correct" in text
    assert (
        "is already taken" in text and "is not a date" in text and "is not a number of cm" in text
    )
    assert 'value="Olena Kovalenko"' in text and 'value="31/12/1990"' in text
    assert '<select id="f-sex" name="sex"' in text and '<option value="F"' in text
    with site["dvi"].db.read() as session:
        assert not session.execute(
            select(MissingPerson).where(MissingPerson.full_name == "Olena Kovalenko")
        ).first()


def test_a_photo_that_is_not_an_image_is_refused_by_name(site: dict[str, Any]) -> None:
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/new").text)
    response = web.post(
        "/records/missing/new",
        data={"csrf": token, "ref": "AM-NEW"},
        files=[("photos", ("notes.jpg", b"this is not a photo", "image/jpeg"))],
    )
    assert response.status_code == 422
    assert "notes.jpg" in response.text and "/tmp" not in response.text


def test_a_report_with_a_group_photo_then_the_person_chosen(
    site: dict[str, Any], small_knn: Path
) -> None:
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/new").text)
    group = (small_knn / "test" / "obama_and_biden.jpg").read_bytes()
    plain = jpeg_bytes(seed=3)
    saved = web.post(
        "/records/missing/new",
        data={"csrf": token, "ref": "AM-GROUP", "sex": "M", "birth_year": "1961"},
        files=[
            ("photos", ("family.jpg", group, "image/jpeg")),
            ("photos", ("blank.jpg", plain, "image/jpeg")),
        ],
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/records/missing/AM-GROUP"
    done = Worker(site["dvi"]).run_once()
    assert done.photos == 2 and done.records >= 1
    page = web.get("/records/missing/AM-GROUP").text
    assert page.count("This is the person") >= 2
    assert "no face found — box it by hand" in page
    dvi = site["dvi"]
    with dvi.db.read() as session:
        photos = {
            p.original_name: p
            for p in session.execute(
                select(Photo).where(Photo.original_name.in_(["family.jpg", "blank.jpg"]))
            ).scalars()
        }
        faces = [f.id for f in photos["family.jpg"].faces]
        blank = photos["blank.jpg"].id
    chosen = web.post(f"/faces/{faces[0]}/subject", data={"csrf": token})
    assert chosen.status_code == 303
    boxed = web.post(
        f"/photos/{blank}/box",
        data={"csrf": token, "x": "30", "y": "15", "width": "60", "height": "60"},
    )
    assert boxed.status_code == 303
    with dvi.db.read() as session:
        assert session.get(Face, faces[0]).is_subject  # type: ignore[union-attr]
        manual = session.execute(select(Face).where(Face.photo_id == blank)).scalar_one()
        assert manual.manual
        actions = {e.action for e in audit.recent(session, limit=50, entity_ref="AM-GROUP")}
        assert {"missing_person.created", "face.chosen_as_subject", "face.boxed_by_hand"} <= actions
        assert audit.verify(session).ok


def test_a_record_is_changed_and_given_more_photos_from_its_form(site: dict[str, Any]) -> None:
    assert client(site, "forensic").get("/records/missing/AM-0/edit").status_code == 403
    assert client(site, "auditor").get("/records/missing/AM-0/edit").status_code == 403
    assert client(site, "caseworker").get("/records/missing/NOPE/edit").status_code == 404
    web = client(site, "caseworker")
    assert "Change this record" in web.get("/records/missing/AM-0").text
    form = web.get("/records/missing/AM-0/edit")
    assert form.status_code == 200 and 'value="AM-0" required readonly' in form.text
    token = csrf_of(form.text)
    changed = web.post(
        "/records/missing/AM-0/edit",
        data={"csrf": token, "ref": "AM-OTHER", "full_name": "Ana Ruiz", "height_cm": "170-175"},
        files=[("photos", ("more.jpg", jpeg_bytes(seed=3), "image/jpeg"))],
    )
    assert changed.status_code == 303
    assert changed.headers["location"] == "/records/missing/AM-0?added=1"
    with site["dvi"].db.read() as session:
        record = session.execute(
            select(MissingPerson).where(MissingPerson.ref == "AM-0")
        ).scalar_one()
        assert (record.full_name, record.height_min_cm, record.height_max_cm) == (
            "Ana Ruiz",
            170,
            175,
        )
        assert len([p for p in record.photos if p.withdrawn_at is None]) == 2
        assert not session.execute(
            select(MissingPerson).where(MissingPerson.ref == "AM-OTHER")
        ).first()
        events = audit.recent(session, entity_ref="AM-0")
    update = next(e for e in events if e.action == "missing_person.updated")
    assert update.actor == "caseworker" and {"full_name", "height_min_cm"} <= set(
        update.details["changed"]
    )
    # The form shows what is stored; a mistake keeps what was typed and changes nothing.
    again = web.get("/records/missing/AM-0/edit").text
    assert 'value="Ana Ruiz"' in again and 'value="170-175"' in again
    wrong = web.post(
        "/records/missing/AM-0/edit",
        data={"csrf": token, "full_name": "Ana Ruíz", "height_cm": "tall"},
    )
    assert wrong.status_code == 422 and 'value="Ana Ruíz"' in wrong.text
    # Emptying a field (sent empty, as a form that shows it sends it) clears it; photos
    # not sent stay as they are.
    cleared = web.post(
        "/records/missing/AM-0/edit",
        data={"csrf": token, "full_name": "Ana Ruiz", "height_cm": ""},
    )
    assert cleared.status_code == 303
    with site["dvi"].db.read() as session:
        record = session.execute(
            select(MissingPerson).where(MissingPerson.ref == "AM-0")
        ).scalar_one()
        assert record.full_name == "Ana Ruiz" and record.height_min_cm is None
        assert len([p for p in record.photos if p.withdrawn_at is None]) == 2


def test_a_reference_with_a_slash_or_a_hash_has_its_pages(site: dict[str, Any]) -> None:
    """Case numbers such as "AM-2026/07" are common: the record, its form and the API reach
    it, and every link and redirect to it is written so that it does."""
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/new").text)
    ref = "AM-2026/07#b"
    added = web.post("/records/missing/new", data={"csrf": token, "ref": ref, "sex": "F"})
    assert added.status_code == 303
    where = added.headers["location"]
    assert where == "/records/missing/AM-2026/07%23b"
    page = web.get(where)
    assert page.status_code == 200 and "AM-2026/07#b" in page.text
    assert 'href="/records/missing/AM-2026/07%23b/edit"' in page.text
    assert 'href="/records/missing/AM-2026/07%23b"' in web.get("/records/missing").text
    form = web.get(where + "/edit")
    assert form.status_code == 200 and 'action="/records/missing/AM-2026/07%23b/edit"' in form.text
    changed = web.post(where + "/edit", data={"csrf": token, "full_name": "Ana Ruiz", "sex": "F"})
    assert changed.status_code == 303 and changed.headers["location"] == where
    with site["dvi"].db.read() as session:
        record = session.execute(select(MissingPerson).where(MissingPerson.ref == ref)).scalar_one()
        assert record.full_name == "Ana Ruiz"
    api = web.get("/api/records/missing/AM-2026/07%23b")
    assert api.status_code == 200 and api.json()["ref"] == ref


def test_a_change_leaves_the_fields_it_does_not_send_as_they_are(site: dict[str, Any]) -> None:
    """A field absent from the form's submission is kept; an empty one, sent by a form that
    showed it, is cleared (issue 13, finding 11: an edit with only the CSRF token erased the
    name and sex of an identified report)."""
    from opendvi.records.intake import save_record

    with site["dvi"].db.write() as session:
        fields = {"full_name": "Ana Ruiz", "sex": "F"}
        save_record(session, MissingPerson, actor="test", ref="AM-1", fields=fields)
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/AM-1/edit").text)

    def stored() -> tuple[str, str]:
        with site["dvi"].db.read() as session:
            report = session.execute(
                select(MissingPerson).where(MissingPerson.ref == "AM-1")
            ).scalar_one()
            return report.full_name, report.sex

    assert web.post("/records/missing/AM-1/edit", data={"csrf": token}).status_code == 303
    assert stored() == ("Ana Ruiz", "F")
    cleared = web.post("/records/missing/AM-1/edit", data={"csrf": token, "full_name": ""})
    assert cleared.status_code == 303 and stored() == ("", "F")


def test_only_forensic_staff_and_admins_edit_the_faces_of_remains(site: dict[str, Any]) -> None:
    """Issue 13, finding 8: a caseworker could box or choose a face on a post-mortem photo.
    They still may on a report's photos."""
    ids = site["ids"]
    box = {"x": "40", "y": "30", "width": "80", "height": "90"}

    def post(role: str, url: str, **form: str) -> int:
        web = client(site, role)
        token = csrf_of(web.get("/").text)
        return int(web.post(url, data={"csrf": token, **form}).status_code)

    assert post("caseworker", f"/photos/{ids['pm0-photo']}/box", **box) == 409
    assert post("caseworker", f"/faces/{ids['pm0-face']}/subject") == 409
    assert post("caseworker", f"/photos/{ids['am0-photo']}/box", **box) == 303
    assert post("forensic", f"/photos/{ids['pm0-photo']}/box", **box) == 303
    assert post("admin", f"/faces/{ids['pm0-face']}/subject") == 303
    page = client(site, "caseworker").get("/records/remains/PM-0").text
    assert "Box a face by hand" not in page


def test_group_photos_wait_on_the_dashboard_and_their_page_until_the_person_is_chosen(
    site: dict[str, Any], small_knn: Path
) -> None:
    group = (small_knn / "test" / "kit_with_rose.jpg").read_bytes()
    scene = (small_knn / "test" / "obama_and_biden.jpg").read_bytes()
    forensic = client(site, "forensic")
    token = csrf_of(forensic.get("/records/remains/new").text)
    forensic.post(
        "/records/remains/new",
        data={"csrf": token, "ref": "PM-GROUP"},
        files=[("photos", ("scene.jpg", scene, "image/jpeg"))],
    )
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/new").text)
    web.post(
        "/records/missing/new",
        data={"csrf": token, "ref": "AM-GROUP"},
        files=[("photos", ("family.jpg", group, "image/jpeg"))],
    )
    Worker(site["dvi"]).run_once()
    dashboard = web.get("/").text
    assert "Choose the person" in dashboard and 'href="/faces/choose">2<' in dashboard
    page = web.get("/faces/choose")
    assert page.status_code == 200
    text = page.text
    assert "AM-GROUP" in text and "PM-GROUP" in text and "2 photos" in text
    with site["dvi"].db.read() as session:
        photo = session.execute(
            select(Photo).where(Photo.original_name == "family.jpg")
        ).scalar_one()
        faces = [f.id for f in photo.faces]
        pm = session.execute(select(Photo).where(Photo.original_name == "scene.jpg")).scalar_one()
        pm_faces = [f.id for f in pm.faces]
    for face in faces + pm_faces:
        assert f'src="/faces/{face}.jpg"' in text
    # A caseworker chooses in a report's photo, not in a post-mortem one, whose crops are blurred.
    assert text.count("This is the person") == len(faces)
    assert text.count("post-mortem face") == len(pm_faces) and "blurred" in text
    assert "person not chosen" in web.get("/records/missing/AM-GROUP").text
    chosen = web.post(f"/faces/{faces[1]}/subject", data={"csrf": token, "back": "/faces/choose"})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/faces/choose"
    after = web.get("/faces/choose").text
    assert "AM-GROUP" not in after and "1 photo<" in after
    assert 'href="/faces/choose">1<' in web.get("/").text
    with site["dvi"].db.read() as session:
        event = audit.recent(session, limit=5, entity_ref="AM-GROUP")[0]
        assert event.action == "face.chosen_as_subject" and event.actor == "caseworker"


def test_a_photo_added_to_an_identified_record_says_it_is_matched_again_on_the_page_and_api(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    site = build_site(dvi, tmp_path, families=True)
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/AM-1/edit").text)
    added = web.post(
        "/records/missing/AM-1/edit",
        data={"csrf": token},
        files=[("photos", ("more.jpg", jpeg_bytes(seed=7), "image/jpeg"))],
    )
    assert added.status_code == 303
    page = web.get(added.headers["location"]).text
    assert "1 photo added. This record is identified: the new photo will be matched again" in page
    assert "the identification stands" in page
    answer = web.post(
        "/api/records/missing/AM-1/photos",
        files=[("photos", ("again.jpg", jpeg_bytes(seed=8), "image/jpeg"))],
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ref"] == "AM-1" and len(body["photos"]) == 3
    assert body["notes"] == [
        "AM-1 is identified: its new photo will be matched again, and the identification "
        "stands (revoke it if the new evidence says otherwise)"
    ]


def test_a_photo_of_the_other_kind_is_refused_on_the_page_and_api_unless_a_reason_is_given(
    site: dict[str, Any], tmp_path: Path
) -> None:
    dvi = site["dvi"]
    with dvi.db.read() as session:
        pm_photo = session.get(Photo, site["ids"]["pm0-photo"])
        data = dvi.media.get(pm_photo.sha256)  # type: ignore[union-attr]
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/AM-0/edit").text)
    refused = web.post(
        "/records/missing/AM-0/edit",
        data={"csrf": token},
        files=[("photos", ("body.jpg", data, "image/jpeg"))],
    )
    assert refused.status_code == 422
    assert "already a photo of the remains record PM-0" in refused.text
    assert 'name="force_reason"' in refused.text
    api = web.post(
        "/api/records/missing/AM-0/photos",
        files=[("photos", ("body.jpg", data, "image/jpeg"))],
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 422 and api.json()["field"] == "photos"
    forced = web.post(
        "/records/missing/AM-0/edit",
        data={"csrf": token, "force_reason": "the family identified the clothing in this photo"},
        files=[("photos", ("body.jpg", data, "image/jpeg"))],
    )
    assert forced.status_code == 303
    with dvi.db.read() as session:
        event = next(
            e
            for e in audit.recent(session, entity_ref="AM-0")
            if e.action == "photo.kept_on_both_kinds"
        )
        assert event.actor == "caseworker" and event.details["other_ref"] == "PM-0"


def test_the_dashboard_counts_a_report_whose_only_photo_waits_for_the_person_as_faceless(
    site: dict[str, Any], small_knn: Path
) -> None:
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/new").text)
    group = (small_knn / "test" / "kit_with_rose.jpg").read_bytes()
    web.post(
        "/records/missing/new",
        data={"csrf": token, "ref": "AM-GROUP"},
        files=[("photos", ("family.jpg", group, "image/jpeg"))],
    )
    Worker(site["dvi"]).run_once()
    from opendvi.caseload import dashboard

    board = dashboard(site["dvi"])
    assert board.faceless == {"missing_persons": 1, "remains": 0}
    assert board.counts["photos_person_not_chosen"] == 1
