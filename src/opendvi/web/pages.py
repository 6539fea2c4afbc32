"""The pages: sign-in, dashboard, review queue and the comparison of one candidate pair.

Each handler reads its input, calls one use-case or query, and renders a template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, or_, select

from opendvi.core.scoring import in_words
from opendvi.core.workflow import PRIMARY, SECONDARY
from opendvi.db.queries import in_review_queue, stats
from opendvi.db.tables import (
    Candidate,
    Face,
    Identification,
    MissingPerson,
    Photo,
    Remains,
    User,
)
from opendvi.errors import InputError, Refused
from opendvi.review import VERDICTS, judgement_of, judgements
from opendvi.web.security import (
    PUBLIC,
    READ,
    REVIEW,
    csrf_token,
    current_viewer,
    roles,
    sign_in,
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
PAGE = 50
FACTOR_NAMES = {
    "face": "Face",
    "sex": "Sex",
    "age": "Age at death",
    "height": "Height",
    "dates": "Dates",
    "place": "Place",
    "marks": "Marks and tattoos",
    "effects": "Clothing and effects",
}


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None) or current_viewer(request)
    return templates.TemplateResponse(
        request,
        name,
        {
            "viewer": viewer,
            "csrf": csrf_token(request),
            "review_roles": REVIEW,
            "primary_ids": PRIMARY,
            "secondary_ids": SECONDARY,
            **context,
        },
        status_code=status_code,
    )


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    titles = {401: "Sign in first", 403: "Not allowed", 404: "Not found", 409: "Not possible"}
    return render(
        request,
        "error.html",
        status_code=status,
        title=titles.get(status, "Something went wrong"),
        message=message,
    )


# -- signing in ------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login")
@roles(*PUBLIC)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), problem="")


@router.post("/login")
@roles(*PUBLIC)
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    from opendvi.users import verify_password

    limiter = request.app.state.limiter
    address = request.client.host if request.client else ""
    wait = limiter.blocked_for(username, address)
    if wait > 0:
        return render(
            request,
            "login.html",
            status_code=429,
            next=_safe_next(next),
            username=username,
            problem=f"Too many failed attempts. Try again in {wait / 60:.0f} minutes.",
        )
    with request.app.state.dvi.db.read() as session:
        user = session.execute(
            select(User).where(User.username == username.strip().lower())
        ).scalar_one_or_none()
        ok = user is not None and user.active and verify_password(user.password_hash, password)
    if not ok or user is None:
        limiter.failed(username, address)
        return render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            username=username,
            problem="The user name or password is wrong.",
        )
    limiter.succeeded(username, address)
    sign_in(request, user)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
@roles(*READ)
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# -- dashboard -------------------------------------------------------------------------------


@router.get("/")
@roles(*READ)
def dashboard(request: Request) -> HTMLResponse:
    from opendvi.web.notifications import open_counts

    def counts() -> dict[str, Any]:
        with request.app.state.dvi.db.read() as session:
            totals = stats(session)
            open_candidates = session.execute(
                select(func.count(Candidate.id)).where(*in_review_queue())
            ).scalar_one()
            faceless = {}
            for kind, owner in (
                (MissingPerson, Photo.missing_person_id),
                (Remains, Photo.remains_id),
            ):
                with_face = (
                    select(owner)
                    .join(Face, Face.photo_id == Photo.id)
                    .where(Face.usable, Face.is_subject, Photo.withdrawn_at.is_(None))
                )
                faceless[kind.__tablename__] = session.execute(
                    select(func.count(kind.id)).where(kind.id.not_in(with_face))
                ).scalar_one()
            confirmed = [
                at
                for (at,) in session.execute(
                    select(Identification.confirmed_at).where(
                        Identification.status == "confirmed",
                        Identification.confirmed_at.is_not(None),
                    )
                )
            ]
            families = open_counts(session)  # open notification tasks, overdue ones
        return {
            "counts": totals,
            "open_candidates": open_candidates,
            "families": families,
            "faceless": faceless,
            "chart": monthly_chart(confirmed),
        }

    return render(request, "dashboard.html", **request.app.state.recent.get("dashboard", counts))


def monthly_chart(moments: list[Any], months: int = 12) -> dict[str, Any]:
    """Bars of the last ``months`` months (this one included), as an SVG needs them."""
    import datetime as dt

    today = dt.date.today()
    keys = []
    year, month = today.year, today.month
    for _ in range(months):
        keys.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys.reverse()
    counts = dict.fromkeys(keys, 0)
    for moment in moments:
        key = (moment.year, moment.month)
        if key in counts:
            counts[key] += 1
    top = max(counts.values(), default=0) or 1
    bars = [
        {
            "label": dt.date(y, m, 1).strftime("%b %Y"),
            "short": dt.date(y, m, 1).strftime("%b"),
            "count": n,
            "height": round(100 * n / top),
        }
        for (y, m), n in counts.items()
    ]
    return {"bars": bars, "total": sum(counts.values())}


def gallery_size(request: Request) -> int:
    """How many reports a search of the remains covers (kept a few seconds: see recent.py)."""

    def count() -> int:
        with request.app.state.dvi.db.read() as session:
            return int(session.execute(select(func.count(MissingPerson.id))).scalar_one())

    return int(request.app.state.recent.get("reports", count))


# -- review queue ----------------------------------------------------------------------------


@router.get("/review")
@roles(*READ)
def review_queue(
    request: Request,
    show: Annotated[str, Query(pattern="^(credible|all|resurfaced)$")] = "credible",
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    """Candidates for review, the most credible first (lowest false-candidate rate)."""
    if show == "credible":
        # Served by ix_candidates_open alone: an index walk that stops after one page.
        where, order = in_review_queue(), [Candidate.false_candidate_rate, Candidate.id]
    elif show == "resurfaced":
        where = [Candidate.rank_for_remains.is_not(None), Candidate.status == "resurfaced"]
        order = [Candidate.false_candidate_rate, Candidate.id]
    else:
        where = [Candidate.rank_for_remains.is_not(None), Candidate.status != "excluded"]
        order = [
            Candidate.false_candidate_rate.is_(None),
            Candidate.false_candidate_rate,
            Candidate.score.desc(),
            Candidate.id,
        ]
    # The page's ids first (from the index, without touching the records), then the page.
    ids = (
        select(Candidate.id)
        .where(*where)
        .order_by(*order)
        .offset((page - 1) * PAGE)
        .limit(PAGE + 1)
        .subquery()
    )
    query = (
        select(
            Candidate.id,
            Candidate.rank_for_remains,
            Candidate.score,
            Candidate.credible,
            Candidate.status,
            Candidate.false_candidate_rate,
            Remains.ref,
            MissingPerson.ref,
        )
        .join(ids, ids.c.id == Candidate.id)
        .join(Remains, Candidate.remains_id == Remains.id)
        .join(MissingPerson, Candidate.missing_person_id == MissingPerson.id)
        .order_by(*order)
    )
    gallery = gallery_size(request)
    with request.app.state.dvi.db.read() as session:
        rows = session.execute(query).all()
    items = [
        {
            "id": row.id,
            "pm_ref": pm_ref,
            "am_ref": am_ref,
            "rank": row.rank_for_remains,
            "score": row.score,
            "credible": row.credible,
            "status": row.status,
            "words": in_words(row.false_candidate_rate, gallery)
            if row.false_candidate_rate is not None
            else "not calibrated",
        }
        for row in rows[:PAGE]
        for pm_ref, am_ref in [(row[-2], row[-1])]
    ]
    return render(
        request,
        "review.html",
        blind=_blind_review(request),
        items=items,
        show=show,
        page=page,
        more=len(rows) > PAGE,
    )


# -- one pair --------------------------------------------------------------------------------


def _faces(session: Any, am_id: int, pm_id: int) -> tuple[list[Any], list[Any]]:
    """The chosen person's faces on each side, in photo order: (report's, remains')."""
    rows = session.execute(
        select(
            Face.id,
            Face.photo_id,
            Face.quality,
            Face.usable,
            Face.unusable_reason,
            Face.rotation_deg,
            Face.manual,
            Photo.missing_person_id,
        )
        .join(Photo, Face.photo_id == Photo.id)
        .where(
            or_(Photo.missing_person_id == am_id, Photo.remains_id == pm_id),
            Photo.withdrawn_at.is_(None),
            Face.is_subject,
        )
        .order_by(Photo.position, Face.id)
    ).all()
    am: list[Any] = []
    pm: list[Any] = []
    for face in rows:
        (am if face.missing_person_id == am_id else pm).append(
            {
                "id": face.id,
                "photo_id": face.photo_id,
                "quality": face.quality,
                "usable": face.usable,
                "why_not": face.unusable_reason,
                "turned": face.rotation_deg,
                "manual": face.manual,
            }
        )
    return am, pm


