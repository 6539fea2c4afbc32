"""Lists of reports and remains with search and filters, and a page per record with its
photos, faces, candidates and history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Select, func, or_, select

from opendvi import audit
from opendvi.db.tables import Candidate, Event, MissingPerson, Remains
from opendvi.web.intake import ADD
from opendvi.web.pages import render
from opendvi.web.security import READ, roles

router = APIRouter(include_in_schema=False)
PAGE = 50
KINDS = {"missing": MissingPerson, "remains": Remains}
TITLES = {"missing": "Missing-person reports", "remains": "Unidentified remains"}


def _date(text: str | None, field: str, problems: list[str]) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        problems.append(f"{field}: {text} is not a date; write YYYY-MM-DD")
        return None


def _filtered(kind: str, filters: dict[str, Any]) -> Select[Any]:
    model: Any = KINDS[kind]
    query = select(model)
    if filters["q"]:
        like = f"%{filters['q'].strip()}%"
        fields = [model.ref, model.description]
        if kind == "missing":
            fields += [model.full_name, model.other_names, model.last_seen_place]
        else:
            fields += [model.found_place]
        query = query.where(or_(*(f.ilike(like) for f in fields)))
    if filters["status"]:
        query = query.where(model.status == filters["status"])
    if filters["sex"]:
        query = query.where(model.sex == filters["sex"])
    if filters["event"]:
        query = query.join(Event, model.event_id == Event.id).where(Event.code == filters["event"])
    if filters["place"]:
        place = model.last_seen_place if kind == "missing" else model.found_place
        query = query.where(place.ilike(f"%{filters['place'].strip()}%"))
    earliest, latest = (
        (model.last_seen_earliest, model.last_seen_latest)
        if kind == "missing"
        else (model.found_earliest, model.found_latest)
    )
    # Uncertain dates are ranges: a record is kept when its range overlaps the one asked for.
    if filters["since"]:
        query = query.where(or_(latest.is_(None), latest >= filters["since"]))
    if filters["until"]:
        query = query.where(or_(earliest.is_(None), earliest <= filters["until"]))
    if filters["age"] is not None and kind == "remains":
        age = filters["age"]
        query = query.where(
            or_(model.age_min.is_(None), model.age_min <= age),
            or_(model.age_max.is_(None), model.age_max >= age),
        )
    if filters["age"] is not None and kind == "missing":
        # Age when last seen, to the year (birth and last-seen dates are ranges; unknowns kept).
        age = filters["age"]
        year = lambda column: func.extract("year", column)  # noqa: E731
        known = model.birth_earliest.is_not(None) & model.last_seen_earliest.is_not(None)
        youngest = year(model.last_seen_earliest) - year(model.birth_latest) - 1
        oldest = year(model.last_seen_latest) - year(model.birth_earliest)
        query = query.where(or_(~known, (youngest <= age) & (oldest >= age)))
    return query


def page_of_records(
    session: Any, kind: str, filters: dict[str, Any], page: int, *options: Any
) -> tuple[int, list[Any]]:
    """How many records pass ``filters``, and page ``page`` of them by reference (the list
    page and the API); ``options`` load what the caller reads of each."""
    model: Any = KINDS[kind]
    query = _filtered(kind, filters)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.options(*options).order_by(model.ref).offset((page - 1) * PAGE).limit(PAGE)
    ).scalars()
    return int(total), list(rows)


@router.get("/records/{kind}")
@roles(*READ)
def record_list(
    request: Request,
    kind: str,
    q: str = "",
    status: Annotated[str, Query(pattern="^(|open|identified|closed|merged)$")] = "",
    sex: Annotated[str, Query(pattern="^(|F|M|U)$")] = "",
    age: Annotated[int | None, Query(ge=0, le=120)] = None,
    since: str = "",
    until: str = "",
    event: str = "",
    place: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    if kind not in KINDS:
        raise HTTPException(404, f"there is no list of {kind!r}; try missing or remains")
    problems: list[str] = []
    filters = {
        "q": q,
        "status": status,
        "sex": sex,
        "age": age,
        "since": _date(since, "since", problems),
        "until": _date(until, "until", problems),
        "event": event,
        "place": place,
    }
    with request.app.state.dvi.db.read() as session:
        total, rows = page_of_records(session, kind, filters, page)
        session.expunge_all()
    return render(
        request,
        "records.html",
        status_code=422 if problems else 200,
        problems=problems,
        kind=kind,
        title=TITLES[kind],
        rows=rows,
        total=total,
        page=page,
        more=page * PAGE < total,
        filters={**filters, "since": since, "until": until, "age": "" if age is None else age},
    )


def record_photos(record: Any) -> list[dict[str, Any]]:
    """A record's active photos in order, each with its faces (for the page and the API)."""
    return [
        {
            "id": p.id,
            "name": p.original_name,
            "detection_status": p.detection_status,
            "detection_note": p.detection_note,
            "width": p.width,
            "height": p.height,
            "faces": [
                {
                    "id": f.id,
                    "subject": f.is_subject,
                    "usable": f.usable,
                    "why_not": f.unusable_reason,
                    "quality": f.quality,
                    "manual": f.manual,
                }
                for f in p.faces
            ],
        }
        for p in sorted(record.photos, key=lambda p: p.position)
        if p.withdrawn_at is None
    ]


def record_candidates(session: Any, kind: str, record_id: int) -> list[Any]:
    """The record's listed candidates in rank order: (candidate, the other record's ref, rank)."""
    own = Candidate.missing_person_id if kind == "missing" else Candidate.remains_id
    rank = Candidate.rank_for_missing if kind == "missing" else Candidate.rank_for_remains
    other: Any = Remains if kind == "missing" else MissingPerson
    other_id = Candidate.remains_id if kind == "missing" else Candidate.missing_person_id
    return list(
        session.execute(
            select(Candidate, other.ref, rank)
            .join(other, other_id == other.id)
            .where(own == record_id, rank.is_not(None))
            .order_by(rank)
        ).all()
    )


@router.get("/records/{kind}/{ref:path}")
@roles(*READ)
def record_page(request: Request, kind: str, ref: str) -> HTMLResponse:
    from opendvi.web.pictures import revealed

    if kind not in KINDS:
        raise HTTPException(404, f"there is no list of {kind!r}; try missing or remains")
    model: Any = KINDS[kind]
    with request.app.state.dvi.db.read() as session:
        record = session.execute(select(model).where(model.ref == ref)).scalar_one_or_none()
        if record is None:
            raise HTTPException(404, f"there is no record {ref!r} among the {TITLES[kind].lower()}")
        photos = record_photos(record)
        candidates = record_candidates(session, kind, record.id)
        history = audit.recent(session, limit=100, entity_ref=ref)
        marks = [(m.kind, m.body_location, m.description) for m in record.marks]
        effects = [(e.category, e.description) for e in record.effects]
        event = record.event.code if record.event else ""
        session.expunge_all()
    return render(
        request,
        "record.html",
        kind=kind,
        record=record,
        photos=photos,
        candidates=candidates,
        history=history,
        marks=marks,
        effects=effects,
        event=event,
        revealed=revealed(request),
        pm=kind == "remains",
        can_edit_faces=request.state.viewer.role in ("admin", "caseworker", "forensic"),
        can_change=request.state.viewer.role in ADD.get(kind, ()),
    )
