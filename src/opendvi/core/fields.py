"""Reading a record from named text values, as they come from a CSV row or a web form.

One function per record kind turns ``{"birth_year": "1987", "height_cm": "170-175", ...}``
into column values, collecting a problem per field instead of stopping at the first, so a
user can fix a row or a form in one go. Only the fields present are read: a column that is
absent leaves the stored value alone, a column that is present but empty clears it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opendvi.core.cells import SEPARATOR, join_values, split_values
from opendvi.core.uncertain import ValueProblem, parse_date_range, parse_int_range
from opendvi.core.vocabulary import Condition, parse_choice, parse_sex, parse_yes_no

__all__ = [
    "CONTACTS_MAX",
    "MISSING_FIELDS",
    "REMAINS_FIELDS",
    "SECTIONS",
    "SEPARATOR",
    "ContactInput",
    "MarkInput",
    "ParsedRecord",
    "Section",
    "contact_fields",
    "form_fields",
    "join_values",
    "numbered_fields",
    "parse_missing_person",
    "parse_remains",
    "split_values",
]

CONTACT_FIELDS = (
    "contact_name",
    "contact_relationship",
    "contact_email",
    "contact_phone",
    "contact_language",
    "consent_contact",
    "contact_channels",
    "contact_sharing",
)
MISSING_FIELDS = (
    "ref",
    "photos",
    "photo_dates",
    "full_name",
    "other_names",
    "sex",
    "birth_date",
    "birth_year",
    "height_cm",
    "hair",
    "eyes",
    "description",
    "circumstances",
    "last_seen_date",
    "last_seen_place",
    "event",
    "marks",
    "effects",
    *CONTACT_FIELDS,
)
REMAINS_FIELDS = (
    "ref",
    "photos",
    "photo_dates",
    "event",
    "sex",
    "age_min",
    "age_max",
    "height_min_cm",
    "height_max_cm",
    "found_date",
    "found_place",
    "condition",
    "description",
    "storage_location",
    "marks",
    "effects",
)


def form_fields(kind: str) -> tuple[str, ...]:
    """The fields a form or the API takes for ``kind`` ("missing" or "remains"): the
    import's columns without the photo columns (photos come as files there)."""
    known = MISSING_FIELDS if kind == "missing" else REMAINS_FIELDS
    return tuple(f for f in known if f not in ("photos", "photo_dates"))


# A form takes several reporting contacts: the first under the import's column names, the
# second as contact_name_2, consent_contact_2, ... (a CSV row holds one).
CONTACTS_MAX = 10


def contact_fields(number: int) -> tuple[str, ...]:
    """The fields of reporting contact ``number`` (from 1) on a form."""
    return CONTACT_FIELDS if number == 1 else tuple(f"{f}_{number}" for f in CONTACT_FIELDS)


def numbered_fields(kind: str) -> tuple[str, ...]:
    """Every field a form sends for ``kind``: ``form_fields`` and, for a report, the fields
    of its second and later reporting contacts."""
    more = (
        [f for n in range(2, CONTACTS_MAX + 1) for f in contact_fields(n)]
        if kind == "missing"
        else []
    )
    return (*form_fields(kind), *more)


@dataclass(frozen=True)
class Section:
    """A part of a record's form and page: a title and its lines, each line one field or a
    range of two (from, to) kept together."""

    key: str
    title: str
    lines: tuple[tuple[str, ...], ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for line in self.lines for name in line)


# How a record's form and its page are grouped: the one description both are drawn from,
# so that every field a form (and the import) takes is shown where it was typed.
SECTIONS: dict[str, tuple[Section, ...]] = {
    "missing": (
        Section("record", "The report", (("ref",), ("event",))),
        Section(
            "person",
            "The person",
            (
                ("full_name",),
                ("other_names",),
                ("sex",),
                ("birth_date", "birth_year"),
                ("height_cm",),
                ("hair",),
                ("eyes",),
                ("description",),
                ("marks",),
                ("effects",),
            ),
        ),
        Section(
            "last_seen",
            "Last seen",
            (("last_seen_date",), ("last_seen_place",), ("circumstances",)),
        ),
        Section("contacts", "The reporting contacts", tuple((f,) for f in CONTACT_FIELDS)),
        Section("photos", "Photos", (("photos",), ("photo_dates",))),
    ),
    "remains": (
        Section("record", "The record", (("ref",), ("event",))),
        Section(
            "remains",
            "The remains",
            (
                ("sex",),
                ("age_min", "age_max"),
                ("height_min_cm", "height_max_cm"),
                ("condition",),
                ("description",),
                ("marks",),
                ("effects",),
            ),
        ),
        Section(
            "found",
            "Where found, and where kept",
            (("found_date",), ("found_place",), ("storage_location",)),
        ),
        Section("photos", "Photos", (("photos",), ("photo_dates",))),
    ),
}


TEXT_LIMIT = 10_000
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:#-]{0,119}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
SHARING = ("none", "team", "partners")
CONTACT_LIMITS = {
    "contact_name": 300,
    "contact_relationship": 100,
    "contact_email": 320,
    "contact_phone": 60,
    "contact_language": 20,
}
CHANNELS = ("in_person", "phone", "letter", "email")


