"""The audit log: every state change as a typed, hash-chained event written in the same
transaction as the change itself.

Each event's hash covers its fields and the previous event's hash, so changing, removing or
inserting a row anywhere breaks the chain from that row on; ``verify`` names the first broken
link. The database also refuses UPDATE and DELETE on the table (triggers), so ordinary code
cannot rewrite history even by mistake.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, union
from sqlalchemy.event import listen
from sqlalchemy.orm import Session, SessionTransaction

from opendvi.db.rows import view_of
from opendvi.db.tables import (
    Assignment,
    AuditEvent,
    AuditHead,
    Calibration,
    Decision,
    Event,
    Face,
    Identification,
    MissingPerson,
    Notification,
    Photo,
    Remains,
    User,
    utcnow,
)

if TYPE_CHECKING:
    from opendvi.app import OpenDVI

__all__ = [
    "GENESIS",
    "AuditEvent",
    "ChainReport",
    "Entry",
    "about_any",
    "count",
    "digest",
    "events",
    "hold_head",
    "recent",
    "record",
    "verify",
    "verify_chain",
]

GENESIS = "0" * 64
# Where ``record`` leaves the chain's new head in its session, for the anchor (audit_anchor).
HEAD_KEY = "opendvi.audit_head"
# Where ``hold_head`` leaves the chain's head row with the transaction that locked it.
HELD_KEY = "opendvi.audit_head_row"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(snapshot: Mapping[str, Any] | None) -> str:
    """SHA-256 of a record's state, as stored in an event's before/after fields."""
    if snapshot is None:
        return ""
    return hashlib.sha256(canonical_json(snapshot).encode()).hexdigest()


def _at_text(at: dt.datetime) -> str:
    # SQLite hands back naive datetimes and PostgreSQL aware ones in the session's zone:
    # hash the UTC wall-clock time so both read the same.
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def link_hash(event: AuditEvent) -> str:
    body = [
        event.id,
        _at_text(event.at),
        event.actor,
        event.action,
        event.entity_type,
        event.entity_id,
        event.entity_ref,
        event.before_digest,
        event.after_digest,
        event.details or {},
        event.prev_hash,
    ]
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


# The rows an event can be about, and what the event calls each.
Audited = (
    Assignment
    | Calibration
    | Decision
    | Event
    | Face
    | Identification
    | MissingPerson
    | Notification
    | Photo
    | Remains
    | User
)
ENTITY_TYPES: dict[type[Audited], str] = {
    Assignment: "assignment",
    Calibration: "calibration",
    Decision: "decision",
    Event: "event",
    Face: "face",
    Identification: "identification",
    MissingPerson: "missing_person",
    Notification: "notification",
    Photo: "photo",
    Remains: "remains",
    User: "user",
}


def _subject(session: Session, about: Audited | tuple[str, int]) -> tuple[str, int]:
    if isinstance(about, tuple):
        return about
    if about.id is None:
        session.flush()  # a row just added gets its id
    return ENTITY_TYPES[type(about)], about.id


def _locked_head(session: Session) -> AuditHead:
    return session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()


@dataclass
class _Held:
    """The chain's head locked for one transaction, and the events appended since, kept in
    memory until the transaction commits."""

    transaction: SessionTransaction
    row: AuditHead
    last_id: int
    last_hash: str
    pending: list[AuditEvent] = field(default_factory=list)
    # Where the chain stood when each savepoint began (until the transaction ends: a
    # savepoint is told rolled back only once it has ended).
    marks: dict[SessionTransaction, tuple[int, int, str, Any]] = field(default_factory=dict)


def _held(session: Session) -> _Held | None:
    held: _Held | None = session.info.get(HELD_KEY)
    return held if held is not None and held.transaction is session.get_transaction() else None


def hold_head(session: Session) -> None:
    """Lock the chain's head once for the rest of the caller's transaction (a batch of
    saves). The events the transaction appends are then chained in memory, each from the
    one before, and written together, with the head, just before it commits: in the same
    transaction as the changes they record, as one by one. A savepoint rolled back takes
    the events appended inside it with it. Called outside any savepoint: on PostgreSQL,
    rolling one back gives up the locks taken inside it."""
    if session.in_nested_transaction():
        raise RuntimeError("hold_head inside a savepoint: the lock would go with it")
    if _held(session) is not None:
        return
    row = _locked_head(session)  # begins the transaction if it has not begun
    transaction = session.get_transaction()
    assert transaction is not None
    held = _Held(transaction, row, row.last_id, row.last_hash)
    session.info[HELD_KEY] = held

    def began(session: Session, begun: SessionTransaction) -> None:
        if begun.nested and _held(session) is held:
            where = (len(held.pending), held.last_id, held.last_hash)
            held.marks[begun] = (*where, session.info.get(HEAD_KEY))

    def rolled_back(session: Session, ended: SessionTransaction) -> None:
        mark = held.marks.pop(ended, None)
        if mark is not None and ended.nested:
            kept, held.last_id, held.last_hash, head = mark
            del held.pending[kept:]
            if head is None:
                session.info.pop(HEAD_KEY, None)
            else:
                session.info[HEAD_KEY] = head

    def write(session: Session) -> None:
        if session.in_nested_transaction() or _held(session) is not held or not held.pending:
            return
        session.add_all(held.pending)
        held.row.last_id, held.row.last_hash = held.last_id, held.last_hash
        held.pending = []

    listen(session, "after_transaction_create", began)
    listen(session, "after_soft_rollback", rolled_back)
    listen(session, "before_commit", write)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    about: Audited | tuple[str, int],
    ref: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction. ``about`` is the row
    the event is about (or its kind and id); ``ref`` the record it concerns, as people
    name it (a reference, a pair of references, a user name)."""
    entity_type, entity_id = _subject(session, about)
    chain = _held(session) or _locked_head(session)
    event = AuditEvent(
        id=chain.last_id + 1,
        at=utcnow(),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        entity_ref=ref,
        before_digest=digest(before),
        after_digest=digest(after),
        details=dict(details or {}),
        prev_hash=chain.last_hash,
    )
    event.hash = link_hash(event)
    chain.last_id, chain.last_hash = event.id, event.hash
    if isinstance(chain, _Held):
        chain.pending.append(event)
    else:
        session.add(event)
    session.info[HEAD_KEY] = (event.id, event.hash)
    return event


