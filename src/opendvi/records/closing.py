"""A case closed, and remains released: the dates retention counts from
(``opendvi.retention``). A report is closed when its person is identified and the family
told, or found alive; remains are released to the family once identified."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.vocabulary import RecordStatus
from opendvi.db.tables import MissingPerson, Remains, utcnow
from opendvi.errors import NotFound, Refused
from opendvi.people.accounts import check_if_user
from opendvi.records.intake import (
    ADDED_BY,
    KINDS,
    WHAT,
    Kind,
    Record,
    SaveResult,
    find,
    snapshot,
)

__all__ = ["close_case", "release_remains"]


def _record(session: Session, kind: Kind, ref: str, actor: str, doing: str) -> Record:
    record = find(session, KINDS[kind], ref)
    if record is None:
        raise NotFound(f"there is no record {ref}; `opendvi stats` counts what is kept")
    check_if_user(session, actor, ADDED_BY[kind], doing=doing)
    return record


def close_case(app: OpenDVI, kind: Kind, ref: str, *, actor: str) -> SaveResult:
    """Close the case of record ``ref`` (``actor``: one who may change that kind of record)."""
    with app.db.write() as session:
        record = _record(session, kind, ref, actor, f"close {WHAT[kind]}")
        if record.status == RecordStatus.CLOSED:
            on = record.closed_at.date().isoformat() if record.closed_at else "an earlier date"
            raise Refused(f"{ref} is already closed (on {on})")
        if record.status in (RecordStatus.MERGED, RecordStatus.WITHDRAWN):
            raise Refused(f"{ref} is {record.status}: there is no case to close")
        before = snapshot(record)
        was = record.status
        record.status, record.closed_at = RecordStatus.CLOSED, utcnow()
        session.flush()
        entity = "missing_person" if isinstance(record, MissingPerson) else "remains"
        audit.record(
            session,
            actor=actor,
            action=f"{entity}.closed",
            about=record,
            ref=ref,
            before=before,
            after=snapshot(record),
            details={"was": was},
        )
        return SaveResult("updated", record.id, ref)


def release_remains(app: OpenDVI, ref: str, *, actor: str) -> SaveResult:
    """Record that the identified remains ``ref`` were released (``actor``: forensic staff
    or an admin)."""
    with app.db.write() as session:
        record = _record(session, "remains", ref, actor, "release remains")
        assert isinstance(record, Remains)
        if record.released_at is not None:
            raise Refused(f"{ref} was already released on {record.released_at.date()}")
        if record.status not in (RecordStatus.IDENTIFIED, RecordStatus.CLOSED):
            raise Refused(
                f"{ref} is {record.status}; remains are released once identified "
                "(`opendvi identify confirm`)"
            )
        before = snapshot(record)
        record.released_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="remains.released",
            about=record,
            ref=ref,
            before=before,
            after=snapshot(record),
        )
        return SaveResult("updated", record.id, ref)
