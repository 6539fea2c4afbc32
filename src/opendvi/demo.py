"""A small demo database of fictitious records, so a newcomer has something to look at.

Every person, place and event here is invented. The demo writes only records whose refs begin
with ``DEMO-`` and refuses to touch a database that holds anything else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from opendvi.app import OpenDVI
from opendvi.core.fields import ContactInput, MarkInput
from opendvi.db.tables import MissingPerson, Remains
from opendvi.errors import InputError, Refused
from opendvi.records.intake import save_record

__all__ = ["DemoResult", "PhotoDemoResult", "PhotoOutcome", "build_demo", "build_photo_demo"]

EVENT = "DEMO-RIVER-2026"
PREFIX = "DEMO-"


@dataclass(frozen=True)
class _Example:
    ref: str
    fields: dict[str, object]
    marks: list[MarkInput]
    effects: list[str]
    contact: ContactInput | None = None


_MISSING = [
    _Example(
        ref="DEMO-AM-0001",
        fields=dict(
            full_name="Lena Marvik",
            sex="F",
            birth_earliest=dt.date(1994, 1, 1),
            birth_latest=dt.date(1994, 12, 31),
            height_min_cm=164,
            height_max_cm=168,
            hair="dark brown, shoulder length",
            last_seen_earliest=dt.date(2026, 3, 14),
            last_seen_latest=dt.date(2026, 3, 14),
            last_seen_place="Harbour bridge, Eastport",
        ),
        marks=[MarkInput("left wrist", "small tattoo of a swallow", "tattoo")],
        effects=["green rain jacket", "silver ring with a blue stone"],
        contact=ContactInput(
            "Tomas Marvik",
            "brother",
            phone="+00 100 200 300",
            language="en",
            consent_contact=True,
            consent_channels="in_person,phone",
        ),
    ),
    _Example(
        ref="DEMO-AM-0002",
        fields=dict(
            full_name="Ahmad Karimi",
            sex="M",
            birth_earliest=dt.date(2009, 6, 2),
            birth_latest=dt.date(2009, 6, 2),
            height_min_cm=171,
            height_max_cm=171,
            last_seen_earliest=dt.date(2026, 3, 1),
            last_seen_latest=dt.date(2026, 3, 31),
            last_seen_place="Northern crossing",
        ),
        marks=[MarkInput("right knee", "scar from a fall", "scar")],
        effects=["black trainers", "red backpack"],
        contact=ContactInput(
            "Mariam Karimi",
            "mother",
            language="ar",
            consent_contact=True,
            consent_channels="in_person",
        ),
    ),
    _Example(
        ref="DEMO-AM-0003",
        fields=dict(
            full_name="Oleksandr Bondar",
            sex="M",
            birth_earliest=dt.date(1961, 1, 1),
            birth_latest=dt.date(1961, 12, 31),
            height_min_cm=178,
            height_max_cm=182,
            last_seen_earliest=dt.date(2026, 3, 13),
            last_seen_latest=dt.date(2026, 3, 13),
            last_seen_place="Riverside road, Eastport",
        ),
        marks=[],
        effects=["grey wool coat", "wristwatch"],
        contact=ContactInput(
            "Iryna Bondar",
            "wife",
            email="iryna@example.org",
            language="uk",
            consent_contact=True,
            consent_channels="in_person,email",
        ),
    ),
    _Example(
        ref="DEMO-AM-0004",
        fields=dict(
            full_name="Rosa Quispe",
            sex="F",
            birth_earliest=dt.date(1979, 1, 1),
            birth_latest=dt.date(1983, 12, 31),
            last_seen_earliest=dt.date(2026, 2, 1),
            last_seen_latest=dt.date(2026, 2, 28),
            last_seen_place="Market square, Westfield",
        ),
        marks=[MarkInput("right ear", "three piercings", "piercing")],
        effects=["blue woven shawl"],
        contact=ContactInput(
            "Juan Quispe",
            "son",
            language="es",
            consent_contact=False,
        ),
    ),
]

_REMAINS = [
    _Example(
        ref="DEMO-PM-0001",
        fields=dict(
            sex="F",
            age_min=25,
            age_max=40,
            height_min_cm=160,
            height_max_cm=170,
            found_earliest=dt.date(2026, 3, 20),
            found_latest=dt.date(2026, 3, 20),
            found_place="River bank, 4 km below Eastport",
            condition="fresh",
            storage_location="Eastport mortuary, drawer 12",
        ),
        marks=[MarkInput("left wrist", "tattoo, a bird", "tattoo")],
        effects=["green jacket"],
    ),
    _Example(
        ref="DEMO-PM-0002",
        fields=dict(
            sex="M",
            age_min=18,
            age_max=22,
            height_min_cm=168,
            height_max_cm=176,
            found_earliest=dt.date(2026, 4, 2),
            found_latest=dt.date(2026, 4, 2),
            found_place="Northern crossing, east side",
            condition="decomposed",
            storage_location="Regional forensic service, bay 3",
        ),
        marks=[MarkInput("right knee", "old scar", "scar")],
        effects=["trainers"],
    ),
    _Example(
        ref="DEMO-PM-0003",
        fields=dict(
            sex="U",
            age_min=None,
            age_max=None,
            height_min_cm=None,
            height_max_cm=None,
            found_earliest=dt.date(2026, 1, 1),
            found_latest=dt.date(2026, 6, 30),
            found_place="Grave site B",
            condition="skeletal",
            storage_location="Regional forensic service, box 44",
        ),
        marks=[],
        effects=[],
    ),
]


@dataclass(frozen=True)
class DemoResult:
    missing: int
    remains: int
    created: int


def _refuse_real_records(app: OpenDVI) -> None:
    with app.db.read() as session:
        real = (
            session.execute(
                select(func.count(MissingPerson.id)).where(~MissingPerson.ref.startswith(PREFIX))
            ).scalar_one()
            + session.execute(
                select(func.count(Remains.id)).where(~Remains.ref.startswith(PREFIX))
            ).scalar_one()
        )
    if real:
        raise Refused(
            f"the database {app.db.display_url()} already holds records that are not "
            f"demo records ({real}); run the demo on a database of its own, e.g. "
            "`opendvi --data-dir ./opendvi-demo demo`"
        )


def build_demo(app: OpenDVI, *, actor: str) -> DemoResult:
    """Add (or restore) the demo records; refuses a database that holds real records."""
    _refuse_real_records(app)
    with app.db.write() as session:
        created = 0
        for item in _MISSING:
            result = save_record(
                session,
                MissingPerson,
                actor=actor,
                ref=item.ref,
                fields=item.fields,
                event_code=EVENT,
                marks=item.marks,
                effects=item.effects,
                contacts=[item.contact] if item.contact else [],
                photos=[],
                source="demo",
            )
            created += result.outcome == "created"
        for item in _REMAINS:
            result = save_record(
                session,
                Remains,
                actor=actor,
                ref=item.ref,
                fields=item.fields,
                event_code=EVENT,
                marks=item.marks,
                effects=item.effects,
                photos=[],
                source="demo",
            )
            created += result.outcome == "created"
    return DemoResult(len(_MISSING), len(_REMAINS), created)


@dataclass(frozen=True)
class PhotoOutcome:
    """One remains record of the photo demo and the report its list ranks first."""

    pm_ref: str
    expected: str  # the report made from the same person's other photos
    first: str | None  # the report ranked first, if the list holds any
    credible: bool  # whether that first candidate is credible enough to review

    @property
    def right(self) -> bool:
        return self.first == self.expected


@dataclass
class PhotoDemoResult:
    missing: int = 0
    remains: int = 0
    problems: list[str] = field(default_factory=list)
    outcomes: list[PhotoOutcome] = field(default_factory=list)

    @property
    def right(self) -> int:
        return sum(outcome.right for outcome in self.outcomes)


def build_photo_demo(
    app: OpenDVI,
    folder: Path,
    *,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
) -> PhotoDemoResult:
    """Try face matching on a folder of one's own photos, one sub-folder per person: the
    last photo of each person with two or more becomes an unidentified-remains record
    (``DEMO-PM-name``), the other photos a missing-person report (``DEMO-AM-name``); a
    person with one photo is a report only (someone not among the dead). The faces are
    found, the records matched, and each remains record's first candidate returned.
    Refuses a database that holds real records, as the demo does."""
    from opendvi.interchange.csv_import import PHOTO_SUFFIXES, Kind, import_rows, ref_from_name
    from opendvi.matching import run_matching
    from opendvi.matching.queries import listed_for
    from opendvi.records.faces import detect_faces

    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder; give a folder with one sub-folder per person")
    _refuse_real_records(app)
    missing: list[tuple[int, dict[str, str]]] = []
    remains: list[tuple[int, dict[str, str]]] = []
    expected: dict[str, str] = {}
    for line, person in enumerate(sorted(p for p in folder.iterdir() if p.is_dir()), start=1):
        if person.name.startswith("."):
            continue
        photos = sorted(
            str(p.relative_to(folder))
            for p in person.iterdir()
            if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES and not p.name.startswith(".")
        )
        if not photos:
            continue
        name = ref_from_name(person.name)
        am_ref, pm_ref = f"{PREFIX}AM-{name}", f"{PREFIX}PM-{name}"
        kept = photos[:-1] if len(photos) > 1 else photos
        missing.append((line, {"ref": am_ref, "photos": "|".join(kept)}))
        if len(photos) > 1:
            remains.append((line, {"ref": pm_ref, "photos": photos[-1]}))
            expected[pm_ref] = am_ref
    if not remains:
        raise InputError(
            f"{folder}: no sub-folder holds two photos of one person; put one sub-folder per "
            f"person with at least two photos each ({', '.join(sorted(PHOTO_SUFFIXES))})"
        )
    result = PhotoDemoResult()
    sides: tuple[tuple[list[tuple[int, dict[str, str]]], Kind], ...] = (
        (missing, "missing"),
        (remains, "unidentified"),
    )
    for rows, kind in sides:
        report = import_rows(
            app,
            folder,
            ["ref", "photos"],
            rows,
            base=folder,
            kind=kind,
            actor=actor,
            columns=False,
        )
        result.problems += [str(problem) for problem in report.problems]
        saved = report.created + report.updated + report.unchanged
        if kind == "missing":
            result.missing = saved
        else:
            result.remains = saved
    detect_faces(app, actor=actor, progress=progress)
    run_matching(app, actor=actor)
    with app.db.read() as session:
        for pm_ref, am_ref in expected.items():
            record = session.execute(
                select(Remains).where(Remains.ref == pm_ref)
            ).scalar_one_or_none()
            if record is None:
                continue
            listed = listed_for(session, "remains", record.id)
            first = listed[0] if listed else None
            result.outcomes.append(
                PhotoOutcome(
                    pm_ref,
                    am_ref,
                    first.ref if first else None,
                    bool(first and first.credible),
                )
            )
    return result
