"""In a real browser: a blind judgement before the score, and a record changed from its page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from opendvi import audit
from opendvi.db.tables import MissingPerson
from tests.browser.test_review_in_browser import sign_in


def test_a_blind_judgement_then_the_score(
    live: dict[str, Any], page: Any, screenshots: Path
) -> None:
    live["dvi"].settings.blind_review = True
    url = live["url"]
    sign_in(page, url, "reviewer")
    page.goto(f"{url}/candidates/{live['ids']['candidate']}")
    assert page.get_by_role("heading", name="Your judgement first").is_visible()
    assert page.get_by_role("heading", name="Why this score").count() == 0
    page.screenshot(path=str(screenshots / "blind-review.png"), full_page=True)
    page.get_by_label("the same person").check()
    page.get_by_label("Note (optional)").fill("same scar over the left eyebrow")
    page.get_by_role("button", name="Record my judgement and show the score").click()
    assert page.get_by_role("heading", name="Why this score").is_visible()
    assert "the same person (same scar over the left eyebrow)" in page.content()
    with live["dvi"].db.read() as session:
        assert audit.verify(session).ok


def test_a_caseworker_corrects_a_report(live: dict[str, Any], page: Any) -> None:
    url = live["url"]
    sign_in(page, url, "caseworker")
    page.goto(f"{url}/records/missing/AM-0")
    page.get_by_role("link", name="Change this record or add photos").click()
    page.get_by_label("Full name").fill("Ana Ruiz")
    page.get_by_label("Height (cm)").fill("168")
    page.get_by_role("button", name="Save the changes").click()
    page.wait_for_url(f"{url}/records/missing/AM-0")
    assert "Ana Ruiz" in page.content()
    with live["dvi"].db.read() as session:
        record = session.execute(
            select(MissingPerson).where(MissingPerson.ref == "AM-0")
        ).scalar_one()
        assert (record.full_name, record.height_min_cm) == ("Ana Ruiz", 168)
        assert audit.verify(session).ok
