"""Telling families from the pages: the queue and the alerts, one task from plan to close by
plain form posts, a second person approving, Arabic words right to left, photos only after the
family asked, and who may see and change what."""

from __future__ import annotations

import datetime as dt
import email
import re
from email import policy
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import AuditEvent, Notification, NotificationStep, Remains
from opendvi.notify import approve, plan, record_step, save_words, set_checklist
from opendvi.people import add_user
from opendvi.records import store_photo
from opendvi.records.intake import save_record
from opendvi.review import revoke_identification
from opendvi.web import api_routes, create_app
from opendvi.web.security import declared_roles
from tests.factories import PASSWORD, csrf_of, identified, not_entitled, users, write_photo
from tests.web.test_accessibility import problems_on


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    """The families' site (tests/factories.py: one task, for Olena), a photo of the remains,
    an admin and a forensic specialist besides the staff there."""
    users(dvi)
    made = identified(dvi)
    for role in ("admin", "forensic"):
        add_user(dvi, username=role, role=role, actor="test", password=PASSWORD)
    with dvi.db.write() as session:
        photo = store_photo(
            write_photo(tmp_path / "pm.jpg", seed=3, size=(160, 160)),
            media=dvi.media,
            settings=dvi.settings,
        )
        save_record(session, Remains, actor="test", ref=made["pm"], fields={}, photos=[photo])
        task = session.execute(select(Notification)).scalar_one()
    return {**made, "dvi": dvi, "app": create_app(dvi=dvi), "task": task.id}


def signed_in(site: dict[str, Any], username: str | None) -> TestClient:
    web = TestClient(site["app"], follow_redirects=False)
    if username is not None:
        page = web.get("/login")
        response = web.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf": csrf_of(page.text)},
        )
        assert response.status_code == 303, response.text
    return web


def post(web: TestClient, url: str, **data: Any) -> Any:
    token = csrf_of(web.get("/").text)
    return web.post(url, data={"csrf": token, **data})


def task_row(site: dict[str, Any]) -> Notification:
    with site["dvi"].db.read() as session:
        task = session.get(Notification, site["task"])
        assert task is not None
        return task


def alert_text(html: str) -> str:
    found = re.search(r'<p class="problem" role="alert" id="([\w-]+)">([^<]*)</p>', html)
    assert found, "no problem shown"
    return found.group(2)


def forms_in_main(html: str) -> list[str]:
    main = html.split('<main id="main">', 1)[1]
    return re.findall(r'<form method="post" action="([^"]+)"', main)


def test_the_queue_lists_open_tasks_soonest_first_with_overdue_marked(
    site: dict[str, Any],
) -> None:
    dvi = site["dvi"]
    second = identified(dvi, 1)["identification"]
    with dvi.db.read() as session:
        later = session.execute(
            select(Notification.id).where(Notification.identification_id == second)
        ).scalar_one()
    yesterday = dt.date.today() - dt.timedelta(days=1)
    plan(
        dvi,
        later,
        channel="in_person",
        assigned=["case1", "case2"],
        due_on=yesterday,
        username="case1",
    )
    web = signed_in(site, "case1")
    queue = web.get("/notifications")
    assert queue.status_code == 200
    # The overdue task first, then the one due in the days allowed.
    assert re.findall(r'href="/notifications/(\d+)"', queue.text) == [str(later), str(site["task"])]
    rows = re.findall(
        r"<tr( class=\"overdue\")?>\s*<td><a href=\"/notifications/(\d+)\"", queue.text
    )
    assert rows == [(' class="overdue"', str(later)), ("", str(site["task"]))]
    assert "1 overdue" in queue.text and f"{yesterday.isoformat()} <strong" in queue.text
    first = queue.text.split(f'href="/notifications/{site["task"]}"')[1].split("</tr>")[0]
    for shown in ("Olena Kovalenko", "AM-0", "a visit in person", "Українська", "prepared"):
        assert shown in first, shown
    assert "Petro Kovalenko" not in queue.text  # no task for a contact who said no
    assert '<a href="/notifications" aria-current="page">Families</a>' in queue.text
    home = web.get("/").text
    found = re.search(
        r'Families to tell</h2><p class="big"><a href="/notifications">(\d+)</a>', home
    )
    assert found and found.group(1) == "2"
    assert "1 overdue" in home
    assert problems_on(queue.text) == [] and problems_on(home) == []


