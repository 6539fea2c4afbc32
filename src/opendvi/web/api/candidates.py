"""``/api/stats`` and ``/api/candidates``: what the registry holds, candidate pairs with
every factor, and reviewers' decisions on a pair (as on the comparison page)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from opendvi.app import OpenDVI
from opendvi.caseload import stats
from opendvi.core.odds import shown_factors
from opendvi.core.roles import Permission
from opendvi.matching.figures import odds_of
from opendvi.matching.queries import CandidateView, candidate, candidates, pair_named
from opendvi.review import exclude, judge, propose_identification, refer
from opendvi.review.assignment import assign, unassign
from opendvi.web.api.answers import Answer, errors
from opendvi.web.api.identifications import IdentificationDetail
from opendvi.web.deps import DviDep, PagingDep, RowId, ViewerDep
from opendvi.web.links import pair_path
from opendvi.web.security import permits

router = APIRouter(prefix="/api", tags=["api"])
CHANGE = errors(400, 401, 403, 404, 409, 422)


class OddsOut(BaseModel):
    words: str = Field(description="The figure alone: 'about 1 in 4,800', 'fewer than 1 in …'")
    sentence: str = Field(description="The figure with what it means and the reports searched")
    one_in: int | None = Field(description="The X of '1 in X' as said (None: most searches)")
    registry: int = Field(description="How many reports a search covers")
    floored: bool = Field(description="Whether the figure is held at its floor")
    floor: str = Field(description="Why it is not said rarer (empty when not floored)")


class CandidateOut(Answer):
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
    odds: OddsOut = Field(description="The pair's one figure, as every page says it")
    credible: bool
    status: str
    model: str
    factors: dict[str, Any] = Field(
        description="Every factor: points, why, and weight: how much more (or less) likely it "
        "makes a match, in words"
    )

    @classmethod
    def of(cls, dvi: OpenDVI, found: CandidateView | None) -> CandidateOut:
        assert found is not None  # a decision named the pair by its stored candidate
        return cls.listed(dvi, [found])[0]

    @classmethod
    def listed(cls, dvi: OpenDVI, found: list[CandidateView]) -> list[CandidateOut]:
        return [
            cls.model_validate(
                {
                    **{name: getattr(c, name) for name in cls.model_fields if hasattr(c, name)},
                    "factors": shown_factors(c.factors),
                    "odds": odds.as_json(),
                }
            )
            for c, odds in zip(found, odds_of(dvi, found), strict=True)
        ]


class ExcludeIn(BaseModel):
    reason: str = Field(min_length=1, description="Why the pair is not the same person")


class ReferIn(BaseModel):
    compare: list[str] = Field(
        description="Primary identifiers to compare: one or more of dna, fingerprints, dental"
    )
    reason: str = Field("", description="Why the pair is referred (optional)")


class JudgeIn(BaseModel):
    verdict: str = Field(description="same, different or unsure")
    note: str = Field("", description="What the judgement rests on (optional)")


class JudgementOut(Answer):
    by: str
    on: str
    verdict: str
    words: str
    note: str


class JudgedOut(Answer):
    decision: int = Field(validation_alias="decision_id")
    judgements: list[JudgementOut] = Field(
        description="Every judgement of the pair: by, on, verdict, words, note"
    )


class AssignIn(BaseModel):
    to: str | None = Field(
        description="The user name of the reviewer to look at the pair; null takes it back"
    )


class AssignedOut(Answer):
    pm_ref: str
    am_ref: str
    to: str | None = Field(description="The reviewer the pair is assigned to; null: nobody")
    before: str | None = Field(description="Whom it was assigned to before, if anyone")


class IdentifyIn(BaseModel):
    primary: list[str] = Field(
        default_factory=list,
        description="Primary identifiers that agree: dna, fingerprints, dental",
    )
    secondary: list[str] = Field(
        default_factory=list,
        description="Secondary evidence that agrees: face, marks, effects, description, "
        "circumstances (at least two kinds, never a face alone, when no primary is given)",
    )
    note: str = Field(
        "",
        description="The basis: how the evidence agrees (a sentence or more when only "
        "secondary evidence is given)",
    )


@router.get("/stats", responses=errors(401, 422))
@permits(Permission.READ)
def api_stats(dvi: DviDep) -> dict[str, int]:
    """Counts of what the database holds."""
    return stats(dvi)


@router.get("/candidates", responses=errors(401, 422))
@permits(Permission.READ)
def api_candidates(
    dvi: DviDep, paging: PagingDep, pm_ref: str | None = None, credible: bool | None = None
) -> list[CandidateOut]:
    """Listed candidates, the most credible first; ``pm_ref`` for one remains record's list."""
    found = candidates(dvi, pm_ref=pm_ref, credible=credible, **vars(paging))
    return CandidateOut.listed(dvi, found)


