"""A record's form and its page drawn from one description (``core.fields.SECTIONS``): the
same sections, the same lines, the same labels, so that every field a form takes is shown
on the page, where it was typed. Here: how each field is entered (a list to choose from,
a date, a range on one line) and how its value reads on the page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from opendvi.core.fields import CHANNELS, CONTACT_FIELDS, SECTIONS, contact_fields
from opendvi.core.notification import CHANNEL_WORDS
from opendvi.core.vocabulary import Condition
from opendvi.notify.texts import LANGUAGES
from opendvi.web.labels import LABELS

__all__ = [
    "CHANNEL_CHOICES",
    "CHOICES",
    "CONTACT_LABELS",
    "DATE_SPANS",
    "SHARING_WORDS",
    "FormLine",
    "FormSection",
    "PageSection",
    "contact_lines",
    "date_parts",
    "form_sections",
    "form_values",
    "language_choices",
    "page_sections",
]

# Fields with a fixed set of answers are chosen, not typed (values as the import reads them).
SHARING_WORDS = {
    "team": "this team",
    "partners": "this team and its partners",
    "none": "no one else",
}
# Every sharing scope of core.sharing.SCOPES, the default first (a test holds them equal).
CHOICES: dict[str, list[tuple[str, str]]] = {
    "sex": [("", "unknown"), ("F", "female"), ("M", "male")],
    "consent_contact": [("", "not asked yet"), ("yes", "yes"), ("no", "no")],
    "condition": [("", "unknown")]
    + [(c.value, c.value) for c in Condition if c is not Condition.UNKNOWN],
    "contact_sharing": [(scope, SHARING_WORDS[scope]) for scope in ("team", "partners", "none")],
}
AREAS = {"description", "circumstances", "marks", "effects"}
NUMBERS = {"birth_year", "age_min", "age_max", "height_min_cm", "height_max_cm"}
DATES = {"birth_date"}
# Dates that may be a span: entered as two dates on one line (from, to), sent as "a..b".
DATE_SPANS = ("last_seen_date", "found_date")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# How the page names a line of two fields (a range), and fields the page calls otherwise.
LINE_LABELS = {
    "birth_date": "Born",
    "age_min": "Estimated age (years)",
    "height_min_cm": "Estimated height (cm)",
    "last_seen_date": "Last seen on",
    "found_date": "Found on",
    "contact_name": "Name",
}
RANGES = {("age_min", "age_max"), ("height_min_cm", "height_max_cm")}
SEX_WORDS = {"F": "female", "M": "male", "U": "unknown", "": "unknown"}


def language_choices(current: str) -> list[tuple[str, str]]:
    """The languages a contact may be written to; a code stored otherwise (an import) kept."""
    known = [("", "not recorded"), *LANGUAGES.items()]
    return known if not current or current in LANGUAGES else [*known, (current, current)]


def date_parts(value: str) -> tuple[str, str, bool]:
    """A stored date or span as the form's two date boxes (from, to), and whether they
    can be date boxes: a date known only to its month or year stays typed text."""
    first, _, last = value.partition("..")
    if not value or (_DAY.match(first) and (not last or _DAY.match(last))):
        return first, last, True
    return value, "", False


@dataclass(frozen=True)
class FormLine:
    names: tuple[str, ...]  # the fields sent (one, or two for a range)
    labels: tuple[str, ...]
    hints: tuple[str, ...]
    widgets: tuple[str, ...]  # each field's: text, area, number, date, span, select, checks
    range_label: str = ""  # a range of two (from, to): its one label, as the page's

    @property
    def name(self) -> str:
        return self.names[0]

    @property
    def widget(self) -> str:
        return self.widgets[0]


@dataclass(frozen=True)
class FormSection:
    key: str
    title: str
    lines: tuple[FormLine, ...]


def _widget(field: str) -> str:
    if field in DATE_SPANS:
        return "span"
    if field == "contact_channels":
        return "checks"
    if field in CHOICES or field == "contact_language":
        return "select"
    if field in AREAS:
        return "area"
    if field in DATES:
        return "date"
    if field in NUMBERS:
        return "number"
    return "text"


def _label(field: str) -> tuple[str, str]:
    return LABELS.get(field, (field.replace("_", " ").capitalize(), ""))


# Hints of the import's text that a list, a tick box or a date box makes needless.
FORM_HINTS = {
    "last_seen_date": "the second date only when not known to the day",
    "found_date": "the second date only when not known to the day",
    "birth_date": "",
    "contact_language": "the language to write to them in",
    "contact_channels": "",
}


def _form_line(line: tuple[str, ...], names: tuple[str, ...] | None = None) -> FormLine:
    ranged = line in RANGES
    return FormLine(
        names=names or line,
        labels=tuple(_label(f)[0] for f in line),
        hints=("", "") if ranged else tuple(FORM_HINTS.get(f, _label(f)[1]) for f in line),
        widgets=tuple(_widget(f) for f in line),
        range_label=LINE_LABELS[line[0]] if ranged else "",
    )


def form_sections(kind: str) -> tuple[FormSection, ...]:
    """The form's sections, photos and contacts apart (the form lays them out itself)."""
    return tuple(
        FormSection(s.key, s.title, tuple(_form_line(line) for line in s.lines))
        for s in SECTIONS[kind]
        if s.key not in ("photos", "contacts")
    )