def test_a_reviewer_may_not_see_families_and_the_auditor_reads_only(
    site: dict[str, Any],
) -> None:
    reviewer = signed_in(site, "rev1")
    assert reviewer.get("/notifications").status_code == 403
    assert reviewer.get(f"/notifications/{site['task']}").status_code == 403
    assert ">Families</a>" not in reviewer.get("/").text
    identification = reviewer.get(f"/identifications/{site['identification']}").text
    assert "Olena Kovalenko" not in identification and "Petro Kovalenko" not in identification
    assert "1 notification task; 2 contacts not told" in identification

    auditor = signed_in(site, "auditor")
    page = auditor.get(f"/notifications/{site['task']}")
    assert page.status_code == 200 and "Olena Kovalenko" in page.text
    # The auditor's one form: a reason to see the contact's details in full.
    assert forms_in_main(page.text) == [f"/notifications/{site['task']}/reveal"]
    assert "Not done: The contact&#39;s identity is checked" in page.text
    assert ">Families</a>" in auditor.get("/").text
    refused = post(auditor, f"/notifications/{site['task']}/approve")
    assert refused.status_code == 403 and "it is for: admin, caseworker" in refused.text
    assert auditor.get(f"/notifications/{site['task']}/photos").status_code == 403
    assert problems_on(page.text) == []


def test_the_identification_page_lists_its_tasks_and_who_is_not_told_and_why(
    site: dict[str, Any],
) -> None:
    page = signed_in(site, "case2").get(f"/identifications/{site['identification']}").text
    assert f'<a href="/notifications/{site["task"]}">Task {site["task"]}</a>' in page
    assert "<td>Olena Kovalenko</td>" in page
    assert "Petro Kovalenko did not consent to be contacted" in page
    assert "Ivan Shevchuk&#39;s consent to be contacted is not recorded" in page
    assert problems_on(page) == []


def test_a_task_from_plan_to_close_by_form_posts(site: dict[str, Any]) -> None:
    url = f"/notifications/{site['task']}"
    case1, case2 = signed_in(site, "case1"), signed_in(site, "case2")
    page = case1.get(url).text
    assert "Every contact" not in page and "Petro Kovalenko did not" in page
    assert problems_on(page) == []

    # The plan: a way the contact did not choose is refused, with the reason on the field.
    wrong = post(case1, f"{url}/plan", channel="phone", assigned=["case1", "case3"])
    assert wrong.status_code == 422
    assert alert_text(wrong.text) == (
        "channel: Olena Kovalenko chose a visit in person or an e-mail, not a phone call"
    )
    assert re.search(
        r'id="plan-channel" name="channel" aria-describedby="plan-problem"', wrong.text
    )
    assert '<option value="case3" selected>' in wrong.text  # what was chosen is kept
    assert problems_on(wrong.text) == []
    due = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    done = post(case1, f"{url}/plan", channel="in_person", assigned=["case1", "case3"], due_on=due)
    assert (done.status_code, done.headers["location"]) == (303, f"{url}?done=plan#plan")
    task = task_row(site)
    assert (task.channel, task.assigned, task.due_on.isoformat()) == (
        "in_person",
        ["case1", "case3"],
        due,
    )

    # The words: read, changed and saved by one caseworker.
    empty = post(case1, f"{url}/words", subject="", draft="  ")
    assert empty.status_code == 422 and alert_text(empty.text) == "draft: the words are empty"
    assert 'id="words-draft" name="draft" rows="14" lang="uk" dir="ltr" aria-describedby' in (
        empty.text
    )
    words = task.draft + "\n\nМи поруч."
    assert post(case1, f"{url}/words", subject="", draft=words).status_code == 303
    assert task_row(site).draft == words

    # Approval: never by whoever saved the words.
    assert "Approve the words and the plan</button>" not in case1.get(url).text
    own = post(case1, f"{url}/approve")
    assert own.status_code == 422
    assert alert_text(own.text) == "you wrote these words; a second person approves them"
    assert task_row(site).status == "prepared"
    assert "Approve the words and the plan</button>" in case2.get(url).text
    assert post(case2, f"{url}/approve").status_code == 303
    task = task_row(site)
    assert task.status == "approved" and task.approved_by_id is not None

    # The visit: first the identity and the relationship are checked.
    early = post(case1, f"{url}/steps", kind="visit", outcome="told", on=dt.date.today())
    assert early.status_code == 422
    assert "first: the contact's identity is checked" in alert_text(early.text).replace(
        "&#39;", "'"
    )
    assert problems_on(early.text) == []
    ticked = post(case1, f"{url}/checklist", item=["identity", "relationship"])
    assert ticked.status_code == 303
    assert task_row(site).checklist == {
        "identity": True,
        "relationship": True,
        "plain_words": False,
        "next_steps": False,
        "support": False,
    }
    visited = post(
        case1, f"{url}/steps", kind="visit", outcome="told", on="2025-03-04", note="with her son"
    )
    assert visited.status_code == 303 and task_row(site).status == "carried_out"
    acknowledged = post(case2, f"{url}/steps", kind="acknowledged", note="by telephone")
    assert acknowledged.status_code == 303 and task_row(site).status == "acknowledged"
    no_note = post(case2, f"{url}/steps", kind="referral", note="")
    assert (
        no_note.status_code == 422 and alert_text(no_note.text) == "note: say what the referral was"
    )
    assert 'id="after-note" name="note" rows="2" aria-describedby="after-problem"' in no_note.text
    closed = post(case1, f"{url}/close", note="remains returned to the family")
    assert closed.status_code == 303 and task_row(site).status == "closed"
    assert task_row(site).note.endswith("remains returned to the family")

    final = case2.get(url).text
    assert "2025-03-04</td><td>case1</td><td>Visit</td><td>the family was told</td>" in final
    assert "<td>with her son</td>" in final
    assert "The family acknowledged the news" in final
    for action in ("planned", "drafted", "approved", "checklist", "visit", "closed"):
        assert f"<td>notification: {action}</td>" in final, action
    assert forms_in_main(final) == [f"{url}/steps"]  # only what comes after: a follow-up...
    assert problems_on(final) == []
    assert str(site["task"]) not in re.findall(
        r'href="/notifications/(\d+)"', case1.get("/notifications").text
    )
    assert f'href="{url}"' in case1.get("/notifications?show=all").text
    with site["dvi"].db.read() as session:
        assert audit.verify(session).ok


