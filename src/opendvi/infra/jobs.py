"""Work queued in the database, done by whoever runs it next: `opendvi match`, the end of an
import, or the web application's background worker.

A record that is created or changed, or whose faces change, queues one ``match`` job in the
same transaction as the change, so a crash can never leave a change without its job.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from opendvi.db.tables import Job, Photo, utcnow

__all__ = [
    "KEEP_DONE",
    "MATCH",
    "Side",
    "finish",
    "pending_matches",
    "purge_done",
    "queue_match",
    "queue_photo_owner",
]

MATCH = "match"
# Finished jobs are kept a week (when each record was last matched), then deleted: the audit
# log keeps what matching found, and the queue stays small however many changes were made.
KEEP_DONE = dt.timedelta(days=7)
Side = Literal["missing", "remains"]


def _subject(side: Side, record_id: int) -> str:
    return f"{side}:{record_id}"


def queue_match(session: Session, side: Side, record_id: int) -> None:
    """Queue matching for one record, unless it is already waiting."""
    subject = _subject(side, record_id)
    waiting = session.execute(
        select(Job.id).where(Job.kind == MATCH, Job.subject == subject, Job.status == "queued")
    ).first()
    if waiting is None:
        session.add(Job(kind=MATCH, subject=subject, status="queued"))


def queue_photo_owner(session: Session, photo: Photo) -> None:
    if photo.missing_person_id is not None:
        queue_match(session, "missing", photo.missing_person_id)
    elif photo.remains_id is not None:
        queue_match(session, "remains", photo.remains_id)


def pending_matches(session: Session) -> list[tuple[int, Side, int]]:
    """Queued match jobs as (job id, side, record id), oldest first."""
    rows = session.execute(
        select(Job.id, Job.subject)
        .where(Job.kind == MATCH, Job.status == "queued")
        .order_by(Job.id)
    ).all()
    out: list[tuple[int, Side, int]] = []
    for job_id, subject in rows:
        side, _, number = subject.partition(":")
        if side in ("missing", "remains") and number.isdigit():
            out.append((job_id, side, int(number)))  # type: ignore[arg-type]
    return out


def finish(session: Session, job_ids: list[int]) -> None:
    if job_ids:
        session.execute(
            update(Job)
            .where(Job.id.in_(job_ids))
            .values(status="done", finished_at=utcnow(), attempts=Job.attempts + 1)
        )


def purge_done(session: Session, *, older_than: dt.timedelta = KEEP_DONE) -> int:
    """Delete jobs finished more than ``older_than`` ago; how many were deleted."""
    cutoff = utcnow() - older_than
    result = session.execute(delete(Job).where(Job.status == "done", Job.finished_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
