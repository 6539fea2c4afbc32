"""The review queue, and one pair compared with the decisions a reviewer takes on it:
their own judgement (blind review), exclude, refer a possible match, propose an
identification. A refused or invalid form comes back (422) with the reason and what was
typed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opendvi.app import OpenDVI
from opendvi.core.roles import Permission
from opendvi.errors import InputError, NotFound, Refused
from opendvi.matching.queries import Named, candidate, pair_named, pair_numbered
from opendvi.people import Account, staff
from opendvi.review import (
    VERDICTS,
    IdentificationDetail,
    comparison,
    exclude,
    judge,
    propose_identification,
    refer,
)
from opendvi.review.assignment import assign, unassign
from opendvi.review.queue import Shown, blind_for, queue_events, review_queue
from opendvi.web.deps import DviDep, RowId, ViewerDep
from opendvi.web.links import candidate_url, pair_path
from opendvi.web.security import permits
from opendvi.web.templating import render, same_site

router = APIRouter(include_in_schema=False)
T = TypeVar("T")


REVIEWER_PATTERN = r"^[A-Za-z0-9._@-]{0,80}$"


def _queue(
    request: Request,
    dvi: OpenDVI,
    viewer: Account,
    show: Shown,
    page: int,
    event: str,
    reviewer: str,
    status: int = 200,
    problem: str = "",
) -> HTMLResponse:
    """The queue as filtered: ``reviewer`` is a user name, "me" or "nobody"."""
    found = review_queue(
        dvi,
        show,
        page,
        event=event,
        reviewer=viewer.username if reviewer == "me" else "" if reviewer == "nobody" else reviewer,
        unassigned=reviewer == "nobody",
    )
    return render(
        request,
        "review.html",
        status_code=status,
        blind=blind_for(dvi.settings, viewer.role),
        items=found.items,
        show=found.show,
        page=found.page,
        more=found.more,
        registry=found.registry,
        floors=found.floors,
        event=event,
        reviewer=reviewer,
        events=queue_events(dvi),
        reviewers=staff(dvi, Permission.REVIEW),
        problem=problem,
    )


@router.get("/review")
@permits(Permission.READ)
def queue_page(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    show: Annotated[Shown, Query(pattern="^(credible|all|resurfaced)$")] = "credible",
    page: Annotated[int, Query(ge=1)] = 1,
    event: Annotated[str, Query(max_length=120)] = "",
    reviewer: Annotated[str, Query(pattern=REVIEWER_PATTERN)] = "",
) -> HTMLResponse:
    """Candidates for review, the most credible first (lowest false-candidate rate); only
    one event's, or those assigned to one reviewer ("me"), or to nobody."""
    return _queue(request, dvi, viewer, show, page, event.strip(), reviewer)


def _back_to_queue(
    request: Request, dvi: OpenDVI, viewer: Account, back: str, act: Callable[[], object]
) -> Response:
    """Do it and return to the queue as it was filtered; a refusal is shown there (422)."""
    target = same_site(back)
    try:
        act()
    except (InputError, Refused, NotFound) as refused:
        query = dict(parse_qsl(urlsplit(target).query))
        show = query.get("show", "")
        return _queue(
            request,
            dvi,
            viewer,
            show if show in ("all", "resurfaced") else "credible",  # type: ignore[arg-type]
            int(query["page"]) if query.get("page", "").isdigit() else 1,
            query.get("event", ""),
            query.get("reviewer", ""),
            status=422,
            problem=str(refused),
        )
    return RedirectResponse(target if target.startswith("/review") else "/review", 303)


@router.post("/candidates/{candidate_id}/assign")
@permits(Permission.ASSIGN_REVIEWS)
def assign_candidate(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    candidate_id: RowId,
    to: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/review",
) -> Response:
    """Give the pair to a reviewer to look at, then the queue again."""
    return _back_to_queue(
        request,
        dvi,
        viewer,
        back,
        lambda: assign(dvi, candidate_id, to=to, username=viewer.username),
    )


@router.post("/candidates/{candidate_id}/unassign")
@permits(Permission.ASSIGN_REVIEWS)
def unassign_candidate(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    candidate_id: RowId,
    back: Annotated[str, Form()] = "/review",
) -> Response:
    """Take the pair back from its reviewer, then the queue again."""
    return _back_to_queue(
        request, dvi, viewer, back, lambda: unassign(dvi, candidate_id, username=viewer.username)
    )


def compared(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    named: Named,
    status: int = 200,
    **typed: Any,
) -> HTMLResponse:
    """The comparison page, with a form's problem and what was typed when it came back."""
    pair = comparison(dvi, named, viewer_id=viewer.id, viewer_role=viewer.role)
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
        if then:
            return RedirectResponse(then(done), status_code=303)
        shown = candidate(self.dvi, self.candidate_id)
        return RedirectResponse(candidate_url(shown.pm_ref, shown.am_ref), status_code=303)


async def _pair_form(
    request: Request, dvi: DviDep, viewer: ViewerDep, candidate_id: RowId
) -> PairForm:
    return PairForm(request, dvi, viewer, candidate_id)


PairFormDep = Annotated[PairForm, Depends(_pair_form)]


@router.get("/candidates/{candidate_id}", name="compare_by_number")
@permits(Permission.READ)
def compare_by_number(dvi: DviDep, candidate_id: RowId) -> RedirectResponse:
    """An address by the pair's number (links made before pairs had one by their
    references) goes on to the pair's address, listed now or not."""
    return RedirectResponse(candidate_url(*pair_numbered(dvi, candidate_id)), status_code=303)


@router.get("/candidates/{pm_ref}/{am_ref:path}", name="compare")
@permits(Permission.READ)
def compare_page(
    request: Request, dvi: DviDep, viewer: ViewerDep, pm_ref: str, am_ref: str
) -> HTMLResponse:
    """The comparison page of the pair the two references name."""
    named = pair_path(request, pm_ref, am_ref)
    return compared(
        request, dvi, viewer, named if isinstance(named, tuple) else pair_named(dvi, named)
    )


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
