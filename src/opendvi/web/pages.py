"""The pages: sign-in, dashboard, review queue and the comparison of one candidate pair.

Each handler reads its input, calls one use-case or query, and renders a template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from opendvi.core.scoring import in_words
from opendvi.core.workflow import PRIMARY, SECONDARY
from opendvi.db.queries import stats
from opendvi.db.tables import (
    Candidate,
    Face,
    Identification,
    MissingPerson,
    Photo,
    Remains,
    User,
)
from opendvi.errors import InputError
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
    with request.app.state.dvi.db.read() as session:
        counts = stats(session)
        open_candidates = session.execute(
            select(func.count(Candidate.id)).where(
                Candidate.credible,
                Candidate.status != "excluded",
                Candidate.rank_for_remains.is_not(None),
            )
        ).scalar_one()
        faceless = {}
        for kind, owner in ((MissingPerson, Photo.missing_person_id), (Remains, Photo.remains_id)):
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
                    Identification.status == "confirmed", Identification.confirmed_at.is_not(None)
                )
            )
        ]
    return render(
        request,
        "dashboard.html",
        counts=counts,
        open_candidates=open_candidates,
        faceless=faceless,
        chart=monthly_chart(confirmed),
    )


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


# -- review queue ----------------------------------------------------------------------------


@router.get("/review")
@roles(*READ)
def review_queue(
    request: Request,
    show: Annotated[str, Query(pattern="^(credible|all|resurfaced)$")] = "credible",
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    """Candidates for review, the most credible first (lowest false-candidate rate)."""
    report = aliased(MissingPerson)
    query = (
        select(Candidate, Remains.ref, report.ref)
        .join(Remains, Candidate.remains_id == Remains.id)
        .join(report, Candidate.missing_person_id == report.id)
        .where(Candidate.rank_for_remains.is_not(None), Candidate.status != "excluded")
    )
    if show == "credible":
        # Served by ix_candidates_queue: an index walk that stops after one page.
        query = query.where(Candidate.credible).order_by(
            Candidate.false_candidate_rate, Candidate.id
        )
    elif show == "resurfaced":
        query = query.where(Candidate.status == "resurfaced").order_by(
            Candidate.false_candidate_rate, Candidate.id
        )
    else:
        query = query.order_by(
            Candidate.false_candidate_rate.is_(None),
            Candidate.false_candidate_rate,
            Candidate.score.desc(),
            Candidate.id,
        )
    with request.app.state.dvi.db.read() as session:
        gallery = session.execute(select(func.count(MissingPerson.id))).scalar_one()
        rows = session.execute(query.offset((page - 1) * PAGE).limit(PAGE + 1)).all()
    items = [
        {
            "id": c.id,
            "pm_ref": pm_ref,
            "am_ref": am_ref,
            "rank": c.rank_for_remains,
            "score": c.score,
            "credible": c.credible,
            "status": c.status,
            "words": in_words(c.false_candidate_rate, gallery)
            if c.false_candidate_rate is not None
            else "not calibrated",
        }
        for c, pm_ref, am_ref in rows[:PAGE]
    ]
    return render(
        request,
        "review.html",
        items=items,
        show=show,
        page=page,
        more=len(rows) > PAGE,
    )


# -- one pair --------------------------------------------------------------------------------


def _faces(session: Any, owner: Any, record_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Face, Photo)
        .join(Photo, Face.photo_id == Photo.id)
        .where(owner == record_id, Photo.withdrawn_at.is_(None), Face.is_subject)
        .order_by(Photo.position, Face.id)
    ).all()
    return [
        {
            "id": face.id,
            "photo_id": photo.id,
            "quality": face.quality,
            "usable": face.usable,
            "why_not": face.unusable_reason,
            "turned": face.rotation_deg,
            "manual": face.manual,
        }
        for face, photo in rows
    ]


def _chosen(faces: list[dict[str, Any]], face_id: int | None) -> dict[str, Any] | None:
    """The face that drove the score, else the first."""
    return next((f for f in faces if f["id"] == face_id), faces[0] if faces else None)


@router.get("/candidates/{candidate_id}", name="compare")
@roles(*READ)
def compare(request: Request, candidate_id: int) -> HTMLResponse:
    return _compare(request, candidate_id)


def _compare(
    request: Request, candidate_id: int, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    from opendvi.web.pictures import revealed

    with request.app.state.dvi.db.read() as session:
        candidate = session.get(Candidate, candidate_id)
        if candidate is None:
            raise HTTPException(404, f"there is no candidate {candidate_id}")
        remains = session.get(Remains, candidate.remains_id)
        report = session.get(MissingPerson, candidate.missing_person_id)
        assert remains is not None and report is not None
        gallery = session.execute(select(func.count(MissingPerson.id))).scalar_one()
        am_faces = _faces(session, Photo.missing_person_id, report.id)
        pm_faces = _faces(session, Photo.remains_id, remains.id)
        identification = session.execute(
            select(Identification).where(
                Identification.remains_id == remains.id,
                Identification.missing_person_id == report.id,
                Identification.status != "revoked",
            )
        ).scalar_one_or_none()
        session.expunge_all()
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
        rate_words=in_words(candidate.false_candidate_rate, gallery)
        if candidate.false_candidate_rate is not None
        else None,
        max_rate=request.app.state.dvi.settings.candidate_max_rate,
        exclusion=factors.get("exclusion"),
        referral=factors.get("referral"),
        identification=identification,
        **extra,
    )


@router.post("/candidates/{candidate_id}/exclude")
@roles(*REVIEW)
def exclude_candidate(
    request: Request, candidate_id: int, reason: Annotated[str, Form()] = ""
) -> Response:
    from opendvi.review import exclude

    dvi = request.app.state.dvi
    viewer = request.state.viewer
    with dvi.db.read() as session:
        candidate = session.get(Candidate, candidate_id)
        if candidate is None:
            raise HTTPException(404, f"there is no candidate {candidate_id}")
        pm_ref = session.get(Remains, candidate.remains_id).ref  # type: ignore[union-attr]
        am_ref = session.get(MissingPerson, candidate.missing_person_id).ref  # type: ignore[union-attr]
    try:
        exclude(dvi, pm_ref, am_ref, reason=reason, username=viewer.username)
    except InputError as problem:
        return _compare(request, candidate_id, 422, problem=str(problem), reason=reason)
    return RedirectResponse(f"/candidates/{candidate_id}", status_code=303)
