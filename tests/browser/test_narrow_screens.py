"""On a phone (390 px wide) no page scrolls sideways: the header wraps, the two faces of a
pair stack, and a table wider than the screen scrolls inside its own box."""

from __future__ import annotations

from typing import Any

from tests.factories import PASSWORD

WIDE = "() => document.documentElement.scrollWidth"


def test_no_page_scrolls_sideways_at_390_px(live: dict[str, Any], browser: Any) -> None:
    ids = live["ids"]
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(live["url"] + "/login")
        page.fill("#username", "admin")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(live["url"] + "/")
        wide = {}
        for path in (
            "/",
            "/review?show=all",
            f"/candidates/{ids['candidate']}",
            "/records/remains",
            "/records/remains/PM-0",
            "/records/missing/new",
            "/identifications",
            f"/identifications/{ids['identification']}",
        ):
            assert page.goto(live["url"] + path).status == 200, path
            if (width := page.evaluate(WIDE)) > 390:
                wide[path] = width
        assert wide == {}
        # The queue's table is wider than the screen: it scrolls inside its box.
        page.goto(live["url"] + "/review?show=all")
        box = page.evaluate(
            "() => { const b = document.querySelector('.scroll');"
            " return [b.scrollWidth, b.clientWidth]; }"
        )
        assert box[0] > box[1]
    finally:
        context.close()
