"""Identifications from the pages: the list, one with its history and the families told,
and the forms that confirm it (two reviewers other than the proposer), object to it or
revoke it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opendvi.core.roles import Permission
from opendvi.errors import InputError, Refused
from opendvi.review import (
    confirm_identification,
    identification,
    identifications,
    object_to_identification,
    revoke_identification,
    why_not_confirm,
)
from opendvi.web.deps import DviDep, RowId, ViewerDep
from opendvi.web.security import permits
from opendvi.web.templating import render

router = APIRouter(include_in_schema=False)
LISTED = 200


@router.get("/identifications")
@permits(Permission.READ)
def identifications_page(request: Request, dvi: DviDep) -> HTMLResponse:
    return render(request, "identifications.html", rows=identifications(dvi, limit=LISTED))


def _page(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    number: RowId,
    status: int = 200,
    **typed: Any,
) -> HTMLResponse:
    found = identification(dvi, number, role=viewer.role)
    return render(
        request,
        "identification.html",
        status_code=status,
        identification=found,
        not_confirming=why_not_confirm(found, username=viewer.username, role=viewer.role),
        **typed,
    )


def _back(number: RowId) -> RedirectResponse:
    return RedirectResponse(f"/identifications/{number}", status_code=303)


@router.get("/identifications/{number}")
@permits(Permission.READ)
def identification_page(
    request: Request, dvi: DviDep, viewer: ViewerDep, number: RowId
) -> HTMLResponse:
    return _page(request, dvi, viewer, number)


@router.post("/identifications/{number}/confirm")
@permits(Permission.REVIEW)
def confirm(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    number: RowId,
    checked: Annotated[str, Form()] = "",
) -> Response:
    try:
        confirm_identification(dvi, number, checked=checked, username=viewer.username)
    except InputError as problem:
        return _page(request, dvi, viewer, number, 422, confirm_problem=str(problem))
    except Refused as problem:
        return _page(request, dvi, viewer, number, 409, confirm_problem=str(problem))
    return _back(number)


@router.post("/identifications/{number}/revoke")
@permits(Permission.REVIEW)
def revoke(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    number: RowId,
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        revoke_identification(dvi, number, reason=reason, username=viewer.username)
    except (InputError, Refused) as problem:
        return _page(
            request, dvi, viewer, number, 422, revoke_problem=str(problem), revoke_reason=reason
        )
    return _back(number)


@router.post("/identifications/{number}/object")
@permits(Permission.REVIEW)
def object_to(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    number: RowId,
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        object_to_identification(dvi, number, note=note, username=viewer.username)
    except (InputError, Refused) as problem:
        return _page(
            request, dvi, viewer, number, 422, object_problem=str(problem), object_note=note
        )
    return _back(number)
