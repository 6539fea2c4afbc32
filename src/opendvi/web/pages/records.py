"""Lists of reports and remains with search and filters, and a page per record with its
photos, faces, candidates and history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from opendvi.core.roles import Permission
from opendvi.notify.texts import LANGUAGES
from opendvi.records import Filters, page_of_records, record_detail
from opendvi.records.intake import KINDS, Kind
from opendvi.records.withdrawal import REASONS
from opendvi.web.deps import DviDep, ViewerDep
from opendvi.web.sections import CONTACT_LABELS, SHARING_WORDS, page_sections
from opendvi.web.security import permits
from opendvi.web.templating import render

router = APIRouter(include_in_schema=False)
TITLES = {"missing": "Missing-person reports", "remains": "Unidentified remains"}


def known_kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise HTTPException(404, f"there is no list of {kind!r}; try missing or remains")
    return kind  # type: ignore[return-value]


def _date(text: str, field: str, problems: list[str]) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        problems.append(f"{field}: {text} is not a date; write YYYY-MM-DD")
        return None


@router.get("/records/{kind}")
@permits(Permission.READ)
def record_list(
    request: Request,
    dvi: DviDep,
    kind: str,
    q: str = "",
    status: Annotated[str, Query(pattern="^(|open|identified|closed|merged|withdrawn)$")] = "",
    sex: Annotated[str, Query(pattern="^(|F|M|U)$")] = "",
    age: Annotated[int | None, Query(ge=0, le=120)] = None,
    since: str = "",
    until: str = "",
    event: str = "",
    place: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    problems: list[str] = []
    dates = {"since": _date(since, "since", problems), "until": _date(until, "until", problems)}
    filters = Filters(q=q, status=status, sex=sex, age=age, event=event, place=place, **dates)
    found = page_of_records(dvi, known_kind(kind), filters, page)
    typed = {**vars(filters), "since": since, "until": until, "age": "" if age is None else age}
    return render(
        request,
        "records.html",
        status_code=422 if problems else 200,
        problems=problems,
        kind=kind,
        title=TITLES[kind],
        rows=found.records,
        total=found.total,
        page=page,
        more=found.more,
        filters=typed,
    )


@router.get("/records/{kind}/{ref:path}")
@permits(Permission.READ)
def record_page(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    kind: str,
    ref: str,
    added: Annotated[int, Query(ge=0, le=1000)] = 0,
) -> HTMLResponse:
    """The record; after photos were added (``added``), what that changes."""
    found = record_detail(dvi, known_kind(kind), ref, role=viewer.role)
    return render(
        request,
        "record.html",
        kind=kind,
        record=found.record,
        photos=found.photos,
        candidates=found.candidates,
        history=found.history,
        warnings=found.warnings,
        sections=page_sections(kind, found.record.fields),
        contacts=found.contacts,
        languages=LANGUAGES,
        sharing_words=SHARING_WORDS,
        contact_labels=CONTACT_LABELS,
        added=added,
        pm=kind == "remains",
        can_edit_faces=viewer.may(
            Permission.EDIT_FACES if kind == "missing" else Permission.EDIT_REMAINS_FACES
        ),
        can_change=viewer.may(
            Permission.ADD_REPORTS if kind == "missing" else Permission.ADD_REMAINS
        ),
        reasons=REASONS,
    )
