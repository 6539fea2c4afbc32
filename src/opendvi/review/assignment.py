"""Sharing the review out: a pair given to one reviewer to look at, or taken back. It
decides nothing about the pair; it says whose it is to look at, and the queue can keep to
one reviewer's pairs. Only someone who may review is given a pair; who may give one is
``Permission.ASSIGN_REVIEWS``. Each change is audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.roles import Permission, a_person, may, who
from opendvi.db.tables import Assignment, User, utcnow
from opendvi.errors import InputError, NotFound, Refused
from opendvi.people.accounts import acting_user
from opendvi.review.decisions import Pair, pair_of

__all__ = ["Assigned", "assign", "unassign"]


@dataclass(frozen=True)
class Assigned:
    pm_ref: str
    am_ref: str
    to: str | None  # the reviewer's user name; None once taken back
    before: str | None  # whom it was assigned to before, if anyone


def _reviewer(session: Session, name: str) -> User:
    user = session.execute(select(User).where(User.username == name)).scalar_one_or_none()
    if user is None or not user.active:
        raise NotFound(f"there is no active user {name!r}; `opendvi users list` names them")
    if not may(user.role, Permission.REVIEW):
        raise Refused(
            f"{name} is {a_person(user.role)}; a pair is assigned only to {who(Permission.REVIEW)}"
        )
    return user


def _held(session: Session, remains_id: int, report_id: int) -> Assignment | None:
    return session.execute(
        select(Assignment).where(
            Assignment.remains_id == remains_id, Assignment.missing_person_id == report_id
        )
    ).scalar_one_or_none()


def _name(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return user.username if user is not None else f"user {user_id}"


def assign(app: OpenDVI, pair: Pair, *, to: str, username: str) -> Assigned:
    """Give the pair (its two refs, or its candidate's number) to reviewer ``to`` to look
    at, in place of whoever had it."""
    to = to.strip()
    if not to:
        raise InputError("to: name the reviewer the pair is assigned to", field="to")
    with app.db.write() as session:
        by = acting_user(session, username, Permission.ASSIGN_REVIEWS, doing="assign a pair")
        remains, report = pair_of(session, pair)
        reviewer = _reviewer(session, to)
        row = _held(session, remains.id, report.id)
        before = _name(session, row.user_id) if row is not None else None
        if row is not None and row.user_id == reviewer.id:
            return Assigned(remains.ref, report.ref, to, before)  # nothing changes
        if row is None:
            row = Assignment(remains_id=remains.id, missing_person_id=report.id)
            session.add(row)
        row.user_id, row.assigned_by_id, row.assigned_at = reviewer.id, by.id, utcnow()
        session.flush()
        audit.record(
            session,
            actor=username,
            action="candidate.assigned",
            about=row,
            ref=f"{remains.ref} / {report.ref}",
            before={"to": before} if before else None,
            after={"to": to},
            details={"remains": remains.ref, "missing_person": report.ref},
        )
        return Assigned(remains.ref, report.ref, to, before)


def unassign(app: OpenDVI, pair: Pair, *, username: str) -> Assigned:
    """Take the pair back from whoever it was assigned to."""
    with app.db.write() as session:
        acting_user(session, username, Permission.ASSIGN_REVIEWS, doing="take back a pair")
        remains, report = pair_of(session, pair)
        row = _held(session, remains.id, report.id)
        if row is None:
            raise Refused(f"{remains.ref} / {report.ref} is not assigned to anyone")
        before = _name(session, row.user_id)
        audit.record(
            session,
            actor=username,
            action="candidate.unassigned",
            about=row,
            ref=f"{remains.ref} / {report.ref}",
            before={"to": before},
            details={"remains": remains.ref, "missing_person": report.ref},
        )
        session.delete(row)
        return Assigned(remains.ref, report.ref, None, before)
