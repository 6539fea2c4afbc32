"""What matching found, as the front ends read it: candidate pairs with every factor, the
lists of one record, and how many reports a search covers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opendvi.app import OpenDVI
from opendvi.core.odds import Odds
from opendvi.db.rows import view_of
from opendvi.db.tables import Candidate, MissingPerson, Remains
from opendvi.errors import NotFound

__all__ = [
    "CandidateView",
    "Listed",
    "candidate",
    "candidate_in",
    "candidates",
    "gallery_size",
    "listed_for",
]


@dataclass(frozen=True)
class CandidateView:
    """A stored candidate pair: its ranks both ways, its score and every factor."""

    id: int
    remains_id: int
    report_id: int
    pm_ref: str
    am_ref: str
    rank_for_remains: int | None
    rank_for_missing: int | None
    score: float  # total points: face plus description (higher: more alike)
    face_score: float | None
    false_candidate_rate: float | None
    credible: bool
    status: str
    model_name: str
    model_version: str
    evidence_digest: str
    factors: dict[str, Any]

    @property
    def model(self) -> str:
        return f"{self.model_name} {self.model_version}"

    @classmethod
    def of(cls, candidate: Candidate, pm_ref: str, am_ref: str) -> CandidateView:
        factors = dict(candidate.factors or {})
        report_id = candidate.missing_person_id
        return view_of(
            cls, candidate, report_id=report_id, pm_ref=pm_ref, am_ref=am_ref, factors=factors
        )


def _with_refs() -> Any:
    return (
        select(Candidate, Remains.ref, MissingPerson.ref)
        .join(Remains, Candidate.remains_id == Remains.id)
        .join(MissingPerson, Candidate.missing_person_id == MissingPerson.id)
    )


def candidate_in(session: Session, candidate_id: int) -> CandidateView:
    """Inside a read or a change: one candidate pair (404 if there is none)."""
    row = session.execute(_with_refs().where(Candidate.id == candidate_id)).first()
    if row is None:
        raise NotFound(f"there is no candidate {candidate_id}")
    return CandidateView.of(*row)


def candidate(app: OpenDVI, candidate_id: int) -> CandidateView:
    """One candidate pair with every factor."""
    with app.db.read() as session:
        return candidate_in(session, candidate_id)


def candidates(
    app: OpenDVI,
    *,
    pm_ref: str | None = None,
    credible: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[CandidateView]:
    """Listed candidates, the most credible first; with ``pm_ref``, one remains record's
    list in rank order."""
    query = _with_refs().where(Candidate.rank_for_remains.is_not(None))
    if pm_ref is not None:
        query = query.where(Remains.ref == pm_ref).order_by(Candidate.rank_for_remains)
    else:
        query = query.order_by(
            Candidate.false_candidate_rate.is_(None),
            Candidate.false_candidate_rate,
            Candidate.id,
        )
    if credible is not None:
        query = query.where(Candidate.credible == credible)
    with app.db.read() as session:
        rows = session.execute(query.offset(offset).limit(limit)).all()
        return [CandidateView.of(*row) for row in rows]


@dataclass(frozen=True)
class Listed:
    """A candidate in one record's list: the other side's reference and the rank here."""

    candidate_id: int
    ref: str
    rank: int
    score: float
    credible: bool
    status: str
    odds: Odds | None = None  # the pair's one figure, when asked for


OddsOf = Callable[[float | None, tuple[str, str]], Odds]


def listed_for(
    session: Session, kind: str, record_id: int, odds: OddsOf | None = None
) -> list[Listed]:
    """Inside a read: the record's listed candidates in rank order (``kind``: the record's
    side, "missing" or "remains"), each with its figure by ``odds`` (``matching.figures``)."""
    own = Candidate.missing_person_id if kind == "missing" else Candidate.remains_id
    rank = Candidate.rank_for_missing if kind == "missing" else Candidate.rank_for_remains
    other: Any = Remains if kind == "missing" else MissingPerson
    other_id = Candidate.remains_id if kind == "missing" else Candidate.missing_person_id
    rows = session.execute(
        select(Candidate, other.ref, rank)
        .join(other, other_id == other.id)
        .where(own == record_id, rank.is_not(None))
        .order_by(rank)
    ).all()
    return [
        Listed(
            c.id,
            ref,
            position,
            c.score,
            c.credible,
            c.status,
            odds(c.false_candidate_rate, (c.model_name, c.model_version)) if odds else None,
        )
        for c, ref, position in rows
    ]


def gallery_size(app: OpenDVI) -> int:
    """How many reports a search of the remains covers (kept a few seconds: infra.recent)."""

    def count() -> int:
        with app.db.read() as session:
            return int(session.execute(select(func.count(MissingPerson.id))).scalar_one())

    return int(app.counts.get("reports", count))
