"""A record's history: every audit event about it, whether stored under its reference,
under one of its pairs (``PM-1 / AM-1``: decisions on the pair, identifications proposed,
confirmed, objected to or revoked) or under the identifications and notification tasks
that concern it. Each part is read from an index, so a history costs what the record has."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import Decision, Identification, MissingPerson, Notification, Remains

__all__ = ["history_in", "record_history"]


def history_in(session: Session, ref: str, *, limit: int | None = 100) -> list[audit.Entry]:
    """Inside a read: the events about the record ``ref`` (of either kind; a ref of a pair
    or of anything else: the events stored under it), newest first."""
    refs, identifications = {ref}, set()
    for own, other, other_column, this, that in (
        (Remains, MissingPerson, Decision.missing_person_id, Decision.remains_id, "pm"),
        (MissingPerson, Remains, Decision.remains_id, Decision.missing_person_id, "am"),
    ):
        record_id = session.execute(select(own.id).where(own.ref == ref)).scalar_one_or_none()
        if record_id is None:
            continue
        paired = select(other_column).where(this == record_id).distinct().subquery()
        for other_ref in session.execute(
            select(other.ref).where(other.id.in_(select(paired.c[0])))
        ).scalars():
            refs.add(f"{ref} / {other_ref}" if that == "pm" else f"{other_ref} / {ref}")
        column = Identification.remains_id if own is Remains else Identification.missing_person_id
        identifications |= set(
            session.execute(select(Identification.id).where(column == record_id)).scalars()
        )
    tasks = set(
        session.execute(
            select(Notification.id).where(Notification.identification_id.in_(identifications))
        ).scalars()
    )
    return audit.about_any(
        session,
        refs=refs,
        entities={"identification": identifications, "notification": tasks},
        limit=limit,
    )


def record_history(app: OpenDVI, ref: str, *, limit: int | None = 100) -> list[audit.Entry]:
    """The events about the record ``ref``, newest first: its own, its pairs' decisions,
    its identifications and its families' notification steps."""
    with app.db.read() as session:
        return history_in(session, ref, limit=limit)
