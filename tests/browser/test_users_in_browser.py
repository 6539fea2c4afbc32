"""An admin manages users in the browser, on a desktop and on a phone: the list, a role
changed from the row's form (the reload after it sends nothing again), a deactivation; the
page never scrolls sideways at 390 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.factories import PASSWORD

WIDE = "() => document.documentElement.scrollWidth"


def test_an_admin_changes_a_role_and_deactivates_a_user_at_1280_and_390_px(
    live: dict[str, Any], browser: Any, screenshots: Path
) -> None:
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        try:
            page.goto(live["url"] + "/login")
            page.fill("#username", "admin")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(live["url"] + "/")
            page.click("nav >> text=Users")
            page.wait_for_url(live["url"] + "/users")
            assert page.evaluate(WIDE) <= width
            page.screenshot(path=str(screenshots / f"users-{width}.png"), full_page=True)
            row = page.locator("#user-auditor")
            row.locator("summary").click()
            assert page.evaluate(WIDE) <= width
            page.screenshot(path=str(screenshots / f"users-open-{width}.png"), full_page=True)
            if width == 1280:
                row.locator("select[name=role]").select_option("caseworker")
                row.locator("text=Change role").click()
                page.wait_for_url("**/users?done=role**")
                assert "auditor has a new role" in page.inner_text("main")
                page.reload()  # a GET: nothing is sent again
                assert "caseworker" in page.locator("#user-auditor").inner_text()
                second = page.locator("#user-second")
                second.locator("summary").click()
                second.locator("text=Give a new password").click()
                page.wait_for_selector("code.password")
                assert "not shown again" in page.inner_text("main")
                page.screenshot(path=str(screenshots / f"users-reset-{width}.png"))
            else:
                row.locator("text=Deactivate auditor").click()
                page.wait_for_url("**/users?done=deactivated**")
                assert "no, deactivated" in page.locator("#user-auditor").inner_text()
                page.screenshot(path=str(screenshots / f"users-done-{width}.png"), full_page=True)
        finally:
            context.close()
