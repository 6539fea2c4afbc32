"""The review queue, and one pair compared with the decisions a reviewer takes on it:
their own judgement (blind review), exclude, refer a possible match, propose an
identification. A refused or invalid form comes back (422) with the reason and what was
typed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opendvi.core.roles import Permission
from opendvi.errors import InputError, Refused
from opendvi.review import VERDICTS, comparison, exclude, judge, propose_identification, refer
from opendvi.review.queue import Shown, blind_for, review_queue
from opendvi.web.deps import DviDep, ViewerDep
from opendvi.web.security import permits
from opendvi.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/review")
@permits(Permission.READ)
def queue_page(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    show: Annotated[Shown, Query(pattern="^(credible|all|resurfaced)$")] = "credible",
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    """Candidates for review, the most credible first (lowest false-candidate rate)."""
    found = review_queue(dvi, show, page)
    return render(
        request,
        "review.html",
        blind=blind_for(dvi.settings, viewer.role),
        items=found.items,
        show=found.show,
        page=found.page,
        more=found.more,
    )


def compared(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    candidate_id: int,
    status: int = 200,
    **typed: Any,
) -> HTMLResponse:
    """The comparison page, with a form's problem and what was typed when it came back."""
    pair = comparison(dvi, candidate_id, viewer_id=viewer.id, viewer_role=viewer.role)
    return render(
        request, "compare.html", status_code=status, **vars(pair), verdicts=VERDICTS, **typed
    )


def _back(candidate_id: int) -> RedirectResponse:
    return RedirectResponse(f"/candidates/{candidate_id}", status_code=303)


@router.get("/candidates/{candidate_id}", name="compare")
@permits(Permission.READ)
def compare_page(
    request: Request, dvi: DviDep, viewer: ViewerDep, candidate_id: int
) -> HTMLResponse:
    return compared(request, dvi, viewer, candidate_id)


@router.post("/candidates/{candidate_id}/judge")
@permits(Permission.REVIEW)
def judge_candidate(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    candidate_id: int,
    verdict: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """The reviewer's own judgement of the pair (blind review), then the score."""
    try:
        judge(dvi, candidate_id, verdict=verdict, note=note, username=viewer.username)
    except (InputError, Refused) as problem:
        return compared(
            request, dvi, viewer, candidate_id, 422, judge_problem=str(problem), judge_note=note
        )
    return _back(candidate_id)


@router.post("/candidates/{candidate_id}/exclude")
@permits(Permission.REVIEW)
def exclude_candidate(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    candidate_id: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        exclude(dvi, candidate_id, reason=reason, username=viewer.username)
    except InputError as problem:
        return compared(
            request, dvi, viewer, candidate_id, 422, problem=str(problem), reason=reason
        )
    return _back(candidate_id)


@router.post("/candidates/{candidate_id}/refer")
@permits(Permission.REVIEW)
def refer_candidate(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    candidate_id: int,
    compare: Annotated[list[str] | None, Form()] = None,
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        refer(dvi, candidate_id, compare=compare or [], reason=reason, username=viewer.username)
    except (InputError, Refused) as problem:
        return compared(
            request, dvi, viewer, candidate_id, 422, refer_problem=str(problem), refer_reason=reason
        )
    return _back(candidate_id)


@router.post("/candidates/{candidate_id}/identify")
@permits(Permission.REVIEW)
def propose(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    candidate_id: int,
    primary: Annotated[list[str] | None, Form()] = None,
    secondary: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        proposed = propose_identification(
            dvi,
            candidate_id,
            primary=primary or [],
            secondary=secondary or [],
            note=note,
            username=viewer.username,
        )
    except (InputError, Refused) as problem:
        typed = {"note": note, "primary": primary or [], "secondary": secondary or []}
        return compared(
            request,
            dvi,
            viewer,
            candidate_id,
            422,
            identify_problem=str(problem),
            **{f"identify_{key}": value for key, value in typed.items()},
        )
    return RedirectResponse(f"/identifications/{proposed.number}", status_code=303)
