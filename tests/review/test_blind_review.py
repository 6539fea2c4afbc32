"""Blind review: a reviewer records their own judgement of a pair before its score is shown;
the judgement is kept beside the score, once per reviewer on the same evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import Decision
from opendvi.errors import InputError, Refused
from opendvi.review import judge
from tests.factories import build_site, client, csrf_of


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


def test_a_judgement_is_kept_once_per_reviewer_and_audited(site: dict[str, Any]) -> None:
    dvi = site["dvi"]
    with pytest.raises(InputError) as bad:
        judge(dvi, ("PM-0", "AM-0"), verdict="maybe", username="reviewer")
    assert bad.value.field == "verdict" and "same, different, unsure" in str(bad.value)
    with pytest.raises(Refused, match="caseworker"):
        judge(dvi, ("PM-0", "AM-0"), verdict="same", username="caseworker")
    first = judge(
        dvi, ("PM-0", "AM-0"), verdict="Same", note="ear shape", username="reviewer"
    ).decision_id
    with pytest.raises(Refused, match="already recorded"):
        judge(dvi, ("PM-0", "AM-0"), verdict="different", username="reviewer")
    judge(dvi, ("PM-0", "AM-0"), verdict="unsure", username="second")
    with dvi.db.read() as session:
        kept = session.get(Decision, first)
        assert kept is not None and (kept.kind, kept.reason) == ("judgement", "same: ear shape")
        events = audit.recent(session, entity_ref="PM-0 / AM-0")
        assert [e.action for e in events].count("candidate.judged") == 2
        assert audit.verify(session).ok


def test_with_blind_review_the_score_waits_for_the_reviewers_judgement(
    site: dict[str, Any],
) -> None:
    site["dvi"].settings.blind_review = True
    url = "/candidates/PM-0/AM-0"
    number = f"/candidates/{site['ids']['candidate']}"
    web = client(site, "reviewer")
    page = web.get(url).text
    assert "Your judgement first" in page and "Why this score" not in page
    assert "Propose identification" not in page  # decisions come after the judgement
    assert "Strangers this similar" not in web.get("/review?show=all").text
    # An auditor decides nothing, so is shown the score as before.
    auditor = client(site, "auditor")
    assert "Why this score" in auditor.get(url).text
    assert "Strangers this similar" in auditor.get("/review?show=all").text

    token = csrf_of(page)
    missing = web.post(f"{number}/judge", data={"csrf": token, "note": "no choice made"})
    assert missing.status_code == 422 and "choose one of" in missing.text
    assert "no choice made" in missing.text  # what was typed is kept
    done = web.post(f"{number}/judge", data={"csrf": token, "verdict": "same", "note": "scar"})
    assert done.status_code == 303
    after = web.get(url).text
    assert "Why this score" in after and "Your judgement first" not in after
    assert "reviewer, " in after and "the same person (scar)" in after
    # Each reviewer judges for themselves.
    assert "Your judgement first" in client(site, "second").get(url).text


def test_without_blind_review_the_score_is_shown_at_once(site: dict[str, Any]) -> None:
    assert site["dvi"].settings.blind_review is False
    page = client(site, "reviewer").get("/candidates/PM-0/AM-0").text
    assert "Why this score" in page and "Your judgement first" not in page
    with site["dvi"].db.read() as session:
        assert not session.execute(select(Decision).where(Decision.kind == "judgement")).first()


def test_a_judgement_from_the_command_line(site: dict[str, Any], cli: Any, cli_as: Any) -> None:
    result = cli_as("second", "judge", "PM-0", "AM-0", "different", "--note", "chin")
    assert result.exit_code == 0, result.output
    assert "second judged PM-0 / AM-0: different people" in result.output
    with site["dvi"].db.read() as session:
        kept = session.execute(select(Decision).where(Decision.kind == "judgement")).scalar_one()
        assert kept.reason == "different: chin"


def test_a_judgement_through_the_api(site: dict[str, Any]) -> None:
    web = client(site, "reviewer")
    token = csrf_of(web.get("/").text)
    url = f"/api/candidates/{site['ids']['candidate']}/judge"
    bad = web.post(url, json={"verdict": "probably"}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 422 and bad.json()["field"] == "verdict"
    done = web.post(url, json={"verdict": "unsure"}, headers={"X-CSRF-Token": token})
    assert done.status_code == 201
    assert [(j["by"], j["verdict"]) for j in done.json()["judgements"]] == [("reviewer", "unsure")]
    again = web.post(url, json={"verdict": "same"}, headers={"X-CSRF-Token": token})
    assert again.status_code == 409 and "already recorded" in again.json()["detail"]
