"""The notification tasks through the JSON API: a family told, from the task opened by the
confirmation to the task closed, with the same rules as the library (a second person
approves, e-mail as plain text into the outbox); who may read and who may change."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.settings import Settings
from opendvi.web import create_app
from tests.factories import client, csrf_of, identified, users

SENDER = "team@dvi.example.org"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        mail_from=SENDER,
        outbox_dir=tmp_path / "outbox",
        team_name="Kyiv identification team",
        team_phone="+380 44 000 1111",
    )


@pytest.fixture
def site(dvi: OpenDVI) -> dict[str, Any]:
    users(dvi)
    found = identified(dvi)
    return {"app": create_app(dvi=dvi), "dvi": dvi, **found}


def signed_in(site: dict[str, Any], username: str) -> tuple[TestClient, dict[str, str]]:
    web = client(site, username)
    return web, {"X-CSRF-Token": csrf_of(web.get("/").text)}


def test_a_family_told_through_the_api(site: dict[str, Any], tmp_path: Path) -> None:
    case1, h1 = signed_in(site, "case1")
    listed = case1.get("/api/notifications")
    assert listed.status_code == 200
    due = dt.date.today() + dt.timedelta(days=site["dvi"].settings.notify_within_days)
    [task] = listed.json()
    n = task["id"]
    assert task == {
        "id": n,
        "identification": site["identification"],
        "pm_ref": "PM-0",
        "am_ref": "AM-0",
        "contact": "Olena Kovalenko",
        "channel": "in_person",
        "language": "uk",
        "status": "prepared",
        "due_on": due.isoformat(),
        "overdue": False,
        "assigned": [],
    }
    url = f"/api/notifications/{n}"
    one = case1.get(url).json()
    assert one["identification_status"] == "confirmed" and one["method"] == "dna"
    assert one["contact_details"] == {
        "name": "Olena Kovalenko",
        "relationship": "mother",
        "language": "uk",
        "channels": ["in_person", "email"],
        "email": "olena@example.org",
        "phone": "+380440000000",
        "address": "",
        "shown": "full",
    }
    assert one["unreached"] == [
        {
            "contact": "Petro Kovalenko",
            "why": "Petro Kovalenko did not consent to be contacted",
        },
        {
            "contact": "Ivan Shevchuk",
            "why": "Ivan Shevchuk's consent to be contacted is not recorded; nobody reaches "
            "out until they have said yes",
        },
    ]
    assert [(i["item"], i["done"]) for i in one["checklist"]] == [
        ("identity", False),
        ("relationship", False),
        ("plain_words", False),
        ("next_steps", False),
        ("support", False),
    ]
    assert one["drafted_by"] is None and one["approved_by"] is None and one["steps"] == []
    assert "Що сказати Olena Kovalenko" in one["draft"]
    assert "+380 44 000 1111" in one["draft"]

    phone = case1.post(
        f"{url}/plan", json={"channel": "phone", "assigned": ["case1", "case3"]}, headers=h1
    )
    assert phone.status_code == 422 and phone.json()["field"] == "channel"
    assert "chose a visit in person or an e-mail, not a phone call" in phone.json()["detail"]
    planned = case1.post(
        f"{url}/plan",
        json={"channel": "email", "assigned": ["case1", "case3"], "due_on": "2030-01-31"},
        headers=h1,
    )
    assert planned.status_code == 200, planned.text
    assert planned.json()["channel"] == "email" and planned.json()["due_on"] == "2030-01-31"
    assert planned.json()["assigned"] == ["case1", "case3"]

    redrafted = case1.post(f"{url}/redraft", json={"language": "uk"}, headers=h1).json()
    assert redrafted["subject"] == "Щодо Andrii Kovalenko" and "особисто" in redrafted["draft"]
    assert redrafted["drafted_by"] is None
    words = redrafted["draft"] + "\n\nЗ повагою, Марія"
    saved = case1.post(f"{url}/words", json={"draft": words}, headers=h1).json()
    assert saved["drafted_by"] == "case1" and saved["draft"] == words
    assert saved["subject"] == "Щодо Andrii Kovalenko"  # no subject sent: it stays

    own = case1.post(f"{url}/approve", headers=h1)
    assert own.status_code == 409
    assert own.json() == {"detail": "you wrote these words; a second person approves them"}
    case2, h2 = signed_in(site, "case2")
    approved = case2.post(f"{url}/approve", headers=h2)
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved" and approved.json()["approved_by"] == "case2"

    case3, h3 = signed_in(site, "case3")
    sent = case3.post(f"{url}/send", headers=h3)
    assert sent.status_code == 200, sent.text
    [eml] = list((tmp_path / "outbox").glob("*.eml"))
    assert sent.json()["where"] == f"written to {eml}"
    assert sent.json()["status"] == "carried_out"
    step = sent.json()["steps"][-1]
    assert (step["kind"], step["outcome"], step["by"]) == ("outbox", "sent", "case3")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert not message.is_multipart() and message.get_content_type() == "text/plain"
    assert list(message.iter_attachments()) == []
    assert message["From"] == SENDER and message["To"] == "olena@example.org"
    assert message["Subject"] == "Щодо Andrii Kovalenko"
    assert message["Content-Language"] == "uk"
    assert "З повагою, Марія" in message.get_content()
    twice = case3.post(f"{url}/send", headers=h3)
    assert twice.status_code == 409 and twice.json()["detail"].startswith("not sent: ")
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1

    # The e-mail asked to meet; the family is told in person, after the checks.
    told = {"kind": "visit", "outcome": "told", "on": "2030-01-20", "note": "with her son"}
    early = case3.post(f"{url}/steps", json=told, headers=h3)
    assert early.status_code == 409
    assert "first: the contact's identity is checked" in early.json()["detail"]
    unknown = case3.post(f"{url}/checklist", json={"checklist": {"hugs": True}}, headers=h3)
    assert unknown.status_code == 422 and unknown.json()["field"] == "checklist"
    checked = case3.post(
        f"{url}/checklist",
        json={"checklist": {"identity": True, "relationship": True}},
        headers=h3,
    ).json()
    assert [i["item"] for i in checked["checklist"] if i["done"]] == ["identity", "relationship"]
    visit = case3.post(f"{url}/steps", json=told, headers=h3)
    assert visit.status_code == 201, visit.text
    last = visit.json()["steps"][-1]
    assert last["kind"] == "visit" and last["outcome"] == "told" and last["on"] == "2030-01-20"
    assert last["note"] == "with her son" and last["by"] == "case3"
    no_note = case1.post(f"{url}/steps", json={"kind": "referral"}, headers=h1)
    assert no_note.status_code == 422 and no_note.json()["field"] == "note"
    acknowledged = case1.post(f"{url}/steps", json={"kind": "acknowledged"}, headers=h1)
    assert acknowledged.status_code == 201 and acknowledged.json()["status"] == "acknowledged"
    closed = case1.post(f"{url}/close", json={"note": "remains returned"}, headers=h1)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["note"] == "remains returned"
    assert [s["kind"] for s in closed.json()["steps"]] == ["outbox", "visit", "acknowledged"]

    assert case1.get("/api/notifications").json() == []
    assert [t["status"] for t in case1.get("/api/notifications?open=false").json()] == ["closed"]
    assert [t["id"] for t in case1.get("/api/notifications?status=closed").json()] == [n]
    assert case1.get("/api/notifications?status=prepared").json() == []
    assert case1.get("/api/notifications?status=sent").status_code == 422
    with site["dvi"].db.read() as session:
        assert audit.verify(session).ok
        actions = {(e.action, e.actor) for e in audit.recent(session, limit=15)}
    assert ("notification.approved", "case2") in actions
    assert ("notification.sent", "case3") in actions
    assert ("notification.closed", "case1") in actions


def test_a_plan_keeps_its_due_date_unless_told_and_an_overdue_task_is_marked(
    site: dict[str, Any],
) -> None:
    web, header = signed_in(site, "case1")
    [task] = web.get("/api/notifications").json()
    url = f"/api/notifications/{task['id']}/plan"
    past = web.post(
        url,
        json={"channel": "in_person", "assigned": ["case1", "case3"], "due_on": "2020-01-01"},
        headers=header,
    ).json()
    assert past["due_on"] == "2020-01-01" and past["overdue"] is True
    kept = web.post(
        url, json={"channel": "in_person", "assigned": ["case2", "case3"]}, headers=header
    ).json()
    assert kept["due_on"] == "2020-01-01" and kept["assigned"] == ["case2", "case3"]
    cleared = web.post(
        url,
        json={"channel": "in_person", "assigned": ["case2", "case3"], "due_on": None},
        headers=header,
    ).json()
    assert cleared["due_on"] is None and cleared["overdue"] is False
    same = web.post(
        url, json={"channel": "in_person", "assigned": ["case2", "case2"]}, headers=header
    )
    assert same.status_code == 422 and same.json()["field"] == "assigned"


def test_who_may_read_and_who_may_change(site: dict[str, Any]) -> None:
    case1, _ = signed_in(site, "case1")
    [task] = case1.get("/api/notifications").json()
    url = f"/api/notifications/{task['id']}"

    auditor, auditor_header = signed_in(site, "auditor")
    assert [t["id"] for t in auditor.get("/api/notifications").json()] == [task["id"]]
    assert auditor.get(url).json()["contact"] == "Olena Kovalenko"
    for action, body in (
        ("words", {"draft": "words"}),
        ("redraft", {"language": "en"}),
        ("plan", {"channel": "in_person", "assigned": ["case1", "case3"]}),
        ("checklist", {"checklist": {"identity": True}}),
        ("approve", None),
        ("send", None),
        ("steps", {"kind": "note", "note": "x"}),
        ("close", {"note": "x"}),
    ):
        refused = auditor.post(f"{url}/{action}", json=body, headers=auditor_header)
        assert refused.status_code == 403, action
        assert refused.json()["detail"] == (
            "an auditor may not use this page; it is for: admin, caseworker"
        )

    reviewer, _ = signed_in(site, "rev1")
    for path in ("/api/notifications", url):
        hidden = reviewer.get(path)
        assert hidden.status_code == 403, path
        assert hidden.json()["detail"] == (
            "a reviewer may not use this page; it is for: admin, auditor, caseworker"
        )
    assert client(site).get(url).status_code == 401

    unsigned = case1.post(f"{url}/steps", json={"kind": "note", "note": "x"})
    assert unsigned.status_code == 403 and "reload the page" in unsigned.json()["detail"]
    missing = case1.get("/api/notifications/999999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "there is no notification task 999999"}
    after = case1.get(url).json()
    assert after["status"] == "prepared" and after["steps"] == [] and after["assigned"] == []


def test_the_openapi_description_lists_the_notification_operations(
    site: dict[str, Any],
) -> None:
    web, _ = signed_in(site, "auditor")
    spec = web.get("/api/openapi.json").json()
    paths = spec["paths"]
    assert set(paths["/api/notifications"]) == {"get"}
    assert set(paths["/api/notifications/{task_id}"]) == {"get"}
    for action in ("words", "redraft", "plan", "checklist", "approve", "send", "steps", "close"):
        assert set(paths[f"/api/notifications/{{task_id}}/{action}"]) == {"post"}, action
    assert "201" in paths["/api/notifications/{task_id}/steps"]["post"]["responses"]
    schemas = spec["components"]["schemas"]
    assert set(schemas["PlanIn"]["properties"]) == {"channel", "assigned", "due_on"}
    assert set(schemas["StepIn"]["properties"]) == {"kind", "outcome", "on", "note"}
    assert set(schemas["WordsIn"]["properties"]) == {"draft", "subject"}
    assert {"steps", "unreached", "checklist", "contact_details"} <= set(
        schemas["NotificationDetail"]["properties"]
    )
    assert "where" in schemas["SentOut"]["properties"]
    listed = {p["name"] for p in paths["/api/notifications"]["get"]["parameters"]}
    assert {"status", "open", "limit", "offset"} <= listed
