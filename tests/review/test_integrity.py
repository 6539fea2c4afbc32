"""States that must not be possible: a pair excluded (or referred) while an identification
of it is proposed or confirmed, an identification proposed on a pair excluded on the same
evidence; a reviewer who disagrees records an objection for the confirmers instead. Pairs
of an identified record leave the review queue and its count; a record's history holds
every decision, identification and notification step about it. Each rule is tried from
every front end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.caseload import dashboard
from opendvi.db.tables import Candidate, Remains
from opendvi.errors import InputError, Refused
from opendvi.records import record_history
from opendvi.review import (
    exclude,
    identification,
    object_to_identification,
    propose_identification,
    refer,
    review_queue,
    revoke_identification,
)
from tests.factories import build_site, client, csrf_of


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    """PM-1 identified as AM-1 (proposed by admin, confirmed by reviewer and second)."""
    return build_site(dvi, tmp_path, families=True)


def pair_id(dvi: OpenDVI, pm: str, am: str) -> int:
    from opendvi.db.tables import MissingPerson

    with dvi.db.read() as session:
        return session.execute(
            select(Candidate.id)
            .join(Remains, Candidate.remains_id == Remains.id)
            .join(MissingPerson, Candidate.missing_person_id == MissingPerson.id)
            .where(Remains.ref == pm, MissingPerson.ref == am)
        ).scalar_one()


def status_of(dvi: OpenDVI, candidate: int) -> str:
    with dvi.db.read() as session:
        found = session.get(Candidate, candidate)
        assert found is not None
        return found.status


def test_a_confirmed_pair_is_not_excluded_nor_referred_from_the_library(
    site: dict[str, Any],
) -> None:
    dvi, number = site["dvi"], site["ids"]["identification"]
    with pytest.raises(Refused, match=rf"identification {number} .*revoke") as refused:
        exclude(dvi, ("PM-1", "AM-1"), reason="test", username="forensic")
    assert "PM-1" in str(refused.value) and "AM-1" in str(refused.value)
    with pytest.raises(Refused, match=rf"identification {number}"):
        refer(dvi, ("PM-1", "AM-1"), compare=["dna"], reason="", username="forensic")
    assert status_of(dvi, pair_id(dvi, "PM-1", "AM-1")) != "excluded"
    assert identification(dvi, number, role="reviewer").status == "confirmed"


def test_a_proposed_pair_is_not_excluded_either(dvi: OpenDVI, tmp_path: Path) -> None:
    build_site(dvi, tmp_path)  # PM-1 / AM-1 proposed, not confirmed
    with pytest.raises(Refused, match="is proposed"):
        exclude(dvi, ("PM-1", "AM-1"), reason="test", username="reviewer")


def test_a_confirmed_pair_is_not_excluded_from_the_command_line(
    site: dict[str, Any], cli_as: Any
) -> None:
    number = site["ids"]["identification"]
    with pytest.raises(Refused, match=rf"identify revoke {number}"):
        cli_as("forensic", "exclude", "PM-1", "AM-1", "--reason", "test")
    with pytest.raises(Refused, match=rf"identification {number}"):
        cli_as("forensic", "refer", "PM-1", "AM-1", "--compare", "dental")


def test_a_confirmed_pair_is_not_excluded_through_the_api(site: dict[str, Any]) -> None:
    web = client(site, "forensic")
    token = csrf_of(web.get("/").text)
    candidate = pair_id(site["dvi"], "PM-1", "AM-1")
    for action, body in (("exclude", {"reason": "test"}), ("refer", {"compare": ["dna"]})):
        answer = web.post(
            f"/api/candidates/{candidate}/{action}", json=body, headers={"X-CSRF-Token": token}
        )
        assert answer.status_code == 409, answer.text
        assert f"identification {site['ids']['identification']}" in answer.json()["detail"]
    assert status_of(site["dvi"], candidate) != "excluded"


def test_the_comparison_page_of_a_confirmed_pair_offers_no_exclusion_and_says_why(
    site: dict[str, Any],
) -> None:
    web = client(site, "forensic")
    candidate = pair_id(site["dvi"], "PM-1", "AM-1")
    page = web.get(f"/candidates/{candidate}", follow_redirects=True)
    assert page.status_code == 200
    assert f'action="/candidates/{candidate}/exclude"' not in page.text
    assert f'action="/candidates/{candidate}/refer"' not in page.text
    assert "revoke" in page.text.lower() and "objection" in page.text.lower()
    posted = web.post(
        f"/candidates/{candidate}/exclude", data={"csrf": csrf_of(page.text), "reason": "test"}
    )
    assert posted.status_code == 409 and "revoke" in posted.text
    assert "Excluded by" not in posted.text
    assert status_of(site["dvi"], candidate) != "excluded"


def test_an_excluded_pair_is_not_proposed_while_the_exclusion_stands(
    site: dict[str, Any], cli_as: Any
) -> None:
    dvi = site["dvi"]
    done = exclude(dvi, ("PM-0", "AM-0"), reason="dental records differ", username="reviewer")
    with pytest.raises(Refused, match=rf"excluded .*decision {done.decision_id}"):
        propose_identification(
            dvi, ("PM-0", "AM-0"), primary=["dna"], secondary=[], note="", username="forensic"
        )
    with pytest.raises(Refused, match="excluded"):
        cli_as("forensic", "identify", "propose", "PM-0", "AM-0", "--primary", "dna")
    web = client(site, "forensic")
    token = csrf_of(web.get("/").text)
    answer = web.post(
        f"/api/candidates/{site['ids']['candidate']}/identify",
        json={"primary": ["dna"]},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 409 and "excluded" in answer.json()["detail"]
    posted = web.post(
        f"/candidates/{site['ids']['candidate']}/identify",
        data={"csrf": token, "primary": "dna"},
    )
    assert posted.status_code == 409 and "exclusion stands" in posted.text


def test_an_objection_is_recorded_audited_and_shown_without_changing_the_identification(
    site: dict[str, Any], cli_as: Any
) -> None:
    dvi, number = site["dvi"], site["ids"]["identification"]
    with pytest.raises(InputError, match="note"):
        object_to_identification(dvi, number, note=" ", username="forensic")
    with pytest.raises(Refused, match="reviewer"):
        object_to_identification(dvi, number, note="no", username="caseworker")
    seen = object_to_identification(
        dvi, number, note="the dental chart was of the wrong jaw", username="forensic"
    )
    assert seen.status == "confirmed"
    assert [(o.by, o.reason) for o in seen.objections] == [
        ("forensic", "the dental chart was of the wrong jaw")
    ]
    said = cli_as("forensic", "identify", "object", str(number), "--note", "teeth again")
    assert said.exit_code == 0 and f"identification {number}" in said.stdout
    assert "reviewer and second" in said.stdout  # put to the confirmers, by name
    web = client(site, "forensic")
    page = web.get(f"/identifications/{number}")
    token = csrf_of(page.text)
    assert f'action="/identifications/{number}/object"' in page.text
    answer = web.post(
        f"/api/identifications/{number}/object",
        json={"note": "the photos are of another case"},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 200 and answer.json()["status"] == "confirmed"
    assert len(answer.json()["objections"]) == 3
    posted = web.post(
        f"/identifications/{number}/object", data={"csrf": token, "note": "and a fourth"}
    )
    assert posted.status_code == 303
    page = web.get(f"/identifications/{number}").text
    for note in ("the dental chart was of the wrong jaw", "teeth again", "and a fourth"):
        assert note in page
    compared = web.get("/candidates/PM-1/AM-1").text
    assert "the dental chart was of the wrong jaw" in compared
    objected = [e for e in audit.events(dvi, limit=100) if e.action == "identification.objected"]
    assert len(objected) == 4 and objected[0].entity_ref == "PM-1 / AM-1"
    assert identification(dvi, number, role="reviewer").status == "confirmed"


def queue_pairs(dvi: OpenDVI, show: Any = "credible") -> set[tuple[str, str]]:
    return {(item.pm_ref, item.am_ref) for item in review_queue(dvi, show).items}


def test_pairs_of_an_identified_record_leave_the_review_queue_and_its_count(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    site = build_site(dvi, tmp_path)  # PM-1 / AM-1 proposed
    from opendvi.review import confirm_identification

    listed = queue_pairs(dvi, "all")
    assert ("PM-1", "AM-1") in listed and ("PM-0", "AM-0") in listed
    before = dashboard(dvi).open_candidates
    number = site["ids"]["identification"]
    confirm_identification(dvi, number, checked="DNA report read", username="reviewer")
    assert ("PM-1", "AM-1") in queue_pairs(dvi, "all")  # proposed: still to be confirmed
    confirm_identification(dvi, number, checked="DNA report read", username="second")
    for show in ("credible", "all"):
        left = queue_pairs(dvi, show)
        assert not {p for p in left if "PM-1" in p or "AM-1" in p}, left
    assert ("PM-0", "AM-0") in queue_pairs(dvi, "all")
    credible_gone = len({p for p in listed if "PM-1" in p or "AM-1" in p} & queue_pairs(dvi))
    assert dashboard(dvi).open_candidates == len(queue_pairs(dvi)) <= before - credible_gone
    # Matched again, the identified records' pairs stay out; revoked, they come back.
    from opendvi.matching import run_matching

    run_matching(dvi, actor="test", everything=True)
    assert not {p for p in queue_pairs(dvi, "all") if "PM-1" in p or "AM-1" in p}
    revoke_identification(dvi, number, reason="DNA redone", username="reviewer")
    assert ("PM-1", "AM-1") in queue_pairs(dvi, "all")
    assert dashboard(dvi).open_candidates == len(queue_pairs(dvi)) == before


def test_a_records_history_holds_every_decision_identification_and_notification_step(
    site: dict[str, Any], cli: Any
) -> None:
    dvi, number = site["dvi"], site["ids"]["identification"]
    exclude(dvi, ("PM-1", "AM-0"), reason="dental records differ", username="reviewer")
    object_to_identification(dvi, number, note="check the teeth again", username="forensic")
    actions = [e.action for e in record_history(dvi, "PM-1", limit=100)]
    for action in (
        "candidate.excluded",
        "identification.proposed",
        "identification.confirmation_added",
        "identification.confirmed",
        "identification.objected",
        "notification.opened",
    ):
        assert action in actions, (action, actions)
    report = [e.action for e in record_history(dvi, "AM-1", limit=100)]
    assert "identification.confirmed" in report and "notification.opened" in report
    assert "candidate.excluded" not in report  # PM-1 / AM-0 is not about AM-1
    printed = cli("audit", "log", "--ref", "PM-1", "-n", "100").stdout
    assert "identification.confirmed" in printed and "candidate.excluded" in printed
    web = client(site, "auditor")
    page = web.get("/records/remains/PM-1").text
    for shown in ("identification: confirmed", "candidate: excluded", "notification: opened"):
        assert shown in page, shown
