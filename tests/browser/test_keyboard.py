"""The core flow by keyboard alone, with the focus always visible; and the same flow with
JavaScript switched off, every step a plain form or link."""

from __future__ import annotations

from typing import Any

from opendvi import audit
from opendvi.db.tables import Candidate
from tests.factories import PASSWORD, sharpness

FOCUS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(), id: el.id, href: el.getAttribute('href') || '',
    text: (el.innerText || el.value || '').trim().slice(0, 60),
    visible: el.matches(':focus-visible'),
    outline: style.outlineStyle === 'none' || parseFloat(style.outlineWidth) === 0
      ? '' : `${style.outlineWidth} ${style.outlineStyle} ${style.outlineColor}`,
    shadow: style.boxShadow === 'none' ? '' : style.boxShadow,
    inMain: !!el.closest('main'),
    box: (() => { const r = el.getBoundingClientRect();
                  return [r.left, r.top, r.width, r.height]; })(),
  };
}"""


def focused(page: Any) -> dict[str, Any]:
    """What has the focus, and whether it shows: a focus ring drawn by outline or shadow."""
    now: dict[str, Any] = page.evaluate(FOCUS)
    assert now["tag"] != "body", "nothing has the focus"
    assert now["visible"] and (now["outline"] or now["shadow"]), f"focus not visible: {now}"
    left, top, width, height = now["box"]
    assert width > 0 and height > 0 and left >= 0 and top >= 0, f"focus off screen: {now}"
    return now


def tab_to(page: Any, selector: str, limit: int = 60) -> dict[str, Any]:
    """Press Tab until the element matching `selector` has the focus (it may have it
    already); every element passed on the way must show its focus."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return focused(page)
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement !== document.body"):
            focused(page)
    raise AssertionError(f"Tab never reached {selector}")


def test_sign_in_review_and_exclude_by_keyboard_with_the_focus_visible(
    live: dict[str, Any], page: Any
) -> None:
    url, ids = live["url"], live["ids"]
    page.goto(f"{url}/login")
    tab_to(page, "#username")
    page.keyboard.type("reviewer")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "password"
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{url}/"

    # The first Tab shows the skip link; following it, the next Tab lands in <main>.
    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip["href"] == "#main" and skip["text"] == "Skip to the content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused(page)["inMain"]

    tab_to(page, 'a[href="/review"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{url}/review"
    tab_to(page, 'a[href="/review?show=all"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, 'a[href="/candidates/PM-0/AM-0"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{url}/candidates/PM-0/AM-0"
    assert "PM-0" in page.locator("h1").inner_text()

    # Reveal the post-mortem face and exclude the pair, still by keyboard.
    face = f"#pic-pm-{ids['pm0-face']}"
    tab_to(page, f"{face} button")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{face} img[alt*='revealed']")
    tab_to(page, "#reason")
    page.keyboard.type("dental records differ")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Exclude this pair"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Excluded on" in page.content() and "dental records differ" in page.content()


def test_the_core_flow_works_without_javascript(live: dict[str, Any], browser: Any) -> None:
    url, ids = live["url"], live["ids"]
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        page.goto(f"{url}/login")
        assert page.evaluate("() => typeof htmx") == "undefined"  # no script ran
        page.get_by_label("User name").fill("reviewer")
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("heading", name="Dashboard").is_visible()

        with page.expect_navigation():
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
        with page.expect_navigation():
            page.get_by_role("link", name="All listed").click()
        with page.expect_navigation():
            page.locator('a[href="/candidates/PM-0/AM-0"]').click()
        assert page.url == f"{url}/candidates/PM-0/AM-0"

        # Revealing is a form post; the page comes back with the photo shown.
        face = page.locator(f"#pic-pm-{ids['pm0-face']}")
        picture = f"{url}/faces/{ids['pm0-face']}.jpg"
        blurred = sharpness(context.request.get(picture).body())
        assert face.locator("img").get_attribute("alt").endswith("blurred")
        with page.expect_navigation():
            face.get_by_role("button", name="Reveal post-mortem photo").click()
        assert page.url == f"{url}/candidates/PM-0/AM-0"
        assert face.locator("img").get_attribute("alt").endswith("revealed")
        assert face.get_by_role("button").count() == 0
        assert sharpness(context.request.get(picture).body()) > 2 * blurred

        # Excluding: a reason is asked for, then the exclusion is shown.
        with page.expect_navigation():
            page.get_by_role("button", name="Exclude this pair").click()
        assert "say why" in page.get_by_role("alert").inner_text()
        page.get_by_label("Not the same person, because").fill("dental records differ")
        with page.expect_navigation():
            page.get_by_role("button", name="Exclude this pair").click()
        assert page.url == f"{url}/candidates/PM-0/AM-0"
        assert "Excluded on" in page.content() and "dental records differ" in page.content()
        assert page.get_by_role("button", name="Exclude this pair").count() == 0
    finally:
        context.close()
    with live["dvi"].db.read() as session:
        assert session.get(Candidate, ids["candidate"]).status == "excluded"
        assert audit.verify(session).ok
