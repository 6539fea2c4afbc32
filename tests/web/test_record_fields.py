"""A record shown whole: every field its form and the import take appears on its page,
grouped as the form is, contacts as the reader's role may see them; the forms in
sections, with lists to choose from, dates as dates, several reporting contacts, and
every bad photo named."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opendvi.app import OpenDVI
from opendvi.core.fields import MISSING_FIELDS, REMAINS_FIELDS, SECTIONS, form_fields
from opendvi.core.sharing import SCOPES
from opendvi.db.tables import MissingPerson
from opendvi.interchange.csv_import import import_csv
from opendvi.web.sections import CHOICES
from tests.factories import build_site, client, csrf_of, write_csv

# Every field of a report, and how its page reads it.
REPORT = {
    "ref": "AM-WHOLE",
    "event": "FLOOD-2026",
    "full_name": "Olena Kovalenko",
    "other_names": "Lena",
    "sex": "F",
    "birth_date": "1990-12-31",
    "height_cm": "170-175",
    "hair": "dark brown, shoulder length",
    "eyes": "green",
    "description": "slim build",
    "marks": "left forearm: anchor tattoo",
    "effects": "red scarf; silver ring",
    "last_seen_date": "2026-05-01..2026-05-03",
    "last_seen_place": "Riverside market",
    "circumstances": "went to help a neighbour during the flood",
    "contact_name": "Iryna Kovalenko",
    "contact_relationship": "mother",
    "contact_email": "iryna@example.org",
    "contact_phone": "+380440000123",
    "contact_language": "uk",
    "consent_contact": "yes",
    "contact_channels": "phone,email",
    "contact_sharing": "partners",
}
REPORT_SHOWN = {
    "sex": "female",
    "height_cm": "170–175",
    "last_seen_date": "2026-05-01 to 2026-05-03",
    "contact_language": "Українська",
    "contact_channels": "a phone call, an e-mail",
    "contact_sharing": "this team and its partners",
    "consent_contact": "yes",
}
REMAINS = {
    "ref": "PM-WHOLE",
    "event": "FLOOD-2026",
    "sex": "M",
    "age_min": "30",
    "age_max": "45",
    "height_min_cm": "168",
    "height_max_cm": "178",
    "condition": "decomposed",
    "description": "found in work clothes",
    "marks": "chest: scar",
    "effects": "blue overalls",
    "found_date": "2026-05-04",
    "found_place": "Lower weir",
    "storage_location": "City mortuary, drawer 12",
}
REMAINS_SHOWN = {"sex": "male", "age_min": "30–45", "height_min_cm": "168–178"}


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


def _text(page: str) -> str:
    """The page's words, tags removed, entities read, spaces made one."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _part(text: str, title: str, following: str) -> str:
    return text[text.index(title) : text.index(following, text.index(title))]


def test_the_sections_hold_every_field_of_the_import_once() -> None:
    for kind, columns in (("missing", MISSING_FIELDS), ("remains", REMAINS_FIELDS)):
        fields = [f for section in SECTIONS[kind] for f in section.fields]
        assert sorted(fields) == sorted(columns), kind
    assert {value for value, _ in CHOICES["contact_sharing"]} == set(SCOPES)


def test_a_report_page_shows_every_field_its_form_takes_grouped_as_the_form(
    site: dict[str, Any],
) -> None:
    # Every field but the year of birth, the same line as the date (shown in the next test).
    assert set(form_fields("missing")) - set(REPORT) == {"birth_year"}
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/new").text)
    first, _, last = REPORT["last_seen_date"].partition("..")
    sent = {**REPORT, "last_seen_date": first, "last_seen_date_to": last}
    sent_channels = sent.pop("contact_channels").split(",")
    saved = web.post(
        "/records/missing/new",
        data={"csrf": token, **sent, "contact_channels": ["", *sent_channels]},
    )
    assert saved.status_code == 303, _text(saved.text)
    text = _text(web.get("/records/missing/AM-WHOLE").text)
    for name, value in REPORT.items():
        assert REPORT_SHOWN.get(name, value) in text, name
    # Grouped as the form is: the person, last seen, the reporting contacts.
    person = _part(text, "The person", "Last seen")
    assert "dark brown" in person and "green" in person and "anchor tattoo" in person
    assert "Riverside market" in _part(text, "Last seen", "The reporting contacts")
    contacts = _part(text, "The reporting contacts", "Photos and faces")
    assert "Iryna Kovalenko" in contacts and "iryna@example.org" in contacts
    assert "+380440000123" in contacts


