"""``/api/photos/{photo_id}/withdrawal`` and ``/api/records/missing/{ref}/withdrawal``: a
photo or a report withdrawn, as from the record page."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from opendvi.core.roles import Permission
from opendvi.records import withdraw_photo, withdraw_report
from opendvi.web.api.answers import Answer, errors
from opendvi.web.deps import DviDep, RowId, ViewerDep
from opendvi.web.security import permits

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["api"])


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        description="contact_request, wrong_person, legal_basis_ended or duplicate; a word "
        "of the list, so the audit log names nobody"
    )


class WithdrawalOut(Answer):
    kind: str
    ref: str
    photos: int = Field(description="Photos erased: original, served copy, faces, embeddings")
    faces: int
    candidates: int = Field(description="Candidate pairs removed; the record is matched again")
    contacts: int = Field(description="Reporting contacts whose details were erased")


@router.post("/photos/{photo_id}/withdrawal", responses=errors(400, 401, 403, 404, 409, 422))
@permits(Permission.WITHDRAW_PHOTOS)
def api_withdraw_photo(
    dvi: DviDep, viewer: ViewerDep, photo_id: RowId, body: WithdrawalIn
) -> WithdrawalOut:
    """Erase one photo of a record (a report's: caseworker or admin; remains': forensic or
    admin)."""
    done = withdraw_photo(dvi, photo_id, actor=viewer.username, reason=body.reason)
    return WithdrawalOut.model_validate(done)


@router.post(
    "/records/missing/{ref:path}/withdrawal", responses=errors(400, 401, 403, 404, 409, 422)
)
@permits(Permission.ADD_REPORTS)
def api_withdraw_report(
    dvi: DviDep, viewer: ViewerDep, ref: str, body: WithdrawalIn
) -> WithdrawalOut:
    """Withdraw a report at its reporting contact's request."""
    done = withdraw_report(dvi, ref, actor=viewer.username, reason=body.reason)
    return WithdrawalOut.model_validate(done)
