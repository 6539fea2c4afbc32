"""The page "Choose the person" in a browser: the photos of several people with a crop of
each face (post-mortem ones blurred), one click to choose, at desktop and phone widths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opendvi.infra.worker import Worker
from opendvi.records import Upload, add_record
from tests.factories import PASSWORD

WIDE = "() => document.documentElement.scrollWidth"


def _group_photos(live: dict[str, Any], small_knn: Path) -> None:
    dvi = live["dvi"]
    for kind, ref, who, name in (
        ("missing", "AM-GROUP", "caseworker", "kit_with_rose.jpg"),
        ("remains", "PM-GROUP", "forensic", "obama_and_biden.jpg"),
    ):
        group = (small_knn / "test" / name).read_bytes()
        add_record(
            dvi,
            kind=kind,  # type: ignore[arg-type]
            values={"ref": ref},
            actor=who,
            photos=[Upload(f"{ref}.jpg", group)],
            source="test",
        )
    Worker(dvi).run_once()


def test_a_person_is_chosen_with_one_click_on_the_page_that_lists_group_photos(
    live: dict[str, Any], browser: Any, small_knn: Path
) -> None:
    _group_photos(live, small_knn)
    shots = Path("/tmp/shots-intake")
    shots.mkdir(exist_ok=True)
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            page.goto(live["url"] + "/login")
            page.fill("#username", "forensic")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(live["url"] + "/")
            page.screenshot(path=str(shots / f"dashboard-{width}.png"), full_page=True)
            page.goto(live["url"] + "/faces/choose")
            assert page.evaluate(WIDE) <= width
            page.screenshot(path=str(shots / f"choose-{width}.png"), full_page=True)
            alts = page.locator(".choice img").evaluate_all("els => els.map(e => e.alt)")
            assert any(alt.startswith("post-mortem face") and "blurred" in alt for alt in alts)
            if width == 1280:
                page.locator("section.choice").first.locator("button").first.click()
                page.wait_for_url(live["url"] + "/faces/choose")
                assert page.locator("section.choice").count() == 1
                page.goto(live["url"] + "/records/missing/AM-GROUP")
                page.screenshot(path=str(shots / f"record-{width}.png"), full_page=True)
        finally:
            context.close()