@router.get("/candidates/{candidate_id}", name="compare")
@roles(*READ)
def compare(request: Request, candidate_id: int) -> HTMLResponse:
    return _compare(request, candidate_id)


def _compare(
    request: Request, candidate_id: int, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    from opendvi.web.pictures import revealed

    with request.app.state.dvi.db.read() as session:
        found = session.execute(
            select(Candidate, Remains.ref, MissingPerson.ref)
            .join(Remains, Candidate.remains_id == Remains.id)
            .join(MissingPerson, Candidate.missing_person_id == MissingPerson.id)
            .where(Candidate.id == candidate_id)
        ).one_or_none()
        if found is None:
            raise HTTPException(404, f"there is no candidate {candidate_id}")
        candidate, pm_ref, am_ref = found
        am_faces, pm_faces = _faces(session, candidate.missing_person_id, candidate.remains_id)
        identification = session.execute(
            select(Identification).where(
                Identification.remains_id == candidate.remains_id,
                Identification.missing_person_id == candidate.missing_person_id,
                Identification.status != "revoked",
            )
        ).scalar_one_or_none()
        viewer = request.state.viewer
        blind = _blind_review(request) and (
            judgement_of(
                session,
                candidate.remains_id,
                candidate.missing_person_id,
                viewer.id,
                candidate.evidence_digest,
            )
            is None
        )
        judged = judgements(session, candidate.remains_id, candidate.missing_person_id)
        session.expunge_all()
    remains = {"id": candidate.remains_id, "ref": pm_ref}
    report = {"id": candidate.missing_person_id, "ref": am_ref}
    factors = candidate.factors or {}
    face = factors.get("face", {})
    pair = face.get("pair") or [None, None]
    rows = [
        {"name": FACTOR_NAMES.get(key, key), **value}
        for key, value in factors.items()
        if key in FACTOR_NAMES
    ]
    return render(
        request,
        "compare.html",
        status_code=status_code,
        candidate=candidate,
        remains=remains,
        report=report,
        factors=rows,
        face=face,
        am_face=next(
            (f for f in am_faces if f["id"] == pair[0]), am_faces[0] if am_faces else None
        ),
        pm_face=next(
            (f for f in pm_faces if f["id"] == pair[1]), pm_faces[0] if pm_faces else None
        ),
        am_faces=am_faces,
        pm_faces=pm_faces,
        revealed=revealed(request),
        rate_words=in_words(candidate.false_candidate_rate, gallery_size(request))
        if candidate.false_candidate_rate is not None
        else None,
        max_rate=request.app.state.dvi.settings.candidate_max_rate,
        exclusion=factors.get("exclusion"),
        referral=factors.get("referral"),
        identification=identification,
        blind=blind,
        judgements=judged,
        verdicts=VERDICTS,
        **extra,
    )


def _blind_review(request: Request) -> bool:
    """Whether this viewer sees a pair's score only after recording their own judgement."""
    viewer = request.state.viewer
    return bool(request.app.state.dvi.settings.blind_review and viewer.may(REVIEW))


@router.post("/candidates/{candidate_id}/judge")
@roles(*REVIEW)
def judge_candidate(
    request: Request,
    candidate_id: int,
    verdict: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """The reviewer's own judgement of the pair (blind review), then the score."""
    from opendvi.review import judge

    pm_ref, am_ref = pair_refs(request, candidate_id)
    try:
        judge(
            request.app.state.dvi,
            pm_ref,
            am_ref,
            verdict=verdict,
            note=note,
            username=request.state.viewer.username,
        )
    except (InputError, Refused) as problem:
        return _compare(request, candidate_id, 422, judge_problem=str(problem), judge_note=note)
    return RedirectResponse(f"/candidates/{candidate_id}", status_code=303)


def pair_refs(request: Request, candidate_id: int) -> tuple[str, str]:
    """The refs of a candidate's remains record and report (404 if there is no such pair)."""
    with request.app.state.dvi.db.read() as session:
        found = session.execute(
            select(Remains.ref, MissingPerson.ref)
            .join(Candidate, Candidate.remains_id == Remains.id)
            .join(MissingPerson, Candidate.missing_person_id == MissingPerson.id)
            .where(Candidate.id == candidate_id)
        ).one_or_none()
    if found is None:
        raise HTTPException(404, f"there is no candidate {candidate_id}")
    return found[0], found[1]


@router.post("/candidates/{candidate_id}/exclude")
@roles(*REVIEW)
def exclude_candidate(
    request: Request, candidate_id: int, reason: Annotated[str, Form()] = ""
) -> Response:
    from opendvi.review import exclude

    dvi = request.app.state.dvi
    viewer = request.state.viewer
    pm_ref, am_ref = pair_refs(request, candidate_id)
    try:
        exclude(dvi, pm_ref, am_ref, reason=reason, username=viewer.username)
    except InputError as problem:
        return _compare(request, candidate_id, 422, problem=str(problem), reason=reason)
    return RedirectResponse(f"/candidates/{candidate_id}", status_code=303)
