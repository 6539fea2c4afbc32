"""Identifications as the front ends read them: the list, newest first, and one with every
decision on its pair and who is told of it: the names and reasons only for those who may
read families' details, how many for the others."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from opendvi.app import OpenDVI
from opendvi.core.roles import Permission, may
from opendvi.core.uncertain import IntRange
from opendvi.core.workflow import method_words
from opendvi.db.tables import (
    Candidate,
    Decision,
    Face,
    Identification,
    MissingPerson,
    Photo,
    Remains,
    User,
)
from opendvi.errors import NotFound
from opendvi.notify.queue import TaskLine, tasks_of
from opendvi.notify.task import Unreached, unreached
from opendvi.records.values import range_text

__all__ = [
    "Confirmation",
    "DecisionEntry",
    "IdentificationDetail",
    "IdentificationView",
    "identification",
    "identification_in",
    "identifications",
    "objections_of",
    "why_not_confirm",
]


class Confirmation(NamedTuple):
    by: str
    checked: str  # what the confirmer says they checked


@dataclass(frozen=True)
class IdentificationView:
    number: int
    remains_id: int
    report_id: int
    pm_ref: str
    am_ref: str
    status: str  # proposed, confirmed or revoked
    method: str  # as stored: dna+dental, or secondary:face+marks
    method_words: str  # the same in plain words (core.workflow.method_words)
    basis: str
    proposed_by: str
    proposed_at: dt.datetime
    confirmed_by: list[str]  # up to two reviewers, neither the proposer
    confirmations: list[Confirmation]  # who confirmed and what they checked
    confirmed_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoke_reason: str


@dataclass(frozen=True)
class DecisionEntry:
    kind: str  # propose_identification, confirm, revoke, exclude, ...
    reason: str
    by: str
    at: dt.datetime


class SideFace(NamedTuple):
    id: int
    photo_id: int


@dataclass(frozen=True)
class IdentificationDetail(IdentificationView):
    candidate_id: int | None = None
    # What a confirmer reads of each record before signing: key facts in words, a face.
    remains_facts: list[tuple[str, str]] = field(default_factory=list)
    report_facts: list[tuple[str, str]] = field(default_factory=list)
    remains_face: SideFace | None = None
    report_face: SideFace | None = None
    history: list[DecisionEntry] = field(default_factory=list)  # every decision, oldest first
    # Reviewers' objections since it was proposed, oldest first: put to its confirmers.
    objections: list[DecisionEntry] = field(default_factory=list)
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
        "method_words": method_words(identification.method),
        "basis": identification.basis,
        "proposed_by": proposer,
        "proposed_at": identification.proposed_at,
        "confirmed_by": [name for name in (first, second) if name is not None],
        "confirmations": [
            Confirmation(name, checked)
            for name, checked in (
                (first, identification.checked_1),
                (second, identification.checked_2),
            )
            if name is not None
        ],
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


def _ages(low: int | None, high: int | None, unit: str) -> str:
    return f"{IntRange(low, high)}{unit}" if (low, high) != (None, None) else ""


def _facts(pairs: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """The facts given, in words: a yes/no as "available" or "none"; unknown ones left out."""
    words = {True: "available", False: "none"}
    return [
        (label, words[value] if isinstance(value, bool) else str(value))
        for label, value in pairs
        if value not in (None, "")
    ]


def _remains_facts(remains: Remains) -> list[tuple[str, str]]:
    found = range_text(remains.found_earliest, remains.found_latest)
    taken = [
        what
        for what, done in (
            ("DNA sample", remains.dna_sampled),
            ("fingerprints", remains.fingerprints_taken),
            ("dental chart", remains.dental_charted),
        )
        if done
    ]
    return _facts(
        [
            ("Sex", {"M": "male", "F": "female"}.get(remains.sex or "", "")),
            ("Estimated age", _ages(remains.age_min, remains.age_max, " years")),
            ("Height", _ages(remains.height_min_cm, remains.height_max_cm, " cm")),
            ("Found", " at ".join(x for x in (found, remains.found_place or "") if x)),
            ("Kept at", remains.storage_location),
            ("Taken", ", ".join(taken)),
        ]
    )


def _report_facts(report: MissingPerson) -> list[tuple[str, str]]:
    seen = range_text(report.last_seen_earliest, report.last_seen_latest)
    return _facts(
        [
            ("Name", report.full_name),
            ("Sex", {"M": "male", "F": "female"}.get(report.sex or "", "")),
            ("Born", range_text(report.birth_earliest, report.birth_latest)),
            ("Height", _ages(report.height_min_cm, report.height_max_cm, " cm")),
            ("Last seen", " at ".join(x for x in (seen, report.last_seen_place or "") if x)),
            ("DNA reference", report.dna_reference),
            ("Dental records", report.dental_records),
            ("Fingerprint records", report.fingerprint_records),
        ]
    )


def _first_face(session: Session, column: Any, record_id: int) -> SideFace | None:
    """The first photo's face chosen as the person (usable ones first)."""
    row = session.execute(
        select(Face.id, Face.photo_id)
        .join(Photo, Face.photo_id == Photo.id)
        .where(column == record_id, Face.is_subject, Photo.withdrawn_at.is_(None))
        .order_by(Face.usable.desc(), Photo.position, Face.id)
        .limit(1)
    ).first()
    return SideFace(row[0], row[1]) if row is not None else None


