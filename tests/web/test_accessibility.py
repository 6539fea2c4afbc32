"""Accessibility of the pages, without a browser: the colours in app.css meet WCAG 2.1
contrast (1.4.3 text, 1.4.11 controls and focus), focus is always visible, and every page a
signed-in admin can open has labelled fields, alt text, one <h1>, a <main> and a language.

Keyboard use and the pages without JavaScript are walked in tests/browser/test_keyboard.py."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from opendvi.app import OpenDVI
from opendvi.web import api_routes
from tests.factories import build_site, client, csrf_of, fill

WEB = Path(__file__).resolve().parents[2] / "src" / "opendvi" / "web"
CSS = (WEB / "static" / "app.css").read_text()

TEXT = 4.5  # 1.4.3: body text (no text here is large enough for the 3:1 allowance)
NON_TEXT = 3.0  # 1.4.11: the edges of controls, focus indicators, chart bars

# -- reading app.css ---------------------------------------------------------------------------


def css_rules(css: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) for every rule, one entry per selector of a group; rules
    inside @media and the like are read as if they were at the top."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"@[^{;]*\{", "", css)  # open an at-rule block: keep what is inside
    rules = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = {}
        for part in body.split(";"):
            if ":" in part:
                name, value = part.split(":", 1)
                declarations[name.strip().lower()] = value.strip()
        for selector in selectors.split(","):
            if selector.strip():
                rules.append((" ".join(selector.split()), declarations))
    return rules


RULES = css_rules(CSS)
VARIABLES = {
    name: value
    for selector, declarations in RULES
    if selector == ":root"
    for name, value in declarations.items()
    if name.startswith("--")
}
NO_COLOUR = {"none", "inherit", "transparent", "currentcolor", "initial", "unset"}


def colours_in(value: str) -> list[str]:
    """The colours a declaration value paints with, as #rrggbb, after var() is resolved."""
    value = re.sub(r"var\((--[\w-]+)\)", lambda m: VARIABLES[m.group(1)], value)
    found = []
    for token in re.findall(r"#[0-9a-fA-F]{3,8}\b|[a-zA-Z-]+\([^)]*\)|[a-zA-Z-]+", value):
        if token.startswith("#"):
            digits = token[1:]
            if len(digits) in (3, 4):
                digits = "".join(c * 2 for c in digits[:3])
            found.append("#" + digits[:6].lower())
        elif token.lower() in ("white",):
            found.append("#ffffff")
        elif token.lower() in ("black",):
            found.append("#000000")
        elif re.match(r"(rgba?|hsla?|color|oklch|lab|lch)\(", token.lower()):
            raise AssertionError(f"teach this test to read {token!r}")
    return found


def colour(selector: str, prop: str) -> str:
    """The one colour that `selector { prop: ... }` sets in app.css."""
    for sel, declarations in RULES:
        if sel == selector and prop in declarations:
            found = colours_in(declarations[prop])
            assert len(found) == 1, f"{selector} {{ {prop} }} has {found}"
            return found[0]
    raise AssertionError(f"app.css no longer sets {prop} on {selector}")


