"""Withdrawing from the record page: one photo, or the whole report at its reporting
contact's request, each after a reason chosen from the list and a confirmation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from opendvi.core.roles import Permission
from opendvi.errors import InputError
from opendvi.records import withdraw_photo, withdraw_report
from opendvi.web.deps import DviDep, RowId, ViewerDep
from opendvi.web.pages.intake import to_record
from opendvi.web.security import permits

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
ReasonField = Annotated[str, Form()]
ConfirmField = Annotated[str, Form()]


def _confirmed(confirm: str) -> None:
    if confirm != "yes":
        raise InputError(
            "confirm: tick the box to confirm; what is withdrawn is erased and cannot be "
            "brought back",
            field="confirm",
        )


@router.post("/photos/{photo_id}/withdraw")
@permits(Permission.WITHDRAW_PHOTOS)
def withdraw_one_photo(
    dvi: DviDep, viewer: ViewerDep, photo_id: RowId, reason: ReasonField, confirm: ConfirmField = ""
) -> Response:
    """Erase one photo of a record, its faces and the pairs they supported."""
    _confirmed(confirm)
    done = withdraw_photo(dvi, photo_id, actor=viewer.username, reason=reason)
    return to_record(done.kind, done.ref)


@router.post("/records/missing/{ref:path}/withdraw")
@permits(Permission.ADD_REPORTS)
def withdraw_a_report(
    dvi: DviDep, viewer: ViewerDep, ref: str, reason: ReasonField, confirm: ConfirmField = ""
) -> Response:
    """Withdraw a report at its reporting contact's request."""
    _confirmed(confirm)
    done = withdraw_report(dvi, ref, actor=viewer.username, reason=reason)
    return to_record("missing", done.ref)