@dataclass(frozen=True)
class ChainReport:
    """What ``verify`` found: how many events it checked, and the first broken link if any."""

    checked: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None and not self.reason


def verify(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the chain from the first event and report the first link that does not hold."""
    previous_hash, expected_id, checked = GENESIS, 1, 0
    rows = session.execute(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch)
    ).scalars()
    for event in rows:
        if event.id != expected_id:
            return ChainReport(
                checked,
                expected_id,
                f"event {expected_id} is missing (the next event found is {event.id})",
            )
        if event.prev_hash != previous_hash:
            return ChainReport(
                checked, event.id, f"event {event.id} does not follow the event before it"
            )
        if link_hash(event) != event.hash:
            return ChainReport(
                checked,
                event.id,
                f"event {event.id} ({event.action} {event.entity_ref or event.entity_type}) "
                "was changed after it was written",
            )
        previous_hash, expected_id, checked = event.hash, expected_id + 1, checked + 1
    head = session.get(AuditHead, 1)
    if head is None:
        return ChainReport(checked, checked + 1, "the chain head (table audit_head) is missing")
    if head.last_id == checked and head.last_hash != previous_hash:
        # No event follows the last one to break: the head's hash is what holds it.
        last = f"event {checked}, the last," if checked else "the empty chain"
        return ChainReport(
            max(checked - 1, 0),
            checked,
            f"{last} does not match the chain's head (table audit_head): the event or the "
            "head was changed after it was written",
        )
    if head.last_id != checked:
        if head.last_id > checked:
            broken, what = checked + 1, "events at the end were removed"
        else:
            broken, what = head.last_id + 1, "events were added without the chain's head"
        return ChainReport(
            checked,
            broken,
            f"the chain ends at event {checked} but its head records event {head.last_id}: {what}",
        )
    return ChainReport(checked)


def verify_chain(app: OpenDVI) -> ChainReport:
    """``verify`` on the application's database."""
    with app.db.read() as session:
        return verify(session)


@dataclass(frozen=True)
class Entry:
    """One event of the log as the front ends show it."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    entity_ref: str
    details: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> Entry:
        return view_of(cls, event, details=event.details or {})


def recent(
    session: Session,
    *,
    limit: int | None = 50,
    entity_ref: str | None = None,
    entity: tuple[str, int] | None = None,
    oldest_first: bool = False,
) -> list[Entry]:
    """Inside a read: the newest events, newest first (``oldest_first``: in the order they
    happened); only those about one record's ``entity_ref``, or about ``entity`` (its type
    and id), when given."""
    order = AuditEvent.id if oldest_first else AuditEvent.id.desc()
    query = select(AuditEvent).order_by(order).limit(limit)
    if entity_ref:
        query = query.where(AuditEvent.entity_ref == entity_ref)
    if entity is not None:
        query = query.where(AuditEvent.entity_type == entity[0], AuditEvent.entity_id == entity[1])
    return [Entry.of(event) for event in session.execute(query).scalars()]


def about_any(
    session: Session,
    *,
    refs: Collection[str],
    entities: Mapping[str, Collection[int]],
    limit: int | None = 50,
) -> list[Entry]:
    """Inside a read: the newest events, newest first, about any of ``refs`` or any of
    ``entities`` (ids by type); each part read from its index, the union then ordered."""
    parts = [select(AuditEvent.id).where(AuditEvent.entity_ref.in_(list(refs)))]
    parts += [
        select(AuditEvent.id).where(
            AuditEvent.entity_type == kind, AuditEvent.entity_id.in_(list(ids))
        )
        for kind, ids in entities.items()
        if ids
    ]
    found = union(*parts).subquery()
    query = (
        select(AuditEvent)
        .where(AuditEvent.id.in_(select(found.c.id)))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return [Entry.of(event) for event in session.execute(query).scalars()]


def events(app: OpenDVI, *, limit: int = 50, entity_ref: str | None = None) -> list[Entry]:
    """The newest events, newest first; only those about ``entity_ref`` when given."""
    with app.db.read() as session:
        return recent(session, limit=limit, entity_ref=entity_ref)


def count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(AuditEvent)).scalar_one())
