"""The pages pass their own content policy: nothing on them is refused by the browser, the
reveal of a post-mortem photo (htmx) included, and the API description page runs."""

from __future__ import annotations

from typing import Any

from tests.factories import PASSWORD


def test_no_page_breaks_its_content_policy(live: dict[str, Any], page: Any) -> None:
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    ids = live["ids"]
    page.goto(live["url"] + "/login")
    page.fill("#username", "reviewer")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live["url"] + "/")
    for path in ("/", "/review", "/records/remains/PM-0", "/identifications"):
        assert page.goto(live["url"] + path).status == 200, path
    page.goto(live["url"] + f"/candidates/{ids['candidate']}")
    page.click(f"#pic-pm-{ids['pm0-face']} button.reveal")
    page.wait_for_selector(f"#pic-pm-{ids['pm0-face']} img[alt$='revealed']")
    page.goto(live["url"] + "/api/docs")
    page.wait_for_selector(".swagger-ui .info", timeout=15000)
    assert refused == []
