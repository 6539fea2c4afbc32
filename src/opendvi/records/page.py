"""One record as its page, the API and ``opendvi faces list`` show it: its values, its
photos and faces, its candidates and its history; and its values as its form is filled in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import MissingPerson, Photo, Remains
from opendvi.errors import NotFound
from opendvi.matching.figures import figures
from opendvi.matching.queries import Listed, listed_for
from opendvi.notify.contacts import ContactView, contact_view
from opendvi.records.history import history_in
from opendvi.records.intake import KINDS, Kind
from opendvi.records.kinds import other_kind_note
from opendvi.records.values import form_row
from opendvi.records.views import PhotoView, RecordView

__all__ = ["RecordDetail", "faces_of", "form_values", "record_detail"]

TITLES = {"missing": "missing-person reports", "remains": "unidentified remains"}
HISTORY = 100


@dataclass(frozen=True)
class RecordDetail:
    record: RecordView
    photos: list[PhotoView]
    candidates: list[Listed]  # listed candidates, best first
    history: list[audit.Entry]  # events about it, its pairs and identifications, newest first
    warnings: list[str]  # its reference is one of the other kind too
    contacts: list[ContactView]  # a report's reporting contacts, as the reader may see them


def _record(session: Session, kind: Kind, ref: str, *options: Any) -> MissingPerson | Remains:
    model: Any = KINDS[kind]  # either table: SQLAlchemy's types cannot follow the choice
    record = session.execute(
        select(model).options(*options).where(model.ref == ref)
    ).scalar_one_or_none()
    if record is None:
        raise NotFound(f"there is no record {ref!r} among the {TITLES[kind]}")
    return cast("MissingPerson | Remains", record)


def record_detail(app: OpenDVI, kind: Kind, ref: str, *, role: str = "") -> RecordDetail:
    """The record with its photos and faces, candidates and history; a report's reporting
    contacts as a user of ``role`` may see them (``core.sharing``; "": masked)."""
    model: Any = KINDS[kind]
    contacts = [selectinload(MissingPerson.contacts)] if kind == "missing" else []
    with app.db.read() as session:
        record = _record(
            session,
            kind,
            ref,
            selectinload(model.event),
            selectinload(model.marks),
            selectinload(model.effects),
            selectinload(model.photos).selectinload(Photo.faces),
            *contacts,
        )
        return RecordDetail(
            record=RecordView.of(record),
            photos=PhotoView.of_record(record),
            candidates=listed_for(session, kind, record.id, figures(app, session).of),
            history=history_in(session, ref, limit=HISTORY),
            warnings=[w for w in [other_kind_note(session, KINDS[kind], ref)] if w],
            contacts=[contact_view(c, role) for c in record.contacts]
            if isinstance(record, MissingPerson)
            else [],
        )


def form_values(app: OpenDVI, kind: Kind, ref: str) -> dict[str, str]:
    """The record's values as its form is filled in (as an export would write them), the
    reporting contact's included."""
    with app.db.read() as session:
        return form_row(_record(session, kind, ref))


def faces_of(app: OpenDVI, ref: str) -> list[PhotoView]:
    """The active photos of the report or remains record ``ref``, each with its faces."""
    with app.db.read() as session:
        both: tuple[Kind, Kind] = ("missing", "remains")
        for kind in both:
            faces = selectinload(KINDS[kind].photos).selectinload(Photo.faces)
            try:
                return PhotoView.of_record(_record(session, kind, ref, faces))
            except NotFound:
                continue
    raise NotFound(f"no report or remains record has the ref {ref!r}")
