"""A reviewer's path through the pages in a real browser: sign in, the queue, the
comparison with the post-mortem picture blurred until revealed, an exclusion; and a
caseworker who may not decide."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opendvi import audit
from tests.factories import PASSWORD


def sign_in(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")


def test_a_reviewer_reviews_and_excludes_a_candidate(
    live: dict[str, Any], page: Any, screenshots: Path
) -> None:
    url = live["url"]
    page.goto(f"{url}/login")
    page.screenshot(path=str(screenshots / "login.png"))
    sign_in(page, url, "reviewer")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)

    page.get_by_role("link", name="Review").click()
    page.get_by_role("link", name="All listed").click()
    assert page.get_by_role("heading", name="Candidates to review").is_visible()
    page.screenshot(path=str(screenshots / "review-queue.png"), full_page=True)

    page.goto(f"{url}/records/remains/PM-0")
    page.screenshot(path=str(screenshots / "record.png"), full_page=True)
    page.goto(f"{url}/candidates/{live['ids']['candidate']}")
    pm_picture = page.locator(f"#pic-pm-{live['ids']['pm0-face']} img")
    assert "revealed" not in (pm_picture.get_attribute("alt") or "")
    page.screenshot(path=str(screenshots / "compare.png"), full_page=True)
    page.locator(f"#pic-pm-{live['ids']['pm0-face']}").get_by_role(
        "button", name="Reveal post-mortem photo"
    ).click()
    page.wait_for_selector(f"#pic-pm-{live['ids']['pm0-face']} img[alt*='revealed']")

    page.get_by_role("button", name="Exclude this pair").click()
    assert page.get_by_role("alert").inner_text().startswith("reason: say why")
    page.get_by_label("Not the same person, because").fill("dental records differ")
    page.get_by_role("button", name="Exclude this pair").click()
    page.wait_for_selector("text=Excluded on")
    assert "dental records differ" in page.content()
    with live["dvi"].db.read() as session:
        assert audit.verify(session).ok


def test_a_caseworker_cannot_decide(live: dict[str, Any], page: Any) -> None:
    url = live["url"]
    sign_in(page, url, "caseworker")
    page.goto(f"{url}/candidates/{live['ids']['candidate']}")
    assert page.get_by_role("button", name="Exclude this pair").count() == 0
    response = page.request.post(
        f"{url}/candidates/{live['ids']['candidate']}/exclude",
        form={"reason": "x", "csrf": page.locator("input[name=csrf]").first.input_value()},
    )
    assert response.status == 403
    assert "a caseworker may not use this page" in response.text()


def test_an_identification_is_proposed_confirmed_by_two_others_and_revoked(
    live: dict[str, Any], browser: Any, screenshots: Path
) -> None:
    url = live["url"]
    contexts = []

    def person(username: str) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        sign_in(page, url, username)
        return page

    proposer = person("reviewer")
    proposer.goto(f"{url}/candidates/{live['ids']['candidate']}")
    proposer.get_by_label("dental records").last.check()
    proposer.get_by_role("button", name="Propose identification").click()
    proposer.wait_for_url(f"{url}/identifications/*")
    where = proposer.url
    assert "needs confirmation by two other reviewers" in proposer.content()
    assert "You cannot confirm this identification: you proposed it" in proposer.content()
    assert proposer.get_by_role("button", name="Confirm this identification").count() == 0

    for name in ("second", "forensic"):
        other = person(name)
        other.goto(where)
        other.get_by_label("What you checked").fill("DNA report read; both records agree")
        other.get_by_role("button", name="Confirm this identification").click()
        other.wait_for_load_state()
    proposer.goto(where)
    assert "Confirmed by second and forensic" in proposer.content()
    proposer.screenshot(path=str(screenshots / "identification.png"), full_page=True)

    proposer.get_by_text("Revoke this identification").click()  # apart, behind its summary
    proposer.get_by_label("Revoke, because").fill("the dental chart belonged to his brother")
    proposer.get_by_role("button", name="Revoke").click()
    proposer.wait_for_selector("text=Revoked: the dental chart belonged to his brother")
    with live["dvi"].db.read() as session:
        assert audit.verify(session).ok
    for context in contexts:
        context.close()


def test_from_intake_to_a_revoked_identification(
    live: dict[str, Any], browser: Any, small_knn: Path, screenshots: Path
) -> None:
    """A caseworker adds a report with photos, forensic staff add remains, the candidate
    appears, one reviewer proposes, two others confirm, and it is revoked."""
    from opendvi.infra.worker import Worker

    url = live["url"]
    pages = []

    def person(username: str) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        pages.append(context)
        sign_in(page, url, username)
        return page

    caseworker = person("caseworker")
    caseworker.goto(f"{url}/records/missing")
    caseworker.get_by_role("link", name="Add a report").click()
    caseworker.get_by_label("Reference").fill("AM-0101")
    caseworker.get_by_label("Sex", exact=True).select_option("M")
    caseworker.get_by_label("Year of birth").fill("1961")
    caseworker.get_by_label("Photos (of the person, from the family)").set_input_files(
        sorted(str(p) for p in (small_knn / "train" / "obama").iterdir())
    )
    caseworker.screenshot(path=str(screenshots / "new-report.png"), full_page=True)
    caseworker.get_by_role("button", name="Save").click()
    caseworker.wait_for_url(f"{url}/records/missing/AM-0101")

    forensic = person("forensic")
    forensic.goto(f"{url}/records/remains/new")
    forensic.get_by_label("Reference").fill("PM-0101")
    forensic.get_by_label("Estimated age (years)", exact=True).fill("40")
    forensic.get_by_label("Estimated age (years): to").fill("55")
    forensic.get_by_label("Photos (post-mortem)").set_input_files(
        str(small_knn / "test" / "obama1.jpg")
    )
    forensic.get_by_role("button", name="Save").click()
    forensic.wait_for_url(f"{url}/records/remains/PM-0101")

    Worker(live["dvi"]).run_once()  # what `opendvi serve` does in the background

    reviewer = person("reviewer")
    # (No screenshot here: these photos are test data and stay out of the repository.)
    reviewer.goto(f"{url}/records/remains/PM-0101")
    reviewer.get_by_role("link", name="AM-0101").click()
    assert "Candidate:" in reviewer.locator(".verdict").first.inner_text()
    reviewer.get_by_label("DNA").last.check()
    reviewer.get_by_role("button", name="Propose identification").click()
    reviewer.wait_for_url(f"{url}/identifications/*")
    where = reviewer.url
    for name in ("second", "admin"):
        other = person(name)
        other.goto(where)
        other.get_by_label("What you checked").fill("DNA report read; both records agree")
        other.get_by_role("button", name="Confirm this identification").click()
        other.wait_for_selector("text=Confirmed by" if name == "admin" else "text=confirmed once")
    reviewer.goto(f"{url}/records/missing/AM-0101")
    assert "identified" in reviewer.locator("h1").inner_text()
    reviewer.goto(where)
    reviewer.get_by_text("Revoke this identification").click()
    reviewer.get_by_label("Revoke, because").fill("DNA result was for another case")
    reviewer.get_by_role("button", name="Revoke").click()
    reviewer.wait_for_selector("text=Revoked: DNA result was for another case")
    with live["dvi"].db.read() as session:
        assert audit.verify(session).ok
    for context in pages:
        context.close()
