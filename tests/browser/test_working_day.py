"""A team's working day in a real browser, at a desktop's width and a tablet's: one reviewer
proposes an identification from the comparison, a second reviewer and a forensic specialist
each confirm it saying what they checked, a caseworker plans a visit and writes the words, a
second caseworker approves them, the first records the family told and closes the task.
No page scrolls sideways on the way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opendvi import audit
from opendvi.core.fields import ContactInput
from opendvi.db.tables import AuditEvent, MissingPerson, Notification
from opendvi.people import add_user
from opendvi.records.intake import save_record
from tests.browser.test_review_in_browser import sign_in
from tests.factories import PASSWORD

MOTHER = ContactInput(
    name="Olena Kovalenko",
    relationship="mother",
    consent_contact=True,
    consent_channels="in_person",
)
SIDEWAYS = "document.documentElement.scrollWidth > window.innerWidth + 1"


@pytest.mark.parametrize("width,height", [(1280, 900), (768, 1024)], ids=["desktop", "tablet"])
def test_two_reviewers_confirm_and_two_caseworkers_tell_the_family(
    live: dict[str, Any], browser: Any, screenshots: Path, width: int, height: int
) -> None:
    dvi, url, ids = live["dvi"], live["url"], live["ids"]
    add_user(dvi, username="case2", role="caseworker", actor="test", password=PASSWORD)
    with dvi.db.write() as session:
        save_record(session, MissingPerson, actor="test", ref="AM-0", fields={}, contacts=[MOTHER])
    contexts: list[Any] = []

    def person(username: str) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        sign_in(page, url, username)
        return page

    def whole(page: Any) -> None:  # usable at this width: nothing to scroll sideways for
        assert not page.evaluate(SIDEWAYS), f"{page.url} scrolls sideways at {width} px"

    try:
        proposer = person("reviewer")
        proposer.goto(f"{url}/candidates/{ids['candidate']}")
        whole(proposer)
        proposer.get_by_label("DNA").last.check()
        proposer.get_by_role("button", name="Propose identification").click()
        proposer.wait_for_url(f"{url}/identifications/*")
        where = proposer.url
        whole(proposer)
        assert "you proposed it" in proposer.content()

        for name, checked in (
            ("second", "DNA report 2026/31 read; sex and age agree"),
            ("forensic", "DNA profile compared with the mother's sample; photos seen"),
        ):
            other = person(name)
            other.goto(where)
            assert "DNA (a primary identifier)" in other.content()
            other.get_by_label("What you checked").fill(checked)
            other.get_by_role("button", name="Confirm this identification").click()
            other.wait_for_url(where)
            assert checked in other.content()
            assert other.get_by_role("button", name="Confirm this identification").count() == 0
            whole(other)
        assert "Confirmed by second and forensic" in other.locator("p.verdict").inner_text()
        other.screenshot(path=str(screenshots / f"working-day-identification-{width}.png"))

        with dvi.db.read() as session:
            task = session.execute(select(Notification.id)).scalar_one()
        first = person("caseworker")
        first.get_by_role("navigation", name="Main").get_by_role("link", name="Families").click()
        first.wait_for_url(f"{url}/notifications")
        whole(first)
        first.get_by_role("link", name=f"Task {task}").click()
        first.wait_for_url(f"{url}/notifications/{task}")
        first.get_by_label("Way of telling").select_option("in_person")
        first.get_by_label("First person").select_option("caseworker")
        first.get_by_label("Second person").select_option("case2")
        first.get_by_role("button", name="Save the plan").click()
        first.wait_for_url(f"{url}/notifications/{task}?done=plan#plan")
        first.get_by_role("button", name="I have read these words: save them").click()
        first.wait_for_url(f"{url}/notifications/{task}?done=words#words")
        assert first.get_by_role("button", name="Approve the words and the plan").count() == 0
        whole(first)

        second = person("case2")
        second.goto(f"{url}/notifications/{task}")
        second.get_by_role("button", name="Approve the words and the plan").click()
        second.wait_for_url(f"{url}/notifications/{task}?done=approve*")
        assert "ready to tell the family" in second.locator("p.verdict").inner_text()
        whole(second)

        first.reload()
        for item in ("identity is checked", "relationship to the missing person is checked"):
            first.get_by_label(item).check()
        first.get_by_role("button", name="Save the checklist").click()
        first.wait_for_url(f"{url}/notifications/{task}*")
        first.get_by_label("What", exact=True).first.select_option("visit")
        first.get_by_label("Outcome").select_option("told")
        first.get_by_label("Note", exact=True).fill("Told at home with her son present")
        first.get_by_role("button", name="Record").first.click()
        first.wait_for_url(f"{url}/notifications/{task}*")
        assert first.locator("p.verdict").inner_text().startswith("Carried out")
        first.get_by_label("Closing note (optional)").fill("Family to collect the remains")
        first.get_by_role("button", name="Close the task").click()
        first.wait_for_url(f"{url}/notifications/{task}*")
        assert first.locator("p.verdict").inner_text().startswith("Closed")
        whole(first)
        first.screenshot(path=str(screenshots / f"working-day-task-{width}.png"), full_page=True)
    finally:
        for context in contexts:
            context.close()

    with dvi.db.read() as session:
        assert audit.verify(session).ok
        actors = session.execute(
            select(AuditEvent.action, AuditEvent.actor).where(
                AuditEvent.action.in_(
                    (
                        "identification.proposed",
                        "identification.confirmation_added",
                        "identification.confirmed",
                        "notification.approved",
                        "notification.visit",
                        "notification.closed",
                    )
                )
            )
        ).all()
    assert sorted(actors) == sorted(
        [
            ("identification.proposed", "admin"),  # the site's other pair, PM-1 and AM-1
            ("identification.proposed", "reviewer"),
            ("identification.confirmation_added", "second"),
            ("identification.confirmed", "forensic"),
            ("notification.approved", "case2"),
            ("notification.visit", "caseworker"),
            ("notification.closed", "caseworker"),
        ]
    )
