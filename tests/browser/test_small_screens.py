"""Every page on a phone (390 px) and a tablet (768 px), signed in as each role: nothing
scrolls sideways, not even a table inside its box (on a phone a table becomes a card a
row), forms and pictures fit, the dashboard chart's labels are whole, and the navigation
wraps with every link on screen and legible against its own background. A screenshot of
each page at each width is saved (see the ``screenshots`` fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from opendvi.core.fields import ContactInput
from opendvi.core.roles import Permission, Role, may
from opendvi.db.tables import MissingPerson, Notification, Photo, Remains
from opendvi.faces import model_identity
from opendvi.records import store_photo
from opendvi.records.intake import save_record
from opendvi.review import confirm_identification
from tests.browser.test_review_in_browser import sign_in
from tests.factories import face_row, write_photo

WIDTHS = ((390, 844), (768, 1024))
ROLES = [role.value for role in Role if role is not Role.IMPORTER]
# For each header link and button: its words, whether it lies whole on the screen, and the
# contrast of its text against the first opaque background behind it (WCAG's ratio).
HEADER = """() => {
  const channel = v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = c => { const [r, g, b] = c.match(/[\\d.]+/g).map(Number);
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b); };
  const behind = el => { for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor, parts = c.match(/[\\d.]+/g);
      if (parts && (parts.length < 4 || Number(parts[3]) > 0)) return c; }
    return 'rgb(255, 255, 255)'; };
  return [...document.querySelectorAll('header a, header button')].map(el => {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    const [hi, lo] = [luminance(style.color), luminance(behind(el))].sort((a, b) => b - a);
    return { words: el.textContent.trim(), ratio: (hi + 0.05) / (lo + 0.05),
      whole: box.width > 0 && box.height > 0 && box.left >= 0 && box.right <= innerWidth + 1
        && style.visibility !== 'hidden' };
  });
}"""
SIDEWAYS = "() => document.documentElement.scrollWidth - window.innerWidth"
# Boxes whose content is wider than they are (a table scrolling inside its own box).
BOXED = """() => [...document.querySelectorAll('.scroll')]
  .filter(box => box.scrollWidth > box.clientWidth + 1).length"""
# The dashboard chart's month names that do not lie whole inside the chart.
CLIPPED = """() => { const chart = document.querySelector('.chart').getBoundingClientRect();
  const labels = [...document.querySelectorAll('.chart .month')];
  if (labels.length !== 12) return ['a label a month, of 12'];
  return labels.filter(label => {
    const box = label.getBoundingClientRect();
    return box.width === 0 || box.left < chart.left || box.right > chart.right
      || box.top < chart.top || box.bottom > chart.bottom; }).map(label => label.textContent); }"""


def _a_day_in_progress(live: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The site's records, plus a family to tell (AM-1's mother, PM-1 confirmed) and a
    post-mortem photo of two people where nobody chose the person."""
    dvi, ids = live["dvi"], live["ids"]
    mother = ContactInput(
        name="Olena Kovalenko",
        relationship="mother",
        consent_contact=True,
        consent_channels="in_person",
    )
    with dvi.db.write() as session:
        save_record(session, MissingPerson, actor="test", ref="AM-1", fields={}, contacts=[mother])
    for name in ("reviewer", "second"):
        confirm_identification(dvi, ids["identification"], checked="DNA report read", username=name)
    photo = store_photo(
        write_photo(tmp_path / "group.jpg", seed=99, size=(320, 200)),
        media=dvi.media,
        settings=dvi.settings,
    )
    model = model_identity(dvi.settings)
    rng = np.random.default_rng(9)
    with dvi.db.write() as session:
        saved = save_record(
            session, Remains, actor="test", ref="PM-GROUP", fields={}, photos=[photo]
        )
        row = session.execute(select(Photo).where(Photo.remains_id == saved.record_id)).scalar_one()
        for left in (20, 180):
            face = face_row(row.id, rng.normal(size=128), model, box=(left, 40, 90, 100))
            face.is_subject = False
            session.add(face)
        row.detection_status = "done"
        row.person_not_chosen = True
    with dvi.db.read() as session:
        task = session.execute(select(Notification.id)).scalar_one()
    return {"task": task, **ids}


def _pages(role: str, ids: dict[str, Any]) -> list[str]:
    pages = [
        "/",
        "/records/missing",
        "/records/remains",
        "/records/missing/AM-1",
        "/records/remains/PM-0",
        "/review?show=all",
        f"/candidates/{ids['candidate']}",
        "/identifications",
        f"/identifications/{ids['identification']}",
        "/faces/choose",
    ]
    if may(role, Permission.ADD_REPORTS):
        pages.append("/records/missing/new")
    if may(role, Permission.ADD_REMAINS):
        pages.append("/records/remains/new")
    if may(role, Permission.READ_FAMILIES):
        pages += ["/notifications?show=all", f"/notifications/{ids['task']}"]
    return pages


def test_every_page_fits_a_phone_and_a_tablet_for_every_role_with_a_legible_menu(
    live: dict[str, Any], browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    url = live["url"]
    ids = _a_day_in_progress(live, tmp_path)
    sideways: dict[str, int] = {}
    hidden: dict[str, list[str]] = {}
    faint: dict[str, list[str]] = {}
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        for width, height in WIDTHS:  # the sign-in page, before anyone signs in
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{url}/login")
            if (over := page.evaluate(SIDEWAYS)) > 0:
                sideways[f"/login at {width}"] = over
            page.screenshot(path=str(screenshots / f"small-login-{width}.png"), full_page=True)
        for role in ROLES:
            context.clear_cookies()
            page.set_viewport_size({"width": 390, "height": 844})
            sign_in(page, url, role)
            for path in _pages(role, ids):
                for width, height in WIDTHS:
                    page.set_viewport_size({"width": width, "height": height})
                    if width == WIDTHS[0][0]:
                        assert page.goto(url + path).status == 200, (role, path)
                    seen = f"{path} as {role} at {width}"
                    if (over := page.evaluate(SIDEWAYS)) > 0:
                        sideways[seen] = over
                    if boxed := page.evaluate(BOXED):
                        sideways[f"{seen}, in a box"] = boxed
                    if path == "/":
                        assert page.evaluate(CLIPPED) == [], f"chart labels cut off at {width}"
                    links = page.evaluate(HEADER)
                    assert {"Dashboard", "Review", "Identifications", "Sign out"} <= {
                        link["words"] for link in links
                    }
                    if off := [link["words"] for link in links if not link["whole"]]:
                        hidden[seen] = off
                    if low := [link["words"] for link in links if link["ratio"] < 4.5]:
                        faint[seen] = low
                    name = path.strip("/").replace("/", "-").replace("?", "-") or "dashboard"
                    page.screenshot(
                        path=str(screenshots / f"small-{role}-{name}-{width}.png"), full_page=True
                    )
    finally:
        context.close()
    assert sideways == {}, "these pages (or so many boxes on them) scroll sideways"
    assert hidden == {}, "these header links are cut off or hidden"
    assert faint == {}, "these header links are hard to read against their background"