def test_a_reviewer_sees_the_reporting_contact_masked_on_the_report_page(
    site: dict[str, Any], tmp_path: Path
) -> None:
    rows = [{**REPORT, "photos": ""}]
    import_csv(site["dvi"], write_csv(tmp_path / "r.csv", rows), kind="missing", actor="admin")
    text = _text(client(site, "reviewer").get("/records/missing/AM-WHOLE").text)
    assert "Iryna Kovalenko" in text and "i…@…" in text and "+38 … 23" in text
    assert "iryna@example.org" not in text and "+380440000123" not in text
    assert "only those who tell families see them in full" in text
    # The imported row's other fields are all on the page.
    for name, value in REPORT.items():
        if not name.startswith("contact_") or name in ("contact_language", "contact_sharing"):
            assert REPORT_SHOWN.get(name, value) in text, name


def test_a_remains_page_shows_where_the_remains_are_kept_and_every_other_field(
    site: dict[str, Any], tmp_path: Path
) -> None:
    assert set(REMAINS) == set(form_fields("remains"))
    import_csv(
        site["dvi"],
        write_csv(tmp_path / "pm.csv", [{**REMAINS, "photos": ""}]),
        kind="remains",
        actor="admin",
    )
    text = _text(client(site, "forensic").get("/records/remains/PM-WHOLE").text)
    for name, value in REMAINS.items():
        if name not in ("age_max", "height_max_cm"):  # shown on the line of their range
            assert REMAINS_SHOWN.get(name, value) in text, name
    kept = _part(text, "Where found, and where kept", "Photos and faces")
    assert "Stored at City mortuary, drawer 12" in kept


def test_the_new_report_form_is_in_sections_with_lists_and_dates(site: dict[str, Any]) -> None:
    page = client(site, "caseworker").get("/records/missing/new").text
    titles = re.findall(r"<h2 id=\"s-[a-z_]+\">([^<]+)</h2>", page)
    assert titles == ["The report", "The person", "Last seen", "The reporting contacts", "Photos"]
    assert '<select id="f-contact_language" name="contact_language"' in page
    assert '<option value="uk"' in page and "Українська" in page
    assert 'type="checkbox" name="contact_channels" value="in_person"' in page
    assert '<option value="partners"' in page and '<option value="none"' in page
    assert 'id="f-birth_date" name="birth_date" type="date"' in page
    assert 'name="last_seen_date" type="date"' in page
    assert 'name="last_seen_date_to" type="date"' in page
    assert "Reporting contact 1" in page and "Add another contact" in page
    remains = client(site, "forensic").get("/records/remains/new").text
    # A range's two boxes on one line.
    line = re.search(r'<div class="field line[^"]*">(.*?)</div>', remains, re.S)
    assert line and 'name="age_min"' in line[1] and 'name="age_max"' in line[1]
    assert '<select id="f-condition"' in remains
    assert 'name="found_date" type="date"' in remains


def test_a_report_takes_several_reporting_contacts_numbered(site: dict[str, Any]) -> None:
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/new").text)
    saved = web.post(
        "/records/missing/new",
        data={
            "csrf": token,
            "ref": "AM-TWO",
            "birth_year": "1987",
            "contact_name": "Iryna Kovalenko",
            "contact_sharing": "team",
            "contact_name_2": "Petro Kovalenko",
            "contact_relationship_2": "brother",
            "consent_contact_2": "no",
            "contact_sharing_2": "none",
            "contact_name_3": "",
            "contact_sharing_3": "team",
        },
    )
    assert saved.status_code == 303, _text(saved.text)
    with site["dvi"].db.read() as session:
        report = session.execute(
            select(MissingPerson).where(MissingPerson.ref == "AM-TWO")
        ).scalar_one()
        assert [(c.name, c.sharing_scope) for c in report.contacts] == [
            ("Iryna Kovalenko", "team"),
            ("Petro Kovalenko", "none"),
        ]
    text = _text(web.get("/records/missing/AM-TWO").text)
    assert "Reporting contact 1" in text and "Reporting contact 2" in text
    assert "Petro Kovalenko" in text and "brother" in text
    assert "Born 1987" in text
    edit = web.get("/records/missing/AM-TWO/edit").text
    assert re.search(r'name="contact_name_2"\s+value="Petro Kovalenko"', edit)


