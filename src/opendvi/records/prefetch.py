"""What the saves of a batch of records look up, read at once for the whole batch instead
of once a record: the stored records of its references with their parts, the references
that are also records of the other kind, and the events the batch names.

Each looked-up record is handed out once (``take``); asked again, or for a reference not
looked up, the caller reads the database as it would without a batch.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from opendvi.db.tables import Event, MissingPerson, Remains

__all__ = ["Prefetched", "prefetch"]

Record = MissingPerson | Remains
# Values bound in one IN list: far below what SQLite and PostgreSQL accept.
CHUNK = 500


@dataclass
class Prefetched:
    """Looked up for a batch of saves of one kind of record."""

    # The stored records by reference (parts loaded), and references known not stored.
    records: dict[str, Record] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)
    # References of the batch that a record of the other kind has too.
    other_refs: set[str] = field(default_factory=set)
    events: dict[str, Event] = field(default_factory=dict)

    def take(self, ref: str) -> tuple[bool, Record | None]:
        """Whether ``ref`` was looked up, and its stored record (None: not stored)."""
        if ref in self.records:
            return True, self.records.pop(ref)
        if ref in self.absent:
            self.absent.discard(ref)
            return True, None
        return False, None


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


def prefetch(
    session: Session,
    kind: type[Record],
    refs: Collection[str],
    *,
    event_codes: Collection[str] = (),
) -> Prefetched:
    """Inside the caller's transaction: the records ``refs`` of ``kind`` with everything a
    save compares (event, marks, effects, photos, contacts), which of ``refs`` the other
    kind has, and the events of ``event_codes`` already stored."""
    other: type[Record] = Remains if kind is MissingPerson else MissingPerson
    parts = [
        selectinload(kind.event),
        selectinload(kind.marks),
        selectinload(kind.effects),
        selectinload(kind.photos),
    ]
    if kind is MissingPerson:
        parts.append(selectinload(MissingPerson.contacts))
    wanted = sorted(set(refs))
    found = Prefetched()
    for chunk in _chunks(wanted):
        rows = session.execute(select(kind).where(kind.ref.in_(chunk)).options(*parts)).scalars()
        for record in rows:
            stored = cast("Record", record)  # SQLAlchemy types a choice of two classes as Base
            found.records[stored.ref] = stored
        found.other_refs.update(session.scalars(select(other.ref).where(other.ref.in_(chunk))))
    found.absent = set(wanted) - set(found.records)
    for chunk in _chunks(sorted(set(event_codes))):
        for event in session.scalars(select(Event).where(Event.code.in_(chunk))):
            found.events[event.code] = event
    return found
