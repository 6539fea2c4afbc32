"""Work queued in the database, done by whoever runs it next: `opendvi match`, the end of an
import, the web application's background worker, or the `opendvi worker` processes.

A record that is created or changed, or whose faces change, queues one ``match`` job in the
same transaction as the change, so a crash can never leave a change without its job.

Several workers share the queue by claims: a worker claims a few queued jobs for a while (its
lease, renewed while it works), and only the worker still holding a job marks it done. A
worker that dies leaves its claims to expire; its jobs are then claimed by another.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import ColumnElement, Row, delete, insert, or_, select, text, update
from sqlalchemy.orm import Session

from opendvi.db.tables import Job, Photo, utcnow

if TYPE_CHECKING:
    from opendvi.db.engine import Database

__all__ = [
    "KEEP_DONE",
    "MATCH",
    "MATCHING_LOCK",
    "Claim",
    "Side",
    "claim_matches",
    "finish",
    "matching_turn",
    "parsed_subjects",
    "pending_matches",
    "purge_done",
    "queue_match",
    "queue_matches",
    "queue_photo_owner",
    "release",
    "renew",
    "worker_id",
]

MATCH = "match"
# Finished jobs are kept a week (when each record was last matched), then deleted: the audit
# log keeps what matching found, and the queue stays small however many changes were made.
KEEP_DONE = dt.timedelta(days=7)
Side = Literal["missing", "remains"]
# Matching writes of several workers on PostgreSQL take turns on this lock (pg_advisory_lock):
# two lists stored at once could each be ranked without the other's pairs. On SQLite the
# database's single writer lock does the same.
MATCHING_LOCK = 7310542


@dataclass(frozen=True)
class Claim:
    """Match jobs one worker holds: (job id, side, record id), oldest first."""

    worker: str
    jobs: list[tuple[int, Side, int]]


def worker_id() -> str:
    """A name for this worker, unique among workers: host:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _subject(side: Side, record_id: int) -> str:
    return f"{side}:{record_id}"


def queue_match(session: Session, side: Side, record_id: int) -> None:
    """Queue matching for one record, unless it is already waiting. A job a worker claimed
    is not waiting: the worker may have read the record before this change."""
    subject = _subject(side, record_id)
    waiting = session.execute(
        select(Job.id).where(
            Job.kind == MATCH,
            Job.subject == subject,
            Job.status == "queued",
            Job.claimed_by == "",
        )
    ).first()
    if waiting is None:
        session.add(Job(kind=MATCH, subject=subject, status="queued"))


def queue_matches(session: Session, side: Side, record_ids: Collection[int]) -> None:
    """``queue_match`` for many records at once (a batch of an import), in their order:
    one query for the jobs already waiting, one insert for the others."""
    subjects = list(dict.fromkeys(_subject(side, record_id) for record_id in record_ids))
    waiting: set[str] = set()
    for start in range(0, len(subjects), 500):
        waiting.update(
            session.scalars(
                select(Job.subject).where(
                    Job.kind == MATCH,
                    Job.subject.in_(subjects[start : start + 500]),
                    Job.status == "queued",
                    Job.claimed_by == "",
                )
            )
        )
    new = [{"kind": MATCH, "subject": s, "status": "queued"} for s in subjects if s not in waiting]
    if new:
        session.execute(insert(Job), new)


def queue_photo_owner(session: Session, photo: Photo) -> None:
    if photo.missing_person_id is not None:
        queue_match(session, "missing", photo.missing_person_id)
    elif photo.remains_id is not None:
        queue_match(session, "remains", photo.remains_id)


def _claimable(now: dt.datetime) -> ColumnElement[bool]:
    return or_(Job.claimed_until.is_(None), Job.claimed_until < now)


def pending_matches(session: Session) -> list[tuple[int, Side, int]]:
    """Queued match jobs as (job id, side, record id), oldest first; not those a live worker
    holds."""
    rows = session.execute(
        select(Job.id, Job.subject)
        .where(Job.kind == MATCH, Job.status == "queued", _claimable(utcnow()))
        .order_by(Job.id)
    ).all()
    return parsed_subjects(rows)


def claim_matches(session: Session, worker: str, *, lease_s: float, limit: int) -> Claim:
    """Claim up to ``limit`` queued match jobs for ``worker`` until ``lease_s`` from now:
    those nobody holds, or whose holder's lease expired. On PostgreSQL the rows are locked
    with ``FOR UPDATE SKIP LOCKED``, so workers claiming at once take different jobs; on
    SQLite the write transaction holds the database's single writer lock."""
    now = utcnow()
    ids = list(
        session.scalars(
            select(Job.id)
            .where(Job.kind == MATCH, Job.status == "queued", _claimable(now))
            .order_by(Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return Claim(worker, [])
    session.execute(
        update(Job)
        .where(Job.id.in_(ids))
        .values(claimed_by=worker, claimed_until=now + dt.timedelta(seconds=lease_s))
    )
    rows = session.execute(select(Job.id, Job.subject).where(Job.id.in_(ids)).order_by(Job.id))
    return Claim(worker, parsed_subjects(rows.all()))


def renew(session: Session, worker: str, *, lease_s: float) -> int:
    """Extend the lease of every unfinished job ``worker`` still holds; how many."""
    result = session.execute(
        update(Job)
        .where(Job.claimed_by == worker, Job.status == "queued")
        .values(claimed_until=utcnow() + dt.timedelta(seconds=lease_s))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release(session: Session, worker: str) -> int:
    """Give back the unfinished jobs ``worker`` holds (it stops); how many."""
    result = session.execute(
        update(Job)
        .where(Job.claimed_by == worker, Job.status == "queued")
        .values(claimed_by="", claimed_until=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@contextmanager
def matching_turn(db: Database, *, key: int = MATCHING_LOCK) -> Iterator[None]:
    """Hold the lock ``key`` (the matching lock by default) while the block runs; on
    PostgreSQL only, SQLite's writer lock does as much. A worker killed while holding it
    loses its connection, and the lock with it."""
    if db.is_sqlite:
        yield
        return
    with db.engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()


def parsed_subjects(rows: Sequence[Row[int, str]]) -> list[tuple[int, Side, int]]:
    out: list[tuple[int, Side, int]] = []
    for job_id, subject in rows:
        side, _, number = subject.partition(":")
        if side in ("missing", "remains") and number.isdigit():
            out.append((job_id, side, int(number)))  # type: ignore[arg-type]
    return out


def finish(session: Session, job_ids: list[int], *, holder: str | None = None) -> None:
    """Mark the jobs done; with ``holder``, only those that worker still holds (a job whose
    lease expired and was claimed by another is that one's to finish)."""
    if job_ids:
        query = update(Job).where(Job.id.in_(job_ids))
        if holder is not None:
            query = query.where(Job.claimed_by == holder, Job.status == "queued")
        session.execute(
            query.values(status="done", finished_at=utcnow(), attempts=Job.attempts + 1)
        )


def purge_done(session: Session, *, older_than: dt.timedelta = KEEP_DONE) -> int:
    """Delete jobs finished more than ``older_than`` ago; how many were deleted."""
    cutoff = utcnow() - older_than
    result = session.execute(delete(Job).where(Job.status == "done", Job.finished_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
