"""Decisions from the pages: refer a possible match, propose an identification, confirm it
(two reviewers other than the proposer), revoke it. Each form calls one use-case of
``opendvi.review``; a refused or invalid form comes back with the reason and what was typed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import aliased

from opendvi.db.tables import (
    Candidate,
    Decision,
    Identification,
    MissingPerson,
    Remains,
    User,
)
from opendvi.errors import InputError, Refused
from opendvi.notify import unreached
from opendvi.web.notifications import tasks_of
from opendvi.web.pages import _compare, pair_refs, render
from opendvi.web.security import READ, REVIEW, roles

router = APIRouter(include_in_schema=False)


def with_people() -> Any:
    """Identifications with both records' refs and the proposer and confirmers (users)."""
    proposer, first, second = aliased(User), aliased(User), aliased(User)
    return (
        select(Identification, Remains.ref, MissingPerson.ref, proposer, first, second)
        .join(Remains, Identification.remains_id == Remains.id)
        .join(MissingPerson, Identification.missing_person_id == MissingPerson.id)
        .join(proposer, Identification.proposed_by_id == proposer.id)
        .outerjoin(first, Identification.confirmed_by_1_id == first.id)
        .outerjoin(second, Identification.confirmed_by_2_id == second.id)
    )


@router.post("/candidates/{candidate_id}/refer")
@roles(*REVIEW)
def refer_candidate(
    request: Request,
    candidate_id: int,
    compare: Annotated[list[str] | None, Form()] = None,
    reason: Annotated[str, Form()] = "",
) -> Response:
    from opendvi.review import refer

    pm_ref, am_ref = pair_refs(request, candidate_id)
    try:
        refer(
            request.app.state.dvi,
            pm_ref,
            am_ref,
            compare=compare or [],
            reason=reason,
            username=request.state.viewer.username,
        )
    except (InputError, Refused) as problem:
        return _compare(request, candidate_id, 422, refer_problem=str(problem), refer_reason=reason)
    return RedirectResponse(f"/candidates/{candidate_id}", status_code=303)


@router.post("/candidates/{candidate_id}/identify")
@roles(*REVIEW)
def propose(
    request: Request,
    candidate_id: int,
    primary: Annotated[list[str] | None, Form()] = None,
    secondary: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form()] = "",
) -> Response:
    from opendvi.review import propose_identification

    pm_ref, am_ref = pair_refs(request, candidate_id)
    try:
        number = propose_identification(
            request.app.state.dvi,
            pm_ref,
            am_ref,
            primary=primary or [],
            secondary=secondary or [],
            note=note,
            username=request.state.viewer.username,
        )
    except (InputError, Refused) as problem:
        return _compare(
            request,
            candidate_id,
            422,
            identify_problem=str(problem),
            identify_note=note,
            identify_primary=primary or [],
            identify_secondary=secondary or [],
        )
    return RedirectResponse(f"/identifications/{number}", status_code=303)


def _identification(request: Request, number: int) -> dict[str, Any]:
    with request.app.state.dvi.db.read() as session:
        row = session.execute(with_people().where(Identification.id == number)).first()
        if row is None:
            raise HTTPException(404, f"there is no identification {number}")
        identification, pm_ref, am_ref, by, one, two = row
        history = session.execute(
            select(Decision, User.username)
            .join(User, Decision.user_id == User.id)
            .where(
                Decision.remains_id == identification.remains_id,
                Decision.missing_person_id == identification.missing_person_id,
            )
            .order_by(Decision.id)
        ).all()
        candidate = session.execute(
            select(Candidate.id).where(
                Candidate.remains_id == identification.remains_id,
                Candidate.missing_person_id == identification.missing_person_id,
            )
        ).scalar_one_or_none()
        # The families told (or to be told), and those who are not, with why.
        tasks = tasks_of(session, identification.id)
        not_told = unreached(session, identification.missing_person_id)
        session.expunge_all()
    return {
        "identification": identification,
        "pm_ref": pm_ref,
        "am_ref": am_ref,
        "proposer": by,
        "first": one,
        "second": two,
        "history": history,
        "candidate_id": candidate,
        "tasks": tasks,
        "not_told": not_told,
    }


@router.get("/identifications")
@roles(*READ)
def identifications(request: Request) -> HTMLResponse:
    with request.app.state.dvi.db.read() as session:
        rows = session.execute(
            select(Identification, Remains.ref, MissingPerson.ref)
            .join(Remains, Identification.remains_id == Remains.id)
            .join(MissingPerson, Identification.missing_person_id == MissingPerson.id)
            .order_by(Identification.id.desc())
            .limit(200)
        ).all()
    return render(request, "identifications.html", rows=rows)


@router.get("/identifications/{number}")
@roles(*READ)
def identification_page(request: Request, number: int) -> HTMLResponse:
    return render(request, "identification.html", **_identification(request, number))


@router.post("/identifications/{number}/confirm")
@roles(*REVIEW)
def confirm(request: Request, number: int) -> Response:
    from opendvi.review import confirm_identification

    try:
        confirm_identification(
            request.app.state.dvi, number, username=request.state.viewer.username
        )
    except Refused as problem:
        return render(
            request,
            "identification.html",
            status_code=409,
            confirm_problem=str(problem),
            **_identification(request, number),
        )
    return RedirectResponse(f"/identifications/{number}", status_code=303)


@router.post("/identifications/{number}/revoke")
@roles(*REVIEW)
def revoke(request: Request, number: int, reason: Annotated[str, Form()] = "") -> Response:
    from opendvi.review import revoke_identification

    try:
        revoke_identification(
            request.app.state.dvi, number, reason=reason, username=request.state.viewer.username
        )
    except (InputError, Refused) as problem:
        return render(
            request,
            "identification.html",
            status_code=422,
            revoke_problem=str(problem),
            revoke_reason=reason,
            **_identification(request, number),
        )
    return RedirectResponse(f"/identifications/{number}", status_code=303)