def contact_lines(number: int) -> tuple[FormLine, ...]:
    """The lines of reporting contact ``number``, its fields numbered as the form sends them."""
    numbered = dict(zip(CONTACT_FIELDS, contact_fields(number), strict=True))
    lines = [_form_line((f,), (numbered[f],)) for f in CONTACT_FIELDS]
    # Inside a block headed "Reporting contact 2", the name is just "Name".
    lines[0] = FormLine(lines[0].names, ("Name",), lines[0].hints, lines[0].widgets)
    return tuple(lines)


def form_values(
    kind: str, form: Mapping[str, str], lists: Mapping[str, list[str]]
) -> dict[str, str]:
    """What the form sent, as the import's fields: a span's two dates joined ("a..b"), the
    channels ticked joined by commas. ``form``: one value per name; ``lists``: every value
    of the names sent more than once (the channels)."""
    values = dict(form)
    for name in DATE_SPANS:
        if name in values:
            first, last = values[name].strip(), values.pop(f"{name}_to", "").strip()
            values[name] = f"{first}..{last}" if first and last and first != last else first or last
    for name in [n for n in values if n.startswith("contact_channels")]:
        values[name] = ",".join(v for v in lists.get(name, []) if v)
    return values


# -- the page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageSection:
    key: str
    title: str
    lines: tuple[tuple[str, str], ...]  # label, value as read ("" when not recorded)


def _shown(field: str, value: str) -> str:
    if field == "sex":
        return SEX_WORDS.get(value, value)
    if field in DATE_SPANS or field in ("birth_date", "birth_year"):
        return value.replace("..", " to ")
    if field == "height_cm":
        return value.replace("-", "–")
    return value


def _page_line(line: tuple[str, ...], fields: Mapping[str, str]) -> tuple[str, str]:
    label = LINE_LABELS.get(line[0], _label(line[0])[0])
    if line == ("birth_date", "birth_year"):
        return label, _shown("birth_date", fields.get("birth_date") or fields.get("birth_year", ""))
    if len(line) == 2:
        low, high = (fields.get(f, "") for f in line)
        if not (low or high):
            return label, ""
        return label, low if low == high else f"{low or '?'}–{high or '?'}"
    return label, _shown(line[0], fields.get(line[0], ""))


def page_sections(kind: str, fields: Mapping[str, str]) -> tuple[PageSection, ...]:
    """The record's values by the form's sections, each line labelled as on the form; the
    reference (the page's heading), the photos and the contacts are laid out apart."""
    return tuple(
        PageSection(
            s.key,
            s.title,
            tuple(_page_line(line, fields) for line in s.lines if line != ("ref",)),
        )
        for s in SECTIONS[kind]
        if s.key not in ("photos", "contacts")
    )


# The page's labels of a contact's lines, as the form's (core.fields.CONTACT_FIELDS).
CONTACT_LABELS = {f: LINE_LABELS.get(f, _label(f)[0]) for f in CONTACT_FIELDS}
CHANNEL_CHOICES = [(c, CHANNEL_WORDS.get(c, c)) for c in CHANNELS]
