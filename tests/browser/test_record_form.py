"""A report typed in the browser: a second reporting contact added with "Add another
contact", dates chosen as dates, a mistake that shows the form again asking for the photos
again; then the report's page with everything typed. Screenshots at desktop and phone
widths of the two forms and the two kinds of page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.factories import PASSWORD, jpeg_bytes

SAVE = "form.record-form button[type=submit]"
WIDTHS = {"desktop": 1280, "phone": 390}


def _sign_in(page: Any, url: str, who: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{url}/login")
    page.fill("#username", who)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def _shots(page: Any, folder: Path, name: str) -> None:
    for width_name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"{name}-{width_name}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} at {width}px scrolls sideways by {overflow}px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_report_with_two_contacts_typed_in_the_browser(
    live: dict[str, Any], page: Any, screenshots: Path, tmp_path: Path
) -> None:
    url = live["url"]
    _sign_in(page, url, "caseworker")
    page.goto(f"{url}/records/missing/new")
    _shots(page, screenshots, "new-report")
    page.fill("#f-ref", "AM-BROWSER")
    page.fill("#f-full_name", "Olena Kovalenko")
    page.fill("#f-hair", "dark brown")
    page.fill("#f-birth_date", "1990-12-31")
    page.fill("#f-last_seen_date", "2026-05-01")
    page.fill("#f-last_seen_date-to", "2026-05-03")
    page.fill("#f-height_cm", "tall")  # a mistake: the form comes back
    page.fill("#f-contact_name", "Iryna Kovalenko")
    page.select_option("#f-contact_language", "uk")
    page.check("#f-contact_channels-phone")
    page.click("#add-contact")
    page.fill("#f-contact_name_2", "Petro Kovalenko")
    page.select_option("#f-contact_sharing_2", "none")
    photo = tmp_path / "olena.jpg"
    photo.write_bytes(jpeg_bytes(seed=4))
    page.set_input_files("#f-photos", str(photo))
    page.click(SAVE)
    assert "Choose the photos again: olena.jpg was not kept" in page.content()
    assert page.input_value("#f-contact_name_2") == "Petro Kovalenko"
    assert page.input_value("#f-last_seen_date-to") == "2026-05-03"
    page.fill("#f-height_cm", "170-175")
    page.set_input_files("#f-photos", str(photo))
    page.click(SAVE)
    page.wait_for_url(f"{url}/records/missing/AM-BROWSER")
    text = page.inner_text("main")
    assert "Reporting contact 2" in text and "Petro Kovalenko" in text
    assert "2026-05-01 to 2026-05-03" in text and "dark brown" in text
    _shots(page, screenshots, "report-page")

    _sign_in(page, url, "forensic")
    page.goto(f"{url}/records/remains/new")
    _shots(page, screenshots, "new-remains")
    page.fill("#f-ref", "PM-BROWSER")
    page.fill("#f-age_min", "30")
    page.fill("#f-age_max", "45")
    page.fill("#f-found_date", "2026-05-04")
    page.fill("#f-storage_location", "City mortuary, drawer 12")
    page.click(SAVE)
    page.wait_for_url(f"{url}/records/remains/PM-BROWSER")
    assert "City mortuary, drawer 12" in page.inner_text("main")
    _shots(page, screenshots, "remains-page")
