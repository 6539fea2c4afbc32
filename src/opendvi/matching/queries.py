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
from opendvi.db.tables import Candidate, CandidateNumber, MissingPerson, Remains
from opendvi.errors import NotFound

__all__ = [
    "CandidateView",
    "Listed",
    "Named",
    "candidate",
    "candidate_in",
    "candidates",
    "gallery_size",
    "listed_for",
    "numbered_in",
    "pair_in",
    "pair_named",
    "pair_numbered",
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


# A stored pair, named by its two references (PM, AM), which never change, or by its number
# (kept while the pair stays listed; links use the references).
Named = tuple[str, str] | int


def candidate_in(session: Session, pair: Named) -> CandidateView:
    """Inside a read or a change: one candidate pair (404, saying why, if there is none)."""
    if isinstance(pair, int):
        row = session.execute(_with_refs().where(Candidate.id == pair)).first()
        if row is not None:
            return CandidateView.of(*row)
        refs = numbered_in(session, pair)
        if refs is None:
            raise NotFound(
                f"there is no candidate {pair}: no pair was ever given that number; the "
                "records' pages list their candidates"
            )
        pm_ref, am_ref = refs
        raise NotFound(
            f"candidate {pair} ({pm_ref} and {am_ref}) is not listed now: matching no longer "
            f"ranks the pair for either record; `opendvi explain {pm_ref} {am_ref}` scores them"
        )
    pm_ref, am_ref = pair
    row = session.execute(
        _with_refs().where(Remains.ref == pm_ref, MissingPerson.ref == am_ref)
    ).first()
    if row is not None:
        return CandidateView.of(*row)
    if session.execute(select(Remains.id).where(Remains.ref == pm_ref)).first() is None:
        raise NotFound(f"there is no remains record {pm_ref!r}")
    if session.execute(select(MissingPerson.id).where(MissingPerson.ref == am_ref)).first() is None:
        raise NotFound(f"there is no missing-person report {am_ref!r}")
    raise NotFound(
        f"{pm_ref} and {am_ref} are not a candidate pair: matching does not list them for "
        f"each other; `opendvi explain {pm_ref} {am_ref}` scores them"
    )


def numbered_in(session: Session, number: int) -> tuple[str, str] | None:
    """Inside a read: the (PM, AM) references of the pair given ``number`` when it was first
    stored, listed now or not (None: no pair ever had it)."""
    row = session.execute(
        select(Remains.ref, MissingPerson.ref)
        .select_from(CandidateNumber)
        .join(Remains, CandidateNumber.remains_id == Remains.id)
        .join(MissingPerson, CandidateNumber.missing_person_id == MissingPerson.id)
        .where(CandidateNumber.id == number)
    ).first()
    return (row[0], row[1]) if row else None


def pair_numbered(app: OpenDVI, number: int) -> tuple[str, str]:
    """The (PM, AM) references of the pair given ``number`` (404 if none ever was)."""
    with app.db.read() as session:
        refs = numbered_in(session, number)
        if refs is None:
            view = candidate_in(session, number)  # 404: no pair has that number
            return view.pm_ref, view.am_ref
        return refs


def pair_in(session: Session, path: str) -> tuple[str, str]:
    """Inside a read: the (PM, AM) references that ``PM/AM`` names, where a reference may hold
    a ``/`` itself: the first split into a remains record and a report that exist."""
    parts = path.split("/")
    for cut in range(1, len(parts)):
        pm_ref, am_ref = "/".join(parts[:cut]), "/".join(parts[cut:])
        if (
            session.execute(select(Remains.id).where(Remains.ref == pm_ref)).first() is not None
            and session.execute(select(MissingPerson.id).where(MissingPerson.ref == am_ref)).first()
            is not None
        ):
            return pm_ref, am_ref
    pm_ref, _, am_ref = path.partition("/")
    return pm_ref, am_ref


def pair_named(app: OpenDVI, path: str) -> tuple[str, str]:
    """The (PM, AM) references ``PM/AM`` names (see ``pair_in``)."""
    with app.db.read() as session:
        return pair_in(session, path)


def candidate(app: OpenDVI, pair: Named) -> CandidateView:
    """One candidate pair with every factor."""
    with app.db.read() as session:
        return candidate_in(session, pair)


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
    """A candidate in one record's list: the other side's reference and the rank here, and
    both references (which name the pair)."""

    candidate_id: int
    ref: str
    rank: int
    score: float
    credible: bool
    status: str
    pm_ref: str
    am_ref: str
    odds: Odds | None = None  # the pair's one figure, when asked for


OddsOf = Callable[[float | None, tuple[str, str]], Odds]


def listed_for(
    session: Session, kind: str, record_id: int, odds: OddsOf | None = None
) -> list[Listed]:
    """Inside a read: the record's listed candidates in rank order (``kind``: the record's
    side, "missing" or "remains"), each with its figure by ``odds`` (``matching.figures``)."""
    own = Candidate.missing_person_id if kind == "missing" else Candidate.remains_id
    rank = Candidate.rank_for_missing if kind == "missing" else Candidate.rank_for_remains
    rows = session.execute(
        _with_refs().add_columns(rank).where(own == record_id, rank.is_not(None)).order_by(rank)
    ).all()
    return [
        Listed(
            c.id,
            am_ref if kind == "remains" else pm_ref,
            position,
            c.score,
            c.credible,
            c.status,
            pm_ref,
            am_ref,
            odds(c.false_candidate_rate, (c.model_name, c.model_version)) if odds else None,
        )
        for c, pm_ref, am_ref, position in rows
    ]


def gallery_size(app: OpenDVI) -> int:
    """How many reports a search of the remains covers (kept a few seconds: infra.recent)."""

    def count() -> int:
        with app.db.read() as session:
            return int(session.execute(select(func.count(MissingPerson.id))).scalar_one())

    return int(app.counts.get("reports", count))
