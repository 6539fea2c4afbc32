"""The JSON API under /api: the same queries and use-cases as the pages, for scripts and
other systems. Signed-in sessions only; changes carry the CSRF token in ``X-CSRF-Token``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import aliased

from opendvi.db.queries import stats
from opendvi.db.tables import Candidate, MissingPerson, Remains
from opendvi.web.security import READ, REVIEW, roles

router = APIRouter(prefix="/api", tags=["api"])


class CandidateOut(BaseModel):
    id: int
    pm_ref: str
    am_ref: str
    rank_for_remains: int | None
    rank_for_missing: int | None
    score: float = Field(description="Total points: face plus description (higher: more alike)")
    face_score: float | None
    false_candidate_rate: float | None = Field(
        description="Chance that a search of this many reports shows a stranger this similar"
    )
    credible: bool
    status: str
    model: str
    factors: dict[str, Any]


class ExcludeIn(BaseModel):
    reason: str = Field(min_length=1, description="Why the pair is not the same person")


def _out(candidate: Candidate, pm_ref: str, am_ref: str) -> CandidateOut:
    return CandidateOut(
        id=candidate.id,
        pm_ref=pm_ref,
        am_ref=am_ref,
        rank_for_remains=candidate.rank_for_remains,
        rank_for_missing=candidate.rank_for_missing,
        score=candidate.score,
        face_score=candidate.face_score,
        false_candidate_rate=candidate.false_candidate_rate,
        credible=candidate.credible,
        status=candidate.status,
        model=f"{candidate.model_name} {candidate.model_version}",
        factors=candidate.factors or {},
    )


def _query() -> Any:
    report = aliased(MissingPerson)
    return (
        select(Candidate, Remains.ref, report.ref)
        .join(Remains, Candidate.remains_id == Remains.id)
        .join(report, Candidate.missing_person_id == report.id)
    )


@router.get("/stats")
@roles(*READ)
def api_stats(request: Request) -> dict[str, int]:
    """Counts of what the database holds."""
    with request.app.state.dvi.db.read() as session:
        return stats(session)


@router.get("/candidates")
@roles(*READ)
def api_candidates(
    request: Request,
    pm_ref: str | None = None,
    credible: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CandidateOut]:
    """Listed candidates, the most credible first; ``pm_ref`` for one remains record's list."""
    query = _query().where(Candidate.rank_for_remains.is_not(None))
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
    with request.app.state.dvi.db.read() as session:
        rows = session.execute(query.offset(offset).limit(limit)).all()
        return [_out(c, pm, am) for c, pm, am in rows]


@router.get("/candidates/{candidate_id}")
@roles(*READ)
def api_candidate(request: Request, candidate_id: int) -> CandidateOut:
    """One candidate pair with every factor."""
    with request.app.state.dvi.db.read() as session:
        row = session.execute(_query().where(Candidate.id == candidate_id)).first()
        if row is None:
            raise HTTPException(404, f"there is no candidate {candidate_id}")
        return _out(*row)


@router.post("/candidates/{candidate_id}/exclude")
@roles(*REVIEW)
def api_exclude(request: Request, candidate_id: int, body: ExcludeIn) -> CandidateOut:
    """Record that the pair is not the same person (see docs/matching.md, Exclusions)."""
    from opendvi.review import exclude

    dvi = request.app.state.dvi
    current = api_candidate(request, candidate_id)
    exclude(
        dvi,
        current.pm_ref,
        current.am_ref,
        reason=body.reason,
        username=request.state.viewer.username,
    )
    return api_candidate(request, candidate_id)