@dataclass(frozen=True)
class ContactInput:
    name: str
    relationship: str = ""
    email: str = ""
    phone: str = ""
    language: str = ""
    consent_contact: bool | None = None
    consent_channels: str = ""
    sharing_scope: str = "team"


@dataclass(frozen=True)
class MarkInput:
    body_location: str
    description: str
    kind: str = "mark"


@dataclass
class ParsedRecord:
    """Column values read from text, or the problems that stopped them being read."""

    ref: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    event_code: str | None = None
    contacts: list[ContactInput] | None = None
    marks: list[MarkInput] | None = None
    effects: list[str] | None = None
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Reader:
    """Reads fields of one record, keeping the first problem of each field."""

    def __init__(self, raw: Mapping[str, str], parsed: ParsedRecord) -> None:
        self.raw = {k: (v or "").strip() for k, v in raw.items()}
        self.parsed = parsed

    def has(self, name: str) -> bool:
        return name in self.raw

    def text(self, name: str, column: str | None = None, *, limit: int = TEXT_LIMIT) -> None:
        if not self.has(name):
            return
        value = self.raw[name]
        if len(value) > limit:
            self.parsed.problems[name] = f"is {len(value)} characters long; the limit is {limit}"
            return
        self.parsed.fields[column or name] = value

    def run(self, name: str, read: Any) -> Any:
        try:
            return read(self.raw[name])
        except (ValueError, ValueProblem) as exc:
            self.parsed.problems[name] = str(exc)
            return None

    def dates(self, name: str, earliest: str, latest: str) -> None:
        if not self.has(name):
            return
        value = self.run(name, parse_date_range)
        if name not in self.parsed.problems:
            self.parsed.fields[earliest] = value.earliest if value else None
            self.parsed.fields[latest] = value.latest if value else None

    def int_range(
        self, low: str, high: str, columns: tuple[str, str], *, what: str, lo: int, hi: int
    ) -> None:
        if not (self.has(low) or self.has(high)):
            return
        try:
            value = parse_int_range(
                self.raw.get(low, ""), self.raw.get(high, ""), what=what, lowest=lo, highest=hi
            )
        except ValueProblem as exc:
            self.parsed.problems[low if self.raw.get(low) else high] = str(exc)
            return
        self.parsed.fields[columns[0]] = value.low if value else None
        self.parsed.fields[columns[1]] = value.high if value else None

    def common(self) -> None:
        ref = self.raw.get("ref", "")
        if not ref:
            self.parsed.problems["ref"] = "is empty; every record needs its own reference"
        elif not _REF.match(ref):
            self.parsed.problems["ref"] = (
                f"{ref!r} is not a usable reference: use letters, digits and . _ / : # - "
                "(up to 120 characters, starting with a letter or digit)"
            )
        self.parsed.ref = ref
        if self.has("sex"):
            sex = self.run("sex", parse_sex)
            if sex is not None:
                self.parsed.fields["sex"] = sex.value
        if self.has("event"):
            code = self.raw["event"]
            if code and not _REF.match(code):
                self.parsed.problems["event"] = f"{code!r} is not a usable event code"
            else:
                self.parsed.event_code = code
        self.text("description", limit=TEXT_LIMIT)
        if self.has("marks"):
            self.parsed.marks = self.run("marks", parse_marks)
        if self.has("effects"):
            self.parsed.effects = split_values(self.raw["effects"], "effects")


def parse_marks(text: str) -> list[MarkInput]:
    """``left forearm: anchor tattoo | chest: scar`` — the body location before each colon
    (marks separated by ``;`` are read too, when there is no ``|``)."""
    marks = []
    for item in split_values(text, "marks"):
        location, colon, description = item.partition(":")
        if not colon:
            location, description = "", item
        if len(location) > 200:
            raise ValueProblem(
                f"the body location {location[:30]!r}… is over 200 characters; write each mark "
                f"as 'location: description', marks separated by {SEPARATOR}"
            )
        marks.append(MarkInput(location.strip(), description.strip(), _mark_kind(description)))
    return marks


def _mark_kind(description: str) -> str:
    words = description.lower()
    for kind in ("tattoo", "scar", "birthmark", "piercing", "amputation"):
        if kind in words:
            return kind
    return "mark"


def _height(text: str) -> tuple[int | None, int | None]:
    text = text.strip()
    if not text:
        return None, None
    low_text, sep, high_text = text.replace("..", "-").replace("–", "-").partition("-")
    value = parse_int_range(
        low_text, high_text if sep else low_text, what="cm", lowest=40, highest=250
    )
    if value is None:
        raise ValueProblem(f"{text!r} is not a height; write e.g. 172 or 170-180")
    return value.low, value.high