def test_words_in_arabic_are_shown_right_to_left(site: dict[str, Any]) -> None:
    url = f"/notifications/{site['task']}"
    web = signed_in(site, "case1")
    unknown = post(web, f"{url}/redraft", language="xx")
    assert unknown.status_code == 422 and alert_text(unknown.text).startswith("language: choose")
    assert post(web, f"{url}/redraft", language="ar").status_code == 303
    task = task_row(site)
    assert task.language == "ar" and task.drafted_by_id is None
    page = web.get(url).text
    field = re.search(r'<textarea id="words-draft"[^>]*>', page)
    assert field and 'lang="ar"' in field.group(0) and 'dir="rtl"' in field.group(0)
    assert task.draft.split("\n")[0] in page and re.search("[\u0600-\u06ff]", task.draft)
    assert '<option value="ar" lang="ar" selected>العربية</option>' in page
    assert problems_on(page) == []


def told(site: dict[str, Any]) -> None:
    """The family was told at a visit (through the use-cases)."""
    dvi, task = site["dvi"], site["task"]
    plan(dvi, task, channel="in_person", assigned=["case1", "case3"], due_on=None, username="case1")
    row = task_row(site)
    save_words(dvi, task, subject="", text=row.draft, username="case1")
    approve(dvi, task, username="case2")
    set_checklist(dvi, task, items={"identity": True, "relationship": True}, username="case1")
    record_step(dvi, task, kind="visit", outcome="told", username="case3")