def test_a_second_contact_without_a_name_is_named_as_the_problem(site: dict[str, Any]) -> None:
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/new").text)
    response = web.post(
        "/records/missing/new",
        data={"csrf": token, "ref": "AM-NONAME", "contact_phone_2": "+380440000999"},
    )
    assert response.status_code == 422
    assert 'id="p-contact_name_2"' in response.text
    assert "contact_phone_2 is given" in response.text


def test_every_bad_photo_is_named_and_the_form_asks_for_the_photos_again(
    site: dict[str, Any],
) -> None:
    web = client(site, "caseworker")
    token = csrf_of(web.get("/records/missing/new").text)
    response = web.post(
        "/records/missing/new",
        data={"csrf": token, "ref": "AM-PHOTOS", "height_cm": "tall"},
        files=[
            ("photos", ("notes.jpg", b"this is not a photo", "image/jpeg")),
            ("photos", ("list.png", b"nor is this", "image/png")),
        ],
    )
    assert response.status_code == 422
    text = _text(response.text)
    assert "notes.jpg" in text and "list.png" in text
    assert "2 of the 2 photos cannot be used" in text
    assert "Choose the photos again: notes.jpg, list.png were not kept" in text


def test_a_date_known_to_its_month_and_a_span_come_back_in_the_change_form_unchanged(
    site: dict[str, Any], tmp_path: Path
) -> None:
    row = {
        "ref": "AM-MONTH",
        "photos": "",
        "birth_date": "1987-03",
        "last_seen_date": "2026-05-01..2026-05-03",
        "contact_name": "Hidden Reporter",
        "contact_sharing": "none",
    }
    import_csv(site["dvi"], write_csv(tmp_path / "m.csv", [row]), kind="missing", actor="admin")
    web = client(site, "caseworker")
    edit = web.get("/records/missing/AM-MONTH/edit").text
    # A month is no date box's value: it stays typed text, so saving does not clear it.
    assert re.search(r'<input id="f-birth_date" name="birth_date"\s+value="1987-03"', edit)
    assert re.search(r'name="last_seen_date" type="date" value="2026-05-01"', edit)
    assert re.search(r'name="last_seen_date_to" type="date" value="2026-05-03"', edit)
    fields = dict(re.findall(r'<input id="f-[^"]+" name="([^"]+)"[^>]*?value="([^"]*)"', edit))
    selects = re.findall(r'<select id="f-([^"]+)"(.*?)</select>', edit, re.S)
    for name, options in selects:
        chosen = re.search(r'<option value="([^"]*)"\s+selected', options)
        fields[name] = chosen[1] if chosen else re.findall(r'<option value="([^"]*)"', options)[0]
    fields.pop("ref", None)
    saved = web.post("/records/missing/AM-MONTH/edit", data={"csrf": csrf_of(edit), **fields})
    assert saved.status_code == 303, _text(saved.text)
    with site["dvi"].db.read() as session:
        report = session.execute(
            select(MissingPerson).where(MissingPerson.ref == "AM-MONTH")
        ).scalar_one()
        assert (str(report.birth_earliest), str(report.birth_latest)) == (
            "1987-03-01",
            "1987-03-31",
        )
        assert str(report.last_seen_latest) == "2026-05-03"
        assert report.contacts[0].sharing_scope == "none"
    # A reporter who shares with no one is withheld from a reviewer.
    text = _text(client(site, "reviewer").get("/records/missing/AM-MONTH").text)
    assert "Hidden Reporter" not in text and "Withheld: this reporter chose" in text