def _birth(reader: _Reader) -> None:
    has_date, has_year = reader.has("birth_date"), reader.has("birth_year")
    if not (has_date or has_year):
        return
    date_text, year_text = reader.raw.get("birth_date", ""), reader.raw.get("birth_year", "")
    source = "birth_date" if date_text else "birth_year"
    if year_text and not re.fullmatch(r"\d{4}", year_text):
        reader.parsed.problems["birth_year"] = f"{year_text!r} is not a year (write e.g. 1987)"
        return
    value = reader.run(source, parse_date_range) if (date_text or year_text) else None
    if source in reader.parsed.problems:
        return
    if value and date_text and year_text and value.earliest.year != int(year_text):
        reader.parsed.problems["birth_year"] = (
            f"{year_text} disagrees with birth_date {date_text}; keep one or correct it"
        )
        return
    reader.parsed.fields["birth_earliest"] = value.earliest if value else None
    reader.parsed.fields["birth_latest"] = value.latest if value else None


def _contacts(reader: _Reader) -> None:
    """The reporting contacts: the first under the import's columns, more numbered."""
    numbers = [
        n for n in range(1, CONTACTS_MAX + 1) if any(reader.has(name) for name in contact_fields(n))
    ]
    if not numbers:
        return
    found: list[ContactInput] = []
    for number in numbers:
        found.extend(_contact(reader, number))
    reader.parsed.contacts = found


def _contact(reader: _Reader, number: int) -> list[ContactInput]:
    names = dict(zip(CONTACT_FIELDS, contact_fields(number), strict=True))
    raw = {plain: reader.raw.get(sent, "") for plain, sent in names.items()}
    problems = reader.parsed.problems
    name = raw["contact_name"]
    # The default scope is what a form's list sends for a contact left blank: not a detail.
    others = [
        names[n]
        for n in CONTACT_FIELDS
        if n != "contact_name" and raw[n] and not (n == "contact_sharing" and raw[n] == "team")
    ]
    if not name:
        if others:
            problems[names["contact_name"]] = (
                f"is empty but {others[0]} is given; name the person who reported"
            )
        return []
    for field_name, limit in CONTACT_LIMITS.items():
        if len(raw[field_name]) > limit:
            problems[names[field_name]] = f"is longer than {limit} characters"
    email = raw["contact_email"]
    if email and not _EMAIL.match(email):
        problems[names["contact_email"]] = f"{email!r} is not an e-mail address"
    language = raw["contact_language"]
    if language and not _LANGUAGE.match(language):
        problems[names["contact_language"]] = (
            f"{language!r} is not a language code; write e.g. en, es, fr, ar, uk, ru"
        )
    consent = reader.run(names["consent_contact"], parse_yes_no) if raw["consent_contact"] else None
    channels = split_values(raw["contact_channels"].lower(), "contact_channels")
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        problems[names["contact_channels"]] = (
            f"{unknown[0]!r} is not a channel; use {', '.join(CHANNELS)}, several separated "
            f"by {SEPARATOR} (e.g. in_person{SEPARATOR}phone)"
        )
    sharing = raw["contact_sharing"].lower() or "team"
    if sharing not in SHARING:
        problems[names["contact_sharing"]] = (
            f"{sharing!r} is not a sharing scope; use {', '.join(SHARING)}"
        )
    return [
        ContactInput(
            name=name,
            relationship=raw["contact_relationship"],
            email=email,
            phone=raw["contact_phone"],
            language=language.replace("_", "-").lower(),
            consent_contact=consent,
            consent_channels=",".join(channels),
            sharing_scope=sharing,
        )
    ]


def parse_missing_person(raw: Mapping[str, str]) -> ParsedRecord:
    """Read a missing-person (AM) report from the fields in ``MISSING_FIELDS``."""
    parsed = ParsedRecord()
    reader = _Reader(raw, parsed)
    reader.common()
    for name in ("full_name", "other_names", "hair", "eyes"):
        reader.text(name, limit=300)
    reader.text("circumstances")
    reader.text("last_seen_place", limit=2000)
    _birth(reader)
    if reader.has("height_cm"):
        height = reader.run("height_cm", _height)
        if height is not None:
            parsed.fields["height_min_cm"], parsed.fields["height_max_cm"] = height
    reader.dates("last_seen_date", "last_seen_earliest", "last_seen_latest")
    _contacts(reader)
    return parsed


def parse_remains(raw: Mapping[str, str]) -> ParsedRecord:
    """Read an unidentified-remains (PM) record from the fields in ``REMAINS_FIELDS``."""
    parsed = ParsedRecord()
    reader = _Reader(raw, parsed)
    reader.common()
    reader.int_range("age_min", "age_max", ("age_min", "age_max"), what="years", lo=0, hi=120)
    reader.int_range(
        "height_min_cm",
        "height_max_cm",
        ("height_min_cm", "height_max_cm"),
        what="cm",
        lo=40,
        hi=250,
    )
    reader.dates("found_date", "found_earliest", "found_latest")
    reader.text("found_place", limit=2000)
    reader.text("storage_location", limit=2000)
    if reader.has("condition"):
        condition = reader.run(
            "condition", lambda t: parse_choice(Condition, t, default=Condition.UNKNOWN)
        )
        if condition is not None:
            parsed.fields["condition"] = condition.value
    return parsed