def test_photos_are_shown_only_after_the_family_asked_blurred_with_a_warning(
    site: dict[str, Any],
) -> None:
    url = f"/notifications/{site['task']}"
    web = signed_in(site, "case1")
    before = web.get(f"{url}/photos")
    assert before.status_code == 409 and "The family has not asked to see photos" in before.text
    told(site)
    assert "Photos, to view with the family" not in web.get(url).text
    assert post(web, f"{url}/photos/viewed").status_code == 409  # nothing asked yet
    asked = post(web, f"{url}/steps", kind="photo_request", note="wants to see his face")
    assert asked.status_code == 303
    assert f'href="{url}/photos">Photos, to view with the family' in web.get(url).text
    page = web.get(f"{url}/photos")
    assert page.status_code == 200
    assert "They can be deeply distressing" in page.text
    assert "never sent, attached" in page.text
    assert "Reveal post-mortem photo" in page.text
    assert re.search(r'alt="post-mortem photo \d+, blurred"', page.text)
    assert "The family asked to see photos (wants to see his face)" in page.text
    assert problems_on(page.text) == []
    viewed = post(web, f"{url}/photos/viewed", note="with the family doctor")
    assert viewed.status_code == 303 and viewed.headers["location"] == f"{url}/photos"
    with site["dvi"].db.read() as session:
        kinds = session.execute(
            select(NotificationStep.kind, NotificationStep.note).order_by(NotificationStep.id)
        ).all()
    assert [tuple(k) for k in kinds][-2:] == [
        ("photo_request", "wants to see his face"),
        ("photo_viewed", "with the family doctor"),
    ]
    assert "Photos viewed with the family (with the family doctor)" in web.get(f"{url}/photos").text


