"""The reporting contact on the notification pages and through the API: in full for those
who tell families; masked for the auditor, unless they record a reason to see one contact
(audited, for that one answer); and no further than the reporter's sharing scope lets it."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from sqlalchemy import select

from opendvi.app import OpenDVI
from opendvi.db.tables import AuditEvent, Notification
from opendvi.web import create_app
from tests.factories import OLENA, PETRO, client, csrf_of, identified, users

EMAIL, PHONE = "olena@example.org", "+380440000000"
MASKED_EMAIL, MASKED_PHONE = "o…@…", "+38 … 00"
WITHHELD = "withheld: the reporter chose not to share"
WHY = "checking that the e-mail went to the address the mother gave"


def _site(dvi: OpenDVI, scope: str = "team") -> dict[str, Any]:
    users(dvi)
    olena = dataclasses.replace(OLENA, sharing_scope=scope)
    petro = dataclasses.replace(PETRO, sharing_scope=scope)
    made = identified(dvi, contacts=(olena, petro))
    with dvi.db.read() as session:
        task = session.execute(select(Notification.id)).scalar_one()
    return {**made, "dvi": dvi, "app": create_app(dvi=dvi), "task": task}


@pytest.fixture
def site(dvi: OpenDVI) -> dict[str, Any]:
    return _site(dvi)


def _api(site: dict[str, Any], username: str) -> tuple[Any, dict[str, str]]:
    web = client(site, username)
    return web, {"X-CSRF-Token": csrf_of(web.get("/").text)}


def _revealed_events(dvi: OpenDVI) -> list[AuditEvent]:
    with dvi.db.read() as session:
        return list(
            session.execute(
                select(AuditEvent).where(AuditEvent.action == "contact.revealed")
            ).scalars()
        )


def test_the_auditor_sees_the_contacts_e_mail_and_phone_masked_on_the_task_page(
    site: dict[str, Any],
) -> None:
    page = client(site, "auditor").get(f"/notifications/{site['task']}")
    assert page.status_code == 200
    assert EMAIL not in page.text and PHONE not in page.text
    assert MASKED_EMAIL in page.text and MASKED_PHONE in page.text
    assert "Olena Kovalenko" in page.text


def test_a_caseworker_sees_the_contact_in_full_on_the_task_page(site: dict[str, Any]) -> None:
    page = client(site, "case1").get(f"/notifications/{site['task']}")
    assert EMAIL in page.text and PHONE in page.text
    assert f'action="/notifications/{site["task"]}/reveal"' not in page.text


def test_the_auditor_sees_the_contact_masked_through_the_api(site: dict[str, Any]) -> None:
    web, _ = _api(site, "auditor")
    shown = web.get(f"/api/notifications/{site['task']}").json()["contact_details"]
    assert (shown["email"], shown["phone"]) == (MASKED_EMAIL, MASKED_PHONE)
    assert EMAIL not in json.dumps(web.get(f"/api/notifications/{site['task']}").json())
    full = client(site, "case1").get(f"/api/notifications/{site['task']}").json()
    assert (full["contact_details"]["email"], full["contact_details"]["phone"]) == (EMAIL, PHONE)


def test_the_auditor_sees_a_contact_in_full_on_the_page_for_a_recorded_reason_once(
    site: dict[str, Any],
) -> None:
    web = client(site, "auditor")
    url = f"/notifications/{site['task']}"
    page = web.get(url)
    assert f'action="{url}/reveal"' in page.text
    shown = web.post(f"{url}/reveal", data={"csrf": csrf_of(page.text), "why": WHY})
    assert shown.status_code == 200, shown.text
    assert EMAIL in shown.text and PHONE in shown.text
    # The reveal lasts for that one answer: the page read again is masked again.
    assert EMAIL not in web.get(url).text
    [event] = _revealed_events(site["dvi"])
    assert event.actor == "auditor" and event.details["why"] == WHY
    assert event.details["task"] == site["task"]
    assert EMAIL not in json.dumps(event.details) and PHONE not in json.dumps(event.details)


def test_a_reveal_on_the_page_without_a_reason_comes_back_asking_for_one(
    site: dict[str, Any],
) -> None:
    web = client(site, "auditor")
    url = f"/notifications/{site['task']}"
    answer = web.post(f"{url}/reveal", data={"csrf": csrf_of(web.get(url).text), "why": "  "})
    assert answer.status_code == 422
    assert 'id="reveal-problem"' in answer.text and "reason" in answer.text
    assert EMAIL not in answer.text
    assert _revealed_events(site["dvi"]) == []


def test_the_auditor_sees_a_contact_in_full_through_the_api_for_a_recorded_reason(
    site: dict[str, Any],
) -> None:
    web, headers = _api(site, "auditor")
    url = f"/api/notifications/{site['task']}/contact/reveal"
    assert web.post(url, json={"why": ""}, headers=headers).status_code == 422
    answer = web.post(url, json={"why": WHY}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["email"], answer.json()["phone"]) == (EMAIL, PHONE)
    assert len(_revealed_events(site["dvi"])) == 1


def test_a_reviewer_may_not_reveal_a_contact(site: dict[str, Any]) -> None:
    web, headers = _api(site, "rev1")
    url = f"/api/notifications/{site['task']}/contact/reveal"
    assert web.post(url, json={"why": WHY}, headers=headers).status_code == 403
    assert _revealed_events(site["dvi"]) == []


SCOPES = ("none", "team", "partners")


@pytest.mark.parametrize("scope", SCOPES)
def test_the_task_page_shows_the_auditor_what_the_sharing_scope_lets_through(
    dvi: OpenDVI, scope: str
) -> None:
    site = _site(dvi, scope)
    page = client(site, "auditor").get(f"/notifications/{site['task']}").text
    assert EMAIL not in page and PHONE not in page
    if scope == "none":
        assert "Olena Kovalenko" not in page and "Petro Kovalenko" not in page
        assert WITHHELD in page and MASKED_EMAIL not in page
        assert f'action="/notifications/{site["task"]}/reveal"' not in page
    else:
        assert "Olena Kovalenko" in page and "Petro Kovalenko" in page
        assert MASKED_EMAIL in page and WITHHELD not in page


@pytest.mark.parametrize("scope", SCOPES)
def test_a_caseworker_sees_the_contact_in_full_whatever_the_sharing_scope(
    dvi: OpenDVI, scope: str
) -> None:
    site = _site(dvi, scope)
    page = client(site, "case1").get(f"/notifications/{site['task']}").text
    assert EMAIL in page and "Olena Kovalenko" in page and WITHHELD not in page
    answer = client(site, "case1").get(f"/api/notifications/{site['task']}").json()
    assert answer["contact_details"]["email"] == EMAIL


@pytest.mark.parametrize("scope", SCOPES)
def test_the_api_gives_the_auditor_what_the_sharing_scope_lets_through(
    dvi: OpenDVI, scope: str
) -> None:
    site = _site(dvi, scope)
    web, _ = _api(site, "auditor")
    detail = web.get(f"/api/notifications/{site['task']}").json()
    [listed] = web.get("/api/notifications").json()
    identification = web.get(f"/api/identifications/{site['identification']}").json()
    everything = json.dumps([detail, listed, identification], ensure_ascii=False)
    assert EMAIL not in everything and PHONE not in everything
    if scope == "none":
        assert "Olena" not in everything and "Petro" not in everything
        assert detail["contact_details"]["name"] == WITHHELD == listed["contact"]
        assert detail["contact_details"]["shown"] == "withheld"
        assert [u["contact"] for u in detail["unreached"]] == [WITHHELD]
    else:
        assert detail["contact_details"]["name"] == "Olena Kovalenko" == listed["contact"]
        assert detail["contact_details"]["shown"] == "masked"
        assert [u["contact"] for u in detail["unreached"]] == ["Petro Kovalenko"]


@pytest.mark.parametrize("scope", SCOPES)
def test_the_queue_and_the_identification_page_name_a_contact_as_the_scope_lets_them(
    dvi: OpenDVI, scope: str
) -> None:
    site = _site(dvi, scope)
    web = client(site, "auditor")
    pages = (
        web.get("/notifications").text + web.get(f"/identifications/{site['identification']}").text
    )
    assert ("Olena Kovalenko" in pages) is (scope != "none")
    assert (WITHHELD in pages) is (scope == "none")


@pytest.mark.parametrize("scope", SCOPES)
def test_a_contact_who_chose_to_share_with_no_one_is_never_revealed_to_the_auditor(
    dvi: OpenDVI, scope: str
) -> None:
    site = _site(dvi, scope)
    web, headers = _api(site, "auditor")
    url = f"/api/notifications/{site['task']}/contact/reveal"
    answer = web.post(url, json={"why": WHY}, headers=headers)
    if scope == "none":
        assert answer.status_code == 409 and EMAIL not in answer.text
        assert "share their details with no one" in answer.json()["detail"]
        assert _revealed_events(dvi) == []
    else:
        assert answer.status_code == 200 and answer.json()["email"] == EMAIL