def objections_of(history: list[DecisionEntry]) -> list[DecisionEntry]:
    """The objections in a pair's history since its last proposal (an earlier,
    revoked identification's objections were answered by its revocation)."""
    since = max((i for i, d in enumerate(history) if d.kind == "propose_identification"), default=0)
    return [d for d in history[since:] if d.kind == "objection"]


def pair_history(session: Session, remains_id: int, report_id: int) -> list[DecisionEntry]:
    """Every decision on the pair, oldest first, with who made it."""
    return [
        DecisionEntry(d.kind, d.reason, username, d.created_at)
        for d, username in session.execute(
            select(Decision, User.username)
            .join(User, Decision.user_id == User.id)
            .where(Decision.remains_id == remains_id, Decision.missing_person_id == report_id)
            .order_by(Decision.id)
        )
    ]


def identification_in(session: Session, number: int, *, role: str) -> IdentificationDetail:
    """Inside a read or a change: one identification with every decision on its pair, as
    a user of ``role`` may see it."""
    row = session.execute(_with_people().where(Identification.id == number)).first()
    if row is None:
        raise NotFound(f"there is no identification {number}")
    view = _view(row)
    history = pair_history(session, view["remains_id"], view["report_id"])
    candidate = session.execute(
        select(Candidate.id).where(
            Candidate.remains_id == view["remains_id"],
            Candidate.missing_person_id == view["report_id"],
        )
    ).scalar_one_or_none()
    tasks = tasks_of(session, number, role=role)
    not_told = unreached(session, view["report_id"], role=role)
    families = may(role, Permission.READ_FAMILIES)
    remains = session.get(Remains, view["remains_id"])
    report = session.get(MissingPerson, view["report_id"])
    assert remains is not None and report is not None
    return IdentificationDetail(
        **view,
        candidate_id=candidate,
        remains_facts=_remains_facts(remains),
        report_facts=_report_facts(report),
        remains_face=_first_face(session, Photo.remains_id, remains.id),
        report_face=_first_face(session, Photo.missing_person_id, report.id),
        history=history,
        objections=objections_of(history) if view["status"] != "revoked" else [],
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


def why_not_confirm(found: IdentificationView, *, username: str, role: str) -> str:
    """Why ``username`` may not confirm this identification now, in words; empty when
    they may (what ``confirm_identification`` would refuse, said before they try)."""
    if found.status != "proposed":
        return f"it is {found.status}"
    if not may(role, Permission.REVIEW):
        return "only a reviewer, a forensic specialist or an admin confirms an identification"
    if username == found.proposed_by:
        return "you proposed it; two other reviewers confirm it"
    if username in found.confirmed_by:
        return "you confirmed it; one more reviewer, not the proposer, is needed"
    return ""
