"""The review queue, and one pair compared with the decisions a reviewer takes on it:
their own judgement (blind review), exclude, refer a possible match, propose an
identification. A refused or invalid form comes back (422) with the reason and what was
typed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opendvi.app import OpenDVI
from opendvi.core.roles import Permission
from opendvi.errors import InputError, Refused
from opendvi.people import Account
from opendvi.review import (
    VERDICTS,
    IdentificationDetail,
    comparison,
    exclude,
    judge,
    propose_identification,
    refer,
)
from opendvi.review.queue import Shown, blind_for, review_queue
from opendvi.web.deps import DviDep, RowId, ViewerDep
from opendvi.web.security import permits
from opendvi.web.templating import render

router = APIRouter(include_in_schema=False)
T = TypeVar("T")


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
    candidate_id: RowId,
    status: int = 200,
    **typed: Any,
) -> HTMLResponse:
    """The comparison page, with a form's problem and what was typed when it came back."""
    pair = comparison(dvi, candidate_id, viewer_id=viewer.id, viewer_role=viewer.role)
    return render(
        request, "compare.html", status_code=status, **vars(pair), verdicts=VERDICTS, **typed
    )


@dataclass(frozen=True)
class PairForm:
    """A decision posted on a pair's comparison page, and who posted it."""

    request: Request
    dvi: OpenDVI
    viewer: Account
    candidate_id: RowId

    @property
    def username(self) -> str:
        return self.viewer.username

    def submit(
        self,
        decide: Callable[[], T],
        problem: str,
        *,
        then: Callable[[T], str] | None = None,
        **typed: Any,
    ) -> Response:
        """Record the decision and show the pair again (or the page ``then`` names); a
        refused (409) or invalid (422) one comes back with the reason (as ``problem``) and
        what was typed."""
        try:
            done = decide()
        except (InputError, Refused) as refused:
            return compared(
                self.request,
                self.dvi,
                self.viewer,
                self.candidate_id,
                409 if isinstance(refused, Refused) else 422,
                **{problem: str(refused)},
                **typed,
            )
        target = then(done) if then else f"/candidates/{self.candidate_id}"
        return RedirectResponse(target, status_code=303)


async def _pair_form(
    request: Request, dvi: DviDep, viewer: ViewerDep, candidate_id: RowId
) -> PairForm:
    return PairForm(request, dvi, viewer, candidate_id)


PairFormDep = Annotated[PairForm, Depends(_pair_form)]


@router.get("/candidates/{candidate_id}", name="compare")
@permits(Permission.READ)
def compare_page(
    request: Request, dvi: DviDep, viewer: ViewerDep, candidate_id: RowId
) -> HTMLResponse:
    return compared(request, dvi, viewer, candidate_id)


@router.post("/candidates/{candidate_id}/judge")
@permits(Permission.REVIEW)
def judge_candidate(
    on: PairFormDep, verdict: Annotated[str, Form()] = "", note: Annotated[str, Form()] = ""
) -> Response:
    """The reviewer's own judgement of the pair (blind review), then the score."""

    def decide() -> object:
        return judge(on.dvi, on.candidate_id, verdict=verdict, note=note, username=on.username)

    return on.submit(decide, "judge_problem", judge_note=note)


@router.post("/candidates/{candidate_id}/exclude")
@permits(Permission.REVIEW)
def exclude_candidate(on: PairFormDep, reason: Annotated[str, Form()] = "") -> Response:
    def decide() -> object:
        return exclude(on.dvi, on.candidate_id, reason=reason, username=on.username)

    return on.submit(decide, "problem", reason=reason)


@router.post("/candidates/{candidate_id}/refer")
@permits(Permission.REVIEW)
def refer_candidate(
    on: PairFormDep,
    compare: Annotated[list[str] | None, Form()] = None,
    reason: Annotated[str, Form()] = "",
) -> Response:
    def decide() -> object:
        wanted = compare or []
        return refer(on.dvi, on.candidate_id, compare=wanted, reason=reason, username=on.username)

    return on.submit(decide, "refer_problem", refer_reason=reason)


@router.post("/candidates/{candidate_id}/identify")
@permits(Permission.REVIEW)
def propose(
    on: PairFormDep,
    primary: Annotated[list[str] | None, Form()] = None,
    secondary: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form()] = "",
) -> Response:
    def decide() -> IdentificationDetail:
        return propose_identification(
            on.dvi,
            on.candidate_id,
            primary=primary or [],
            secondary=secondary or [],
            note=note,
            username=on.username,
        )

    return on.submit(
        decide,
        "identify_problem",
        then=lambda made: f"/identifications/{made.number}",
        identify_note=note,
        identify_primary=primary or [],
        identify_secondary=secondary or [],
    )