def luminance(hex_colour: str) -> float:
    channels = []
    for i in (1, 3, 5):
        c = int(hex_colour[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio, 1 to 21."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_arithmetic_matches_wcag() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1)
    assert colours_in("1px solid var(--ink)") == [VARIABLES["--ink"]]
    assert colours_in("#fff") == ["#ffffff"]


# -- which colours meet where ------------------------------------------------------------------

# Text coloured by these rules sits on a surface other than the page's: the header bar.
ON = {".bar a": ".bar", "button.link": ".bar"}
# Dark fills whose text colour comes from another rule (a button's class keeps `button`'s).
TEXT_FROM = {"button.danger": "button", ".reveal": "button"}
# Fills that never carry text: the backdrop of a photo, shown only around the image.
NO_TEXT = {".picture": "the backdrop behind a photo; the photo covers it"}
# Every border must stand out 3:1 (the edge a field or button is found by, 1.4.11) except
# these, which only decorate: a card (a table row shown as one on a phone too), a table's
# rules, a group's frame (its legend names it).
DECORATIVE_BORDERS = {".card", "th", "td", "fieldset", ".chart", "table.stacks tr"}


def background_of(declarations: dict[str, str]) -> str | None:
    for prop in ("background", "background-color"):
        if prop in declarations:
            found = colours_in(declarations[prop])
            return found[0] if found else None
    return None


def surfaces() -> dict[str, str]:
    """The light surfaces page text can land on: the page and every light fill in app.css."""
    out = {"body": colour("body", "background")}
    for selector, declarations in RULES:
        fill_colour = background_of(declarations)
        if fill_colour and selector not in NO_TEXT and luminance(fill_colour) > 0.5:
            out[selector] = fill_colour
    return out


def pairs() -> list[tuple[str, str, str, float]]:
    """(what, foreground, background, minimum) for every colour app.css puts text or an
    edge in, found by reading the rules; a colour this cannot place fails the test."""
    light = surfaces()
    dark_fills = {
        selector: fill_colour
        for selector, declarations in RULES
        if (fill_colour := background_of(declarations)) and luminance(fill_colour) <= 0.5
    }
    out: list[tuple[str, str, str, float]] = []
    for selector, declarations in RULES:
        if selector == ":root":
            continue
        own_fill = background_of(declarations)
        if "color" in declarations:
            if not (texts := colours_in(declarations["color"])):
                continue  # inherit, currentColor
            text = texts[0]
            if own_fill:
                out.append((f"{selector} text", text, own_fill, TEXT))
            elif selector in ON:
                out.append((f"{selector} text", text, dark_fills[ON[selector]], TEXT))
            else:
                for where, surface in light.items():
                    out.append((f"{selector} text on {where}", text, surface, TEXT))
        if own_fill and luminance(own_fill) <= 0.5 and "color" not in declarations:
            assert selector in TEXT_FROM or selector in NO_TEXT, (
                f"{selector} has a dark fill {own_fill}: say in TEXT_FROM whose text sits on it"
            )
            if selector in TEXT_FROM:
                text = colour(TEXT_FROM[selector], "color")
                out.append((f"{selector} text", text, own_fill, TEXT))
        if own_fill and luminance(own_fill) <= 0.5 and selector not in NO_TEXT:
            for where, surface in light.items():  # a filled button is found by its fill
                out.append((f"{selector} fill on {where}", own_fill, surface, NON_TEXT))
        for prop, value in declarations.items():
            if not prop.startswith("border") or prop.endswith(("radius", "width", "collapse")):
                continue
            for edge in colours_in(value) if selector not in DECORATIVE_BORDERS else []:
                for where, surface in light.items():
                    out.append((f"{selector} {prop} on {where}", edge, surface, NON_TEXT))
    return out


def test_every_text_and_control_colour_in_app_css_has_enough_contrast() -> None:
    found = pairs()
    assert len(found) > 40  # the reading found the rules
    failing = [
        f"{what}: {fg} on {bg} is {contrast(fg, bg):.2f}:1, needs {minimum}:1"
        for what, fg, bg, minimum in found
        if contrast(fg, bg) < minimum
    ]
    assert failing == []


def test_the_pairs_read_from_app_css_include_the_ones_that_matter() -> None:
    """Guards the reading itself: these pairs must be among those checked."""
    checked = {(fg, bg) for _, fg, bg, _ in pairs()}
    v = VARIABLES
    for fg, bg in [
        (v["--ink"], v["--bg"]),  # body text
        (v["--muted"], v["--bg"]),  # notes, hints
        (v["--muted"], "#ffffff"),  # placeholders in white fields, card headings
        (v["--accent"], "#ffffff"),  # links in tables
        (v["--warn"], v["--bg"]),  # problems
        ("#ffffff", v["--accent"]),  # buttons
        ("#ffffff", v["--warn"]),  # danger buttons
        ("#ffffff", "#14263b"),  # the header
        (v["--field"], "#ffffff"),  # edges of fields
    ]:
        assert (fg, bg) in checked, (fg, bg)


def test_focus_is_always_visible() -> None:
    """A :focus-visible ring of at least 2px, one of whose colours stands out 3:1 from every
    surface a focusable element sits on (the light pages and the dark header); and nothing
    takes the outline away."""
    rule = dict(next(d for s, d in RULES if s == ":focus-visible"))
    outline = rule.get("outline", "")
    width = re.search(r"(\d+(?:\.\d+)?)px", outline)
    assert width and float(width.group(1)) >= 2, outline
    assert re.search(r"\b(solid|double|dotted|dashed)\b", outline), outline
    ring = colours_in(outline) + colours_in(rule.get("box-shadow", ""))
    places = {**surfaces(), ".bar": colour(".bar", "background")}
    for where, surface in places.items():
        best = max(contrast(c, surface) for c in ring)
        assert best >= NON_TEXT, f"the focus ring {ring} is {best:.2f}:1 on {where} ({surface})"
    for selector, declarations in RULES:
        assert not re.fullmatch(r"none|0(px)?", declarations.get("outline", "x").strip()), (
            f"{selector} removes the focus outline"
        )
    assert any(s == ".skip:focus" and "left" in d for s, d in RULES), "the skip link shows"


def test_placeholders_are_coloured_by_app_css() -> None:
    """Browsers draw placeholders in light grey (about 2.3:1); app.css must colour them,
    and the pairs above then check that colour."""
    templates = "".join(p.read_text() for p in (WEB / "templates").glob("*.html"))
    if "placeholder=" in templates:
        assert colour("::placeholder", "color")
        assert next(d for s, d in RULES if s == "::placeholder").get("opacity") in (None, "1")


def test_chart_bars_stand_out_from_the_chart() -> None:
    dashboard = (WEB / "templates" / "dashboard.html").read_text()
    fills = set(re.findall(r'fill="(#[0-9a-fA-F]{6})"', dashboard))
    assert fills
    for bar in fills:
        assert contrast(bar.lower(), colour(".chart", "background")) >= NON_TEXT


# -- the pages ---------------------------------------------------------------------------------

CONTROL_TAGS = {"input", "select", "textarea"}
NOT_LABELLED = {"hidden", "submit", "button", "reset", "image"}


class Page(HTMLParser):
    """What the checks need from one page of HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.lang = ""
        self.ids: Counter[str] = Counter()
        self.controls: list[dict[str, Any]] = []
        self.label_for: dict[str, str] = {}  # id -> label text
        self.images: list[dict[str, str | None]] = []
        self.headings: list[int] = []
        self.references: list[tuple[str, str]] = []  # (attribute, id)
        self.buttons: list[dict[str, Any]] = []
        self._labels: list[dict[str, Any]] = []  # open <label>s
        self._button: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        self.tags[tag] += 1
        if tag == "html":
            self.lang = a.get("lang", "")
        if a.get("id"):
            self.ids[a["id"]] += 1
        for attribute in ("aria-labelledby", "aria-describedby"):
            for ref in a.get(attribute, "").split():
                self.references.append((attribute, ref))
        if tag == "label":
            self._labels.append({"for": a.get("for"), "text": "", "controls": []})
        elif tag in CONTROL_TAGS and a.get("type", "text").lower() not in NOT_LABELLED:
            control: dict[str, Any] = {"tag": tag, **a, "wrapped_in": None}
            if self._labels:
                self._labels[-1]["controls"].append(control)
                control["wrapped_in"] = self._labels[-1]
            self.controls.append(control)
        elif tag == "img":
            self.images.append({"src": a.get("src"), "alt": dict(attrs).get("alt")})
            for label in self._labels:
                label["text"] += a.get("alt", "")
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "button" or (tag == "input" and a.get("type") == "submit"):
            self._button = {"text": a.get("aria-label", "") + a.get("value", ""), **a}
            self.buttons.append(self._button)
            if tag == "input":
                self._button = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._labels:
            label = self._labels.pop()
            if label["for"]:
                self.label_for[label["for"]] = label["text"].strip()
        elif tag == "button":
            self._button = None

    def handle_data(self, data: str) -> None:
        for label in self._labels:
            label["text"] += data
        if self._button is not None:
            self._button["text"] += data


def problems_on(html: str) -> list[str]:
    page = Page()
    page.feed(html)
    page.close()
    found = []
    if not page.lang.strip():
        found.append("<html> has no lang")
    if page.tags["h1"] != 1:
        found.append(f"{page.tags['h1']} <h1> elements, not one")
    if page.tags["main"] != 1:
        found.append(f"{page.tags['main']} <main> landmarks, not one")
    found += [f"id {i!r} used {n} times" for i, n in page.ids.items() if n > 1]
    found += [
        f"{attr} names a missing id {ref!r}" for attr, ref in page.references if ref not in page.ids
    ]
    found += [f"<label for={i!r}> labels nothing" for i in page.label_for if i not in page.ids]
    found += [f"<label for={i!r}> is empty" for i, text in page.label_for.items() if not text]
    for control in page.controls:
        wrapper = control["wrapped_in"]
        named = (
            (control.get("id") in page.label_for and page.label_for[control["id"]])
            or control.get("aria-label", "").strip()
            or control.get("aria-labelledby", "").strip()
            # A box in a list of options may sit inside its label, the usual way to write one.
            or (
                control.get("type", "").lower() in ("checkbox", "radio")
                and wrapper is not None
                and wrapper["text"].strip()
                and len(wrapper["controls"]) == 1
            )
        )
        if not named:
            found.append(f"<{control['tag']} name={control.get('name')!r}> has no label")
    found += [f"<img src={i['src']!r}> has no alt" for i in page.images if i["alt"] is None]
    found += [
        f"<button> {b.get('class', '')} has no name" for b in page.buttons if not b["text"].strip()
    ]
    for before, after in zip(page.headings, page.headings[1:], strict=False):
        if after > before + 1:
            found.append(f"heading levels jump from h{before} to h{after}")
    return found


def test_the_page_checks_find_what_they_look_for() -> None:
    good = (
        '<html lang="en"><main><h1>T</h1><label for="a">A</label><input id="a">'
        '<label>B <input type="checkbox" name="b"></label><textarea aria-label="C"></textarea>'
        '<input type="hidden" name="csrf"><img src="x" alt=""><button>Go</button></main></html>'
    )
    assert problems_on(good) == []
    bad = (
        '<html><main><h1>T</h1><h1>U</h1><h3>V</h3><input id="a" name="a"><select name="s">'
        '</select><label for="zz">Z</label><img src="x"><button></button>'
        '<p id="d"></p><p id="d" aria-describedby="nope"></p><label>W <input name="w"></label>'
        "</main><main></main></html>"
    )
    found = "\n".join(problems_on(bad))
    for expected in [
        "no lang",
        "2 <h1>",
        "2 <main>",
        "id 'd' used 2",
        "missing id 'nope'",
        "<label for='zz'> labels nothing",
        "<input name='a'> has no label",
        "<select name='s'> has no label",
        "has no alt",
        "<button>  has no name",
        "h1 to h3",
        "<input name='w'> has no label",
    ]:
        assert expected in found, expected


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


def admin_pages(site: dict[str, Any]) -> dict[str, str]:
    """Every HTML page an admin can GET, plus the same pages showing a problem."""
    ids = site["ids"]
    web = client(site, "admin")
    paths = []
    for route in api_routes(site["app"]):
        if "GET" not in (route.methods or ()) or route.path.startswith("/api"):
            continue
        if route.path.endswith((".jpg", ".ico")):
            continue
        paths.append(fill(route.path, ids))
        if "{kind}" in route.path:  # fill() chooses remains; the reports too
            paths.append(fill(route.path.replace("{kind}", "missing"), ids))
    paths += ["/review?show=all", "/review?show=resurfaced", "/records/remains/NOPE"]
    pages: dict[str, str] = {}
    for path in dict.fromkeys(paths):
        assert "{" not in path, path
        response = web.get(path)
        if response.status_code == 303:  # an old address going on to the page's own
            continue
        assert response.status_code in (200, 404), f"{path}: {response.status_code}"
        if response.headers["content-type"].startswith("text/html"):
            pages[f"GET {path}"] = response.text
    token = csrf_of(pages["GET /"])
    candidate = f"/candidates/{ids['candidate']}"
    problem_forms: list[tuple[str, dict[str, Any]]] = [
        (f"{candidate}/exclude", {"reason": " "}),
        (f"{candidate}/refer", {"reason": ""}),
        (f"{candidate}/identify", {"secondary": ["face"], "note": ""}),
        (f"/identifications/{ids['identification']}/revoke", {"reason": ""}),
        ("/records/remains/new", {"ref": "", "age_min": "old"}),
        ("/records/missing/new", {"ref": "", "birth_year": "soon"}),
    ]
    for path, data in problem_forms:
        response = web.post(path, data={"csrf": token, **data})
        assert response.status_code in (200, 303, 409, 422), f"POST {path}: {response.status_code}"
        if response.status_code != 303:
            pages[f"POST {path}"] = response.text
    signed_out = client(site)
    login = signed_out.get("/login")
    pages["GET /login (signed out)"] = login.text
    wrong = signed_out.post(
        "/login", data={"username": "admin", "password": "no", "csrf": csrf_of(login.text)}
    )
    pages["POST /login (wrong password)"] = wrong.text
    return pages


def test_every_page_an_admin_can_open_has_labels_alt_text_one_h1_main_and_lang(
    site: dict[str, Any],
) -> None:
    pages = admin_pages(site)
    # The walk reached the pages that matter (a new GET page joins by itself).
    for expected in [
        "GET /",
        "GET /review",
        "GET /candidates/PM-0/AM-0",
        "GET /records/remains/PM-0",
        "GET /records/missing",
        "GET /records/remains/new",
        "GET /login (signed out)",
    ]:
        assert expected in pages, expected
    assert sum(k.startswith("POST") for k in pages) >= 5  # the problem states were shown
    failing = {where: found for where, html in pages.items() if (found := problems_on(html))}
    assert failing == {}


def test_the_blind_review_pages_are_labelled_too(dvi: OpenDVI, tmp_path: Path) -> None:
    dvi.settings.blind_review = True
    site = build_site(dvi, tmp_path)
    web = client(site, "reviewer")
    for path in ["/review", "/candidates/PM-0/AM-0"]:
        page = web.get(path)
        assert page.status_code == 200
        assert problems_on(page.text) == [], path
