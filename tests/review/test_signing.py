"""Confirming an identification is signing a death: each confirmer says what they checked
(required, kept with the confirmation and its audit event, whatever front end confirms),
the page shows the confirm form only to who may confirm, the evidence in words and both
records, and revocation in a section of its own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import AuditEvent
from opendvi.errors import InputError
from opendvi.review import confirm_identification, identification
from tests.factories import build_site, client, csrf_of


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


CHECKED = "DNA report 2026/17 read; both records: sex, age and clothing agree"


def test_a_confirmation_says_what_was_checked_in_the_library(site: dict[str, Any]) -> None:
    dvi, number = site["dvi"], site["ids"]["identification"]
    with pytest.raises(InputError, match="what you checked") as refused:
        confirm_identification(dvi, number, checked="  ", username="reviewer")
    assert refused.value.field == "checked"
    once = confirm_identification(dvi, number, checked=CHECKED, username="reviewer")
    assert once.confirmations == [("reviewer", CHECKED)]
    done = confirm_identification(dvi, number, checked="dental chart read", username="second")
    assert done.status == "confirmed"
    assert done.confirmations == [("reviewer", CHECKED), ("second", "dental chart read")]
    with dvi.db.read() as session:
        details = [
            e.details
            for e in session.execute(
                select(AuditEvent).where(AuditEvent.action.like("identification.confirm%"))
            ).scalars()
        ]
        assert audit.verify(session).ok
    assert [d["checked"] for d in details] == [CHECKED, "dental chart read"]
    shown = identification(dvi, number, role="auditor")
    assert shown.confirmations == done.confirmations


def test_a_confirmation_says_what_was_checked_at_the_command_line(
    site: dict[str, Any], cli_as: Any
) -> None:
    number = str(site["ids"]["identification"])
    bare = cli_as("reviewer", "identify", "confirm", number)
    assert bare.exit_code != 0 and "--checked" in bare.output
    done = cli_as("reviewer", "identify", "confirm", number, "--checked", CHECKED)
    assert done.exit_code == 0, done.output
    shown = identification(site["dvi"], int(number), role="admin")
    assert shown.confirmations == [("reviewer", CHECKED)]


def test_a_confirmation_says_what_was_checked_through_the_api(site: dict[str, Any]) -> None:
    from tests.web.test_api import signed_in

    number = site["ids"]["identification"]
    web, header = signed_in(site, "reviewer")
    bare = web.post(f"/api/identifications/{number}/confirm", headers=header)
    assert bare.status_code == 422
    blank = web.post(
        f"/api/identifications/{number}/confirm", json={"checked": " "}, headers=header
    )
    assert blank.status_code == 422 and blank.json()["field"] == "checked"
    done = web.post(
        f"/api/identifications/{number}/confirm", json={"checked": CHECKED}, headers=header
    )
    assert done.status_code == 200
    assert done.json()["confirmations"] == [{"by": "reviewer", "checked": CHECKED}]


def _confirm_form(html: str) -> bool:
    return "/confirm" in html and "Confirm this identification" in html


def test_the_page_offers_confirming_only_to_who_may_confirm(site: dict[str, Any]) -> None:
    number = site["ids"]["identification"]
    path = f"/identifications/{number}"
    proposer = client(site, "admin").get(path).text  # admin proposed it in the site
    assert not _confirm_form(proposer)
    assert "you proposed it" in proposer
    caseworker = client(site, "caseworker").get(path).text
    assert not _confirm_form(caseworker)
    reviewer = client(site, "reviewer")
    page = reviewer.get(path).text
    assert _confirm_form(page)
    assert re.search(r'<textarea[^>]*name="checked"[^>]*required', page)
    refused = reviewer.post(f"{path}/confirm", data={"csrf": csrf_of(page), "checked": ""})
    assert refused.status_code == 422 and "what you checked" in refused.text
    done = reviewer.post(
        f"{path}/confirm", data={"csrf": csrf_of(page), "checked": CHECKED}, follow_redirects=True
    )
    assert done.status_code == 200
    assert CHECKED in done.text
    assert not _confirm_form(done.text)  # confirmed once by this reviewer: not again
    assert "you confirmed it" in done.text


def test_the_page_shows_the_evidence_in_words_both_records_and_revocation_apart(
    site: dict[str, Any],
) -> None:
    number = site["ids"]["identification"]
    page = client(site, "reviewer").get(f"/identifications/{number}").text
    assert "DNA" in page and "Rests on</dt><dd>dna" not in page
    assert 'href="/records/remains/PM-1"' in page and 'href="/records/missing/AM-1"' in page
    revoke = page.index("Revoke this identification")
    assert revoke > page.index("Confirm this identification")
    assert "<details" in page[page.rindex("<details", 0, revoke) : revoke]
    listing = client(site, "reviewer").get("/identifications").text
    assert 'href="/records/remains/PM-1"' in listing and 'href="/records/missing/AM-1"' in listing


def test_the_page_summarises_both_records_as_their_pages_write_ranges(
    site: dict[str, Any],
) -> None:
    import datetime as dt

    from opendvi.db.tables import MissingPerson, Remains
    from opendvi.records.intake import save_record

    dvi, number = site["dvi"], site["ids"]["identification"]
    with dvi.db.write() as session:
        save_record(
            session, Remains, actor="test", ref="PM-1", fields={"age_min": 40, "age_max": 55}
        )
        save_record(
            session,
            MissingPerson,
            actor="test",
            ref="AM-1",
            fields={"birth_earliest": dt.date(1961, 1, 1), "birth_latest": dt.date(1961, 12, 31)},
        )
    shown = identification(dvi, number, role="reviewer")
    assert ("Estimated age", "40–55 years") in shown.remains_facts
    assert ("Born", "1961") in shown.report_facts
