"""A candidate pair keeps its address when its records are matched again (issue 14, item 5):
pages link to ``/candidates/PM/AM`` by the two references, an address by the pair's number
goes on there, and the API answers at both."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from opendvi.app import OpenDVI
from opendvi.db.tables import MissingPerson, Remains
from opendvi.matching import run_matching
from opendvi.records.intake import save_record
from opendvi.web.links import candidate_url
from tests.factories import build_site, client, csrf_of, jpeg_bytes


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


def test_a_candidate_link_taken_before_a_photo_was_added_still_reaches_the_same_pair(
    site: dict[str, Any],
) -> None:
    number = site["ids"]["candidate"]
    reviewer = client(site, "reviewer")
    before = reviewer.get(f"/candidates/{number}")
    assert before.status_code == 303
    assert before.headers["location"] == "/candidates/PM-0/AM-0"

    caseworker = client(site, "caseworker")
    token = csrf_of(caseworker.get("/records/missing/AM-0/edit").text)
    added = caseworker.post(
        "/api/records/missing/AM-0/photos",
        files=[("photos", ("more.jpg", jpeg_bytes(seed=7), "image/jpeg"))],
        headers={"X-CSRF-Token": token},
    )
    assert added.status_code == 200, added.text
    assert run_matching(site["dvi"], actor="test").records >= 1  # AM-0 matched again

    after = reviewer.get(f"/candidates/{number}")
    assert after.status_code == 303, after.text
    assert after.headers["location"] == "/candidates/PM-0/AM-0"
    page = reviewer.get(after.headers["location"])
    assert page.status_code == 200
    assert "PM-0" in page.text and "AM-0" in page.text
    by_number = reviewer.get(f"/api/candidates/{number}").json()
    by_refs = reviewer.get("/api/candidates/PM-0/AM-0").json()
    assert (by_number["pm_ref"], by_number["am_ref"]) == ("PM-0", "AM-0")
    assert by_refs == by_number


def test_every_link_to_a_comparison_names_the_pair_by_its_references(
    site: dict[str, Any],
) -> None:
    web = client(site, "reviewer")
    pages = {
        "queue": web.get("/review?show=all").text,
        "remains page": web.get("/records/remains/PM-0").text,
        "report page": web.get("/records/missing/AM-1").text,
        "identification": web.get(f"/identifications/{site['ids']['identification']}").text,
    }
    for name, text in pages.items():
        links = re.findall(r'href="(/candidates/[^"]*)"', text)
        assert links, f"the {name} links to no comparison"
        assert all(re.fullmatch(r"/candidates/PM-\d/AM-\d", link) for link in links), (name, links)
        for link in links:
            assert web.get(link).status_code == 200, (name, link)


def test_a_decision_on_the_comparison_page_comes_back_to_the_pair_address(
    site: dict[str, Any],
) -> None:
    web = client(site, "reviewer")
    page = web.get("/candidates/PM-0/AM-0")
    done = web.post(
        f"/candidates/{site['ids']['candidate']}/exclude",
        data={"csrf": csrf_of(page.text), "reason": "the heights differ by 20 cm"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/candidates/PM-0/AM-0"


def test_references_holding_a_slash_or_hash_are_quoted_whole_in_a_pair_address(
    site: dict[str, Any],
) -> None:
    dvi = site["dvi"]
    with dvi.db.write() as session:
        save_record(session, Remains, actor="test", ref="PM/2026/17", fields={"sex": "F"})
        save_record(session, MissingPerson, actor="test", ref="AM#2026:1", fields={"sex": "F"})
    run_matching(dvi, actor="test")
    url = candidate_url("PM/2026/17", "AM#2026:1")
    assert url == "/candidates/PM%2F2026%2F17/AM%232026%3A1"
    web = client(site, "reviewer")
    page = web.get(url)
    assert page.status_code == 200, page.text
    assert "PM/2026/17" in page.text and "AM#2026:1" in page.text
    assert f'href="{url}"' in web.get("/records/missing/AM%232026%3A1").text
    answer = web.get(candidate_url("PM/2026/17", "AM#2026:1", api=True))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["pm_ref"], answer.json()["am_ref"]) == ("PM/2026/17", "AM#2026:1")
    # Sent with its slashes unquoted, the pair is still found.
    assert web.get("/candidates/PM/2026/17/AM%232026%3A1").status_code == 200


def test_an_address_that_names_no_pair_says_which_part_is_wrong(site: dict[str, Any]) -> None:
    web = client(site, "reviewer")
    unknown = web.get("/api/candidates/PM-9/AM-0")
    assert unknown.status_code == 404 and "no remains record 'PM-9'" in unknown.text
    nobody = web.get("/api/candidates/PM-0/AM-9")
    assert nobody.status_code == 404 and "no missing-person report 'AM-9'" in nobody.text
    gone = web.get("/api/candidates/999999")
    assert gone.status_code == 404 and "there is no candidate 999999" in gone.text
    page = web.get("/candidates/999999")
    assert page.status_code == 404 and "pages list their candidates" in page.text


def test_a_pair_that_left_the_lists_keeps_its_number_and_gets_it_back(
    site: dict[str, Any],
) -> None:
    number = site["ids"]["candidate"]
    caseworker = client(site, "caseworker")
    token = csrf_of(caseworker.get("/").text)
    withdrawn = caseworker.post(
        f"/api/photos/{site['ids']['am0-photo']}/withdrawal",
        json={"reason": "wrong_person"},
        headers={"X-CSRF-Token": token},
    )
    assert withdrawn.status_code == 200, withdrawn.text  # AM-0's pairs leave the lists
    reviewer = client(site, "reviewer")
    gone = reviewer.get(f"/candidates/{number}")
    assert gone.status_code == 303 and gone.headers["location"] == "/candidates/PM-0/AM-0"
    page = reviewer.get(gone.headers["location"])
    assert page.status_code == 404 and "PM-0 and AM-0 are not a candidate pair" in page.text
    answer = reviewer.get(f"/api/candidates/{number}")
    assert answer.status_code == 404
    assert f"candidate {number} (PM-0 and AM-0) is not listed now" in answer.json()["detail"]

    run_matching(site["dvi"], actor="test")  # matched again on its description
    back = reviewer.get(f"/api/candidates/{number}").json()
    assert (back["id"], back["pm_ref"], back["am_ref"]) == (number, "PM-0", "AM-0")