def test_an_approved_email_goes_to_the_outbox_from_the_page(site: dict[str, Any]) -> None:
    dvi, url = site["dvi"], f"/notifications/{site['task']}"
    case1, case2 = signed_in(site, "case1"), signed_in(site, "case2")
    post(case1, f"{url}/plan", channel="email", assigned=["case1", "case3"])
    assert (
        post(case1, f"{url}/words", subject="Щодо", draft=task_row(site).draft).status_code == 303
    )
    assert "The e-mail can be sent once the words are approved" in case1.get(url).text
    assert post(case2, f"{url}/approve").status_code == 303
    page = case1.get(url).text
    assert "through the outbox folder" in page and "olena@example.org" in page
    unsent = post(case1, f"{url}/send")
    assert unsent.status_code == 422
    assert alert_text(unsent.text) == "not sent: no sender is set (OPENDVI_MAIL_FROM)"
    dvi.settings.mail_from = "team@dvi.example.org"
    assert post(case1, f"{url}/send").status_code == 303
    assert task_row(site).status == "carried_out"
    files = list(dvi.settings.resolved_outbox_dir().glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "olena@example.org" and not message.is_multipart()
    assert "Send the e-mail" not in case1.get(url).text  # never twice
    assert post(case1, f"{url}/send").status_code == 422


def test_a_contact_no_longer_entitled_is_named_and_nothing_is_sent_from_the_page(
    site: dict[str, Any],
) -> None:
    dvi, url = site["dvi"], f"/notifications/{site['task']}"
    case1, case2 = signed_in(site, "case1"), signed_in(site, "case2")
    post(case1, f"{url}/plan", channel="email", assigned=["case1", "case3"])
    post(case1, f"{url}/words", subject="Щодо", draft=task_row(site).draft)
    assert post(case2, f"{url}/approve").status_code == 303
    dvi.settings.mail_from = "team@dvi.example.org"
    not_entitled(dvi, "Olena Kovalenko")
    why = "Olena Kovalenko is not among those entitled to be told"
    assert why in case1.get(f"/identifications/{site['identification']}").text
    assert why in case1.get(url).text
    refused = post(case1, f"{url}/send")
    assert refused.status_code == 422 and why in alert_text(refused.text)
    assert task_row(site).status == "approved"
    assert list(dvi.settings.resolved_outbox_dir().glob("*.eml")) == []


def test_alerts_after_a_revocation_are_listed_and_marked_seen(site: dict[str, Any]) -> None:
    told(site)
    revoke_identification(
        site["dvi"], site["identification"], reason="DNA sample mix-up", username="rev1"
    )
    web = signed_in(site, "case1")
    queue = web.get("/notifications").text
    assert "Alerts for you" in queue and "was revoked after the family was told" in queue
    assert "DNA sample mix-up" in queue and problems_on(queue) == []
    with site["dvi"].db.read() as session:
        mine, others = [], []
        for step in session.execute(
            select(NotificationStep).where(NotificationStep.kind == "alert")
        ).scalars():
            (mine if step.user_id == _user_id(session, "case1") else others).append(step.id)
    assert len(mine) == 1 and len(others) == 2
    not_mine = post(web, "/notifications/alerts/seen", step=others[0])
    assert not_mine.status_code == 422
    assert alert_text(not_mine.text) == f"there is no alert {others[0]} for case1"
    assert post(web, "/notifications/alerts/seen", step=mine[0]).status_code == 303
    assert "Alerts for you" not in web.get("/notifications").text
    again = post(web, "/notifications/alerts/seen", step=mine[0])
    assert again.status_code == 422 and "already seen" in again.text
    assert "Alerts for you" in signed_in(site, "case2").get("/notifications").text
    with site["dvi"].db.read() as session:
        event = session.execute(
            select(AuditEvent).where(AuditEvent.action == "notification.alert_seen")
        ).scalar_one()
        assert (event.actor, event.entity_id, event.details) == (
            "case1",
            site["task"],
            {"step": mine[0]},
        )
        assert audit.verify(session).ok


def _user_id(session: Any, username: str) -> int:
    from opendvi.db.tables import User

    return int(session.execute(select(User.id).where(User.username == username)).scalar_one())


@pytest.mark.parametrize("username", ["admin", "case1", "rev1", "forensic", "auditor", None])
def test_every_families_route_walked_with_every_role(
    site: dict[str, Any], username: str | None
) -> None:
    """As tests/test_web.py walks every route, with a notification task to walk to."""
    roles = {"case1": "caseworker", "rev1": "reviewer", None: None}
    role = roles.get(username, username)
    web = signed_in(site, username)
    token = csrf_of(web.get("/login").text)
    walked = 0
    for route in api_routes(site["app"]):
        if not route.path.startswith("/notifications"):
            continue
        allowed = declared_roles(route.endpoint) or frozenset()
        path = route.path.replace("{task_id}", str(site["task"]))
        for method in route.methods or ():
            walked += 1
            if method == "GET":
                response = web.get(path)
            else:
                response = web.request(method, path, data={"csrf": token, "reason": "x"})
            where = f"{method} {route.path} as {role}: {response.status_code}"
            if role is None:
                assert response.status_code == 303, where
                assert response.headers["location"].startswith("/login"), where
            elif role in allowed:
                assert response.status_code < 400 or response.status_code in (409, 422), where
            else:
                assert response.status_code == 403, where
    assert walked == 14


def test_the_task_page_says_what_each_step_did_and_who_must_approve(
    site: dict[str, Any],
) -> None:
    """After each form the page says what was done; the caseworker who saved the words is
    told who must approve them; the banner says where the task stands; the contacts not
    told are headed as such; status and way of telling are said once; the closing note is
    not under the words."""
    url = f"/notifications/{site['task']}"
    case1, case2 = signed_in(site, "case1"), signed_in(site, "case2")
    page = case1.get(url).text
    assert "<h2>Not told</h2>" not in page and "Contacts who will not be told" in page
    assert page.count("<dt>Status</dt>") == 0 and page.count("<dt>Way of telling</dt>") == 0
    planned = post(case1, f"{url}/plan", channel="in_person", assigned=["case1", "case3"])
    assert planned.headers["location"] == f"{url}?done=plan#plan"
    assert "The plan is saved" in case1.get(planned.headers["location"]).text
    saved = post(case1, f"{url}/words", subject="", draft=task_row(site).draft)
    shown = case1.get(saved.headers["location"]).text
    assert "The words are saved" in shown
    banner = re.search(r'<p class="verdict[^"]*">(.*?)</p>', shown, re.S)
    assert banner and "wait for approval" in banner.group(1)
    assert "must approve" in shown and "not you" in shown
    assert "case2" in shown.split("must approve", 1)[1][:400]  # who may approve, named
    approved = post(case2, f"{url}/approve")
    assert "Approved" in case2.get(approved.headers["location"]).text
    for item in ("identity", "relationship"):
        set_checklist(site["dvi"], site["task"], items={item: True}, username="case1")
    record_step(site["dvi"], site["task"], kind="visit", outcome="told", username="case1")
    closed = post(case1, f"{url}/close", note="Family to collect the remains")
    page = case1.get(closed.headers["location"]).text
    words = page.split('id="words"', 1)[1].split("<h2", 1)[0]
    assert "Family to collect the remains" not in words
    assert "Family to collect the remains" in page