@router.get("/candidates/{candidate_id}", responses=errors(401, 404, 422))
@permits(Permission.READ)
def api_candidate(dvi: DviDep, candidate_id: RowId) -> CandidateOut:
    """One candidate pair with every factor."""
    return CandidateOut.of(dvi, candidate(dvi, candidate_id))


@router.get("/candidates/{pm_ref}/{am_ref:path}", responses=errors(401, 404, 422))
@permits(Permission.READ)
def api_candidate_pair(request: Request, dvi: DviDep, pm_ref: str, am_ref: str) -> CandidateOut:
    """One candidate pair with every factor, named by its two references (each quoted whole:
    a ``/`` inside one is ``%2F``); the address stays the pair's when it is matched again."""
    named = pair_path(request, pm_ref, am_ref)
    return CandidateOut.of(
        dvi, candidate(dvi, named if isinstance(named, tuple) else pair_named(dvi, named))
    )


@router.post("/candidates/{candidate_id}/exclude", responses=errors(400, 401, 403, 404, 422))
@permits(Permission.REVIEW)
def api_exclude(
    dvi: DviDep, viewer: ViewerDep, candidate_id: RowId, body: ExcludeIn
) -> CandidateOut:
    """Record that the pair is not the same person (see docs/matching.md, Exclusions)."""
    done = exclude(dvi, candidate_id, reason=body.reason, username=viewer.username)
    return CandidateOut.of(dvi, done.candidate)


@router.post("/candidates/{candidate_id}/refer", responses=errors(400, 401, 403, 404, 422))
@permits(Permission.REVIEW)
def api_refer(dvi: DviDep, viewer: ViewerDep, candidate_id: RowId, body: ReferIn) -> CandidateOut:
    """Refer the pair as a possible match, for comparison of primary identifiers."""
    done = refer(
        dvi, candidate_id, compare=body.compare, reason=body.reason, username=viewer.username
    )
    return CandidateOut.of(dvi, done.candidate)


@router.post("/candidates/{candidate_id}/judge", status_code=201, responses=CHANGE)
@permits(Permission.REVIEW)
def api_judge(dvi: DviDep, viewer: ViewerDep, candidate_id: RowId, body: JudgeIn) -> JudgedOut:
    """Record your own judgement of the pair, made before seeing its score (blind review)."""
    done = judge(dvi, candidate_id, verdict=body.verdict, note=body.note, username=viewer.username)
    return JudgedOut.model_validate(done)


@router.post("/candidates/{candidate_id}/identify", status_code=201, responses=CHANGE)
@permits(Permission.REVIEW)
def api_identify(
    response: Response, dvi: DviDep, viewer: ViewerDep, candidate_id: RowId, body: IdentifyIn
) -> IdentificationDetail:
    """Propose that the remains are the reported person, on the method given; two other
    reviewers must confirm it (docs/matching.md)."""
    proposed = propose_identification(
        dvi,
        candidate_id,
        primary=body.primary,
        secondary=body.secondary,
        note=body.note,
        username=viewer.username,
    )
    response.headers["Location"] = f"/api/identifications/{proposed.number}"
    return IdentificationDetail.model_validate(proposed)


@router.post("/candidates/{candidate_id}/assign", responses=CHANGE)
@permits(Permission.ASSIGN_REVIEWS)
def api_assign(dvi: DviDep, viewer: ViewerDep, candidate_id: RowId, body: AssignIn) -> AssignedOut:
    """Give the pair to a reviewer to look at (``to``), or take it back (``to`` null)."""
    if body.to is None:
        done = unassign(dvi, candidate_id, username=viewer.username)
    else:
        done = assign(dvi, candidate_id, to=body.to, username=viewer.username)
    return AssignedOut.model_validate(done)
