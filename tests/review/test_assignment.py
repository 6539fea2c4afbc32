"""Sharing the review out: a pair assigned to a reviewer (and taken back) from the library,
the command line, the API and the queue page; only someone who may review is given a pair,
only those ``Permission.ASSIGN_REVIEWS`` names may give one, every change is audited, the
assignment outlives re-matching, and the queue keeps to one reviewer's pairs, to pairs
nobody has, or to one event's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import AuditEvent, Remains
from opendvi.errors import NotFound, OpenDVIError, Refused
from opendvi.matching import run_matching
from opendvi.matching.queries import candidate
from opendvi.records.intake import save_record
from opendvi.review.assignment import assign, unassign
from opendvi.review.queue import review_queue
from opendvi.web.links import candidate_url
from tests.factories import build_site, client, csrf_of, login


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


def _queued(dvi: OpenDVI, **only: Any) -> list[tuple[str, str, str | None]]:
    return [(i.pm_ref, i.am_ref, i.assignee) for i in review_queue(dvi, "all", **only).items]


def test_a_pair_is_assigned_reassigned_and_taken_back_each_step_audited(
    site: dict[str, Any],
) -> None:
    dvi = site["dvi"]
    done = assign(dvi, ("PM-0", "AM-0"), to="second", username="admin")
    assert (done.to, done.before) == ("second", None)
    assert ("PM-0", "AM-0", "second") in _queued(dvi)
    again = assign(dvi, ("PM-0", "AM-0"), to="reviewer", username="second")
    assert (again.to, again.before) == ("reviewer", "second")
    back = unassign(dvi, ("PM-0", "AM-0"), username="reviewer")
    assert (back.to, back.before) == (None, "reviewer")
    assert ("PM-0", "AM-0", None) in _queued(dvi)
    with pytest.raises(Refused, match="PM-0 / AM-0 is not assigned to anyone"):
        unassign(dvi, ("PM-0", "AM-0"), username="reviewer")
    with dvi.db.read() as session:
        steps = session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.entity_ref)
            .where(AuditEvent.action.like("candidate.%assigned"))
            .order_by(AuditEvent.id)
        ).all()
        assert audit.verify(session).ok
    assert [tuple(s) for s in steps] == [
        ("candidate.assigned", "admin", "PM-0 / AM-0"),
        ("candidate.assigned", "second", "PM-0 / AM-0"),
        ("candidate.unassigned", "reviewer", "PM-0 / AM-0"),
    ]


def test_only_someone_who_may_review_is_given_a_pair_and_a_caseworker_gives_none(
    site: dict[str, Any],
) -> None:
    dvi = site["dvi"]
    with pytest.raises(Refused, match="caseworker is a caseworker; a pair is assigned only to"):
        assign(dvi, ("PM-0", "AM-0"), to="caseworker", username="admin")
    with pytest.raises(Refused, match="only a reviewer, a forensic specialist or an admin may"):
        assign(dvi, ("PM-0", "AM-0"), to="reviewer", username="caseworker")
    with pytest.raises(NotFound, match="no active user 'nobody-here'"):
        assign(dvi, ("PM-0", "AM-0"), to="nobody-here", username="admin")
    assert all(assignee is None for *_, assignee in _queued(dvi))


def test_an_assignment_outlives_matching_everything_again(site: dict[str, Any]) -> None:
    dvi = site["dvi"]
    assign(dvi, site["ids"]["candidate"], to="second", username="admin")
    run_matching(dvi, actor="test", everything=True)  # every candidate row is made anew
    assert ("PM-0", "AM-0", "second") in _queued(dvi)


def test_the_queue_keeps_to_one_reviewers_pairs_to_pairs_nobody_has_or_to_one_event(
    site: dict[str, Any],
) -> None:
    dvi = site["dvi"]
    assign(dvi, ("PM-0", "AM-0"), to="second", username="admin")
    assign(dvi, ("PM-1", "AM-0"), to="reviewer", username="admin")
    assert _queued(dvi, reviewer="second") == [("PM-0", "AM-0", "second")]
    nobodys = _queued(dvi, unassigned=True)
    assert nobodys and all(assignee is None for *_, assignee in nobodys)
    assert len(nobodys) == len(_queued(dvi)) - 2
    with dvi.db.write() as session:
        save_record(session, Remains, actor="test", ref="PM-1", fields={}, event_code="FLIGHT-9")
    assert {pm for pm, _, _ in _queued(dvi, event="FLIGHT-9")} == {"PM-1"}
    assert _queued(dvi, event="FLIGHT-9", reviewer="reviewer") == [("PM-1", "AM-0", "reviewer")]
    assert _queued(dvi, event="NO-SUCH-EVENT") == []


def test_the_queue_shows_each_pairs_faces_with_the_remains_blurred(site: dict[str, Any]) -> None:
    item = next(i for i in review_queue(site["dvi"], "all").items if i.pm_ref == "PM-0")
    assert item.pm_face is not None and item.pm_face.photo_id == site["ids"]["pm0-photo"]
    page = client(site, "reviewer").get("/review?show=all").text
    assert f'alt="face from post-mortem photo {site["ids"]["pm0-photo"]}, blurred"' in page
    assert "Reveal post-mortem photo" not in page  # revealed on the comparison page only
    assert 'href="/records/missing/AM-0"' in page  # the report's ref is a link


def test_the_command_line_assigns_and_takes_back(cli: Any, site: dict[str, Any]) -> None:
    login(cli, "admin")
    done = cli("review", "assign", "PM-0", "AM-0", "--to", "second")
    assert done.exit_code == 0 and "PM-0 / AM-0 assigned to second" in done.output
    with pytest.raises(OpenDVIError, match="a pair is assigned only to"):
        cli("review", "assign", "PM-0", "AM-0", "--to", "auditor")
    back = cli("review", "unassign", "PM-0", "AM-0")
    assert back.exit_code == 0 and "taken back from second" in back.output
    assert ("PM-0", "AM-0", None) in _queued(site["dvi"])


def test_the_api_assigns_and_takes_back_and_refuses_an_auditor(site: dict[str, Any]) -> None:
    number = site["ids"]["candidate"]
    web = client(site, "reviewer")
    token = csrf_of(web.get("/review").text)
    headers = {"X-CSRF-Token": token}
    given = web.post(f"/api/candidates/{number}/assign", json={"to": "second"}, headers=headers)
    assert given.status_code == 200, given.text
    assert given.json() == {"pm_ref": "PM-0", "am_ref": "AM-0", "to": "second", "before": None}
    wrong = web.post(f"/api/candidates/{number}/assign", json={"to": "auditor"}, headers=headers)
    assert wrong.status_code == 409 and "a pair is assigned only to" in wrong.text
    back = web.post(f"/api/candidates/{number}/assign", json={"to": None}, headers=headers)
    assert back.json()["to"] is None and back.json()["before"] == "second"
    auditor = client(site, "auditor")
    refused = auditor.post(
        f"/api/candidates/{number}/assign",
        json={"to": "second"},
        headers={"X-CSRF-Token": csrf_of(auditor.get("/review").text)},
    )
    assert refused.status_code == 403


def test_the_queue_page_assigns_a_pair_and_filters_assigned_to_me(site: dict[str, Any]) -> None:
    number = site["ids"]["candidate"]
    web = client(site, "second")
    queue = web.get("/review?show=all")
    assert 'name="reviewer"' in queue.text and 'name="event"' in queue.text
    posted = web.post(
        f"/candidates/{number}/assign",
        data={"to": "second", "back": "/review?show=all&reviewer=me", "csrf": csrf_of(queue.text)},
    )
    assert (
        posted.status_code == 303 and posted.headers["location"] == "/review?show=all&reviewer=me"
    )
    mine = web.get("/review?show=all&reviewer=me").text
    pair = candidate(site["dvi"], number)
    assert re.findall(r'action="/candidates/(\d+)/assign"', mine) == [str(number)]
    assert f'href="{candidate_url(pair.pm_ref, pair.am_ref)}"' in mine
    assert '<span class="assignee">second</span>' in mine
    refused = web.post(
        f"/candidates/{number}/assign",
        data={"to": "caseworker", "back": "/review?show=all", "csrf": csrf_of(queue.text)},
    )
    assert refused.status_code == 422 and "a pair is assigned only to" in refused.text
    assert "/assign" not in client(site, "auditor").get("/review?show=all").text


@pytest.mark.parametrize(
    "only", [{"reviewer": "second"}, {"event": "FLIGHT-9"}], ids=["reviewer", "event"]
)
def test_the_queue_keeps_to_a_reviewer_or_an_event_through_indexes(
    dvi: OpenDVI, only: dict[str, str]
) -> None:
    """The filtered queue starts from the reviewer's assignments or the event's records
    (never a walk of every candidate), so its cost follows that reviewer's or event's pairs."""
    from sqlalchemy import text

    from opendvi.db.tables import Candidate
    from opendvi.review.queue import _kept_to, in_review_queue

    query = (
        select(Candidate.id)
        .where(
            *in_review_queue(), *_kept_to(only.get("event", ""), only.get("reviewer", ""), False)
        )
        .order_by(Candidate.false_candidate_rate, Candidate.id)
        .limit(51)
    )
    with dvi.db.read() as session:
        if session.bind.dialect.name != "sqlite":  # type: ignore[union-attr]
            pytest.skip("the plan is read from SQLite's EXPLAIN QUERY PLAN")
        sql = str(query.compile(session.bind, compile_kwargs={"literal_binds": True}))
        plan = [row[-1] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql))]
    assert not any(step.startswith("SCAN") for step in plan), plan
