"""Lists of reports and remains, searched and filtered, a page at a time by reference: the
list pages and ``GET /api/records/{kind}``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from opendvi.app import OpenDVI
from opendvi.db.rows import offset_of
from opendvi.db.tables import Event, MissingPerson
from opendvi.records.intake import KINDS, Kind
from opendvi.records.views import RecordView

__all__ = ["PAGE", "Filters", "RecordPage", "page_of_records"]

PAGE = 50


@dataclass(frozen=True)
class Filters:
    """What a list is narrowed to; empty values keep everything. Uncertain dates and ages
    are ranges: a record is kept when its range overlaps the one asked for."""

    q: str = ""
    status: str = ""
    sex: str = ""
    age: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    event: str = ""
    place: str = ""


@dataclass(frozen=True)
class RecordPage:
    total: int  # how many records the filters keep
    page: int
    per_page: int
    more: bool  # whether a later page has more
    records: list[RecordView]


def _filtered(kind: Kind, filters: Filters) -> Select[Any]:
    model: Any = KINDS[kind]
    query = select(model)
    if filters.q:
        like = f"%{filters.q.strip()}%"
        fields = [model.ref, model.description]
        if kind == "missing":
            fields += [model.full_name, model.other_names, model.last_seen_place]
        else:
            fields += [model.found_place]
        query = query.where(or_(*(f.ilike(like) for f in fields)))
    if filters.status:
        query = query.where(model.status == filters.status)
    if filters.sex:
        query = query.where(model.sex == filters.sex)
    if filters.event:
        query = query.join(Event, model.event_id == Event.id).where(Event.code == filters.event)
    if filters.place:
        place = model.last_seen_place if kind == "missing" else model.found_place
        query = query.where(place.ilike(f"%{filters.place.strip()}%"))
    earliest, latest = (
        (model.last_seen_earliest, model.last_seen_latest)
        if kind == "missing"
        else (model.found_earliest, model.found_latest)
    )
    # Uncertain dates are ranges: a record is kept when its range overlaps the one asked for.
    if filters.since:
        query = query.where(or_(latest.is_(None), latest >= filters.since))
    if filters.until:
        query = query.where(or_(earliest.is_(None), earliest <= filters.until))
    if filters.age is not None and kind == "remains":
        age = filters.age
        query = query.where(
            or_(model.age_min.is_(None), model.age_min <= age),
            or_(model.age_max.is_(None), model.age_max >= age),
        )
    if filters.age is not None and kind == "missing":
        # Age when last seen, to the year (birth and last-seen dates are ranges; unknowns kept).
        age = filters.age

        def year(column: Any) -> Any:
            return func.extract("year", column)

        known = model.birth_earliest.is_not(None) & model.last_seen_earliest.is_not(None)
        youngest = year(model.last_seen_earliest) - year(model.birth_latest) - 1
        oldest = year(model.last_seen_latest) - year(model.birth_earliest)
        query = query.where(or_(~known, (youngest <= age) & (oldest >= age)))
    return query


def _loaded(kind: Kind) -> list[Any]:
    """What ``RecordView`` reads of each record, loaded for the whole page at once."""
    model: Any = KINDS[kind]
    extra = [selectinload(MissingPerson.contacts)] if kind == "missing" else []
    return [
        selectinload(model.event),
        selectinload(model.marks),
        selectinload(model.effects),
        *extra,
    ]


def page_of_records(app: OpenDVI, kind: Kind, filters: Filters, page: int = 1) -> RecordPage:
    """How many records pass ``filters``, and page ``page`` of them by reference."""
    model: Any = KINDS[kind]
    skip = offset_of(page, PAGE)
    query = _filtered(kind, filters)
    with app.db.read() as session:
        total = int(
            session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        )
        rows = session.execute(
            query.options(*_loaded(kind)).order_by(model.ref).offset(skip).limit(PAGE)
        ).scalars()
        records = [RecordView.of(record) for record in rows]
    return RecordPage(total, page, PAGE, page * PAGE < total, records)
