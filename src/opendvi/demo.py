"""A small demo database of fictitious records, so a newcomer has something to look at.

Every person, place and event here is invented. The demo writes only records whose refs begin
with ``DEMO-`` and refuses to touch a database that holds anything else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from opendvi.app import OpenDVI
from opendvi.core.fields import ContactInput, MarkInput
from opendvi.db.tables import MissingPerson, Remains
from opendvi.errors import Refused
from opendvi.records.intake import save_record

__all__ = ["DemoResult", "build_demo"]

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


def build_demo(app: OpenDVI, *, actor: str) -> DemoResult:
    """Add (or restore) the demo records; refuses a database that holds real records."""
    with app.db.write() as session:
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
