"""Identifications as the front ends read them: the list, newest first, and one with every
decision on its pair and who is told of it: the names and reasons only for those who may
read families' details, how many for the others."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from opendvi.app import OpenDVI
from opendvi.core.roles import Permission, may
from opendvi.db.tables import Candidate, Decision, Identification, MissingPerson, Remains, User
from opendvi.errors import NotFound
from opendvi.notify.queue import TaskLine, tasks_of
from opendvi.notify.task import Unreached, unreached

__all__ = [
    "DecisionEntry",
    "IdentificationDetail",
    "IdentificationView",
    "identification",
    "identification_in",
    "identifications",
]


@dataclass(frozen=True)
class IdentificationView:
    number: int
    remains_id: int
    report_id: int
    pm_ref: str
    am_ref: str
    status: str  # proposed, confirmed or revoked
    method: str  # as stored: dna+dental, or secondary:face+marks
    basis: str
    proposed_by: str
    proposed_at: dt.datetime
    confirmed_by: list[str]  # up to two reviewers, neither the proposer
    confirmed_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoke_reason: str


@dataclass(frozen=True)
class DecisionEntry:
    kind: str  # propose_identification, confirm, revoke, exclude, ...
    reason: str
    by: str
    at: dt.datetime


@dataclass(frozen=True)
class IdentificationDetail(IdentificationView):
    candidate_id: int | None = None
    history: list[DecisionEntry] = field(default_factory=list)  # every decision, oldest first
    task_count: int = 0  # notification tasks: the families told, or to be told
    not_told_count: int = 0  # contacts of the report who are not told
    # For those who may read families' details (core.roles), else empty:
    tasks: list[TaskLine] = field(default_factory=list)
    not_told: list[Unreached] = field(default_factory=list)  # contacts not told, with why


def _with_people() -> Any:
    """Identifications with both records' refs and the proposer and confirmers."""
    proposer, first, second = aliased(User), aliased(User), aliased(User)
    return (
        select(
            Identification,
            Remains.ref,
            MissingPerson.ref,
            proposer.username,
            first.username,
            second.username,
        )
        .join(Remains, Identification.remains_id == Remains.id)
        .join(MissingPerson, Identification.missing_person_id == MissingPerson.id)
        .join(proposer, Identification.proposed_by_id == proposer.id)
        .outerjoin(first, Identification.confirmed_by_1_id == first.id)
        .outerjoin(second, Identification.confirmed_by_2_id == second.id)
    )


def _view(row: Any) -> dict[str, Any]:
    identification, pm_ref, am_ref, proposer, first, second = row
    return {
        "number": identification.id,
        "remains_id": identification.remains_id,
        "report_id": identification.missing_person_id,
        "pm_ref": pm_ref,
        "am_ref": am_ref,
        "status": identification.status,
        "method": identification.method,
        "basis": identification.basis,
        "proposed_by": proposer,
        "proposed_at": identification.proposed_at,
        "confirmed_by": [name for name in (first, second) if name is not None],
        "confirmed_at": identification.confirmed_at,
        "revoked_at": identification.revoked_at,
        "revoke_reason": identification.revoke_reason,
    }


def identifications(
    app: OpenDVI, *, status: str = "", limit: int = 100, offset: int = 0
) -> list[IdentificationView]:
    """Identifications, the newest first; only those in ``status`` when given."""
    query = _with_people().order_by(Identification.id.desc())
    if status:
        query = query.where(Identification.status == status)
    with app.db.read() as session:
        rows = session.execute(query.offset(offset).limit(limit)).all()
        return [IdentificationView(**_view(row)) for row in rows]


def identification_in(session: Session, number: int, *, role: str) -> IdentificationDetail:
    """Inside a read or a change: one identification with every decision on its pair, as
    a user of ``role`` may see it."""
    row = session.execute(_with_people().where(Identification.id == number)).first()
    if row is None:
        raise NotFound(f"there is no identification {number}")
    view = _view(row)
    pair = (
        Decision.remains_id == view["remains_id"],
        Decision.missing_person_id == view["report_id"],
    )
    history = [
        DecisionEntry(d.kind, d.reason, username, d.created_at)
        for d, username in session.execute(
            select(Decision, User.username)
            .join(User, Decision.user_id == User.id)
            .where(*pair)
            .order_by(Decision.id)
        )
    ]
    candidate = session.execute(
        select(Candidate.id).where(
            Candidate.remains_id == view["remains_id"],
            Candidate.missing_person_id == view["report_id"],
        )
    ).scalar_one_or_none()
    tasks = tasks_of(session, number, role=role)
    not_told = unreached(session, view["report_id"], role=role)
    families = may(role, Permission.READ_FAMILIES)
    return IdentificationDetail(
        **view,
        candidate_id=candidate,
        history=history,
        task_count=len(tasks),
        not_told_count=len(not_told),
        tasks=tasks if families else [],
        not_told=not_told if families else [],
    )


def identification(app: OpenDVI, number: int, *, role: str) -> IdentificationDetail:
    """One identification with every decision on its pair, its notification tasks and the
    report's contacts who are not told, as a user of ``role`` may see them."""
    with app.db.read() as session:
        return identification_in(session, number, role=role)
