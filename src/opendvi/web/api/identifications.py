"""``/api/identifications``: proposed, confirmed and revoked identifications, each with every
decision on its pair; confirming (two reviewers other than the proposer) and revoking."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from opendvi.core.roles import Permission
from opendvi.review import (
    confirm_identification,
    identification,
    identifications,
    object_to_identification,
    revoke_identification,
)
from opendvi.web.api.answers import Answer, Moment, errors
from opendvi.web.deps import DviDep, PagingDep, RowId, ViewerDep
from opendvi.web.security import permits

__all__ = ["IdentificationDetail", "router"]

router = APIRouter(prefix="/api", tags=["api"])


class RevokeIn(BaseModel):
    reason: str = Field(description="Why the identification is revoked")


class ObjectionIn(BaseModel):
    note: str = Field(description="What the reviewer objects to: what does not hold")


class ConfirmIn(BaseModel):
    checked: str = Field(
        description="What the confirmer checked: the evidence it rests on, both records"
    )


class ConfirmationOut(Answer):
    by: str
    checked: str = Field(description="What the confirmer says they checked")


class DecisionOut(Answer):
    kind: str = Field(description="propose_identification, confirm, revoke, exclude, ...")
    reason: str
    by: str
    at: Moment


class IdentificationOut(Answer):
    number: RowId
    pm_ref: str
    am_ref: str
    status: str = Field(description="proposed, confirmed or revoked")
    method: str = Field(description="As stored: dna+dental, or secondary:face+marks")
    method_words: str = Field(description="The same in plain words")
    basis: str
    proposed_by: str
    proposed_at: Moment
    confirmed_by: list[str] = Field(description="Up to two reviewers, neither the proposer")
    confirmations: list[ConfirmationOut] = Field(description="Who confirmed, what they checked")
    confirmed_at: Moment | None
    revoked_at: Moment | None
    revoke_reason: str


class IdentificationDetail(IdentificationOut):
    candidate_id: RowId | None
    history: list[DecisionOut] = Field(description="Every decision on the pair, oldest first")
    objections: list[DecisionOut] = Field(
        description="Reviewers' objections since it was proposed, put to its confirmers"
    )


@router.get("/identifications", responses=errors(401, 422))
@permits(Permission.READ)
def api_identifications(
    dvi: DviDep,
    paging: PagingDep,
    status: Annotated[str, Query(pattern="^(|proposed|confirmed|revoked)$")] = "",
) -> list[IdentificationOut]:
    """Identifications, the newest first."""
    found = identifications(dvi, status=status, **vars(paging))
    return [IdentificationOut.model_validate(one) for one in found]


@router.get("/identifications/{number}", responses=errors(401, 404, 422))
@permits(Permission.READ)
def api_identification(dvi: DviDep, viewer: ViewerDep, number: RowId) -> IdentificationDetail:
    """One identification with every decision on its pair."""
    return IdentificationDetail.model_validate(identification(dvi, number, role=viewer.role))


@router.post("/identifications/{number}/confirm", responses=errors(400, 401, 403, 404, 409, 422))
@permits(Permission.REVIEW)
def api_confirm(
    dvi: DviDep, viewer: ViewerDep, number: RowId, body: ConfirmIn
) -> IdentificationDetail:
    """Add a confirmation, saying what was checked; the second, by another reviewer,
    confirms the identification. Refused (409) to the proposer, and to whoever confirmed
    it already; 422 without what was checked."""
    done = confirm_identification(dvi, number, checked=body.checked, username=viewer.username)
    return IdentificationDetail.model_validate(done)


@router.post("/identifications/{number}/revoke", responses=errors(400, 401, 403, 404, 409, 422))
@permits(Permission.REVIEW)
def api_revoke(
    dvi: DviDep, viewer: ViewerDep, number: RowId, body: RevokeIn
) -> IdentificationDetail:
    """Revoke an identification, its history kept; the records are open again."""
    done = revoke_identification(dvi, number, reason=body.reason, username=viewer.username)
    return IdentificationDetail.model_validate(done)


@router.post("/identifications/{number}/object", responses=errors(400, 401, 403, 404, 409, 422))
@permits(Permission.REVIEW)
def api_object(
    dvi: DviDep, viewer: ViewerDep, number: RowId, body: ObjectionIn
) -> IdentificationDetail:
    """Record an objection to an identification proposed or confirmed: nothing changes,
    the objection is shown to its confirmers. 409 for a revoked one; 422 without a note."""
    done = object_to_identification(dvi, number, note=body.note, username=viewer.username)
    return IdentificationDetail.model_validate(done)
